"""Kept daily counts (`case_count_day`: unit, local day of receipt, status) agree with the cases
after every kind of change, count a case on its Vietnamese calendar day, and answer the queue's
counts over a period without scanning the cases."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, func, select

from cases import counts, workflow
from cases.clock import local_date
from cases.demo import seed_demo
from cases.queue import QueueFilters, filter_clauses, status_counts
from handlers.runtime import get_runtime
from models import Case, CaseKind, CaseStatus, Field, Staff, Unit, utcnow
from models.case import CaseCountByDay
from tests.factories import make_case

# 23:30 on 26/11 in Vietnam, and half an hour after midnight (27/11).
BEFORE_MIDNIGHT = datetime(2026, 11, 26, 16, 30, tzinfo=UTC)
AFTER_MIDNIGHT = datetime(2026, 11, 26, 17, 30, tzinfo=UTC)


def actual(session) -> dict:
    """The counts per (local day, unit, status), computed from the cases one by one."""
    found: Counter = Counter()
    for received_at, unit_id, status in session.execute(
        select(Case.received_at, Case.unit_id, Case.status)
    ):
        found[(local_date(received_at), unit_id, status.value)] += 1
    return dict(found)


def kept(session) -> dict:
    return {
        (row.day, row.unit_id, row.status): row.n
        for row in session.scalars(select(CaseCountByDay))
        if row.n
    }


@pytest.fixture
def ws(app):
    with get_runtime(app).sessions() as session:
        seed_demo(session)
        session.commit()
        yield session


def staff_named(session, username: str) -> Staff:
    return session.scalars(select(Staff).where(Staff.username == username)).one()


def unit_id(session, code: str) -> int:
    return session.scalars(select(Unit.id).where(Unit.code == code)).one()


def test_a_case_counts_on_its_vietnamese_day(ws):
    late = make_case(ws, seed=False, received_at=BEFORE_MIDNIGHT)
    early = make_case(ws, seed=False, received_at=AFTER_MIDNIGHT)

    assert kept(ws) == {
        (date(2026, 11, 26), late.unit_id, "received"): 1,
        (date(2026, 11, 27), early.unit_id, "received"): 1,
    }


def test_counts_follow_inserts_transfers_statuses_rollbacks_and_deletes(ws):
    coordinator = staff_named(ws, "dieuphoi")
    sxd = unit_id(ws, "SXD")
    cases = [
        make_case(ws, seed=False, received_at=at)
        for at in (BEFORE_MIDNIGHT, AFTER_MIDNIGHT, AFTER_MIDNIGHT, BEFORE_MIDNIGHT)
    ]
    # Received without a time given: the default moment of the insert is its day.
    field = ws.scalars(select(Field).where(Field.code == "GIAO-THONG")).one()
    ws.add(
        Case(
            code="PAKN.20261127.9001",
            kind=CaseKind.FEEDBACK,
            field_id=field.id,
            unit_id=field.default_unit_id,
            title="Đèn tín hiệu hỏng",
            content="Đèn tín hiệu ở ngã tư hỏng.",
            answer_due_on=date(2026, 12, 17),
        )
    )
    ws.commit()
    assert kept(ws) == actual(ws)

    workflow.perform(ws, cases[0], coordinator, "transfer", {"unit_id": sxd}, utcnow())
    workflow.perform(ws, cases[1], coordinator, "reject", {"reason": "unclear"}, utcnow())
    ws.commit()
    assert kept(ws) == actual(ws)

    cases[2].unit_id = unit_id(ws, "STNMT")  # reassigned and re-statused in one flush
    cases[2].status = CaseStatus.PROCESSING
    ws.commit()
    assert kept(ws) == actual(ws)

    workflow.perform(ws, cases[3], coordinator, "handle_own", {}, utcnow())
    ws.rollback()  # a whole request rolled back: its counts too
    assert kept(ws) == actual(ws)

    doomed = ws.get(Case, cases[1].id)
    for entry in list(doomed.events):
        ws.delete(entry)
    ws.delete(doomed)
    ws.commit()
    assert kept(ws) == actual(ws)
    assert len(actual(ws)) >= 4  # several days, units and statuses were exercised


def test_recount_rebuilds_the_daily_counts_from_the_cases(ws):
    for at in (BEFORE_MIDNIGHT, AFTER_MIDNIGHT, AFTER_MIDNIGHT):
        make_case(ws, seed=False, received_at=at)
    ws.execute(CaseCountByDay.__table__.delete())
    ws.commit()
    assert kept(ws) == {}

    counts.recount(ws)
    ws.commit()

    assert kept(ws) == actual(ws)
    assert set(day for day, _unit, _status in kept(ws)) == {date(2026, 11, 26), date(2026, 11, 27)}


def scanned(session, staff: Staff, filters: QueueFilters) -> dict[CaseStatus, int]:
    """The counts per status by scanning the cases with the queue's own filters."""
    clauses = filter_clauses(session, staff, filters.without_status(), date(2026, 11, 27))
    rows = session.execute(select(Case.status, func.count()).where(*clauses).group_by(Case.status))
    found = dict.fromkeys(CaseStatus, 0)
    found.update({CaseStatus(status): n for status, n in rows})
    return found


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (date(2026, 11, 26), date(2026, 11, 26)),
        (date(2026, 11, 27), None),
        (None, date(2026, 11, 26)),
        (date(2026, 11, 20), date(2026, 11, 30)),
        (date(2026, 11, 28), date(2026, 11, 20)),  # an empty period
    ],
)
def test_period_counts_come_from_the_daily_counts_and_equal_a_scan(ws, app, first, last):
    for at, field in (
        (BEFORE_MIDNIGHT, "XAY-DUNG"),
        (AFTER_MIDNIGHT, "XAY-DUNG"),
        (AFTER_MIDNIGHT, "GIAO-THONG"),
        (datetime(2026, 11, 10, 3, 0, tzinfo=UTC), "XAY-DUNG"),
    ):
        make_case(ws, seed=False, field=field, received_at=at)
    coordinator, handler = staff_named(ws, "dieuphoi"), staff_named(ws, "canbo.sxd")
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = get_runtime(app).engine
    for staff, unit in ((coordinator, None), (coordinator, unit_id(ws, "SGTVT")), (handler, None)):
        filters = QueueFilters(received_from=first, received_to=last, unit_id=unit, status="open")
        statements.clear()
        event.listen(engine, "before_cursor_execute", record)
        try:
            result = status_counts(ws, staff, filters, date(2026, 11, 27))
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert result == scanned(ws, staff, filters)
        grouped = [s for s in statements if "GROUP BY" in s]
        assert len(grouped) == 1 and "case_count_day" in grouped[0]
        assert "pakn_case" not in grouped[0]
