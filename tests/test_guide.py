"""The citizen guide ("Hướng dẫn") through signed webhook events: the index of six topics, each
topic by button, by number and by typed words (with and without diacritics), the configured
portal and hotline, the deadline of the default policy, and the personal-data topic."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import texts
from bot.conversation import COMMANDS, IDLE, SUSPENDED
from bot.flows import guide, menu, submit
from bot.incoming import normalize
from models import DeadlinePolicy, Field
from tests.conftest import Webhook
from tests.test_flow_commands import GUIDE_INDEX, MENU_TEXT, Chat, buttons, start_chat

AGENCY = "UBND thành phố"
HOTLINE = "0243 825 3536"
PORTAL = "https://dichvucong.example.gov.vn"
PUBLIC_URL = "http://localhost"  # tests.conftest.base_config
# Each topic: its key, the first line of its message, its index number, and typed ways to ask.
TOPICS = [
    ("guide_scope", "PAKN là gì?", 1, ("PAKN là gì?", "pakn la gi", "PAKN LÀ GÌ")),
    ("guide_submit", "Cách gửi PAKN qua Zalo:", 2, ("Cách gửi", "cach gui", "CÁCH GỬI PAKN")),
    ("guide_lookup", "Cách tra cứu PAKN:", 3, ("Cách tra cứu", "cach tra cuu", "CACH TRA CUU")),
    (
        "guide_deadline",
        "Thời hạn trả lời:",
        4,
        ("Thời hạn trả lời", "thoi han tra loi", "THỜI HẠN"),
    ),
    (
        "guide_channels",
        "Kênh chính thức tiếp nhận PAKN:",
        5,
        ("Kênh chính thức", "kenh chinh thuc", "đường dây nóng"),
    ),
    (
        "guide_privacy",
        "Dữ liệu cá nhân:",
        6,
        ("Dữ liệu cá nhân", "du lieu ca nhan", "DU LIEU CA NHAN"),
    ),
]
TOPIC_IDS = [key for key, *_ in TOPICS]


@pytest.fixture
def app(make_app):
    """The test app with this agency's own hotline and portal."""
    return make_app(AGENCY_HOTLINE=HOTLINE, NATIONAL_PORTAL_URL=PORTAL)


@pytest.fixture
def chat(session, webhook, zalo) -> Chat:
    return start_chat(session, webhook, zalo)


def topic_text(chat: Chat, key: str) -> str:
    """The topic's message, asked for by its button."""
    replies = chat.say(f"#menu:{key}")
    assert len(replies) == 1
    return replies[0]


# --- the index ----------------------------------------------------------------------------------
def test_index_lists_the_six_topics_over_two_button_messages(chat):
    assert chat.say("#menu:guide") == GUIDE_INDEX

    first, second = (buttons(message) for message in chat.messages)
    assert first == ["#menu:guide_scope", "#menu:guide_submit", "#menu:guide_lookup"]
    assert second == [
        "#menu:guide_deadline",
        "#menu:guide_channels",
        "#menu:guide_privacy",
        "#menu:main",
    ]
    assert chat.state == menu.GUIDE


def test_main_menu_button_leaves_the_guide(chat):
    chat.say("#menu:guide")

    assert chat.say("#menu:main") == [MENU_TEXT]
    assert chat.state == IDLE


# --- each topic ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("key", "heading", "number", "words"), TOPICS, ids=TOPIC_IDS)
def test_topic_by_button(chat, key, heading, number, words):
    text = topic_text(chat, key)

    assert text.split("\n")[0] == heading
    assert chat.state == menu.GUIDE


@pytest.mark.parametrize(("key", "heading", "number", "words"), TOPICS, ids=TOPIC_IDS)
def test_topic_by_number_after_the_index(chat, key, heading, number, words):
    chat.say(texts.MENU_GUIDE)

    replies = chat.say(str(number))

    assert replies == [topic_text(chat, key)]
    assert replies[0].split("\n")[0] == heading


@pytest.mark.parametrize(("key", "heading", "number", "words"), TOPICS, ids=TOPIC_IDS)
def test_topic_by_typed_words_with_and_without_diacritics(chat, key, heading, number, words):
    expected = topic_text(chat, key)
    chat.say("menu")

    for typed in words:
        assert chat.say(typed) == [expected], typed
        assert chat.state == menu.GUIDE


@pytest.mark.parametrize(("key", "heading", "number", "words"), TOPICS, ids=TOPIC_IDS)
def test_topic_ends_with_buttons_to_other_topics_and_the_menu(chat, key, heading, number, words):
    topic_text(chat, key)
    payloads = buttons(chat.messages[0])
    titles = [b["title"] for b in chat.messages[0]["attachment"]["payload"]["buttons"]]

    assert len(payloads) == 5 and all(len(title) <= 20 for title in titles)
    assert payloads[-2:] == ["#menu:guide", "#menu:main"]
    assert f"#menu:{key}" not in payloads
    for payload in payloads[:-2]:
        # Every button leads to another topic, or straight to submitting or looking up.
        assert payload in {f"#menu:{other}" for other in TOPIC_IDS} | {
            "#menu:submit",
            "#menu:lookup",
        }


def test_every_topic_fits_one_zalo_message(chat):
    for key in TOPIC_IDS:
        assert len(topic_text(chat, key)) <= texts.MAX_MESSAGE


def test_submit_button_of_a_topic_starts_the_submission(chat):
    topic_text(chat, "guide_submit")
    assert "#menu:submit" in buttons(chat.messages[0])

    assert chat.say("#menu:submit")[0] == texts.SCOPE
    assert chat.state == submit.SCOPE


def test_numbers_mean_topics_only_right_after_the_guide(chat):
    chat.say(texts.MENU_GUIDE)
    assert chat.say("2")[0].startswith("Cách gửi PAKN")

    chat.say("menu")
    assert chat.say("2") == [texts.NO_CASES, MENU_TEXT]  # the main menu's "Tra cứu"


def test_a_number_long_after_the_guide_answers_the_main_menu(chat):
    chat.say(texts.MENU_GUIDE)
    chat.age(48)

    assert chat.say("2") == [texts.NO_CASES, MENU_TEXT]
    assert chat.state == IDLE


def test_a_number_outside_the_index_is_refused_and_the_index_shown_again(chat):
    chat.say(texts.MENU_GUIDE)

    assert chat.say("9") == [texts.INVALID_CHOICE, *GUIDE_INDEX]
    assert chat.state == menu.GUIDE


def test_unknown_text_in_the_guide_is_read_as_outside_a_flow(chat):
    chat.say(texts.MENU_GUIDE)

    assert chat.say("Xin chào") == [texts.UNKNOWN_OUTSIDE_FLOW, MENU_TEXT]
    assert chat.state == IDLE


def test_topic_button_inside_the_flow_puts_the_draft_aside(chat):
    chat.reach(submit.CONTENT)

    replies = chat.say("#menu:guide_deadline")

    assert replies[0].startswith("Thời hạn trả lời:")
    assert SUSPENDED in chat.draft
    assert chat.say("#menu:submit")[0].startswith("Ông/Bà có một phản ánh, kiến nghị đang soạn dở")


def test_typed_topic_names_inside_the_flow_are_the_citizens_answer(chat):
    chat.reach(submit.CONTENT)

    replies = chat.say("Thời hạn trả lời của cơ quan")

    assert replies == [texts.CONTENT_NOTED.format(length=28, max=texts.number(texts.CONTENT_MAX))]
    assert chat.state == submit.CONTENT


# --- what the topics say ------------------------------------------------------------------------
def test_scope_reuses_the_submission_flow_scope_and_gives_examples(chat):
    text = topic_text(chat, "guide_scope")

    assert texts.SCOPE in text
    assert "Ví dụ là PAKN:" in text and "Không phải PAKN:" in text
    assert text.count("\n• ") == 6  # three examples of each
    assert HOTLINE in text


def test_channels_name_the_configured_portal_and_hotline(chat):
    text = topic_text(chat, "guide_channels")

    assert f"Cổng Dịch vụ công quốc gia: {PORTAL}" in text
    assert f"Đường dây nóng: {HOTLINE}" in text
    assert AGENCY in text
    assert "1900 0000" not in text and "dichvucong.gov.vn" not in text


def test_portal_defaults_to_the_national_portal(make_app, session, zalo):
    other = make_app()
    chat = start_chat(session, Webhook(other.test_client()), zalo)

    assert "Cổng Dịch vụ công quốc gia: https://dichvucong.gov.vn" in topic_text(
        chat, "guide_channels"
    )


def test_lookup_names_the_web_lookup_and_published_answers(chat):
    text = topic_text(chat, "guide_lookup")

    assert f"{PUBLIC_URL}/tra-cuu" in text and f"{PUBLIC_URL}/cong-khai" in text
    assert "#menu:lookup" in buttons(chat.messages[0])


def test_submit_names_the_universal_commands(chat):
    text = topic_text(chat, "guide_submit")

    for command in ('"menu"', '"quay lại"', '"hủy"', '"trợ giúp"'):
        assert command in text


def test_deadline_follows_the_built_in_default_without_a_policy(chat):
    text = topic_text(chat, "guide_deadline")

    assert "trả lời trong 20 ngày kể từ ngày tiếp nhận" in text
    assert "trong 5 ngày làm việc" in text


def test_deadline_follows_the_default_policy_when_it_changes(chat, session):
    session.add(DeadlinePolicy(field_id=None, answer_days=30, classify_working_days=3))
    session.commit()
    text = topic_text(chat, "guide_deadline")
    assert "trả lời trong 30 ngày kể từ ngày tiếp nhận" in text
    assert "trong 3 ngày làm việc" in text

    policy = session.scalars(select(DeadlinePolicy)).one()
    policy.answer_days, policy.answer_in_working_days = 15, True
    session.commit()
    assert "trả lời trong 15 ngày làm việc kể từ ngày tiếp nhận" in topic_text(
        chat, "guide_deadline"
    )


def test_a_fields_own_policy_does_not_change_the_guide(chat, session):
    field_id = session.scalars(select(Field.id).where(Field.code == "DAT-DAI")).one()
    session.add(DeadlinePolicy(field_id=field_id, answer_days=45))
    session.commit()

    assert "trả lời trong 20 ngày" in topic_text(chat, "guide_deadline")


def test_privacy_tells_purpose_who_sees_retention_and_the_two_commands(chat):
    text = topic_text(chat, "guide_privacy")

    assert "chỉ dùng để xử lý PAKN và liên hệ với Ông/Bà" in text
    assert "cơ quan xử lý" in text and "thông tin này được che" in text
    assert '"Dữ liệu của tôi"' in text and '"Xóa dữ liệu"' in text
    assert "được ẩn danh sau 365 ngày kể từ khi PAKN kết thúc" in text  # the default retention


@pytest.mark.parametrize(("days", "expected"), [(30, "sau 30 ngày kể từ"), (None, None)])
def test_privacy_states_the_configured_retention(make_app, session, zalo, days, expected):
    # None: no automatic anonymisation (PERSONAL_DATA_RETENTION_DAYS=0).
    other = make_app(PERSONAL_DATA_RETENTION_DAYS=days)
    chat = start_chat(session, Webhook(other.test_client()), zalo)

    text = topic_text(chat, "guide_privacy")

    assert (expected or texts.GUIDE_RETENTION_DEFAULT) in text
    assert ("ẩn danh sau" in text) == (days is not None)


@pytest.mark.parametrize("command", ["Dữ liệu của tôi", "Xóa dữ liệu"])
def test_the_commands_the_privacy_topic_names_exist(command):
    assert normalize(command) in COMMANDS


def test_topic_keys_are_the_index_order():
    assert [topic.key for topic in guide.TOPICS] == TOPIC_IDS
