"""The outbox: every message to a citizen is a row, written in the transaction that decided it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, text_enum, utcnow


class OutboxState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    SEEN = "seen"
    HELD = "held"
    FAILED = "failed"


class HoldReason(enum.StrEnum):
    OUTSIDE_WINDOW = "outside_window"  # no interaction for 7 days and no template channel
    UNREACHABLE = "unreachable"  # blocked the OA, banned, or restricted this message type
    OUT_OF_QUOTA = "out_of_quota"


class MessageKind(enum.StrEnum):
    REPLY = "reply"
    ACKNOWLEDGEMENT = "acknowledgement"
    STATUS_UPDATE = "status_update"
    INFO_REQUEST = "info_request"
    ANSWER = "answer"
    REMINDER = "reminder"
    SURVEY = "survey"


class OutboxMessage(Base):
    """One message to one citizen: what to send (`payload`, Zalo's `message` object) and its fate."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_state_next", "state", "next_attempt_at"),
        Index("ix_outbox_message_citizen_order", "citizen_id", "queued_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizen.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("pakn_case.id"), index=True)
    kind: Mapped[MessageKind] = mapped_column(text_enum(MessageKind), default=MessageKind.REPLY)
    payload: Mapped[dict[str, Any]]
    state: Mapped[OutboxState] = mapped_column(text_enum(OutboxState), default=OutboxState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Messages to one citizen go out by (queued_at, id); a flush of held rows is preceded by a
    # notice queued just before them.
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(String(32))
    held_reason: Mapped[HoldReason | None] = mapped_column(text_enum(HoldReason))
    held_since: Mapped[datetime | None]
    channel: Mapped[str | None] = mapped_column(String(20))  # consultation, template, phone
    zalo_message_id: Mapped[str | None] = mapped_column(String(100), index=True)
    last_error_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    upload_id: Mapped[str | None] = mapped_column(String(200))
    uploaded_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    seen_at: Mapped[datetime | None]
