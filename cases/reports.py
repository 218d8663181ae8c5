"""The figures of the periodic PAKN report, for a period (local dates) and a unit scope.

Flask-free and read-only. `compute(session, period, scope, today)` aggregates in the database
(a handful of grouped queries; no case is loaded into Python except the late ones listed) and
returns `Figures`. The definitions (docs/decisions.md, "Reports"):
- received: received within the period (the agency's calendar dates, Asia/Ho_Chi_Minh);
- answered on time / late: the answer was sent within the period, on or before / after its
  answer date (`cases.monitoring.answered_on_time` and `answered_late`, as the per-unit table);
- in progress, overdue now: received up to the period's end and still open on `today` (the day
  the report is made), overdue meaning past the answer date with the clock running
  (`cases.monitoring.is_open` and `is_late_now`);
- handling time: receipt to answer sent, in calendar days with one decimal, for the answers sent
  in the period; the 90th percentile interpolates linearly (PostgreSQL's `percentile_cont`, the
  same formula in Python on SQLite);
- satisfaction and "resolved": the citizens' survey answers received within the period;
- answers not yet delivered: answers sent in the period to citizens on Zalo whose answer message
  has not reached them (`cases.undelivered`), over all such answers;
- the late list: answered late in the period, or overdue now — code, field, unit, dates and days
  late only. The report carries no personal data and no citizen text at all.

Periods are quarters, halves and years of the calendar, or any range of dates ("custom"; a range
that is exactly a quarter, half or year is that period). `parse_period` reads one from a form,
with Vietnamese errors. The coordinators' "difficulties and proposals" for a period are kept in
`ReportNote` (`note_for`, `save_note`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import Float, func, select
from sqlalchemy import case as when
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import FunctionElement

from cases.clock import format_date, local_date, local_midnight, parse_day
from cases.monitoring import (
    answered_late,
    answered_on_time,
    count_where,
    is_late_now,
    is_open,
    local_day,
)
from cases.undelivered import undelivered_rows
from models import Case, CaseStatus, Field, MessageKind, OutboxMessage, ReportNote, Unit

QUARTER, HALF, YEAR, CUSTOM = "quarter", "half", "year", "custom"
PERIOD_KINDS = {QUARTER: "Quý", HALF: "6 tháng", YEAR: "Năm", CUSTOM: "Tùy chọn"}
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
FIRST_YEAR = 2000
MAX_CUSTOM_DAYS = 5 * 366
NOTE_MAX_CHARS = 10_000
RATINGS = (5, 4, 3, 2, 1)
RATING_LABELS = {
    5: "Rất hài lòng",
    4: "Hài lòng",
    3: "Bình thường",
    2: "Không hài lòng",
    1: "Rất không hài lòng",
}
VERDICTS = ("yes", "partly", "no")
VERDICT_LABELS = {"yes": "Đã giải quyết", "partly": "Giải quyết một phần", "no": "Chưa giải quyết"}

BAD_KIND = "Loại kỳ báo cáo không hợp lệ."
BAD_YEAR = "Năm báo cáo không hợp lệ (từ {first} đến {last})."
BAD_QUARTER = "Quý không hợp lệ (chọn từ quý I đến quý IV)."
BAD_HALF = "Kỳ 6 tháng không hợp lệ (chọn 6 tháng đầu năm hoặc 6 tháng cuối năm)."
BAD_FROM = "Ngày bắt đầu không hợp lệ (nhập theo dạng dd/mm/yyyy)."
BAD_TO = "Ngày kết thúc không hợp lệ (nhập theo dạng dd/mm/yyyy)."
BAD_ORDER = "Ngày kết thúc phải trùng hoặc sau ngày bắt đầu."
TOO_LONG = "Kỳ báo cáo dài tối đa 5 năm."
NOT_STARTED = "Kỳ báo cáo chưa bắt đầu: ngày bắt đầu ({start}) sau ngày hôm nay."
NOTE_TOO_LONG = "Nội dung dài {length} ký tự, vượt quá giới hạn {limit} ký tự. Vui lòng rút gọn."


# --- periods -----------------------------------------------------------------------------------
class PeriodError(ValueError):
    """A period that cannot be reported on; the message is for staff, in Vietnamese."""


class NoteError(ValueError):
    """A note that cannot be saved; the message is for staff, in Vietnamese."""


@dataclass(frozen=True)
class Period:
    """A reporting period: its kind and its first and last day (both included, local dates)."""

    kind: str
    start: date
    end: date

    @property
    def label(self) -> str:
        """The period as a report names it: "Quý III năm 2026", "6 tháng đầu năm 2026"..."""
        year = self.start.year
        if self.kind == QUARTER:
            return f"Quý {ROMAN[(self.start.month + 2) // 3]} năm {year}"
        if self.kind == HALF:
            return f"6 tháng {'đầu' if self.start.month == 1 else 'cuối'} năm {year}"
        if self.kind == YEAR:
            return f"Năm {year}"
        return f"Từ ngày {format_date(self.start)} đến ngày {format_date(self.end)}"

    @property
    def dates(self) -> str:
        """The first and last day: "01/07/2026 – 30/09/2026"."""
        return f"{format_date(self.start)} – {format_date(self.end)}"

    @property
    def key(self) -> str:
        """A stable key of the period: "quarter:2026-07-01:2026-09-30"."""
        return f"{self.kind}:{self.start.isoformat()}:{self.end.isoformat()}"

    @property
    def slug(self) -> str:
        """The period in a file name, without diacritics: "quy-3-2026", "nam-2026"..."""
        year = self.start.year
        if self.kind == QUARTER:
            return f"quy-{(self.start.month + 2) // 3}-{year}"
        if self.kind == HALF:
            return f"6-thang-{'dau' if self.start.month == 1 else 'cuoi'}-nam-{year}"
        if self.kind == YEAR:
            return f"nam-{year}"
        return f"tu-{self.start.isoformat()}-den-{self.end.isoformat()}"

    def as_args(self) -> dict[str, str]:
        """The form values that choose this period again (see `parse_period`)."""
        year = str(self.start.year)
        if self.kind == QUARTER:
            return {"kind": QUARTER, "year": year, "quarter": str((self.start.month + 2) // 3)}
        if self.kind == HALF:
            return {"kind": HALF, "year": year, "half": "1" if self.start.month == 1 else "2"}
        if self.kind == YEAR:
            return {"kind": YEAR, "year": year}
        return {"kind": CUSTOM, "from": self.start.isoformat(), "to": self.end.isoformat()}


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def quarter(year: int, number: int) -> Period:
    """Quarter `number` (1–4) of `year`."""
    first = 3 * (number - 1) + 1
    return Period(QUARTER, date(year, first, 1), _month_end(year, first + 2))


def half(year: int, number: int) -> Period:
    """The first (1) or second (2) half of `year`."""
    first = 1 if number == 1 else 7
    return Period(HALF, date(year, first, 1), _month_end(year, first + 5))


def whole_year(year: int) -> Period:
    """The calendar year `year`."""
    return Period(YEAR, date(year, 1, 1), date(year, 12, 31))


def date_range(start: date, end: date) -> Period:
    """The days from `start` to `end`; a range that is exactly a quarter, half or year is one."""
    for kind in (QUARTER, HALF, YEAR):
        named = containing(kind, start)
        if (named.start, named.end) == (start, end):
            return named
    return Period(CUSTOM, start, end)


def containing(kind: str, day: date) -> Period:
    """The quarter, half or year that contains `day`."""
    if kind == QUARTER:
        return quarter(day.year, (day.month + 2) // 3)
    if kind == HALF:
        return half(day.year, 1 if day.month <= 6 else 2)
    return whole_year(day.year)


def completed_periods(today: date, within_days: int) -> list[Period]:
    """The latest quarter, half and year that ended before `today`, at most `within_days` ago."""
    found = []
    for kind in (QUARTER, HALF, YEAR):
        previous = containing(kind, containing(kind, today).start - timedelta(days=1))
        if (today - previous.end).days <= within_days:
            found.append(previous)
    return found


def _number(raw: str | None, allowed: Iterable[int], error: str) -> int:
    try:
        value = int((raw or "").strip())
    except ValueError:
        raise PeriodError(error) from None
    if value not in allowed:
        raise PeriodError(error)
    return value


def parse_period(values: Mapping[str, str], today: date) -> Period:
    """Read the period chosen in the form (`kind`, `year`, `quarter`, `half`, `from`, `to`).

    Missing values default to the current quarter; anything invalid raises PeriodError.
    """
    kind = (values.get("kind") or QUARTER).strip()
    if kind not in PERIOD_KINDS:
        raise PeriodError(BAD_KIND)
    if kind == CUSTOM:
        start, end = parse_day(values.get("from")), parse_day(values.get("to"))
        if start is None:
            raise PeriodError(BAD_FROM)
        if end is None:
            raise PeriodError(BAD_TO)
        if end < start:
            raise PeriodError(BAD_ORDER)
        if (end - start).days >= MAX_CUSTOM_DAYS:
            raise PeriodError(TOO_LONG)
        period = date_range(start, end)
    else:
        bad_year = BAD_YEAR.format(first=FIRST_YEAR, last=today.year)
        year = _number(
            values.get("year") or str(today.year), range(FIRST_YEAR, today.year + 1), bad_year
        )
        if kind == QUARTER:
            current = str((today.month + 2) // 3)
            period = quarter(
                year, _number(values.get("quarter") or current, range(1, 5), BAD_QUARTER)
            )
        elif kind == HALF:
            current = "1" if today.month <= 6 else "2"
            period = half(year, _number(values.get("half") or current, (1, 2), BAD_HALF))
        else:
            period = whole_year(year)
    if period.start > today:
        raise PeriodError(NOT_STARTED.format(start=format_date(period.start)))
    return period


# --- figures -----------------------------------------------------------------------------------
class days_between(FunctionElement):  # lower case: it reads as the SQL it compiles to
    """The time from one UTC timestamp column to another, in days (a fraction)."""

    type = Float()
    inherit_cache = True
    name = "days_between"


@compiles(days_between, "postgresql")
def _days_between_postgresql(element, compiler, **kw) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(EXTRACT(EPOCH FROM ({end}) - ({start})) / 86400.0)"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element, compiler, **kw) -> str:
    start, end = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"(julianday({end}) - julianday({start}))"


@dataclass(frozen=True)
class Counts:
    """The figures of one row of a table (a unit, a field) or of the whole report."""

    received: int = 0
    rejected: int = 0
    answered_on_time: int = 0
    answered_late: int = 0
    open: int = 0
    late_now: int = 0
    handling_days: float = 0.0  # the sum over the answers sent in the period

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            *(getattr(self, name) + getattr(other, name) for name in self.__dataclass_fields__)
        )

    @property
    def answered(self) -> int:
        """Answers sent in the period."""
        return self.answered_on_time + self.answered_late

    @property
    def on_time_rate(self) -> float | None:
        """The share of the period's answers sent on time (None: no answer)."""
        return self.answered_on_time / self.answered if self.answered else None

    @property
    def average_days(self) -> float | None:
        """The mean handling time of the period's answers, in days (None: no answer)."""
        return self.handling_days / self.answered if self.answered else None

    @property
    def is_empty(self) -> bool:
        """Nothing at all to show for this row."""
        return not (self.received or self.answered or self.open)


@dataclass(frozen=True)
class Row:
    """A named row of the per-unit or per-field table."""

    name: str
    counts: Counts


@dataclass(frozen=True)
class Month:
    """One month of the period (its first day), cut to the period at both ends."""

    month: date
    received: int = 0
    answered_on_time: int = 0
    answered_late: int = 0

    @property
    def label(self) -> str:
        """ "07/2026"."""
        return f"{self.month.month:02d}/{self.month.year}"


@dataclass(frozen=True)
class LateCase:
    """A case answered late in the period, or overdue now: no personal data, no citizen text."""

    code: str
    field: str
    unit: str
    received_on: date
    due_on: date
    answered_on: date | None  # None: not answered yet
    days_late: int


@dataclass(frozen=True)
class Figures:
    """Everything the dashboard and the report files show for one period and scope."""

    period: Period
    today: date
    total: Counts
    units: list[Row]
    fields: list[Row]
    months: list[Month]
    p90_days: float | None
    ratings: dict[int, int]
    verdicts: dict[str, int]
    answers_by_zalo: int
    answers_undelivered: int
    late_cases: list[LateCase] = field(default_factory=list)

    @property
    def surveys(self) -> int:
        """Survey answers with a verdict, received in the period."""
        return sum(self.verdicts.values())

    @property
    def resolved_rate(self) -> float | None:
        """The share of verdicts that say the problem was resolved (None: no verdict)."""
        return self.verdicts["yes"] / self.surveys if self.surveys else None

    @property
    def undelivered_share(self) -> float | None:
        """The share of the period's answers by Zalo not yet delivered (None: none sent)."""
        return self.answers_undelivered / self.answers_by_zalo if self.answers_by_zalo else None


def percentile(values: list[float], fraction: float) -> float | None:
    """The `fraction` percentile of sorted `values`, interpolated as `percentile_cont` does."""
    if not values:
        return None
    rank = fraction * (len(values) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return values[low] + (values[high] - values[low]) * (rank - low)


@dataclass(frozen=True)
class _Window:
    """The SQL conditions of one report: the period as UTC instants, the scope, the day."""

    start_at: datetime
    end_at: datetime  # exclusive: the local midnight after the last day
    scope: frozenset[int] | None
    today: date

    def scoped(self, stmt):
        return stmt if self.scope is None else stmt.where(Case.unit_id.in_(sorted(self.scope)))

    @property
    def received(self):
        return (Case.received_at >= self.start_at) & (Case.received_at < self.end_at)

    @property
    def answered(self):
        return (Case.answered_at >= self.start_at) & (Case.answered_at < self.end_at)

    @property
    def still_open(self):
        return is_open() & (Case.received_at < self.end_at)

    @property
    def surveyed(self):
        return (Case.survey_answered_at >= self.start_at) & (Case.survey_answered_at < self.end_at)

    @property
    def late_answer(self):
        return self.answered & answered_late()

    @property
    def late_now(self):
        return self.still_open & is_late_now(self.today)


def _as_date(value) -> date:
    # SQLite's date() gives text; PostgreSQL a date.
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@dataclass(frozen=True)
class _Extras:
    """What is only ever summed over the whole report: survey answers and Zalo deliveries."""

    ratings: dict[int, int]
    verdicts: dict[str, int]
    by_zalo: int
    undelivered: int


def _grouped(session: Session, w: _Window) -> tuple[dict[tuple[int, int], Counts], _Extras]:
    """Counts per (unit, field), and the survey and delivery totals: one scan of the cases the
    period touches, every figure a conditional count or sum of it."""
    handled = days_between(Case.received_at, Case.answered_at)
    by_zalo = w.answered & Case.citizen_id.is_not(None)
    # Looked up by the case's id (an index) for each answer sent by Zalo, not scanned whole.
    undelivered_answer = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.case_id == Case.id,
            OutboxMessage.kind == MessageKind.ANSWER,
            undelivered_rows(),
        )
        .exists()
    )
    extras = [
        *(count_where(w.surveyed & (Case.rating == rating)) for rating in RATINGS),
        *(count_where(w.surveyed & (Case.resolved == verdict)) for verdict in VERDICTS),
        count_where(by_zalo),
        count_where(by_zalo & undelivered_answer),
    ]
    stmt = w.scoped(
        select(
            Case.unit_id,
            Case.field_id,
            count_where(w.received),
            count_where(w.received & (Case.status == CaseStatus.REJECTED)),
            count_where(w.answered & answered_on_time()),
            count_where(w.late_answer),
            count_where(w.still_open),
            count_where(w.late_now),
            func.coalesce(func.sum(when((w.answered, handled), else_=None)), 0),
            *extras,
        )
        .where(Case.received_at < w.end_at, w.received | w.answered | is_open() | w.surveyed)
        .group_by(Case.unit_id, Case.field_id)
    )
    counts: dict[tuple[int, int], Counts] = {}
    sums = [0] * len(extras)
    for unit_id, field_id, *numbers in session.execute(stmt):
        counts[(unit_id, field_id)] = Counts(*(int(n) for n in numbers[:6]), float(numbers[6]))
        sums = [total + int(n) for total, n in zip(sums, numbers[7:], strict=True)]
    *survey, by_zalo_total, undelivered_total = sums
    ratings = dict(zip(RATINGS, survey[: len(RATINGS)], strict=True))
    verdicts = dict(zip(VERDICTS, survey[len(RATINGS) :], strict=True))
    return counts, _Extras(ratings, verdicts, by_zalo_total, undelivered_total)


def _rows(
    named: Iterable[Unit] | Iterable[Field], counts: dict[int, Counts], shown: frozenset[int] | None
) -> list[Row]:
    """A table's rows in display order: every active row in `shown` (None: all), and any other
    row with figures."""
    return [
        Row(item.name, counts.get(item.id, Counts()))
        for item in named
        if item.id in counts or (item.active and (shown is None or item.id in shown))
    ]


def _months(session: Session, w: _Window, period: Period) -> list[Month]:
    """Received and answered cases per month of the period (grouped by day in SQL)."""
    months: dict[date, Month] = {}
    day = period.start.replace(day=1)
    while day <= period.end:
        months[day] = Month(day)
        day = (day + timedelta(days=32)).replace(day=1)
    received_on = local_day(Case.received_at)
    for day, n in session.execute(
        w.scoped(select(received_on, func.count()).where(w.received).group_by(received_on))
    ):
        key = _as_date(day).replace(day=1)
        months[key] = replace(months[key], received=months[key].received + int(n))
    answered_on = local_day(Case.answered_at)
    for day, on_time, late in session.execute(
        w.scoped(
            select(answered_on, count_where(answered_on_time()), count_where(answered_late()))
            .where(w.answered)
            .group_by(answered_on)
        )
    ):
        key = _as_date(day).replace(day=1)
        month = months[key]
        months[key] = replace(
            month,
            answered_on_time=month.answered_on_time + int(on_time),
            answered_late=month.answered_late + int(late),
        )
    return list(months.values())


def _p90(session: Session, w: _Window) -> float | None:
    handled = days_between(Case.received_at, Case.answered_at)
    if session.get_bind().dialect.name == "postgresql":
        stmt = select(func.percentile_cont(0.9).within_group(handled)).where(w.answered)
        value = session.scalar(w.scoped(stmt))
        return None if value is None else float(value)
    # SQLite has no percentile: one column of the period's durations, sorted by the database.
    stmt = select(handled).where(w.answered).order_by(handled)
    return percentile([float(v) for v in session.scalars(w.scoped(stmt))], 0.9)


def late_cases(
    session: Session,
    period: Period,
    scope: frozenset[int] | None,
    today: date,
    limit: int | None = None,
) -> list[LateCase]:
    """The period's late answers and the cases overdue now, the earliest answer date first."""
    w = _window(period, scope, today)
    stmt = w.scoped(
        select(
            Case.code,
            Field.name,
            Unit.name,
            Case.received_at,
            Case.answer_due_on,
            Case.answered_at,
        )
        .join(Field, Field.id == Case.field_id)
        .join(Unit, Unit.id == Case.unit_id)
        .where(Case.received_at < w.end_at, w.late_answer | w.late_now)
        .order_by(Case.answer_due_on, Case.id)
        .limit(limit)
    )
    found = []
    for code, field_name, unit_name, received_at, due_on, answered_at in session.execute(stmt):
        answered_on = local_date(answered_at) if answered_at is not None else None
        found.append(
            LateCase(
                code,
                field_name,
                unit_name,
                local_date(received_at),
                due_on,
                answered_on,
                ((answered_on or today) - due_on).days,
            )
        )
    return found


def _window(period: Period, scope: frozenset[int] | None, today: date) -> _Window:
    return _Window(
        local_midnight(period.start), local_midnight(period.end + timedelta(days=1)), scope, today
    )


def compute(
    session: Session,
    period: Period,
    scope: frozenset[int] | None,
    today: date,
    late_limit: int | None = None,
) -> Figures:
    """The report's figures for `period` over the cases of the units in `scope` (None: all),
    as of `today`; `late_limit` cuts the late list (the dashboard's), never the counts.

    Over the cases, five statements: the grouped counts (one scan), received and answered
    cases per day, the 90th percentile, the late list."""
    w = _window(period, scope, today)
    grouped, extras = _grouped(session, w)
    by_unit: dict[int, Counts] = {}
    by_field: dict[int, Counts] = {}
    for (unit_id, field_id), counts in grouped.items():
        by_unit[unit_id] = by_unit.get(unit_id, Counts()) + counts
        by_field[field_id] = by_field.get(field_id, Counts()) + counts
    units = session.scalars(select(Unit).order_by(Unit.sort_order, Unit.name, Unit.id))
    fields = session.scalars(select(Field).order_by(Field.sort_order, Field.name, Field.id))
    return Figures(
        period=period,
        today=today,
        total=sum(grouped.values(), Counts()),
        units=_rows(units, by_unit, scope),
        # A unit's staff see the fields their cases are in; the coordinators every field.
        fields=_rows(fields, by_field, None if scope is None else frozenset()),
        months=_months(session, w, period),
        p90_days=_p90(session, w),
        ratings=extras.ratings,
        verdicts=extras.verdicts,
        answers_by_zalo=extras.by_zalo,
        answers_undelivered=extras.undelivered,
        late_cases=late_cases(session, period, scope, today, late_limit),
    )


# --- display -----------------------------------------------------------------------------------
ALL_UNITS = "Tất cả đơn vị"


def scope_label(session: Session, scope: frozenset[int] | None) -> str:
    """Whose cases the figures cover: "Tất cả đơn vị", or the units' names."""
    if scope is None:
        return ALL_UNITS
    names = session.scalars(
        select(Unit.name).where(Unit.id.in_(sorted(scope))).order_by(Unit.sort_order, Unit.name)
    )
    return ", ".join(names) or "—"


def decimal_text(value: float | None, digits: int = 1) -> str:
    """A number as Vietnamese write it: "12,5" ("—" for None)."""
    if value is None:
        return "—"
    return f"{value:,.{digits}f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def percent_text(value: float | None) -> str:
    """A share as a percentage with one decimal: "85,7%" ("—" for None)."""
    return "—" if value is None else f"{decimal_text(100 * value)}%"


# --- the coordinators' notes -------------------------------------------------------------------
def note_for(session: Session, period: Period) -> ReportNote | None:
    """The "difficulties and proposals" written for `period`, if any."""
    return session.scalars(
        select(ReportNote).where(
            ReportNote.period_kind == period.kind,
            ReportNote.period_start == period.start,
            ReportNote.period_end == period.end,
        )
    ).first()


def check_note(text: str) -> str:
    """The note as it will be stored (line ends normalised, trimmed); NoteError if too long."""
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(cleaned) > NOTE_MAX_CHARS:
        raise NoteError(
            NOTE_TOO_LONG.format(
                length=decimal_text(len(cleaned), 0), limit=decimal_text(NOTE_MAX_CHARS, 0)
            )
        )
    return cleaned


def save_note(
    session: Session, period: Period, text: str, staff_id: int, now: datetime
) -> ReportNote:
    """Write (or replace) the note of `period`; the caller commits."""
    cleaned = check_note(text)
    note = note_for(session, period)
    if note is None:
        note = ReportNote(period_kind=period.kind, period_start=period.start, period_end=period.end)
        session.add(note)
    note.text = cleaned
    note.updated_by_id = staff_id
    note.updated_at = now
    session.flush()
    return note
