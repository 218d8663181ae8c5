"""What staff read for each timeline entry of a case: the console and the API show the same words.

Workflow actions read as their button; entries written outside the workflow have their own label.
(`cases.status.timeline_label` is the citizen-facing wording of the public lookup.)
"""

from __future__ import annotations

from cases import privacy, public_version, urging, workflow

STAFF_LABELS = {
    "received": "Tiếp nhận phản ánh, kiến nghị",
    "citizen_info": "Người gửi bổ sung thông tin",
    "info_received": "Người gửi đã bổ sung thông tin, tiếp tục xử lý",
    "informed_offline": "Đã thông báo cho người dân (ngoài Zalo)",
    "reopen_requested": "Người gửi đề nghị xem xét lại",
    privacy.ERASED_ACTION: "Xóa dữ liệu cá nhân",
    public_version.EDITED_ACTION: "Sửa nội dung công khai",
    public_version.RESET_ACTION: "Khôi phục nội dung công khai tự động",
    urging.URGED_ACTION: "Đã đôn đốc đơn vị",
    **{name: action.label for name, action in workflow.ACTIONS.items()},
}


def staff_label(action: str) -> str:
    """Return the staff-facing words for a timeline entry (its name when unknown)."""
    return STAFF_LABELS.get(action, action)
