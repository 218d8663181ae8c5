"""Urging a late unit: the coordinators' "Đôn đốc" on the per-unit figures.

One urge tells the unit's handlers and leaders, in the coordinator's words, that its overdue
cases must be answered: a console notice per role (`cases.notices`) and a Zalo message to those
of them who linked their Zalo account (an outbox row, sent by the dispatcher like the deadline
reminders). It is recorded twice: an internal timeline entry on each overdue case (who urged,
when, what was said), and the notice itself, whose time is the figures' "Đôn đốc lần cuối".

"Overdue" is the per-unit table's own definition (`cases.monitoring.is_late_now`), so the urge
names exactly the cases the table counts. A unit with no overdue case is not urged, and a unit
urged less than `MIN_INTERVAL` ago is not urged again (a double click, or two coordinators at
once: the unit's row is locked while this is checked).

Flask-free: the functions take a session and `now`, only flush, and leave the commit to the
caller.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases import monitoring, notifications
from cases.clock import format_date, format_datetime, local_date
from cases.notices import latest_by_unit, post_notice
from models import Case, CaseEvent, MessageKind, Staff, Unit

URGED_ACTION = "unit_urged"
NOTICE_KIND = "unit_urged"
MIN_INTERVAL = timedelta(minutes=10)
MESSAGE_MIN, MESSAGE_MAX = 10, 1000
LISTED_CASES = 20  # the notice lists this many overdue cases; the rest are counted

DEFAULT_MESSAGE = (
    "{unit} hiện có {count} PAKN đã quá hạn trả lời. Đề nghị lãnh đạo đơn vị chỉ đạo khẩn trương "
    "xử lý, trả lời người dân và báo cáo kết quả cho cán bộ đầu mối."
)
TITLE = "Đôn đốc: {unit} có {count} PAKN quá hạn trả lời"
LIST_HEADER = "PAKN quá hạn trả lời:"
CASE_LINE = "• {code}: hạn {due}, quá {days} ngày"
MORE_CASES = "… và {count} PAKN khác."
SIGNATURE = "Người đôn đốc: {name}, cán bộ đầu mối."

MESSAGE_REQUIRED = "Vui lòng nhập nội dung đôn đốc (tối thiểu {minimum} ký tự)."
MESSAGE_TOO_LONG = "Nội dung đôn đốc tối đa {maximum} ký tự (hiện có {length} ký tự)."
NOTHING_OVERDUE = "{unit} hiện không có PAKN quá hạn trả lời nên không cần đôn đốc."
URGED_RECENTLY = (
    "{unit} vừa được đôn đốc lúc {at}. Để tránh gửi trùng, chỉ đôn đốc lại sau {minutes} phút."
)


class UrgeError(Exception):
    """An urge was refused; `message` is Vietnamese, `status` the HTTP status that fits."""

    status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidMessageError(UrgeError):
    """The message is empty or too long."""

    status = 422


@dataclass
class Urged:
    """What one urge did."""

    cases: list[Case]
    notified: list[Staff]  # the unit's handlers and leaders (they see the console notice)
    zalo_citizen_ids: set[int] = field(default_factory=set)  # whose Zalo got the message


def overdue_cases(session: Session, unit_id: int, today: date) -> list[Case]:
    """The unit's open cases past their answer date with the clock running, the latest first."""
    return list(
        session.scalars(
            select(Case)
            .where(Case.unit_id == unit_id, monitoring.is_late_now(today))
            .order_by(Case.answer_due_on, Case.id)
        )
    )


def default_message(unit: Unit, count: int) -> str:
    """The text the form starts with."""
    return DEFAULT_MESSAGE.format(unit=unit.name, count=count)


def unit_staff(session: Session, unit_id: int) -> list[Staff]:
    """The unit's active handlers and leaders: those an urge is addressed to."""
    # The deadline reminders' own selection of a unit's staff, so both reach the same people.
    return monitoring.staff_by_role(session, monitoring.UNIT_ROLES, unit_id)


def last_urged(session: Session) -> dict[int, datetime]:
    """When each unit was last urged (units never urged are absent)."""
    return latest_by_unit(session, NOTICE_KIND)


def clean_message(raw: str | None) -> str:
    """The message as sent: NFC, line breaks as LF, outer blanks removed; raise if unusable."""
    text = unicodedata.normalize("NFC", str(raw or ""))
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) < MESSAGE_MIN:
        raise InvalidMessageError(MESSAGE_REQUIRED.format(minimum=MESSAGE_MIN))
    if len(text) > MESSAGE_MAX:
        raise InvalidMessageError(MESSAGE_TOO_LONG.format(maximum=MESSAGE_MAX, length=len(text)))
    return text


def _body(message: str, cases: list[Case], staff: Staff, today: date) -> str:
    lines = [message, "", LIST_HEADER]
    lines += [
        CASE_LINE.format(
            code=case.code,
            due=format_date(case.answer_due_on),
            days=(today - case.answer_due_on).days,
        )
        for case in cases[:LISTED_CASES]
    ]
    if len(cases) > LISTED_CASES:
        lines.append(MORE_CASES.format(count=len(cases) - LISTED_CASES))
    lines += ["", SIGNATURE.format(name=staff.full_name)]
    return "\n".join(lines)


def urge_unit(
    session: Session, unit: Unit, staff: Staff, raw_message: str | None, now: datetime
) -> Urged:
    """Urge `unit` about its overdue cases as `staff`; raise UrgeError and change nothing if
    the message is unusable, the unit has no overdue case, or it was urged a moment ago."""
    message = clean_message(raw_message)
    # Two urges of one unit at once: the second waits here, then sees the first one's notice.
    session.execute(select(Unit.id).where(Unit.id == unit.id).with_for_update())
    last = latest_by_unit(session, NOTICE_KIND, unit.id).get(unit.id)
    if last is not None and now - last < MIN_INTERVAL:
        minutes = int(MIN_INTERVAL.total_seconds() // 60)
        raise UrgeError(
            URGED_RECENTLY.format(unit=unit.name, at=format_datetime(last), minutes=minutes)
        )
    today = local_date(now)
    cases = overdue_cases(session, unit.id, today)
    if not cases:
        raise UrgeError(NOTHING_OVERDUE.format(unit=unit.name))

    title = TITLE.format(unit=unit.name, count=len(cases))
    body = _body(message, cases, staff, today)
    for role in monitoring.UNIT_ROLES:
        post_notice(session, NOTICE_KIND, role, title, body, now, unit_id=unit.id)
    for case in cases:
        session.add(CaseEvent.staff_note(case.id, staff.id, URGED_ACTION, message, now))
    recipients = unit_staff(session, unit.id)
    urged = Urged(cases, recipients)
    text = monitoring.STAFF_MESSAGE.format(title=title, body=body)
    context = {"title": title[:100], "unit": unit.name}
    for member in recipients:
        if member.zalo_citizen_id is None:
            continue
        for part in notifications.split_text(text):
            notifications.queue_message(
                session,
                member.zalo_citizen_id,
                {"text": part, "_context": context},
                MessageKind.REMINDER,
                now,
            )
        urged.zalo_citizen_ids.add(member.zalo_citizen_id)
    session.flush()
    return urged
