"""Typed Zalo OA webhook events parsed from the JSON body.

`parse_event` turns a body into a frozen dataclass. Unknown event names become `UnknownEvent`
(store and ignore); a known event missing what it needs raises `EventParseError`.
`user_id` is always the citizen's Zalo id, whichever side of the envelope carries it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal

MAX_DEDUP_KEY = 100

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Role = Literal["sender", "recipient", "follower"]
# Where the OA's id sits when the citizen holds the given role (follow events carry `oa_id`).
_OA_ROLE: dict[Role, Role | None] = {"sender": "recipient", "recipient": "sender", "follower": None}


class EventParseError(ValueError):
    """A webhook body that cannot be parsed into the event it claims to be."""


@dataclass(frozen=True)
class Attachment:
    """One attachment of a user message, as Zalo describes it."""

    type: str
    url: str
    thumbnail: str | None = None
    name: str | None = None
    size: int | None = None
    file_type: str | None = None
    checksum: str | None = None
    description: str | None = None


@dataclass(frozen=True, kw_only=True)
class ZaloEvent:
    """Fields every webhook event shares."""

    citizen_role: ClassVar[Role] = "sender"

    event_name: str
    app_id: str | None = None
    user_id: str | None = None
    msg_id: str | None = None
    timestamp: datetime | None = None
    oa_id: str | None = None

    @classmethod
    def _specific_fields(cls, body: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        """Return the fields this event type adds to the common ones."""
        return {}


@dataclass(frozen=True, kw_only=True)
class TextEvent(ZaloEvent):
    """user_send_text: a typed message or the payload of a tapped query button."""

    text: str
    quote_msg_id: str | None = None

    @classmethod
    def _specific_fields(cls, body: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        text = message.get("text")
        if not isinstance(text, str):
            raise EventParseError(f"{body['event_name']} event has no message.text")
        return {"text": text, "quote_msg_id": _clean(message.get("quote_msg_id"))}


@dataclass(frozen=True, kw_only=True)
class MediaEvent(ZaloEvent):
    """A user message carrying attachments, with an optional caption."""

    attachments: tuple[Attachment, ...]
    caption: str = ""

    @classmethod
    def _specific_fields(cls, body: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        return {
            "attachments": tuple(
                _parse_attachment(body["event_name"], item)
                for item in _raw_attachments(body["event_name"], message)
            ),
            "caption": _caption(message),
        }


@dataclass(frozen=True, kw_only=True)
class ImageEvent(MediaEvent):
    """user_send_image."""


@dataclass(frozen=True, kw_only=True)
class GifEvent(MediaEvent):
    """user_send_gif."""


@dataclass(frozen=True, kw_only=True)
class FileEvent(MediaEvent):
    """user_send_file."""


@dataclass(frozen=True, kw_only=True)
class StickerEvent(MediaEvent):
    """user_send_sticker."""


@dataclass(frozen=True, kw_only=True)
class LinkEvent(MediaEvent):
    """user_send_link."""


@dataclass(frozen=True, kw_only=True)
class AudioEvent(MediaEvent):
    """user_send_audio."""


@dataclass(frozen=True, kw_only=True)
class VideoEvent(MediaEvent):
    """user_send_video."""


@dataclass(frozen=True, kw_only=True)
class BusinessCardEvent(MediaEvent):
    """user_send_business_card: the phone is inside a JSON string in the description."""

    phone: str | None = None

    @classmethod
    def _specific_fields(cls, body: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        fields = super()._specific_fields(body, message)
        fields["phone"] = next(
            (phone for item in fields["attachments"] if (phone := _card_phone(item.description))),
            None,
        )
        return fields


@dataclass(frozen=True, kw_only=True)
class LocationEvent(ZaloEvent):
    """user_send_location: a point the citizen shared."""

    latitude: Decimal
    longitude: Decimal
    caption: str = ""

    @classmethod
    def _specific_fields(cls, body: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        event_name = body["event_name"]
        coordinates = next(
            (
                payload["coordinates"]
                for item in _raw_attachments(event_name, message)
                if isinstance(item, dict)
                and isinstance(payload := item.get("payload"), dict)
                and isinstance(payload.get("coordinates"), dict)
            ),
            None,
        )
        if coordinates is None:
            raise EventParseError(f"{event_name} event has no attachment with coordinates")
        return {
            "latitude": _coordinate(event_name, coordinates.get("latitude"), "latitude", 90),
            "longitude": _coordinate(event_name, coordinates.get("longitude"), "longitude", 180),
            "caption": _caption(message),
        }


# Each field's candidate paths inside `info`, first non-empty wins: Zalo sends a flat shape
# or one with `full_address`, depending on the source.
_INFO_PATHS: dict[str, tuple[tuple[str, ...], ...]] = {
    "name": (("name",), ("user_name",)),
    "phone": (("phone",), ("user_phone",)),
    "address": (("address",), ("full_address", "user_address"), ("full_address", "address")),
    "ward": (("ward",), ("full_address", "user_ward"), ("full_address", "ward")),
    "district": (("district",), ("full_address", "user_district"), ("full_address", "district")),
    "city": (("city",), ("full_address", "user_city"), ("full_address", "city")),
    "email": (("email",), ("user_email",)),
    "dob": (("user_dob",), ("dob",)),
    "gender": (("gender",), ("user_gender",)),
}


@dataclass(frozen=True, kw_only=True)
class SubmitInfoEvent(ZaloEvent):
    """user_submit_info: the citizen's answer to a request_user_info card."""

    name: str | None = None
    phone: str | None = None
    address: str | None = None
    ward: str | None = None
    district: str | None = None
    city: str | None = None
    email: str | None = None
    dob: str | None = None
    gender: str | None = None

    @classmethod
    def _specific_fields(cls, body: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        info = body.get("info")
        if not isinstance(info, dict):
            raise EventParseError(f"{body['event_name']} event has no info object")
        fields = {
            field: next((value for path in paths if (value := _clean(_dig(info, *path)))), None)
            for field, paths in _INFO_PATHS.items()
        }
        if fields["address"] is None:
            # Some sources send full_address as a single string.
            fields["address"] = _clean(info.get("full_address"))
        return fields


@dataclass(frozen=True, kw_only=True)
class _FollowerEvent(ZaloEvent):
    """A change of follower status; the envelope names a follower instead of a sender."""

    citizen_role: ClassVar[Role] = "follower"

    source: str | None = None

    @classmethod
    def _specific_fields(cls, body: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        return {"source": _clean(body.get("source"))}


@dataclass(frozen=True, kw_only=True)
class FollowEvent(_FollowerEvent):
    """follow: the citizen followed the OA."""


@dataclass(frozen=True, kw_only=True)
class UnfollowEvent(_FollowerEvent):
    """unfollow: the citizen stopped following the OA."""


@dataclass(frozen=True, kw_only=True)
class _ReceiptEvent(ZaloEvent):
    """A receipt for messages the OA sent (the OA is the sender of the envelope)."""

    citizen_role: ClassVar[Role] = "recipient"

    msg_ids: tuple[str, ...]

    @classmethod
    def _specific_fields(cls, body: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        listed = message.get("msg_ids")
        raw_ids = listed if isinstance(listed, list) else [message.get("msg_id")]
        msg_ids = tuple(msg_id for raw in raw_ids if (msg_id := _clean(raw)))
        if not msg_ids:
            raise EventParseError(f"{body['event_name']} event has no message.msg_id(s)")
        return {"msg_ids": msg_ids}


@dataclass(frozen=True, kw_only=True)
class ReceivedEvent(_ReceiptEvent):
    """user_received_message: delivery receipt."""


@dataclass(frozen=True, kw_only=True)
class SeenEvent(_ReceiptEvent):
    """user_seen_message: read receipt."""


@dataclass(frozen=True, kw_only=True)
class OASendEvent(ZaloEvent):
    """oa_send_*: echo of a message the OA sent; `admin_id` is set when an officer typed it."""

    citizen_role: ClassVar[Role] = "recipient"

    admin_id: str | None = None
    text: str | None = None

    @classmethod
    def _specific_fields(cls, body: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
        text = message.get("text")
        return {
            "admin_id": _clean(_dig(body, "sender", "admin_id")),
            "text": text if isinstance(text, str) else None,
        }


@dataclass(frozen=True, kw_only=True)
class WithdrawEvent(ZaloEvent):
    """user_withdraw: the citizen withdrew consent; their personal data must be purged."""


@dataclass(frozen=True, kw_only=True)
class UnknownEvent(ZaloEvent):
    """Any event this bot does not handle: stored and ignored."""


_EVENT_CLASSES: dict[str, type[ZaloEvent]] = {
    "user_send_text": TextEvent,
    "user_send_image": ImageEvent,
    "user_send_gif": GifEvent,
    "user_send_file": FileEvent,
    "user_send_sticker": StickerEvent,
    "user_send_link": LinkEvent,
    "user_send_audio": AudioEvent,
    "user_send_video": VideoEvent,
    "user_send_business_card": BusinessCardEvent,
    "user_send_location": LocationEvent,
    "user_submit_info": SubmitInfoEvent,
    "follow": FollowEvent,
    "unfollow": UnfollowEvent,
    "user_received_message": ReceivedEvent,
    "user_seen_message": SeenEvent,
    "user_withdraw": WithdrawEvent,
}
_EVENT_PREFIXES: dict[str, type[ZaloEvent]] = {"oa_send_": OASendEvent}

# Events that count as an interaction from the citizen (they open the messaging window).
_CITIZEN_EVENT_TYPES: tuple[type[ZaloEvent], ...] = (
    TextEvent,
    MediaEvent,
    LocationEvent,
    SubmitInfoEvent,
    _FollowerEvent,
    WithdrawEvent,
)


def parse_event(body: dict[str, Any]) -> ZaloEvent:
    """Parse a webhook body into its typed event."""
    if not isinstance(body, dict):
        raise EventParseError(f"webhook body must be a JSON object, not {type(body).__name__}")
    event_name = body.get("event_name")
    if not isinstance(event_name, str):
        event_name = ""
    event_class = _event_class(event_name)
    if event_class is UnknownEvent:
        return _parse_unknown(body, event_name)

    message = body.get("message")
    message = message if isinstance(message, dict) else {}
    user_id = _party_id(body, event_class.citizen_role)
    if user_id is None:
        raise EventParseError(f"{event_name} event has no {event_class.citizen_role}.id")
    return event_class(
        event_name=event_name,
        app_id=_clean(body.get("app_id")),
        user_id=user_id,
        msg_id=_clean(message.get("msg_id")),
        timestamp=_parse_timestamp(event_name, body.get("timestamp")),
        oa_id=_oa_id(body, event_class.citizen_role),
        **event_class._specific_fields(body, message),
    )


def _event_class(event_name: str) -> type[ZaloEvent]:
    """Return the event class that parses this event name."""
    if event_name in _EVENT_CLASSES:
        return _EVENT_CLASSES[event_name]
    for prefix, event_class in _EVENT_PREFIXES.items():
        if event_name.startswith(prefix):
            return event_class
    return UnknownEvent


def is_from_citizen(event: ZaloEvent) -> bool:
    """Tell whether the event is an interaction by the citizen (not a receipt or an echo)."""
    return isinstance(event, _CITIZEN_EVENT_TYPES)


def dedup_key(body: dict[str, Any], raw_body: bytes) -> str:
    """Return a key (at most 100 chars) identifying this delivery across Zalo's retries."""
    event_name = body.get("event_name") if isinstance(body, dict) else None
    msg_id = _clean(_dig(body, "message", "msg_id"))
    if msg_id is None:
        return "sha256:" + hashlib.sha256(raw_body).hexdigest()
    key = f"{event_name or ''}:{msg_id}"
    if len(key) > MAX_DEDUP_KEY:
        return "key-sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()
    return key


def _parse_unknown(body: dict[str, Any], event_name: str) -> UnknownEvent:
    """Keep what can be read from an event we do not handle, without ever failing."""
    # Best guess at the sides: echoes come from the OA, follow-like events name a follower.
    role: Role = "sender"
    if event_name.startswith("oa_"):
        role = "recipient"
    elif isinstance(body.get("follower"), dict):
        role = "follower"
    try:
        timestamp = _parse_timestamp(event_name, body.get("timestamp"))
    except EventParseError:
        timestamp = None
    return UnknownEvent(
        event_name=event_name,
        app_id=_clean(body.get("app_id")),
        user_id=_party_id(body, role),
        msg_id=_clean(_dig(body, "message", "msg_id")),
        timestamp=timestamp,
        oa_id=_oa_id(body, role),
    )


def _dig(data: Any, *keys: str) -> Any:
    """Follow keys through nested dicts, returning None where the path breaks."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _clean(value: Any) -> str | None:
    """Return a stripped string (ids may arrive as numbers); None when empty or not scalar."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip() or None
    return None


def _to_int(value: Any) -> int | None:
    """Read an integer sent as a number or a string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _party_id(body: dict[str, Any], role: Role) -> str | None:
    """Return the id of the sender, recipient or follower."""
    return _clean(_dig(body, role, "id"))


def _oa_id(body: dict[str, Any], citizen_role: Role) -> str | None:
    """Return the OA id: top-level `oa_id`, else the other side of the envelope."""
    oa_role = _OA_ROLE[citizen_role]
    return _clean(body.get("oa_id")) or (_party_id(body, oa_role) if oa_role else None)


def _parse_timestamp(event_name: str, value: Any) -> datetime | None:
    """Convert Zalo's epoch-milliseconds string to an aware UTC datetime."""
    if value is None or value == "":
        return None
    milliseconds = _to_int(value)
    if milliseconds is None:
        raise EventParseError(f"{event_name} event has a timestamp that is not epoch milliseconds")
    try:
        return _EPOCH + timedelta(milliseconds=milliseconds)
    except OverflowError as exc:
        raise EventParseError(f"{event_name} event has an out-of-range timestamp") from exc


def _caption(message: dict[str, Any]) -> str:
    """Return the text sent along with an attachment, or an empty string."""
    text = message.get("text")
    return text if isinstance(text, str) else ""


def _raw_attachments(event_name: str, message: dict[str, Any]) -> list[Any]:
    """Return the non-empty attachments list of a message."""
    attachments = message.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        raise EventParseError(f"{event_name} event has no message.attachments")
    return attachments


def _parse_attachment(event_name: str, item: Any) -> Attachment:
    """Parse one entry of message.attachments."""
    if not isinstance(item, dict):
        raise EventParseError(f"{event_name} event has an attachment that is not an object")
    payload = item.get("payload")
    payload = payload if isinstance(payload, dict) else {}
    return Attachment(
        type=_clean(item.get("type")) or "",
        url=_clean(payload.get("url")) or "",
        thumbnail=_clean(payload.get("thumbnail")),
        name=_clean(payload.get("name")),
        size=_to_int(payload.get("size")),
        file_type=_clean(payload.get("type")),
        checksum=_clean(payload.get("checksum")),
        description=_clean(payload.get("description")),
    )


def _card_phone(description: str | None) -> str | None:
    """Read the phone number from a business card's JSON description, if it is JSON."""
    if not description:
        return None
    try:
        card = json.loads(description)
    except ValueError:
        return None
    return _clean(card.get("phone")) if isinstance(card, dict) else None


def _coordinate(event_name: str, value: Any, axis: str, limit: int) -> Decimal:
    """Parse a latitude or longitude and check it lies within +/- limit."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise EventParseError(f"{event_name} event has no {axis}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise EventParseError(f"{event_name} event has a {axis} that is not a number") from exc
    if not number.is_finite() or not -limit <= number <= limit:
        raise EventParseError(f"{event_name} event has a {axis} outside -{limit}..{limit}")
    return number
