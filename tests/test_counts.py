"""Kept case counts per unit and status agree with the cases after every kind of change."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cases import counts, workflow
from cases.demo import seed_demo
from cases.queue import QueueFilters, status_counts
from cases.workflow import InvalidInputError
from handlers.runtime import get_runtime
from models import Case, CaseCount, Staff, Unit, utcnow
from tests.factories import make_case


def actual(session) -> dict:
    rows = session.execute(
        select(Case.unit_id, Case.status, func.count()).group_by(Case.unit_id, Case.status)
    )
    return {(unit, status.value): n for unit, status, n in rows}


def kept(session) -> dict:
    return {(row.unit_id, row.status): row.n for row in session.scalars(select(CaseCount)) if row.n}


@pytest.fixture
def ws(app):
    with get_runtime(app).sessions() as session:
        seed_demo(session)
        session.commit()
        yield session


def test_counts_follow_intake_transitions_rollbacks_and_deletes(ws):
    staff = {s.username: s for s in ws.scalars(select(Staff))}
    sxd = ws.scalars(select(Unit).where(Unit.code == "SXD")).one()
    cases = [make_case(ws, seed=False) for _ in range(4)]
    assert kept(ws) == actual(ws)

    workflow.perform(ws, cases[0], staff["dieuphoi"], "transfer", {"unit_id": sxd.id}, utcnow())
    workflow.perform(ws, cases[1], staff["dieuphoi"], "reject", {"reason": "unclear"}, utcnow())
    ws.commit()
    assert kept(ws) == actual(ws)

    with pytest.raises(InvalidInputError):  # refused: nothing counted
        workflow.perform(ws, cases[2], staff["dieuphoi"], "transfer", {"unit_id": 0}, utcnow())
    workflow.perform(ws, cases[2], staff["dieuphoi"], "handle_own", {}, utcnow())
    ws.rollback()  # a whole request rolled back: its counts too
    assert kept(ws) == actual(ws)

    doomed = ws.get(Case, cases[3].id)
    for event in list(doomed.events):
        ws.delete(event)
    ws.delete(doomed)
    ws.commit()
    assert kept(ws) == actual(ws)


def test_recount_rebuilds_from_the_cases(ws):
    for _ in range(3):
        make_case(ws, seed=False)
    ws.execute(CaseCount.__table__.delete())
    ws.commit()
    assert kept(ws) == {}
    counts.recount(ws)
    ws.commit()
    assert kept(ws) == actual(ws)


def test_the_queue_counts_the_same_with_and_without_the_kept_counts(ws):
    coordinator = ws.scalars(select(Staff).where(Staff.username == "dieuphoi")).one()
    handler = ws.scalars(select(Staff).where(Staff.username == "canbo.sxd")).one()
    for field in ("XAY-DUNG", "XAY-DUNG", "GIAO-THONG"):
        make_case(ws, seed=False, field=field)
    today = utcnow().date()
    for staff in (coordinator, handler):
        fast = status_counts(ws, staff, QueueFilters(), today)
        scanned = status_counts(ws, staff, QueueFilters(q="Đèn"), today)  # same cases, scanned
        assert fast == scanned
    assert sum(status_counts(ws, handler, QueueFilters(), today).values()) == 2
