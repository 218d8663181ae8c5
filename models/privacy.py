"""Personal-data bookkeeping: each anonymisation of a citizen's data, and each time a staff member
was shown a case's contact data in clear. Neither row holds any personal data itself."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, text_enum, utcnow


class ErasureTrigger(enum.StrEnum):
    CHAT_REQUEST = "chat_request"  # the citizen asked in chat ("Xóa dữ liệu")
    USER_WITHDRAW = "user_withdraw"  # Zalo's user_withdraw event
    RETENTION = "retention"  # closed longer than PERSONAL_DATA_RETENTION_DAYS


class PersonalDataErasure(Base):
    """One anonymisation: what triggered it, who, when, and how much was removed (never what)."""

    __tablename__ = "personal_data_erasure"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    trigger: Mapped[ErasureTrigger] = mapped_column(text_enum(ErasureTrigger))
    actor: Mapped[str] = mapped_column(String(100))  # "citizen", "zalo" or "system"
    # The anonymised citizen row (it no longer identifies anyone); None for case-only erasures.
    citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"), index=True)
    # What was removed, counted: {"cases": 2, "attachments": 1, "inbound_events": 14, ...}.
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ContactAccess(Base):
    """A staff member was shown a case's contact data in clear: who, which case, when, where."""

    __tablename__ = "contact_access"
    # The case page lists a case's latest views.
    __table_args__ = (Index("ix_contact_access_case_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("pakn_case.id"))
    place: Mapped[str] = mapped_column(String(40))  # "console_case", "api_case"
