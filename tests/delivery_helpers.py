"""Helpers for delivery tests: citizens with a given window, queued rows, the runtime."""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.delivery import enqueue
from bot.zalo import messages
from handlers.runtime import get_runtime
from models import Citizen, Conversation, MessageKind, OutboxMessage, utcnow


def make_citizen(
    session,
    zalo_id: str = "2468458835291979220",
    *,
    days_since: float = 0,
    phone: str | None = None,
    consent: bool = False,
) -> Citizen:
    """A citizen whose last interaction was `days_since` days ago (and their conversation)."""
    now = utcnow()
    citizen = Citizen(
        zalo_user_id=zalo_id,
        last_interaction_at=now - timedelta(days=days_since),
        phone=phone,
        consent_at=now if consent else None,
    )
    session.add(citizen)
    session.flush()
    session.add(Conversation(citizen_id=citizen.id, state="idle", draft={}, updated_at=now))
    session.commit()
    return citizen


def queue(
    session,
    citizen: Citizen,
    *texts: str,
    kind: MessageKind = MessageKind.REPLY,
    case_id: int | None = None,
    context: dict | None = None,
    at: datetime | None = None,
) -> list[OutboxMessage]:
    """Queue text messages for a citizen and commit."""
    rows = []
    for text in texts:
        payload = messages.text(text)
        if context:
            payload["_context"] = context
        rows.append(enqueue(session, citizen.id, payload, kind=kind, case_id=case_id, now=at))
    session.commit()
    return rows


def states(session, rows) -> list:
    """The current state of each row."""
    for row in rows:
        session.refresh(row)
    return [row.state for row in rows]


def dispatcher(app):
    return get_runtime(app).dispatcher
