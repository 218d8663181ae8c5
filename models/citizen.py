"""A citizen known by their Zalo user id, and the state of their conversation with the bot."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow


class Citizen(Base):
    """A Zalo user who wrote to or followed the OA; contact data as they last gave it."""

    __tablename__ = "citizen"

    id: Mapped[int] = mapped_column(primary_key=True)
    zalo_user_id: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    address: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(200))
    is_follower: Mapped[bool] = mapped_column(default=False)
    last_interaction_at: Mapped[datetime | None]
    # Consent to be contacted about their PAKN (given at submission); needed for the phone channel.
    consent_at: Mapped[datetime | None]
    consent_version: Mapped[str | None] = mapped_column(String(40))
    unreachable_reason: Mapped[str | None] = mapped_column(String(40))
    unreachable_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    conversation: Mapped[Conversation | None] = relationship(back_populates="citizen")


class Conversation(Base):
    """One row per citizen: the current step, the draft being built, and when it last moved.

    The row doubles as the per-citizen lock: events of one citizen lock it before running a step.
    """

    __tablename__ = "conversation"

    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(40), default="idle")
    draft: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    citizen: Mapped[Citizen] = relationship(back_populates="conversation")
