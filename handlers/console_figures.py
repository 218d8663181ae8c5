"""Console pages for every signed-in staff member's own account and the coordinators' figures.

`/admin/figures` (coordinators only) shows, per unit, the open, late, answered-on-time and
answered-late cases from `cases.monitoring.unit_figures`, the most late first, with a totals row
and links to each unit's overdue queue. `/admin/me` tells staff whether their Zalo account is
linked and issues a one-time link code (`bot.staff_link.issue_link_code`) to send to the OA.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import g, render_template

from bot.staff_link import VALID_FOR, issue_link_code
from cases.monitoring import UnitFigures, unit_figures
from cases.queue import DUE_OVERDUE
from cases.urging import last_urged
from handlers.console import console_blueprint, login_required, now, today
from handlers.console_intake import coordinator_required
from handlers.runtime import db

log = logging.getLogger(__name__)

bp = console_blueprint("console_figures", __name__)


@dataclass(frozen=True)
class Totals:
    """The sums of the per-unit figures."""

    open: int
    late: int
    answered_on_time: int
    answered_late: int


def on_time_percent(on_time: int, late: int) -> str:
    """The share of answers given on time, as a whole percentage ("—" when none)."""
    answered = on_time + late
    return f"{round(100 * on_time / answered)}%" if answered else "—"


def sorted_figures(rows: list[UnitFigures]) -> list[UnitFigures]:
    """The most late first, then the most open; ties keep the units' display order."""
    return sorted(rows, key=lambda row: (-row.late, -row.open))


@bp.get("/figures")
@coordinator_required
def figures():
    """Show the per-unit table: open, late, answered on time and late, share on time."""
    rows = sorted_figures(unit_figures(db(), today()))
    totals = Totals(
        sum(row.open for row in rows),
        sum(row.late for row in rows),
        sum(row.answered_on_time for row in rows),
        sum(row.answered_late for row in rows),
    )
    return render_template(
        "console/figures.html",
        rows=rows,
        totals=totals,
        percent=on_time_percent,
        overdue=DUE_OVERDUE,
        today=today(),
        last_urged=last_urged(db()),
    )


def _me_page(code: str | None = None):
    return render_template(
        "console/me.html",
        linked=g.staff.zalo_citizen_id is not None,
        code=code,
        minutes=int(VALID_FOR.total_seconds() // 60),
    )


@bp.get("/me")
@login_required
def me():
    """Show whether the staff member's Zalo account is linked."""
    return _me_page()


@bp.post("/me/link-code")
@login_required
def link_code():
    """Issue a one-time code linking the staff member's Zalo account, and show it."""
    code = issue_link_code(db(), g.staff, now())
    db().commit()
    log.info("staff link code issued: staff_id=%s", g.staff.id)
    return _me_page(code)
