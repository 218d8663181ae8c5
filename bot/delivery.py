"""The delivery ledger: every message to a citizen is an outbox row with a channel plan and a fate.

Rows are written in the transaction that decided them (`enqueue`); nothing here runs inside that
transaction. The `Dispatcher` sends them later — right after the web request's commit, and from
the worker's sweep — with these guarantees:

- **Order**: one citizen's rows go out by (queued_at, id), claimed together in small batches and
  sent one by one; a row that must wait (retry, night) gives the rest of its batch back. No row
  is claimed while an earlier one of the same citizen is in flight or waiting for a retry.
- **Never twice**: a row is claimed (`sending`, with a claim token) under the citizen's
  conversation lock, taken with `SKIP LOCKED` on PostgreSQL so parallel dispatchers spread over
  citizens instead of queueing. A row found stuck in `sending` (its process died) is reconciled:
  if Zalo's `oa_send_*` echo of it arrived, it is marked sent; otherwise, after a grace period
  long enough for any echo, it is queued again.
- **Never lost**: retryable failures back off exponentially with jitter; a closed 7-day window
  switches to a template channel or holds the row until the citizen writes again (then held rows
  are delivered first, announced by a short notice); an unusable token pauses sending without
  consuming attempts; permanent failures keep Zalo's code and message for staff to see.
"""

from __future__ import annotations

import functools
import logging
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Update, bindparam, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import ClauseElement

from bot import texts
from bot.channels import Channel, Plan, Template, plan
from bot.ratelimit import RateLimiter
from bot.zalo import messages
from bot.zalo.client import SendResult, ZaloClient
from bot.zalo.errors import (
    AttachmentExpiredError,
    InvalidParameterError,
    NightTimeError,
    NotFollowerError,
    OutOfQuotaError,
    OutsideWindowError,
    RateLimitedError,
    TokenError,
    UserUnreachableError,
    ZaloError,
)
from bot.zalo.tokens import TokenStore, TokenUnavailableError
from cases.clock import LOCAL_TZ
from cases.contact import international_phone
from cases.notifications import queue_message
from cases.undelivered import NOT_DELIVERED, REACHED, refresh_undelivered
from models import (
    Citizen,
    Conversation,
    HoldReason,
    MessageKind,
    OutboxMessage,
    OutboxState,
    utcnow,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_BACKOFF_SECONDS = 5
STUCK_AFTER = timedelta(minutes=5)
CLAIM_BATCH = 20  # rows of one citizen claimed together (sent one by one, in order)
UPLOAD_VALID_FOR = timedelta(days=6)  # Zalo keeps uploads 7 days
ACTIVE = (OutboxState.PENDING, OutboxState.SENDING)


def enqueue(
    session: Session,
    citizen_id: int,
    message: dict[str, Any],
    kind: MessageKind = MessageKind.REPLY,
    case_id: int | None = None,
    now: datetime | None = None,
) -> OutboxMessage:
    """Add one message to the outbox in the caller's transaction."""
    return queue_message(session, citizen_id, message, kind, now or utcnow(), case_id=case_id)


def backoff(attempts: int, now: datetime) -> datetime:
    """Exponential backoff with jitter, capped at one hour."""
    ceiling = min(3600, BASE_BACKOFF_SECONDS * 2 ** max(attempts - 1, 0))
    return now + timedelta(seconds=random.uniform(ceiling / 2, ceiling))


def next_morning(now: datetime) -> datetime:
    """06:05 local time after `now` (Zalo refuses some messages between 22:00 and 06:00)."""
    local = now.astimezone(LOCAL_TZ)
    morning = datetime.combine(local.date(), time(6, 5), LOCAL_TZ)
    if morning <= local:
        morning += timedelta(days=1)
    return morning + timedelta(seconds=random.uniform(0, 300))


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


def confirm_echo(session: Session, citizen_id: int, msg_id: str | None, now: datetime) -> bool:
    """Zalo echoed a message the OA sent: if it is the citizen's in-flight row, it was sent."""
    if not msg_id:
        return False
    known = session.scalar(select(OutboxMessage.id).where(OutboxMessage.zalo_message_id == msg_id))
    if known is not None:
        return False
    in_flight = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.citizen_id == citizen_id, OutboxMessage.state == OutboxState.SENDING)
        .order_by(OutboxMessage.queued_at, OutboxMessage.id)
    ).first()
    if in_flight is None:
        return False
    in_flight.state = OutboxState.SENT
    in_flight.zalo_message_id = msg_id
    in_flight.sent_at = in_flight.sent_at or now
    in_flight.channel = in_flight.channel or Channel.CONSULTATION.value
    log.info("outbox row %s confirmed by Zalo's echo", in_flight.id)
    return True


def release_held(session: Session, citizen: Citizen, now: datetime) -> int:
    """The citizen interacted: queue their held rows again, first, announced by a notice."""
    held = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.citizen_id == citizen.id, OutboxMessage.state == OutboxState.HELD)
        .order_by(OutboxMessage.queued_at, OutboxMessage.id)
    ).all()
    citizen.unreachable_reason = None
    citizen.unreachable_at = None
    if not held:
        return 0
    for row in held:
        row.state = OutboxState.PENDING
        row.next_attempt_at = now
    notice = enqueue(
        session, citizen.id, messages.text(texts.HELD_NOTICE.format(count=len(held))), now=now
    )
    # Just before the oldest held row, so the notice is read first.
    notice.queued_at = held[0].queued_at - timedelta(milliseconds=1)
    return len(held)


@dataclass(frozen=True)
class Claim:
    """A row claimed for sending, with what the plan needs to know of its citizen."""

    row_id: int
    token: str
    kind: MessageKind
    payload: dict[str, Any]
    case_id: int | None
    upload_id: str | None
    uploaded_at: datetime | None
    citizen: Citizen  # detached snapshot


@dataclass
class Outcome:
    """How a claimed row ended, and whether this citizen's next row may go now."""

    values: dict[str, Any]
    go_on: bool


def _outcome_update(values: dict[str, Any]) -> tuple[Update, dict[str, Any]]:
    """The UPDATE recording a row's outcome, and its parameters (`row_id`, `claimed_by` to add).

    Outcomes of plain values share one prebuilt statement per set of columns: building and
    caching a fresh statement cost more CPU than the database work (docs/performance.md).
    """
    params = {f"new_{k}": v for k, v in values.items() if not isinstance(v, ClauseElement)}
    expressions = {k: v for k, v in values.items() if isinstance(v, ClauseElement)}
    if expressions:  # rare outcomes (a row given back) are built as they come
        return _update_for(tuple(sorted(params))).values(**expressions), params
    return _update_for(tuple(sorted(params))), params


@functools.cache
def _update_for(params: tuple[str, ...]) -> Update:
    table = OutboxMessage.__table__
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"), table.c.claim_token == bindparam("claimed_by"))
        .values({name.removeprefix("new_"): bindparam(name) for name in params})
    )


class Dispatcher:
    """Sends outbox rows through the Zalo client according to each row's channel plan."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        zalo: ZaloClient,
        tokens: TokenStore,
        limiter: RateLimiter,
        templates: dict[MessageKind, Template] | None = None,
        clock: Callable[[], datetime] = utcnow,
        on_alert: Callable[[str, str], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.engine = sessions.kw["bind"]
        self.autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self.zalo = zalo
        self.tokens = tokens
        self.limiter = limiter
        self.templates = templates or {}
        self.clock = clock
        self.on_alert = on_alert or (lambda kind, text: None)

    # --- entry points ----------------------------------------------------------------------
    def dispatch_citizen(self, citizen_id: int, limit: int = 100) -> int:
        """Send this citizen's due rows in order; return how many were sent."""
        sent = 0
        while limit > 0:
            claims = self._claim_batch(citizen_id, min(limit, CLAIM_BATCH))
            if not claims:
                break
            limit -= len(claims)
            for index, claim in enumerate(claims):
                outcome = self._deliver(claim)
                if outcome.values.get("state") is OutboxState.SENT:
                    sent += 1
                self._finish(claim, outcome.values)
                if not outcome.go_on:
                    self._release(claims[index + 1 :])
                    return sent
        return sent

    def sweep(self, limit: int = 500) -> int:
        """Reconcile stuck rows, then send everything due, citizen by citizen."""
        self.reconcile_stuck()
        if not self.tokens.is_usable():
            return 0
        now = self.clock()
        with self.sessions() as session:
            citizen_ids = session.scalars(
                select(OutboxMessage.citizen_id)
                .where(
                    OutboxMessage.state == OutboxState.PENDING, OutboxMessage.next_attempt_at <= now
                )
                .group_by(OutboxMessage.citizen_id)
                .order_by(func.min(OutboxMessage.queued_at))
                .limit(limit)
            ).all()
        return sum(self.dispatch_citizen(citizen_id) for citizen_id in citizen_ids)

    def reconcile_stuck(self) -> int:
        """Queue again rows left in `sending` by a process that died, once no echo came."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            result = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.state == OutboxState.SENDING,
                    OutboxMessage.claimed_at < now - STUCK_AFTER,
                )
                .values(
                    state=OutboxState.PENDING,
                    claim_token=None,
                    next_attempt_at=now,
                    last_error="interrupted while sending; Zalo did not echo it: sent again",
                )
            )
            count = result.rowcount or 0
        if count:
            log.warning("reconciled %s outbox rows stuck in sending", count)
        return count

    # --- claiming --------------------------------------------------------------------------
    def _claim_batch(self, citizen_id: int, size: int) -> list[Claim]:
        """Claim the citizen's next due rows, in order, unless one is already in flight."""
        now = self.clock()
        with self.sessions() as session, session.begin():
            # The conversation row is the per-citizen lock; a citizen another dispatcher (or a
            # webhook) holds right now is skipped, not waited for.
            locked = session.scalar(
                select(Conversation.citizen_id)
                .where(Conversation.citizen_id == citizen_id)
                .with_for_update(skip_locked=True)
            )
            if locked is None:
                return []
            rows = session.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.state,
                    OutboxMessage.next_attempt_at,
                    OutboxMessage.kind,
                    OutboxMessage.payload,
                    OutboxMessage.case_id,
                    OutboxMessage.upload_id,
                    OutboxMessage.uploaded_at,
                )
                .where(OutboxMessage.citizen_id == citizen_id, OutboxMessage.state.in_(ACTIVE))
                .order_by(OutboxMessage.queued_at, OutboxMessage.id)
                .limit(size)
            ).all()
            due = []
            for row in rows:  # the leading due rows only: order first
                if row.state is OutboxState.SENDING or row.next_attempt_at > now:
                    break
                due.append(row)
            if not due:
                return []
            token = uuid.uuid4().hex
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_([row.id for row in due]))
                .values(
                    state=OutboxState.SENDING,
                    attempts=OutboxMessage.attempts + 1,
                    claimed_at=now,
                    claim_token=token,
                )
            )
            citizen = session.get(Citizen, citizen_id)
            assert citizen is not None
            session.expunge(citizen)
            return [
                Claim(
                    row.id,
                    token,
                    row.kind,
                    dict(row.payload),
                    row.case_id,
                    row.upload_id,
                    row.uploaded_at,
                    citizen,
                )
                for row in due
            ]

    def _release(self, claims: list[Claim]) -> None:
        """Give back claimed rows that were not tried (an earlier row must be retried first)."""
        if not claims:
            return
        with self.sessions() as session, session.begin():
            session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id.in_([c.row_id for c in claims]),
                    OutboxMessage.claim_token == claims[0].token,
                )
                .values(
                    state=OutboxState.PENDING, claim_token=None, attempts=OutboxMessage.attempts - 1
                )
            )

    def _finish(self, claim: Claim, values: dict[str, Any]) -> None:
        # One short statement per row, committed before the next send: a crash loses at most the
        # row in flight, which the echo or the sweep reconciles.
        citizen_values = values.pop("_citizen", None)
        statement, params = _outcome_update(values)
        params.update(row_id=claim.row_id, claimed_by=claim.token)
        # The case's "not yet delivered" flag moves with the outcome, in its transaction: a
        # held or failed row may set it; a sent one may only clear it (`only_flagged`: one
        # indexed no-op for the usual case that has no flag). Retries change nothing.
        state = values.get("state")
        refresh = claim.case_id is not None and (state in NOT_DELIVERED or state in REACHED)
        if citizen_values or refresh:
            with self.engine.begin() as connection:
                updated = connection.execute(statement, params).rowcount
                if citizen_values:
                    connection.execute(
                        update(Citizen)
                        .where(Citizen.id == claim.citizen.id)
                        .values(**citizen_values)
                    )
                if refresh and updated:
                    refresh_undelivered(
                        connection, [claim.case_id], only_flagged=state not in NOT_DELIVERED
                    )
        else:  # a single statement needs no BEGIN/COMMIT round trips of its own
            with self.autocommit.connect() as connection:
                updated = connection.execute(statement, params).rowcount
        if not updated:
            log.warning("outbox row %s was reconciled while in flight", claim.row_id)

    # --- sending ---------------------------------------------------------------------------
    def _deliver(self, claim: Claim) -> Outcome:
        now = self.clock()
        route = plan(claim.kind, claim.citizen, now, self.templates)
        citizen_update: dict[str, Any] | None = None
        for _ in range(3):  # the plan may change once or twice (window closed, unreachable)
            if route.channel is Channel.HOLD:
                reason = (
                    HoldReason.UNREACHABLE
                    if claim.citizen.unreachable_reason
                    else HoldReason.OUTSIDE_WINDOW
                )
                return self._held(reason, now, citizen_update)
            try:
                result, upload = self._send(claim, route)
            except (OutsideWindowError, NotFollowerError) as error:
                route = plan(claim.kind, claim.citizen, now, self.templates, window_closed=True)
                last_error = error
                continue
            except UserUnreachableError as error:
                claim.citizen.unreachable_reason = str(error.code)
                citizen_update = {"unreachable_reason": str(error.code), "unreachable_at": now}
                route = plan(claim.kind, claim.citizen, now, self.templates)
                last_error = error
                continue
            except TokenUnavailableError:
                # Not the row's fault: put it back untouched until an OA admin reconnects.
                return Outcome(
                    {
                        "state": OutboxState.PENDING,
                        "claim_token": None,
                        "attempts": OutboxMessage.attempts - 1,
                    },
                    go_on=False,
                )
            except ZaloError as error:
                return self._failure(claim, error, now, citizen_update)
            values: dict[str, Any] = {
                "state": OutboxState.SENT,
                "channel": route.channel.value,
                "zalo_message_id": result.message_id or None,
                "sent_at": now,
                "last_error": None,
                "last_error_code": None,
                "held_reason": None,
                "held_since": None,
            }
            if upload is not None:
                values["upload_id"], values["uploaded_at"] = upload, now
            if citizen_update:
                values["_citizen"] = citizen_update
            return Outcome(values, go_on=True)
        return self._failure(claim, last_error, now, citizen_update)

    def _held(
        self, reason: HoldReason, now: datetime, citizen_update: dict[str, Any] | None
    ) -> Outcome:
        values: dict[str, Any] = {
            "state": OutboxState.HELD,
            "held_reason": reason,
            "held_since": now,
            "claim_token": None,
        }
        if citizen_update:
            values["_citizen"] = citizen_update
        # The citizen's later rows are planned the same way and held behind this one, in order.
        return Outcome(values, go_on=True)

    def _failure(
        self, claim: Claim, error: ZaloError, now: datetime, citizen_update: dict[str, Any] | None
    ) -> Outcome:
        values: dict[str, Any] = {
            "last_error_code": error.code,
            "last_error": str(error)[:1000],
            "claim_token": None,
        }
        if citizen_update:
            values["_citizen"] = citizen_update
        if isinstance(error, OutOfQuotaError):
            self.on_alert("quota", f"Zalo: hết hạn mức gửi tin ({error.code}).")
            values.update(
                state=OutboxState.HELD, held_reason=HoldReason.OUT_OF_QUOTA, held_since=now
            )
            return Outcome(values, go_on=True)
        if isinstance(error, NightTimeError):
            values.update(
                state=OutboxState.PENDING,
                next_attempt_at=next_morning(now),
                attempts=OutboxMessage.attempts - 1,
            )
            return Outcome(values, go_on=False)
        if isinstance(error, RateLimitedError):
            self.limiter.penalize()
        attempts = self._attempts(claim.row_id)
        if error.retryable and attempts < MAX_ATTEMPTS:
            values.update(state=OutboxState.PENDING, next_attempt_at=backoff(attempts, now))
            log.warning("outbox row %s: %s, retry later", claim.row_id, type(error).__name__)
            return Outcome(values, go_on=False)
        values["state"] = OutboxState.FAILED
        log.error(
            "outbox row %s failed: %s (code %s)", claim.row_id, type(error).__name__, error.code
        )
        # A failed row is visible to staff and must not block the citizen's later messages.
        return Outcome(values, go_on=True)

    def _attempts(self, row_id: int) -> int:
        with self.sessions() as session:
            return session.scalar(select(OutboxMessage.attempts).where(OutboxMessage.id == row_id))

    def _send(self, claim: Claim, route: Plan) -> tuple[SendResult, str | None]:
        """Send by the planned channel, refreshing the token once on -216/-220."""
        for attempt in (1, 2):
            token = self.tokens.access_token()
            try:
                return self._send_once(claim, route)
            except TokenError:
                if attempt == 2:
                    raise
                self.tokens.refresh_if_current(self.zalo, token)
        raise AssertionError("unreachable")

    def _send_once(self, claim: Claim, route: Plan) -> tuple[SendResult, str | None]:
        citizen = claim.citizen
        if route.channel is Channel.CONSULTATION:
            message, upload = self._materialize(claim)
            try:
                self.limiter.acquire()
                return self.zalo.send_message(citizen.zalo_user_id, message), upload
            except AttachmentExpiredError:
                message, upload = self._materialize(claim, force_upload=True)
                self.limiter.acquire()
                return self.zalo.send_message(citizen.zalo_user_id, message), upload
            except InvalidParameterError:
                fallback = messages.plain_text_of(message)
                if fallback is None:
                    raise
                # Not every OA accepts button templates; the numbered list in the text works.
                log.warning("button template refused for outbox row %s; sent as text", claim.row_id)
                self.limiter.acquire()
                return self.zalo.send_message(citizen.zalo_user_id, messages.text(fallback)), upload
        template = route.template
        assert template is not None
        data = template.render(claim.payload.get("_context") or {})
        self.limiter.acquire()
        if route.channel is Channel.TEMPLATE:
            assert template.uid_template_id
            return self.zalo.send_template(
                citizen.zalo_user_id, template.uid_template_id, data
            ), None
        assert template.phone_template_id and citizen.phone
        return self.zalo.send_template_by_phone(
            international_phone(citizen.phone),
            template.phone_template_id,
            data,
            tracking_id=f"pakn-outbox-{claim.row_id}",
        ), None

    def _materialize(
        self, claim: Claim, force_upload: bool = False
    ) -> tuple[dict[str, Any], str | None]:
        """The Zalo message for a row: our bookkeeping keys removed, files uploaded when needed."""
        message = {k: v for k, v in claim.payload.items() if not k.startswith("_")}
        spec = claim.payload.get("_upload")
        if not spec:
            return message, None
        upload_id = claim.upload_id
        fresh = (
            claim.uploaded_at is not None and self.clock() - claim.uploaded_at < UPLOAD_VALID_FOR
        )
        if force_upload or not upload_id or not fresh:
            content = Path(spec["path"]).read_bytes()
            self.limiter.acquire()
            if spec["media_type"] == "image":
                upload_id = self.zalo.upload_image(content, spec["name"], spec["content_type"])
            else:
                upload_id = self.zalo.upload_file(content, spec["name"], spec["content_type"])
        if spec["media_type"] == "image":
            return messages.image(
                attachment_id=upload_id, caption=message.get("text", "")
            ), upload_id
        return messages.file(upload_id), upload_id
