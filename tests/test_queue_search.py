"""The queue's free-text search (`cases.queue.search_clause`), on SQLite and PostgreSQL.

Both match the search as a case-insensitive substring of the code, title or content. PostgreSQL
first narrows the cases with its full-text index, so there each word of the search must also begin
a word of the case ("đườ" finds "đường", "ường" does not); the index must really be used.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from psycopg import sql
from sqlalchemy import event, select, text

from cases.queue import QueueFilters, normalise_query, queue_page
from models import Case, Staff
from tests import console_helpers
from tests.conftest import PG_URL

demo = console_helpers.demo
make_case = console_helpers.make_case

TODAY = date(2026, 11, 27)
NASTY = (
    "&|!():*",
    "'",
    "''",
    "\\",
    "\\'",
    "a'b",
    "đèn:*",
    "(đèn)",
    "đèn & !led",
    "đèn | rác",
    "đèn <-> led",
    '"đèn"',
    "²",
    "m²",
    "🙂 đèn",
    "%_\\",
)


def staff(session, username: str) -> Staff:
    return session.scalars(select(Staff).where(Staff.username == username)).one()


def found(session, q: str, username: str = "dieuphoi") -> set[str]:
    """The codes of the cases the queue finds for the search `q` (first page of 100)."""
    filters = QueueFilters(q=normalise_query(q))
    return {
        case.code for case in queue_page(session, staff(session, username), filters, TODAY, 100, 0)
    }


@pytest.fixture
def cases(make_case) -> dict[str, str]:
    """A few cases with Vietnamese text, numbers and punctuation; name -> code."""
    return {
        "lamp": make_case(
            title="Đèn đường hỏng",
            content="Đèn LED trước số 12/3 phố Đội Cấn không sáng.",
        ),
        "pavement": make_case(
            title="Lấn chiếm vỉa hè",
            content="Quán nước lấn chiếm 100% vỉa hè ngõ 5, ông nguyễn-văn Hùng.",
        ),
        "cafe": make_case(
            title="Quán cà phê Let's Go",
            content="Tiếng ồn sau 23 giờ, bàn ghế kê ra lòng đường.",
        ),
        "trash": make_case(
            title="Rác thải",
            content="Bãi rác tự phát gây ô nhiễm.",
            unit="STNMT",
            field="MOI-TRUONG",
        ),
    }


def test_words_are_found_in_the_title_content_and_code_ignoring_case(demo, cases):
    code = cases["trash"]
    expected = {
        "rác": {"trash"},  # title and content
        "Cấn": {"lamp"},  # content only
        "ĐÈN": {"lamp"},  # Vietnamese capitals fold
        "đườ": {"lamp", "cafe"},  # the beginning of a word
        "hè": {"pavement"},  # a word after another
        "vỉa hè": {"pavement"},
        "Đội Cấn": {"lamp"},
        "không sáng": {"lamp"},
        "led": {"lamp"},
        "100%": {"pavement"},
        "12/3": {"lamp"},
        "nguyễn-văn": {"pavement"},
        "let's": {"cafe"},
        code: {"trash"},  # a whole code (the unique index)
        code.lower(): {"trash"},
        code[:-5]: set(cases),  # the beginning of a code: PAKN.20261127
        "đèn sáng": set(),  # both words are there, but not as this text
        "ô tô": set(),
        "": set(cases),
    }
    names = {value: key for key, value in cases.items()}

    assert {q: {names[c] for c in found(demo, q)} for q in expected} == expected


def test_only_postgresql_needs_each_word_to_begin_a_word_of_the_case(demo, cases):
    middles = {
        "ường": {"lamp", "cafe"},
        "ỉa hè": {"pavement"},
        "0%": {"pavement"},
    }
    for q, names in middles.items():
        assert found(demo, q) == (set() if PG_URL else {cases[n] for n in names}), q


def test_a_part_of_a_case_code_is_found_anywhere_in_it(demo, cases):
    """The full-text index finds a code only from its beginning: these are substring searches."""
    code = cases["lamp"]
    for q in (code[-4:], code[-6:], code[5:13], code[:9].lower(), "1127"):
        assert cases["lamp"] in found(demo, q), q
    assert found(demo, code[-6:]) == {code}
    assert found(demo, "1127") == set(cases.values())


def test_wildcard_characters_are_plain_text(demo, cases):
    assert found(demo, "%") == {cases["pavement"]}
    assert found(demo, "_") == set()
    assert found(demo, "100%") == {cases["pavement"]}
    assert found(demo, "1_0") == set()


def test_odd_searches_do_not_fail_and_find_only_their_text(demo, cases):
    by_code = {code: name for name, code in cases.items()}
    texts = {by_code[c.code]: (c.code, c.title, c.content) for c in demo.scalars(select(Case))}
    for raw in NASTY:
        q = normalise_query(raw)
        holding = {n for n, fields in texts.items() if any(q.lower() in f.lower() for f in fields)}
        assert {by_code[c] for c in found(demo, q)} <= holding, q
    assert found(demo, "(đèn)") == set()
    assert found(demo, "'") == {cases["cafe"]}
    assert found(demo, "Let's Go") == {cases["cafe"]}


def test_a_search_respects_what_the_user_may_see(demo, cases):
    assert found(demo, "rác", "canbo.sxd") == set()
    assert found(demo, "đèn", "canbo.sxd") == {cases["lamp"]}


def explain_prepared(engine, statement: str, parameters: dict, modes: tuple[str, ...]) -> list[str]:
    """EXPLAIN `statement` as a prepared statement under each plan cache mode.

    psycopg prepares a statement run five times on a connection, and PostgreSQL may then plan it
    once for any parameters (a generic plan): only an expression written with the index's very
    literals still matches the index there (bound separators match only once folded into a
    custom plan).
    """
    names: list[str] = []

    def placeholder(match: re.Match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    prepared = re.sub(r"%\((\w+)\)s", placeholder, statement).replace("%%", "%")
    with engine.connect() as conn:
        raw = conn.connection.driver_connection  # psycopg: the SQL as written, no placeholders
        values = sql.SQL(", ").join(sql.Literal(parameters[name]) for name in names)
        raw.execute(f"PREPARE page_query AS {prepared}")
        plans = []
        for mode in modes:
            raw.execute(sql.SQL("SET plan_cache_mode = ") + sql.Identifier(mode))
            rows = raw.execute(sql.SQL("EXPLAIN EXECUTE page_query({})").format(values))
            plans.append("\n".join(row[0] for row in rows))
        raw.execute("DEALLOCATE page_query")
        raw.rollback()  # undoes the SET
    return plans


@pytest.mark.skipif(not PG_URL, reason="the full-text index is PostgreSQL's")
def test_a_rare_word_is_searched_through_the_full_text_index(demo, make_case):
    """PostgreSQL uses an expression index only for the same expression: EXPLAIN the very page
    query a handler's search runs, planned for its parameters and for any, and look for the
    index in the plans."""
    rare = make_case.create(content="Cửa hàng ở phố Khuất Duy Tiến lấn chiếm vỉa hè.")
    demo.execute(  # 2,000 more cases of the same unit, in one statement
        text(
            "INSERT INTO pakn_case (code, kind, status, channel, field_id, unit_id, title, "
            "content, hide_identity, received_at, answer_due_on, urgent, paused_days, "
            "extended_days, updated_at) "
            "SELECT 'PAKN.20260101.' || lpad(g::text, 4, '0'), kind, status, channel, field_id, "
            "unit_id, 'Đèn đường hỏng ' || g, 'Đèn đường trước nhà số ' || g || ' không sáng.', "
            "hide_identity, received_at - g * interval '1 minute', answer_due_on, urgent, "
            "paused_days, extended_days, updated_at "
            "FROM pakn_case, generate_series(1, 2000) AS g WHERE id = :id"
        ),
        {"id": rare.id},
    )
    demo.execute(text("ANALYZE pakn_case"))
    statements: list[tuple[str, dict]] = []

    def record(_conn, _cursor, statement, parameters, *_args) -> None:
        statements.append((statement, parameters))

    engine = demo.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert found(demo, "khuất", "canbo.sxd") == {rare.code}
    finally:
        event.remove(engine, "before_cursor_execute", record)
    [(statement, parameters)] = [(s, p) for s, p in statements if "@@" in s]

    plans = explain_prepared(
        engine, statement, parameters, ("force_custom_plan", "force_generic_plan")
    )

    for plan in plans:
        assert "Index Scan on ix_pakn_case_search" in plan, plan
