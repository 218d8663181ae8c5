"""The case page under /admin/cases: everything about one case, and the actions allowed on it.

The page shows the case, the conversation with the citizen, attachments, location, contact data
(in clear only for coordinators), deadlines, the delivery ledger, the timeline, and one form per
action `cases.workflow.allowed_actions` allows this user in this state, each with its response
templates. Every action POST loads the case through `visible_case` (404 when it may not be
seen), calls `workflow.perform`, stores any answer files, commits once and only then sends what
was queued. A refusal rolls everything back (files written to disk included) and shows the page
again with the reason in Vietnamese and the workflow's status (409, 403, 422).

Stored files are served only to staff who may see their case, with a Content-Type from a
whitelist, `nosniff`, and as a download unless they are JPEG or PNG images that really are.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.datastructures import FileStorage, MultiDict

from cases import deadlines, privacy, workflow
from cases import templates as response_templates
from cases.access import (
    can_see,
    can_see_contact,
    contact_for,
    visible_case,
    visible_cases_filter,
)
from cases.files import FileRejectedError, store_answer_file
from cases.timeline import STAFF_LABELS
from cases.undelivered import undelivered
from handlers import console_transcript
from handlers.console import console_blueprint, login_required, now, staff_status_label
from handlers.console_delivery import case_deliveries
from handlers.runtime import db, dispatch_after_commit, workflow_settings
from models import AttachmentState, Case, CaseAttachment, CaseStatus, Staff, Unit

log = logging.getLogger(__name__)

bp = console_blueprint("console_cases", __name__)

ATTACHMENT_STATE_LABELS = {
    AttachmentState.PENDING: "Đang tải về",
    AttachmentState.STORED: "Đã lưu",
    AttachmentState.FAILED: "Không tải được",
    AttachmentState.REMOVED: "Đã xóa cùng dữ liệu cá nhân",
}
MEDIA_TYPE_LABELS = {"image": "Ảnh", "file": "Tệp"}
CHANNEL_LABELS = {
    "zalo": "Zalo",
    "phone": "Điện thoại",
    "email": "Thư điện tử",
    "paper": "Văn bản giấy",
    "in_person": "Trực tiếp",
    "web": "Cổng thông tin",
}
ACTOR_LABELS = {"citizen": "Người gửi", "system": "Hệ thống"}


@dataclass(frozen=True)
class NoteSpec:
    """The text box of an action form: its label, whether it is required, a hint."""

    label: str
    required: bool = False
    hint: str = ""


OPTIONAL_NOTE = NoteSpec("Ghi chú (không bắt buộc)")
TO_CITIZEN = "Nội dung này được gửi cho người dân."
INTERNAL = "Nội bộ: người dân không thấy nội dung này."
NOTES: dict[str, NoteSpec | None] = {
    "reject": NoteSpec("Ghi chú thêm cho người dân (không bắt buộc)", hint=TO_CITIZEN),
    "return_to_coordinator": NoteSpec("Lý do trả lại", True, INTERNAL),
    "request_info": NoteSpec("Nội dung đề nghị người dân bổ sung", True, TO_CITIZEN),
    "draft_answer": None,  # the answer box replaces the note
    "return_answer": NoteSpec("Ý kiến khi trả lại dự thảo", True, INTERNAL),
    "publish": None,
    "escalate": NoteSpec("Nội dung báo cáo", True, INTERNAL),
    "reopen": NoteSpec("Lý do mở lại", True, INTERNAL),
    "progress": NoteSpec("Nội dung cập nhật tiến độ", True, TO_CITIZEN),
    "extend": NoteSpec("Lý do gia hạn", True, TO_CITIZEN),
    "comment": NoteSpec("Ý kiến nội bộ", True, INTERNAL),
    "mark_urgent": NoteSpec(
        "Lý do đánh dấu khẩn",
        True,
        INTERNAL + " Hạn xử lý khẩn tính theo giờ làm việc từ lúc đánh dấu; "
        "cán bộ phải xử lý được thông báo ngay.",
    ),
    "unmark_urgent": NoteSpec("Lý do bỏ đánh dấu khẩn", True, INTERNAL),
}
# The form fields actions read: every input an action needs, and the optional note.
FORM_KEYS = tuple(sorted({need for a in workflow.ACTIONS.values() for need in a.needs} | {"note"}))
# Inputs the page draws with their own control; any other need gets a labelled text box.
KNOWN_INPUTS = frozenset({"note", "reason", "unit_id", "answer", "target", "target_code", "days"})
MAX_EXTENSION_DAYS = 60
MAX_ANSWER_FILES = 10
ANSWER_FILES_FIELD = "files"
SAFE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/png",
        "image/gif",
        "image/webp",
        "application/pdf",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "text/csv",
    }
)
INLINE_SIGNATURES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n"}
DONE = "Đã thực hiện “{label}”."
DRAFT_DONE = "Đã lưu dự thảo trả lời{files}."


@dataclass
class ActionForm:
    """One action form of the case page."""

    name: str
    label: str
    needs: tuple[str, ...]
    note: NoteSpec | None
    text: str = ""  # the note or answer box's content
    values: dict[str, str] = field(default_factory=dict)
    templates: list[Any] = field(default_factory=list)
    error: str | None = None
    open: bool = False

    @property
    def text_field(self) -> str | None:
        """Return the name of the form's text box, if it has one."""
        if "answer" in self.needs:
            return "answer"
        return "note" if self.note is not None else None

    @property
    def other_inputs(self) -> list[str]:
        """Return the needs the page has no dedicated control for (shown as text boxes)."""
        return [need for need in self.needs if need not in KNOWN_INPUTS]

    @property
    def has_files(self) -> bool:
        """Tell whether the form uploads files (the answer's attachments)."""
        return self.name == "draft_answer"


def _load_case(code: str) -> Case:
    case = (
        db()
        .scalars(
            select(Case)
            .where(Case.code == code, visible_cases_filter(g.staff, db()))
            .options(
                joinedload(Case.field),
                joinedload(Case.unit),
                joinedload(Case.citizen),
                selectinload(Case.attachments),
                selectinload(Case.events),
            )
        )
        .first()
    )
    if case is None:
        # The same answer whether the case does not exist or is not this user's to see.
        abort(404)
    return case


def _actor_names(case: Case) -> dict[str, str]:
    ids = {
        int(event.actor.removeprefix("staff:"))
        for event in case.events
        if event.actor.startswith("staff:") and event.actor.removeprefix("staff:").isdigit()
    }
    names = dict(ACTOR_LABELS)
    if ids:
        for staff in db().scalars(select(Staff).where(Staff.id.in_(ids))):
            names[f"staff:{staff.id}"] = staff.full_name
    return names


def _status_words(value: str | None) -> str:
    if not value:
        return ""
    try:
        return staff_status_label(CaseStatus(value))
    except ValueError:
        return value


def _map_url(case: Case) -> str | None:
    if case.latitude is None or case.longitude is None:
        return None
    lat, lon = case.latitude, case.longitude
    return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=18/{lat}/{lon}"


def attachment_url(attachment: CaseAttachment) -> str:
    """Return the console URL serving a stored attachment of the current case."""
    return url_for(
        "console_cases.attachment",
        code=attachment.case.code,
        attachment_id=attachment.id,
    )


def _contact_name(staff: Staff, case: Case) -> str:
    # A template's {ho_ten} gets the name only for those who may read it; for others it is left
    # blank rather than masked, since the text may be sent to the citizen as it stands.
    return (case.contact_name or "") if can_see_contact(staff) else ""


def action_forms(
    case: Case,
    staff: Staff,
    failed: str | None = None,
    error: str | None = None,
    submitted: MultiDict | None = None,
) -> list[ActionForm]:
    """Return the forms of the actions `staff` may take now, with templates and any prefill."""
    session = db()
    allowed = workflow.allowed_actions(session, staff, case, workflow_settings())
    templates = response_templates.templates_for(session, case, [a.name for a in allowed])
    chosen = request.args.get("template", type=int)
    forms = []
    for action in allowed:
        form = ActionForm(
            action.name,
            action.label,
            action.needs,
            NOTES.get(action.name, OPTIONAL_NOTE),
            templates=templates.get(action.name, []),
        )
        if "answer" in action.needs:
            form.text = case.answer_text or ""
        for template in form.templates:
            if template.id == chosen:
                form.text = response_templates.render_for_case(
                    template, case, _contact_name(staff, case)
                )
                form.open = True
        if action.name == failed and submitted is not None:
            form.values = {key: submitted.get(key, "") for key in FORM_KEYS}
            form.text = form.values.get(form.text_field or "", "") if form.text_field else ""
            form.error, form.open = error, True
        forms.append(form)
    return forms


def render_case(
    case: Case,
    status: int = 200,
    failed: str | None = None,
    error: str | None = None,
    submitted: MultiDict | None = None,
):
    """Render the case page (with a refused action's message and input, if any)."""
    session = db()
    staff: Staff = g.staff
    reveal = can_see_contact(staff)
    transcript = console_transcript.build(session, case, reveal, attachment_url)
    units = session.scalars(
        select(Unit).where(Unit.active.is_(True)).order_by(Unit.sort_order, Unit.name)
    ).all()
    viewed = privacy.record_contact_view(session, staff, case, "console_case", now())
    page = render_template(
        "console/case.html",
        case=case,
        citizen_files=[a for a in case.attachments if a.origin != "answer"],
        answer_files=[a for a in case.attachments if a.origin == "answer"],
        deliveries=case_deliveries(session, case.id),
        undelivered_since=undelivered(session, [case.id]).get(case.id),
        contact=contact_for(staff, case),
        map_url=_map_url(case),
        actors=_actor_names(case),
        link_url=console_transcript.safe_link,
        attachment_url=attachment_url,
        status_words=_status_words,
        action_labels=STAFF_LABELS,
        channel_label=CHANNEL_LABELS.get(case.channel, case.channel),
        attachment_states=ATTACHMENT_STATE_LABELS,
        media_types=MEDIA_TYPE_LABELS,
        transcript=transcript,
        forms=action_forms(case, staff, failed, error, submitted),
        units=units,
        reject_reasons=workflow.REJECT_REASONS,
        escalation_targets=workflow.ESCALATION_TARGETS,
        error=error,
        max_file_mb=current_app.config["ANSWER_FILE_MAX_BYTES"] // (1024 * 1024),
        max_extension_days=MAX_EXTENSION_DAYS,
        urgent_overdue=deadlines.is_urgent_overdue(case, now()),
        shown=privacy.staff_reader(staff, case),
        contact_views=privacy.contact_views(session, case) if reveal else None,
    )
    if viewed:
        session.commit()  # the log of who saw the contact data (a refused action rolled back)
    return page, status


@bp.get("/cases/<code>")
@login_required
def case_page(code: str):
    """Show one case with everything staff need and the actions they may take."""
    return render_case(_load_case(code))


def _action_data(form: MultiDict) -> dict[str, str]:
    data = {key: str(form.get(key, "")) for key in FORM_KEYS}
    # The workflow reads the unit as an integer: anything else is "no unit chosen".
    if not data["unit_id"].isdigit() or len(data["unit_id"]) > 9:
        data["unit_id"] = ""
    return data


def _uploaded_files() -> list[FileStorage]:
    return [f for f in request.files.getlist(ANSWER_FILES_FIELD) if f and f.filename]


def _store_files(case: Case, uploads: list[FileStorage], written: list[Path]) -> int:
    """Store the answer's files; raise FileRejectedError naming the first refused file."""
    if len(uploads) > MAX_ANSWER_FILES:
        raise FileRejectedError(f"Chỉ đính kèm tối đa {MAX_ANSWER_FILES} tệp mỗi lần.")
    config = current_app.config
    max_bytes = config["ANSWER_FILE_MAX_BYTES"]
    for upload in uploads:
        name = upload.filename or ""
        # One byte over the limit is enough to refuse, without reading a huge upload whole.
        content = upload.stream.read(max_bytes + 1)
        try:
            attachment = store_answer_file(
                db(), case, name, content, Path(config["STORAGE_DIR"]), max_bytes, now()
            )
        except FileRejectedError as refusal:
            raise FileRejectedError(f"Tệp “{name}”: {refusal}") from refusal
        written.append(Path(attachment.storage_path or ""))
    return len(uploads)


@bp.post("/cases/<code>/actions/<name>")
@login_required
def perform_action(code: str, name: str):
    """Take one workflow action on the case; commit, then send what it queued."""
    case = _load_case(code)
    action = workflow.ACTIONS.get(name)
    if action is None:
        abort(404)
    staff: Staff = g.staff
    session = db()
    written: list[Path] = []
    try:
        workflow.perform(
            session, case, staff, name, _action_data(request.form), now(), workflow_settings()
        )
        stored = _store_files(case, _uploaded_files(), written) if name == "draft_answer" else 0
    except (workflow.WorkflowError, FileRejectedError) as refusal:
        session.rollback()
        for path in written:
            path.unlink(missing_ok=True)
        status = getattr(refusal, "status", 422)
        message = getattr(refusal, "message", str(refusal))
        log.info(
            "console action refused: staff_id=%s case=%s action=%s status=%s",
            staff.id,
            code,
            name,
            status,
        )
        return render_case(_load_case(code), status, name, message, request.form)
    citizen_id = case.citizen_id
    session.commit()
    log.info("console action: staff_id=%s case=%s action=%s", staff.id, code, name)
    dispatch_after_commit({citizen_id} if citizen_id else set())
    if name == "draft_answer":
        flash(DRAFT_DONE.format(files=f" và {stored} tệp đính kèm" if stored else ""))
    else:
        flash(DONE.format(label=action.label))
    if not can_see(session, staff, case):
        # Returned to the coordinator, say: the case has left this user's scope.
        return redirect(url_for("console.index"))
    return redirect(url_for("console_cases.case_page", code=code))


def content_disposition(disposition: str, file_name: str) -> str:
    """Return a Content-Disposition value with an ASCII fallback and the RFC 5987 UTF-8 name."""
    # Vietnamese without diacritics for old clients; Đ has no decomposition of its own.
    plain = file_name.replace("Đ", "D").replace("đ", "d")
    ascii_name = unicodedata.normalize("NFKD", plain).encode("ascii", "ignore").decode("ascii")
    ascii_name = re.sub(r"[^A-Za-z0-9.-]+", "_", ascii_name).strip("._")
    fallback = ascii_name or "tep"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def _stored_path(attachment: CaseAttachment) -> Path | None:
    # Serve only files inside the storage folder, whatever a row says.
    if attachment.state is not AttachmentState.STORED or not attachment.storage_path:
        return None
    root = Path(current_app.config["STORAGE_DIR"]).resolve()
    path = Path(attachment.storage_path).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


@bp.get("/cases/<code>/files/<int:attachment_id>")
@login_required
def attachment(code: str, attachment_id: int):
    """Serve a stored attachment of a case the user may see."""
    case = visible_case(db(), g.staff, code)
    if case is None:
        abort(404)
    found = db().get(CaseAttachment, attachment_id)
    if found is None or found.case_id != case.id:
        abort(404)
    path = _stored_path(found)
    if path is None:
        abort(404)
    content = path.read_bytes()
    content_type = found.content_type if found.content_type in SAFE_TYPES else None
    signature = INLINE_SIGNATURES.get(content_type or "")
    inline = signature is not None and content.startswith(signature)
    response = current_app.response_class(
        content, mimetype=content_type or "application/octet-stream"
    )
    response.headers["Content-Disposition"] = content_disposition(
        "inline" if inline else "attachment", found.file_name or path.name
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    log.info("attachment served: staff_id=%s case=%s attachment=%s", g.staff.id, code, found.id)
    return response
