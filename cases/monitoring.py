"""Deadline monitoring: reminders, urging of late units, the coordinators' digest, progress updates.

What the worker runs every few minutes (the functions here are Flask-free: each takes a session
and `now`, only flushes, and leaves the commit to the caller):
- `scan_deadlines`: open cases whose clock runs (not paused) that are due soon — the answer within
  2 working days, or, still unclassified, the classification within 1 — or overdue. The staff who
  must act are reminded by a console notice and, when they linked their Zalo account, a Zalo
  message: the unit's handlers and leaders, or the coordinators while the case is unclassified
  (only they classify). An overdue answer is also escalated: a notice to the coordinators and to
  the unit's leaders. An urgent case past its `urgent_due_at` is reminded and escalated the same
  way, once per urgent due moment.
- `announce_urgent`: staff marked a case urgent; the staff who must act hear of it at once.
- `post_deadline_digest`: once a day, open and late counts per unit and the late cases listed.
- `send_progress_updates`: a late case's citizen hears from the agency at least every
  `progress_every_days` (the policy on the case): the staff's latest unsent progress note, else
  a standard message.
- `unit_figures`: the coordinators' per-unit table; its SQL definitions of open, late now and
  answered on time or late are shared with the periodic reports (`cases/reports.py`).

Every alert is claimed first by inserting its unique `CaseAlert` (case, kind, key — the due date
or the day) with ON CONFLICT DO NOTHING, and notices carry dedup keys, so a job run twice, or two
runs at once, raise each alert exactly once. `cases` never imports `bot`: messages to staff are
outbox rows written here and sent by the dispatcher like every other row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Date, func, select
from sqlalchemy import case as when
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement

from cases import deadlines, notifications
from cases.clock import LOCAL_TZ, format_date, format_datetime, local_date
from cases.notices import post_notice
from models import (
    CLOSED_STATUSES,
    Case,
    CaseAlert,
    CaseEvent,
    CaseStatus,
    MessageKind,
    Staff,
    Unit,
)
from models.db import insert_for

ANSWER_SOON_WORKING_DAYS = 2
CLASSIFY_SOON_WORKING_DAYS = 1
# Due dates further than this are never "soon", whatever the holidays in between (Tết included).
LOOKAHEAD = timedelta(days=21)
UNIT_ROLES = ("handler", "leader")
COORDINATOR = "coordinator"


@dataclass(frozen=True)
class Reminder:
    """One kind of deadline alert: its words (staff-facing, Vietnamese)."""

    kind: str
    title: str
    body: str


DUE_SOON_ANSWER = Reminder(
    "answer_due_soon",
    "{code} sắp đến hạn trả lời ({due})",
    "{code} — {title} ({unit}) cần được trả lời chậm nhất ngày {due}.",
)
DUE_SOON_CLASSIFY = Reminder(
    "classify_due_soon",
    "{code} sắp hết hạn phân loại ({due})",
    "{code} — {title} cần được phân loại, chuyển đơn vị xử lý chậm nhất ngày {due}.",
)
OVERDUE_ANSWER = Reminder(
    "answer_overdue",
    "{code} đã quá hạn trả lời ({due})",
    "{code} — {title} ({unit}) đã quá hạn trả lời {days} ngày (hạn {due}). "
    "Đề nghị khẩn trương xử lý, trả lời người dân.",
)
OVERDUE_CLASSIFY = Reminder(
    "classify_overdue",
    "{code} đã quá hạn phân loại ({due})",
    "{code} — {title} đã quá hạn phân loại, chuyển đơn vị xử lý {days} ngày (hạn {due}).",
)
ESCALATION_COORDINATOR = Reminder(
    "escalated",
    "Đôn đốc: {code} của {unit} quá hạn trả lời",
    "{code} — {title} do {unit} xử lý đã quá hạn trả lời {days} ngày (hạn {due}). "
    "Đề nghị đôn đốc đơn vị.",
)
ESCALATION_LEADER = Reminder(
    "escalated",
    "Đôn đốc: {code} quá hạn trả lời",
    "{code} — {title} đã quá hạn trả lời {days} ngày (hạn {due}); cán bộ đầu mối đã được "
    "báo cáo. Đề nghị lãnh đạo đơn vị chỉ đạo trả lời ngay.",
)
URGENT_MARKED = Reminder(
    "urgent_marked",
    "{code} được đánh dấu khẩn, hạn xử lý {due}",
    "{code} — {title} ({unit}) được đánh dấu PAKN khẩn: đề nghị tiếp nhận và xử lý xong trước "
    "{due}. Lý do: {reason}",
)
OVERDUE_URGENT = Reminder(
    "urgent_overdue",
    "{code} (khẩn) đã quá hạn xử lý ({due})",
    "{code} — {title} ({unit}) là PAKN khẩn, hạn xử lý {due} đã qua. "
    "Đề nghị khẩn trương xử lý, trả lời người dân.",
)
ESCALATION_URGENT_COORDINATOR = Reminder(
    "urgent_escalated",
    "Đôn đốc: {code} (khẩn) của {unit} quá hạn xử lý",
    "{code} — {title} do {unit} xử lý là PAKN khẩn, hạn xử lý {due} đã qua. "
    "Đề nghị đôn đốc đơn vị.",
)
ESCALATION_URGENT_LEADER = Reminder(
    "urgent_escalated",
    "Đôn đốc: {code} (khẩn) quá hạn xử lý",
    "{code} — {title} là PAKN khẩn, hạn xử lý {due} đã qua; cán bộ đầu mối đã được báo cáo. "
    "Đề nghị lãnh đạo đơn vị chỉ đạo xử lý ngay.",
)
STAFF_MESSAGE = "Nhắc việc: {title}\n{body}"
DIGEST_TITLE = "Tình hình xử lý PAKN ngày {day}: {open} đang xử lý, {late} quá hạn"
DIGEST_UNITS = "Theo đơn vị (đang xử lý / quá hạn):"
DIGEST_UNIT_LINE = "• {unit}: {open} / {late}"
DIGEST_LATE = "PAKN quá hạn trả lời:"
DIGEST_LATE_LINE = "• {code} — {unit}: hạn {due}, quá {days} ngày"


# --- alerts -----------------------------------------------------------------------------------
def claim_alert(session: Session, case_id: int, kind: str, key: str, now: datetime) -> bool:
    """Record that alert (case, kind, key) is raised; False if it already was (by anyone)."""
    stmt = (
        insert_for(session)(CaseAlert)
        .values(case_id=case_id, kind=kind, key=key, at=now)
        .on_conflict_do_nothing(index_elements=["case_id", "kind", "key"])
        .returning(CaseAlert.id)
    )
    return session.execute(stmt).scalar_one_or_none() is not None


def _fields(case: Case, due: date, today: date) -> dict[str, object]:
    return {
        "code": case.code,
        "title": case.title,
        "unit": case.unit.name if case.unit else "",
        "due": format_date(due),
        "days": (today - due).days,
    }


def staff_by_role(session: Session, roles: Iterable[str], unit_id: int | None) -> list[Staff]:
    """Active staff holding any of `roles` (in `unit_id`, or in any unit when None)."""
    stmt = select(Staff).where(Staff.active.is_(True)).order_by(Staff.id)
    if unit_id is not None:
        stmt = stmt.where(Staff.unit_id == unit_id)
    wanted = set(roles)
    return [s for s in session.scalars(stmt) if s.role_set & wanted]


def _message_staff(
    session: Session, staff: list[Staff], case: Case, text: str, now: datetime
) -> None:
    context = {k: v for k, v in notifications.context_of(case).items() if k != "name"}
    for member in staff:
        if member.zalo_citizen_id is None:
            continue
        # Not tied to the case: a reminder held for a staff member is not the citizen's message.
        notifications.queue_message(
            session,
            member.zalo_citizen_id,
            {"text": text, "_context": context},
            MessageKind.REMINDER,
            now,
        )


def _notify_staff(
    session: Session,
    case: Case,
    reminder: Reminder,
    key: str,
    values: dict[str, object],
    roles: tuple[str, ...],
    unit_id: int | None,
    now: datetime,
    by_zalo: bool = True,
) -> None:
    """Post the reminder as a console notice per role and, if asked, to those staff on Zalo."""
    title = reminder.title.format(**values)
    body = reminder.body.format(**values)
    for role in roles:
        post_notice(
            session,
            reminder.kind,
            role,
            title,
            body,
            now,
            dedup_key=f"{reminder.kind}:{case.id}:{key}:{role}",
            unit_id=unit_id,
        )
    if by_zalo:
        text = STAFF_MESSAGE.format(title=title, body=body)
        _message_staff(session, staff_by_role(session, roles, unit_id), case, text, now)


def _responsible(case: Case) -> tuple[tuple[str, ...], int | None]:
    """The roles (and their unit; None: every unit) of the staff who must act on the case now."""
    if case.status is CaseStatus.RECEIVED:
        # Unclassified: only the coordinators can act (classify, transfer, reject).
        return (COORDINATOR,), None
    return UNIT_ROLES, case.unit_id


def _remind(
    session: Session,
    case: Case,
    reminder: Reminder,
    key: str,
    values: dict[str, object],
    now: datetime,
) -> bool:
    """Remind the staff who must act now, once per case, kind and `key` (the due date)."""
    if not claim_alert(session, case.id, reminder.kind, key, now):
        return False
    roles, unit_id = _responsible(case)
    _notify_staff(session, case, reminder, key, values, roles, unit_id, now)
    return True


def _remind_due(
    session: Session, case: Case, reminder: Reminder, due: date, today: date, now: datetime
) -> bool:
    """Remind the staff who must act of a due date, once per case, kind and due date."""
    return _remind(session, case, reminder, due.isoformat(), _fields(case, due, today), now)


def _escalate(
    session: Session,
    case: Case,
    to_coordinators: Reminder,
    to_leaders: Reminder,
    key: str,
    values: dict[str, object],
    now: datetime,
) -> bool:
    """Tell the coordinators and the unit's leaders that the case is late, once per `key`."""
    if not claim_alert(session, case.id, to_coordinators.kind, key, now):
        return False
    for reminder, role, unit_id in (
        (to_coordinators, COORDINATOR, None),
        (to_leaders, "leader", case.unit_id),
    ):
        _notify_staff(session, case, reminder, key, values, (role,), unit_id, now, by_zalo=False)
    return True


def _escalate_answer(session: Session, case: Case, today: date, now: datetime) -> bool:
    """Escalate a late answer, once per answer date."""
    due = case.answer_due_on
    values = _fields(case, due, today)
    return _escalate(
        session, case, ESCALATION_COORDINATOR, ESCALATION_LEADER, due.isoformat(), values, now
    )


# --- urgent cases -----------------------------------------------------------------------------
def _urgent_fields(case: Case) -> dict[str, object]:
    assert case.urgent_due_at is not None
    return {
        "code": case.code,
        "title": case.title,
        "unit": case.unit.name if case.unit else "",
        "due": format_datetime(case.urgent_due_at),
    }


def _urgent_key(case: Case) -> str:
    # To the minute, in local time: the same text whatever the database returns.
    assert case.urgent_due_at is not None
    return case.urgent_due_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def announce_urgent(session: Session, case: Case, reason: str, now: datetime) -> None:
    """The case was just marked urgent: tell the staff who must act (console notice and Zalo)."""
    values = {**_urgent_fields(case), "reason": reason}
    roles, unit_id = _responsible(case)
    # Keyed by the moment of marking: marking again after an unmarking is announced again.
    key = now.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M:%S")
    _notify_staff(session, case, URGENT_MARKED, key, values, roles, unit_id, now)


def _late_urgent_cases(session: Session, now: datetime) -> list[Case]:
    """Open urgent cases whose clock runs and whose urgent due moment has passed."""
    return list(
        session.scalars(
            select(Case)
            .where(
                Case.urgent.is_(True),
                Case.status.not_in(CLOSED_STATUSES),
                Case.paused_at.is_(None),
                Case.urgent_due_at < now,
            )
            .order_by(Case.urgent_due_at, Case.id)
        )
    )


def _remind_urgent(session: Session, case: Case, now: datetime) -> int:
    """Remind and escalate an urgent case past its due moment, once per due moment."""
    key, values = _urgent_key(case), _urgent_fields(case)
    raised = int(_remind(session, case, OVERDUE_URGENT, key, values, now))
    if case.status is not CaseStatus.RECEIVED:
        # Unclassified, the coordinators were just reminded themselves: no unit to urge yet.
        raised += _escalate(
            session,
            case,
            ESCALATION_URGENT_COORDINATOR,
            ESCALATION_URGENT_LEADER,
            key,
            values,
            now,
        )
    return raised


def _running_cases(session: Session, horizon: date) -> list[Case]:
    """Open cases whose clock runs and with a due date before `horizon`."""
    return list(
        session.scalars(
            select(Case)
            .where(
                Case.status.not_in(CLOSED_STATUSES),
                Case.paused_at.is_(None),
                (Case.answer_due_on < horizon)
                | ((Case.status == CaseStatus.RECEIVED) & (Case.classify_due_on < horizon)),
            )
            .order_by(Case.answer_due_on, Case.id)
        )
    )


def _is_soon(calendar: deadlines.Calendar, today: date, due: date, working_days: int) -> bool:
    return today <= due and calendar.working_days_between(today, due) <= working_days


def scan_deadlines(session: Session, now: datetime) -> int:
    """Raise the due-soon, overdue and escalation alerts due now (urgent cases' too); return how
    many were raised."""
    today = local_date(now)
    calendar = deadlines.load_calendar(session)
    raised = 0
    for case in _running_cases(session, today + LOOKAHEAD):
        due = case.answer_due_on
        if deadlines.is_overdue(case, today):
            raised += _remind_due(session, case, OVERDUE_ANSWER, due, today, now)
            raised += _escalate_answer(session, case, today, now)
        elif _is_soon(calendar, today, due, ANSWER_SOON_WORKING_DAYS):
            raised += _remind_due(session, case, DUE_SOON_ANSWER, due, today, now)
        classify = case.classify_due_on
        if case.status is CaseStatus.RECEIVED and classify is not None:
            if classify < today:
                raised += _remind_due(session, case, OVERDUE_CLASSIFY, classify, today, now)
            elif _is_soon(calendar, today, classify, CLASSIFY_SOON_WORKING_DAYS):
                raised += _remind_due(session, case, DUE_SOON_CLASSIFY, classify, today, now)
    for case in _late_urgent_cases(session, now):
        raised += _remind_urgent(session, case, now)
    session.flush()
    return raised


# --- digest -----------------------------------------------------------------------------------
def late_cases(session: Session, today: date) -> list[Case]:
    """Open cases past their answer date with the clock running, the latest first."""
    return list(
        session.scalars(
            select(Case)
            .where(
                Case.status.not_in(CLOSED_STATUSES),
                Case.paused_at.is_(None),
                Case.answer_due_on < today,
            )
            .order_by(Case.answer_due_on, Case.id)
        )
    )


def post_deadline_digest(session: Session, now: datetime) -> bool:
    """Post today's digest for coordinators once; False when nothing is open or already posted."""
    today = local_date(now)
    figures = [f for f in unit_figures(session, today) if f.open]
    if not figures:
        return False
    late = late_cases(session, today)
    lines = [DIGEST_UNITS]
    lines += [DIGEST_UNIT_LINE.format(unit=f.unit.name, open=f.open, late=f.late) for f in figures]
    if late:
        lines.append(DIGEST_LATE)
        lines += [
            DIGEST_LATE_LINE.format(
                code=case.code,
                unit=case.unit.name,
                due=format_date(case.answer_due_on),
                days=(today - case.answer_due_on).days,
            )
            for case in late
        ]
    title = DIGEST_TITLE.format(
        day=format_date(today), open=sum(f.open for f in figures), late=len(late)
    )
    return post_notice(
        session,
        "deadline_digest",
        COORDINATOR,
        title,
        "\n".join(lines),
        now,
        dedup_key=f"deadline_digest:{today.isoformat()}",
    )


# --- progress updates to the citizen ----------------------------------------------------------
def _unsent_staff_note(session: Session, case: Case) -> str | None:
    """The latest progress note staff wrote after the citizen's last update, if any."""
    stmt = (
        select(CaseEvent.note)
        .where(
            CaseEvent.case_id == case.id,
            CaseEvent.action == "progress",
            CaseEvent.staff_id.is_not(None),
            CaseEvent.note.is_not(None),
        )
        .order_by(CaseEvent.at.desc(), CaseEvent.id.desc())
        .limit(1)
    )
    if case.last_progress_at is not None:
        stmt = stmt.where(CaseEvent.at > case.last_progress_at)
    return session.scalar(stmt)


def _progress_due(case: Case, today: date) -> bool:
    every = deadlines.Policy.from_snapshot(case.deadline_policy).progress_every_days
    last = case.last_progress_at
    return last is None or (today - local_date(last)).days >= every


def send_progress_updates(session: Session, now: datetime) -> int:
    """Tell the citizen of each late case how it stands, at most every `progress_every_days`."""
    today = local_date(now)
    sent = 0
    for case in late_cases(session, today):
        if case.citizen_id is None or not _progress_due(case, today):
            continue  # paper cases: staff keep the citizen informed by the channel they came by
        if not claim_alert(session, case.id, "progress", today.isoformat(), now):
            continue
        note = _unsent_staff_note(session, case)
        if note:
            notifications.notify(session, case, "progress", now, note=note)
        else:
            notifications.notify(session, case, "late_progress", now)
            note = notifications.TEXTS["late_progress"].format(code=case.code, unit=case.unit.name)
        case.last_progress_at = now
        session.add(
            CaseEvent(case_id=case.id, at=now, action="progress", actor="system", note=note)
        )
        sent += 1
    session.flush()
    return sent


# --- figures ----------------------------------------------------------------------------------
class local_day(FunctionElement):  # lower case: it reads as the SQL function it compiles to
    """The agency's calendar date of a UTC timestamp column, computed by the database."""

    type = Date()
    inherit_cache = True
    name = "local_day"


@compiles(local_day, "postgresql")
def _local_day_postgresql(element, compiler, **kw) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"CAST(({column}) AT TIME ZONE '{LOCAL_TZ.key}' AS DATE)"


@compiles(local_day, "sqlite")
def _local_day_sqlite(element, compiler, **kw) -> str:
    # Vietnam has kept UTC+7 without daylight saving since 1975: a fixed offset is exact.
    return f"date({compiler.process(element.clauses, **kw)}, '+7 hours')"


class UnitFigures(NamedTuple):
    """One row of the coordinators' per-unit table."""

    unit: Unit
    open: int
    late: int
    answered_on_time: int
    answered_late: int


def count_where(condition) -> object:
    """An aggregate counting the rows that meet `condition` (0 when none)."""
    return func.coalesce(func.sum(when((condition, 1), else_=0)), 0)


# The definitions the per-unit table and the periodic reports (cases/reports.py) share.
def is_open():
    """The case is not finished (not answered, published, rejected or merged)."""
    return Case.status.not_in(CLOSED_STATUSES)


def is_late_now(today: date):
    """Open, its clock running, and past its answer date (the SQL form of `is_overdue`)."""
    return is_open() & Case.paused_at.is_(None) & (Case.answer_due_on < today)


def answered_on_time():
    """The answer was sent on or before the answer date (the agency's calendar date)."""
    return Case.answered_at.is_not(None) & (local_day(Case.answered_at) <= Case.answer_due_on)


def answered_late():
    """The answer was sent after the answer date (the agency's calendar date)."""
    return Case.answered_at.is_not(None) & (local_day(Case.answered_at) > Case.answer_due_on)


def unit_figures(session: Session, today: date) -> list[UnitFigures]:
    """Open, late, answered on time and answered late cases per unit (active units, in order)."""
    counts = {
        unit_id: tuple(int(n) for n in numbers)
        for unit_id, *numbers in session.execute(
            select(
                Case.unit_id,
                count_where(is_open()),
                count_where(is_late_now(today)),
                count_where(answered_on_time()),
                count_where(answered_late()),
            ).group_by(Case.unit_id)
        )
    }
    units = session.scalars(select(Unit).order_by(Unit.sort_order, Unit.name, Unit.id))
    return [
        UnitFigures(unit, *counts.get(unit.id, (0, 0, 0, 0)))
        for unit in units
        if unit.active or unit.id in counts
    ]
