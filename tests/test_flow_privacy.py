"""'Dữ liệu của tôi' and 'Xóa dữ liệu' in chat, through signed webhook events.

`submit_case` sends a whole PAKN through the chat (name, phone, address, e-mail, a content that
repeats them); the tests then read what the bot answered and what the database holds.
"""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot import texts
from bot.conversation import IDLE, SUSPENDED
from bot.flows import privacy as flow
from bot.flows import submit
from cases import privacy
from cases.clock import format_datetime
from models import Case, Citizen, InboundEvent, PersonalDataErasure
from tests.test_flow_commands import ADDRESS, NAME, PHONE, Chat, buttons, start_chat

EMAIL = "an.nguyen@example.vn"
CONTENT = f"Tôi là {NAME}, số điện thoại {PHONE}. Đèn tín hiệu tại ngã tư Hàng Bạc đã hỏng."
LOOKUP_URL = "http://localhost/tra-cuu"


@pytest.fixture
def chat(session, webhook, zalo) -> Chat:
    return start_chat(session, webhook, zalo)


def submit_case(chat: Chat) -> Case:
    """Send a whole PAKN through the chat, with an e-mail; return the case."""
    chat.reach(submit.CONTENT)
    chat.say(CONTENT)
    chat.say("xong")
    chat.reach(submit.EMAIL)
    for answer in (EMAIL, "#consent:yes", "#privacy:show", "#confirm:send"):
        chat.say(answer)
    assert chat.state == IDLE
    return the_case(chat)


def the_case(chat: Chat) -> Case:
    chat.session.expire_all()
    return chat.session.scalars(select(Case)).one()


def confirm_text(*open_codes: str) -> str:
    lines = [texts.PRIVACY_CONFIRM]
    if open_codes:
        lines.append(texts.PRIVACY_CONFIRM_OPEN.format(code=", ".join(open_codes)))
        lines.append(texts.PRIVACY_LOOKUP.format(url="http://localhost"))
    lines += [texts.PRIVACY_CONFIRM_QUESTION, "1. Đồng ý xóa", "2. Không xóa", texts.HOW_TO_CHOOSE]
    return "\n".join(lines)


def erasures(session) -> int:
    return session.scalar(select(func.count()).select_from(PersonalDataErasure))


def assert_kept(chat: Chat) -> None:
    """Nothing was deleted: the case still has its sender, the citizen their data."""
    case = the_case(chat)
    assert (case.contact_name, case.contact_phone, case.contact_email) == (NAME, PHONE, EMAIL)
    assert chat.citizen().name == NAME
    assert erasures(chat.session) == 0


# --- "Dữ liệu của tôi" ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command", ["Dữ liệu của tôi", "du lieu cua toi", "DỮ LIỆU CỦA TÔI", "xem dữ liệu"]
)
def test_my_data_lists_what_is_held_with_contact_data_masked(chat, session, command):
    case = submit_case(chat)

    summary, question = chat.say(command)

    messages = session.scalar(  # this very command included
        select(func.count())
        .select_from(InboundEvent)
        .where(InboundEvent.event_name == "user_send_text")
    )

    assert summary == "\n".join(
        [
            texts.PRIVACY_HEADER,
            f"• Họ tên: {NAME}",
            "• Số điện thoại: *******678",
            "• Địa chỉ: ***, Hà Nội",
            "• Email: a***@example.vn",
            f"• PAKN đã gửi: 1 ({case.code})",
            f"• Tin nhắn Ông/Bà đã gửi qua Zalo: {messages}",
            "• Ảnh, tệp Ông/Bà đã gửi kèm PAKN: 0",
            "• Ông/Bà đồng ý cho cơ quan xử lý dữ liệu cá nhân lúc: "
            + format_datetime(case.consent_at),
            texts.PRIVACY_PURPOSE,
        ]
    )
    assert PHONE not in summary and ADDRESS not in summary and EMAIL not in summary
    assert question == "\n".join(
        ["Ông/Bà muốn:", "1. Xóa dữ liệu", "2. Về danh mục chính", texts.HOW_TO_CHOOSE]
    )
    assert buttons(chat.messages[1]) == ["#mydata:delete", "#mydata:menu"]
    assert chat.state == flow.VIEW


def test_my_data_of_a_newcomer_says_nothing_is_held(chat):
    summary, _question = chat.say("Dữ liệu của tôi")

    assert "• Họ tên: chưa có" in summary and "• Số điện thoại: chưa có" in summary
    assert "• PAKN đã gửi: 0" in summary
    assert "đồng ý cho cơ quan" not in summary  # no consent was ever given


def test_choices_after_the_summary_by_number_and_button(chat):
    submit_case(chat)
    chat.say("Dữ liệu của tôi")
    assert chat.say("2")[-1].startswith(texts.MENU_QUESTION)
    assert chat.state == IDLE

    chat.say("Dữ liệu của tôi")
    assert chat.say("1") == [confirm_text(the_case(chat).code)]
    assert chat.state == flow.CONFIRM
    assert_kept(chat)


def test_summary_buttons_work_later_at_any_step(chat):
    case = submit_case(chat)
    chat.say("Dữ liệu của tôi")
    chat.say("#mydata:menu")
    chat.reach(submit.TITLE)

    assert chat.say("#mydata:delete") == [confirm_text(case.code)]
    assert chat.state == flow.CONFIRM
    assert SUSPENDED in chat.draft  # the new draft is put aside, not lost


def test_other_text_after_the_summary_is_read_as_at_the_main_menu(chat):
    chat.say("Dữ liệu của tôi")

    assert chat.say("Tra cứu") == [texts.NO_CASES, chat.say("menu")[0]]
    assert chat.state == IDLE


# --- "Xóa dữ liệu" ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command,yes", [("Xóa dữ liệu", "#erase:yes"), ("xoa du lieu", "1"), ("XÓA DỮ LIỆU", "đồng ý")]
)
def test_delete_asks_once_then_anonymises_and_acknowledges(chat, session, command, yes):
    case = submit_case(chat)

    assert chat.say(command) == [confirm_text(case.code)]
    assert buttons(chat.messages[0]) == ["#erase:yes", "#erase:no"]
    assert_kept(chat)

    replies = chat.say(yes)

    assert replies == [
        "\n".join(
            [
                texts.PRIVACY_ERASED,
                "1 PAKN của Ông/Bà được giữ lại ở dạng ẩn danh để thống kê.",
                f"Ông/Bà theo dõi tiến độ {case.code} bằng mã PAKN tại {LOOKUP_URL}",
            ]
        )
    ]
    case = the_case(chat)
    assert case.contact_name is None and case.contact_phone is None
    assert NAME not in case.content and PHONE not in case.content
    old = session.get(Citizen, case.citizen_id)
    assert old.zalo_user_id.startswith(privacy.PLACEHOLDER_PREFIX) and old.name is None
    # The person keeps writing to a fresh, empty row; the acknowledgement went there.
    fresh = chat.citizen()
    assert fresh.id != old.id
    assert (fresh.name, fresh.phone, fresh.consent_at) == (None, None, None)
    assert chat.state == IDLE
    assert erasures(session) == 1


def test_after_deleting_the_person_is_a_newcomer(chat):
    submit_case(chat)
    chat.say("Xóa dữ liệu")
    chat.say("#erase:yes")

    assert chat.say("Tra cứu")[0] == texts.NO_CASES
    assert "• PAKN đã gửi: 0" in chat.say("Dữ liệu của tôi")[0]


def test_delete_without_a_case_says_nothing_about_cases(chat):
    assert chat.say("Xóa dữ liệu") == [confirm_text()]

    assert chat.say("#erase:yes") == [texts.PRIVACY_ERASED]


@pytest.mark.parametrize("answer", ["không xóa", "#erase:no", "2", "KHONG"])
def test_no_keeps_everything_and_shows_the_menu(chat, answer):
    submit_case(chat)
    chat.say("Xóa dữ liệu")

    replies = chat.say(answer)

    assert replies[0] == texts.PRIVACY_KEPT
    assert replies[1].startswith(texts.MENU_QUESTION)
    assert chat.state == IDLE
    assert_kept(chat)


@pytest.mark.parametrize("answer", ["abc", "Tôi muốn hỏi về PAKN", "3", "#kind:feedback"])
def test_anything_else_at_the_confirmation_is_asked_again_politely(chat, answer):
    case = submit_case(chat)
    chat.say("Xóa dữ liệu")

    assert chat.say(answer) == [texts.PRIVACY_CONFIRM_UNCLEAR, confirm_text(case.code)]
    assert chat.state == flow.CONFIRM
    assert_kept(chat)


def test_a_photo_at_the_confirmation_is_asked_again_too(chat):
    case = submit_case(chat)
    chat.say("Xóa dữ liệu")

    assert chat.image() == [texts.PRIVACY_CONFIRM_UNCLEAR, confirm_text(case.code)]
    assert_kept(chat)


@pytest.mark.parametrize("command", ["hủy", "menu"])
def test_cancel_and_menu_at_the_confirmation_keep_everything(chat, command):
    submit_case(chat)
    chat.say("Xóa dữ liệu")

    replies = chat.say(command)

    assert replies[-1].startswith(texts.MENU_QUESTION)
    assert chat.state == IDLE
    assert_kept(chat)


def test_a_confirmation_left_too_long_is_asked_again_not_taken(chat):
    case = submit_case(chat)
    chat.say("Xóa dữ liệu")
    chat.age(hours=25)

    assert chat.say("#erase:yes") == [texts.PRIVACY_CONFIRM_STALE, confirm_text(case.code)]
    assert_kept(chat)
    assert chat.say("#erase:yes")[0].startswith(texts.PRIVACY_ERASED)


def test_an_old_yes_button_tapped_later_deletes_nothing(chat):
    submit_case(chat)
    chat.say("Xóa dữ liệu")
    chat.say("Không xóa")

    chat.say("#erase:yes")

    assert chat.state != flow.CONFIRM
    assert_kept(chat)


def test_delete_asked_in_the_middle_of_a_draft_puts_it_aside(chat):
    submit_case(chat)
    chat.reach(submit.TITLE)

    chat.say("xóa dữ liệu")
    assert chat.state == flow.CONFIRM
    chat.say("Không xóa")

    assert chat.draft[SUSPENDED]["state"] == submit.TITLE
    assert chat.say("Gửi phản ánh, kiến nghị")[0].startswith("Ông/Bà có một phản ánh")
