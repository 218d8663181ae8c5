"""Frequently asked questions: matching (diacritics, typos, narratives that must not match), the
answer in chat (and the flows it must not hijack), and the administrators' console pages."""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import func, select

from bot import faq, texts
from bot.flows import menu, submit
from cases.demo import FAQS, seed_faqs
from models import CaseEvent, CaseStatus, Faq, Staff
from tests import console_helpers
from tests.console_helpers import XSS, csrf_from, login, page
from tests.test_console_admin import error_next_to, post
from tests.test_flow_commands import MENU_TEXT, USER, Chat, start_chat
from tests.test_flow_lookup import register

demo = console_helpers.demo
clock = console_helpers.clock

FEE, WAIT, ANONYMOUS, HOURS, COMPLAINT, ADD = (spec.question for spec in FAQS)
LAMP = "Đèn đường hỏng thì báo ở đâu?"
LAMP_KEYWORDS = "đèn đường, đèn chiếu sáng"
# PAKN typed outside the flow: each contains a keyword of some entry, none is a question.
NARRATIVES = [
    "Đèn đường ở ngõ 5 phố Hàng Bạc bị hỏng đã 2 tuần, đề nghị sửa",
    "Đèn đường ngõ 5 hỏng",
    "Tôi nộp hồ sơ cấp sổ đỏ từ tháng 3, cán bộ hẹn mãi chưa biết khi nào có kết quả, đề nghị xem xét",
    "Rác thải ở chợ Hàng Bè bốc mùi cả ngày chủ nhật, đề nghị thu gom",
    "Tôi bị thu lệ phí sai quy định khi làm thủ tục cấp sổ đỏ tại phường",
    "Quán karaoke hát to đến ban đêm làm mất ngủ cả khu phố",
    "Công trình xây dựng không phép ở ngõ 3, làm việc cả ban đêm",
    "Vỉa hè trước nhà số 12 bị lấn chiếm làm chỗ để xe, mất tiền gửi xe",
]


def entries() -> list[Faq]:
    """The demo entries and one about street lights, as the matcher sees them."""
    rows = [
        Faq(id=n, question=s.question, answer=s.answer, keywords=s.keywords, sort_order=n)
        for n, s in enumerate(FAQS, start=1)
    ]
    return [*rows, Faq(id=99, question=LAMP, answer="…", keywords=LAMP_KEYWORDS, sort_order=99)]


def matched(text: str) -> str | None:
    found = faq.best_match(entries(), text)
    return found.faq.question if found else None


# --- matching -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("Gửi PAKN qua Zalo có mất phí không?", FEE),
        ("gui pakn qua zalo co mat phi khong", FEE),
        ("Có mất phí không ạ?", FEE),
        ("LỆ PHÍ BAO NHIÊU?", FEE),
        ("le phi bao nhieu", FEE),
        ("Bao lâu thì có kết quả?", WAIT),
        ("bao lau thi co ket qua", WAIT),
        ("Khi nào có kết quả ạ", WAIT),
        ("Có được giấu tên không?", ANONYMOUS),
        ("an danh duoc ko", ANONYMOUS),
        ("Thứ bảy có gửi được không?", HOURS),
        ("Khiếu nại ở đâu?", COMPLAINT),
        ("khieu nai o dau", COMPLAINT),
        ("Làm sao để bổ sung thông tin?", ADD),
        ("Đèn đường hỏng báo ở đâu", LAMP),
    ],
)
def test_short_questions_match_with_and_without_diacritics(text, question):
    assert matched(text) == question


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("khiu nai o dau", COMPLAINT),  # khiếu nại
        ("mien phis khong", FEE),  # miễn phí
        ("khieu nai to caoo gui dau", COMPLAINT),
        ("Gửi PAKN qua Zalo có mất phi khôg?", FEE),  # a near copy of the question
    ],
)
def test_typos_in_long_keywords_are_forgiven(text, question):
    assert matched(text) == question


@pytest.mark.parametrize("text", ["le phj", "an dnah"])
def test_typos_in_short_keywords_are_not_guessed(text):
    assert matched(text) is None


@pytest.mark.parametrize("text", NARRATIVES)
def test_a_narrative_never_matches_because_a_keyword_appears(text):
    assert matched(text) is None


def test_the_narratives_do_contain_keywords():
    # Otherwise the test above would prove nothing.
    keywords = [faq.normalize(k) for e in entries() for k in faq.split_keywords(e.keywords)]
    for text in NARRATIVES:
        assert any(f" {k} " in f" {faq.normalize(text)} " for k in keywords), text


@pytest.mark.parametrize("text", ["", "   ", "Xin chào", "ok", "Cảm ơn", "là gì", "?"])
def test_greetings_and_empty_texts_match_nothing(text):
    assert matched(text) is None


def test_a_message_longer_than_a_question_never_matches():
    text = " ".join(["lệ phí"] * (faq.MAX_WORDS // 2 + 1))

    assert matched(" ".join(["lệ phí"] * 2)) == FEE
    assert matched(text) is None


def test_equal_matches_go_to_the_entry_shown_first():
    first = Faq(id=1, question="Phí là gì?", answer="A", keywords="lệ phí", sort_order=1)
    second = Faq(id=2, question="Phí là gì?", answer="B", keywords="lệ phí", sort_order=2)

    assert faq.best_match([first, second], "lệ phí").faq is first


def test_keywords_split_on_commas_semicolons_and_lines():
    assert faq.split_keywords(" lệ phí,mất phí ;\n\n miễn phí ,, ") == [
        "lệ phí",
        "mất phí",
        "miễn phí",
    ]


@pytest.mark.parametrize(("keyword", "searchable"), [("lệ phí", True), ("là gì", False)])
def test_keywords_of_common_words_only_are_not_searchable(keyword, searchable):
    assert faq.is_searchable(keyword) is searchable


def test_find_reads_only_active_entries(session):
    seed_faqs(session)
    session.commit()
    assert faq.find(session, "có mất phí không") is not None

    entry = session.scalars(select(Faq).where(Faq.question == FEE)).one()
    entry.active = False
    session.commit()

    assert faq.find(session, "có mất phí không") is None


def test_demo_seed_adds_the_entries_once(session):
    seed_faqs(session)
    session.commit()
    seed_faqs(session)
    session.commit()

    assert session.scalar(select(func.count()).select_from(Faq)) == len(FAQS)


# --- in chat ------------------------------------------------------------------------------------
@pytest.fixture
def chat(session, webhook, zalo) -> Chat:
    chat = start_chat(session, webhook, zalo)
    seed_faqs(session)
    session.add(Faq(question=LAMP, answer="Ông/Bà chọn Gửi phản ánh.", keywords=LAMP_KEYWORDS))
    session.commit()
    return chat


def faq_reply(session, question: str) -> str:
    entry = session.scalars(select(Faq).where(Faq.question == question)).one()
    return f"{entry.question}\n{entry.answer}"


@pytest.mark.parametrize("text", ["Gửi PAKN có mất phí không?", "gui pakn co mat phi khong"])
def test_a_matching_question_gets_the_answer_and_the_menu(chat, session, text, caplog):
    caplog.set_level(logging.INFO, logger="bot")

    assert chat.say(text) == [faq_reply(session, FEE), MENU_TEXT]
    assert chat.state == menu.IDLE
    assert re.search(r"faq answered: faq_id=\d+", caplog.text)


@pytest.mark.parametrize("text", NARRATIVES[:3])
def test_a_narrative_outside_a_flow_is_thanked_as_before(chat, text):
    assert chat.say(text) == [texts.UNKNOWN_OUTSIDE_FLOW, MENU_TEXT]


def test_an_inactive_entry_is_not_answered(chat, session):
    session.execute(Faq.__table__.update().values(active=False))
    session.commit()

    assert chat.say("Có mất phí không?") == [texts.UNKNOWN_OUTSIDE_FLOW, MENU_TEXT]


def test_the_content_of_a_submission_is_never_taken_for_a_question(chat, session):
    chat.reach(submit.CONTENT)

    replies = chat.say("Có mất phí không?")

    assert replies[0].startswith("Đã ghi nhận")
    assert faq_reply(session, FEE) not in replies
    assert chat.state == submit.CONTENT
    assert "Có mất phí không?" in chat.draft["content"]


def test_the_title_of_a_submission_is_never_taken_for_a_question(chat, session):
    chat.reach(submit.TITLE)

    chat.say("Bao lâu thì có kết quả trả lời?")

    assert chat.state == submit.CONTENT
    assert chat.draft["title"] == "Bao lâu thì có kết quả trả lời?"


def test_with_an_open_case_a_question_is_answered_and_a_narrative_offered_to_the_case(
    chat, session
):
    case = register(session, USER, "Đèn tín hiệu hỏng tại ngã tư")

    assert chat.say("Bao lâu thì có kết quả?") == [faq_reply(session, WAIT), MENU_TEXT]
    assert "pending" not in chat.draft

    replies = chat.say(NARRATIVES[0])
    assert replies[0].startswith(texts.ADD_OR_NEW.format(code=case.code, title=case.title))
    assert chat.state == menu.ADD_OR_NEW
    assert chat.draft["pending"]["text"] == NARRATIVES[0]


def test_a_case_awaiting_information_takes_the_text_even_if_it_is_a_question(chat, session):
    case = register(session, USER, "Đèn tín hiệu hỏng", status=CaseStatus.AWAITING_INFO)

    replies = chat.say("Có mất phí không?")

    assert faq_reply(session, FEE) not in replies
    assert chat.state == menu.ADD_INFO
    notes = session.scalars(select(CaseEvent.note).where(CaseEvent.case_id == case.id)).all()
    assert "Có mất phí không?" in notes


def test_a_question_after_the_guide_is_answered_too(chat, session):
    chat.say(texts.MENU_GUIDE)

    assert chat.say("khieu nai o dau") == [faq_reply(session, COMPLAINT), MENU_TEXT]
    assert chat.state == menu.IDLE


# --- console ------------------------------------------------------------------------------------
FORM = {
    "question": "Gửi PAKN có mất phí không?",
    "answer": "Không mất phí.\nCơ quan không thu bất kỳ khoản nào.",
    "keywords": "lệ phí\nmất phí;  miễn   phí",
    "sort_order": "5",
}


@pytest.fixture
def admin(client, demo, clock):
    login(client, "admin")
    return client


def faq_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Faq))


def admin_id(session) -> int:
    return session.scalars(select(Staff.id).where(Staff.username == "admin")).one()


def test_admin_creates_edits_switches_off_and_deletes_an_entry(admin, demo, clock, caplog):
    caplog.set_level(logging.INFO, logger="handlers")
    before = faq_count(demo)

    response = post(admin, "/admin/faq", FORM)

    assert response.status_code == 302 and response.headers["Location"] == "/admin/faq"
    entry = demo.scalars(select(Faq).where(Faq.question == FORM["question"])).one()
    assert entry.keywords == "lệ phí, mất phí, miễn phí"
    assert entry.answer == FORM["answer"]
    assert (entry.active, entry.sort_order, entry.updated_by_id) == (True, 5, admin_id(demo))
    assert faq_count(demo) == before + 1
    assert FORM["question"] in page(admin, "/admin/faq")

    clock.advance(hours=1)
    edited = post(admin, f"/admin/faq/{entry.id}", FORM | {"answer": "Hoàn toàn miễn phí."})
    assert edited.status_code == 302
    demo.expire_all()
    assert (entry.answer, entry.active, entry.updated_at) == (
        "Hoàn toàn miễn phí.",
        False,
        clock.now,
    )
    assert "Ngừng sử dụng" in page(admin, "/admin/faq")

    assert post(admin, f"/admin/faq/{entry.id}/delete", {}).status_code == 302
    assert faq_count(demo) == before
    assert f"faq created by staff_id={admin_id(demo)}" in caplog.text
    assert "faq deleted" in caplog.text


def test_the_edit_page_shows_the_entry(admin, demo):
    entry = demo.scalars(select(Faq).order_by(Faq.id)).first()

    html = page(admin, f"/admin/faq/{entry.id}")

    assert entry.keywords in html and 'name="active" value="1" checked' in html


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"question": ""}, "question", "Vui lòng nhập câu hỏi."),
        ({"question": "H" * 201}, "question", "Tối đa 200 ký tự."),
        ({"answer": "  "}, "answer", "Vui lòng nhập câu trả lời."),
        ({"answer": "x" * 1800}, "answer", "Tối đa 1.799 ký tự (một tin nhắn Zalo)."),
        ({"keywords": ""}, "keywords", "Vui lòng nhập ít nhất một từ khóa."),
        ({"keywords": " ,, ;\n"}, "keywords", "Vui lòng nhập ít nhất một từ khóa."),
        ({"keywords": "phí " * 16}, "keywords", "Mỗi từ khóa tối đa 60 ký tự"),
        ({"keywords": "lệ phí, là gì"}, "keywords", "Từ khóa “là gì” chỉ gồm từ thông dụng"),
        ({"keywords": ", ".join(["lệ phí"] * 80)}, "keywords", "tối đa 500 ký tự"),
        ({"sort_order": "-1"}, "sort_order", "Thứ tự hiển thị là số nguyên"),
    ],
)
def test_an_invalid_form_is_refused_next_to_the_field_and_saves_nothing(
    admin, demo, data, field, message
):
    before = faq_count(demo)

    response = post(admin, "/admin/faq", FORM | data)

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in error_next_to(html, field)
    assert faq_count(demo) == before
    # What was typed is shown again, so nothing is lost.
    kept = (FORM | data)["answer"].split("\n")[0]
    assert kept.strip() in html


def test_an_invalid_edit_changes_nothing(admin, demo):
    entry = demo.scalars(select(Faq).order_by(Faq.id)).first()
    saved = (entry.question, entry.answer, entry.keywords)

    response = post(
        admin, f"/admin/faq/{entry.id}", {"question": "", "answer": "Mới", "keywords": "x"}
    )

    assert response.status_code == 422
    assert "Vui lòng nhập câu hỏi." in error_next_to(response.get_data(as_text=True), "question")
    demo.expire_all()
    assert (entry.question, entry.answer, entry.keywords) == saved


def test_faq_forms_require_the_csrf_token(admin, demo):
    entry = demo.scalars(select(Faq).order_by(Faq.id)).first()
    before = faq_count(demo)

    for path in ("/admin/faq", f"/admin/faq/{entry.id}", f"/admin/faq/{entry.id}/delete"):
        for extra in ({}, {"csrf_token": "sai"}):
            assert admin.post(path, data=FORM | extra).status_code == 400, path
    demo.expire_all()
    assert faq_count(demo) == before and entry.question != FORM["question"]


def test_question_and_answer_are_escaped_in_the_console(admin, demo):
    assert post(admin, "/admin/faq", FORM | {"question": XSS, "answer": XSS}).status_code == 302
    entry = demo.scalars(select(Faq).where(Faq.question == XSS)).one()

    for html in (page(admin, "/admin/faq"), page(admin, f"/admin/faq/{entry.id}")):
        assert XSS not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_list_tries_a_question_against_the_active_entries(admin, demo):
    def tried(text: str) -> str:
        response = admin.get("/admin/faq", query_string={"thu": text})
        assert response.status_code == 200
        return response.get_data(as_text=True)

    html = tried("gui pakn co mat phi khong")
    assert 'Câu trả lời được gửi: <a href="/admin/faq/' in html and FEE in html
    assert "Không có câu hỏi nào khớp" in tried(NARRATIVES[0])


@pytest.mark.parametrize(("role", "shown"), [("admin", True), ("coordinator", False)])
def test_the_menu_links_the_page_for_administrators_only(client, demo, role, shown):
    login(client, role)

    assert ('href="/admin/faq"' in page(client, "/admin/")) is shown


def test_faq_pages_are_refused_to_other_roles(client, demo):
    login(client, "handler")

    assert client.get("/admin/faq").status_code == 403
    refused = client.post("/admin/faq", data={"csrf_token": csrf_from(client, "/admin/"), **FORM})
    assert refused.status_code == 403
    assert demo.scalar(select(Faq).where(Faq.question == FORM["question"])) is None
