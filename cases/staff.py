"""Staff accounts: creation with validation and password authentication.

Flask-free: the CLI and the console call these with their own session; nothing here commits
(`create_staff` only flushes, so the caller's one commit decides). Login throttling lives in
the database (`cases/throttle.py`), shared by every web process.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from models import Staff, Unit

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


def credential_stamp(staff: Staff) -> str:
    """A short digest of the account's password hash, kept in the session cookie at login.

    A session whose stamp no longer matches (the password was reset or changed) is refused, so
    a reset ends every session of the account at once without a server-side session store.
    """
    return hashlib.sha256(staff.password_hash.encode()).hexdigest()[:16]


@cache
def _dummy_hash() -> str:
    # Built on first use rather than at import: hashing is deliberately slow.
    return generate_password_hash("not-a-real-password", method=HASH_METHOD)
