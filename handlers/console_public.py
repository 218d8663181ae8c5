"""The coordinators' page for the public version of a case: `/admin/cases/<code>/public`.

It shows, part by part (title, question, answer), the original beside the text that will be
published, prefilled with what is published now (the automatic masking of `cases.redaction`,
or the staff version), and a preview drawn with the public page's own macro from the same
`public_view`, so it is exactly what `/cong-khai` shows. Saving stores the staff version through
`cases.public_version` (the originals are untouched) and records it on the timeline; "Khôi phục
bản tự động" clears it. A staff version still holding what the masker would hide is published as
written, with a warning listing it. For an answered case the page also offers the publish action.

Coordinators only: a case the user may not see is a 404 (as an unknown code), a case they see
without the coordinator role a 403. Invalid input is shown again with the errors (422).
"""

from __future__ import annotations

import logging

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from cases import public_version, workflow
from cases.access import visible_cases_filter
from cases.redaction import public_view
from handlers.admin import FormResult
from handlers.console import console_blueprint, login_required, now
from handlers.public import _day as public_day
from handlers.runtime import db, workflow_settings
from models import Case, CaseStatus, Staff

log = logging.getLogger(__name__)

bp = console_blueprint("console_public", __name__)

COORDINATOR = "coordinator"
SAVED = "Đã lưu nội dung công khai ({fields})."
UNCHANGED = "Nội dung công khai không thay đổi."
RESTORED = "Đã khôi phục nội dung công khai tự động (thông tin cá nhân được che tự động)."
ALREADY_AUTOMATIC = "Nội dung công khai đang là bản che tự động."


def _load_case(code: str) -> Case:
    """The case if the user may see it (else 404) and is a coordinator (else 403)."""
    staff: Staff = g.staff
    case = (
        db()
        .scalars(
            select(Case)
            .where(Case.code == code, visible_cases_filter(staff, db()))
            .options(joinedload(Case.field), joinedload(Case.unit), joinedload(Case.citizen))
        )
        .first()
    )
    if case is None:
        abort(404)
    if COORDINATOR not in staff.role_set:
        log.warning("public version page refused: staff_id=%s case=%s", staff.id, code)
        abort(403)
    return case


def _preview(case: Case) -> dict:
    view = public_view(case)
    # Not yet published: the date it will carry is the day the coordinator publishes it.
    view["published_at"] = view["published_at"] or now()
    return view


def _page(case: Case, form: FormResult | None = None, status: int = 200, error: str | None = None):
    staff: Staff = g.staff
    editable = public_version.is_editable(case)
    may_publish = any(
        action.name == "publish"
        for action in workflow.allowed_actions(db(), staff, case, workflow_settings())
    )
    page = render_template(
        "console/public_edit.html",
        case=case,
        fields=public_version.FIELDS,
        form=form or FormResult(values=public_version.current(case)),
        editable=editable,
        edited=public_version.is_edited(case),
        findings=public_version.findings(case),
        answer_changed=public_version.answer_changed_since_edit(db(), case),
        preview=_preview(case),
        published=case.status == CaseStatus.PUBLISHED,
        may_publish=may_publish,
        error=error,
        not_editable=public_version.NOT_EDITABLE,
        # The public pages' own date format, so that the preview is exactly theirs.
        day=public_day,
    )
    return page, status


@bp.get("/cases/<code>/public")
@login_required
def edit(code: str):
    """Show the original, the editable public version and the preview of the public page."""
    return _page(_load_case(code))


@bp.post("/cases/<code>/public")
@login_required
def save(code: str):
    """Store the staff version of the public text; show the form again (422) if it is invalid."""
    case = _load_case(code)
    if not public_version.is_editable(case):
        return _page(case, status=409, error=public_version.NOT_EDITABLE)
    values, errors = public_version.validate(request.form)
    if errors:
        return _page(case, FormResult(values, errors), 422)
    changed = public_version.save(db(), case, g.staff, values, now())
    db().commit()
    log.info("public version saved: staff_id=%s case=%s changed=%s", g.staff.id, code, changed)
    flash(SAVED.format(fields=", ".join(changed)) if changed else UNCHANGED)
    return redirect(url_for("console_public.edit", code=code))


@bp.post("/cases/<code>/public/reset")
@login_required
def reset(code: str):
    """Publish the automatic masking again (the staff version is cleared)."""
    case = _load_case(code)
    try:
        restored = public_version.reset(db(), case, g.staff, now())
    except public_version.NotEditableError as refusal:
        return _page(case, status=refusal.status, error=refusal.message)
    db().commit()
    log.info("public version reset: staff_id=%s case=%s done=%s", g.staff.id, code, restored)
    flash(RESTORED if restored else ALREADY_AUTOMATIC)
    return redirect(url_for("console_public.edit", code=code))
