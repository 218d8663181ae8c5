"""The words citizens and staff see for each case status and kind (pakn-domain.md's table)."""

from __future__ import annotations

from models import CaseKind, CaseStatus

STATUS_LABELS: dict[CaseStatus, str] = {
    CaseStatus.RECEIVED: "Đã tiếp nhận",
    CaseStatus.REJECTED: "Không tiếp nhận",
    CaseStatus.TRANSFERRED: "Đã chuyển đơn vị xử lý",
    CaseStatus.PROCESSING: "Đang xử lý",
    CaseStatus.AWAITING_INFO: "Chờ bổ sung thông tin",
    CaseStatus.ANSWER_DRAFTED: "Đang hoàn thiện kết quả trả lời",
    CaseStatus.ANSWER_APPROVED: "Đang hoàn thiện kết quả trả lời",
    CaseStatus.ANSWERED: "Đã trả lời",
    CaseStatus.PUBLISHED: "Đã công khai kết quả",
    CaseStatus.ESCALATED: "Đã báo cáo cấp có thẩm quyền",
    CaseStatus.MERGED: "Đã gộp với PAKN khác",
}

KIND_LABELS: dict[CaseKind, str] = {
    CaseKind.FEEDBACK: "Phản ánh",
    CaseKind.PETITION: "Kiến nghị",
}


def status_label(status: CaseStatus | str) -> str:
    """Return the Vietnamese words for a case status."""
    return STATUS_LABELS[CaseStatus(status)]


def kind_label(kind: CaseKind | str) -> str:
    """Return the Vietnamese word for a case kind."""
    return KIND_LABELS[CaseKind(kind)]


# How each timeline entry reads for the citizen (lookup in chat and on the public page).
TIMELINE_LABELS: dict[str, str] = {
    "received": "Đã tiếp nhận",
    "citizen_info": "Ông/Bà bổ sung thông tin",
    "info_received": "Đã nhận thông tin bổ sung, tiếp tục xử lý",
    "reject": "Không tiếp nhận",
    "transfer": "Đã chuyển đơn vị xử lý",
    "handle_own": "Đang xử lý",
    "accept": "Đang xử lý",
    "request_info": "Đề nghị bổ sung thông tin",
    "resume": "Tiếp tục xử lý",
    "approve": "Đã trả lời",
    "check_answer": "Đã trả lời",
    "publish": "Đã công khai kết quả",
    "escalate": "Đã báo cáo cấp có thẩm quyền",
    "merge": "Đã gộp với PAKN khác",
    "reopen": "Mở lại để tiếp tục xử lý",
    "progress": "Cập nhật tiến độ",
    "extend": "Gia hạn thời hạn trả lời",
    "reopen_requested": "Ông/Bà đề nghị xem xét lại",
}


def timeline_label(action: str) -> str:
    """Return the citizen-facing words for a timeline entry."""
    return TIMELINE_LABELS.get(action, action)
