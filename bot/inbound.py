"""Processing one stored webhook event: the citizen, their lock, the step, the replies.

Runs inside the webhook's transaction. The step runs in a SAVEPOINT: if it raises, its effects
are rolled back, the event is kept (marked failed, with the error) and the citizen gets an
apology, so one broken event never loses itself or anybody else's.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import conversation, staff_link, texts
from bot.conversation import BotSettings, Context, Reply
from bot.delivery import confirm_echo, enqueue, mark_receipts, release_held
from bot.flows import ANYWHERE, STEPS
from bot.flows.menu import welcome
from bot.incoming import from_event
from bot.zalo import events, messages
from models import Citizen, Conversation, EventStatus, InboundEvent, OutboxState
from models.db import insert_for

log = logging.getLogger(__name__)


def get_citizen(session: Session, zalo_user_id: str, now: datetime) -> Citizen:
    """Return the citizen with this Zalo id, creating them (and their conversation) if new."""
    insert = insert_for(session)
    session.execute(
        insert(Citizen)
        .values(zalo_user_id=zalo_user_id, created_at=now, is_follower=False)
        .on_conflict_do_nothing(index_elements=[Citizen.zalo_user_id])
    )
    citizen = session.scalars(select(Citizen).where(Citizen.zalo_user_id == zalo_user_id)).one()
    session.execute(
        insert(Conversation)
        .values(citizen_id=citizen.id, state=conversation.IDLE, draft={}, updated_at=now)
        .on_conflict_do_nothing(index_elements=[Conversation.citizen_id])
    )
    return citizen


def lock_conversation(session: Session, citizen_id: int) -> Conversation:
    """Lock the citizen's conversation row for the rest of the transaction (PostgreSQL row lock;
    SQLite already holds the database write lock since BEGIN IMMEDIATE)."""
    return session.scalars(
        select(Conversation)
        .where(Conversation.citizen_id == citizen_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


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

    citizen = get_citizen(session, event.user_id, now)
    conv = lock_conversation(session, citizen.id)
    session.refresh(citizen)
    if not isinstance(event, events.UnfollowEvent | events.WithdrawEvent):
        citizen.last_interaction_at = now
        # What was held while the window was closed goes out first, before this event's reply.
        release_held(session, citizen, now)
    ctx = Context(session=session, citizen=citizen, conversation=conv, settings=settings, now=now)
    try:
        with session.begin_nested():
            _apply(ctx, event)
            _queue(session, citizen.id, ctx.replies)
    except Exception as error:  # one broken step must not lose the event or other citizens'
        log.exception("event %s of citizen %s failed in state %s", row.id, citizen.id, conv.state)
        session.expire(conv)
        row.status = EventStatus.FAILED
        row.error = f"{type(error).__name__}: {error}"[:2000]
        enqueue(session, citizen.id, messages.text(texts.APOLOGY))
    return citizen.id


def _apply(ctx: Context, event: events.ZaloEvent) -> None:
    if isinstance(event, events.FollowEvent):
        ctx.citizen.is_follower = True
        welcome(ctx)
        return
    if isinstance(event, events.UnfollowEvent):
        ctx.citizen.is_follower = False
        return
    if isinstance(event, events.WithdrawEvent):
        # Anonymisation on withdrawal is built with the personal-data issue; kept for audit now.
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
