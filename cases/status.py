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
