"""The organisation: units (a tree), fields (lĩnh vực) and staff accounts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow


class Unit(Base):
    """A unit of the agency: the coordinating office, a department, a district or a ward."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    is_coordinator: Mapped[bool] = mapped_column(default=False)
    # Staff of this unit also see and handle the cases of the units below it (a district and
    # its wards, say).
    include_subunits: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    parent: Mapped[Unit | None] = relationship(remote_side=[id])


class Field(Base):
    """A field (lĩnh vực) a PAKN is about, with the unit that receives it by default."""

    __tablename__ = "field"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    default_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    active: Mapped[bool] = mapped_column(default=True)
    sort_order: Mapped[int] = mapped_column(default=0)

    default_unit: Mapped[Unit | None] = relationship()


class Staff(Base):
    """A staff account; `roles` is a comma-separated subset of ROLES."""

    __tablename__ = "staff"

    ROLES = ("admin", "coordinator", "handler", "leader")

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(300))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    roles: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)
    # The staff member's own Zalo account (linked with a one-time code): reminders reach them there.
    zalo_citizen_id: Mapped[int | None] = mapped_column(ForeignKey("citizen.id"))
    link_code: Mapped[str | None] = mapped_column(String(20), unique=True)
    link_code_expires_at: Mapped[datetime | None]

    unit: Mapped[Unit] = relationship()

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)


class ResponseTemplate(Base):
    """A reusable text for a workflow step (and optionally a field), with {placeholders}."""

    __tablename__ = "response_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(40), index=True)  # a workflow action name
    field_id: Mapped[int | None] = mapped_column(ForeignKey("field.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
