"""Every webhook event Zalo delivered, stored before it is answered, unique by its key."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, String, Text, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.dml import Insert

from .base import Base, text_enum, utcnow


class EventStatus(enum.StrEnum):
    RECEIVED = "received"  # stored and acknowledged; the step has not run yet
    PROCESSED = "processed"
    IGNORED = "ignored"
    FAILED = "failed"


class InboundEvent(Base):
    """A webhook event: the raw body, what we made of it, and whether processing succeeded."""

    __tablename__ = "inbound_event"
    # The case page reads a citizen's conversation by time.
    __table_args__ = (Index("ix_inbound_event_user_received", "zalo_user_id", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # msg_id when the event has one, else a hash of the body: a redelivery collides here.
    dedup_key: Mapped[str] = mapped_column(String(100), unique=True)
    event_name: Mapped[str] = mapped_column(String(60), index=True)
    zalo_user_id: Mapped[str | None] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[EventStatus] = mapped_column(
        text_enum(EventStatus), default=EventStatus.PROCESSED
    )
    error: Mapped[str | None] = mapped_column(Text)
    event_time: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


EVENT_COLUMNS = (
    "dedup_key",
    "event_name",
    "zalo_user_id",
    "body",
    "status",
    "error",
    "event_time",
    "received_at",
)


def insert_event_statement(dialect_name: str) -> Insert:
    """INSERT ... ON CONFLICT (dedup_key) DO NOTHING RETURNING id, values bound at execution.

    Built once per dialect: building and caching an ORM statement with literal values cost more
    CPU than the database work itself (docs/performance.md, webhook ingest).
    """
    insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    table = InboundEvent.__table__
    return (
        insert(table)
        .values({name: bindparam(name) for name in EVENT_COLUMNS})
        .on_conflict_do_nothing(index_elements=[table.c.dedup_key])
        .returning(table.c.id)
    )
