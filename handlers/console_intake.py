"""Console pages for PAKN received outside Zalo: the intake form and the "informed" confirmation.

`/admin/intake` (coordinators only) enters a PAKN received in person, on paper, by phone or by
email, as QĐ 31/2021/QĐ-TTg requires. An invalid form is shown again with the errors next to the
fields and HTTP 422, having saved nothing; a valid one is registered, committed once, and the
Zalo acknowledgement (for citizens known on Zalo by their phone) sent after the commit.

For a citizen not on Zalo, the case page shows what staff still owe them (`offline_follow_up`,
offered to every template) and a form posting to `/admin/cases/<code>/informed`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from pathlib import Path

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from cases import access, other_channels
from cases.files import FileRejectedError
from cases.other_channels import CHANNELS, CONSENT_MODES, IntakeForm
from handlers.console import console_blueprint, login_required, now
from handlers.console_cases import render_case
from handlers.runtime import db, dispatch_after_commit
from models import Case, CaseKind, Field, Unit

log = logging.getLogger(__name__)

bp = console_blueprint("console_intake", __name__)

COORDINATOR = "coordinator"
# Those who act on cases; the same who may record that they told the citizen.
CASE_ROLES = frozenset({"coordinator", "handler", "leader"})
SCANS_FIELD = "files"
KIND_OPTIONS = [(CaseKind.FEEDBACK.value, "Phản ánh"), (CaseKind.PETITION.value, "Kiến nghị")]
SAVED = "Đã vào sổ PAKN {code}."
SAVED_ZALO = " Người dân dùng Zalo: đã gửi tin báo mã PAKN và sẽ nhận mọi cập nhật qua Zalo."
SAVED_OFFLINE = " Người dân không dùng Zalo: cần thông báo mã PAKN và kết quả {inform_by}."
INFORMED = "Đã ghi nhận việc thông báo cho người dân."


def coordinator_required(view: Callable) -> Callable:
    """Like `login_required`, and answer 403 to staff who are not coordinators."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if COORDINATOR not in g.staff.role_set:
            log.warning("intake page refused: staff_id=%s path=%s", g.staff.id, request.path)
            abort(403)
        return view(*args, **kwargs)

    return login_required(wrapped)


def _active_fields() -> dict[int, Field]:
    rows = db().scalars(
        select(Field).where(Field.active.is_(True)).order_by(Field.sort_order, Field.name)
    )
    return {row.id: row for row in rows}


def _active_units() -> dict[int, Unit]:
    rows = db().scalars(
        select(Unit).where(Unit.active.is_(True)).order_by(Unit.sort_order, Unit.name)
    )
    return {row.id: row for row in rows}


def _field_label(row: Field, units: dict[int, Unit]) -> str:
    unit = units.get(row.default_unit_id or 0)
    return f"{row.name} (tiếp nhận: {unit.name})" if unit else row.name


def _intake_page(form: IntakeForm, status: int = 200, files_lost: bool = False):
    fields, units = _active_fields(), _active_units()
    page = render_template(
        "console/intake.html",
        form=form,
        channel_options=[(c.code, c.label) for c in CHANNELS.values()],
        kind_options=KIND_OPTIONS,
        field_options=[(row.id, _field_label(row, units)) for row in fields.values()],
        unit_options=[(row.id, row.name) for row in units.values()],
        consent_options=list(CONSENT_MODES.items()),
        consent_label=other_channels.CONSENT_LABEL,
        latest=other_channels.local_input_value(now()),
        max_scans=other_channels.MAX_SCANS,
        max_file_size=other_channels.size_text(current_app.config["ATTACHMENT_MAX_BYTES"]),
        files_lost=files_lost,
    )
    return page, status


@bp.get("/intake")
@coordinator_required
def intake_form():
    """Show the form entering a PAKN received in person, on paper, by phone or by email."""
    defaults = {"received_at": other_channels.local_input_value(now()), "kind": "feedback"}
    return _intake_page(IntakeForm(values=defaults))


def _uploads() -> list[tuple[str, bytes]]:
    # One byte over the limit is enough to refuse, without reading a huge upload whole.
    limit = current_app.config["ATTACHMENT_MAX_BYTES"] + 1
    return [
        (upload.filename, upload.stream.read(limit))
        for upload in request.files.getlist(SCANS_FIELD)
        if upload and upload.filename
    ]


@bp.post("/intake")
@coordinator_required
def intake_submit():
    """Register the PAKN; with any error, show the form again (422) and save nothing."""
    session = db()
    form, intake = other_channels.check_form(request.form, now(), _active_fields(), _active_units())
    uploads = _uploads()
    try:
        scans = other_channels.check_scans(uploads, current_app.config["ATTACHMENT_MAX_BYTES"])
    except FileRejectedError as refusal:
        form.errors[SCANS_FIELD] = str(refusal)
    if form.errors or intake is None:
        session.rollback()
        log.info("intake refused: staff_id=%s fields=%s", g.staff.id, sorted(form.errors))
        # A browser never sends chosen files back: say so when the form had some.
        return _intake_page(form, 422, files_lost=bool(uploads))
    intake.scans = scans
    written: list[Path] = []
    try:
        case = other_channels.register(
            session,
            intake,
            g.staff,
            now(),
            answer_days=current_app.config["ANSWER_DAYS"],
            agency=current_app.config["AGENCY_NAME"],
            storage_dir=Path(current_app.config["STORAGE_DIR"]),
            written=written,
        )
        citizen_id, code = case.citizen_id, case.code
        session.commit()
    except Exception:
        session.rollback()
        for path in written:
            path.unlink(missing_ok=True)
        raise
    log.info(
        "intake registered: staff_id=%s case=%s channel=%s zalo=%s scans=%s",
        g.staff.id,
        code,
        intake.channel.code,
        citizen_id is not None,
        len(written),
    )
    dispatch_after_commit({citizen_id} if citizen_id else set())
    tail = SAVED_ZALO if citizen_id else SAVED_OFFLINE.format(inform_by=intake.channel.inform_by)
    flash(SAVED.format(code=code) + tail)
    return redirect(url_for("console_cases.case_page", code=code))


def may_confirm(case: Case) -> bool:
    """Tell whether the current staff member may record that the citizen was told."""
    staff = g.get("staff")
    if staff is None or not staff.role_set & CASE_ROLES:
        return False
    return COORDINATOR in staff.role_set or access.works_on(db(), staff, case)


@bp.app_context_processor
def _follow_up_helpers() -> dict:
    # Offered to every template (the case page is another blueprint's); computed only when called.
    return {"offline_follow_up": other_channels.follow_up, "may_confirm_informed": may_confirm}


@bp.post("/cases/<code>/informed")
@login_required
def informed(code: str):
    """Record that staff told an off-Zalo citizen of the case's latest steps."""
    session = db()
    case = access.visible_case(session, g.staff, code)
    if case is None:
        abort(404)
    if not may_confirm(case):
        abort(403)
    if request.form.get("done") != "1":
        error = "Vui lòng đánh dấu “Đã thông báo” sau khi đã thông báo cho người dân."
        return render_case(case, 422, error=error)
    try:
        other_channels.record_informed(
            session,
            case,
            g.staff,
            str(request.form.get("channel", "")),
            str(request.form.get("note", "")),
            now(),
        )
    except other_channels.InformError as refusal:
        session.rollback()
        return render_case(case, 422, error=str(refusal))
    session.commit()
    log.info("citizen informed offline: staff_id=%s case=%s", g.staff.id, code)
    flash(INFORMED)
    return redirect(url_for("console_cases.case_page", code=code))
