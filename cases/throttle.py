"""Throttling of guessable secrets kept in the database (`LoginFailure`), across processes.

Used for console logins (keyed by username) and for staff Zalo link codes (keyed by the sender).
A key with `max_failures` failures within `window` is locked for `lockout` after the last of
them; a success clears its failures. While locked, attempts are refused before
the password is checked and are not recorded, so a lock never extends itself. Rows older than
any rule can still use are pruned whenever a failure is recorded, which bounds the table under a
spray of random usernames. Flask-free: the caller passes its session and clock, and commits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from models import LoginFailure, utcnow

KEY_LENGTH = 80  # LoginFailure.username


class FailureThrottle:
    """Refuse attempts for a key after too many recent failures (shared by every process)."""

    def __init__(
        self,
        session: Session,
        clock: Callable[[], datetime] = utcnow,
        max_failures: int = 5,
        window: timedelta = timedelta(minutes=15),
        lockout: timedelta = timedelta(minutes=15),
    ) -> None:
        self.session = session
        self.clock = clock
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout

    @staticmethod
    def key(subject: str) -> str:
        """Return the form under which failures of `subject` are counted."""
        return subject.strip().lower()[:KEY_LENGTH]

    def locked_until(self, subject: str) -> datetime | None:
        """Return when `subject` may try again, or None when it may try now."""
        recent = self.session.scalars(
            select(LoginFailure.at)
            .where(LoginFailure.username == self.key(subject))
            .order_by(LoginFailure.at.desc())
            .limit(self.max_failures)
        ).all()
        if len(recent) < self.max_failures:
            return None
        newest, oldest = recent[0], recent[-1]
        if newest - oldest >= self.window:
            return None
        until = newest + self.lockout
        return until if until > self.clock() else None

    def record_failure(self, subject: str) -> None:
        """Count a failure of `subject` (and forget failures no rule can use any more)."""
        now = self.clock()
        self.session.execute(
            delete(LoginFailure).where(LoginFailure.at < now - self.window - self.lockout)
        )
        self.session.add(LoginFailure(username=self.key(subject), at=now))
        self.session.flush()

    def reset(self, subject: str) -> None:
        """Forget the failures of `subject` (after a success)."""
        self.session.execute(delete(LoginFailure).where(LoginFailure.username == self.key(subject)))
