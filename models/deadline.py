"""Deadline configuration: per-field policies and the calendar's exceptions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class DeadlinePolicy(Base):
    """How long each step may take for cases of a field (`field_id` None: the default policy)."""

    __tablename__ = "deadline_policy"

    id: Mapped[int] = mapped_column(primary_key=True)
    field_id: Mapped[int | None] = mapped_column(ForeignKey("field.id"), unique=True)
    classify_working_days: Mapped[int] = mapped_column(default=5)
    answer_days: Mapped[int] = mapped_column(default=20)
    answer_in_working_days: Mapped[bool] = mapped_column(default=False)
    progress_every_days: Mapped[int] = mapped_column(default=7)
    publish_working_days: Mapped[int] = mapped_column(default=2)
    urgent_takeup_hours: Mapped[int] = mapped_column(default=8)
    urgent_handle_hours: Mapped[int] = mapped_column(default=4)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))


class CalendarException(Base):
    """A day the government moved: an extra day off, or a make-up working day (a Saturday)."""

    __tablename__ = "calendar_exception"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    working: Mapped[bool]  # True: a make-up working day; False: an extra day off
    note: Mapped[str] = mapped_column(String(200), default="")
