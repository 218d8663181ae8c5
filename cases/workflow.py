"""The case workflow: an explicit state machine of actions, who may take them, what follows.

Each `Action` names the states it starts from, the state it leads to, the roles allowed, whether
the actor must belong to the case's unit, the inputs it needs and what the citizen is told.
`perform()` is the one entry point for the console and the API alike: it checks everything
first, then applies the change, writes the audit row and queues the citizen's messages — all in
the caller's transaction (it only flushes), so a refused action changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import access, deadlines, monitoring, notifications
from cases.clock import format_date, format_datetime
from models import Case, CaseEvent, CaseStatus, Staff, Unit

S = CaseStatus
OPEN = frozenset(
    {
        S.RECEIVED,
        S.TRANSFERRED,
        S.PROCESSING,
        S.AWAITING_INFO,
        S.ANSWER_DRAFTED,
        S.ANSWER_APPROVED,
        S.ESCALATED,
    }
)
COORDINATOR = frozenset({"coordinator"})
UNIT_STAFF = frozenset({"handler", "leader"})
LEADERS = frozenset({"leader"})
ANY_HANDLER = frozenset({"coordinator", "handler", "leader"})

REJECT_REASONS: dict[str, str] = {
    "missing_identity": "Thiếu họ tên, địa chỉ hoặc số điện thoại của người gửi",
    "not_vietnamese": "Không sử dụng tiếng Việt",
    "unclear": "Nội dung không rõ ràng",
    "complaint": "Là khiếu nại, tố cáo: đề nghị gửi theo Luật Khiếu nại, Luật Tố cáo",
    "legal_advice": "Là yêu cầu tư vấn pháp luật, không thuộc phạm vi PAKN",
    "out_of_scope": "Không thuộc phạm vi tiếp nhận PAKN về quy định hành chính",
}
ESCALATION_TARGETS: dict[str, str] = {
    "city": "UBND thành phố",
    "government_office": "Văn phòng Chính phủ",
    "ministry": "Bộ, ngành có thẩm quyền",
}


class WorkflowError(Exception):
    """An action was refused; `code` is stable for the API, `message` is Vietnamese."""

    status = 409

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class NotAllowedError(WorkflowError):
    """The staff member's role or unit does not allow this action on this case."""

    status = 403


class InvalidInputError(WorkflowError):
    """A required input is missing or invalid."""

    status = 422


@dataclass(frozen=True)
class Action:
    """One transition of the state machine."""

    name: str
    label: str  # the button, in Vietnamese
    sources: frozenset[CaseStatus]
    target: CaseStatus | None  # None: the state does not change (notes)
    roles: frozenset[str]
    own_unit: bool  # the actor must work in the case's unit (handlers and leaders)
    needs: tuple[str, ...] = ()
    apply: Callable[[Session, Case, Staff, dict[str, Any], datetime], str | None] = field(
        default=lambda *_: None
    )
    visible: bool = True  # shown on the citizen's timeline


@dataclass(frozen=True)
class Settings:
    """Deployment choices the workflow reads."""

    coordinator_checks_answers: bool = False


def _require_text(data: dict[str, Any], key: str, label: str, minimum: int = 5) -> str:
    value = (
        " ".join(str(data.get(key) or "").split())
        if key != "answer"
        else str(data.get(key) or "").strip()
    )
    if len(value) < minimum:
        raise InvalidInputError(
            f"missing_{key}", f"Vui lòng nhập {label} (tối thiểu {minimum} ký tự)."
        )
    return value


# --- effects ----------------------------------------------------------------------------------
def _reject(session, case, staff, data, now):
    reason = data.get("reason")
    if reason not in REJECT_REASONS:
        raise InvalidInputError("missing_reason", "Vui lòng chọn lý do không tiếp nhận.")
    note = str(data.get("note") or "").strip()
    case.reject_reason = reason
    notifications.notify(session, case, "rejected", now, reason=REJECT_REASONS[reason], note=note)
    return f"{REJECT_REASONS[reason]}. {note}".strip()


def _target_unit(session: Session, data: dict[str, Any]) -> Unit:
    unit = session.get(Unit, int(data.get("unit_id") or 0))
    if unit is None or not unit.active:
        raise InvalidInputError("missing_unit", "Vui lòng chọn đơn vị xử lý.")
    return unit


def _transfer(session, case, staff, data, now):
    unit = _target_unit(session, data)
    case.unit_id, case.unit = unit.id, unit
    notifications.notify(session, case, "transferred", now)
    return str(data.get("note") or "").strip() or f"Chuyển {unit.name}"


def _handle_own(session, case, staff, data, now):
    case.unit_id, case.unit = staff.unit_id, staff.unit
    notifications.notify(session, case, "accepted", now)
    return str(data.get("note") or "").strip() or None


def _accept(session, case, staff, data, now):
    notifications.notify(session, case, "accepted", now)
    return str(data.get("note") or "").strip() or None


def _return_to_coordinator(session, case, staff, data, now):
    note = _require_text(data, "note", "lý do trả lại")
    coordinator = session.scalars(select(Unit).where(Unit.is_coordinator.is_(True))).first()
    if coordinator is not None:
        case.unit_id, case.unit = coordinator.id, coordinator
    return note


def _request_info(session, case, staff, data, now):
    question = _require_text(data, "note", "nội dung cần bổ sung", minimum=10)
    deadlines.pause(case, now)
    notifications.notify(session, case, "info_requested", now, note=question)
    return question


def _resume(session, case, staff, data, now):
    deadlines.resume(case, deadlines.load_calendar(session), now)
    return str(data.get("note") or "").strip() or None


def _extend(session, case, staff, data, now):
    try:
        days = int(data.get("days") or 0)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= 60:
        raise InvalidInputError("missing_days", "Số ngày gia hạn phải từ 1 đến 60.")
    reason = _require_text(data, "note", "lý do gia hạn", minimum=10)
    due = deadlines.extend(case, deadlines.load_calendar(session), days)
    notifications.notify(session, case, "extended", now, due=format_date(due), note=reason)
    return f"Gia hạn {days} ngày, đến {format_date(due)}: {reason}"


def _draft_answer(session, case, staff, data, now):
    # Browsers send a textarea's line breaks as CRLF; Zalo shows a stray "\r".
    text = str(data.get("answer") or "").replace("\r\n", "\n").replace("\r", "\n")
    case.answer_text = _require_text({"answer": text}, "answer", "nội dung trả lời", minimum=20)
    case.answer_drafted_by_id = staff.id
    return None


def _approve(session, case, staff, data, now):
    case.answer_approved_by_id = staff.id
    return str(data.get("note") or "").strip() or None


def _send_answer(session, case, staff, data, now):
    if not (case.answer_text or "").strip():
        raise InvalidInputError("missing_answer", "Chưa có nội dung trả lời.")
    case.answered_at = now
    deadlines.set_publish_due(case, deadlines.load_calendar(session), now)
    notifications.notify_answer(session, case, now)
    return str(data.get("note") or "").strip() or None


def _approve_and_send(session, case, staff, data, now):
    case.answer_approved_by_id = staff.id
    return _send_answer(session, case, staff, data, now)


def _return_answer(session, case, staff, data, now):
    return _require_text(data, "note", "ý kiến khi trả lại dự thảo")


def _publish(session, case, staff, data, now):
    case.published_at = now
    notifications.notify(session, case, "published", now)
    return None


def _escalate(session, case, staff, data, now):
    target = data.get("target")
    if target not in ESCALATION_TARGETS:
        raise InvalidInputError("missing_target", "Vui lòng chọn cơ quan báo cáo.")
    report = _require_text(data, "note", "nội dung báo cáo", minimum=20)
    case.escalated_to = ESCALATION_TARGETS[target]
    notifications.notify(session, case, "escalated", now, target=case.escalated_to)
    return report


def _merge(session, case, staff, data, now):
    code = str(data.get("target_code") or "").strip().upper()
    other = session.scalars(select(Case).where(Case.code == code)).first()
    if other is None or other.id == case.id or other.status is S.MERGED:
        raise InvalidInputError("missing_target_code", "Vui lòng nhập mã PAKN hợp lệ để gộp vào.")
    case.merged_into_id = other.id
    notifications.notify(session, case, "merged", now, other=other.code)
    return f"Gộp vào {other.code}. {data.get('note') or ''}".strip()


def _reopen(session, case, staff, data, now):
    note = _require_text(data, "note", "lý do mở lại")
    case.answered_at = None
    case.publish_due_on = None
    notifications.notify(session, case, "reopened", now)
    return note


def _progress(session, case, staff, data, now):
    note = _require_text(data, "note", "nội dung cập nhật", minimum=10)
    case.last_progress_at = now
    notifications.notify(session, case, "progress", now, note=note)
    return note


def _comment(session, case, staff, data, now):
    return _require_text(data, "note", "ý kiến", minimum=2)


def _mark_urgent(session, case, staff, data, now):
    reason = _require_text(data, "note", "lý do đánh dấu khẩn")
    due = deadlines.mark_urgent(case, deadlines.load_calendar(session), now)
    monitoring.announce_urgent(session, case, reason, now)
    return f"Khẩn, hạn xử lý {format_datetime(due)}: {reason}"


def _unmark_urgent(session, case, staff, data, now):
    reason = _require_text(data, "note", "lý do bỏ đánh dấu khẩn")
    deadlines.unmark_urgent(case)
    return reason


ANSWER_STATES = frozenset({S.ANSWER_DRAFTED, S.ANSWER_APPROVED})
ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            "reject",
            "Không tiếp nhận",
            frozenset({S.RECEIVED}),
            S.REJECTED,
            COORDINATOR,
            False,
            ("reason",),
            _reject,
        ),
        Action(
            "transfer",
            "Chuyển đơn vị xử lý",
            frozenset({S.RECEIVED}),
            S.TRANSFERRED,
            COORDINATOR,
            False,
            ("unit_id",),
            _transfer,
        ),
        Action(
            "handle_own",
            "Tự xử lý",
            frozenset({S.RECEIVED}),
            S.PROCESSING,
            COORDINATOR,
            False,
            (),
            _handle_own,
        ),
        Action(
            "accept",
            "Nhận xử lý",
            frozenset({S.TRANSFERRED}),
            S.PROCESSING,
            UNIT_STAFF,
            True,
            (),
            _accept,
        ),
        Action(
            "return_to_coordinator",
            "Trả lại đầu mối (sai thẩm quyền)",
            frozenset({S.TRANSFERRED}),
            S.RECEIVED,
            UNIT_STAFF,
            True,
            ("note",),
            _return_to_coordinator,
            visible=False,
        ),
        Action(
            "request_info",
            "Đề nghị bổ sung thông tin",
            frozenset({S.PROCESSING}),
            S.AWAITING_INFO,
            ANY_HANDLER,
            True,
            ("note",),
            _request_info,
        ),
        Action(
            "resume",
            "Tiếp tục xử lý",
            frozenset({S.AWAITING_INFO, S.ESCALATED}),
            S.PROCESSING,
            ANY_HANDLER,
            True,
            (),
            _resume,
        ),
        Action(
            "draft_answer",
            "Lưu dự thảo trả lời",
            frozenset({S.PROCESSING, S.ANSWER_DRAFTED}),
            S.ANSWER_DRAFTED,
            ANY_HANDLER,
            True,
            ("answer",),
            _draft_answer,
            visible=False,
        ),
        Action(
            "approve",
            "Phê duyệt và gửi trả lời",
            frozenset({S.ANSWER_DRAFTED}),
            S.ANSWERED,
            LEADERS,
            True,
            (),
            _approve_and_send,
        ),
        Action(
            "approve_for_check",
            "Phê duyệt, chuyển đầu mối kiểm tra",
            frozenset({S.ANSWER_DRAFTED}),
            S.ANSWER_APPROVED,
            LEADERS,
            True,
            (),
            _approve,
            visible=False,
        ),
        Action(
            "check_answer",
            "Kiểm tra, đồng ý và gửi trả lời",
            frozenset({S.ANSWER_APPROVED}),
            S.ANSWERED,
            COORDINATOR,
            False,
            (),
            _send_answer,
        ),
        Action(
            "return_answer",
            "Trả lại dự thảo",
            ANSWER_STATES,
            S.PROCESSING,
            frozenset({"leader", "coordinator"}),
            True,
            ("note",),
            _return_answer,
            visible=False,
        ),
        Action(
            "publish",
            "Công khai kết quả",
            frozenset({S.ANSWERED}),
            S.PUBLISHED,
            COORDINATOR,
            False,
            (),
            _publish,
        ),
        Action(
            "escalate",
            "Báo cáo cấp có thẩm quyền",
            OPEN - {S.ESCALATED},
            S.ESCALATED,
            COORDINATOR,
            False,
            ("target", "note"),
            _escalate,
        ),
        Action(
            "merge",
            "Gộp vào PAKN khác",
            OPEN,
            S.MERGED,
            COORDINATOR,
            False,
            ("target_code",),
            _merge,
        ),
        Action(
            "reopen",
            "Mở lại",
            frozenset({S.ANSWERED, S.PUBLISHED}),
            S.PROCESSING,
            COORDINATOR,
            False,
            ("note",),
            _reopen,
        ),
        Action(
            "extend",
            "Gia hạn thời hạn trả lời",
            OPEN - {S.RECEIVED},
            None,
            frozenset({"leader", "coordinator"}),
            True,
            ("days", "note"),
            _extend,
        ),
        Action(
            "progress",
            "Cập nhật tiến độ cho người dân",
            OPEN - {S.RECEIVED},
            None,
            ANY_HANDLER,
            True,
            ("note",),
            _progress,
        ),
        Action(
            "comment",
            "Ý kiến nội bộ",
            OPEN | {S.ANSWERED, S.PUBLISHED, S.REJECTED, S.MERGED},
            None,
            ANY_HANDLER,
            True,
            ("note",),
            _comment,
            visible=False,
        ),
        # An internal priority (docs/decisions.md): the citizen is not told.
        Action(
            "mark_urgent",
            "Đánh dấu khẩn",
            OPEN,
            None,
            frozenset({"leader", "coordinator"}),
            True,
            ("note",),
            _mark_urgent,
            visible=False,
        ),
        Action(
            "unmark_urgent",
            "Bỏ đánh dấu khẩn",
            OPEN,
            None,
            frozenset({"leader", "coordinator"}),
            True,
            ("note",),
            _unmark_urgent,
            visible=False,
        ),
    )
}
# Actions a unit's leader may take only once the case is transferred to the unit (a received
# case is the coordinator's: its suggested unit may only comment).
AFTER_TRANSFER = frozenset({"mark_urgent", "unmark_urgent"})


def _may(staff: Staff, case: Case, action: Action, session: Session) -> bool:
    roles = staff.role_set & action.roles
    if not roles:
        return False
    if roles & COORDINATOR:
        return True  # the focal office acts across units
    if action.name in AFTER_TRANSFER and case.status is S.RECEIVED:
        return False
    return not action.own_unit or access.works_on(session, staff, case)


def allowed_actions(
    session: Session, staff: Staff, case: Case, settings: Settings = Settings()
) -> list[Action]:
    """The actions this staff member may take on this case now (for forms and the API)."""
    return [
        a for a in ACTIONS.values() if _applies(a, case, settings) and _may(staff, case, a, session)
    ]


def _applies(action: Action, case: Case, settings: Settings) -> bool:
    if case.status not in action.sources:
        return False
    # Where coordinators check answers, a leader's approval goes to them instead of the citizen.
    if action.name == "approve":
        return not settings.coordinator_checks_answers
    if action.name == "approve_for_check":
        return settings.coordinator_checks_answers
    if action.name == "mark_urgent":
        return not case.urgent
    if action.name == "unmark_urgent":
        return case.urgent
    return True


def perform(
    session: Session,
    case: Case,
    staff: Staff,
    name: str,
    data: dict[str, Any],
    now: datetime,
    settings: Settings = Settings(),
) -> CaseEvent:
    """Take action `name` on `case` as `staff`; raise WorkflowError and change nothing if refused."""
    action = ACTIONS.get(name)
    if action is None:
        raise InvalidInputError("unknown_action", "Thao tác không tồn tại.")
    if not access.can_see(session, staff, case):
        raise NotAllowedError("not_visible", "Không tìm thấy PAKN.")
    if not _may(staff, case, action, session):
        raise NotAllowedError("forbidden", "Tài khoản không có quyền thực hiện thao tác này.")
    if not _applies(action, case, settings):
        raise WorkflowError(
            "invalid_transition",
            f'Không thể "{action.label}" khi PAKN đang ở trạng thái hiện tại.',
        )
    from_status = case.status
    with session.begin_nested():  # an input error inside an effect undoes the effect
        note = action.apply(session, case, staff, data, now)
        if action.target is not None:
            case.status = action.target
        case.updated_at = now
        event = CaseEvent(
            case_id=case.id,
            at=now,
            action=action.name,
            actor=f"staff:{staff.id}",
            staff_id=staff.id,
            from_status=from_status.value,
            to_status=case.status.value,
            note=note,
            visible_to_citizen=action.visible,
        )
        session.add(event)
        session.flush()
    return event


def citizen_replied(session: Session, case: Case, now: datetime) -> bool:
    """The citizen answered a request for information: the clock runs again (audited)."""
    if case.status is not S.AWAITING_INFO:
        return False
    deadlines.resume(case, deadlines.load_calendar(session), now)
    case.status = S.PROCESSING
    case.updated_at = now
    session.add(
        CaseEvent(
            case_id=case.id,
            at=now,
            action="info_received",
            actor="citizen",
            from_status=S.AWAITING_INFO.value,
            to_status=S.PROCESSING.value,
        )
    )
    notifications.notify(session, case, "resumed", now)
    session.flush()
    return True
