"""Notices for staff in the console: alerts and digests, posted at most once per dedup key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import StaffNotice
from models.db import insert_for


def post_notice(
    session: Session,
    kind: str,
    role: str,
    title: str,
    body: str,
    now: datetime,
    dedup_key: str | None = None,
    unit_id: int | None = None,
) -> bool:
    """Add a notice unless one with the same `dedup_key` exists; True if added."""
    insert = insert_for(session)
    stmt = insert(StaffNotice).values(
        kind=kind,
        role=role,
        unit_id=unit_id,
        title=title,
        body=body,
        dedup_key=dedup_key,
        created_at=now,
    )
    if dedup_key is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=[StaffNotice.dedup_key])
    return session.execute(stmt.returning(StaffNotice.id)).scalar_one_or_none() is not None


def notices_for(
    session: Session, roles: frozenset[str], unit_id: int | None, limit: int = 20
) -> list[StaffNotice]:
    """The newest notices addressed to any of `roles` (for the unit, or for every unit)."""
    stmt = (
        select(StaffNotice)
        .where(StaffNotice.role.in_(roles))
        .where((StaffNotice.unit_id.is_(None)) | (StaffNotice.unit_id == unit_id))
        .order_by(StaffNotice.created_at.desc(), StaffNotice.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def latest_by_unit(session: Session, kind: str, unit_id: int | None = None) -> dict[int, datetime]:
    """When a notice of `kind` was last posted to each unit (or to `unit_id` only)."""
    stmt = (
        select(StaffNotice.unit_id, func.max(StaffNotice.created_at))
        .where(StaffNotice.kind == kind, StaffNotice.unit_id.is_not(None))
        .group_by(StaffNotice.unit_id)
    )
    if unit_id is not None:
        stmt = stmt.where(StaffNotice.unit_id == unit_id)
    return {unit: at for unit, at in session.execute(stmt) if unit is not None}
