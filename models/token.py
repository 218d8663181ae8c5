"""The OA's token pair, encrypted at rest, and the shared send-rate bucket."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, text_enum, utcnow


class TokenStatus(enum.StrEnum):
    OK = "ok"
    MISSING = "missing"  # never seeded: an OA admin must connect the OA
    REFRESH_FAILED = "refresh_failed"  # the refresh token was refused: sending is stopped


class ZaloToken(Base):
    """The single OA token pair (row id 1). Tokens are Fernet-encrypted; never logged."""

    __tablename__ = "zalo_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    access_token_enc: Mapped[str | None] = mapped_column(Text)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text)
    access_expires_at: Mapped[datetime | None]
    generation: Mapped[int] = mapped_column(default=0)
    status: Mapped[TokenStatus] = mapped_column(text_enum(TokenStatus), default=TokenStatus.MISSING)
    source: Mapped[str | None] = mapped_column(String(40))  # env, refresh, console, cli, consent
    last_error: Mapped[str | None] = mapped_column(Text)
    refreshed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RateBucket(Base):
    """A token bucket shared by every process that calls Zalo (one row per limited API)."""

    __tablename__ = "rate_bucket"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    tokens: Mapped[float]
    per_minute: Mapped[int]
    updated_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]
