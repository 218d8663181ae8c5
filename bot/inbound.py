"""Processing stored webhook events: the citizen, their lock, the step, the replies.

`process_event` runs inside a transaction (the webhook's own in `inline` mode); the step runs
in a SAVEPOINT: if it raises, its effects are rolled back, the event is kept (marked failed,
with the error) and the citizen gets an apology, so one broken event never loses itself or
anybody else's. In the default `background` mode the webhook only stores the event (status
`received`) and answers; `process_pending` then applies a citizen's stored events one by one,
oldest first, each in its own transaction under the citizen's lock — right after the response
in the web process, and from the worker's sweep for whatever is left.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import conversation, staff_link, texts
from bot.conversation import BotSettings, Context, Reply
from bot.delivery import confirm_echo, enqueue, mark_receipts, release_held
from bot.flows import ANYWHERE, STEPS
from bot.flows.menu import welcome
from bot.incoming import from_event
from bot.zalo import events, messages
from cases import privacy
from models import (
    Citizen,
    Conversation,
    ErasureTrigger,
    EventStatus,
    InboundEvent,
    OutboxState,
    utcnow,
)
from models.db import insert_for

log = logging.getLogger(__name__)


def lock_citizen(
    session: Session, zalo_user_id: str, now: datetime
) -> tuple[Citizen, Conversation]:
    """Lock the citizen's row for the rest of the transaction (created, with their conversation,
    if new) and return it fresh: events of one citizen are applied one at a time. On SQLite the
    transaction already holds the database write lock (BEGIN IMMEDIATE)."""
    locking = (
        select(Citizen)
        .where(Citizen.zalo_user_id == zalo_user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    citizen = session.scalars(locking).first()
    if citizen is None:
        insert = insert_for(session)
        session.execute(
            insert(Citizen)
            .values(zalo_user_id=zalo_user_id, created_at=now, is_follower=False)
            .on_conflict_do_nothing(index_elements=[Citizen.zalo_user_id])
        )
        citizen = session.scalars(locking).one()
    conv = session.get(Conversation, citizen.id, populate_existing=True)
    if conv is None:  # a new citizen, or one registered by staff before they wrote
        session.execute(
            insert_for(session)(Conversation)
            .values(citizen_id=citizen.id, state=conversation.IDLE, draft={}, updated_at=now)
            .on_conflict_do_nothing(index_elements=[Conversation.citizen_id])
        )
        conv = session.get(Conversation, citizen.id, populate_existing=True)
    assert conv is not None
    return citizen, conv


def lock_conversation(session: Session, citizen_id: int) -> Conversation:
    """Take the citizen's lock (their row) and return their conversation, fresh."""
    session.execute(select(Citizen.id).where(Citizen.id == citizen_id).with_for_update())
    conv = session.get(Conversation, citizen_id, populate_existing=True)
    assert conv is not None
    return conv


def process_event(
    session: Session,
    row: InboundEvent,
    event: events.ZaloEvent,
    settings: BotSettings,
    now: datetime,
) -> int | None:
    """Apply one event; return the id of the citizen who may have new messages to send."""
    if isinstance(event, events.ReceivedEvent | events.SeenEvent):
        state = OutboxState.SEEN if isinstance(event, events.SeenEvent) else OutboxState.DELIVERED
        mark_receipts(session, event.msg_ids, state)
        return None
    if isinstance(event, events.OASendEvent) and event.user_id and not event.admin_id:
        # Zalo's echo of what we sent: it confirms a send whose process may have died.
        citizen_id = session.scalar(select(Citizen.id).where(Citizen.zalo_user_id == event.user_id))
        if citizen_id is None or not confirm_echo(session, citizen_id, event.msg_id, now):
            row.status = EventStatus.IGNORED
        return None
    if not events.is_from_citizen(event) or not event.user_id:
        # Officers' replies from the OA chat and unknown events are stored and otherwise ignored.
        row.status = EventStatus.IGNORED
        return None

    citizen, conv = lock_citizen(session, event.user_id, now)
    if not isinstance(event, events.UnfollowEvent | events.WithdrawEvent):
        citizen.last_interaction_at = now
        # What was held while the window was closed goes out first, before this event's reply.
        release_held(session, citizen, now)
    ctx = Context(session=session, citizen=citizen, conversation=conv, settings=settings, now=now)
    try:
        with session.begin_nested():
            _apply(ctx, event)
            # ctx.citizen: after a deletion request the person has a fresh row, answered there.
            _queue(session, ctx.citizen.id, ctx.replies)
    except Exception as error:  # one broken step must not lose the event or other citizens'
        log.exception("event %s of citizen %s failed in state %s", row.id, citizen.id, conv.state)
        session.expire(conv)
        row.status = EventStatus.FAILED
        row.error = f"{type(error).__name__}: {error}"[:2000]
        enqueue(session, citizen.id, messages.text(texts.APOLOGY))
        return citizen.id
    return ctx.citizen.id


def _apply(ctx: Context, event: events.ZaloEvent) -> None:
    if isinstance(event, events.FollowEvent):
        ctx.citizen.is_follower = True
        welcome(ctx)
        return
    if isinstance(event, events.UnfollowEvent):
        ctx.citizen.is_follower = False
        return
    if isinstance(event, events.WithdrawEvent):
        # Consent withdrawn: anonymise them. No acknowledgement can reach them any more.
        privacy.anonymise_citizen(
            ctx.session, ctx.citizen, ErasureTrigger.USER_WITHDRAW, "zalo", ctx.now
        )
        return
    incoming = from_event(event)
    if incoming is None:
        return
    # A staff member's one-time link code works in any state and leaves the conversation as it is.
    if staff_link.answer_link_code(ctx, incoming):
        return
    conversation.run(ctx, incoming, STEPS, ANYWHERE)


def _queue(session: Session, citizen_id: int, replies: list[Reply]) -> None:
    for reply in replies:
        enqueue(session, citizen_id, reply.message, kind=reply.kind, case_id=reply.case_id)


def _apply_stored(session: Session, row: InboundEvent, settings: BotSettings) -> int | None:
    row.status = EventStatus.PROCESSED
    try:
        event = events.parse_event(json.loads(row.body))
    except (ValueError, events.EventParseError) as error:
        row.status, row.error = EventStatus.FAILED, str(error)[:2000]
        return None
    # The event's own arrival time, not the processing time, is when the citizen acted.
    return process_event(session, row, event, settings, row.received_at)


def process_pending(
    sessions: sessionmaker[Session],
    settings: BotSettings,
    zalo_user_id: str | None,
    limit: int = 100,
) -> set[int]:
    """Apply the stored events of one Zalo user (None: events without one), oldest first."""
    touched: set[int] = set()
    for _ in range(limit):
        with sessions() as session, session.begin():
            if zalo_user_id is not None:
                lock_citizen(session, zalo_user_id, utcnow())
            row = session.scalars(
                select(InboundEvent)
                .where(
                    InboundEvent.status == EventStatus.RECEIVED,
                    InboundEvent.zalo_user_id.is_(None)
                    if zalo_user_id is None
                    else InboundEvent.zalo_user_id == zalo_user_id,
                )
                .order_by(InboundEvent.received_at, InboundEvent.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                break
            citizen_id = _apply_stored(session, row, settings)
            withdrawn = row.event_name == "user_withdraw"
        if citizen_id is not None:
            touched.add(citizen_id)
        if withdrawn:
            break  # the user is anonymised: locking them again would register their id anew
    return touched


def pending_users(sessions: sessionmaker[Session], limit: int = 200) -> list[str | None]:
    """Zalo users with stored events still to apply (None stands for events without a user)."""
    with sessions() as session:
        return list(
            session.scalars(
                select(InboundEvent.zalo_user_id)
                .where(InboundEvent.status == EventStatus.RECEIVED)
                .group_by(InboundEvent.zalo_user_id)
                .order_by(func.min(InboundEvent.id))
                .limit(limit)
            )
        )
