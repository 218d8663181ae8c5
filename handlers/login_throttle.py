"""Console login throttling kept in the database (`LoginFailure`), so it holds across processes.

A username with `max_failures` failed logins within `window` is locked for `lockout` after the
last of them; a successful login clears its failures. While locked, attempts are refused before
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

USERNAME_LENGTH = 80  # LoginFailure.username


class DbLoginThrottle:
    """Refuse logins for a username after too many recent failures (shared by every process)."""

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
    def key(username: str) -> str:
        """Return the form under which failures of `username` are counted."""
        return username.strip().lower()[:USERNAME_LENGTH]

    def locked_until(self, username: str) -> datetime | None:
        """Return when `username` may try again, or None when it may try now."""
        recent = self.session.scalars(
            select(LoginFailure.at)
            .where(LoginFailure.username == self.key(username))
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

    def record_failure(self, username: str) -> None:
        """Count a failed login for `username` (and forget failures no rule can use any more)."""
        now = self.clock()
        self.session.execute(
            delete(LoginFailure).where(LoginFailure.at < now - self.window - self.lockout)
        )
        self.session.add(LoginFailure(username=self.key(username), at=now))
        self.session.flush()

    def reset(self, username: str) -> None:
        """Forget the failures of `username` (after a successful login)."""
        self.session.execute(
            delete(LoginFailure).where(LoginFailure.username == self.key(username))
        )
