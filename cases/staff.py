"""Staff accounts: creation with validation, password authentication and login throttling.

Flask-free: the CLI and the console call these with their own session; nothing here commits
(`create_staff` only flushes, so the caller's one commit decides).

`LoginThrottle` keeps its counters in process memory for now (there is no table for them): with
several web processes each counts on its own, so the effective limit is multiplied by their number
and a restart forgets it. Moving it to the database is a planned model change.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from models import Staff, Unit, utcnow

# werkzeug's default (scrypt) is deliberately slow; tests swap in a cheap method.
HASH_METHOD = "scrypt"

USERNAME_PATTERN = re.compile(r"[a-z0-9._-]{3,80}")
MIN_PASSWORD_LENGTH = 10
# Bounds the hashing work one login request can ask for.
MAX_PASSWORD_LENGTH = 256


class StaffError(Exception):
    """A staff account cannot be created as asked; the message says why."""


def create_staff(
    session: Session,
    username: str,
    full_name: str,
    unit_code: str,
    roles: Iterable[str],
    password: str,
) -> Staff:
    """Create a staff account in `unit_code` with `roles`, after validating every argument."""
    username = username.strip()
    full_name = full_name.strip()
    if not USERNAME_PATTERN.fullmatch(username):
        raise StaffError(
            f"Invalid username {username!r}: use 3 to 80 characters among a-z, 0-9, '.', '_' and '-'."
        )
    if not full_name:
        raise StaffError("The full name must not be empty.")
    role_list = normalise_roles(roles)
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise StaffError(
            f"The password must have at least {MIN_PASSWORD_LENGTH} "
            f"and at most {MAX_PASSWORD_LENGTH} characters."
        )
    unit = session.scalars(select(Unit).where(Unit.code == unit_code.strip())).first()
    if unit is None:
        raise StaffError(f"Unknown unit code {unit_code!r}.")
    if session.scalars(select(Staff.id).where(Staff.username == username)).first() is not None:
        raise StaffError(f"A staff account named {username!r} already exists.")
    staff = Staff(
        username=username,
        full_name=full_name,
        unit_id=unit.id,
        roles=",".join(role_list),
        password_hash=generate_password_hash(password, method=HASH_METHOD),
    )
    session.add(staff)
    session.flush()
    return staff


def normalise_roles(roles: Iterable[str]) -> list[str]:
    """Return `roles` stripped, de-duplicated and in Staff.ROLES order; raise StaffError if invalid."""
    wanted = {role.strip() for role in roles if role.strip()}
    if not wanted:
        raise StaffError(f"Give at least one role among {', '.join(Staff.ROLES)}.")
    unknown = sorted(wanted - set(Staff.ROLES))
    if unknown:
        raise StaffError(
            f"Unknown role(s) {', '.join(unknown)}: choose among {', '.join(Staff.ROLES)}."
        )
    return [role for role in Staff.ROLES if role in wanted]


def authenticate(session: Session, username: str, password: str) -> Staff | None:
    """Return the active staff account matching `username` and `password`, or None."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return None
    staff = session.scalars(select(Staff).where(Staff.username == username.strip())).first()
    if staff is None or not staff.active:
        # Hash anyway, so the answer takes as long for unknown names as for wrong passwords
        # and response times do not reveal which usernames exist.
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(staff.password_hash, password):
        return None
    return staff


@cache
def _dummy_hash() -> str:
    # Built on first use rather than at import: hashing is deliberately slow.
    return generate_password_hash("not-a-real-password", method=HASH_METHOD)


@dataclass
class _Attempts:
    failures: list[datetime] = field(default_factory=list)
    locked_until: datetime | None = None


class LoginThrottle:
    """Refuse logins for a username after too many recent failures (in-process memory)."""

    def __init__(
        self,
        max_failures: int = 5,
        window: timedelta = timedelta(minutes=15),
        lockout: timedelta = timedelta(minutes=15),
        clock: Callable[[], datetime] = utcnow,
        max_tracked: int = 10_000,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self.clock = clock
        self.max_tracked = max_tracked
        self._attempts: dict[str, _Attempts] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(username: str) -> str:
        return username.strip().lower()

    def locked_until(self, username: str) -> datetime | None:
        """Return when `username` may try again, or None when it may try now."""
        now = self.clock()
        with self._lock:
            attempts = self._attempts.get(self._key(username))
            if attempts is None or attempts.locked_until is None:
                return None
            if attempts.locked_until <= now:
                del self._attempts[self._key(username)]
                return None
            return attempts.locked_until

    def record_failure(self, username: str) -> None:
        """Count a failed login for `username`, locking it once the limit is reached."""
        now = self.clock()
        key = self._key(username)
        with self._lock:
            if key not in self._attempts and len(self._attempts) >= self.max_tracked:
                self._forget_stale(now)
            attempts = self._attempts.setdefault(key, _Attempts())
            attempts.failures = [at for at in attempts.failures if now - at < self.window]
            attempts.failures.append(now)
            if len(attempts.failures) >= self.max_failures:
                attempts.locked_until = now + self.lockout
                attempts.failures.clear()

    def reset(self, username: str) -> None:
        """Forget the failures of `username` (after a successful login)."""
        with self._lock:
            self._attempts.pop(self._key(username), None)

    def _forget_stale(self, now: datetime) -> None:
        # Bound memory under a spray of random usernames: drop entries that no longer matter,
        # and if that is not enough, the oldest ones.
        for key, attempts in list(self._attempts.items()):
            locked = attempts.locked_until is not None and attempts.locked_until > now
            recent = any(now - at < self.window for at in attempts.failures)
            if not locked and not recent:
                del self._attempts[key]
        while len(self._attempts) >= self.max_tracked:
            del self._attempts[next(iter(self._attempts))]
