"""Citizens' personal data: what is held about one citizen, anonymising it (on request, on Zalo's
`user_withdraw`, after the retention period), and what staff may read of it.

`anonymise_citizen` removes a citizen's personal data everywhere and keeps the rest, so figures
stay right (status, field, unit, dates, deadlines and satisfaction are untouched):
- the citizen row stays, since their cases point to it, but its Zalo user id becomes a random
  placeholder and every personal field is emptied (`unreachable_reason` ERASED marks it);
- each of their cases loses its contact fields; its texts (title, content, location, answer, the
  public versions, the rating comment), timeline notes and the staff notices naming it go
  through `cases.redaction` plus the sender's known values literally; coordinates are rounded as
  for publication;
- the files they sent are deleted and their attachment rows kept, marked REMOVED;
- their stored webhook bodies are purged to a skeleton and detached from any user;
- the texts already sent to them are redacted; messages still waiting for them may no longer be
  delivered lawfully and are closed as failed with the reason in words staff read, as is any
  message a later transition queues for them (`close_undeliverable`, run by the worker);
- their conversation draft is emptied and a staff member's Zalo link to that row removed.
An audit row (`PersonalDataErasure`: trigger, actor, time, counts) and a timeline entry on each
case record it; neither holds personal data. Anonymising an anonymised citizen does nothing.

Retention (`retention_sweep`, a worker job) does the case part for cases closed and untouched for
longer than PERSONAL_DATA_RETENTION_DAYS, a bounded batch per run, then anonymises citizens none
of whose cases is left and who have not written for that long either.

Staff: coordinators read cases as written; other roles read free text with the sender's own
values and any phone, e-mail or identity number masked (`staff_reader`), and every view of the
contact data in clear is logged (`record_contact_view`).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from cases.access import can_see_contact
from cases.redaction import (
    MARKER,
    Known,
    known_values,
    mask_sender,
    public_coordinate,
    redact,
)
from cases.undelivered import refresh_undelivered
from models import (
    CLOSED_STATUSES,
    AttachmentState,
    Case,
    CaseAttachment,
    CaseEvent,
    Citizen,
    ContactAccess,
    Conversation,
    ErasureTrigger,
    EventStatus,
    InboundEvent,
    OutboxMessage,
    OutboxState,
    PersonalDataErasure,
    Staff,
    StaffNotice,
)

log = logging.getLogger(__name__)

ERASED = "erased"  # Citizen.unreachable_reason of an anonymised citizen
PLACEHOLDER_PREFIX = "erased:"
ERASED_ACTION = "personal_data_erased"
REMOVED_SOURCE = "removed:personal-data"
SKELETON = json.dumps({"purged": "personal data erased"})
NOTES = {
    ErasureTrigger.CHAT_REQUEST: "Đã xóa dữ liệu cá nhân theo yêu cầu của người gửi.",
    ErasureTrigger.USER_WITHDRAW: (
        "Đã xóa dữ liệu cá nhân theo yêu cầu của người gửi (rút lại sự đồng ý trên Zalo)."
    ),
    ErasureTrigger.RETENTION: "Đã ẩn danh dữ liệu cá nhân khi hết thời hạn lưu trữ.",
}
# Shown to staff after "Lỗi: " (handlers/console_delivery.py reads `last_error` that way).
UNDELIVERABLE = (
    "Dữ liệu cá nhân của người dân đã được xóa (theo yêu cầu của họ hoặc hết thời hạn lưu trữ): "
    "tin nhắn không được gửi."
)
# How an outbox row waiting for an anonymised citizen is closed.
CLOSED_UNSENT: dict[str, Any] = {
    "state": OutboxState.FAILED,
    "last_error": UNDELIVERABLE,
    "last_error_code": None,
    "held_reason": None,
    "claim_token": None,
}
WAITING = (OutboxState.PENDING, OutboxState.HELD)
CASE_TEXTS = (
    "title",
    "content",
    "location_address",
    "public_title",
    "public_content",
    "public_answer",
    "answer_text",
    "rating_comment",
)
# Outbox payload values that are identifiers or formats, not words for the citizen.
TECHNICAL_KEYS = frozenset(
    {"type", "template_type", "payload", "url", "image_url", "path", "content_type", "media_type"}
)
RETENTION_BATCH = 200
# The citizen's own messages among the stored webhook events.
MESSAGE_EVENTS = or_(
    InboundEvent.event_name.like("user_send_%"), InboundEvent.event_name == "user_submit_info"
)
PLACES = {"console_case": "Trang PAKN trên bảng điều khiển", "api_case": "API"}
MAX_LISTED_VIEWS = 20


# --- what is held ---------------------------------------------------------------------------
@dataclass(frozen=True)
class HeldData:
    """What is held about one citizen, for the summary shown to them in chat."""

    name: str | None
    phone: str | None
    address: str | None
    email: str | None
    case_codes: tuple[str, ...]
    open_codes: tuple[str, ...]
    messages: int
    files: int
    consent_at: datetime | None


def citizen_data(session: Session, citizen: Citizen) -> HeldData:
    """Return what is held about `citizen`: their contact data (as last given), cases, messages."""
    cases = session.scalars(
        select(Case).where(Case.citizen_id == citizen.id).order_by(Case.received_at, Case.id)
    ).all()
    latest = cases[-1] if cases else None

    def given(own: str | None, column: str) -> str | None:
        return own or (getattr(latest, column) if latest is not None else None)

    messages = session.scalar(
        select(func.count())
        .select_from(InboundEvent)
        .where(InboundEvent.zalo_user_id == citizen.zalo_user_id, MESSAGE_EVENTS)
    )
    files = session.scalar(
        select(func.count())
        .select_from(CaseAttachment)
        .join(Case, Case.id == CaseAttachment.case_id)
        .where(
            Case.citizen_id == citizen.id,
            CaseAttachment.origin != "answer",
            CaseAttachment.state != AttachmentState.REMOVED,
        )
    )
    consents = [c.consent_at for c in cases if c.consent_at] + [citizen.consent_at]
    return HeldData(
        name=given(citizen.name, "contact_name"),
        phone=given(citizen.phone, "contact_phone"),
        address=given(citizen.address, "contact_address"),
        email=given(citizen.email, "contact_email"),
        case_codes=tuple(case.code for case in cases),
        open_codes=tuple(case.code for case in cases if case.is_open),
        messages=int(messages or 0),
        files=int(files or 0),
        consent_at=max((c for c in consents if c), default=None),
    )


# --- scrubbing text -------------------------------------------------------------------------
def known_of(cases: Iterable[Case], citizen: Citizen | None) -> Known:
    """Every value the sender gave, on any of these cases and on their citizen row."""
    found: list[Known] = [known_values(case) for case in cases]
    if citizen is not None:
        found.append(
            Known(
                names=[citizen.name, citizen.display_name],
                phones=[citizen.phone],
                emails=[citizen.email],
                addresses=[citizen.address],
            )
        )

    def union(values: Iterable[Sequence[str | None]]) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for group in values for v in group if v))

    return Known(
        names=union(k.names for k in found),
        phones=union(k.phones for k in found),
        emails=union(k.emails for k in found),
        addresses=union(k.addresses for k in found),
    )


def scrub(text: str | None, known: Known) -> str | None:
    """Return `text` without personal data: `redact` plus every known value, literally."""
    if not text:
        return text
    cleaned = redact(text, known)
    # Longest first, so an address goes before the name it may contain.
    literal = sorted({v for group in known for v in group if v and len(v) >= 3}, key=len)
    for value in reversed(literal):
        cleaned = re.sub(re.escape(value), MARKER, cleaned, flags=re.IGNORECASE)
    return cleaned


def _scrub_payload(value: Any, known: Known, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _scrub_payload(v, known, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_payload(v, known, key) for v in value]
    if isinstance(value, str) and key not in TECHNICAL_KEYS:
        return scrub(value, known)
    return value


# --- anonymising ----------------------------------------------------------------------------
def is_anonymised(citizen: Citizen) -> bool:
    """Tell whether the citizen row has been anonymised."""
    return citizen.unreachable_reason == ERASED


def _erased_case() -> ColumnElement[bool]:
    """The cases whose personal data is already gone (they carry the erasure's timeline entry)."""
    return (
        select(CaseEvent.id)
        .where(CaseEvent.case_id == Case.id, CaseEvent.action == ERASED_ACTION)
        .exists()
    )


def _is_erased(case: Case) -> bool:
    return any(event.action == ERASED_ACTION for event in case.events)


def _remove_attachment(attachment: CaseAttachment) -> None:
    # Deleted before the commit: a rolled-back erasure leaves a row pointing at a missing file,
    # which the next erasure marks removed; a file kept after a committed one would be worse.
    if attachment.storage_path:
        Path(attachment.storage_path).unlink(missing_ok=True)
    attachment.storage_path = None
    attachment.stored_size = None
    attachment.source_url = REMOVED_SOURCE
    attachment.file_name = None
    attachment.error = None
    attachment.state = AttachmentState.REMOVED


def _scrub_notices(session: Session, code: str, known: Known) -> int:
    changed = 0
    notices = session.scalars(
        select(StaffNotice).where(
            or_(
                StaffNotice.body.contains(code, autoescape=True),
                StaffNotice.title.contains(code, autoescape=True),
            )
        )
    )
    for notice in notices:
        title, body = scrub(notice.title, known) or "", scrub(notice.body, known) or ""
        if (title, body) != (notice.title, notice.body):
            notice.title, notice.body = title, body
            changed += 1
    return changed


def _erase_case(
    session: Session,
    case: Case,
    known: Known,
    tally: Counter[str],
    now: datetime,
    reason: ErasureTrigger,
) -> None:
    """Remove the personal data of one case; keep what it was about and how it went."""
    case.contact_name = case.contact_phone = None
    case.contact_address = case.contact_email = None
    for column in CASE_TEXTS:
        value = getattr(case, column)
        cleaned = scrub(value, known)
        if cleaned != value:
            setattr(case, column, cleaned)
            tally["case_texts"] += 1
    case.latitude = public_coordinate(case.latitude)
    case.longitude = public_coordinate(case.longitude)
    for event in case.events:
        cleaned = scrub(event.note, known)
        if cleaned != event.note:
            event.note = cleaned
            tally["notes"] += 1
    for attachment in case.attachments:
        if attachment.origin != "answer" and attachment.state is not AttachmentState.REMOVED:
            _remove_attachment(attachment)
            tally["attachments"] += 1
    tally["notices"] += _scrub_notices(session, case.code, known)
    case.updated_at = now
    # Through the collection, so `_is_erased` sees it before the next flush and load.
    case.events.append(
        CaseEvent(
            at=now,
            action=ERASED_ACTION,
            actor="system" if reason is ErasureTrigger.RETENTION else "citizen",
            note=NOTES[reason],
            visible_to_citizen=False,
        )
    )
    tally["cases"] += 1


def _scrub_outbox(
    session: Session, where: ColumnElement[bool], known: Known, tally: Counter[str], close: bool
) -> None:
    for row in session.scalars(select(OutboxMessage).where(where)):
        payload = _scrub_payload(row.payload or {}, known)
        if payload != row.payload:
            row.payload = payload
            tally["messages_redacted"] += 1
        if close and row.state in WAITING:
            for key, value in CLOSED_UNSENT.items():
                setattr(row, key, value)
            tally["messages_not_sent"] += 1


def _purge_events(session: Session, zalo_user_id: str) -> int:
    """Purge the user's stored webhook bodies (not those still to be applied) to a skeleton."""
    result = session.execute(
        update(InboundEvent)
        .where(
            InboundEvent.zalo_user_id == zalo_user_id,
            InboundEvent.status != EventStatus.RECEIVED,
        )
        .values(body=SKELETON, zalo_user_id=None, error=None)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount or 0


def anonymise_citizen(
    session: Session,
    citizen: Citizen,
    reason: ErasureTrigger,
    actor: str,
    now: datetime,
) -> PersonalDataErasure | None:
    """Remove `citizen`'s personal data everywhere; return the audit row (None if already done)."""
    if is_anonymised(citizen):
        return None
    session.flush()
    cases = session.scalars(
        select(Case)
        .where(Case.citizen_id == citizen.id)
        .options(selectinload(Case.events), selectinload(Case.attachments))
    ).all()
    known = known_of(cases, citizen)
    tally: Counter[str] = Counter()
    for case in cases:
        if not _is_erased(case):
            _erase_case(session, case, known, tally, now, reason)
    _scrub_outbox(session, OutboxMessage.citizen_id == citizen.id, known, tally, close=True)
    tally["inbound_events"] = _purge_events(session, citizen.zalo_user_id)
    conversation = session.get(Conversation, citizen.id)
    if conversation is not None:
        conversation.state, conversation.draft = "idle", {}
    for staff in session.scalars(select(Staff).where(Staff.zalo_citizen_id == citizen.id)):
        staff.zalo_citizen_id = None  # their Zalo id is gone: reminders cannot reach it
        tally["staff_links"] += 1
    citizen.zalo_user_id = PLACEHOLDER_PREFIX + secrets.token_hex(12)
    citizen.display_name = citizen.name = citizen.phone = None
    citizen.address = citizen.email = None
    citizen.is_follower = False
    citizen.last_interaction_at = None
    citizen.consent_at, citizen.consent_version = None, None
    citizen.unreachable_reason, citizen.unreachable_at = ERASED, now
    record = PersonalDataErasure(
        at=now, trigger=reason, actor=actor, citizen_id=citizen.id, counts=dict(tally)
    )
    session.add(record)
    session.flush()
    log.info(
        "personal data erased: citizen_id=%s trigger=%s counts=%s", citizen.id, reason, dict(tally)
    )
    return record


def close_undeliverable(session: Session) -> int:
    """Close the messages queued for anonymised citizens since (nobody may receive them)."""
    erased = select(Citizen.id).where(Citizen.unreachable_reason == ERASED)
    case_ids = session.scalars(
        update(OutboxMessage)
        .where(OutboxMessage.state.in_(WAITING), OutboxMessage.citizen_id.in_(erased))
        .values(**CLOSED_UNSENT)
        .returning(OutboxMessage.case_id)
        .execution_options(synchronize_session=False)
    ).all()
    # Bulk SQL bypasses the ORM listener that keeps the cases' "not yet delivered" flag.
    refresh_undelivered(session, case_ids)
    return len(case_ids)


def retention_sweep(
    session: Session, now: datetime, days: int | None, batch: int = RETENTION_BATCH
) -> int:
    """Anonymise what has outlived the retention period (None or 0: never); return how many
    cases and citizens were anonymised. Also closes messages queued for anonymised citizens."""
    close_undeliverable(session)
    if not days:
        return 0
    cutoff = now - timedelta(days=days)
    cases = session.scalars(
        select(Case)
        .where(Case.status.in_(CLOSED_STATUSES), Case.updated_at < cutoff, ~_erased_case())
        .order_by(Case.updated_at, Case.id)
        .limit(batch)
        .options(selectinload(Case.events), selectinload(Case.attachments))
    ).all()
    tally: Counter[str] = Counter()
    for case in cases:
        known = known_of([case], case.citizen)
        _erase_case(session, case, known, tally, now, ErasureTrigger.RETENTION)
        _scrub_outbox(session, OutboxMessage.case_id == case.id, known, tally, close=False)
    if cases:
        session.add(
            PersonalDataErasure(
                at=now, trigger=ErasureTrigger.RETENTION, actor="system", counts=dict(tally)
            )
        )
    session.flush()
    remaining = select(Case.id).where(Case.citizen_id == Citizen.id, ~_erased_case()).exists()
    linked = select(Staff.id).where(Staff.zalo_citizen_id == Citizen.id).exists()
    citizens = session.scalars(
        select(Citizen)
        .where(
            Citizen.unreachable_reason.is_distinct_from(ERASED),
            Citizen.created_at < cutoff,
            or_(Citizen.last_interaction_at.is_(None), Citizen.last_interaction_at < cutoff),
            ~remaining,
            ~linked,  # a staff member's own Zalo, linked for reminders
        )
        .order_by(Citizen.id)
        .limit(batch)
    ).all()
    for citizen in citizens:
        anonymise_citizen(session, citizen, ErasureTrigger.RETENTION, "system", now)
    return len(cases) + len(citizens)


# --- staff ----------------------------------------------------------------------------------
def staff_reader(staff: Staff, case: Case) -> Callable[[str | None], str]:
    """How `staff` reads the case's free text: as written if they may see the contact data,
    else with the sender's values and any phone, e-mail or ID number masked."""
    if can_see_contact(staff):
        return lambda text: text or ""
    known = known_values(case)
    return lambda text: mask_sender(text, known)


def record_contact_view(
    session: Session, staff: Staff, case: Case, place: str, now: datetime
) -> bool:
    """Log that `staff` is shown the case's contact data in clear (True), if they are."""
    shown = (case.contact_name, case.contact_phone, case.contact_address, case.contact_email)
    if not can_see_contact(staff) or not any(shown):
        return False
    session.add(ContactAccess(at=now, staff_id=staff.id, case_id=case.id, place=place))
    return True


@dataclass(frozen=True)
class ContactViewLine:
    """One logged view of a case's contact data, as the case page lists it."""

    at: datetime
    staff: str
    place: str


def contact_views(
    session: Session, case: Case, limit: int = MAX_LISTED_VIEWS
) -> list[ContactViewLine]:
    """The latest views of the case's contact data in clear, newest first."""
    rows = session.execute(
        select(ContactAccess.at, Staff.full_name, ContactAccess.place)
        .join(Staff, Staff.id == ContactAccess.staff_id)
        .where(ContactAccess.case_id == case.id)
        .order_by(ContactAccess.at.desc(), ContactAccess.id.desc())
        .limit(limit)
    )
    return [ContactViewLine(at, name, PLACES.get(place, place)) for at, name, place in rows]
