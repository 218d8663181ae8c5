"""The queue's cheap paths on a million cases (docs/performance.md), checked by what they run:
unit counts from the kept counts, deep pages read ids first, free-text searches not counted
(console and API), and the received-order indexes carrying the status on PostgreSQL."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex

from cases.queue import QueueFilters, filter_clauses, queue_page, queue_query, status_counts
from handlers.console import PAGE_SIZE
from handlers.runtime import get_runtime
from models import Case, CaseStatus, Staff, Unit
from tests import api_helpers, console_helpers
from tests.console_helpers import login, page

clock = console_helpers.clock
demo = console_helpers.demo
make_case = console_helpers.make_case
api = api_helpers.api
api_clock = api_helpers.api_clock
world = api_helpers.world

TODAY = date(2026, 11, 27)
CHIP = re.compile(r'data-status="([a-z_]+)">[^<]*<span class="chip-count"[^>]*>([^<]+)</span>')


@contextmanager
def recorded(app):
    """Collect the SQL statements the app's engine runs inside the block."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = get_runtime(app).engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


def counted_over_cases(statements: list[str]) -> list[str]:
    """The statements that count cases by reading pakn_case (not the kept counts)."""
    return [s for s in statements if "count(" in s.lower() and "FROM pakn_case" in s]


def staff(session, username: str) -> Staff:
    return session.scalars(select(Staff).where(Staff.username == username)).one()


def unit_id(session, code: str) -> int:
    return session.scalars(select(Unit.id).where(Unit.code == code)).one()


def scanned(session, member: Staff, filters: QueueFilters) -> dict[CaseStatus, int]:
    clauses = filter_clauses(session, member, filters.without_status(), TODAY)
    rows = session.execute(select(Case.status, func.count()).where(*clauses).group_by(Case.status))
    found = dict.fromkeys(CaseStatus, 0)
    found.update({CaseStatus(status): n for status, n in rows})
    return found


# 1. Unit filter: counted from case_count.
def test_unit_counts_come_from_the_kept_counts_and_equal_a_scan(app, demo, make_case):
    for unit, status in (
        ("SXD", CaseStatus.RECEIVED),
        ("SXD", CaseStatus.PROCESSING),
        ("SXD", CaseStatus.ANSWERED),
        ("STNMT", CaseStatus.PROCESSING),
    ):
        make_case(unit, status=status)
    coordinator, handler = staff(demo, "dieuphoi"), staff(demo, "canbo.sxd")
    sxd, stnmt = unit_id(demo, "SXD"), unit_id(demo, "STNMT")

    for member, unit in (
        (coordinator, sxd),
        (coordinator, stnmt),
        (handler, sxd),
        (handler, stnmt),
    ):
        filters = QueueFilters(unit_id=unit, status="processing")
        with recorded(app) as statements:
            counts = status_counts(demo, member, filters, TODAY)
        assert counts == scanned(demo, member, filters)
        assert counted_over_cases(statements) == []
        assert any("case_count" in s for s in statements)
    # A unit outside the handler's own counts nothing, as the scan does.
    assert sum(status_counts(demo, handler, QueueFilters(unit_id=stnmt), TODAY).values()) == 0


def test_the_unit_page_of_the_console_counts_without_scanning(app, client, demo, make_case):
    for _ in range(3):
        make_case("SXD", status=CaseStatus.PROCESSING)
    make_case("STNMT", "MOI-TRUONG")
    login(client, "coordinator")

    with recorded(app) as statements:
        html = page(client, f"/admin/?unit={unit_id(demo, 'SXD')}")

    assert "3 phản ánh, kiến nghị" in html
    assert counted_over_cases(statements) == []


# 3. Deep pages: ids first.
def test_a_page_reads_the_ids_first_in_the_queue_order(app, demo, make_case):
    moment = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    for number in range(7):  # some received at the same moment: the id breaks the tie
        make_case(
            received_at=moment if number % 2 else datetime(2026, 11, 27, 1, number, tzinfo=UTC)
        )
    coordinator = staff(demo, "dieuphoi")
    expected = list(demo.scalars(queue_query(demo, coordinator, QueueFilters(), TODAY)))

    with recorded(app) as statements:
        pages = [
            queue_page(demo, coordinator, QueueFilters(), TODAY, 3, offset)
            for offset in (0, 3, 6, 9)
        ]

    assert [[case.id for case in cases] for cases in pages] == [
        [case.id for case in expected[start : start + 3]] for start in (0, 3, 6, 9)
    ]
    assert all(case.field.name and case.unit.name for case in pages[0])
    assert len(statements) == 4  # one statement a page, field and unit joined in
    assert all(re.search(r"pakn_case\.id IN \(SELECT pakn_case\.id\s", s) for s in statements)
    assert all("LIMIT" in s and "OFFSET" in s for s in statements)


def page_statements(statements: list[str]) -> list[str]:
    """The statements reading a page of cases."""
    return [s for s in statements if "OFFSET" in s and s.startswith("SELECT pakn_case.id")]


def test_the_console_reads_its_page_ids_first(app, client, demo, make_case):
    make_case()
    login(client, "coordinator")

    with recorded(app) as statements:
        page(client, "/admin/?page=1")

    [query] = page_statements(statements)
    assert "pakn_case.id IN (SELECT pakn_case.id" in query


def test_the_api_reads_its_page_ids_first(app, api, world):
    world.case()

    with recorded(app) as statements:
        assert api.get("/api/v1/cases?page=1", "dieuphoi").status_code == 200

    [query] = page_statements(statements)
    assert "pakn_case.id IN (SELECT pakn_case.id" in query


# 6. Free-text search: no totals, one row more for the next page.
def test_a_text_search_shows_pages_without_counting(app, client, demo, make_case):
    for number in range(PAGE_SIZE + 1):
        make_case(title=f"Vỉa hè bị lấn chiếm {number}")
    make_case(title="Đèn đường hỏng", content="Tối om.")
    login(client, "coordinator")

    with recorded(app) as statements:
        first = page(client, "/admin/?q=vỉa hè")
    second = page(client, "/admin/?q=vỉa hè&page=2")

    assert counted_over_cases(statements) == []
    assert "Không đếm tổng số khi tìm theo nội dung" in first
    assert set(count for _status, count in CHIP.findall(first)) == {"—"}
    assert first.count('<td data-label="Mã">') == PAGE_SIZE
    assert "page=2" in first and "Trang sau" in first
    assert "phản ánh, kiến nghị ·" not in first and "trang 1/" not in first
    assert second.count('<td data-label="Mã">') == 1
    assert "Trang sau" not in second and "‹ Trang trước" in second
    assert len(page_statements(statements)) == 1


def test_a_whole_code_search_is_still_counted(app, client, demo, make_case):
    code = make_case()
    make_case()
    login(client, "coordinator")

    html = page(client, f"/admin/?q={code.lower()}")

    assert "1 phản ánh, kiến nghị" in html
    assert "Không đếm tổng số" not in html
    assert dict(CHIP.findall(html))["all"] == "1"


def test_the_api_gives_no_total_for_a_text_search(api, world):
    code = world.case(title="Vỉa hè bị lấn chiếm")
    world.case(title="Đèn đường hỏng", content="Đèn đường trước số 5 hỏng đã một tuần.")

    words = api.get("/api/v1/cases?q=vỉa hè&per_page=1", "dieuphoi")  # validated by the schema
    by_code = api.get(f"/api/v1/cases?q={code}", "dieuphoi")

    assert [item["code"] for item in words.json["items"]] == [code]
    assert words.json["paging"] == {"page": 1, "per_page": 1, "total": None}
    assert by_code.json["paging"]["total"] == 1


# 1 (indexes). The received-order indexes carry the status on PostgreSQL; SQLite ignores it.
@pytest.mark.parametrize("name", ["ix_pakn_case_received", "ix_pakn_case_unit_received"])
def test_received_order_indexes_include_the_status_on_postgresql(name):
    index = next(i for i in Case.__table__.indexes if i.name == name)

    ddl = str(CreateIndex(index).compile(dialect=postgresql.dialect()))

    assert ddl.endswith("INCLUDE (status)")


def test_the_undelivered_index_is_partial_on_both_databases():
    from sqlalchemy.dialects import sqlite

    index = next(i for i in Case.__table__.indexes if i.name == "ix_pakn_case_undelivered")

    for dialect in (postgresql.dialect(), sqlite.dialect()):
        ddl = str(CreateIndex(index).compile(dialect=dialect))
        assert ddl.endswith("WHERE undelivered_since IS NOT NULL")
    assert "INCLUDE (status, unit_id)" in str(
        CreateIndex(index).compile(dialect=postgresql.dialect())
    )
