"""The shared rate limiter with an injected clock: never more than the limit in any minute."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.ratelimit import RateLimiter
from handlers.runtime import get_runtime
from models import utcnow
from tests.conftest import PG_URL


class FakeClock:
    def __init__(self) -> None:
        self.now = utcnow()
        self.slept = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.now += timedelta(seconds=seconds)


def limiter(app, clock: FakeClock, per_minute: int = 600) -> RateLimiter:
    return RateLimiter(
        get_runtime(app).sessions, per_minute, safety=1.0, clock=clock, sleep=clock.sleep
    )


def test_a_minute_grants_at_most_the_limit(app):
    clock = FakeClock()
    bucket = limiter(app, clock, per_minute=600)
    granted = 0
    start = clock.now
    while clock.now - start < timedelta(minutes=1):
        bucket.acquire()
        granted += 1
    assert 595 <= granted <= 611  # one second of burst at most on top of the rate
    assert clock.slept > 50


def test_zalos_limit_header_is_adopted_and_remain_zero_pauses(app):
    clock = FakeClock()
    bucket = limiter(app, clock)
    bucket.observe(limit=60, remaining=None)
    assert bucket.try_take() == 0
    wait = bucket.try_take()
    assert 0.9 <= wait <= 1.0  # 60 a minute: one a second
    bucket.observe(limit=None, remaining=0)
    assert bucket.try_take() >= 9


def test_rate_limited_answer_pauses_every_process(app):
    clock = FakeClock()
    first, second = limiter(app, clock), limiter(app, clock)
    first.penalize()
    assert second.try_take() > 0


def test_zero_disables_the_limiter(app):
    clock = FakeClock()
    bucket = limiter(app, clock, per_minute=0)
    for _ in range(1000):
        bucket.acquire()
    assert clock.slept == 0


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: SQLite's BEGIN IMMEDIATE serialises this")
def test_first_use_by_two_processes_at_once_does_not_collide(app):
    """Another dispatcher creates the bucket between our look-up and our insert: no crash."""
    from sqlalchemy import event, func, select

    from models import RateBucket

    runtime = get_runtime(app)
    clock = FakeClock()
    bucket = limiter(app, clock)
    other = limiter(app, clock)
    raced = []

    def after(conn, _cursor, statement, *_args):
        # Right after our first look-up found nothing, the other process takes its first token.
        if (
            not raced
            and statement.lstrip().upper().startswith("SELECT")
            and "rate_bucket" in statement
        ):
            raced.append(True)
            with runtime.engine.connect() as side:
                assert side.scalar(select(func.count()).select_from(RateBucket)) == 0
            other.try_take()

    event.listen(runtime.engine, "after_cursor_execute", after)
    try:
        # The other process took the new bucket's one token: ours waits for the next (600/min).
        assert bucket.try_take() == pytest.approx(0.1)
    finally:
        event.remove(runtime.engine, "after_cursor_execute", after)
    assert raced
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RateBucket)) == 1
