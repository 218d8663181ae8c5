"""Linking a staff member's own Zalo account with a one-time code, through signed webhook events."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import texts
from bot.flows import submit
from bot.staff_link import issue_link_code
from cases.demo import seed_demo
from handlers.runtime import get_runtime
from models import Citizen, Staff, utcnow
from tests.test_flow_commands import Chat

STAFF_USER = "5550000000000000001"  # the staff member's own Zalo account


@pytest.fixture
def staff_chat(session, webhook, zalo) -> Chat:
    """Demo staff accounts, and a chat from a staff member's own Zalo account."""
    seed_demo(session)
    session.commit()
    return Chat(webhook, zalo, session, user=STAFF_USER)


def issue(app, username: str = "canbo.sxd", minutes_ago: float = 0) -> str:
    """Issue a code for `username` as the console would, `minutes_ago` minutes ago."""
    with get_runtime(app).sessions() as db:
        staff = db.scalars(select(Staff).where(Staff.username == username)).one()
        code = issue_link_code(db, staff, utcnow() - timedelta(minutes=minutes_ago))
        db.commit()
    return code


def staff_row(session, username: str = "canbo.sxd") -> Staff:
    session.expire_all()
    return session.scalars(select(Staff).where(Staff.username == username)).one()


def test_issued_code_is_cb_and_six_digits_valid_for_15_minutes(app, session, staff_chat):
    before = utcnow()
    code = issue(app)

    assert re.fullmatch(r"CB-\d{6}", code)
    staff = staff_row(session)
    assert staff.link_code == code
    assert timedelta(minutes=15) <= staff.link_code_expires_at - before < timedelta(minutes=16)


@pytest.mark.parametrize("typed", ["{code}", " {code} ", "{lower}"])
def test_valid_code_links_the_sender_and_is_used_up(app, session, staff_chat, typed):
    code = issue(app)

    replies = staff_chat.say(typed.format(code=code, lower=code.lower()))

    assert replies == [texts.STAFF_LINKED.format(name="Lê Văn Hùng")]
    assert replies[0] == (
        "Đã liên kết tài khoản Zalo với tài khoản cán bộ Lê Văn Hùng. "
        "Nhắc việc sẽ được gửi qua Zalo này."
    )
    staff = staff_row(session)
    assert staff.zalo_citizen_id == staff_chat.citizen().id
    assert staff.link_code is None and staff.link_code_expires_at is None
    # Used once: sending it again is refused.
    assert staff_chat.say(code) == [texts.STAFF_LINK_INVALID]


def test_expired_code_is_refused(app, session, staff_chat):
    code = issue(app, minutes_ago=16)

    assert staff_chat.say(code) == [texts.STAFF_LINK_INVALID]
    assert staff_row(session).zalo_citizen_id is None


def test_unknown_code_is_refused(app, session, staff_chat):
    code = issue(app)
    unknown = "CB-000000" if code != "CB-000000" else "CB-000001"

    assert staff_chat.say(unknown) == [texts.STAFF_LINK_INVALID]
    assert staff_row(session).zalo_citizen_id is None
    assert staff_row(session).link_code == code


def test_a_new_code_replaces_the_previous_one(app, session, staff_chat):
    old = issue(app)
    new = issue(app)
    if new == old:  # one chance in a million: the refusal below needs two different codes
        new = issue(app)

    assert staff_chat.say(old) == [texts.STAFF_LINK_INVALID]
    assert staff_chat.say(new) == [texts.STAFF_LINKED.format(name="Lê Văn Hùng")]


def test_code_of_an_inactive_account_is_refused(app, session, staff_chat):
    code = issue(app)
    staff = staff_row(session)
    staff.active = False
    session.commit()

    assert staff_chat.say(code) == [texts.STAFF_LINK_INVALID]


def test_code_works_mid_flow_and_leaves_the_conversation_untouched(app, session, staff_chat):
    staff_chat.reach(submit.TITLE)
    before = staff_chat.snapshot()
    touched = staff_chat.conversation().updated_at
    code = issue(app)

    assert staff_chat.say(code) == [texts.STAFF_LINKED.format(name="Lê Văn Hùng")]

    assert staff_chat.snapshot() == before
    assert staff_chat.conversation().updated_at == touched
    assert staff_row(session).zalo_citizen_id == staff_chat.citizen().id
    # The flow goes on where it was: the code was not taken as the title.
    staff_chat.say("Đèn tín hiệu hỏng tại ngã tư")
    assert staff_chat.state == submit.CONTENT
    assert staff_chat.draft["title"] == "Đèn tín hiệu hỏng tại ngã tư"


def test_a_refused_code_also_leaves_the_conversation_untouched(app, session, staff_chat):
    staff_chat.reach(submit.TITLE)
    before = staff_chat.snapshot()

    assert staff_chat.say("CB-123456") == [texts.STAFF_LINK_INVALID]
    assert staff_chat.snapshot() == before


@pytest.mark.parametrize("text", ["CB-12345", "CB-1234567", "mã CB-123456", "CB 123456"])
def test_text_that_is_not_exactly_a_code_goes_to_the_conversation(session, staff_chat, text):
    replies = staff_chat.say(text)

    assert texts.STAFF_LINK_INVALID not in replies
    assert replies[0] == texts.UNKNOWN_OUTSIDE_FLOW
    citizen = session.scalars(select(Citizen).where(Citizen.zalo_user_id == STAFF_USER)).one()
    assert staff_row(session).zalo_citizen_id != citizen.id


def test_five_wrong_codes_lock_the_sender_out_for_an_hour(app, session, staff_chat):
    """Guessing is bounded: after 5 wrong codes even the right one is refused, for an hour."""
    code = issue(app)
    wrong = [f"CB-{n:06d}" for n in range(7) if f"CB-{n:06d}" != code][:5]
    for guess in wrong:
        assert staff_chat.say(guess) == [texts.STAFF_LINK_INVALID]

    assert staff_chat.say(code) == [texts.STAFF_LINK_LOCKED]
    assert staff_row(session).zalo_citizen_id is None
    assert staff_row(session).link_code == code  # not used up by the refused attempt


def test_four_wrong_codes_still_allow_the_right_one(app, session, staff_chat):
    code = issue(app)
    wrong = [f"CB-{n:06d}" for n in range(6) if f"CB-{n:06d}" != code][:4]
    for guess in wrong:
        staff_chat.say(guess)

    assert staff_chat.say(code) == [texts.STAFF_LINKED.format(name="Lê Văn Hùng")]
