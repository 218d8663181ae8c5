"""Case counts per unit and status, kept in step with every change made through the ORM.

An `after_flush` listener turns each inserted, deleted or re-statused/re-assigned case into
+1/−1 increments of `case_count` rows, in the same transaction (a rolled-back change rolls its
counts back too). Changes made with bulk SQL bypass it: call `recount()` after those (the
benchmark's seeding does).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, event, func, inspect, select
from sqlalchemy.orm import Session

from models import Case, CaseCount, CaseStatus
from models.db import insert_for

_installed = False


def install() -> None:
    """Start keeping the counts (idempotent)."""
    global _installed
    if not _installed:
        event.listen(Session, "after_flush", _after_flush)
        _installed = True


def _value(history, current):
    return history.deleted[0] if history.deleted else current


def _after_flush(session: Session, _context) -> None:
    deltas: Counter[tuple[int, str]] = Counter()
    for obj in session.new:
        if isinstance(obj, Case):
            deltas[(obj.unit_id, CaseStatus(obj.status).value)] += 1
    for obj in session.deleted:
        if isinstance(obj, Case):
            state = inspect(obj)
            unit = _value(state.attrs.unit_id.history, obj.unit_id)
            status = _value(state.attrs.status.history, obj.status)
            deltas[(unit, CaseStatus(status).value)] -= 1
    for obj in session.dirty:
        if not isinstance(obj, Case):
            continue
        state = inspect(obj)
        unit_history, status_history = state.attrs.unit_id.history, state.attrs.status.history
        if not (unit_history.has_changes() or status_history.has_changes()):
            continue
        before = (_value(unit_history, obj.unit_id), CaseStatus(_value(status_history, obj.status)))
        after = (obj.unit_id, CaseStatus(obj.status))
        if before != after:
            deltas[(before[0], before[1].value)] -= 1
            deltas[(after[0], after[1].value)] += 1
    changes = [(key, n) for key, n in deltas.items() if n]
    if not changes:
        return
    insert = insert_for(session)
    connection = session.connection()
    for (unit_id, status), n in changes:
        stmt = insert(CaseCount).values(unit_id=unit_id, status=status, n=n)
        connection.execute(
            stmt.on_conflict_do_update(
                index_elements=[CaseCount.unit_id, CaseCount.status],
                set_={"n": CaseCount.n + stmt.excluded.n},
            )
        )


def recount(session: Session) -> None:
    """Rebuild every count from the cases themselves."""
    session.execute(delete(CaseCount))
    rows = session.execute(
        select(Case.unit_id, Case.status, func.count()).group_by(Case.unit_id, Case.status)
    ).all()
    if rows:
        session.execute(
            insert_for(session)(CaseCount),
            [
                {"unit_id": unit, "status": CaseStatus(status).value, "n": n}
                for unit, status, n in rows
            ],
        )


def counts_by_status(session: Session, unit_ids: frozenset[int] | None) -> dict[CaseStatus, int]:
    """Cases per status in these units (None: every unit), from the kept counts."""
    stmt = select(CaseCount.status, func.sum(CaseCount.n)).group_by(CaseCount.status)
    if unit_ids is not None:
        stmt = stmt.where(CaseCount.unit_id.in_(sorted(unit_ids)))
    counts = dict.fromkeys(CaseStatus, 0)
    for status, n in session.execute(stmt):
        counts[CaseStatus(status)] = int(n or 0)
    return counts
