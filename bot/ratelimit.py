"""A token bucket in the database, shared by every process that calls Zalo.

Zalo allows about 4,000 requests a minute per app (configurable). The bucket refills at
`per_minute × safety / 60` tokens a second and holds at most `per_minute × (1 − safety)`
tokens, so no sliding minute can see more than capacity + 60 s × rate = the limit. The rate is re-read from Zalo's `X-RateLimit-Limit` header
when a response carries it, a `X-RateLimit-Remain: 0` or a -32 answer pauses everyone briefly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import RateBucket, utcnow
from models.db import insert_for

BUCKET = "zalo"
PAUSE_ON_LIMIT = timedelta(seconds=10)


class RateLimiter:
    """Blocks callers until the shared bucket grants a request."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        per_minute: int,
        safety: float = 0.98,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.sessions = sessions
        self.per_minute = per_minute
        self.safety = safety
        self.clock = clock
        self.sleep = sleep

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def acquire(self) -> None:
        """Wait until one request may be made."""
        if not self.enabled:
            return
        while (wait := self.try_take()) > 0:
            self.sleep(min(wait, 1.0))

    def try_take(self) -> float:
        """Take one token if there is one; else return how many seconds to wait."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            row = self._row(session, now)
            if row.blocked_until is not None and row.blocked_until > now:
                return (row.blocked_until - now).total_seconds()
            rate = row.per_minute * self.safety / 60
            capacity = max(1.0, row.per_minute * (1 - self.safety))
            elapsed = max((now - row.updated_at).total_seconds(), 0.0)
            tokens = min(capacity, row.tokens + elapsed * rate)
            row.updated_at = now
            if tokens >= 1:
                row.tokens = tokens - 1
                return 0.0
            row.tokens = tokens
            return (1 - tokens) / rate

    def observe(self, limit: int | None, remaining: int | None) -> None:
        """Adopt the limit Zalo reports, and pause when it says nothing remains."""
        if not self.enabled or (limit is None and remaining != 0):
            return
        now = self.clock()
        with self.sessions() as session, session.begin():
            row = self._row(session, now)
            if limit is not None and limit > 0:
                row.per_minute = limit
            if remaining == 0:
                row.tokens = 0
                row.blocked_until = now + PAUSE_ON_LIMIT

    def penalize(self) -> None:
        """Zalo answered -32: everyone pauses briefly."""
        self.observe(None, 0)

    def _row(self, session: Session, now: datetime) -> RateBucket:
        locked = select(RateBucket).where(RateBucket.name == BUCKET).with_for_update()
        row = session.scalars(locked).first()
        if row is None:
            # Several dispatchers may use the bucket for the first time at once: create it unless
            # another process just did (no duplicate-key crash), then lock whichever row won.
            insert = insert_for(session)
            session.execute(
                insert(RateBucket)
                .values(name=BUCKET, tokens=1.0, per_minute=self.per_minute, updated_at=now)
                .on_conflict_do_nothing(index_elements=[RateBucket.name])
            )
            row = session.scalars(locked).one()
        return row
