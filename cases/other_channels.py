"""PAKN received outside Zalo (in person, on paper, by phone, by email) and entered by staff.

QĐ 31/2021/QĐ-TTg: PAKN received on paper, by phone or by email must be entered into the system
too. `check_form` validates what the coordinator typed (a mapping of strings in; clean values and
Vietnamese errors per field out) and `check_scans` the scanned documents; `register` files the
case through `cases.intake.submit_case`, links it to the citizen's Zalo account when their phone
is known there and queues the Zalo acknowledgement, all in the caller's transaction.

A citizen who is not on Zalo hears from the agency only by the channel the PAKN came by.
`follow_up` reads the case's timeline to tell whether staff still owe them news: a step the
citizen would see after the last `informed_offline` event is a step nobody has told them about.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.clock import LOCAL_TZ, format_date, format_datetime
from cases.contact import normalize_email, normalize_name, normalize_phone
from cases.files import SIGNATURES, FileRejectedError
from cases.intake import Submission, submit_case
from cases.notifications import context_of, queue_message, split_text
from models import (
    AttachmentState,
    Case,
    CaseAttachment,
    CaseEvent,
    CaseKind,
    Citizen,
    Field,
    MessageKind,
    Staff,
    Unit,
)

INFORMED = "informed_offline"
# The chat's consent text has its own version (bot/texts.py); this one is the console's checkbox.
CONSENT_VERSION = "offline-v1"
CONSENT_MODES = {"written": "bằng văn bản", "verbal": "bằng lời nói"}
CONSENT_LABEL = "Người dân đồng ý cho sử dụng thông tin cá nhân để xử lý PAKN"

# The chat flow's limits where they make sense; staff transcribing a letter may need more room.
TITLE_MIN, TITLE_MAX = 10, 200
CONTENT_MIN, CONTENT_MAX = 20, 10_000
ADDRESS_MIN, ADDRESS_MAX = 5, 300
LOCATION_MAX = 500
MAX_SCANS = 10
SCAN_TYPES = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}
# The citizen's own actions on the timeline: nothing to tell them about.
CITIZEN_OWN_ACTIONS = frozenset({"citizen_info"})


@dataclass(frozen=True)
class Channel:
    """A way a PAKN reaches the agency outside Zalo, and how the citizen is answered by it."""

    code: str
    label: str  # "Điện thoại": lists and the case page
    received_by: str  # "qua điện thoại": "the PAKN Ông/Bà gửi qua điện thoại"
    inform_by: str  # "qua điện thoại": "cần thông báo kết quả qua điện thoại"
    contact_keys: tuple[str, ...]  # which contact data staff need to reach the citizen


CHANNELS: dict[str, Channel] = {
    c.code: c
    for c in (
        Channel(
            "in_person",
            "Trực tiếp",
            "trực tiếp tại cơ quan",
            "bằng văn bản hoặc điện thoại",
            ("address", "phone"),
        ),
        Channel("paper", "Văn bản giấy", "bằng văn bản giấy", "bằng văn bản", ("address",)),
        Channel("phone", "Điện thoại", "qua điện thoại", "qua điện thoại", ("phone",)),
        Channel("email", "Thư điện tử", "qua thư điện tử", "qua thư điện tử", ("email",)),
    )
}
CONTACT_WORDS = {"phone": "số điện thoại", "address": "địa chỉ", "email": "thư điện tử"}

ACKNOWLEDGEMENT = (
    "{agency} đã tiếp nhận phản ánh, kiến nghị Ông/Bà gửi {received_by} ngày {received}.\n"
    "Mã PAKN: {code}\n"
    "Tiêu đề: {title}\n"
    "Thời hạn trả lời dự kiến: {due}\n"
    "Từ nay, tiến độ và kết quả trả lời PAKN này được gửi cho Ông/Bà qua Zalo. "
    'Ông/Bà giữ mã để tra cứu (gõ "tra cứu").'
)


class InformError(ValueError):
    """The "informed" confirmation is refused; the message is Vietnamese, for the case page."""


@dataclass
class IntakeForm:
    """What the intake form carried (as text, for redisplay) and what is wrong with it."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Scan:
    """A scanned document of the PAKN, checked and ready to store."""

    name: str
    content_type: str
    content: bytes


@dataclass
class OfflineIntake:
    """A valid PAKN from another channel: the submission and how it came."""

    submission: Submission
    received_at: datetime
    consent_mode: str
    scans: list[Scan] = field(default_factory=list)

    @property
    def channel(self) -> Channel:
        """Return the channel the PAKN came by."""
        return CHANNELS[self.submission.channel]


def local_input_value(moment: datetime) -> str:
    """Format an aware moment for an `<input type="datetime-local">` in the agency's time zone."""
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def parse_local(raw: str) -> datetime | None:
    """Read a local date-time as `<input type="datetime-local">` sends it; None when malformed."""
    try:
        value = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    if value.tzinfo is not None:
        return None  # the form sends local wall-clock time only
    return value.replace(tzinfo=LOCAL_TZ).astimezone(UTC)


class _Reader:
    """Reads one form into clean values, recording the text for redisplay and each error."""

    def __init__(self, form: Mapping[str, Any]) -> None:
        self.form = form
        self.result = IntakeForm()

    def raw(self, name: str, multiline: bool = False) -> str:
        value = str(self.form.get(name) or "")
        value = value.strip() if multiline else " ".join(value.split())
        self.result.values[name] = value
        return value

    def error(self, name: str, message: str) -> None:
        self.result.errors.setdefault(name, message)

    def text(self, name: str, what: str, low: int, high: int, multiline: bool = False) -> str:
        value = self.raw(name, multiline)
        if not value:
            self.error(name, f"Vui lòng nhập {what}.")
        elif not low <= len(value) <= high:
            self.error(name, f"{what.capitalize()} dài từ {low} đến {high} ký tự.")
        return value

    def flag(self, name: str) -> bool:
        value = self.form.get(name) == "1"
        self.result.values[name] = value
        return value

    def choice(self, name: str, allowed: Mapping[str, Any], what: str) -> str:
        value = self.raw(name)
        if value not in allowed:
            self.error(name, f"Vui lòng chọn {what}.")
        return value

    def row_id(self, name: str, rows: Mapping[int, Any]) -> Any:
        value = self.raw(name)
        return rows.get(int(value)) if value.isdigit() and len(value) < 10 else None


def check_form(
    form: Mapping[str, Any],
    now: datetime,
    fields: Mapping[int, Field],
    units: Mapping[int, Unit],
) -> tuple[IntakeForm, OfflineIntake | None]:
    """Validate the intake form against the active `fields` and `units`; None when invalid."""
    read = _Reader(form)
    channel = read.choice("channel", CHANNELS, "kênh tiếp nhận")
    received_at = _received_at(read, now)
    kind = read.choice("kind", {k.value: k for k in CaseKind}, "loại (phản ánh hay kiến nghị)")
    chosen_field: Field | None = read.row_id("field_id", fields)
    if chosen_field is None:
        read.error("field_id", "Vui lòng chọn lĩnh vực.")
    unit = _unit(read, chosen_field, units)
    title = read.text("title", "tiêu đề", TITLE_MIN, TITLE_MAX)
    content = read.text("content", "nội dung", CONTENT_MIN, CONTENT_MAX, multiline=True)
    location = read.raw("location_address")
    if len(location) > LOCATION_MAX:
        read.error("location_address", f"Địa điểm tối đa {LOCATION_MAX} ký tự.")
    name = normalize_name(read.raw("contact_name"))
    if name is None:
        read.error("contact_name", "Vui lòng nhập họ và tên người gửi (hoặc tên tổ chức).")
    phone = _phone(read)
    address = read.text("contact_address", "địa chỉ người gửi", ADDRESS_MIN, ADDRESS_MAX)
    email = _email(read, channel)
    hide_identity = read.flag("hide_identity")
    consent_mode = _consent(read)
    if read.result.errors:
        return read.result, None
    assert chosen_field is not None and unit is not None and received_at is not None
    submission = Submission(
        kind=CaseKind(kind),
        field_id=chosen_field.id,
        unit_id=unit.id,
        title=title,
        content=content,
        contact_name=name or "",
        contact_phone=phone or "",
        contact_address=address,
        contact_email=email,
        hide_identity=hide_identity,
        location_address=location or None,
        consent_version=f"{CONSENT_VERSION}:{consent_mode}",
        channel=channel,
    )
    return read.result, OfflineIntake(submission, received_at, consent_mode)


def _received_at(read: _Reader, now: datetime) -> datetime | None:
    raw = read.raw("received_at")
    received_at = parse_local(raw) if raw else None
    if received_at is None:
        read.error("received_at", "Vui lòng nhập ngày giờ tiếp nhận (ngày/tháng/năm giờ:phút).")
    elif received_at > now:
        read.error("received_at", "Thời điểm tiếp nhận không thể ở tương lai.")
        return None
    return received_at


def _unit(read: _Reader, chosen_field: Field | None, units: Mapping[int, Unit]) -> Unit | None:
    if read.raw("unit_id"):
        unit = read.row_id("unit_id", units)
        if unit is None:
            read.error("unit_id", "Vui lòng chọn đơn vị đang hoạt động.")
        return unit
    # Left blank: the field's receiving unit, as the chat suggests it.
    if chosen_field is None:
        return None
    unit = units.get(chosen_field.default_unit_id or 0)
    if unit is None:
        read.error("unit_id", "Lĩnh vực này chưa có đơn vị tiếp nhận mặc định: vui lòng chọn.")
    return unit


def _phone(read: _Reader) -> str | None:
    raw = read.raw("contact_phone")
    phone = normalize_phone(raw) if raw else None
    if not raw:
        read.error("contact_phone", "Vui lòng nhập số điện thoại người gửi.")
    elif phone is None:
        read.error(
            "contact_phone", "Số điện thoại không hợp lệ (ví dụ: 0912 345 678 hoặc 024 3825 xxxx)."
        )
    return phone


def _email(read: _Reader, channel: str) -> str | None:
    raw = read.raw("contact_email")
    if not raw:
        if channel == "email":
            read.error("contact_email", "PAKN nhận qua thư điện tử: vui lòng nhập địa chỉ thư.")
        return None
    email = normalize_email(raw)
    if email is None:
        read.error("contact_email", "Địa chỉ thư điện tử không hợp lệ.")
    return email


def _consent(read: _Reader) -> str:
    given = read.flag("consent")
    mode = read.raw("consent_mode")
    if not given:
        read.error(
            "consent",
            "Cần có sự đồng ý của người dân cho sử dụng thông tin cá nhân: "
            "PAKN ẩn danh, không có thông tin người gửi, không được tiếp nhận.",
        )
    elif mode not in CONSENT_MODES:
        read.error("consent_mode", "Vui lòng chọn người dân đồng ý bằng văn bản hay bằng lời nói.")
    return mode


def check_scans(
    uploads: Sequence[tuple[str, bytes]], max_bytes: int, max_count: int = MAX_SCANS
) -> list[Scan]:
    """Check the scanned documents (PDF, JPG, PNG); raise FileRejectedError naming the first bad one."""
    if len(uploads) > max_count:
        raise FileRejectedError(f"Chỉ đính kèm tối đa {max_count} tệp.")
    scans = []
    for name, content in uploads:
        content_type = SCAN_TYPES.get(Path(name).suffix.lower())
        if content_type is None:
            problem = "chỉ nhận tệp PDF, JPG hoặc PNG."
        elif not content:
            problem = "tệp rỗng."
        elif len(content) > max_bytes:
            problem = f"tệp quá lớn (tối đa {size_text(max_bytes)})."
        elif not content.startswith(SIGNATURES[content_type]):
            problem = "nội dung tệp không đúng định dạng của tên tệp."
        else:
            scans.append(Scan(Path(name).name[:255], content_type, content))
            continue
        raise FileRejectedError(f"Tệp “{Path(name).name}”: {problem}")
    return scans


def size_text(size: int) -> str:
    """Return a byte count as staff read it: whole MB, or KB below one MB."""
    megabyte = 1024 * 1024
    return f"{size // megabyte} MB" if size >= megabyte else f"{max(size // 1024, 1)} KB"


def zalo_citizen(session: Session, phone: str) -> Citizen | None:
    """The reachable Zalo citizen who gave this phone number, if exactly one did."""
    found = session.scalars(
        select(Citizen).where(Citizen.phone == phone, Citizen.unreachable_reason.is_(None)).limit(2)
    ).all()
    # Two Zalo accounts claiming one number: neither is told, rather than the wrong person.
    return found[0] if len(found) == 1 else None


def register(
    session: Session,
    intake: OfflineIntake,
    staff: Staff,
    now: datetime,
    *,
    answer_days: int,
    agency: str,
    storage_dir: Path,
    written: list[Path],
) -> Case:
    """Register the PAKN as received at `intake.received_at`; store its scans; tell Zalo users.

    `written` collects the stored files, so the caller can remove them if the commit fails.
    """
    citizen = zalo_citizen(session, intake.submission.contact_phone)
    case = submit_case(
        session,
        intake.submission,
        citizen.id if citizen else None,
        intake.received_at,  # deadlines run from the day the agency received it
        answer_days,
    )
    received = session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id, CaseEvent.action == "received")
    ).one()
    received.actor, received.staff_id = f"staff:{staff.id}", staff.id
    received.note = receipt_note(intake, now)
    case.updated_at = now
    for scan in intake.scans:
        written.append(store_scan(session, case, scan, storage_dir, now))
    if citizen is not None:
        queue_acknowledgement(session, case, intake.channel, agency, now)
    session.flush()
    return case


def receipt_note(intake: OfflineIntake, now: datetime) -> str:
    """The timeline note of the receipt: the channel, the consent as given, when it was entered."""
    channel = intake.channel
    return (
        f"Tiếp nhận {channel.received_by}. "
        f"{CONSENT_LABEL} ({CONSENT_MODES[intake.consent_mode]}). "
        f"Nhập vào hệ thống lúc {format_datetime(now)}."
    )


def store_scan(session: Session, case: Case, scan: Scan, storage_dir: Path, now: datetime) -> Path:
    """Write a checked scan under the case's folder and record it as the citizen's attachment."""
    safe_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in scan.name)
    folder = storage_dir / "cases" / str(case.id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(8)}-{safe_name[-100:]}"
    path.write_bytes(scan.content)
    session.add(
        CaseAttachment(
            case_id=case.id,
            media_type="image" if scan.content_type.startswith("image/") else "file",
            origin="citizen",
            source_url=f"staff-scan:{safe_name}",
            file_name=scan.name,
            declared_size=len(scan.content),
            stored_size=len(scan.content),
            content_type=scan.content_type,
            storage_path=str(path),
            state=AttachmentState.STORED,
            created_at=now,
        )
    )
    return path


def queue_acknowledgement(
    session: Session, case: Case, channel: Channel, agency: str, now: datetime
) -> int:
    """Queue the Zalo message telling the citizen their PAKN was registered; return the rows."""
    text = ACKNOWLEDGEMENT.format(
        agency=agency,
        received_by=channel.received_by,
        received=format_date(case.received_at.astimezone(LOCAL_TZ).date()),
        code=case.code,
        title=case.title,
        due=format_date(case.answer_due_on),
    )
    context = context_of(case)
    parts = split_text(text)
    for part in parts:
        queue_message(
            session,
            case.citizen_id,
            {"text": part, "_context": context},
            MessageKind.ACKNOWLEDGEMENT,
            now,
            case_id=case.id,
        )
    return len(parts)


class ContactData(Protocol):
    """The sender's contact data as the viewer may see it (`cases.access.ContactView`)."""

    phone: str
    address: str
    email: str


@dataclass(frozen=True)
class FollowUp:
    """What staff owe a citizen who is not on Zalo: the channel, and the steps not yet told."""

    channel: Channel
    pending: list[CaseEvent]

    @property
    def channels(self) -> dict[str, Channel]:
        """Return every channel staff may have used to tell the citizen."""
        return CHANNELS

    def contact_text(self, contact: ContactData) -> str:
        """Return where to reach the citizen by this channel ("số điện thoại 09…, địa chỉ …")."""
        parts = [
            f"{CONTACT_WORDS[key]} {getattr(contact, key)}"
            for key in self.channel.contact_keys
            if getattr(contact, key)
        ]
        return ", ".join(parts) or "chưa có thông tin liên hệ"


def is_offline(case: Case) -> bool:
    """Tell whether the case came by another channel from a citizen not linked to Zalo."""
    return case.citizen_id is None and case.channel in CHANNELS


def follow_up(case: Case) -> FollowUp | None:
    """The citizen-visible steps since staff last told this off-Zalo citizen; None for Zalo cases."""
    if not is_offline(case):
        return None
    pending: list[CaseEvent] = []
    for event in case.events:  # in the order they were written
        if event.action == INFORMED:
            pending = []
        elif event.visible_to_citizen and event.action not in CITIZEN_OWN_ACTIONS:
            pending.append(event)
    return FollowUp(CHANNELS[case.channel], pending)


def record_informed(
    session: Session, case: Case, staff: Staff, channel: str, note: str, now: datetime
) -> CaseEvent:
    """Record that staff told the citizen of the pending steps, by `channel`, with a note."""
    found = follow_up(case)
    if found is None or not found.pending:
        raise InformError("PAKN này không có việc thông báo nào đang chờ.")
    used = CHANNELS.get(channel)
    if used is None:
        raise InformError("Vui lòng chọn kênh đã dùng để thông báo.")
    note = " ".join(note.split())
    if len(note) < 5:
        raise InformError("Vui lòng ghi lại nội dung đã thông báo (tối thiểu 5 ký tự).")
    # Staff bookkeeping: the citizen's own timeline does not list it.
    event = CaseEvent.staff_note(
        case.id,
        staff.id,
        INFORMED,
        f"Đã thông báo cho người dân ({used.label.lower()}): {note[:2000]}",
        now,
    )
    session.add(event)
    session.flush()
    return event
