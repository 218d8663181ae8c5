"""Registering a PAKN: the case code, the case row, its attachments and the first timeline entry.

Domain operations only `flush()`; the caller owns the transaction and commits once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import deadlines
from cases.clock import local_date
from models import (
    CLOSED_STATUSES,
    Case,
    CaseAttachment,
    CaseDayCounter,
    CaseEvent,
    CaseKind,
    CaseStatus,
)
from models.db import insert_for


class IntakeError(ValueError):
    """The submission is incomplete or inconsistent."""


@dataclass
class Submission:
    """What a citizen (or staff on their behalf) submits."""

    kind: CaseKind
    field_id: int
    unit_id: int
    title: str
    content: str
    contact_name: str
    contact_phone: str
    contact_address: str
    contact_email: str | None = None
    hide_identity: bool = False
    location_address: str | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    consent_version: str | None = None
    channel: str = "zalo"
    urgent: bool = False


def next_case_code(session: Session, day: date) -> str:
    """Reserve the next code of `day` (PAKN.YYYYMMDD.NNNN); atomic under concurrent submissions."""
    insert = insert_for(session)
    stmt = (
        insert(CaseDayCounter)
        .values(day=day, last_seq=1)
        .on_conflict_do_update(
            index_elements=[CaseDayCounter.day],
            set_={"last_seq": CaseDayCounter.last_seq + 1},
        )
        .returning(CaseDayCounter.last_seq)
    )
    seq = session.execute(stmt).scalar_one()
    return f"PAKN.{day:%Y%m%d}.{seq:04d}"


def submit_case(
    session: Session,
    submission: Submission,
    citizen_id: int | None,
    now: datetime,
    answer_days: int,
) -> Case:
    """Register a new case with its attachments and the 'received' timeline entry."""
    if not submission.title.strip() or not submission.content.strip():
        raise IntakeError("title and content are required")
    if not (submission.contact_name and submission.contact_phone and submission.contact_address):
        raise IntakeError("name, phone and address of the sender are required")
    case = Case(
        code=next_case_code(session, local_date(now)),
        urgent=submission.urgent,
        kind=submission.kind,
        status=CaseStatus.RECEIVED,
        channel=submission.channel,
        citizen_id=citizen_id,
        field_id=submission.field_id,
        unit_id=submission.unit_id,
        title=submission.title.strip(),
        content=submission.content.strip(),
        location_address=submission.location_address,
        latitude=submission.latitude,
        longitude=submission.longitude,
        contact_name=submission.contact_name,
        contact_phone=submission.contact_phone,
        contact_address=submission.contact_address,
        contact_email=submission.contact_email,
        hide_identity=submission.hide_identity,
        consent_text_version=submission.consent_version,
        consent_at=now if submission.consent_version else None,
        received_at=now,
        updated_at=now,
    )
    deadlines.set_due_dates(
        case,
        deadlines.load_calendar(session),
        deadlines.policy_for(session, submission.field_id, answer_days),
    )
    session.add(case)
    session.flush()
    for item in submission.attachments:
        add_attachment(session, case, item, now)
    session.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            action="received",
            actor="citizen",
            to_status=CaseStatus.RECEIVED.value,
        )
    )
    session.flush()
    return case


def add_attachment(
    session: Session, case: Case, item: dict[str, Any], now: datetime
) -> CaseAttachment:
    """Record a photo or file by its Zalo URL; the worker downloads it into storage."""
    attachment = CaseAttachment(
        case_id=case.id,
        media_type=item["media_type"],
        source_url=item["url"],
        file_name=item.get("name"),
        declared_size=item.get("size"),
        created_at=now,
    )
    session.add(attachment)
    return attachment


def add_citizen_info(
    session: Session,
    case: Case,
    now: datetime,
    text: str = "",
    attachments: list[dict[str, Any]] | None = None,
) -> None:
    """Attach what the citizen sent later to their case, as a timeline entry staff can read."""
    for item in attachments or []:
        add_attachment(session, case, item, now)
    note = text.strip() or None
    if attachments:
        count = f"[{len(attachments)} tệp đính kèm]"
        note = f"{note}\n{count}" if note else count
    session.add(
        CaseEvent(case_id=case.id, at=now, action="citizen_info", actor="citizen", note=note)
    )
    case.updated_at = now
    session.flush()


def open_cases(session: Session, citizen_id: int) -> list[Case]:
    """The citizen's cases still being handled, newest first."""
    return list(
        session.scalars(
            select(Case)
            .where(Case.citizen_id == citizen_id, Case.status.not_in(CLOSED_STATUSES))
            .order_by(Case.received_at.desc(), Case.id.desc())
        )
    )


def citizen_cases(session: Session, citizen_id: int, limit: int = 10) -> list[Case]:
    """The citizen's cases, newest first."""
    return list(
        session.scalars(
            select(Case)
            .where(Case.citizen_id == citizen_id)
            .order_by(Case.received_at.desc(), Case.id.desc())
            .limit(limit)
        )
    )


def citizen_case_by_code(session: Session, citizen_id: int, code: str) -> Case | None:
    """The case with `code` if it belongs to this citizen; never another citizen's case."""
    return session.scalars(
        select(Case).where(Case.code == code, Case.citizen_id == citizen_id)
    ).first()
