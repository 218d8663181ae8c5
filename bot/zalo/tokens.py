"""The OA token pair: encrypted in the database, refreshed once across every process.

Zalo's refresh token is single-use and a refresh kills the old access token at once, so:
- the pair lives in one database row, Fernet-encrypted (`TOKEN_ENCRYPTION_KEY`); `.env` values
  only seed that row the first time it is needed;
- a refresh happens under one cross-process lock (PostgreSQL advisory lock; SQLite's write
  lock), re-reads the stored pair after taking the lock, and commits the new pair before anyone
  uses it;
- a reactive refresh (after -216/-220) happens only if the failing token is still the stored one
  — otherwise someone else already refreshed, and the stored token is simply used;
- a refused refresh token is terminal: the row is marked `refresh_failed`, sending stops (every
  message stays queued) and an OA admin must connect the OA again (console or CLI).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.zalo.client import TokenPair, ZaloClient
from bot.zalo.errors import OAuthError
from models import TokenStatus, ZaloToken, utcnow
from models.db import insert_for

log = logging.getLogger(__name__)

ROW_ID = 1
ADVISORY_LOCK_KEY = 0x5A4C4F544B  # "ZLOTK": one lock for the whole token pair
ADMIN_ACTION = (
    "an OA administrator must connect the OA again: open /admin/zalo in the console, or run "
    "`flask --app app zalo-token --access-token ... --refresh-token ...`"
)


class TokenUnavailableError(Exception):
    """There is no usable token pair: sending must wait for an OA admin."""


def fernet_for(key: str | None, secret_key: str) -> Fernet:
    """The Fernet used for tokens; without TOKEN_ENCRYPTION_KEY (sandbox) one derived from SECRET_KEY."""
    if key:
        return Fernet(key.encode())
    derived = base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest())
    return Fernet(derived)


@dataclass(frozen=True)
class TokenInfo:
    """What staff may see about the token pair (never the tokens themselves)."""

    status: TokenStatus
    generation: int
    access_expires_at: datetime | None
    refreshed_at: datetime | None
    source: str | None
    last_error: str | None


class TokenStore:
    """Reads, seeds, refreshes and replaces the OA token pair."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        fernet: Fernet,
        seed: tuple[str | None, str | None] = (None, None),
    ) -> None:
        self.sessions = sessions
        self.fernet = fernet
        self._seed = seed
        self._cache: str | None = None
        self._lock = threading.Lock()

    # --- reading ---------------------------------------------------------------------------
    def access_token(self) -> str:
        """The current access token (cached in this process; reloaded after a refresh)."""
        with self._lock:
            if self._cache is None:
                self._cache = self._load()
            return self._cache

    def forget(self) -> None:
        """Drop the cached token so the next call reads the database."""
        with self._lock:
            self._cache = None

    def info(self) -> TokenInfo:
        """The pair's status for the console and /healthz."""
        with self.sessions() as session, session.begin():
            row = self._row(session)
            return TokenInfo(
                row.status,
                row.generation,
                row.access_expires_at,
                row.refreshed_at,
                row.source,
                row.last_error,
            )

    def is_usable(self) -> bool:
        """True when a pair is stored and its refresh has not failed."""
        return self.info().status is TokenStatus.OK

    def _load(self) -> str:
        with self.sessions() as session, session.begin():
            row = self._row(session)
            if row.status is not TokenStatus.OK or not row.access_token_enc:
                raise TokenUnavailableError(f"no usable Zalo token ({row.status.value})")
            return self._decrypt(row.access_token_enc)

    def _row(self, session: Session) -> ZaloToken:
        """The token row, created from the `.env` seed the first time it is needed."""
        row = session.get(ZaloToken, ROW_ID, populate_existing=True)
        if row is not None:
            return row
        access, refresh = self._seed
        values: dict = {
            "id": ROW_ID,
            "updated_at": utcnow(),
            "generation": 0,
            "status": TokenStatus.MISSING,
        }
        if access and refresh:
            values.update(
                access_token_enc=self._encrypt(access),
                refresh_token_enc=self._encrypt(refresh),
                status=TokenStatus.OK,
                source="env",
            )
        # Several processes may seed at once: the first insert wins, the others read it.
        insert = insert_for(session)
        session.execute(
            insert(ZaloToken).values(**values).on_conflict_do_nothing(index_elements=[ZaloToken.id])
        )
        row = session.get(ZaloToken, ROW_ID, populate_existing=True)
        assert row is not None
        return row

    # --- changing --------------------------------------------------------------------------
    def replace(self, pair: TokenPair, source: str, now: datetime | None = None) -> None:
        """Store a new pair given by an OA admin (console, CLI, consent flow); resumes sending."""
        now = now or utcnow()
        with self.sessions() as session, session.begin():
            self._take_lock(session)
            row = self._row(session)
            self._store(row, pair, source, now)
        self.forget()
        log.warning("Zalo token pair replaced (%s); sending resumes", source)

    def refresh_if_current(
        self, client: ZaloClient, failing_token: str | None, now: datetime | None = None
    ) -> str:
        """After -216/-220: refresh unless someone already did; return the token to retry with."""
        return self._refresh(client, now or utcnow(), failing_token=failing_token)

    def refresh_if_expiring(
        self, client: ZaloClient, margin: timedelta, now: datetime | None = None
    ) -> bool:
        """Proactive refresh (worker): refresh when less than `margin` is left; True if refreshed."""
        now = now or utcnow()
        before = self.info()
        if before.status is not TokenStatus.OK:
            return False
        expires = before.access_expires_at
        if expires is not None and expires - now > margin:
            return False
        self._refresh(client, now, expiring_within=margin)
        return self.info().generation != before.generation

    def _refresh(
        self,
        client: ZaloClient,
        now: datetime,
        failing_token: str | None = None,
        expiring_within: timedelta | None = None,
    ) -> str:
        with self.sessions() as session, session.begin():
            self._take_lock(session)
            row = self._row(session)  # re-read after taking the lock
            if row.status is not TokenStatus.OK or not row.refresh_token_enc:
                raise TokenUnavailableError(f"no usable Zalo token ({row.status.value})")
            stored = self._decrypt(row.access_token_enc or "")
            if failing_token is not None and stored != failing_token:
                self._set_cache(stored)
                return stored  # another process refreshed while we were failing
            if (
                expiring_within is not None
                and row.access_expires_at is not None
                and (row.access_expires_at - now > expiring_within)
            ):
                self._set_cache(stored)
                return stored  # another process refreshed proactively
            try:
                pair = client.refresh_access_token(self._decrypt(row.refresh_token_enc))
            except OAuthError as error:
                # Commit the failure (leaving the block normally), then stop the caller.
                refused = error
                row.status = TokenStatus.REFRESH_FAILED
                row.last_error = f"{error.code}: {error}"[:500]
                row.updated_at = now
            else:
                refused = None
                self._store(row, pair, "refresh", now)
        if refused is not None:
            log.error(
                "Zalo refused the refresh token (%s); sending is stopped: %s",
                refused.code,
                ADMIN_ACTION,
            )
            self.forget()
            raise TokenUnavailableError("refresh token refused") from refused
        self._set_cache(pair.access_token)
        log.info("Zalo access token refreshed")
        return pair.access_token

    def _store(self, row: ZaloToken, pair: TokenPair, source: str, now: datetime) -> None:
        row.access_token_enc = self._encrypt(pair.access_token)
        row.refresh_token_enc = self._encrypt(pair.refresh_token)
        row.access_expires_at = now + timedelta(seconds=pair.expires_in)
        row.generation += 1
        row.status = TokenStatus.OK
        row.source = source
        row.last_error = None
        row.refreshed_at = now
        row.updated_at = now

    def _take_lock(self, session: Session) -> None:
        # SQLite: the session's BEGIN IMMEDIATE already holds the database write lock.
        if session.get_bind().dialect.name == "postgresql":
            session.execute(select(func.pg_advisory_xact_lock(ADVISORY_LOCK_KEY)))

    def _set_cache(self, token: str) -> None:
        with self._lock:
            self._cache = token

    def _encrypt(self, value: str) -> str:
        return self.fernet.encrypt(value.encode()).decode()

    def _decrypt(self, value: str) -> str:
        try:
            return self.fernet.decrypt(value.encode()).decode()
        except InvalidToken:
            raise TokenUnavailableError(
                "stored Zalo tokens cannot be decrypted: TOKEN_ENCRYPTION_KEY changed?"
            ) from None
