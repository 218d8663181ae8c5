"""The case queue's filters (console and API alike), as queries cheap on a million cases.

Every query starts from `visible_cases_filter`, so a filter can only narrow what the user may see.
The page is read with LIMIT/OFFSET on (received_at desc, id desc), ids first (`queue_page`: the
offset walks an index, not whole rows); the counts per status come from one grouped query over
the same filters minus the status, and the page's total is derived from them, so the queue costs
a fixed number of queries whatever the page holds.

The counts come from kept tables when the filters allow (`cases.counts`): visibility and a unit
from `case_count`, plus a period from `case_count_day`. A free-text search is not counted at
all (`counts_exactly`): counting every match of a substring means reading every case, so the
console and the API show its pages without totals (a whole case code is still counted).
Undelivered cases are read from their kept flag (`cases.undelivered`).

`urgent` keeps the cases marked urgent whatever their status (combine it with "open").

Text search is a case-insensitive substring match on the code, title and content. PostgreSQL
tests the search, lowercased by its own `lower()` (which folds Vietnamese capitals, Đ/đ, Ư/ư...,
under a UTF-8 ctype), against `pakn_case.search_text`, the stored lowercase of code, title and
content. SQLite's `lower()` and LIKE fold ASCII only, so on SQLite both sides go through
`pakn_lower` (Python's str.lower), a function registered on every SQLite connection by
`register_sqlite_functions`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Engine, Select, event, func, or_, select, text
from sqlalchemy.orm import Session, joinedload

from cases.access import visible_cases_filter, visible_units
from cases.clock import local_midnight, parse_day
from cases.counts import counts_by_status, counts_by_status_over_days
from models import CLOSED_STATUSES, Case, CaseStatus, Staff

OPEN_FILTER = "open"
DUE_OVERDUE = "overdue"
DUE_SOON = "soon"
DUE_SOON_DAYS = 3
MAX_QUERY_LENGTH = 200
CODE_PATTERN = re.compile(r"PAKN\.\d{8}\.\d{4,}", re.IGNORECASE)
SQLITE_LOWER = "pakn_lower"
OPEN_STATUSES = tuple(status for status in CaseStatus if status not in CLOSED_STATUSES)
NEWEST_FIRST = (Case.received_at.desc(), Case.id.desc())


@dataclass(frozen=True)
class QueueFilters:
    """What the queue is narrowed to; empty values filter nothing."""

    status: str = ""  # "", OPEN_FILTER or a CaseStatus value
    unit_id: int | None = None
    field_id: int | None = None
    due: str = ""  # "", DUE_OVERDUE or DUE_SOON
    received_from: date | None = None
    received_to: date | None = None
    q: str = ""
    code: str = ""  # an exact case code
    undelivered_only: bool = False
    urgent_only: bool = False  # cases marked urgent (PAKN khẩn), in any status

    def without_status(self) -> QueueFilters:
        """Return the same filters for every status (for the counts per status)."""
        return replace(self, status="")

    def as_args(self) -> dict[str, str]:
        """Return the filters as query-string arguments (for links that keep them)."""
        args: dict[str, str] = {}
        for spec in fields(self):
            value = getattr(self, spec.name)
            if value in (None, "", False):
                continue
            args[ARG_NAMES[spec.name]] = _arg_text(value)
        return args


ARG_NAMES = {
    "status": "status",
    "unit_id": "unit",
    "field_id": "field",
    "due": "due",
    "received_from": "from",
    "received_to": "to",
    "q": "q",
    "code": "code",
    "undelivered_only": "undelivered",
    "urgent_only": "urgent",
}


def _arg_text(value: Any) -> str:
    if value is True:
        return "1"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def parse_id(raw: str | None) -> int | None:
    """Return a positive integer id from a query argument, or None."""
    text = (raw or "").strip()
    return int(text) if text.isdigit() and 0 < len(text) < 10 else None


def normalise_query(raw: str | None) -> str:
    """Return the search text NFC-normalised, with its whitespace collapsed, bounded."""
    text = unicodedata.normalize("NFC", " ".join((raw or "").split()))
    return text[:MAX_QUERY_LENGTH]


def _valid_status(status: str) -> str:
    if status == OPEN_FILTER or status in {member.value for member in CaseStatus}:
        return status
    return ""


def filters_from_args(args: Any) -> tuple[QueueFilters, list[str]]:
    """Read the queue filters from request arguments; also return the names of invalid dates."""
    invalid: list[str] = []
    days: dict[str, date | None] = {}
    for name in ("from", "to"):
        raw = (args.get(name) or "").strip()
        days[name] = parse_day(raw) if raw else None
        if raw and days[name] is None:
            invalid.append(name)
    due = args.get("due", "")
    filters = QueueFilters(
        status=_valid_status(args.get("status", "")),
        unit_id=parse_id(args.get("unit")),
        field_id=parse_id(args.get("field")),
        due=due if due in (DUE_OVERDUE, DUE_SOON) else "",
        received_from=days["from"],
        received_to=days["to"],
        q=normalise_query(args.get("q")),
        undelivered_only=args.get("undelivered") == "1",
        urgent_only=args.get("urgent") == "1",
    )
    return filters, invalid


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_clause(q: str, dialect: str) -> ColumnElement[bool]:
    """Return the clause matching `q` in the code, title or content, ignoring case."""
    if CODE_PATTERN.fullmatch(q):
        # A whole code: one lookup in the unique index instead of a scan.
        return Case.code == q.upper()
    if dialect == "sqlite":
        columns = (Case.code, Case.title, Case.content)
        pattern = f"%{_escape_like(q.lower())}%"
        lower = getattr(func, SQLITE_LOWER)
        return or_(*(lower(column).like(pattern, escape="\\") for column in columns))
    # PostgreSQL: a plain substring test on the stored lowercased text. `strpos(...) > 0` also
    # hides the pattern from the planner, which would otherwise guess from a few sampled rows
    # that a word is rare and read the whole table instead of walking the newest cases until a
    # page is full (docs/performance.md, console queue).
    return func.strpos(Case.search_text, func.lower(q)) > 0


def status_clause(status: str) -> ColumnElement[bool] | None:
    """Return the clause selecting `status` ("open": every open status), or None for all."""
    if status == OPEN_FILTER:
        return Case.status.in_(OPEN_STATUSES)
    if status in {member.value for member in CaseStatus}:
        return Case.status == CaseStatus(status)
    return None


def filter_clauses(
    session: Session, staff: Staff, filters: QueueFilters, today: date
) -> list[ColumnElement[bool]]:
    """Return the WHERE clauses of `filters` for `staff`, the visibility rule first."""
    clauses: list[ColumnElement[bool]] = [visible_cases_filter(staff, session)]
    by_status = status_clause(filters.status)
    if by_status is not None:
        clauses.append(by_status)
    if filters.unit_id is not None:
        clauses.append(Case.unit_id == filters.unit_id)
    if filters.field_id is not None:
        clauses.append(Case.field_id == filters.field_id)
    # Deadlines concern open cases whose clock runs (it stops while the citizen is asked).
    if filters.due == DUE_OVERDUE:
        clauses += [
            Case.status.in_(OPEN_STATUSES),
            Case.paused_at.is_(None),
            Case.answer_due_on < today,
        ]
    elif filters.due == DUE_SOON:
        clauses += [
            Case.status.in_(OPEN_STATUSES),
            Case.paused_at.is_(None),
            Case.answer_due_on >= today,
            Case.answer_due_on <= today + timedelta(days=DUE_SOON_DAYS),
        ]
    if filters.received_from is not None:
        clauses.append(Case.received_at >= local_midnight(filters.received_from))
    if filters.received_to is not None:
        clauses.append(Case.received_at < local_midnight(filters.received_to + timedelta(days=1)))
    if filters.q:
        clauses.append(search_clause(filters.q, session.get_bind().dialect.name))
    if filters.code:
        clauses.append(Case.code == filters.code.strip().upper())
    if filters.undelivered_only:
        clauses.append(Case.undelivered_since.is_not(None))  # kept by cases.undelivered
    if filters.urgent_only:
        clauses.append(Case.urgent.is_(True))
    return clauses


def queue_query(session: Session, staff: Staff, filters: QueueFilters, today: date) -> Select:
    """Return the query of the cases `staff` may see under `filters`, newest first."""
    return (
        select(Case).where(*filter_clauses(session, staff, filters, today)).order_by(*NEWEST_FIRST)
    )


def queue_page(
    session: Session, staff: Staff, filters: QueueFilters, today: date, limit: int, offset: int
) -> list[Case]:
    """Return the cases of one page of the queue, with their field and unit loaded.

    The ids are chosen first (same filters, order, limit and offset: an index-only walk past the
    skipped rows), then only those cases are read whole — a deep page skips index entries, not
    thousands of joined rows.
    """
    if is_text_search(filters) and session.get_bind().dialect.name != "sqlite":
        _plan_search_for_ssd(session)
    ids = (
        select(Case.id)
        .where(*filter_clauses(session, staff, filters, today))
        .order_by(*NEWEST_FIRST)
        .limit(limit)
        .offset(offset)
    )
    return list(
        session.scalars(
            select(Case)
            .where(Case.id.in_(ids))
            .options(joinedload(Case.field), joinedload(Case.unit))
            .order_by(*NEWEST_FIRST)
        )
    )


def _plan_search_for_ssd(session: Session) -> None:
    """Let PostgreSQL cost this transaction's reads as on SSD storage (random ≈ sequential).

    A text search walks the newest cases until it has a page. With the default cost of a random
    read (4, for spinning disks) the planner walks the whole city's index and drops the other
    units' cases one by one, instead of walking the unit's own index: on a million cases a
    handler's search took 23–57 ms that way and 11–21 ms through the unit's index
    (docs/performance.md, console queue). `SET LOCAL` ends with the request's transaction.
    """
    session.execute(text("SET LOCAL random_page_cost = 1.1"))


def is_text_search(filters: QueueFilters) -> bool:
    """Tell whether `filters` search the text (a whole case code is a lookup, not a search)."""
    return bool(filters.q) and not CODE_PATTERN.fullmatch(filters.q)


def counts_exactly(filters: QueueFilters) -> bool:
    """Tell whether the queue counts its cases under `filters`: not for a free-text search."""
    return not is_text_search(filters)


def _kept_counts(
    session: Session, staff: Staff, filters: QueueFilters
) -> dict[CaseStatus, int] | None:
    """The counts from the kept tables, when the filters are visibility, unit and period only."""
    others = replace(filters, status="", unit_id=None, received_from=None, received_to=None)
    if others != QueueFilters():
        return None
    units = visible_units(session, staff)
    if filters.unit_id is not None:
        units = frozenset({filters.unit_id}) if units is None else units & {filters.unit_id}
    if filters.received_from is None and filters.received_to is None:
        return counts_by_status(session, units)
    # The period filter is whole local days, which is what the daily counts are kept by.
    return counts_by_status_over_days(session, units, filters.received_from, filters.received_to)


def status_counts(
    session: Session, staff: Staff, filters: QueueFilters, today: date
) -> dict[CaseStatus, int]:
    """Count the cases per status under `filters`, ignoring their status, in one grouped query."""
    kept = _kept_counts(session, staff, filters)
    if kept is not None:  # exact, without scanning the cases
        return kept
    clauses = filter_clauses(session, staff, filters.without_status(), today)
    rows = session.execute(select(Case.status, func.count()).where(*clauses).group_by(Case.status))
    counts = dict.fromkeys(CaseStatus, 0)
    for status, number in rows:
        counts[CaseStatus(status)] = number
    return counts


def total_for(status: str, counts: dict[CaseStatus, int]) -> int:
    """Return how many cases the status filter keeps, from the counts per status."""
    if status == OPEN_FILTER:
        return sum(counts[member] for member in OPEN_STATUSES)
    if status:
        return counts[CaseStatus(status)]
    return sum(counts.values())


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None


def register_sqlite_functions(engine: Engine) -> None:
    """Give every new SQLite connection of `engine` the Unicode-aware `pakn_lower`."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.create_function(SQLITE_LOWER, 1, _lower, deterministic=True)
