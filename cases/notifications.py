"""What the citizen is told at each citizen-visible transition, queued as outbox rows.

`cases` never imports `bot`: a transition writes outbox rows whose payload is the plain message
(`{"text": ...}`, or an `_upload` description of a file) plus a `_context` for template
channels; `bot.delivery` plans the channel and sends them after the commit.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from cases.clock import format_date
from cases.status import status_label
from models import Case, CaseAttachment, MessageKind, OutboxMessage

MAX_MESSAGE = 2000
# Zalo accepts these for upload: images as photos (<= 1 MB), documents as files (<= 5 MB).
UPLOADABLE = {
    "image/jpeg": ("image", 1024 * 1024),
    "image/png": ("image", 1024 * 1024),
    "application/pdf": ("file", 5 * 1024 * 1024),
    "application/msword": ("file", 5 * 1024 * 1024),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        "file",
        5 * 1024 * 1024,
    ),
    "text/csv": ("file", 5 * 1024 * 1024),
}

TEXTS: dict[str, str] = {
    "rejected": ("{code} không được tiếp nhận.\nLý do: {reason}\n{note}"),
    "transferred": "{code} đã được chuyển đến {unit} để xem xét, xử lý.",
    "accepted": "{code} đang được {unit} xử lý.",
    "info_requested": (
        "Để xử lý {code}, {unit} đề nghị Ông/Bà bổ sung thông tin:\n{note}\n"
        'Ông/Bà trả lời ngay trong cuộc trò chuyện này; gõ "xong" khi đã gửi đủ.'
    ),
    "progress": "Cập nhật tiến độ {code}:\n{note}",
    "answered": "Kết quả trả lời {code} ({title}):\n\n{answer}",
    "answer_files": "Kèm theo kết quả trả lời là {count} tệp, gửi ngay sau đây.",
    "answer_files_online": (
        "Các tệp sau không gửi được qua Zalo; Ông/Bà vui lòng liên hệ {unit} để nhận: {names}."
    ),
    "published": "Kết quả trả lời {code} đã được công khai.",
    "escalated": (
        "{code} vượt thẩm quyền giải quyết của {unit} và đã được báo cáo {target}. "
        "Ông/Bà sẽ được thông báo khi có kết quả."
    ),
    "merged": (
        "{code} có cùng nội dung với {other} nên được gộp vào {other}. "
        "Ông/Bà theo dõi kết quả theo mã {other}."
    ),
    "reopened": "{code} được mở lại để tiếp tục xem xét, xử lý.",
    "extended": ("Thời hạn trả lời {code} được gia hạn đến ngày {due}.\nLý do: {note}"),
    "resumed": "Cảm ơn Ông/Bà đã bổ sung thông tin. {code} tiếp tục được xử lý.",
    # Added by the monitoring work (cases/monitoring.py) pending the lead's review: the standard
    # progress update sent to the citizen every 7 days while a case is late.
    "late_progress": (
        "{code} đang được {unit} tiếp tục xử lý; cơ quan sẽ thông báo kết quả sớm nhất. "
        "Xin cảm ơn Ông/Bà đã kiên nhẫn chờ đợi."
    ),
}
KINDS: dict[str, MessageKind] = {
    "info_requested": MessageKind.INFO_REQUEST,
    "answered": MessageKind.ANSWER,
    "answer_files": MessageKind.ANSWER,
    "answer_files_online": MessageKind.ANSWER,
}


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split `text` (NFC) into messages of at most `limit` characters, at line or word breaks."""
    text = unicodedata.normalize("NFC", text).strip()
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        if cut < limit // 2:
            cut = text.rfind(" ", 0, limit + 1)
        if cut < limit // 2:
            cut = limit
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        parts.append(text)
    return parts


def context_of(case: Case) -> dict[str, Any]:
    """Values a template message may show (no personal data beyond what the citizen gave)."""
    return {
        "case_code": case.code,
        "title": case.title[:100],
        "status": status_label(case.status),
        "due_date": format_date(case.answer_due_on),
        "unit": case.unit.name if case.unit else "",
        "name": case.contact_name or "",
    }


def notify(session: Session, case: Case, event: str, now: datetime, **values: Any) -> int:
    """Queue the message for `event` to the case's citizen; return the number of rows queued."""
    if case.citizen_id is None:
        return 0  # received on paper, by phone or email: staff inform the citizen that way
    fields = {
        "code": case.code,
        "title": case.title,
        "unit": case.unit.name if case.unit else "",
        **values,
    }
    text = TEXTS[event].format(**fields).strip()
    kind = KINDS.get(event, MessageKind.STATUS_UPDATE)
    context = context_of(case)
    rows = 0
    for part in split_text(text):
        _queue(session, case, {"text": part, "_context": context}, kind, now)
        rows += 1
    return rows


def notify_answer(session: Session, case: Case, now: datetime) -> int:
    """Queue the full answer, split at 2,000 characters, followed by its attachments."""
    rows = notify(session, case, "answered", now, answer=case.answer_text or "")
    if case.citizen_id is None:
        return rows
    files = [a for a in case.attachments if a.origin == "answer" and a.storage_path]
    sendable = [a for a in files if _uploadable(a)]
    others = [a for a in files if not _uploadable(a)]
    if sendable:
        rows += notify(session, case, "answer_files", now, count=len(sendable))
    for attachment in sendable:
        media_type, _limit = UPLOADABLE[attachment.content_type or ""]
        payload = {
            "_upload": {
                "path": attachment.storage_path,
                "media_type": media_type,
                "name": attachment.file_name or Path(attachment.storage_path).name,
                "content_type": attachment.content_type,
            },
            "_context": context_of(case),
        }
        _queue(session, case, payload, MessageKind.ANSWER, now)
        rows += 1
    if others:
        names = ", ".join(a.file_name or "tệp" for a in others)
        rows += notify(session, case, "answer_files_online", now, names=names)
    return rows


def _uploadable(attachment: CaseAttachment) -> bool:
    spec = UPLOADABLE.get(attachment.content_type or "")
    return spec is not None and (attachment.stored_size or 0) <= spec[1]


def queue_message(
    session: Session,
    citizen_id: int,
    payload: dict[str, Any],
    kind: MessageKind,
    now: datetime,
    case_id: int | None = None,
) -> OutboxMessage:
    """Add one outbox row (the only place rows are built; `bot.delivery.enqueue` calls it too)."""
    row = OutboxMessage(
        citizen_id=citizen_id,
        case_id=case_id,
        kind=kind,
        payload=payload,
        queued_at=now,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(row)
    return row


def _queue(
    session: Session, case: Case, payload: dict[str, Any], kind: MessageKind, now: datetime
) -> None:
    assert case.citizen_id is not None
    queue_message(session, case.citizen_id, payload, kind, now, case_id=case.id)
