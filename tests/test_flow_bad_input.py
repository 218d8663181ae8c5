"""Wrong, empty, oversized and unsupported answers at every step of the submission flow.

The rule under test: a bad answer gets a short explanation and the same question again, and
neither the step nor the draft changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select, update

from bot import texts
from bot.flows import STEPS, submit
from bot.zalo import messages
from models import Case, Field
from tests.test_flow_commands import ADDRESS, CONTENT, MENU_TEXT, ROUTE, TITLE, Chat, start_chat

FLOW_STEPS = [state for state, _ in ROUTE[1:]]
CHOICE_STEPS = [
    submit.SCOPE,
    submit.KIND,
    submit.FIELD,
    submit.UNIT,
    submit.UNIT_PICK,
    submit.ATTACHMENTS,
    submit.CONSENT,
    submit.PRIVACY,
    submit.CONFIRM,
    submit.EDIT,
]
NONSENSE = "xyz abc"
HUGE = ("Đường phố ngập nước " * 500)[:10_000]
UNSUPPORTED = {
    "user_send_sticker": {
        "type": "sticker",
        "payload": {
            "id": "9f2c",
            "url": "https://zalo-api.zadn.vn/api/emoticon/sticker/webpc?eid=46991",
        },
    },
    "user_send_audio": {"type": "audio", "payload": {"url": "https://voice-talk.zdn.vn/x/a.aac"}},
    "user_send_video": {
        "type": "video",
        "payload": {
            "url": "https://video.zdn.vn/x/clip.mp4",
            "thumbnail": "https://video.zdn.vn/x/c.jpg",
        },
    },
}
TITLE_SHORT = texts.TITLE_TOO_SHORT.format(min=texts.TITLE_MIN)
TITLE_LONG = texts.TITLE_TOO_LONG.format(max=texts.TITLE_MAX)
ADDRESS_SHORT = texts.ADDRESS_TOO_SHORT.format(min=texts.ADDRESS_MIN)
ADDRESS_LONG = texts.ADDRESS_TOO_LONG.format(max=texts.ADDRESS_MAX)
CONTENT_LONG = texts.CONTENT_TOO_LONG.format(max=texts.number(texts.CONTENT_MAX))
PHOTO = "https://photo-stal-1.zdn.vn/x/anh{}.jpg"


@pytest.fixture
def chat(session, webhook, zalo) -> Chat:
    return start_chat(session, webhook, zalo)


@dataclass(frozen=True)
class Bad:
    """A bad answer, and what the step says (before asking again, unless `asks_again` is off)."""

    name: str
    send: Callable[[Chat], list[str]]
    reason: str
    asks_again: bool = True


def typed(name: str, text: str, reason: str, asks_again: bool = True) -> Bad:
    return Bad(name, lambda chat: chat.say(text), reason, asks_again)


def unsupported(event_name: str, reason: str) -> Bad:
    return Bad(
        event_name,
        lambda chat: chat.event(event_name, {"attachments": [UNSUPPORTED[event_name]]}),
        reason,
    )


def bad_answers(step: str) -> list[Bad]:
    """Every bad answer tried at `step`, with the explanation it must get."""
    if step in CHOICE_STEPS:
        media = texts.MEDIA_NOT_ACCEPTED if step == submit.ATTACHMENTS else texts.INVALID_CHOICE
        answers = [
            typed(name, text, texts.INVALID_CHOICE)
            for name, text in [
                ("nonsense", NONSENSE),
                ("zero", "0"),
                ("99", "99"),
                ("empty", ""),
                ("10,000 characters", HUGE),
            ]
        ]
        if step != submit.ATTACHMENTS:
            answers.append(Bad("photo", lambda chat: chat.image(), texts.INVALID_CHOICE))
        return answers + [unsupported(name, media) for name in UNSUPPORTED]
    table: dict[str, list[Bad]] = {
        submit.TITLE: [
            typed("nonsense", "?!", TITLE_SHORT),
            typed("empty", "", TITLE_SHORT),
            typed("10,000 characters", HUGE, TITLE_LONG),
        ],
        submit.CONTENT: [
            Bad("location", lambda chat: chat.location(), texts.TEXT_EXPECTED),
            typed(
                "xong too early",
                "xong",
                texts.CONTENT_TOO_SHORT.format(min=texts.CONTENT_MIN),
                False,
            ),
            typed("10,000 characters", HUGE, CONTENT_LONG, False),
        ],
        submit.LOCATION: [
            typed("nonsense", "ab", ADDRESS_SHORT),
            typed("empty", "", ADDRESS_SHORT),
            typed("10,000 characters", HUGE, ADDRESS_LONG),
        ],
        submit.CONTACT: [
            typed("nonsense", "!!!", texts.NAME_INVALID),
            typed("empty", "", texts.NAME_INVALID),
            typed("10,000 characters", HUGE, texts.NAME_INVALID),
        ],
        submit.PHONE: [
            typed("nonsense", NONSENSE, texts.PHONE_INVALID),
            typed("empty", "", texts.PHONE_INVALID),
            typed("10,000 characters", HUGE, texts.PHONE_INVALID),
        ],
        submit.ADDRESS: [
            typed("nonsense", "ab", ADDRESS_SHORT),
            typed("empty", "", ADDRESS_SHORT),
            typed("10,000 characters", HUGE, ADDRESS_LONG),
        ],
        submit.EMAIL: [
            typed("nonsense", NONSENSE, texts.EMAIL_INVALID),
            typed("empty", "", texts.EMAIL_INVALID),
            typed("10,000 characters", HUGE, texts.EMAIL_INVALID),
        ],
    }
    answers = table[step]
    if step != submit.CONTENT:
        answers.append(Bad("photo", lambda chat: chat.image(), texts.TEXT_EXPECTED))
    return answers + [unsupported(name, texts.TEXT_EXPECTED) for name in UNSUPPORTED]


def assert_refused(chat: Chat, bad: Bad, prompt, before) -> None:
    """The step explained itself (and asked again) and nothing moved."""
    expected = [messages.text(bad.reason), *(prompt if bad.asks_again else [])]
    assert chat.messages == expected, bad.name
    assert chat.snapshot() == before, bad.name


def assert_typed_answer_refused(chat: Chat, step: str, answer: str, reason: str) -> None:
    """At `step`, `answer` gets `reason` and the same question again, and nothing moves."""
    prompt = chat.reach(step)
    before = chat.snapshot()

    chat.say(answer)

    assert chat.messages == [messages.text(reason), *prompt]
    assert chat.snapshot() == before


@pytest.mark.parametrize("step", FLOW_STEPS)
def test_bad_answers_at_every_step_explain_and_ask_again(chat, step):
    prompt = chat.reach(step)
    before = chat.snapshot()

    for bad in bad_answers(step):
        bad.send(chat)
        assert_refused(chat, bad, prompt, before)


def test_empty_text_while_writing_the_content_changes_nothing(chat):
    chat.reach(submit.CONTENT)
    chat.say("Đèn tín hiệu hỏng ba ngày nay.")
    before = chat.snapshot()

    chat.say("")

    assert chat.snapshot() == before


@pytest.mark.parametrize(
    "step,answer",
    [
        (submit.KIND, "3"),
        (submit.UNIT, "3"),
        (submit.CONSENT, "3"),
        (submit.PRIVACY, "3"),
        (submit.CONFIRM, "4"),
        (submit.EDIT, "10"),
        (submit.ATTACHMENTS, "3"),
        (submit.SCOPE, "4"),
    ],
)
def test_number_one_past_the_last_option_is_refused(chat, step, answer):
    assert_typed_answer_refused(chat, step, answer, texts.INVALID_CHOICE)


def test_number_past_the_field_list_is_refused(chat, session):
    prompt = chat.reach(submit.FIELD)
    count = len(session.scalars(select(Field).where(Field.active.is_(True))).all())

    chat.say(str(count + 1))

    assert chat.messages == [messages.text(texts.INVALID_CHOICE), *prompt]
    assert chat.state == submit.FIELD


# --- scope ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "answer,redirect",
    [
        ("Khiếu nại, tố cáo", texts.REDIRECT_COMPLAINT),
        ("to cao", texts.REDIRECT_COMPLAINT),
        ("#scope:legal", texts.REDIRECT_LEGAL),
        ("tu van", texts.REDIRECT_LEGAL),
    ],
)
def test_complaints_and_legal_advice_are_redirected_with_an_explanation(chat, answer, redirect):
    chat.reach(submit.SCOPE)

    assert chat.say(answer) == [redirect.format(hotline="1900 0000"), MENU_TEXT]
    assert chat.snapshot() == ("idle", {})


# --- title ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "title,reason",
    [
        ("a" * (texts.TITLE_MIN - 1), TITLE_SHORT),
        ("Đèn   hỏng", TITLE_SHORT),  # spaces are collapsed before counting
        ("   \n  ", TITLE_SHORT),
        ("Đ" * (texts.TITLE_MAX + 1), TITLE_LONG),
    ],
)
def test_title_outside_the_limits_is_refused(chat, title, reason):
    assert_typed_answer_refused(chat, submit.TITLE, title, reason)

    assert "title" not in chat.draft


@pytest.mark.parametrize("title", ["Đèn hỏng!!", "Đ" * texts.TITLE_MAX, "Đèn  tín\nhiệu hỏng"])
def test_title_at_the_limits_is_taken(chat, title):
    chat.reach(submit.TITLE)

    chat.say(title)

    assert chat.state == submit.CONTENT
    assert chat.draft["title"] == " ".join(title.split())


# --- content ----------------------------------------------------------------------------------
def test_done_before_the_minimum_keeps_asking_for_more(chat):
    chat.reach(submit.CONTENT)
    chat.say("Đèn hỏng.")

    assert chat.say("xong") == [texts.CONTENT_TOO_SHORT.format(min=texts.CONTENT_MIN)]
    assert chat.state == submit.CONTENT and chat.draft["content"] == "Đèn hỏng."

    chat.say("Đã ba ngày chưa sửa.")  # "Đèn hỏng.\n" + this = 30 characters
    chat.say("Xong")
    assert chat.state == submit.ATTACHMENTS
    assert chat.draft["content"] == "Đèn hỏng.\nĐã ba ngày chưa sửa."


def test_content_over_the_maximum_refuses_the_message_and_keeps_what_was_written(chat):
    chat.reach(submit.CONTENT)
    first = "Đ" * 3000
    chat.say(first)

    assert chat.say("a" * 2000) == [CONTENT_LONG]  # 3000 + newline + 2000 > 5000
    assert chat.draft["content"] == first
    assert chat.say(HUGE) == [CONTENT_LONG]
    assert chat.draft["content"] == first

    last = "b" * (texts.CONTENT_MAX - len(first) - 1)
    assert chat.say(last) == [texts.CONTENT_NOTED.format(length=5000, max="5.000")]
    assert chat.draft["content"] == f"{first}\n{last}"
    chat.say("xong")
    assert chat.state == submit.ATTACHMENTS


def test_photos_sent_with_the_content_are_kept(chat):
    chat.reach(submit.CONTENT)

    assert chat.image(PHOTO.format(1)) == [texts.ATTACHMENT_NOTED.format(count=1, max=10)]
    assert chat.state == submit.CONTENT
    assert [a["url"] for a in chat.draft["attachments"]] == [PHOTO.format(1)]


# --- attachments ------------------------------------------------------------------------------
def finish(chat: Chat) -> Case:
    """Answer the rest of the route from the attachments step and send the PAKN."""
    for answer in [
        "xong",
        "bo qua",
        "Nguyễn Văn An",
        "0912345678",
        ADDRESS,
        "bo qua",
        "dong y",
        "khong can an",
        "#confirm:send",
    ]:
        chat.say(answer)
    return chat.session.scalars(select(Case)).one()


def test_eleventh_attachment_is_refused(chat):
    chat.reach(submit.CONTENT)
    chat.image(PHOTO.format(1))  # a photo sent while describing counts too
    chat.say(CONTENT)
    chat.say("xong")
    for n in range(2, texts.MAX_ATTACHMENTS + 1):
        assert chat.image(PHOTO.format(n)) == [
            texts.ATTACHMENT_NOTED.format(count=n, max=texts.MAX_ATTACHMENTS)
        ]

    assert chat.image(PHOTO.format(11)) == [texts.ATTACHMENTS_FULL.format(max=10)]
    assert chat.send(lambda: chat.webhook.file(chat.user)) == [
        texts.ATTACHMENTS_FULL.format(max=10)
    ]
    assert chat.state == submit.ATTACHMENTS
    urls = [PHOTO.format(n) for n in range(1, 11)]
    assert [a["url"] for a in chat.draft["attachments"]] == urls

    case = finish(chat)
    assert [a.source_url for a in case.attachments] == urls


def test_photos_beyond_the_limit_in_one_message_are_reported(chat):
    chat.reach(submit.ATTACHMENTS)
    for n in range(1, texts.MAX_ATTACHMENTS):
        chat.image(PHOTO.format(n))
    album = [
        {"type": "image", "payload": {"url": PHOTO.format(n), "thumbnail": PHOTO.format(n)}}
        for n in (10, 11, 12)
    ]

    replies = chat.event("user_send_image", {"attachments": album})

    assert len(chat.draft["attachments"]) == texts.MAX_ATTACHMENTS
    assert texts.ATTACHMENTS_PARTLY.format(max=texts.MAX_ATTACHMENTS, dropped=2) in replies


# --- phone, email, consent --------------------------------------------------------------------
@pytest.mark.parametrize(
    "phone,normal",
    [
        ("0912 345 678", "0912345678"),
        ("+84912345678", "0912345678"),
        ("02438253536", "02438253536"),
        ("+84 24 3825 3536", "02438253536"),
    ],
)
def test_valid_phone_numbers_are_taken_in_normal_form(chat, phone, normal):
    """The validator's whole table is in test_contact; here, that the step uses it."""
    chat.reach(submit.PHONE)

    chat.say(phone)

    assert chat.state == submit.ADDRESS
    assert chat.draft["phone"] == normal


@pytest.mark.parametrize(
    "phone",
    [
        "091234567",  # 9 digits
        "0912345abc",
        "01234567890",  # a retired 01x mobile prefix
    ],
)
def test_invalid_phone_numbers_are_refused(chat, phone):
    assert_typed_answer_refused(chat, submit.PHONE, phone, texts.PHONE_INVALID)


@pytest.mark.parametrize(
    "email",
    [
        "an@example",
        "an @example.com",
        "an@@example.com",
    ],
)
def test_invalid_email_is_refused(chat, email):
    assert_typed_answer_refused(chat, submit.EMAIL, email, texts.EMAIL_INVALID)


def test_valid_email_is_lower_cased(chat):
    chat.reach(submit.EMAIL)

    chat.say("An.Nguyen@Example.VN")

    assert chat.state == submit.CONSENT
    assert chat.draft["email"] == "an.nguyen@example.vn"


@pytest.mark.parametrize("refusal", [texts.CONSENT_NO, "khong dong y", "KHÔNG", "#consent:no", "2"])
def test_refusing_consent_is_explained_and_blocks_the_submission(chat, refusal):
    assert_typed_answer_refused(chat, submit.CONSENT, refusal, texts.CONSENT_REQUIRED)

    assert "consent" not in chat.draft
    chat.say(texts.CONSENT_YES)
    assert chat.state == submit.PRIVACY
    assert chat.draft["consent"]["version"] == texts.CONSENT_VERSION


# --- stale buttons ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "step,payload",
    [
        (submit.KIND, "#scope:continue"),
        (submit.FIELD, "#kind:feedback"),
        (submit.CONSENT, "#privacy:hide"),
        (submit.CONFIRM, "#consent:yes"),
        (submit.EDIT, "#confirm:send"),
        (submit.KIND, "#kind:complaint"),
        (submit.FIELD, "#field:999999"),
    ],
)
def test_button_from_another_question_is_refused_at_a_choice(chat, step, payload):
    own_prefix = payload[1:].split(":")[0] in STEPS[step].buttons
    expected = texts.INVALID_CHOICE if own_prefix else texts.OLD_BUTTON
    assert_typed_answer_refused(chat, step, payload, expected)

    assert chat.session.scalars(select(Case)).all() == []


def test_field_withdrawn_after_the_list_was_shown_is_refused(chat, session):
    chat.reach(submit.FIELD)
    field = session.scalars(select(Field).where(Field.code == "GIAO-THONG")).one()
    session.execute(update(Field).where(Field.id == field.id).values(active=False))

    assert chat.say(f"#field:{field.id}")[0] == texts.INVALID_CHOICE
    assert chat.state == submit.FIELD and "field_id" not in chat.draft


@pytest.mark.parametrize(
    "step,payload",
    [
        (submit.TITLE, "#kind:feedback"),
        (submit.CONTENT, "#scope:continue"),
        (submit.LOCATION, "#kind:feedback"),
        (submit.ADDRESS, "#privacy:hide"),
    ],
)
def test_button_from_another_question_is_not_taken_as_text(chat, step, payload):
    prompt = chat.reach(step)
    before = chat.snapshot()

    chat.say(payload)

    assert chat.snapshot() == before
    assert chat.messages[-len(prompt) :] == prompt


@pytest.mark.parametrize("step", [submit.TITLE, submit.CONTENT, submit.LOCATION, submit.ADDRESS])
def test_stale_button_at_a_free_text_step_gets_an_answer_not_an_error(chat, step):
    chat.reach(step)

    assert chat.say("#kind:feedback")  # `Chat.send` fails on the apology of a crashed step


def test_title_is_kept_when_the_content_step_refuses_a_message(chat):
    chat.reach(submit.CONTENT)
    chat.location()

    assert chat.draft["title"] == TITLE
    assert chat.state == submit.CONTENT


def test_summary_says_none_when_no_file_was_sent(chat):
    chat.reach(submit.CONFIRM)

    summary = chat.prompts[submit.CONFIRM][0]["text"]
    assert f"• {texts.SUMMARY_ATTACHMENTS}: {texts.SUMMARY_NONE}" in summary


# --- interruptions while re-doing an item from the summary ---------------------------------------
INTERRUPTIONS = {
    "sticker": lambda chat: chat.event(
        "user_send_sticker", {"attachments": [UNSUPPORTED["user_send_sticker"]]}
    ),
    "help": lambda chat: chat.say("tro giup"),
    "menu then continue": lambda chat: [chat.say(t) for t in ("menu", "1", "tiep tuc")],
}


@pytest.mark.parametrize("interruption", sorted(INTERRUPTIONS))
def test_rewritten_content_survives_an_interruption(chat, interruption):
    chat.reach(submit.EDIT)
    chat.say("#edit:submit_content")
    chat.say("Nội dung mới: đèn đã hỏng năm ngày.")

    INTERRUPTIONS[interruption](chat)

    # The new version is kept aside until "xong"; the old one stays until then.
    assert chat.state == submit.CONTENT
    assert chat.draft[submit.NEW_CONTENT] == "Nội dung mới: đèn đã hỏng năm ngày."
    assert chat.draft["content"] != chat.draft[submit.NEW_CONTENT]


@pytest.mark.parametrize("interruption", sorted(INTERRUPTIONS))
def test_resent_files_survive_an_interruption(chat, interruption):
    chat.reach(submit.EDIT)
    chat.say("#edit:submit_attachments")
    chat.image(PHOTO.format(1))

    INTERRUPTIONS[interruption](chat)

    assert chat.state == submit.ATTACHMENTS
    assert [a["url"] for a in chat.draft[submit.NEW_ATTACHMENTS]] == [PHOTO.format(1)]


def test_a_main_menu_button_mid_flow_puts_the_draft_aside(chat):
    chat.reach(submit.TITLE)
    replies = chat.say("#menu:submit")
    assert chat.state == "resume"
    assert replies[0].startswith(texts.STALE_DRAFT.split("{")[0])
    chat.say("#resume:continue")
    assert chat.state == submit.TITLE
