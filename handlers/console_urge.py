"""Urging a late unit from the coordinators' figures: `/admin/figures/units/<id>/urge`.

GET shows the unit's overdue cases, who will be told, when the unit was last urged, and the
message, prefilled with a default naming how many cases are overdue; POST sends it through
`cases.urging` (console notices, Zalo messages to linked staff, a timeline entry on each overdue
case), commits once, sends the Zalo messages at once, and returns to the figures. A refused urge
(empty message 422; nothing overdue, or urged less than 10 minutes ago 409) shows the form again
with the reason and the message as typed. Coordinators only; an unknown unit is a 404.
"""

from __future__ import annotations

import logging

from flask import abort, flash, g, redirect, render_template, request, url_for

from cases import urging
from handlers.console import console_blueprint, now, today
from handlers.console_intake import coordinator_required
from handlers.runtime import db, dispatch_after_commit
from models import Unit

log = logging.getLogger(__name__)

bp = console_blueprint("console_urge", __name__)

DONE = "Đã đôn đốc {unit}: {cases} PAKN quá hạn, thông báo tới {staff} cán bộ{zalo}."
BY_ZALO = " ({count} người nhận qua Zalo)"


def _unit(unit_id: int) -> Unit:
    unit = db().get(Unit, unit_id)
    if unit is None:
        abort(404)
    return unit


def _page(unit: Unit, message: str | None = None, status: int = 200, error: str | None = None):
    session = db()
    cases = urging.overdue_cases(session, unit.id, today())
    staff = urging.unit_staff(session, unit.id)
    return render_template(
        "console/urge.html",
        unit=unit,
        cases=cases,
        today=today(),
        staff=staff,
        linked=[member for member in staff if member.zalo_citizen_id is not None],
        last_urged=urging.last_urged(session).get(unit.id),
        message=urging.default_message(unit, len(cases)) if message is None else message,
        maximum=urging.MESSAGE_MAX,
        error=error,
    ), status


@bp.get("/figures/units/<int:unit_id>/urge")
@coordinator_required
def urge_form(unit_id: int):
    """Show the urge form for one unit."""
    return _page(_unit(unit_id))


@bp.post("/figures/units/<int:unit_id>/urge")
@coordinator_required
def urge(unit_id: int):
    """Urge the unit; back to the figures, or the form again with the reason it was refused."""
    unit = _unit(unit_id)
    message = request.form.get("message", "")
    session = db()
    try:
        urged = urging.urge_unit(session, unit, g.staff, message, now())
    except urging.UrgeError as refusal:
        session.rollback()
        log.info("urge refused: staff_id=%s unit=%s status=%s", g.staff.id, unit_id, refusal.status)
        return _page(_unit(unit_id), message, refusal.status, refusal.message)
    session.commit()
    log.info(
        "unit urged: staff_id=%s unit=%s cases=%s staff=%s",
        g.staff.id,
        unit_id,
        len(urged.cases),
        len(urged.notified),
    )
    dispatch_after_commit(urged.zalo_citizen_ids)
    zalo = BY_ZALO.format(count=len(urged.zalo_citizen_ids)) if urged.zalo_citizen_ids else ""
    flash(DONE.format(unit=unit.name, cases=len(urged.cases), staff=len(urged.notified), zalo=zalo))
    return redirect(url_for("console_figures.figures"))
