"""The queue: filters (status, unit, field, deadlines, period, text, code, undelivered), counts per
status, pagination, and a fixed number of queries whatever the page holds."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, select

from bot.delivery import enqueue
from bot.zalo import messages
from handlers.runtime import get_runtime
from models import Case, CaseStatus, Field, OutboxState, Unit
from tests import console_helpers
from tests.console_helpers import login, page

clock = console_helpers.clock
demo = console_helpers.demo
make_case = console_helpers.make_case
citizen = console_helpers.citizen

S = CaseStatus
CHIP = re.compile(r'data-status="([a-z_]+)">[^<]*<span class="chip-count">(\d+)</span>')


def counts(html: str) -> dict[str, int]:
    """The counts per status shown above the queue ("all", "open" and each status)."""
    return {status: int(number) for status, number in CHIP.findall(html)}


def listed(html: str) -> set[str]:
    """The case codes listed in the queue table."""
    return set(re.findall(r'<td data-label="Mã"><a href="[^"]+">([^<]+)</a>', html))


def ids(session, model, code: str) -> int:
    return session.scalars(select(model.id).where(model.code == code)).one()


@pytest.fixture
def cases(make_case, clock):
    """Cases in three units and several states, received and due on different days."""
    at = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
    return {
        "sxd_new": make_case("SXD", status=S.RECEIVED, answer_due_on=date(2026, 12, 17)),
        "sxd_late": make_case("SXD", status=S.PROCESSING, answer_due_on=date(2026, 11, 26)),
        "sxd_today": make_case("SXD", status=S.PROCESSING, answer_due_on=date(2026, 11, 27)),
        "sxd_done_late": make_case("SXD", status=S.ANSWERED, answer_due_on=date(2026, 11, 1)),
        "env_soon": make_case(
            "STNMT",
            "MOI-TRUONG",
            status=S.AWAITING_INFO,
            answer_due_on=date(2026, 11, 30),
            received_at=at,
        ),
        "env_later": make_case(
            "STNMT",
            "MOI-TRUONG",
            status=S.PROCESSING,
            answer_due_on=date(2026, 12, 1),
            received_at=at,
        ),
        "traffic": make_case(
            "SGTVT",
            "GIAO-THONG",
            status=S.PUBLISHED,
            title="ĐƯỜNG LÁNG ngập nước",
            content="Mưa lớn.",
        ),
        # 17:30 UTC on the 26th is already the 27th in Vietnam.
        "midnight": make_case(
            "SGTVT",
            "GIAO-THONG",
            status=S.RECEIVED,
            received_at=datetime(2026, 11, 26, 17, 30, tzinfo=UTC),
        ),
    }


def test_counts_per_status_cover_every_visible_case(client, cases):
    login(client, "coordinator")

    html = page(client, "/admin/")

    shown = counts(html)
    assert shown["all"] == 8
    assert shown["open"] == 6
    assert shown["received"] == 2 and shown["processing"] == 3 and shown["answered"] == 1
    assert shown["merged"] == 0
    assert listed(html) == set(cases.values())
    assert "8 phản ánh, kiến nghị" in html


def test_counts_follow_the_other_filters_but_not_the_status(client, demo, cases):
    login(client, "coordinator")
    sxd = ids(demo, Unit, "SXD")

    html = page(client, f"/admin/?unit={sxd}&status=processing")

    assert listed(html) == {cases["sxd_late"], cases["sxd_today"]}
    shown = counts(html)
    assert shown["all"] == 4 and shown["processing"] == 2 and shown["received"] == 1
    assert "2 phản ánh, kiến nghị" in html
    # The status links keep the other filters.
    assert f'href="/admin/?unit={sxd}&amp;status=received"' in html


def test_filter_by_unit_and_field(client, demo, cases):
    login(client, "coordinator")

    by_unit = page(client, f"/admin/?unit={ids(demo, Unit, 'STNMT')}")
    by_field = page(client, f"/admin/?field={ids(demo, Field, 'GIAO-THONG')}")

    assert listed(by_unit) == {cases["env_soon"], cases["env_later"]}
    assert listed(by_field) == {cases["traffic"], cases["midnight"]}
    assert listed(page(client, "/admin/?unit=abc&field=-1")) == set(cases.values())


def test_overdue_and_due_soon(client, cases):
    login(client, "coordinator")  # today is 27/11/2026 in Vietnam

    overdue = page(client, "/admin/?due=overdue")
    soon = page(client, "/admin/?due=soon")

    assert listed(overdue) == {cases["sxd_late"]}  # answered late cases are not overdue any more
    assert listed(soon) == {cases["sxd_today"], cases["env_soon"]}
    assert "Sắp đến hạn" in soon and "Quá hạn" in overdue
    assert counts(overdue)["all"] == 1


def test_a_paused_clock_is_not_overdue(client, make_case, clock):
    code = make_case(
        status=S.AWAITING_INFO,
        answer_due_on=date(2026, 11, 20),
        paused_at=datetime(2026, 11, 19, 3, 0, tzinfo=UTC),
    )
    login(client, "coordinator")

    assert listed(page(client, "/admin/?due=overdue")) == set()
    assert "Quá hạn" not in page(client, f"/admin/cases/{code}").split("</h1>")[1].split("<nav")[0]


def test_period_uses_vietnamese_days(client, cases):
    login(client, "coordinator")

    from_27 = page(client, "/admin/?from=2026-11-27")
    until_26 = page(client, "/admin/?to=26/11/2026")
    week = page(client, "/admin/?from=2026-11-20&to=2026-11-20")

    assert cases["midnight"] in listed(from_27)
    assert listed(until_26) == {cases["env_soon"], cases["env_later"]}
    assert listed(week) == {cases["env_soon"], cases["env_later"]}


def test_an_invalid_date_is_shown_and_ignored(client, cases):
    login(client, "coordinator")

    html = page(client, "/admin/?from=31/02/2026")

    assert "Ngày không hợp lệ" in html
    assert listed(html) == set(cases.values())


@pytest.mark.parametrize("query", ["đường láng", "ĐƯỜNG LÁNG", "Đường Láng", "ngập NƯỚC"])
def test_text_search_ignores_vietnamese_capitals(client, cases, query):
    login(client, "coordinator")

    html = page(client, f"/admin/?q={query}")

    assert listed(html) == {cases["traffic"]}


def test_search_by_code_whole_or_part(client, cases):
    login(client, "coordinator")
    code = cases["env_soon"]

    assert listed(page(client, f"/admin/?q={code.lower()}")) == {code}
    assert listed(page(client, f"/admin/?q={code[-6:]}")) == {code}


def test_filters_combine(client, demo, citizen, cases):
    case = demo.scalars(select(Case).where(Case.code == cases["sxd_late"])).one()
    row = enqueue(demo, citizen.id, messages.text("Kết quả"), case_id=case.id)
    row.state = OutboxState.FAILED
    demo.commit()
    login(client, "coordinator")

    html = page(client, f"/admin/?undelivered=1&due=overdue&unit={case.unit_id}&q=phản ánh")

    assert listed(html) == {cases["sxd_late"]}
    assert listed(page(client, "/admin/?undelivered=1&status=received")) == set()


def test_handler_counts_and_units_are_their_own(client, demo, cases):
    login(client, "handler")

    html = page(client, "/admin/")
    elsewhere = page(client, f"/admin/?unit={ids(demo, Unit, 'STNMT')}")

    assert counts(html)["all"] == 4
    assert listed(html) == {cases[k] for k in ("sxd_new", "sxd_late", "sxd_today", "sxd_done_late")}
    unit_options = re.search(r'<select id="unit" name="unit">(.*?)</select>', html, re.S).group(1)
    assert "Sở Xây dựng" in unit_options and "Sở Tài nguyên" not in unit_options
    assert listed(elsewhere) == set() and counts(elsewhere)["all"] == 0


def test_pages_keep_the_filters(client, make_case, demo):
    for _ in range(55):
        make_case(status=S.PROCESSING)
    make_case(status=S.RECEIVED)
    login(client, "coordinator")

    first = page(client, "/admin/?status=processing")
    second = page(client, "/admin/?status=processing&page=2")

    assert len(listed(first)) == 50 and len(listed(second)) == 5
    assert "trang 1/2" in first
    assert 'href="/admin/?page=2&amp;status=processing"' in first
    assert listed(first).isdisjoint(listed(second))
    assert listed(page(client, "/admin/?status=processing&page=9")) == set()


def test_the_queue_costs_the_same_queries_for_3_or_40_cases(app, client, make_case):
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = get_runtime(app).engine
    for _ in range(3):
        make_case(unit="SXD")
    login(client, "handler")
    event.listen(engine, "before_cursor_execute", record)
    try:
        page(client, "/admin/")
        few = len(statements)
        for number in range(37):
            make_case(unit="SXD" if number % 2 else "STNMT", field="MOI-TRUONG")
        statements.clear()
        page(client, "/admin/?undelivered=1&q=x&due=soon")
        statements.clear()
        page(client, "/admin/")
        many = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", record)

    assert few == many
    assert many <= 12
    counts = [s for s in statements if "GROUP BY" in s and "status" in s]
    # The counts per status, in one query over the kept counts (no scan of the cases).
    assert len(counts) == 1 and "case_count" in counts[0]
