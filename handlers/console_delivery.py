"""The delivery ledger as staff read it: each message of a case, its fate, and why.

Messages to citizens are outbox rows (`bot.delivery`); the case page lists every row of the case
with its state, channel and, when something is wrong, the reason in Vietnamese.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.clock import format_datetime
from models import HoldReason, MessageKind, OutboxMessage, OutboxState

# Outbox rows, as staff read them.
OUTBOX_STATE_LABELS = {
    OutboxState.PENDING: "Chờ gửi",
    OutboxState.SENDING: "Đang gửi",
    OutboxState.SENT: "Đã gửi",
    OutboxState.DELIVERED: "Đã nhận",
    OutboxState.SEEN: "Đã xem",
    OutboxState.HELD: "Đang giữ lại (chưa gửi được)",
    OutboxState.FAILED: "Gửi thất bại",
}
MESSAGE_KIND_LABELS = {
    MessageKind.REPLY: "Tin trả lời",
    MessageKind.ACKNOWLEDGEMENT: "Xác nhận tiếp nhận",
    MessageKind.STATUS_UPDATE: "Cập nhật tiến độ",
    MessageKind.INFO_REQUEST: "Đề nghị bổ sung thông tin",
    MessageKind.ANSWER: "Kết quả trả lời",
    MessageKind.REMINDER: "Nhắc việc",
    MessageKind.SURVEY: "Khảo sát mức độ hài lòng",
}
DELIVERY_CHANNEL_LABELS = {
    "consultation": "Tin tư vấn",
    "template": "Tin mẫu theo Zalo ID",
    "phone": "Tin mẫu qua số điện thoại",
}
HOLD_REASON_LABELS = {
    HoldReason.OUTSIDE_WINDOW: "quá 7 ngày người dân không tương tác",
    HoldReason.UNREACHABLE: "người dân đã chặn OA / không liên lạc được",
    HoldReason.OUT_OF_QUOTA: "hết hạn mức gửi tin",
}
EXCERPT_LENGTH = 120


@dataclass(frozen=True)
class DeliveryView:
    """One outbox row of a case, in the words staff read."""

    queued_at: datetime
    kind: str
    excerpt: str
    state: str
    state_label: str
    state_at: datetime | None
    channel: str
    attempts: int
    reason: str


def message_excerpt(payload: dict[str, Any]) -> str:
    """Return the start of a queued message's text, or what it carries when it has none."""
    attachment = payload.get("attachment") or {}
    inner = attachment.get("payload") or {}
    text = payload.get("text") or inner.get("text")
    if isinstance(text, str) and text.strip():
        text = " ".join(text.split())
        return text if len(text) <= EXCERPT_LENGTH else text[: EXCERPT_LENGTH - 1] + "…"
    upload = payload.get("_upload") or {}
    if upload:
        label = "Ảnh" if upload.get("media_type") == "image" else "Tệp"
        return f"[{label}] {upload.get('name') or ''}".strip()
    if attachment.get("type") == "file":
        return "[Tệp]"
    if inner.get("template_type") == "media":
        return "[Ảnh]"
    if inner.get("template_type") == "request_user_info":
        return "[Thẻ đề nghị chia sẻ thông tin liên hệ]"
    return "—"


def zalo_error_words(code: int | None, message: str | None) -> str:
    """Describe a Zalo error for staff: its code and Zalo's own message."""
    message = (message or "").strip()
    if code is None:
        return f"Lỗi: {message}" if message else "Lỗi không rõ"
    # The ledger keeps `str(error)`, which already starts with the code.
    message = message.removeprefix(f"Zalo error {code}:").strip()
    return f"Zalo báo lỗi {code}: {message}" if message else f"Zalo báo lỗi {code}"


def delivery_reason(row: OutboxMessage) -> str:
    """Say why a row is held, failed or waiting for a retry ("" when nothing is wrong)."""
    if row.state is OutboxState.HELD:
        words = HOLD_REASON_LABELS.get(row.held_reason) or "chưa rõ lý do"  # type: ignore[arg-type]
        if row.last_error_code is not None:
            words += f" (mã lỗi Zalo {row.last_error_code})"
        return f"Giữ lại vì {words}"
    if row.state is OutboxState.FAILED:
        return zalo_error_words(row.last_error_code, row.last_error)
    if row.state is OutboxState.PENDING and row.attempts and row.last_error:
        before = (
            f"Lần gửi trước bị lỗi {row.last_error_code}"
            if row.last_error_code is not None
            else "Lần gửi trước bị gián đoạn"
        )
        return f"{before}; sẽ gửi lại lúc {format_datetime(row.next_attempt_at)}"
    return ""


def _state_time(row: OutboxMessage) -> datetime | None:
    return {
        OutboxState.SENT: row.sent_at,
        OutboxState.DELIVERED: row.delivered_at,
        OutboxState.SEEN: row.seen_at,
        OutboxState.HELD: row.held_since,
    }.get(row.state)


def delivery_view(row: OutboxMessage) -> DeliveryView:
    """Describe one outbox row for the case page."""
    return DeliveryView(
        queued_at=row.queued_at,
        kind=MESSAGE_KIND_LABELS.get(row.kind, str(row.kind)),
        excerpt=message_excerpt(row.payload or {}),
        state=row.state.value,
        state_label=OUTBOX_STATE_LABELS.get(row.state, row.state.value),
        state_at=_state_time(row),
        channel=DELIVERY_CHANNEL_LABELS.get(row.channel or "", row.channel or "—"),
        attempts=row.attempts,
        reason=delivery_reason(row),
    )


def case_deliveries(session: Session, case_id: int) -> list[DeliveryView]:
    """Every message queued for the citizen about this case, in sending order."""
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.case_id == case_id)
        .order_by(OutboxMessage.queued_at, OutboxMessage.id)
    )
    return [delivery_view(row) for row in rows]
