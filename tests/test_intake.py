"""Case codes: PAKN.YYYYMMDD.NNNN, one sequence per day of receipt, unique under concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

from cases.intake import answer_due_on, next_case_code
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


def test_answer_date_counts_from_the_local_day_of_receipt():
    # 23:30 UTC on 26/11 is already 27/11 in Hà Nội.
    assert answer_due_on(datetime(2026, 11, 26, 23, 30, tzinfo=UTC), 20) == date(2026, 12, 17)
