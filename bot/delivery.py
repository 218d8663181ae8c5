"""The outbox ledger: queue messages in the caller's transaction, send them after the commit.

`enqueue()` only adds rows; it never talks to Zalo, so a failed send can never undo the case or
the event that caused it. `Dispatcher` sends the rows of one citizen in order (one row at a time,
claimed under the citizen's conversation lock) and records the outcome on the row: sent with
Zalo's message id, retried later with backoff, or failed with Zalo's reason for staff to see.
Receipts (`user_received_message`, `user_seen_message`) move rows to delivered and seen.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.zalo import messages
from bot.zalo.client import ZaloClient
from bot.zalo.errors import InvalidParameterError, ZaloError
from models import Conversation, MessageKind, OutboxMessage, OutboxState, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF_SECONDS = 5
STALE_SENDING = timedelta(minutes=5)


def enqueue(
    session: Session,
    citizen_id: int,
    message: dict[str, Any],
    kind: MessageKind = MessageKind.REPLY,
    case_id: int | None = None,
) -> OutboxMessage:
    """Add one message to the outbox in the caller's transaction."""
    row = OutboxMessage(citizen_id=citizen_id, case_id=case_id, kind=kind, payload=message)
    session.add(row)
    return row


def backoff(attempts: int, now: datetime) -> datetime:
    """Exponential backoff with full jitter, capped at one hour."""
    ceiling = min(3600, BASE_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0))
    return now + timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def mark_receipts(session: Session, msg_ids: Iterable[str], state: OutboxState) -> int:
    """Move sent rows whose Zalo message id is in `msg_ids` to delivered or seen."""
    ids = [m for m in msg_ids if m]
    if not ids:
        return 0
    now = utcnow()
    if state is OutboxState.SEEN:
        values: dict[str, Any] = {"state": state, "seen_at": now}
        allowed = (OutboxState.SENT, OutboxState.DELIVERED)
    else:
        values = {"state": state, "delivered_at": now}
        allowed = (OutboxState.SENT,)
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.zalo_message_id.in_(ids), OutboxMessage.state.in_(allowed))
        .values(**values)
    )
    return result.rowcount or 0


class Dispatcher:
    """Sends outbox rows through the Zalo client, each citizen's rows strictly in order."""

    def __init__(self, sessions: sessionmaker[Session], zalo: ZaloClient) -> None:
        self.sessions = sessions
        self.zalo = zalo

    def dispatch_citizen(self, citizen_id: int, limit: int = 50) -> int:
        """Send this citizen's due rows in order; return how many were sent."""
        sent = 0
        for _ in range(limit):
            claimed = self._claim_next(citizen_id)
            if claimed is None:
                break
            if not self._send(*claimed):
                break
            sent += 1
        return sent

    def sweep(self, limit: int = 200) -> int:
        """Send everything due, citizen by citizen (the worker's job)."""
        self._release_stale()
        with self.sessions() as session:
            citizen_ids = session.scalars(
                select(OutboxMessage.citizen_id)
                .where(
                    OutboxMessage.state == OutboxState.PENDING,
                    OutboxMessage.next_attempt_at <= utcnow(),
                )
                .group_by(OutboxMessage.citizen_id)
                .order_by(func.min(OutboxMessage.id))
                .limit(limit)
            ).all()
        return sum(self.dispatch_citizen(citizen_id) for citizen_id in citizen_ids)

    def _claim_next(self, citizen_id: int) -> tuple[int, str, dict[str, Any]] | None:
        """Mark the citizen's oldest pending row as sending, unless one is already in flight."""
        with self.sessions() as session, session.begin():
            # The conversation row is the per-citizen lock: claims for one citizen never interleave.
            session.execute(
                select(Conversation.citizen_id)
                .where(Conversation.citizen_id == citizen_id)
                .with_for_update()
            )
            rows = session.execute(
                select(OutboxMessage)
                .where(
                    OutboxMessage.citizen_id == citizen_id,
                    OutboxMessage.state.in_((OutboxState.PENDING, OutboxState.SENDING)),
                )
                .order_by(OutboxMessage.id)
                .limit(1)
            ).scalar_one_or_none()
            if rows is None or rows.state is OutboxState.SENDING or rows.next_attempt_at > utcnow():
                return None
            rows.state = OutboxState.SENDING
            rows.attempts += 1
            rows.next_attempt_at = utcnow()
            zalo_user_id = rows_citizen_zalo_id(session, citizen_id)
            return rows.id, zalo_user_id, dict(rows.payload)

    def _send(self, row_id: int, zalo_user_id: str, payload: dict[str, Any]) -> bool:
        """Send one claimed row and record the outcome; False when the citizen's queue must wait."""
        try:
            result = self.zalo.send_message(zalo_user_id, payload)
        except InvalidParameterError as error:
            fallback = messages.plain_text_of(payload)
            if fallback is None:
                return self._record_failure(row_id, error)
            # Not every OA accepts button templates; the numbered text list works everywhere.
            log.warning("button template refused for outbox row %s; resending as text", row_id)
            try:
                result = self.zalo.send_message(zalo_user_id, messages.text(fallback))
            except ZaloError as retry_error:
                return self._record_failure(row_id, retry_error)
        except ZaloError as error:
            return self._record_failure(row_id, error)
        with self.sessions() as session, session.begin():
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(
                    state=OutboxState.SENT,
                    channel="consultation",
                    zalo_message_id=result.message_id,
                    sent_at=utcnow(),
                    last_error=None,
                    last_error_code=None,
                )
            )
        return True

    def _record_failure(self, row_id: int, error: ZaloError) -> bool:
        now = utcnow()
        with self.sessions() as session, session.begin():
            row = session.get(OutboxMessage, row_id)
            assert row is not None
            row.last_error_code = error.code
            row.last_error = str(error)[:1000]
            if error.retryable and row.attempts < MAX_ATTEMPTS:
                row.state = OutboxState.PENDING
                row.next_attempt_at = backoff(row.attempts, now)
                log.warning("outbox row %s: retry later after %s", row_id, type(error).__name__)
            else:
                row.state = OutboxState.FAILED
                log.error(
                    "outbox row %s failed: %s (code %s)", row_id, type(error).__name__, error.code
                )
                # A failed row must not block the citizen's later messages.
                return True
        return False

    def _release_stale(self) -> None:
        """Return rows stuck in `sending` (a process died mid-send) to the queue."""
        with self.sessions() as session, session.begin():
            session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.state == OutboxState.SENDING,
                    OutboxMessage.next_attempt_at < utcnow() - STALE_SENDING,
                )
                .values(state=OutboxState.PENDING)
            )


def rows_citizen_zalo_id(session: Session, citizen_id: int) -> str:
    """Return the Zalo user id of a citizen."""
    from models import Citizen

    return session.execute(
        select(Citizen.zalo_user_id).where(Citizen.id == citizen_id)
    ).scalar_one()
