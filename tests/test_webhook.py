"""The webhook: signature, malformed and oversized bodies, redelivery, every event kind, crashes,
and per-citizen serialisation under concurrent requests."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bot import texts
from bot.conversation import Step
from bot.flows import STEPS
from cases.demo import seed_reference_data
from handlers.runtime import get_runtime
from models import (
    Citizen,
    Conversation,
    EventStatus,
    InboundEvent,
    OutboxMessage,
    OutboxState,
)
from tests.conftest import APP_ID, FIXTURES, OA_SECRET, Webhook, load_fixture

USER = "2468458835291979220"


def events_stored(session) -> int:
    return session.scalar(select(func.count()).select_from(InboundEvent))


@pytest.fixture(params=["inline", "worker"])
def hook_client(request, make_app):
    """A client of each webhook path: the Flask route (inline) and `WebhookFront` (deferred)."""
    return make_app(WEBHOOK_PROCESSING=request.param).test_client()


def test_get_probe_answers_200(hook_client):
    assert hook_client.get("/webhook/zalo").status_code == 200


def test_unsigned_empty_probe_answers_200_and_stores_nothing(hook_client, session, zalo):
    response = hook_client.post("/webhook/zalo", data=b"{}", content_type="application/json")
    assert response.status_code == 200
    assert events_stored(session) == 0
    assert zalo.sent == []


def test_missing_signature_is_401(hook_client, session):
    raw = json.dumps(load_fixture("user_send_text")).encode()
    response = hook_client.post("/webhook/zalo", data=raw, content_type="application/json")
    assert response.status_code == 401
    assert events_stored(session) == 0


def test_forged_signature_is_401(hook_client, session):
    forger = Webhook(hook_client, secret="not-the-oa-secret")
    assert forger.post(load_fixture("user_send_text")).status_code == 401
    assert events_stored(session) == 0


def test_tampered_body_is_401(hook_client, session):
    body = load_fixture("user_send_text")
    raw = json.dumps(body).encode()
    from bot.zalo.signature import signature_header

    headers = signature_header(APP_ID, raw, body["timestamp"], OA_SECRET)
    tampered = raw.replace(b"Toi", b"Toi") if b"Toi" in raw else raw + b" "
    tampered = tampered.replace(b'"timestamp": "1764215400123"', b'"timestamp": "1764215400124"')
    response = hook_client.post(
        "/webhook/zalo", data=tampered, headers=headers, content_type="application/json"
    )
    assert response.status_code == 401


def test_signature_without_mac_prefix_is_accepted(hook_client, session, zalo):
    body = load_fixture("follow")
    raw = json.dumps(body).encode()
    from bot.zalo.signature import compute_signature

    header = compute_signature(APP_ID, raw, body["timestamp"], OA_SECRET)
    response = hook_client.post(
        "/webhook/zalo",
        data=raw,
        headers={"X-ZEvent-Signature": header},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert events_stored(session) == 1


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe", b"", b"[1, 2]", b'"text"'])
def test_malformed_json_is_400(hook_client, session, raw):
    response = hook_client.post("/webhook/zalo", data=raw, content_type="application/json")
    assert response.status_code == 400
    assert events_stored(session) == 0


def test_signed_body_without_event_name_is_400(hook_client, session):
    body = load_fixture("user_send_text")
    del body["event_name"]
    assert Webhook(hook_client).post(body).status_code == 400
    assert events_stored(session) == 0


def test_body_over_one_mebibyte_is_413(hook_client, session):
    raw = b'{"event_name": "user_send_text", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    response = hook_client.post("/webhook/zalo", data=raw, content_type="application/json")
    assert response.status_code == 413
    assert events_stored(session) == 0


def test_redelivered_event_has_no_second_effect(webhook, session, zalo):
    body = load_fixture("user_send_text")
    assert webhook.post(body).status_code == 200
    sent_once = len(zalo.sent)
    assert sent_once > 0
    second = webhook.post(body)
    assert second.status_code == 200 and second.json["status"] == "duplicate"
    assert events_stored(session) == 1
    assert len(zalo.sent) == sent_once


def test_unknown_event_is_stored_and_ignored(webhook, session, zalo):
    body = webhook.envelope(USER, "user_reacted_message", {"react_icon": "/-heart"})
    assert webhook.post(body).status_code == 200
    row = session.scalars(select(InboundEvent)).one()
    assert row.event_name == "user_reacted_message" and row.status is EventStatus.IGNORED
    assert zalo.sent == []


def test_known_event_missing_its_sender_is_stored_as_failed(webhook, session, zalo):
    body = load_fixture("user_send_text")
    del body["sender"]
    assert webhook.post(body).status_code == 200
    row = session.scalars(select(InboundEvent)).one()
    assert row.status is EventStatus.FAILED and "sender" in row.error
    assert zalo.sent == []


@pytest.mark.parametrize("mode", ["worker", "background"])
def test_store_and_acknowledge_keeps_keys_and_failures(make_app, session, zalo, mode):
    """Deferred modes store with one statement: redeliveries still collide, bad events still fail."""
    app = make_app(WEBHOOK_PROCESSING=mode)
    hook = Webhook(app.test_client())
    body = load_fixture("user_send_text")
    assert hook.post(body).json == {"status": "ok"}
    assert hook.post(body).json == {"status": "duplicate"}
    broken = load_fixture("user_send_text")
    del broken["sender"]
    broken["message"]["msg_id"] = "another-message"
    assert hook.post(broken).json == {"status": "ok"}
    if mode == "background":
        get_runtime(app).executor.shutdown(wait=True)  # what runs after the response is done
    rows = session.scalars(select(InboundEvent).order_by(InboundEvent.id)).all()
    assert len(rows) == 2
    stored, failed = rows
    assert stored.event_name == "user_send_text" and stored.zalo_user_id == body["sender"]["id"]
    assert json.loads(stored.body) == body and stored.received_at is not None
    assert failed.status is EventStatus.FAILED and "sender" in failed.error
    if mode == "worker":
        assert stored.status is EventStatus.RECEIVED and zalo.sent == []
    else:  # applied right after the response
        assert stored.status is EventStatus.PROCESSED and zalo.sent


WEBHOOK_FIXTURES = sorted(
    p.stem for p in FIXTURES.glob("*.json") if "event_name" in json.loads(p.read_text())
)


@pytest.mark.parametrize("name", WEBHOOK_FIXTURES)
def test_every_fixture_event_is_accepted_and_stored(webhook, session, zalo, name):
    assert webhook.post(load_fixture(name)).status_code == 200
    row = session.scalars(select(InboundEvent)).one()
    assert row.event_name == load_fixture(name)["event_name"]
    assert row.status in (EventStatus.PROCESSED, EventStatus.IGNORED)


def test_receipts_move_outbox_rows_to_delivered_then_seen(webhook, session, zalo):
    webhook.follow(USER)
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert [r.state for r in rows] == [OutboxState.SENT, OutboxState.SENT]
    first, second = (r.zalo_message_id for r in rows)
    received = webhook.envelope("oa", "user_received_message", {"msg_id": first})
    received["sender"], received["recipient"] = {"id": "oa"}, {"id": USER}
    assert webhook.post(received).status_code == 200
    seen = webhook.envelope("oa", "user_seen_message", {"msg_ids": [first, second]})
    seen["sender"], seen["recipient"] = {"id": "oa"}, {"id": USER}
    seen["message"].pop("msg_id")
    assert webhook.post(seen).status_code == 200
    session.expire_all()
    states = [r.state for r in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]
    assert states == [OutboxState.SEEN, OutboxState.SEEN]


def test_follow_and_unfollow_update_the_citizen(webhook, session, zalo):
    webhook.follow(USER)
    citizen = session.scalars(select(Citizen)).one()
    assert citizen.is_follower and citizen.last_interaction_at is not None
    unfollow = load_fixture("unfollow")
    unfollow["follower"]["id"] = USER
    webhook.post(unfollow)
    session.refresh(citizen)
    assert citizen.is_follower is False


def test_crash_in_a_step_keeps_the_event_apologises_and_spares_others(
    webhook, session, zalo, monkeypatch
):
    idle = STEPS["idle"]

    def boom(ctx, incoming):
        if ctx.citizen.zalo_user_id == USER:
            ctx.conversation.state = "corrupted"
            raise RuntimeError("step exploded")
        return idle.handle(ctx, incoming)

    monkeypatch.setitem(STEPS, "idle", Step("idle", idle.prompt, boom, in_flow=False))
    assert webhook.text(USER, "xin chào").status_code == 200
    row = session.scalars(select(InboundEvent)).one()
    assert row.status is EventStatus.FAILED and "step exploded" in row.error
    assert zalo.texts(USER) == [texts.APOLOGY]
    conversation = session.scalars(select(Conversation)).one()
    assert conversation.state == "idle"  # the step's half-done change was rolled back

    other = "1111111111111111111"
    assert webhook.text(other, "xin chào").status_code == 200
    assert zalo.texts(other)[-1].startswith(texts.MENU_QUESTION)


def test_a_failed_send_loses_neither_event_nor_reply(webhook, session, zalo):
    zalo.fail_next({"error": -200, "message": "send failed"})
    assert webhook.follow(USER).status_code == 200
    assert events_stored(session) == 1
    rows = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert len(rows) == 2
    assert rows[0].state is OutboxState.PENDING and rows[0].last_error_code == -200
    assert rows[0].attempts == 1 and rows[1].state is OutboxState.PENDING  # order kept


def test_concurrent_messages_of_one_citizen_are_serialised(app, session, zalo):
    """Ten content messages at once: with the per-citizen lock none is lost (no lost update)."""
    seed_reference_data(session)
    session.commit()
    driver = Webhook(app.test_client())
    for text in ["gui phan anh", "1", "1", "1", "1", "Ổ gà trên đường Tràng Thi"]:
        driver.text(USER, text)
    state = session.scalars(select(Conversation)).one()
    assert state.state == "submit_content"

    lines = [f"Dòng nội dung số {i:02d} của phản ánh" for i in range(10)]
    barrier = threading.Barrier(len(lines))

    def send(line: str) -> int:
        hook = Webhook(app.test_client())
        barrier.wait(timeout=10)
        return hook.text(USER, line).status_code

    with ThreadPoolExecutor(max_workers=len(lines)) as pool:
        statuses = list(pool.map(send, lines))
    assert statuses == [200] * len(lines)
    session.expire_all()
    conversation = session.scalars(select(Conversation)).one()
    content = conversation.draft["content"].split("\n")
    assert sorted(content) == sorted(lines)
    assert events_stored(session) == 6 + len(lines)
