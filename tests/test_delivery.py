"""The delivery ledger at the HTTP layer: every Zalo error class, the window plan, held rows,
receipts, order, and reconciliation after a dispatcher dies mid-send."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
import responses
from sqlalchemy import select

from bot import texts
from bot.delivery import STUCK_AFTER, Dispatcher, next_morning
from cases.clock import LOCAL_TZ
from models import (
    Citizen,
    HoldReason,
    MessageKind,
    OutboxMessage,
    OutboxState,
    StaffNotice,
    utcnow,
)
from tests.conftest import API_BASE, Webhook
from tests.delivery_helpers import dispatcher, make_citizen, queue, states

USER = "2468458835291979220"
TEMPLATE_URL = f"{API_BASE}/v3.0/oa/message/template"
PHONE_URL = "https://business.openapi.zalo.me/message/template"
TEMPLATES = json.dumps(
    {
        "answer": {
            "uid": "tpl-uid-answer",
            "phone": "tpl-zns-answer",
            "data": {"ma_pakn": "{case_code}", "trang_thai": "{status}"},
        },
        "status_update": {"phone": "tpl-zns-status", "data": {"ma_pakn": "{case_code}"}},
    }
)


def error_body(code: int) -> dict:
    return {"error": code, "message": f"zalo error {code}"}


@pytest.mark.parametrize(
    ("code", "state", "retried"),
    [
        (-32, OutboxState.PENDING, True),
        (-200, OutboxState.PENDING, True),
        (-201, OutboxState.FAILED, False),
        (-210, OutboxState.FAILED, False),
        (-999, OutboxState.FAILED, False),
    ],
)
def test_error_codes_retry_or_fail_with_the_reason_kept(app, session, zalo, code, state, retried):
    citizen = make_citizen(session)
    [row] = queue(session, citizen, "Xin chào")
    zalo.fail_next(error_body(code))
    dispatcher(app).dispatch_citizen(citizen.id)
    session.refresh(row)
    assert row.state is state and row.last_error_code == code
    assert f"zalo error {code}" in row.last_error
    assert (row.next_attempt_at > utcnow()) is retried
    assert zalo.sent == []


@pytest.mark.parametrize(
    "failure", [requests.ConnectionError("refused"), requests.Timeout(), "http500"]
)
def test_transport_errors_and_5xx_are_retried_with_backoff(app, session, failure):
    citizen = make_citizen(session)
    [row] = queue(session, citizen, "Xin chào")
    with responses.RequestsMock() as mock:
        url = f"{API_BASE}/v3.0/oa/message/cs"
        if failure == "http500":
            mock.post(url, status=500, body="oops")
        else:
            mock.post(url, body=failure)
        dispatcher(app).dispatch_citizen(citizen.id)
    session.refresh(row)
    assert row.state is OutboxState.PENDING and row.attempts == 1
    delay = (row.next_attempt_at - utcnow()).total_seconds()
    assert 1 <= delay <= 5


def test_backoff_grows_and_gives_up_after_max_attempts(app, session, zalo):
    citizen = make_citizen(session)
    [row] = queue(session, citizen, "Xin chào")
    delays = []
    for _ in range(8):
        zalo.fail_next(error_body(-200))
        row.next_attempt_at = utcnow()
        session.commit()
        dispatcher(app).dispatch_citizen(citizen.id)
        session.refresh(row)
        delays.append((row.next_attempt_at - utcnow()).total_seconds())
    assert row.state is OutboxState.FAILED and row.attempts == 8
    assert delays[1] > delays[0] and delays[5] > delays[2]


def test_a_retrying_row_holds_back_the_citizens_later_rows(app, session, zalo):
    citizen = make_citizen(session)
    rows = queue(session, citizen, "một", "hai", "ba")
    zalo.fail_next(error_body(-200))
    dispatcher(app).dispatch_citizen(citizen.id)
    assert states(session, rows) == [OutboxState.PENDING] * 3
    rows[0].next_attempt_at = utcnow()
    session.commit()
    dispatcher(app).dispatch_citizen(citizen.id)
    assert zalo.texts() == ["một", "hai", "ba"]


def test_refused_button_template_is_resent_as_its_text(app, session, zalo):
    from bot.zalo import messages

    citizen = make_citizen(session)
    from bot.delivery import enqueue

    row = enqueue(session, citizen.id, messages.buttons("Chọn:\n1. A\n2. B", [("A", "#x:a")]))
    session.commit()
    zalo.fail_next(error_body(-201))
    dispatcher(app).dispatch_citizen(citizen.id)
    session.refresh(row)
    assert row.state is OutboxState.SENT
    assert zalo.sent[-1]["message"] == {"text": "Chọn:\n1. A\n2. B"}


@pytest.mark.parametrize("code", [-217, -227, -244])
def test_unreachable_citizen_is_marked_and_the_row_held(app, session, zalo, code):
    citizen = make_citizen(session)
    [row] = queue(session, citizen, "Thông báo")
    zalo.fail_next(error_body(code))
    dispatcher(app).dispatch_citizen(citizen.id)
    session.refresh(row)
    session.refresh(citizen)
    assert row.state is OutboxState.HELD and row.held_reason is HoldReason.UNREACHABLE
    assert citizen.unreachable_reason == str(code) and citizen.unreachable_at is not None


def test_out_of_quota_holds_and_alerts_coordinators_once(app, session, zalo):
    citizen = make_citizen(session)
    rows = queue(session, citizen, "một", "hai")
    zalo.fail_next(error_body(-211))
    zalo.fail_next(error_body(-211))
    dispatcher(app).dispatch_citizen(citizen.id)
    assert states(session, rows) == [OutboxState.HELD, OutboxState.HELD]
    assert rows[0].held_reason is HoldReason.OUT_OF_QUOTA
    notices = session.scalars(select(StaffNotice)).all()
    assert len(notices) == 1 and notices[0].role == "coordinator"


def test_night_time_refusal_waits_for_the_morning_without_using_an_attempt(app, session, zalo):
    citizen = make_citizen(session)
    [row] = queue(session, citizen, "Tin nhắn")
    zalo.fail_next(error_body(-234))
    dispatcher(app).dispatch_citizen(citizen.id)
    session.refresh(row)
    assert row.state is OutboxState.PENDING and row.attempts == 0
    local = row.next_attempt_at.astimezone(LOCAL_TZ)
    assert local.hour == 6 and 5 <= local.minute <= 10


def test_next_morning_is_today_before_six_and_tomorrow_after():
    from datetime import datetime

    early = datetime(2026, 11, 27, 3, 0, tzinfo=LOCAL_TZ)
    late = datetime(2026, 11, 27, 23, 0, tzinfo=LOCAL_TZ)
    assert next_morning(early).astimezone(LOCAL_TZ).date().day == 27
    assert next_morning(late).astimezone(LOCAL_TZ).date().day == 28


# --- the window and the channel plan ------------------------------------------------------------
def test_inside_the_window_a_consultation_message(app, session, zalo):
    citizen = make_citizen(session, days_since=6.5)
    [row] = queue(session, citizen, "Kết quả", kind=MessageKind.ANSWER)
    dispatcher(app).dispatch_citizen(citizen.id)
    session.refresh(row)
    assert row.state is OutboxState.SENT and row.channel == "consultation"


def test_outside_the_window_a_template_by_user_id(make_app, session, zalo):
    app = make_app(ZALO_TEMPLATES=TEMPLATES)
    citizen = make_citizen(session, days_since=8)
    [row] = queue(
        session,
        citizen,
        "Kết quả",
        kind=MessageKind.ANSWER,
        context={"case_code": "PAKN.20261127.0001", "status": "Đã trả lời"},
    )
    zalo.mock.post(
        TEMPLATE_URL,
        json={"error": 0, "data": {"message_id": "tpl-1"}},
        match=[
            responses.matchers.json_params_matcher(
                {
                    "user_id": USER,
                    "template_id": "tpl-uid-answer",
                    "template_data": {"ma_pakn": "PAKN.20261127.0001", "trang_thai": "Đã trả lời"},
                }
            )
        ],
    )
    dispatcher(app).dispatch_citizen(citizen.id)
    session.refresh(row)
    assert row.state is OutboxState.SENT and row.channel == "template"
    assert row.zalo_message_id == "tpl-1" and zalo.sent == []


def test_outside_the_window_by_phone_when_consented(make_app, session, zalo):
    app = make_app(ZALO_TEMPLATES=TEMPLATES)
    citizen = make_citizen(session, days_since=30, phone="0912345678", consent=True)
    [row] = queue(
        session,
        citizen,
        "Cập nhật",
        kind=MessageKind.STATUS_UPDATE,
        context={"case_code": "PAKN.20261127.0002"},
    )
    zalo.mock.post(
        PHONE_URL,
        json={"error": 0, "data": {"msg_id": "zns-9"}},
        match=[
            responses.matchers.json_params_matcher(
                {
                    "phone": "84912345678",
                    "template_id": "tpl-zns-status",
                    "template_data": {"ma_pakn": "PAKN.20261127.0002"},
                    "tracking_id": f"pakn-outbox-{row.id}",
                }
            ),
            responses.matchers.header_matcher({"access_token": "test-access-token"}),
        ],
    )
    dispatcher(app).dispatch_citizen(citizen.id)
    session.refresh(row)
    assert row.state is OutboxState.SENT and row.channel == "phone"


def test_no_phone_consent_means_held(make_app, session, zalo):
    app = make_app(ZALO_TEMPLATES=TEMPLATES)
    citizen = make_citizen(session, days_since=30, phone="0912345678", consent=False)
    [row] = queue(session, citizen, "Cập nhật", kind=MessageKind.STATUS_UPDATE)
    dispatcher(app).dispatch_citizen(citizen.id)
    session.refresh(row)
    assert row.state is OutboxState.HELD and row.held_reason is HoldReason.OUTSIDE_WINDOW


def test_zalo_says_window_closed_then_template(make_app, session, zalo):
    app = make_app(ZALO_TEMPLATES=TEMPLATES)
    citizen = make_citizen(session, days_since=2)  # our clock says inside; Zalo disagrees
    [row] = queue(session, citizen, "Kết quả", kind=MessageKind.ANSWER)
    zalo.fail_next(error_body(-230))
    zalo.mock.post(TEMPLATE_URL, json={"error": 0, "data": {"message_id": "tpl-2"}})
    dispatcher(app).dispatch_citizen(citizen.id)
    session.refresh(row)
    assert row.state is OutboxState.SENT and row.channel == "template"


def test_held_rows_are_announced_and_delivered_first_when_the_citizen_writes(app, session, zalo):
    citizen = make_citizen(session, days_since=10)
    early = utcnow() - timedelta(days=2)
    rows = queue(
        session, citizen, "Kết quả trả lời PAKN", "Đã công khai", kind=MessageKind.ANSWER, at=early
    )
    dispatcher(app).dispatch_citizen(citizen.id)
    assert states(session, rows) == [OutboxState.HELD, OutboxState.HELD]
    assert rows[0].held_since is not None and zalo.sent == []

    Webhook(app.test_client()).text(USER, "xin chào")
    sent = zalo.texts(USER)
    assert sent[:3] == [texts.HELD_NOTICE.format(count=2), "Kết quả trả lời PAKN", "Đã công khai"]
    assert sent[3] == texts.UNKNOWN_OUTSIDE_FLOW
    assert states(session, rows) == [OutboxState.SENT, OutboxState.SENT]


# --- receipts and reconciliation ----------------------------------------------------------------
class ProcessDiedError(BaseException):
    """Stands for the process being killed: nothing after it runs."""


def die_before_commit(monkeypatch):
    def finish(self, claim, values):
        raise ProcessDiedError

    monkeypatch.setattr(Dispatcher, "_finish", finish)


def test_dispatcher_killed_after_the_send_is_reconciled_by_zalos_echo(
    app, session, zalo, monkeypatch
):
    citizen = make_citizen(session)
    [row] = queue(session, citizen, "Mã PAKN của Ông/Bà")
    with monkeypatch.context() as patch:
        die_before_commit(patch)
        with pytest.raises(ProcessDiedError):
            dispatcher(app).dispatch_citizen(citizen.id)
    session.refresh(row)
    assert row.state is OutboxState.SENDING and len(zalo.sent) == 1

    echo = Webhook(app.test_client()).envelope(
        "oa", "oa_send_text", {"msg_id": "mid1", "text": "Mã PAKN của Ông/Bà"}
    )
    echo["sender"], echo["recipient"] = {"id": "oa"}, {"id": USER}
    assert Webhook(app.test_client()).post(echo).status_code == 200
    session.refresh(row)
    assert row.state is OutboxState.SENT and row.zalo_message_id == "mid1"

    row.claimed_at = utcnow() - STUCK_AFTER - timedelta(minutes=1)
    session.commit()
    dispatcher(app).sweep()
    assert len(zalo.sent) == 1  # not sent twice


def test_dispatcher_killed_before_zalo_saw_it_is_sent_once_after_the_grace(
    app, session, zalo, monkeypatch
):
    citizen = make_citizen(session)
    [row] = queue(session, citizen, "Thông báo")

    def die_in_flight(self, claim, route):
        raise ProcessDiedError

    with monkeypatch.context() as patch:
        patch.setattr(Dispatcher, "_send_once", die_in_flight)
        with pytest.raises(ProcessDiedError):
            dispatcher(app).dispatch_citizen(citizen.id)
    session.refresh(row)
    assert row.state is OutboxState.SENDING and zalo.sent == []
    dispatcher(app).sweep()  # too early: an echo could still come
    assert zalo.sent == []
    row.claimed_at = utcnow() - STUCK_AFTER - timedelta(seconds=1)
    session.commit()
    dispatcher(app).sweep()
    session.refresh(row)
    assert row.state is OutboxState.SENT and zalo.texts() == ["Thông báo"]


def test_officer_echo_from_the_oa_chat_is_ignored(app, session, zalo):
    citizen = make_citizen(session)
    echo = Webhook(app.test_client()).envelope("oa", "oa_send_text", {"text": "Chào anh"})
    echo["sender"], echo["recipient"] = {"id": "oa", "admin_id": "77"}, {"id": citizen.zalo_user_id}
    assert Webhook(app.test_client()).post(echo).status_code == 200
    assert session.scalars(select(OutboxMessage)).all() == []


def test_held_answers_are_listed_for_coordinators_once_a_day(app, session, zalo):
    from bot.digest import post_held_digest
    from tests.factories import make_case

    citizen = make_citizen(session, days_since=9)
    case = make_case(session, citizen.id, commit=False)
    session.commit()
    queue(session, citizen, "Kết quả", kind=MessageKind.ANSWER, case_id=case.id)
    dispatcher(app).dispatch_citizen(citizen.id)
    now = utcnow()
    with session.begin():
        assert post_held_digest(session, now) is True
    with session.begin():
        assert post_held_digest(session, now) is False  # once a day
    notice = session.scalars(select(StaffNotice)).one()
    assert case.code in notice.body and "09******78" in notice.body
    assert "0912345678" not in notice.body


def test_citizen_is_reachable_again_after_writing(app, session, zalo):
    citizen = make_citizen(session)
    citizen.unreachable_reason = "-217"
    session.commit()
    Webhook(app.test_client()).text(USER, "xin chào")
    session.refresh(citizen)
    assert citizen.unreachable_reason is None
    assert session.get(Citizen, citizen.id).last_interaction_at is not None


def test_a_failure_later_made_good_no_longer_counts_as_undelivered(app, session, zalo):
    from cases.undelivered import undelivered
    from tests.factories import make_case

    citizen = make_citizen(session)
    case = make_case(session, citizen.id, commit=False)
    session.commit()
    [failed] = queue(session, citizen, "Kết quả", kind=MessageKind.ANSWER, case_id=case.id)
    zalo.fail_next(error_body(-201))
    dispatcher(app).dispatch_citizen(citizen.id)
    assert list(undelivered(session)) == [case.id]
    queue(session, citizen, "Kết quả (gửi lại)", kind=MessageKind.ANSWER, case_id=case.id)
    dispatcher(app).dispatch_citizen(citizen.id)
    assert undelivered(session) == {}
