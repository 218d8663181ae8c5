"""Bearer tokens for the staff JSON API (/api/v1): create, verify, list and revoke.

A token is `secrets.token_urlsafe(32)` (256 random bits), shown once when it is created; only its
SHA-256 (hex) is stored, with its first characters as a `prefix` so lists can tell tokens apart.
Verifying hashes the presented token and looks the hash up (a unique index): comparing hashes
reveals nothing about the token, so the lookup is as good as a constant-time comparison, which
we do anyway. A revoked token, or one whose staff account is inactive, is refused. `last_used_at`
is written at most once a minute per token, so busy clients do not turn every read into a write.

Flask-free: callers pass their session and commit; nothing here commits. Tokens are never
logged: log lines name the token's id.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ApiToken, Staff

log = logging.getLogger(__name__)

TOKEN_BYTES = 32
PREFIX_LENGTH = 8
MAX_NAME_LENGTH = 100
# Longer than any token we issue; bounds the hashing work of one request.
MAX_TOKEN_LENGTH = 256
TOUCH_INTERVAL = timedelta(minutes=1)


class ApiTokenError(Exception):
    """A token cannot be created or revoked as asked; the message (English) says why."""


@dataclass(frozen=True)
class Verified:
    """A token that was accepted, its active staff account, and whether `last_used_at` moved."""

    token: ApiToken
    staff: Staff
    touched: bool


def hash_token(raw: str) -> str:
    """Return the SHA-256 hex digest under which `raw` is stored."""
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_token(session: Session, username: str, name: str, now: datetime) -> tuple[ApiToken, str]:
    """Create a token `name` for the active account `username`; return the row and the token."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise ApiTokenError(f"The token name must have 1 to {MAX_NAME_LENGTH} characters.")
    staff = _staff_named(session, username)
    if not staff.active:
        raise ApiTokenError(f"The staff account {staff.username!r} is inactive.")
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    token = ApiToken(
        staff_id=staff.id,
        name=name,
        token_hash=hash_token(raw),
        prefix=raw[:PREFIX_LENGTH],
        created_at=now,
    )
    session.add(token)
    session.flush()
    log.info("API token %s (%s) created for staff %s", token.id, name, staff.id)
    return token, raw


def verify_token(session: Session, raw: str, now: datetime) -> Verified | None:
    """Return the accepted token and its account (None: unknown, revoked or inactive); touch it."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        log.info("API token refused: malformed")
        return None
    digest = hash_token(raw)
    token = session.scalars(select(ApiToken).where(ApiToken.token_hash == digest)).first()
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        log.info("API token refused: unknown")
        return None
    if token.revoked_at is not None:
        log.info("API token %s refused: revoked", token.id)
        return None
    staff = token.staff
    if not staff.active:
        log.info("API token %s refused: staff %s is inactive", token.id, staff.id)
        return None
    touched = token.last_used_at is None or now - token.last_used_at >= TOUCH_INTERVAL
    if touched:
        token.last_used_at = now
        session.flush()
    return Verified(token=token, staff=staff, touched=touched)


def revoke_token(session: Session, token_id: int, now: datetime) -> ApiToken:
    """Revoke the token `token_id` (already revoked: unchanged); return it."""
    token = session.get(ApiToken, token_id)
    if token is None:
        raise ApiTokenError(f"No API token has the id {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()
        log.info("API token %s revoked", token.id)
    return token


def tokens_of(session: Session, username: str) -> list[ApiToken]:
    """Return the tokens of `username`, oldest first (revoked ones included)."""
    staff = _staff_named(session, username)
    return list(
        session.scalars(select(ApiToken).where(ApiToken.staff_id == staff.id).order_by(ApiToken.id))
    )


def _staff_named(session: Session, username: str) -> Staff:
    staff = session.scalars(select(Staff).where(Staff.username == username.strip())).first()
    if staff is None:
        raise ApiTokenError(f"No staff account is named {username!r}.")
    return staff
