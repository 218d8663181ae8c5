"""Periodic PAKN reports: the coordinators' "difficulties and proposals" and the stored files."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class ReportNote(Base):
    """What the coordinators write under "Khó khăn, vướng mắc và đề xuất" for one period."""

    __tablename__ = "report_note"
    __table_args__ = (UniqueConstraint("period_kind", "period_start", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    period_kind: Mapped[str] = mapped_column(String(10))  # quarter, half, year, custom
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(Text, default="")
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class GeneratedReport(Base):
    """A report file written under STORAGE_DIR, by the worker at a period's end or by staff."""

    __tablename__ = "generated_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    period_kind: Mapped[str] = mapped_column(String(10))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    # The worker claims "<kind>:<start>:<end>" before writing, so each period's report is
    # generated once however often (or concurrently) the job runs; None for staff's own files.
    dedup_key: Mapped[str | None] = mapped_column(String(60), unique=True)
    file_path: Mapped[str] = mapped_column(String(500))
    file_name: Mapped[str] = mapped_column(String(200))
    generated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    generated_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))  # None: worker
