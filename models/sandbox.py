"""What the sandbox stand-in of the Zalo API received, so the simulator can show the bot's replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, utcnow


class SandboxRecord(Base):
    """One request the sandbox Zalo API received (a sent message, an upload, a token refresh)."""

    __tablename__ = "sandbox_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(100))
    zalo_user_id: Mapped[str | None] = mapped_column(String(40), index=True)
    body: Mapped[dict[str, Any]]
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxMedia(Base):
    """A file the simulator 'uploaded to Zalo's CDN', served back under /_sandbox/zalo/media."""

    __tablename__ = "sandbox_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    file_name: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    storage_path: Mapped[str] = mapped_column(String(500))
    size: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
