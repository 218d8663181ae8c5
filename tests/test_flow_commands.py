"""Universal commands, the main menu, the guide and resuming a draft, through signed webhook events.

`Chat` (one citizen talking to the OA) and `ROUTE` (a known way through every step of the
submission flow) live here and are shared by the other conversation tests.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot import texts
from bot.conversation import HISTORY, IDLE, RESUME, SUSPENDED
from bot.flows import menu, submit
from bot.zalo import messages
from cases.clock import format_datetime
from cases.demo import seed_reference_data
from models import Case, Citizen, Conversation, utcnow

USER = "2468458835291979220"
AGENCY = "UBND thành phố"
HOTLINE = "1900 0000"
TITLE = "Đèn tín hiệu hỏng tại ngã tư"
CONTENT = "Đèn tín hiệu tại ngã tư Hàng Bạc - Hàng Đào đã hỏng ba ngày."
NAME = "Nguyễn Văn An"
PHONE = "0912345678"
ADDRESS = "12 Hàng Bạc, Hoàn Kiếm, Hà Nội"

# Each state of the submission flow and the answers that lead from it to the next state.
ROUTE: tuple[tuple[str, tuple[str, ...]], ...] = (
    (IDLE, ("#menu:submit",)),
    (submit.SCOPE, ("#scope:continue",)),
    (submit.KIND, ("#kind:feedback",)),
    (submit.FIELD, ("Giao thông",)),
    (submit.UNIT, ("#unit:other",)),
    (submit.UNIT_PICK, ("Phường Hàng Bạc",)),
    (submit.TITLE, (TITLE,)),
    (submit.CONTENT, (CONTENT, "xong")),
    (submit.ATTACHMENTS, ("#files:skip",)),
    (submit.LOCATION, ("#place:skip",)),
    (submit.CONTACT, (NAME,)),
    (submit.PHONE, (PHONE,)),
    (submit.ADDRESS, (ADDRESS,)),
    (submit.EMAIL, ("#email:skip",)),
    (submit.CONSENT, ("#consent:yes",)),
    (submit.PRIVACY, ("#privacy:show",)),
    (submit.CONFIRM, ("#confirm:edit",)),
    (submit.EDIT, ()),
)
FLOW_STEPS = [state for state, _ in ROUTE[1:]]
MENU_TEXT = "\n".join(
    [
        texts.MENU_QUESTION,
        f"1. {texts.MENU_SUBMIT}",
        f"2. {texts.MENU_LOOKUP}",
        f"3. {texts.MENU_GUIDE}",
        texts.HOW_TO_CHOOSE,
    ]
)
# The guide's index: topics 1–3, then 4–6 (Zalo shows at most five buttons on a message).
GUIDE_INDEX = [
    "\n".join(
        [
            texts.GUIDE_INDEX,
            f"1. {texts.GUIDE_TOPIC_SCOPE}",
            f"2. {texts.GUIDE_TOPIC_SUBMIT}",
            f"3. {texts.GUIDE_TOPIC_LOOKUP}",
        ]
    ),
    "\n".join(
        [
            texts.GUIDE_INDEX_MORE,
            f"4. {texts.GUIDE_TOPIC_DEADLINE}",
            f"5. {texts.GUIDE_TOPIC_CHANNELS}",
            f"6. {texts.GUIDE_TOPIC_PRIVACY}",
            texts.GUIDE_HOW_TO_CHOOSE,
        ]
    ),
]


class Chat:
    """One citizen writing to the OA: send events, read the replies, inspect the conversation."""

    def __init__(self, webhook, zalo, session, user: str = USER) -> None:
        self.webhook = webhook
        self.zalo = zalo
        self.session = session
        self.user = user
        self.messages: list[dict[str, Any]] = []
        self.prompts: dict[str, list[dict[str, Any]]] = {}

    def send(self, post: Callable[[], Any]) -> list[str]:
        """Post one event; return the texts sent back (and keep the whole messages)."""
        self.zalo.clear()
        assert post().status_code == 200
        self.messages = [
            b["message"] for b in self.zalo.sent if b["recipient"]["user_id"] == self.user
        ]
        replies = self.zalo.texts(self.user)
        assert texts.APOLOGY not in replies, "the step raised an exception"
        return replies

    def say(self, text: str) -> list[str]:
        return self.send(lambda: self.webhook.text(self.user, text))

    def event(self, event_name: str, message: dict[str, Any]) -> list[str]:
        return self.send(
            lambda: self.webhook.post(self.webhook.envelope(self.user, event_name, message))
        )

    def image(self, url: str = "https://photo-stal-1.zdn.vn/x/anh.jpg") -> list[str]:
        return self.send(lambda: self.webhook.image(self.user, url))

    def location(self) -> list[str]:
        return self.send(lambda: self.webhook.location(self.user))

    def submit_info(self, **info: str) -> list[str]:
        return self.send(lambda: self.webhook.submit_info(self.user, **info))

    def follow(self) -> list[str]:
        return self.send(lambda: self.webhook.follow(self.user))

    def conversation(self) -> Conversation:
        self.session.expire_all()
        return self.session.scalars(
            select(Conversation).join(Conversation.citizen).where(Citizen.zalo_user_id == self.user)
        ).one()

    def citizen(self) -> Citizen:
        self.session.expire_all()
        return self.session.scalars(select(Citizen).where(Citizen.zalo_user_id == self.user)).one()

    @property
    def state(self) -> str:
        """The current step (idle before the citizen ever wrote)."""
        self.session.expire_all()
        conversation = self.session.scalars(
            select(Conversation).join(Conversation.citizen).where(Citizen.zalo_user_id == self.user)
        ).one_or_none()
        return conversation.state if conversation else IDLE

    @property
    def draft(self) -> dict[str, Any]:
        return self.conversation().draft

    def snapshot(self) -> tuple[str, dict[str, Any]]:
        conversation = self.conversation()
        return conversation.state, conversation.draft

    def reach(self, target: str) -> list[dict[str, Any]]:
        """Answer the flow's questions along ROUTE, from the current step until `target` is
        asked; return its prompt."""
        states = [state for state, _ in ROUTE]
        for state, answers in ROUTE[states.index(self.state) :]:
            assert self.state == state
            if state == target:
                return self.messages
            for answer in answers:
                self.say(answer)
            self.prompts[self.state] = self.messages
        raise AssertionError(f"{target} is not on the route")

    def age(self, hours: float) -> None:
        """Pretend the citizen last wrote `hours` ago."""
        conversation = self.conversation()
        self.session.execute(
            update(Conversation)
            .where(Conversation.citizen_id == conversation.citizen_id)
            .values(updated_at=utcnow() - timedelta(hours=hours))
        )


def start_chat(session, webhook, zalo) -> Chat:
    """Create the demo city's units and fields, and open a chat for USER."""
    seed_reference_data(session)
    session.commit()
    return Chat(webhook, zalo, session)


@pytest.fixture
def chat(session, webhook, zalo) -> Chat:
    return start_chat(session, webhook, zalo)


def buttons(message: dict[str, Any]) -> list[str]:
    return [b["payload"] for b in message["attachment"]["payload"]["buttons"]]


def previous_step(step: str) -> str:
    """Where "quay lại" leads from `step` on ROUTE (the first step stays where it is)."""
    index = FLOW_STEPS.index(step)
    return FLOW_STEPS[max(index - 1, 0)]


# --- follow, menu, guide ------------------------------------------------------------------------
def test_follow_greets_and_shows_the_menu_with_buttons(chat):
    replies = chat.follow()

    assert replies == [texts.WELCOME.format(agency=AGENCY), MENU_TEXT]
    assert buttons(chat.messages[1]) == ["#menu:submit", "#menu:lookup", "#menu:guide"]
    assert chat.citizen().is_follower is True
    assert chat.state == IDLE


@pytest.mark.parametrize(
    "choice",
    [
        "#menu:submit",
        "1",
        "gui phan anh",
        "Gửi phản ánh, kiến nghị",
        "GUI PHAN ANH, KIEN NGHI",
        "gửi pakn",
    ],
)
def test_menu_submit_by_button_number_or_words(chat, choice):
    replies = chat.say(choice)

    assert replies[0] == texts.SCOPE
    assert chat.state == submit.SCOPE


@pytest.mark.parametrize("choice", ["#menu:lookup", "2", "tra cuu", "Tra cứu", "TRA CỨU PAKN"])
def test_menu_lookup_by_button_number_or_words(chat, choice):
    assert chat.say(choice) == [texts.NO_CASES, MENU_TEXT]
    assert chat.state == IDLE


@pytest.mark.parametrize(
    "choice", ["#menu:guide", "3", "huong dan", "Hướng dẫn", "HUONG DAN SU DUNG"]
)
def test_menu_guide_by_button_number_or_words(chat, choice):
    assert chat.say(choice) == GUIDE_INDEX
    assert chat.state == menu.GUIDE


def test_guide_names_the_commands():
    # The guide's topics themselves are tested in tests/test_guide.py.
    assert '"menu"' in texts.GUIDE_SUBMIT and '"quay lại"' in texts.GUIDE_SUBMIT
    assert '"hủy"' in texts.GUIDE_SUBMIT and '"trợ giúp"' in texts.GUIDE_SUBMIT


def test_unknown_text_outside_a_flow_thanks_and_shows_the_menu(chat):
    assert chat.say("Xin chào") == [texts.UNKNOWN_OUTSIDE_FLOW, MENU_TEXT]
    assert chat.state == IDLE


# --- hủy ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["Hủy", "huy", "HUY", "hủy bỏ", "Huỷ", "HỦY BỎ", "cancel"])
def test_cancel_in_the_flow_clears_the_draft(chat, command):
    chat.reach(submit.TITLE)
    assert chat.draft["kind"] == "feedback"

    assert chat.say(command) == [texts.CANCELLED, MENU_TEXT]
    assert chat.snapshot() == (IDLE, {})
    # Nothing is left to resume: choosing "Gửi phản ánh" starts afresh.
    assert chat.say(texts.MENU_SUBMIT)[0] == texts.SCOPE


@pytest.mark.parametrize("step", FLOW_STEPS)
def test_cancel_works_at_every_step(chat, step):
    chat.reach(step)

    assert chat.say("hủy") == [texts.CANCELLED, MENU_TEXT]
    assert chat.snapshot() == (IDLE, {})
    assert chat.session.scalars(select(Case)).all() == []


@pytest.mark.parametrize("command", ["Hủy", "huy", "HUY", "hủy bỏ"])
def test_cancel_outside_a_flow_says_there_is_nothing_to_cancel(chat, command):
    assert chat.say(command) == [texts.NOTHING_TO_CANCEL, MENU_TEXT]
    assert chat.snapshot() == (IDLE, {})


def test_cancel_after_menu_discards_the_draft_put_aside(chat):
    chat.reach(submit.TITLE)
    chat.say("menu")
    assert SUSPENDED in chat.draft

    assert chat.say("huy") == [texts.CANCELLED, MENU_TEXT]
    assert chat.snapshot() == (IDLE, {})
    assert chat.say("1")[0] == texts.SCOPE


# --- trợ giúp -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command", ["Trợ giúp", "tro giup", "TRO GIUP", "trợ giúp", "giúp đỡ", "help"]
)
def test_help_in_the_flow_explains_the_step_and_asks_again(chat, command):
    prompt = chat.reach(submit.CONTENT)
    before = chat.snapshot()

    replies = chat.say(command)

    assert replies[0] == f"{texts.STEP_HELP[submit.CONTENT]}\n{texts.HELP_FOOTER}"
    assert chat.messages[1:] == prompt
    assert chat.snapshot() == before


@pytest.mark.parametrize("step", FLOW_STEPS)
def test_help_works_at_every_step(chat, step):
    prompt = chat.reach(step)
    before = chat.snapshot()

    chat.say("tro giup")

    help_text = "\n".join(filter(None, [texts.STEP_HELP.get(step), texts.HELP_FOOTER]))
    assert chat.messages == [messages.text(help_text), *prompt]
    assert chat.snapshot() == before


@pytest.mark.parametrize("command", ["Trợ giúp", "tro giup", "TRO GIUP"])
def test_help_outside_a_flow_shows_the_guide(chat, command):
    assert chat.say(command) == GUIDE_INDEX
    assert chat.state == menu.GUIDE


# --- quay lại -----------------------------------------------------------------------------------
@pytest.mark.parametrize("command", ["Quay lại", "quay lai", "QUAY LẠI", "trở lại", "back"])
def test_back_returns_to_the_previous_question(chat, command):
    chat.reach(submit.TITLE)
    unit_pick_prompt = chat.prompts[submit.UNIT_PICK]

    chat.say(command)

    assert chat.state == submit.UNIT_PICK
    assert chat.messages == unit_pick_prompt


@pytest.mark.parametrize("step", FLOW_STEPS)
def test_back_works_at_every_step(chat, step):
    chat.reach(step)
    target = previous_step(step)
    kept = {k: v for k, v in chat.draft.items() if k != HISTORY}

    chat.say("quay lại")

    assert chat.state == target
    assert chat.messages == chat.prompts[target]
    assert {k: v for k, v in chat.draft.items() if k != HISTORY} == kept


def test_back_all_the_way_then_answer_again(chat):
    chat.reach(submit.TITLE)
    for expected in [submit.UNIT_PICK, submit.UNIT, submit.FIELD, submit.KIND, submit.SCOPE]:
        chat.say("quay lai")
        assert chat.state == expected
    # At the first question there is nowhere further back: the question is asked again.
    chat.say("quay lai")
    assert chat.state == submit.SCOPE
    assert chat.messages == chat.prompts[submit.SCOPE]

    for answer in ["tiep tuc", "kien nghi", "giao thong", "dong y"]:
        chat.say(answer)
    assert chat.state == submit.TITLE
    assert chat.draft["kind"] == "petition"


@pytest.mark.parametrize("command", ["Quay lại", "quay lai"])
def test_back_outside_a_flow_shows_the_menu(chat, command):
    assert chat.say(command) == [MENU_TEXT]
    assert chat.state == IDLE


def test_back_from_an_edited_item_returns_to_the_edit_menu_and_summary(chat):
    edit_prompt = chat.reach(submit.EDIT)
    summary_prompt = chat.prompts[submit.CONFIRM]
    chat.say("#edit:submit_title")
    assert chat.state == submit.TITLE

    chat.say("quay lai")
    assert chat.state == submit.EDIT and chat.messages == edit_prompt
    chat.say("quay lai")
    assert chat.state == submit.CONFIRM and chat.messages == summary_prompt
    assert chat.draft["title"] == TITLE


def test_back_from_editing_the_content_keeps_the_old_content(chat):
    chat.reach(submit.EDIT)
    chat.say("#edit:submit_content")
    chat.say("quay lai")
    chat.say("quay lai")
    assert chat.state == submit.CONFIRM

    assert chat.draft["content"] == CONTENT
    chat.say("#confirm:send")
    assert chat.session.scalars(select(Case)).one().content == CONTENT


def test_back_from_editing_the_attachments_keeps_the_files(chat):
    chat.reach(submit.CONTENT)
    chat.image("https://photo-stal-1.zdn.vn/x/den.jpg")
    chat.reach(submit.EDIT)
    chat.say("#edit:submit_attachments")
    chat.say("quay lai")

    assert chat.state == submit.EDIT
    assert [a["url"] for a in chat.draft["attachments"]] == [
        "https://photo-stal-1.zdn.vn/x/den.jpg"
    ]


# --- menu and resuming the draft put aside ------------------------------------------------------
@pytest.mark.parametrize("command", ["menu", "Menu", "MENU", "danh mục", "Danh muc"])
def test_menu_in_the_flow_puts_the_draft_aside_and_continue_resumes_it(chat, command):
    prompt = chat.reach(submit.CONTENT)
    chat.say("Đèn tín hiệu đã hỏng ba ngày, gây ùn tắc.")
    draft = chat.draft

    assert chat.say(command) == [MENU_TEXT]
    assert chat.snapshot() == (IDLE, {SUSPENDED: {"state": submit.CONTENT, "draft": draft}})

    since = format_datetime(chat.conversation().updated_at)
    replies = chat.say(texts.MENU_SUBMIT)
    assert replies[0].startswith(texts.STALE_DRAFT.format(since=since))
    assert (
        f"1. {texts.RESUME_CONTINUE}" in replies[0] and f"2. {texts.RESUME_RESTART}" in replies[0]
    )
    assert buttons(chat.messages[0]) == ["#resume:continue", "#resume:restart"]
    assert chat.state == RESUME

    chat.say(texts.RESUME_CONTINUE)
    assert chat.snapshot() == (submit.CONTENT, draft)
    assert chat.messages == prompt
    chat.say("xong")
    assert chat.state == submit.ATTACHMENTS


@pytest.mark.parametrize("step", FLOW_STEPS)
def test_menu_then_continue_lands_on_the_same_step_at_every_step(chat, step):
    prompt = chat.reach(step)
    before = chat.snapshot()

    chat.say("menu")
    chat.say("gui phan anh")
    chat.say("tiep tuc")

    assert chat.snapshot() == before
    assert chat.messages == prompt


@pytest.mark.parametrize("restart", [texts.RESUME_RESTART, "bat dau lai", "#resume:restart", "2"])
def test_menu_then_start_over_begins_a_new_draft(chat, restart):
    chat.reach(submit.TITLE)
    chat.say("Menu")
    chat.say("1")

    assert chat.say(restart)[0] == texts.SCOPE
    assert chat.snapshot() == (submit.SCOPE, {})


def test_resume_question_repeats_on_an_unclear_answer(chat):
    chat.reach(submit.TITLE)
    chat.say("menu")
    chat.say("1")
    question = chat.messages

    assert chat.say("có lẽ")[0] == texts.INVALID_CHOICE
    assert chat.messages[1:] == question
    assert chat.state == RESUME


def test_menu_outside_a_flow_shows_the_menu(chat):
    assert chat.say("Menu") == [MENU_TEXT]
    assert chat.snapshot() == (IDLE, {})


# --- a stale draft ------------------------------------------------------------------------------
def test_stale_draft_is_offered_back_and_continue_keeps_it(chat):
    prompt = chat.reach(submit.TITLE)
    before = chat.snapshot()
    chat.age(25)
    since = format_datetime(chat.conversation().updated_at)

    replies = chat.say("Đèn tín hiệu hỏng tại ngã tư Hàng Đào")

    assert replies == [chat.messages[0]["attachment"]["payload"]["text"]]
    assert replies[0].startswith(texts.STALE_DRAFT.format(since=since))
    assert buttons(chat.messages[0]) == ["#resume:continue", "#resume:restart"]
    # The message that woke the draft is not taken as an answer to the old question.
    assert chat.snapshot() == (RESUME, {SUSPENDED: {"state": submit.TITLE, "draft": before[1]}})

    chat.say("tiep tuc")
    assert chat.snapshot() == before
    assert chat.messages == prompt


def test_stale_draft_start_over(chat):
    chat.reach(submit.CONSENT)
    chat.age(48)
    chat.say("dong y")
    assert chat.state == RESUME

    assert chat.say("Bắt đầu lại")[0] == texts.SCOPE
    assert chat.snapshot() == (submit.SCOPE, {})


def test_draft_younger_than_the_ttl_is_not_interrupted(chat):
    chat.reach(submit.TITLE)
    chat.age(23)

    chat.say(TITLE)

    assert chat.state == submit.CONTENT
    assert chat.draft["title"] == TITLE


def test_stale_draft_yields_to_a_command(chat):
    chat.reach(submit.TITLE)
    chat.age(25)

    assert chat.say("huy") == [texts.CANCELLED, MENU_TEXT]
    assert chat.snapshot() == (IDLE, {})


def test_idle_conversation_is_never_offered_a_draft(chat):
    chat.say("xin chao")
    chat.age(100)

    assert chat.say("xin chao") == [texts.UNKNOWN_OUTSIDE_FLOW, MENU_TEXT]
    assert chat.state == IDLE


def test_shorter_ttl_from_the_configuration(make_app, session, zalo):
    from tests.conftest import Webhook

    app = make_app(DRAFT_TTL_HOURS=1)
    chat = start_chat(session, Webhook(app.test_client()), zalo)
    chat.reach(submit.TITLE)
    chat.age(2)

    chat.say(TITLE)

    assert chat.state == RESUME
