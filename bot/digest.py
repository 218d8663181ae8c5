"""The daily list, for coordinators, of answers and updates not yet delivered to the citizen."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.clock import format_datetime, local_date
from cases.contact import mask_phone
from cases.notices import post_notice
from models import Case, Citizen, HoldReason, MessageKind, OutboxMessage, OutboxState

REASONS = {
    HoldReason.OUTSIDE_WINDOW: "quá 7 ngày không tương tác",
    HoldReason.UNREACHABLE: "đã chặn OA hoặc không liên lạc được",
    HoldReason.OUT_OF_QUOTA: "hết hạn mức gửi tin",
}
LISTED_KINDS = (MessageKind.ANSWER, MessageKind.STATUS_UPDATE, MessageKind.INFO_REQUEST)


def held_items(session: Session) -> list[tuple[Case, Citizen, OutboxMessage]]:
    """Held answers, updates and questions, oldest first, with their case and citizen."""
    rows = session.execute(
        select(Case, Citizen, OutboxMessage)
        .join(Case, Case.id == OutboxMessage.case_id)
        .join(Citizen, Citizen.id == OutboxMessage.citizen_id)
        .where(OutboxMessage.state == OutboxState.HELD, OutboxMessage.kind.in_(LISTED_KINDS))
        .order_by(OutboxMessage.held_since, OutboxMessage.id)
    ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def post_held_digest(session: Session, now: datetime) -> bool:
    """Post today's digest once (whoever runs it); False when nothing is held or already posted."""
    items = held_items(session)
    if not items:
        return False
    lines = [
        f"• {case.code}: chưa gửi được từ {format_datetime(row.held_since or row.queued_at)} "
        f"({REASONS.get(row.held_reason, 'đang chờ')}); liên hệ {mask_phone(case.contact_phone)}"
        for case, _citizen, row in items
    ]
    body = "\n".join(
        [
            "Các thông báo sau chưa đến được người dân qua Zalo; đề nghị liên hệ bằng điện thoại:",
            *lines,
        ]
    )
    day = local_date(now)
    return post_notice(
        session,
        "held_digest",
        "coordinator",
        f"{len(items)} thông báo chưa gửi được ({day:%d/%m/%Y})",
        body,
        now,
        dedup_key=f"held_digest:{day.isoformat()}",
    )
