"""Legal deadlines in Vietnamese working days, and the due dates each case carries.

The calendar: Monday to Friday, minus Vietnamese public holidays from the `holidays` package
(the lunar new year included), minus the extra days off and plus the make-up working days that
administrators add (the government moves them each year). Dates are local (Asia/Ho_Chi_Minh).

The rules (each configurable per field in a `DeadlinePolicy`, snapshotted on the case at receipt
so that a later change applies to new cases only):
- classify or transfer within 5 working days of receipt — the day of receipt is not counted;
- answer within 20 days of receipt, calendar days by default (TT 02/2017) or working days; a
  calendar-day period whose last day is not a working day ends on the next working day (Civil
  Code art. 148);
- while the agency waits for the citizen's information the clock stops: the days paused (in the
  policy's unit) are added to the answer date; an extension adds its days the same way;
- progress update to the citizen at least every 7 days once late; publish within 2 working days
  of the answer;
- urgent cases: taken up within 8 and handled within a further 4 working hours (08:00–12:00 and
  13:00–17:00), counted from receipt, or from the moment staff mark an existing case urgent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

import holidays
from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.clock import LOCAL_TZ, local_date
from models import CalendarException, Case, DeadlinePolicy

WORKING_HOURS = ((time(8, 0), time(12, 0)), (time(13, 0), time(17, 0)))


@cache
def _public_holidays() -> holidays.HolidayBase:
    return holidays.country_holidays("VN")  # expands to any year on lookup


@dataclass(frozen=True)
class Calendar:
    """Working days: weekdays minus public holidays, adjusted by administrators' exceptions."""

    days_off: frozenset[date] = field(default_factory=frozenset)
    working_days: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        """True when `day` is a working day."""
        if day in self.working_days:
            return True
        if day in self.days_off or day.weekday() >= 5:
            return False
        return day not in _public_holidays()

    def add_working_days(self, start: date, count: int) -> date:
        """The `count`-th working day after `start` (`start` itself is not counted)."""
        day = start
        while count > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count -= 1
        return day

    def on_or_after(self, day: date) -> date:
        """`day` if it is a working day, else the next working day."""
        while not self.is_working_day(day):
            day += timedelta(days=1)
        return day

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days lie after `start` up to and including `end`."""
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            count += self.is_working_day(day)
        return count

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` working hours after `start` (local working hours)."""
        remaining = timedelta(hours=hours)
        moment = start.astimezone(LOCAL_TZ)
        while True:
            day = moment.date()
            if self.is_working_day(day):
                for opens, closes in WORKING_HOURS:
                    begin = max(moment, datetime.combine(day, opens, LOCAL_TZ))
                    end = datetime.combine(day, closes, LOCAL_TZ)
                    if begin >= end:
                        continue
                    if begin + remaining <= end:
                        return begin + remaining
                    remaining -= end - begin
            moment = datetime.combine(day + timedelta(days=1), time(0), LOCAL_TZ)


def load_calendar(session: Session) -> Calendar:
    """The calendar with the administrators' exceptions."""
    rows = session.execute(select(CalendarException.day, CalendarException.working)).all()
    return Calendar(
        days_off=frozenset(day for day, working in rows if not working),
        working_days=frozenset(day for day, working in rows if working),
    )


@dataclass(frozen=True)
class Policy:
    """The deadline rules for one case (a snapshot of its field's `DeadlinePolicy`)."""

    classify_working_days: int = 5
    answer_days: int = 20
    answer_in_working_days: bool = False
    progress_every_days: int = 7
    publish_working_days: int = 2
    urgent_takeup_hours: int = 8
    urgent_handle_hours: int = 4

    def snapshot(self) -> dict:
        """The policy as stored on the case."""
        return asdict(self)

    @classmethod
    def from_snapshot(cls, data: dict | None) -> Policy:
        """The policy stored on a case (defaults for cases older than policies)."""
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


def policy_for(session: Session, field_id: int | None, default_answer_days: int = 20) -> Policy:
    """The policy of a field, else the default policy, else the built-in defaults."""
    rows = {
        row.field_id: row
        for row in session.scalars(
            select(DeadlinePolicy).where(
                (DeadlinePolicy.field_id == field_id) | DeadlinePolicy.field_id.is_(None)
            )
        )
    }
    row = rows.get(field_id) or rows.get(None)
    if row is None:
        return Policy(answer_days=default_answer_days)
    return Policy(**{name: getattr(row, name) for name in Policy.__dataclass_fields__})


def answer_due(calendar: Calendar, policy: Policy, received: date, shift_days: int = 0) -> date:
    """The answer date: `answer_days` after receipt plus paused and extended days."""
    days = policy.answer_days + shift_days
    if policy.answer_in_working_days:
        return calendar.add_working_days(received, days)
    return calendar.on_or_after(received + timedelta(days=days))


def paused_days(calendar: Calendar, policy: Policy, paused: date, resumed: date) -> int:
    """How many days (in the policy's unit) the clock stood still."""
    if policy.answer_in_working_days:
        return calendar.working_days_between(paused, resumed)
    return (resumed - paused).days


def set_due_dates(case: Case, calendar: Calendar, policy: Policy) -> None:
    """Compute a new case's due dates from its receipt time and policy."""
    received = local_date(case.received_at)
    case.deadline_policy = policy.snapshot()
    case.classify_due_on = calendar.add_working_days(received, policy.classify_working_days)
    case.answer_due_on = answer_due(calendar, policy, received)
    if case.urgent:
        case.urgent_due_at = urgent_due(calendar, policy, case.received_at)


def urgent_due(calendar: Calendar, policy: Policy, start: datetime) -> datetime:
    """When an urgent case counted from `start` must be handled: taken up, then handled."""
    hours = policy.urgent_takeup_hours + policy.urgent_handle_hours
    return calendar.add_working_hours(start, hours).astimezone(UTC)


def mark_urgent(case: Case, calendar: Calendar, now: datetime) -> datetime:
    """Make the case urgent from `now` (its snapshotted policy's hours); return the due moment."""
    case.urgent = True
    case.urgent_due_at = urgent_due(calendar, Policy.from_snapshot(case.deadline_policy), now)
    return case.urgent_due_at


def unmark_urgent(case: Case) -> None:
    """The case is no longer urgent: only its ordinary due dates remain."""
    case.urgent = False
    case.urgent_due_at = None


def is_urgent_overdue(case: Case, now: datetime) -> bool:
    """True when an urgent case's handling moment has passed (open, clock not paused)."""
    due = case.urgent_due_at
    return case.urgent and due is not None and case.is_open and case.paused_at is None and due < now


def _recompute_answer(case: Case, calendar: Calendar) -> None:
    policy = Policy.from_snapshot(case.deadline_policy)
    case.answer_due_on = answer_due(
        calendar, policy, local_date(case.received_at), case.paused_days + case.extended_days
    )


def pause(case: Case, now: datetime) -> None:
    """Stop the clock (the agency waits for the citizen's information)."""
    if case.paused_at is None:
        case.paused_at = now


def resume(case: Case, calendar: Calendar, now: datetime) -> int:
    """Restart the clock; the paused days move the answer date. Return the days added."""
    if case.paused_at is None:
        return 0
    policy = Policy.from_snapshot(case.deadline_policy)
    days = paused_days(calendar, policy, local_date(case.paused_at), local_date(now))
    case.paused_days += days
    case.paused_at = None
    _recompute_answer(case, calendar)
    return days


def extend(case: Case, calendar: Calendar, days: int) -> date:
    """Extend the answer date by `days` (in the policy's unit); return the new date."""
    case.extended_days += days
    _recompute_answer(case, calendar)
    return case.answer_due_on


def set_publish_due(case: Case, calendar: Calendar, answered: datetime) -> None:
    """The answer exists: it must be published within the policy's working days."""
    policy = Policy.from_snapshot(case.deadline_policy)
    case.publish_due_on = calendar.add_working_days(
        local_date(answered), policy.publish_working_days
    )


def is_overdue(case: Case, today: date) -> bool:
    """True when the answer date has passed and the case is not answered (clock not paused)."""
    return case.is_open and case.paused_at is None and case.answer_due_on < today
