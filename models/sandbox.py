"""What the sandbox stand-in of the Zalo API received and the Zalo-side state it plays.

Everything Zalo itself would know lives here, in the database so that every web worker agrees:
the requests received (to show the bot's replies), uploaded files, each pretend citizen's last
interaction (the 7-day window), the OA's token pairs (single-use refresh tokens) and the failures
a developer asked the next sends to meet.
"""

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


class SandboxUser(Base):
    """A pretend citizen as Zalo knows them: when they last interacted with the OA."""

    __tablename__ = "sandbox_user"

    zalo_user_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_interaction_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SandboxToken(Base):
    """One token pair the sandbox OAuth issued; at most one is active (the live grant).

    Generation 0 is the pair from configuration, stored only once it is refreshed or revoked.
    The unique generation makes two workers refreshing the same token at once collide.
    """

    __tablename__ = "sandbox_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    generation: Mapped[int] = mapped_column(unique=True)
    access_token: Mapped[str] = mapped_column(String(200))
    refresh_token: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    grant: Mapped[str] = mapped_column(String(40))  # config, refresh_token, authorization_code
    code: Mapped[str | None] = mapped_column(String(500))  # the consent code it was issued for
    retired_reason: Mapped[str | None] = mapped_column(String(40))  # refreshed, revoked, replaced
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]


class SandboxFault(Base):
    """A failure the next `remaining` consultation sends meet (HTTP 500 is stored as code 500)."""

    __tablename__ = "sandbox_fault"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[int]
    remaining: Mapped[int]
    # None: the next sends to anyone; else only sends to this citizen.
    zalo_user_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
