"""The PAKN case: what the citizen submitted, its attachments, its timeline and its code counter."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Computed,
    Date,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, text_enum, utcnow
from .citizen import Citizen
from .org import Field, Unit


class CaseKind(enum.StrEnum):
    FEEDBACK = "feedback"  # phản ánh
    PETITION = "petition"  # kiến nghị


class CaseStatus(enum.StrEnum):
    RECEIVED = "received"
    REJECTED = "rejected"
    TRANSFERRED = "transferred"
    PROCESSING = "processing"
    AWAITING_INFO = "awaiting_info"
    ANSWER_DRAFTED = "answer_drafted"
    ANSWER_APPROVED = "answer_approved"
    ANSWERED = "answered"
    PUBLISHED = "published"
    ESCALATED = "escalated"
    MERGED = "merged"


CLOSED_STATUSES = frozenset(
    {CaseStatus.REJECTED, CaseStatus.ANSWERED, CaseStatus.PUBLISHED, CaseStatus.MERGED}
)


class Case(Base):
    """A PAKN as received, with a snapshot of the sender's contact data at submission."""

    __tablename__ = "pakn_case"
    # The queue reads pages newest first (a B-tree reads backwards just as fast), within the
    # user's units and a status (cases/queue.py). The status carried in the received-order
    # indexes lets PostgreSQL count a period per status from the index alone (INCLUDE is
    # PostgreSQL's; SQLite builds them without it).
    __table_args__ = (
        Index("ix_pakn_case_received", "received_at", "id", postgresql_include=["status"]),
        Index(
            "ix_pakn_case_unit_received",
            "unit_id",
            "received_at",
            "id",
            postgresql_include=["status"],
        ),
        Index("ix_pakn_case_status_received", "status", "received_at", "id"),
        Index("ix_pakn_case_unit_status", "unit_id", "status"),
        Index("ix_pakn_case_field_status", "field_id", "unit_id", "status"),
        # Overdue and due-soon filters read open, running cases by their answer date (PostgreSQL
        # partial index; bench/console.py: 314 -> 31 ms on a million cases).
        Index(
            "ix_pakn_case_open_due",
            "answer_due_on",
            "unit_id",
            "status",
            postgresql_where=text(
                "paused_at IS NULL AND status IN ('received', 'transferred', 'processing', "
                "'awaiting_info', 'answer_drafted', 'answer_approved', 'escalated')"
            ),
        ),
        # The few cases with a message that has not reached the citizen (the queue's
        # "undelivered" filter and its counts), newest first.
        Index(
            "ix_pakn_case_undelivered",
            "received_at",
            "id",
            postgresql_include=["status", "unit_id"],
            postgresql_where=text("undelivered_since IS NOT NULL"),
            sqlite_where=text("undelivered_since IS NOT NULL"),
        ),
        # Reports count answers by the day they were given (cases/reports.py).
        Index(
            "ix_pakn_case_answered",
            "answered_at",
            postgresql_where=text("answered_at IS NOT NULL"),
            sqlite_where=text("answered_at IS NOT NULL"),
        ),
        # The deadline scan finds late urgent cases among the few marked urgent.
        Index(
            "ix_pakn_case_urgent_due",
            "urgent_due_at",
            postgresql_where=text("urgent"),
            sqlite_where=text("urgent"),
        ),
        # The retention job walks closed cases, oldest last change first (cases/privacy.py).
        Index(
            "ix_pakn_case_closed_updated",
            "updated_at",
            "id",
            postgresql_where=text("status IN ('rejected', 'answered', 'published', 'merged')"),
            sqlite_where=text("status IN ('rejected', 'answered', 'published', 'merged')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[CaseKind] = mapped_column(text_enum(CaseKind))
    status: Mapped[CaseStatus] = mapped_column(text_enum(CaseStatus), default=CaseStatus.RECEIVED)
    channel: Mapped[str] = mapped_column(String(20), default="zalo")
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), index=True)
    field_id: Mapped[int] = mapped_column(ForeignKey("field.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    title: Mapped[str] = mapped_column(String(200))
    content: Mapped[str] = mapped_column(Text)
    # The staff queue's text search on PostgreSQL reads this lowercased copy with a plain
    # substring test (cases/queue.py): ILIKE lowercased every case's text again for every case
    # it tested. Kept by the database, so an edit or an anonymisation can never leave it stale.
    # Never loaded by the ORM (deferred).
    search_text: Mapped[str | None] = mapped_column(
        Text,
        Computed("lower(code || ' ' || title || ' ' || content)", persisted=True),
        deferred=True,
    )
    location_address: Mapped[str | None] = mapped_column(String(500))
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    contact_address: Mapped[str | None] = mapped_column(String(500))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    hide_identity: Mapped[bool] = mapped_column(default=False)
    consent_text_version: Mapped[str | None] = mapped_column(String(40))
    consent_at: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    answer_due_on: Mapped[date] = mapped_column(Date, index=True)
    # Deadlines (cases/deadlines.py): the policy as it was at receipt, and what moved the dates.
    urgent: Mapped[bool] = mapped_column(default=False)
    deadline_policy: Mapped[dict[str, Any] | None]
    classify_due_on: Mapped[date | None] = mapped_column(Date)
    urgent_due_at: Mapped[datetime | None]
    publish_due_on: Mapped[date | None] = mapped_column(Date)
    paused_at: Mapped[datetime | None]
    paused_days: Mapped[int] = mapped_column(default=0)
    extended_days: Mapped[int] = mapped_column(default=0)
    last_progress_at: Mapped[datetime | None]
    # Since when a message of the case has not reached the citizen (held, or failed and not
    # made good by a later one); None when everything did. Kept by `cases.undelivered`.
    undelivered_since: Mapped[datetime | None]
    # The published version (None: the automatically redacted text is published). The
    # originals above are kept untouched.
    public_title: Mapped[str | None] = mapped_column(String(200))
    public_content: Mapped[str | None] = mapped_column(Text)
    public_answer: Mapped[str | None] = mapped_column(Text)
    # The citizen's verdict on the answer: "answered" is not "resolved".
    resolved: Mapped[str | None] = mapped_column(String(10))  # yes, no, partly
    rating: Mapped[int | None]  # 5 very satisfied ... 1 very dissatisfied
    rating_comment: Mapped[str | None] = mapped_column(Text)
    survey_asked_at: Mapped[datetime | None]
    survey_reminded_at: Mapped[datetime | None]
    survey_answered_at: Mapped[datetime | None]
    # Workflow outcomes (cases/workflow.py).
    reject_reason: Mapped[str | None] = mapped_column(String(40))
    escalated_to: Mapped[str | None] = mapped_column(String(200))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("pakn_case.id"))
    answer_text: Mapped[str | None] = mapped_column(Text)
    answer_drafted_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    answer_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    answered_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    citizen: Mapped[Citizen | None] = relationship()
    field: Mapped[Field] = relationship()
    unit: Mapped[Unit] = relationship()
    attachments: Mapped[list[CaseAttachment]] = relationship(
        back_populates="case", order_by="CaseAttachment.id"
    )
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case", order_by="CaseEvent.id")

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES


class AttachmentState(enum.StrEnum):
    PENDING = "pending"
    STORED = "stored"
    FAILED = "failed"
    REMOVED = "removed"  # the file was deleted with the sender's personal data (cases/privacy.py)


class CaseAttachment(Base):
    """A photo or file the citizen sent: Zalo's URL first, our stored copy once downloaded."""

    __tablename__ = "case_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("pakn_case.id"), index=True)
    media_type: Mapped[str] = mapped_column(String(20))  # image, file
    # "citizen": sent by the citizen; "answer": attached by staff to the answer.
    origin: Mapped[str] = mapped_column(String(20), default="citizen")
    source_url: Mapped[str] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(String(255))
    declared_size: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(String(100))
    storage_path: Mapped[str | None] = mapped_column(String(500))
    stored_size: Mapped[int | None]
    state: Mapped[AttachmentState] = mapped_column(
        text_enum(AttachmentState), default=AttachmentState.PENDING, index=True
    )
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="attachments")


class CaseEvent(Base):
    """A line of the case's timeline and audit trail: who did what, from which state to which."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("pakn_case.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(100))  # "citizen", "system", or "staff:<id>"
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)
    visible_to_citizen: Mapped[bool] = mapped_column(default=True)

    case: Mapped[Case] = relationship(back_populates="events")

    @classmethod
    def staff_note(
        cls, case_id: int, staff_id: int, action: str, note: str | None, at: datetime
    ) -> CaseEvent:
        """An internal entry a staff member wrote: no status change, not shown to the citizen."""
        return cls(
            case_id=case_id,
            at=at,
            action=action,
            actor=f"staff:{staff_id}",
            staff_id=staff_id,
            note=note,
            visible_to_citizen=False,
        )


class CaseDayCounter(Base):
    """The last sequence number used for case codes of one day of receipt (never reused)."""

    __tablename__ = "case_day_counter"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last_seq: Mapped[int] = mapped_column(default=0)


class CaseAlert(Base):
    """A deadline alert already raised for a case (so each reminder fires once per due date)."""

    __tablename__ = "case_alert"
    __table_args__ = (UniqueConstraint("case_id", "kind", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("pakn_case.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # due_soon, overdue, escalated, progress, ...
    key: Mapped[str] = mapped_column(String(40))  # e.g. the due date it was about
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseCount(Base):
    """How many cases each unit has in each status, kept in step by `cases.counts`.

    The queue's counts per status over a million cases come from here instead of a scan.
    """

    __tablename__ = "case_count"

    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


class CaseCountByDay(Base):
    """How many cases each unit received on each local day, per status, kept by `cases.counts`.

    The queue's counts per status over a period (whole days in Asia/Ho_Chi_Minh) add up these
    rows instead of scanning the cases. Not to be confused with `CaseDayCounter` (case codes).
    """

    __tablename__ = "case_count_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)  # local day of receipt
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), primary_key=True)
    status: Mapped[str] = mapped_column(String(32), primary_key=True)
    n: Mapped[int] = mapped_column(default=0)
