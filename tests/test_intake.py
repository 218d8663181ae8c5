"""Case codes: PAKN.YYYYMMDD.NNNN, one sequence per day of receipt, unique under concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

from sqlalchemy import select

from cases.intake import next_case_code
from handlers.runtime import get_runtime


def test_codes_count_per_day_and_never_repeat(app):
    sessions = get_runtime(app).sessions
    with sessions() as session, session.begin():
        first = next_case_code(session, date(2026, 11, 27))
        second = next_case_code(session, date(2026, 11, 27))
        other_day = next_case_code(session, date(2026, 11, 28))
    assert (first, second, other_day) == (
        "PAKN.20261127.0001",
        "PAKN.20261127.0002",
        "PAKN.20261128.0001",
    )
    with sessions() as session:
        session.begin()
        next_case_code(session, date(2026, 11, 27))
        session.rollback()  # a rolled-back reservation leaves the sequence where it was
    with sessions() as session, session.begin():
        assert next_case_code(session, date(2026, 11, 27)) == "PAKN.20261127.0003"


def test_concurrent_reservations_get_distinct_codes(app):
    sessions = get_runtime(app).sessions
    count = 16
    barrier = threading.Barrier(count)

    def reserve(_: int) -> str:
        barrier.wait(timeout=10)
        with sessions() as session, session.begin():
            return next_case_code(session, date(2026, 11, 27))

    with ThreadPoolExecutor(max_workers=count) as pool:
        codes = list(pool.map(reserve, range(count)))
    assert sorted(codes) == [f"PAKN.20261127.{n:04d}" for n in range(1, count + 1)]


def test_a_new_case_carries_its_fields_policy_and_due_dates(app, session):
    from cases.demo import seed_reference_data
    from cases.intake import Submission, submit_case
    from models import CaseKind, DeadlinePolicy, Field

    seed_reference_data(session)
    land = session.scalars(select(Field).where(Field.code == "DAT-DAI")).one()
    session.add(DeadlinePolicy(field_id=None, answer_days=20))
    session.add(DeadlinePolicy(field_id=land.id, answer_days=30, answer_in_working_days=True))
    session.commit()
    received = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # already Friday 27/11 in Hà Nội

    def submit(field):
        with get_runtime(app).sessions() as s, s.begin():
            case = submit_case(
                s,
                Submission(
                    kind=CaseKind.FEEDBACK,
                    field_id=field.id,
                    unit_id=field.default_unit_id,
                    title="Tiêu đề thử nghiệm",
                    content="Nội dung thử nghiệm đủ dài",
                    contact_name="Nguyễn Văn An",
                    contact_phone="0912345678",
                    contact_address="Hà Nội",
                ),
                None,
                received,
                20,
            )
            return case.classify_due_on, case.answer_due_on, case.deadline_policy

    other = session.scalars(select(Field).where(Field.code == "GIAO-THONG")).one()
    assert submit(other)[:2] == (date(2026, 12, 4), date(2026, 12, 17))
    classify, answer, policy = submit(land)
    # 30 working days from Fri 27/11/2026: 1/1/2027 is a holiday.
    assert answer == date(2027, 1, 11) and policy["answer_in_working_days"] is True
