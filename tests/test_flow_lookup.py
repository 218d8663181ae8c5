"""Looking up one's own PAKN in chat, adding information to an open one, the info card outside a flow."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot import texts
from bot.flows import submit
from bot.flows.lookup import LOOKUP
from bot.flows.menu import ADD_INFO, ADD_OR_NEW
from cases import intake
from cases.clock import format_date, format_datetime, local_date
from cases.status import status_label, timeline_label
from models import Case, CaseAttachment, CaseEvent, CaseKind, CaseStatus, Citizen, Field, utcnow
from tests.test_flow_commands import MENU_TEXT, USER, Chat, start_chat

OTHER = "8405920174856301111"
PHOTO = "https://photo-stal-1.zdn.vn/x/bo-sung.jpg"


@pytest.fixture
def chat(session, webhook, zalo) -> Chat:
    return start_chat(session, webhook, zalo)


def citizen(session, zalo_user_id: str) -> Citizen:
    """The citizen with this Zalo id, created if new (as the webhook would)."""
    found = session.scalars(select(Citizen).where(Citizen.zalo_user_id == zalo_user_id)).first()
    if found is None:
        found = Citizen(zalo_user_id=zalo_user_id, created_at=utcnow())
        session.add(found)
        session.commit()
    return found


def register(
    session,
    zalo_user_id: str,
    title: str,
    received_at: datetime | None = None,
    status: CaseStatus = CaseStatus.RECEIVED,
) -> Case:
    """A PAKN of this citizen in the field "Giao thông", received at `received_at`."""
    field = session.scalars(select(Field).where(Field.code == "GIAO-THONG")).one()
    submission = intake.Submission(
        kind=CaseKind.FEEDBACK,
        field_id=field.id,
        unit_id=field.default_unit_id,
        title=title,
        content="Nội dung phản ánh đủ dài để được tiếp nhận.",
        contact_name="Nguyễn Văn An",
        contact_phone="0912345678",
        contact_address="12 Hàng Bạc, Hà Nội",
    )
    case = intake.submit_case(
        session,
        submission,
        citizen(session, zalo_user_id).id,
        received_at or utcnow(),
        answer_days=20,
    )
    case.status = status
    session.commit()
    return case


def list_line(n: int, case: Case) -> str:
    return texts.CASE_LIST_LINE.format(
        n=n,
        code=case.code,
        title=case.title,
        status=status_label(case.status),
        received=format_date(local_date(case.received_at)),
    )


def detail(case: Case, *timeline: tuple[datetime, str]) -> str:
    lines = [
        texts.CASE_DETAIL.format(
            code=case.code,
            title=case.title,
            field="Giao thông",
            unit="Sở Giao thông vận tải",
            status=status_label(case.status),
            received=format_datetime(case.received_at),
            due=format_date(case.answer_due_on),
        )
    ]
    lines.append(texts.CASE_TIMELINE_HEADER)
    lines += [
        texts.CASE_TIMELINE_LINE.format(at=format_datetime(at), what=what) for at, what in timeline
    ]
    return "\n".join(lines)


@pytest.fixture
def two_cases(chat, session):
    """This citizen's two PAKN (one answered, one being handled) and another citizen's one."""
    now = utcnow()
    older = register(
        session,
        USER,
        "Rác thải tồn đọng ở chợ Hàng Bè",
        now - timedelta(days=3),
        CaseStatus.ANSWERED,
    )
    newer = register(
        session,
        USER,
        "Đèn tín hiệu hỏng tại ngã tư",
        now - timedelta(days=1),
        CaseStatus.PROCESSING,
    )
    foreign = register(session, OTHER, "Vỉa hè bị lấn chiếm trước số 5", now)
    return newer, older, foreign


# --- the list and the detail --------------------------------------------------------------------
@pytest.mark.parametrize("ask", ["Tra cứu", "tra cuu", "#menu:lookup", "2"])
def test_lookup_lists_own_cases_newest_first(chat, two_cases, ask):
    newer, older, foreign = two_cases

    replies = chat.say(ask)

    assert replies == [
        "\n".join(
            [
                texts.CASE_LIST_HEADER,
                list_line(1, newer),
                list_line(2, older),
                texts.CASE_LIST_FOOTER,
            ]
        )
    ]
    assert "Đang xử lý" in replies[0] and "Đã trả lời" in replies[0]
    assert foreign.code not in replies[0]
    assert chat.state == LOOKUP


def test_long_title_is_shortened_in_the_list(chat, session):
    case = register(session, USER, "Đ" * 150)

    reply = chat.say("tra cuu")[0]

    assert f"{case.code} — {'Đ' * 59}… — Đã tiếp nhận" in reply


@pytest.mark.parametrize("pick", ["1", "{code}", "{code_lower}", "Mã của tôi là {code_spaced} ạ"])
def test_pick_by_number_or_code_shows_status_field_unit_dates_and_timeline(chat, two_cases, pick):
    newer = two_cases[0]
    chat.say("Tra cứu")
    spaced = newer.code.replace(".", " ")

    replies = chat.say(
        pick.format(code=newer.code, code_lower=newer.code.lower(), code_spaced=spaced)
    )

    assert replies == [detail(newer, (newer.received_at, timeline_label("received")))]
    assert "Trạng thái: Đang xử lý" in replies[0]
    assert chat.state == LOOKUP


def test_code_typed_at_the_menu_shows_the_case(chat, two_cases):
    older = two_cases[1]

    assert chat.say(f"PAKN {older.code[5:]}") == [
        detail(older, (older.received_at, timeline_label("received")))
    ]


def test_timeline_shows_what_the_citizen_may_see_only(chat, session):
    case = register(session, USER, "Đèn tín hiệu hỏng tại ngã tư")
    at = case.received_at + timedelta(hours=2)
    session.add_all(
        [
            CaseEvent(
                case_id=case.id, at=at, action="citizen_info", actor="citizen", note="Ảnh mới"
            ),
            CaseEvent(
                case_id=case.id,
                at=at,
                action="internal_note",
                actor="staff:1",
                note="Ghi chú nội bộ",
                visible_to_citizen=False,
            ),
        ]
    )
    session.commit()

    reply = chat.say(case.code)[0]

    assert reply == detail(
        case, (case.received_at, timeline_label("received")), (at, timeline_label("citizen_info"))
    )
    assert "internal_note" not in reply and "Ghi chú nội bộ" not in reply


def test_no_cases_gets_a_polite_answer_and_the_menu(chat):
    assert chat.say("Tra cứu") == [texts.NO_CASES, MENU_TEXT]
    assert chat.state == "idle"


def test_menu_choice_after_the_list_is_read_as_at_the_menu(chat, two_cases):
    chat.say("tra cuu")

    assert chat.say("gui phan anh")[0] == texts.SCOPE
    assert chat.state == submit.SCOPE


# --- another citizen's case ---------------------------------------------------------------------
def test_another_citizens_case_is_never_shown_by_code(chat, two_cases):
    foreign = two_cases[2]

    assert chat.say(foreign.code) == [texts.CASE_NOT_FOUND.format(code=foreign.code)]
    chat.say("tra cuu")
    assert chat.say(foreign.code) == [texts.CASE_NOT_FOUND.format(code=foreign.code)]


def test_another_citizens_case_is_never_shown_by_number(chat, two_cases, session):
    foreign = two_cases[2]
    chat.say("tra cuu")
    for n in ["1", "2", "3"]:
        replies = chat.say(n)
        assert replies and all(foreign.code not in r and foreign.title not in r for r in replies)

    # Even a list tampered with in the database only reaches the citizen's own cases.
    conversation = chat.conversation()
    conversation.state = LOOKUP
    conversation.draft = {"lookup_codes": [foreign.code]}
    session.commit()
    assert chat.say("1") == [texts.CASE_NOT_FOUND.format(code=foreign.code)]


def test_the_other_citizen_sees_only_their_own(chat, two_cases, webhook, zalo, session):
    newer, older, foreign = two_cases
    other = Chat(webhook, zalo, session, user=OTHER)

    reply = other.say("tra cuu")[0]

    assert foreign.code in reply
    assert newer.code not in reply and older.code not in reply
    assert other.say(newer.code) == [texts.CASE_NOT_FOUND.format(code=newer.code)]


# --- adding to an open case ---------------------------------------------------------------------
def citizen_info(session, case: Case) -> list[CaseEvent]:
    session.expire_all()
    return session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.action == "citizen_info")
        .order_by(CaseEvent.id)
    ).all()


def offer(case: Case) -> str:
    return "\n".join(
        [
            texts.ADD_OR_NEW.format(code=case.code, title=case.title),
            f"1. {texts.ADD_TO_CASE.format(code=case.code)}",
            f"2. {texts.ADD_NEW}",
            f"3. {texts.ADD_MENU}",
            texts.HOW_TO_CHOOSE,
        ]
    )


def test_writing_outside_a_flow_offers_to_add_to_the_open_case(chat, two_cases):
    newer = two_cases[0]  # the answered one is closed and is not offered

    assert chat.say("Đèn vẫn chưa được sửa") == [offer(newer)]
    assert [b["payload"] for b in chat.messages[0]["attachment"]["payload"]["buttons"]] == [
        "#add:add",
        "#add:new",
        "#add:menu",
    ]
    assert chat.state == ADD_OR_NEW


@pytest.mark.parametrize("choice", ["1", "#add:add", "bo sung"])
def test_add_attaches_the_text_then_photos_until_done(chat, two_cases, session, choice):
    newer = two_cases[0]
    chat.say("Đèn vẫn chưa được sửa")

    assert chat.say(choice) == [texts.ADD_NOTED.format(code=newer.code)]
    assert [e.note for e in citizen_info(session, newer)] == ["Đèn vẫn chưa được sửa"]
    assert chat.state == ADD_INFO

    chat.image(PHOTO)
    chat.say("Ảnh chụp sáng nay.")
    events = citizen_info(session, newer)
    assert [e.note for e in events] == [
        "Đèn vẫn chưa được sửa",
        "[1 tệp đính kèm]",
        "Ảnh chụp sáng nay.",
    ]
    assert all(e.actor == "citizen" and e.visible_to_citizen for e in events)
    attachments = session.scalars(
        select(CaseAttachment).where(CaseAttachment.case_id == newer.id)
    ).all()
    assert [(a.media_type, a.source_url) for a in attachments] == [("image", PHOTO)]

    assert chat.say("xong") == [texts.ADD_DONE.format(code=newer.code)]
    assert chat.state == "idle"
    assert len(citizen_info(session, newer)) == 3


def test_a_photo_outside_a_flow_can_be_added_too(chat, two_cases, session):
    newer = two_cases[0]

    assert chat.image(PHOTO) == [offer(newer)]
    chat.say("1")

    assert [e.note for e in citizen_info(session, newer)] == ["[1 tệp đính kèm]"]
    assert session.scalars(
        select(CaseAttachment.source_url).where(CaseAttachment.case_id == newer.id)
    ).all() == [PHOTO]


@pytest.mark.parametrize("choice", [texts.ADD_NEW, "2", "#add:new", "gui moi"])
def test_new_pakn_starts_the_flow_and_adds_nothing(chat, two_cases, session, choice):
    newer = two_cases[0]
    chat.say("Tôi muốn phản ánh việc khác")

    assert chat.say(choice)[0] == texts.SCOPE
    assert chat.state == submit.SCOPE
    assert "pending" not in chat.draft
    assert citizen_info(session, newer) == []


def test_menu_choice_shows_the_menu_and_adds_nothing(chat, two_cases, session):
    chat.say("Cảm ơn")

    assert chat.say(texts.ADD_MENU) == [MENU_TEXT]
    assert chat.state == "idle"
    assert citizen_info(session, two_cases[0]) == []


def test_unclear_answer_to_add_or_new_asks_again(chat, two_cases, session):
    chat.say("Đèn vẫn chưa được sửa")
    question = chat.messages

    assert chat.say("có lẽ")[0] == texts.INVALID_CHOICE
    assert chat.messages[1:] == question
    assert chat.state == ADD_OR_NEW
    assert citizen_info(session, two_cases[0]) == []


def test_closed_cases_are_not_offered(chat, session):
    register(session, USER, "Rác thải tồn đọng ở chợ Hàng Bè", status=CaseStatus.ANSWERED)

    assert chat.say("Cảm ơn") == [texts.UNKNOWN_OUTSIDE_FLOW, MENU_TEXT]


def test_adding_does_not_go_on_silently_after_the_draft_ttl(chat, two_cases, session):
    newer = two_cases[0]
    chat.say("Đèn vẫn chưa được sửa")
    chat.say("1")
    chat.age(72)

    replies = chat.say("Tôi muốn phản ánh việc lấn chiếm vỉa hè ở phố khác")

    assert len(citizen_info(session, newer)) == 1
    assert replies


# --- the info card outside a flow ---------------------------------------------------------------
def test_info_card_outside_a_flow_saves_the_contact(chat):
    replies = chat.submit_info(
        name="Trần Thị Bình",
        phone="84987654321",
        address="5 Tràng Thi",
        ward="Phường Hàng Trống",
        city="Hà Nội",
    )

    assert replies == [texts.INFO_SAVED]
    saved = chat.citizen()
    assert (saved.name, saved.phone, saved.address) == (
        "Trần Thị Bình",
        "0987654321",
        "5 Tràng Thi, Phường Hàng Trống, Hà Nội",
    )
    assert chat.state == "idle"


def test_info_card_with_bad_values_keeps_what_was_known(chat):
    chat.submit_info(name="Trần Thị Bình", phone="0987654321", address="5 Tràng Thi")

    chat.submit_info(name="!!", phone="12345")

    saved = chat.citizen()
    assert (saved.name, saved.phone, saved.address) == (
        "Trần Thị Bình",
        "0987654321",
        "5 Tràng Thi",
    )
