"""The queue's free-text search (`cases.queue.search_clause`), on SQLite and PostgreSQL.

Both match the search as a case-insensitive substring of the code, title or content, Vietnamese
capitals included; wildcard characters and tsquery/LIKE syntax are plain text.
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select, text

from cases.queue import QueueFilters, normalise_query, queue_page
from handlers.runtime import get_runtime
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


def test_the_middle_of_a_word_is_found_too(demo, cases):
    middles = {
        "ường": {"lamp", "cafe"},
        "ỉa hè": {"pavement"},
        "0%": {"pavement"},
    }
    for q, names in middles.items():
        assert found(demo, q) == {cases[n] for n in names}, q


def test_a_part_of_a_case_code_is_found_anywhere_in_it(demo, cases):
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


def test_a_search_follows_edits_and_anonymisation_at_once(demo, cases):
    """On PostgreSQL the search reads a stored lowercase copy: the database keeps it current."""
    lamp = demo.scalars(select(Case).where(Case.code == cases["lamp"])).one()
    lamp.content = "Nội dung đã được ẩn theo yêu cầu của người dân."
    demo.commit()
    assert found(demo, "Đội Cấn") == set()
    assert found(demo, "YÊU CẦU của") == {cases["lamp"]}


@pytest.mark.skipif(not PG_URL, reason="a PostgreSQL planner setting")
def test_a_text_search_plans_for_ssd_within_its_transaction_only(app, demo, cases):
    with get_runtime(app).sessions() as session:  # transactional, as a request's session is

        def cost() -> str:
            return session.execute(text("SHOW random_page_cost")).scalar_one()

        default = cost()
        found(session, cases["lamp"])  # a whole code: one lookup, not a walk
        assert cost() == default
        assert found(session, "đèn") == {cases["lamp"]}
        assert cost() == "1.1"
        session.rollback()  # the request's transaction ends
        assert cost() == default
