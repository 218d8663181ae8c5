"""The conversation around a case, as chat bubbles: what the citizen sent and what we sent them.

The citizen's side is their stored webhook events (`InboundEvent`, by Zalo user id); ours is the
outbox (`OutboxMessage`, by citizen), plus echoes of messages an officer typed in Zalo's own OA
manager (an `oa_send_*` event whose message id is not one of our outbox rows). The window runs
from the start of the submission (at most two days before receipt, never before the citizen's
previous case) to a few days after the case's last activity, or to now while it is open; each side
shows at most `LIMIT` messages, the newest.

Staff who may not read the sender's contact data in clear see it masked in the transcript too:
the citizen typed it during the submission and the bot repeated it in its summary. Known values
(the case's and the citizen's name, phone, e-mail, address) and anything shaped like a phone
number or an e-mail address are masked. Nothing here escapes HTML: templates do, always.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.zalo import events
from cases.access import mask_address, mask_email, mask_name
from cases.contact import mask_phone
from handlers.console_delivery import OUTBOX_STATE_LABELS
from models import Case, CaseAttachment, InboundEvent, OutboxMessage

LIMIT = 300
LEAD = timedelta(days=2)
TAIL = timedelta(days=3)
MESSAGE_EVENTS = (
    "user_send_text",
    "user_send_image",
    "user_send_gif",
    "user_send_file",
    "user_send_sticker",
    "user_send_link",
    "user_send_audio",
    "user_send_video",
    "user_send_business_card",
    "user_send_location",
    "user_submit_info",
    "follow",
    "unfollow",
)
MEDIA_LABELS = {
    "image": "Ảnh",
    "gif": "Ảnh động",
    "file": "Tệp",
    "sticker": "Nhãn dán",
    "link": "Liên kết",
    "audio": "Tin nhắn thoại",
    "video": "Video",
    "business_card": "Danh thiếp",
}
PREVIEW_TYPES = frozenset({"image/jpeg", "image/png"})
_PHONE_LIKE = re.compile(r"(?<![\d*])(?:\+?84|0)(?:[ .-]?\d){8,10}(?!\d)")
_EMAIL_LIKE = re.compile(r"[\w.+-]{1,64}@[\w-]+(?:\.[\w-]+)+")


@dataclass(frozen=True)
class Item:
    """A photo, file or link inside a bubble; `href` is safe to put in a link, or None."""

    label: str
    name: str
    href: str | None = None
    preview: str | None = None  # our own URL of an image to show inline


@dataclass(frozen=True)
class Bubble:
    """One message of the conversation."""

    at: datetime
    side: str  # "citizen", "agency" (our outbox), "officer" (typed in Zalo's OA manager), "system"
    text: str = ""
    items: tuple[Item, ...] = ()
    buttons: tuple[str, ...] = ()
    latitude: str | None = None
    longitude: str | None = None
    state: str | None = None  # our messages: the delivery state, in words

    @property
    def map_url(self) -> str | None:
        """Return the OpenStreetMap link of a shared location."""
        if self.latitude is None or self.longitude is None:
            return None
        return f"https://www.openstreetmap.org/?mlat={self.latitude}&mlon={self.longitude}"


@dataclass
class Transcript:
    """The bubbles of a case's conversation and the window they were read from."""

    since: datetime
    until: datetime | None
    bubbles: list[Bubble] = field(default_factory=list)
    truncated: bool = False


class Redactor:
    """Masks the sender's contact data in text for staff who may not read it in clear."""

    def __init__(self, values: dict[str, list[str]]) -> None:
        maskers = {
            "name": mask_name,
            "phone": mask_phone,
            "email": mask_email,
            "address": mask_address,
        }
        pairs = {
            value: maskers[kind](value)
            for kind, found in values.items()
            for value in found
            if value and len(value) >= 3
        }
        # Longest first, so an address is masked before the name it may contain.
        self.pairs = sorted(pairs.items(), key=lambda pair: -len(pair[0]))

    def __call__(self, text: str) -> str:
        for value, masked in self.pairs:
            text = text.replace(value, masked)
        text = _PHONE_LIKE.sub(lambda m: mask_phone(re.sub(r"\D", "", m.group())), text)
        return _EMAIL_LIKE.sub(lambda m: mask_email(m.group()), text)


def redactor_for(case: Case, shared: list[events.SubmitInfoEvent]) -> Redactor:
    """Return the redactor of the contact data of the case, its citizen and their info forms."""
    citizen = case.citizen
    values: dict[str, list[str | None]] = {
        "name": [case.contact_name, citizen.name if citizen else None],
        "phone": [case.contact_phone, citizen.phone if citizen else None],
        "email": [case.contact_email, citizen.email if citizen else None],
        "address": [case.contact_address, citizen.address if citizen else None],
    }
    for info in shared:
        for kind in values:
            values[kind].append(getattr(info, kind))
    return Redactor({kind: [v for v in found if v] for kind, found in values.items()})


def window(session: Session, case: Case) -> tuple[datetime, datetime | None]:
    """Return the period whose messages belong to this case's conversation."""
    previous = session.scalar(
        select(func.max(Case.received_at)).where(
            Case.citizen_id == case.citizen_id, Case.received_at < case.received_at
        )
    )
    since = case.received_at - LEAD
    if previous is not None and previous > since:
        since = previous
    if case.is_open:
        return since, None
    last = max([case.updated_at, *(event.at for event in case.events)])
    return since, last + TAIL


def _between(column, since: datetime, until: datetime | None):
    return column >= since if until is None else column.between(since, until)


def _latest(session: Session, model: Any, at: Any, *where: Any) -> list[Any]:
    """Return the newest `LIMIT` rows of `model` matching `where`."""
    query = select(model).where(*where).order_by(at.desc(), model.id.desc()).limit(LIMIT)
    return list(session.scalars(query))


def build(
    session: Session,
    case: Case,
    reveal_contact: bool,
    attachment_url: Callable[[CaseAttachment], str],
) -> Transcript | None:
    """Return the case's conversation, or None when the case did not come through Zalo."""
    citizen = case.citizen
    if citizen is None:
        return None
    since, until = window(session, case)
    inbound = _latest(
        session,
        InboundEvent,
        InboundEvent.received_at,
        InboundEvent.zalo_user_id == citizen.zalo_user_id,
        _between(InboundEvent.received_at, since, until),
        or_(InboundEvent.event_name.in_(MESSAGE_EVENTS), InboundEvent.event_name.like("oa_send_%")),
    )
    outbox = _latest(
        session,
        OutboxMessage,
        OutboxMessage.queued_at,
        OutboxMessage.citizen_id == citizen.id,
        _between(OutboxMessage.queued_at, since, until),
    )
    files = _Files(case, attachment_url)
    sent_ids = {row.zalo_message_id for row in outbox if row.zalo_message_id}
    titles = button_titles(outbox)
    parsed = [(row, parse(row)) for row in inbound]
    ordered: list[tuple[datetime, int, int, Bubble]] = []
    for row, event in parsed:
        bubble = inbound_bubble(row.received_at, event, files, sent_ids, titles)
        if bubble is not None:
            ordered.append((row.received_at, 0, row.id, bubble))
    for message in outbox:
        ordered.append((message.queued_at, 1, message.id, outbox_bubble(message, files)))
    ordered.sort(key=lambda entry: entry[:3])
    bubbles = [entry[3] for entry in ordered]
    if not reveal_contact:
        shared = [event for _row, event in parsed if isinstance(event, events.SubmitInfoEvent)]
        redact = redactor_for(case, shared)
        bubbles = [_redacted(bubble, redact) for bubble in bubbles]
    return Transcript(since, until, bubbles, truncated=LIMIT in (len(inbound), len(outbox)))


def parse(row: InboundEvent) -> events.ZaloEvent | None:
    """Return the typed event of a stored webhook body, or None when it cannot be read."""
    try:
        return events.parse_event(json.loads(row.body))
    except (ValueError, events.EventParseError):
        return None


def _redacted(bubble: Bubble, redact: Redactor) -> Bubble:
    items = tuple(
        Item(item.label, redact(item.name), item.href, item.preview) for item in bubble.items
    )
    return Bubble(
        bubble.at,
        bubble.side,
        redact(bubble.text),
        items,
        tuple(redact(title) for title in bubble.buttons),
        bubble.latitude,
        bubble.longitude,
        bubble.state,
    )


class _Files:
    """The case's stored files, found by the Zalo URL they came from or the path they live at."""

    def __init__(self, case: Case, attachment_url: Callable[[CaseAttachment], str]) -> None:
        self.url = attachment_url
        stored = [a for a in case.attachments if a.storage_path]
        self.by_source = {a.source_url: a for a in stored}
        self.by_path = {a.storage_path: a for a in stored}

    def item(
        self, label: str, name: str, attachment: CaseAttachment | None, fallback: str | None = None
    ) -> Item:
        if attachment is None:
            return Item(label, name, safe_link(fallback))
        href = self.url(attachment)
        preview = href if attachment.content_type in PREVIEW_TYPES else None
        return Item(label, name or attachment.file_name or "", href, preview)


def safe_link(url: str | None) -> str | None:
    """Return `url` if it is a web link; a crafted `javascript:` URL stays inert text."""
    if url and re.match(r"https?://", url, re.IGNORECASE):
        return url
    return None


def button_titles(outbox: list[OutboxMessage]) -> dict[str, str]:
    """Button payloads we sent, with their titles: a tap arrives as the payload text."""
    titles: dict[str, str] = {}
    for row in outbox:
        inner = ((row.payload or {}).get("attachment") or {}).get("payload") or {}
        for button in inner.get("buttons") or []:
            if button.get("payload"):
                titles[button["payload"]] = button.get("title") or button["payload"]
    return titles


def inbound_bubble(
    at: datetime,
    event: events.ZaloEvent | None,
    files: _Files,
    sent_ids: set[str],
    titles: dict[str, str] | None = None,
) -> Bubble | None:
    """Return the bubble of one webhook event, or None for our own echoed messages."""
    if event is None:
        return Bubble(at, "citizen", "[Tin nhắn không đọc được]")
    if isinstance(event, events.OASendEvent):
        if event.msg_id in sent_ids or not event.text:
            return None
        return Bubble(at, "officer", event.text)
    if isinstance(event, events.TextEvent):
        title = (titles or {}).get(event.text)
        if title is not None:
            return Bubble(at, "citizen", f"[Bấm nút] {title}")
        return Bubble(at, "citizen", event.text)
    if isinstance(event, events.LocationEvent):
        return Bubble(
            at,
            "citizen",
            event.caption,
            latitude=str(event.latitude),
            longitude=str(event.longitude),
        )
    if isinstance(event, events.SubmitInfoEvent):
        parts = [
            ("Họ và tên", event.name),
            ("Số điện thoại", event.phone),
            ("Địa chỉ", event.address),
            ("Thư điện tử", event.email),
        ]
        shared = "; ".join(f"{label}: {value}" for label, value in parts if value)
        return Bubble(at, "citizen", f"[Chia sẻ thông tin liên hệ] {shared}".strip())
    if isinstance(event, events.FollowEvent):
        return Bubble(at, "system", "Người dân quan tâm OA")
    if isinstance(event, events.UnfollowEvent):
        return Bubble(at, "system", "Người dân bỏ quan tâm OA")
    if isinstance(event, events.MediaEvent):
        return _media_bubble(at, event, files)
    return None


def _media_bubble(at: datetime, event: events.MediaEvent, files: _Files) -> Bubble:
    kind = event.event_name.removeprefix("user_send_")
    label = MEDIA_LABELS.get(kind, "Tệp")
    items = tuple(
        files.item(
            label, attachment.name or "", files.by_source.get(attachment.url), attachment.url
        )
        for attachment in event.attachments
    )
    text = event.caption
    if isinstance(event, events.BusinessCardEvent) and event.phone:
        text = f"{text} {event.phone}".strip()
    return Bubble(at, "citizen", text, items)


def outbox_bubble(row: OutboxMessage, files: _Files) -> Bubble:
    """Return the bubble of one message we queued for the citizen."""
    payload: dict[str, Any] = row.payload or {}
    state = OUTBOX_STATE_LABELS.get(row.state, str(row.state))
    attachment = payload.get("attachment") or {}
    inner = attachment.get("payload") or {}
    upload = payload.get("_upload") or {}
    if upload:
        label = "Ảnh" if upload.get("media_type") == "image" else "Tệp"
        item = files.item(
            label, str(upload.get("name") or ""), files.by_path.get(upload.get("path"))
        )
        return Bubble(row.queued_at, "agency", "", (item,), state=state)
    text = payload.get("text") or inner.get("text") or ""
    buttons = tuple(
        str(button.get("title") or "")
        for button in inner.get("buttons") or []
        if isinstance(button, dict)
    )
    if not text:
        text = {
            "request_user_info": "[Thẻ đề nghị chia sẻ thông tin liên hệ]",
            "media": "[Ảnh]",
        }.get(inner.get("template_type"), "[Tệp]" if attachment.get("type") == "file" else "")
    return Bubble(row.queued_at, "agency", str(text), buttons=buttons, state=state)
