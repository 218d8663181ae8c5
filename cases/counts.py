"""Case counts kept in step with every change made through the ORM: per unit and status
(`case_count`), and per unit, local day of receipt and status (`case_count_day`).

An `after_flush` listener turns each inserted, deleted or re-statused/re-assigned case into
+1/−1 increments of both tables, in the same transaction (a rolled-back change rolls its
counts back too). A case's receipt time never changes, so its day is fixed; the day is the
agency's calendar day (Asia/Ho_Chi_Minh, `cases.clock.local_date`), so a case received at
23:30 local time counts on that day. Changes made with bulk SQL bypass the listener: call
`recount()` after those (the benchmark's seeding does).

`install()` also starts keeping the cases' "not yet delivered" flag (`cases.undelivered`),
the other value the queue reads instead of scanning.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import Date, cast, delete, event, func, inspect, select, type_coerce
from sqlalchemy.orm import Session

from cases import undelivered
from cases.clock import LOCAL_TZ, local_date
from models import Case, CaseCount, CaseStatus
from models.case import CaseCountByDay
from models.db import insert_for

_installed = False


def install() -> None:
    """Start keeping the counts and the undelivered flag (idempotent)."""
    global _installed
    if not _installed:
        event.listen(Session, "after_flush", _after_flush)
        undelivered.install()
        _installed = True


def _value(history, current):
    return history.deleted[0] if history.deleted else current


def _after_flush(session: Session, _context) -> None:
    # Keyed by (day of receipt, unit, status); `case_count` is the same summed over days.
    deltas: Counter[tuple[date, int, str]] = Counter()
    for obj in session.new:
        if isinstance(obj, Case):
            deltas[(local_date(obj.received_at), obj.unit_id, CaseStatus(obj.status).value)] += 1
    for obj in session.deleted:
        if isinstance(obj, Case):
            state = inspect(obj)
            unit = _value(state.attrs.unit_id.history, obj.unit_id)
            status = _value(state.attrs.status.history, obj.status)
            deltas[(local_date(obj.received_at), unit, CaseStatus(status).value)] -= 1
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
            day = local_date(obj.received_at)
            deltas[(day, before[0], before[1].value)] -= 1
            deltas[(day, after[0], after[1].value)] += 1
    by_unit: Counter[tuple[int, str]] = Counter()
    for (_day, unit_id, status), n in deltas.items():
        by_unit[(unit_id, status)] += n
    unit_changes = [(key, n) for key, n in by_unit.items() if n]
    day_changes = [(key, n) for key, n in deltas.items() if n]
    if not day_changes:
        return
    insert = insert_for(session)
    connection = session.connection()
    for (unit_id, status), n in unit_changes:
        stmt = insert(CaseCount).values(unit_id=unit_id, status=status, n=n)
        connection.execute(
            stmt.on_conflict_do_update(
                index_elements=[CaseCount.unit_id, CaseCount.status],
                set_={"n": CaseCount.n + stmt.excluded.n},
            )
        )
    for (day, unit_id, status), n in day_changes:
        stmt = insert(CaseCountByDay).values(day=day, unit_id=unit_id, status=status, n=n)
        connection.execute(
            stmt.on_conflict_do_update(
                index_elements=[CaseCountByDay.day, CaseCountByDay.unit_id, CaseCountByDay.status],
                set_={"n": CaseCountByDay.n + stmt.excluded.n},
            )
        )


def _local_day_of_receipt(session: Session):
    """The SQL expression of a case's local day of receipt (what `local_date` computes)."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone(LOCAL_TZ.key, Case.received_at), Date)
    # SQLite keeps UTC as naive text. Vietnam has been UTC+7 without daylight saving since
    # 1975, so adding 7 hours gives the local day of every case this system can hold.
    return type_coerce(func.date(Case.received_at, "+7 hours"), Date)


def recount(session: Session) -> None:
    """Rebuild every count (per unit, and per unit and day) from the cases themselves."""
    session.execute(delete(CaseCount))
    session.execute(delete(CaseCountByDay))
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
    day = _local_day_of_receipt(session).label("day")
    session.execute(
        insert_for(session)(CaseCountByDay).from_select(
            ["day", "unit_id", "status", "n"],
            select(day, Case.unit_id, Case.status, func.count()).group_by(
                day, Case.unit_id, Case.status
            ),
        )
    )


def counts_by_status(session: Session, unit_ids: frozenset[int] | None) -> dict[CaseStatus, int]:
    """Cases per status in these units (None: every unit), from the kept counts."""
    stmt = select(CaseCount.status, func.sum(CaseCount.n)).group_by(CaseCount.status)
    if unit_ids is not None:
        stmt = stmt.where(CaseCount.unit_id.in_(sorted(unit_ids)))
    return _per_status(session, stmt)


def counts_by_status_over_days(
    session: Session, unit_ids: frozenset[int] | None, first: date | None, last: date | None
) -> dict[CaseStatus, int]:
    """Cases per status in these units (None: every unit) received from `first` to `last`
    (local days, both included; None: no bound), from the kept daily counts."""
    stmt = select(CaseCountByDay.status, func.sum(CaseCountByDay.n)).group_by(CaseCountByDay.status)
    if first is not None:
        stmt = stmt.where(CaseCountByDay.day >= first)
    if last is not None:
        stmt = stmt.where(CaseCountByDay.day <= last)
    if unit_ids is not None:
        stmt = stmt.where(CaseCountByDay.unit_id.in_(sorted(unit_ids)))
    return _per_status(session, stmt)


def _per_status(session: Session, stmt) -> dict[CaseStatus, int]:
    counts = dict.fromkeys(CaseStatus, 0)
    for status, n in session.execute(stmt):
        counts[CaseStatus(status)] = int(n or 0)
    return counts
