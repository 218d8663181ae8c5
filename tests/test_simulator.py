"""The chat simulator: each action becomes a correctly signed Zalo event through the real webhook,
and the transcript lists the bot's messages (from the sandbox) and the citizen's own events.

The bot's replies go out through the production client; `responses` forwards them into the
app's sandbox stand-in, so the whole loop runs in-process. The tool panel's endpoints (aging a
citizen, injected faults, revoking the token) are checked for what they change on both sides.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import responses
from sqlalchemy import select

from handlers.runtime import get_runtime
from models import Citizen, InboundEvent, SandboxRecord, SandboxUser
from tests.conftest import load_fixture
from tests.test_sandbox import forward_to_app, multipart, tiny_png

USER = "1234567890123456789"
OTHER = "9876543210987654321"


@pytest.fixture
def sim_app(make_app):
    """A sandbox-mode app, where the simulator exists."""
    return make_app(ZALO_APP_ID=None)


@pytest.fixture
def sim(sim_app):
    """The simulator's test client, with the bot's calls to Zalo landing in the sandbox."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        forward_to_app(mock, sim_app)
        yield sim_app.test_client()


def send(client, **data):
    """Post one simulator action for USER."""
    return client.post("/simulator/api/send", json={"user_id": USER, **data})


def events(app, user: str = USER) -> list[InboundEvent]:
    """The webhook events stored for `user`, oldest first."""
    with get_runtime(app).sessions() as session:
        return list(
            session.scalars(
                select(InboundEvent)
                .where(InboundEvent.zalo_user_id == user)
                .order_by(InboundEvent.id)
            )
        )


def last_event(app, user: str = USER) -> dict:
    """The body of the latest event stored for `user`."""
    return json.loads(events(app, user)[-1].body)


def bot_send(client, app, message: dict, user: str = USER) -> int:
    """Play the bot: send a consultation message through the sandbox; return its record id."""
    body = {"recipient": {"user_id": user}, "message": message}
    answer = client.post(
        "/_sandbox/zalo/v3.0/oa/message/cs",
        json=body,
        headers={"access_token": app.config["ZALO_ACCESS_TOKEN"]},
    ).get_json()
    assert answer["error"] == 0
    with get_runtime(app).sessions() as session:
        return session.scalars(select(SandboxRecord.id).order_by(SandboxRecord.id.desc())).first()


def listing(client, user: str = USER, **cursor) -> dict:
    """The simulator's transcript of `user` after the given cursors."""
    response = client.get("/simulator/api/messages", query_string={"user_id": user, **cursor})
    assert response.status_code == 200
    return response.get_json()


def assert_envelope(app, body: dict, event_name: str) -> None:
    """The user->OA envelope exactly as Zalo sends it."""
    assert body["app_id"] == app.config["ZALO_APP_ID"]
    assert body["sender"] == {"id": USER}
    assert body["recipient"] == {"id": app.config["ZALO_OA_ID"]}
    assert re.fullmatch(r"\d{19}", body["user_id_by_app"])
    assert body["event_name"] == event_name
    assert re.fullmatch(r"\d{13}", body["timestamp"])


# --- the page ------------------------------------------------------------------------------


def test_page_shows_the_oa_and_loads_its_script(sim_app, sim):
    response = sim.get("/simulator")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert sim_app.config["AGENCY_NAME"] in html
    assert "Thêm người dân" in html
    assert 'data-send-url="/simulator/api/send"' in html
    assert "simulator.js" in html
    assert "Lỗi giả lập cho lần gửi tiếp theo" in html
    assert "Lùi thời gian 8 ngày" in html
    assert '<option value="500">HTTP 500' in html
    script = sim.get("/static/simulator.js")
    assert script.status_code == 200
    script.close()


# --- each kind of action -------------------------------------------------------------------


def test_text_is_a_signed_user_send_text_event(sim_app, sim):
    response = send(sim, kind="text", text="  Xin chào  ")
    assert response.status_code == 200
    assert response.get_json()["webhook_status"] == 200
    assert response.get_json()["event_name"] == "user_send_text"
    (row,) = events(sim_app)
    assert row.event_name == "user_send_text"
    body = json.loads(row.body)
    assert_envelope(sim_app, body, "user_send_text")
    assert body["message"]["text"] == "Xin chào"
    assert body["message"]["msg_id"] == response.get_json()["msg_id"]


def test_every_event_has_its_own_msg_id(sim_app, sim):
    send(sim, kind="text", text="một")
    send(sim, kind="text", text="một")
    first, second = (json.loads(row.body)["message"]["msg_id"] for row in events(sim_app))
    assert first != second


def test_follow_has_the_follow_shape(sim_app, sim):
    assert send(sim, kind="follow").get_json()["webhook_status"] == 200
    (row,) = events(sim_app)
    body = json.loads(row.body)
    expected = load_fixture("follow")
    assert set(body) == set(expected)
    assert body["event_name"] == "follow"
    assert body["oa_id"] == sim_app.config["ZALO_OA_ID"]
    assert body["follower"] == {"id": USER}
    assert body["source"] == "oa_profile"


def test_button_tap_sends_the_button_payload_as_text(sim_app, sim):
    record_id = bot_send(sim, sim_app, load_fixture("message_cs_request_buttons")["message"])
    response = send(sim, kind="button", record_id=record_id, index=1)
    assert response.get_json()["webhook_status"] == 200
    body = last_event(sim_app)
    assert_envelope(sim_app, body, "user_send_text")
    assert body["message"]["text"] == "#menu:lookup"


def test_button_tap_only_on_this_citizens_query_buttons(sim_app, sim):
    url_button = {
        "title": "Cổng",
        "type": "oa.open.url",
        "payload": {"url": "https://example.gov.vn"},
    }
    message = {
        "attachment": {
            "type": "template",
            "payload": {"template_type": "button", "text": "Xem", "buttons": [url_button]},
        }
    }
    own = bot_send(sim, sim_app, message)
    others = bot_send(sim, sim_app, load_fixture("message_cs_request_buttons")["message"], OTHER)
    assert send(sim, kind="button", record_id=own, index=0).status_code == 400
    assert send(sim, kind="button", record_id=others, index=0).status_code == 400
    assert send(sim, kind="button", record_id=own, index=7).status_code == 400
    assert send(sim, kind="button", record_id="1", index=0).status_code == 400
    assert events(sim_app) == []


def upload_photo(client, data: bytes | None = None, name: str = "hiện trường.png"):
    """Upload a photo through the simulator."""
    body, content_type = multipart(data if data is not None else tiny_png(), name)
    return client.post("/simulator/api/upload", data=body, content_type=content_type)


def test_photo_is_uploaded_then_sent_as_user_send_image(sim_app, sim):
    uploaded = upload_photo(sim).get_json()
    assert uploaded["url"] == (
        f"http://localhost/_sandbox/zalo/media/{uploaded['token']}/{uploaded['name']}"
    )
    response = send(sim, kind="image", token=uploaded["token"], text="Ổ gà")
    assert response.get_json()["webhook_status"] == 200
    body = last_event(sim_app)
    assert_envelope(sim_app, body, "user_send_image")
    (attachment,) = body["message"]["attachments"]
    assert attachment == {
        "type": "image",
        "payload": {"url": uploaded["url"], "thumbnail": uploaded["url"]},
    }
    assert body["message"]["text"] == "Ổ gà"
    served = sim.get(uploaded["url"].removeprefix("http://localhost"))
    assert served.get_data() == tiny_png()
    served.close()


@pytest.mark.parametrize(
    ("data", "name"),
    [(b"GIF89a...", "a.gif"), (b"<svg/>", "a.png"), (b"", "a.png")],
)
def test_upload_refuses_what_is_not_a_photo(sim, data, name):
    response = upload_photo(sim, data, name)
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_upload_refuses_an_oversized_photo(make_app):
    app = make_app(ZALO_APP_ID=None, ATTACHMENT_MAX_BYTES=2048)
    response = upload_photo(app.test_client(), b"\x89PNG\r\n\x1a\n" + b"0" * 4096)
    assert response.status_code == 400
    assert response.get_json()["error"] == "Ảnh quá lớn."


def test_image_needs_an_uploaded_photo(sim_app, sim):
    assert send(sim, kind="image", token="unknown").status_code == 400
    assert events(sim_app) == []


def test_location_sends_string_coordinates(sim_app, sim):
    response = send(sim, kind="location", latitude=21.0285011, longitude="105.8542034")
    assert response.get_json()["webhook_status"] == 200
    body = last_event(sim_app)
    assert_envelope(sim_app, body, "user_send_location")
    (attachment,) = body["message"]["attachments"]
    assert attachment == {
        "type": "location",
        "payload": {"coordinates": {"latitude": "21.0285011", "longitude": "105.8542034"}},
    }


@pytest.mark.parametrize(
    ("latitude", "longitude"), [(91, 105), (21, -181), ("abc", 105), (None, 105), ("nan", 1)]
)
def test_location_refuses_impossible_coordinates(sim_app, sim, latitude, longitude):
    response = send(sim, kind="location", latitude=latitude, longitude=longitude)
    assert response.status_code == 400
    assert events(sim_app) == []


def test_info_card_answer_is_the_flat_user_submit_info(sim_app, sim):
    response = send(
        sim, kind="info", name="Nguyễn Văn An", phone="0912345678", address="12 Hàng Bạc"
    )
    assert response.get_json()["webhook_status"] == 200
    (row,) = events(sim_app)
    assert row.event_name == "user_submit_info"
    body = json.loads(row.body)
    assert body["sender"] == {"id": USER}
    assert body["recipient"] == {"id": sim_app.config["ZALO_OA_ID"]}
    assert "message" not in body
    assert body["info"] == {
        "name": "Nguyễn Văn An",
        "phone": "0912345678",
        "address": "12 Hàng Bạc",
        "ward": "",
        "district": "",
        "city": "",
    }


def test_info_card_needs_name_and_phone(sim_app, sim):
    assert send(sim, kind="info", name="An").status_code == 400
    assert events(sim_app) == []


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "text", "text": "x", "user_id": "abc"},
        {"kind": "text", "text": "x", "user_id": "1" * 41},
        {"kind": "text", "text": "x", "user_id": 123},
        {"kind": "shout", "text": "x"},
        {"kind": ["text"]},
        {"kind": "text", "text": "   "},
        {"kind": "text", "text": "x" * 4001},
    ],
)
def test_send_refuses_bad_requests_in_vietnamese(sim_app, sim, data):
    response = sim.post("/simulator/api/send", json={"user_id": USER, **data})
    assert response.status_code == 400
    assert response.get_json()["error"]
    assert events(sim_app) == []


def test_send_needs_json(sim):
    assert sim.post("/simulator/api/send", data="x").status_code == 400


def test_simulator_signs_with_the_configured_sandbox_secret(make_app):
    # A sandbox with its own OA secret: the webhook (checking that secret) still accepts.
    app = make_app(ZALO_APP_ID=None, ZALO_OA_SECRET_KEY="another-sandbox-secret")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        forward_to_app(mock, app)
        response = app.test_client().post(
            "/simulator/api/send", json={"user_id": USER, "kind": "text", "text": "chào"}
        )
    assert response.get_json()["webhook_status"] == 200
    assert len(events(app)) == 1


def test_simulator_is_absent_with_a_real_oa(make_app):
    client = make_app().test_client()
    assert client.get("/simulator").status_code == 404
    assert client.post("/simulator/api/age", json={"user_id": USER, "days": 8}).status_code == 404
    assert client.post("/simulator/api/revoke-token", json={}).status_code == 404
    assert (
        client.post("/simulator/api/send", json={"user_id": USER, "kind": "follow"}).status_code
        == 404
    )


# --- the transcript ------------------------------------------------------------------------


def test_follow_brings_a_bot_reply_into_the_transcript(sim_app, sim):
    send(sim, kind="follow")
    bubbles = listing(sim)["messages"]
    assert bubbles[0]["from"] == "system"
    assert bubbles[0]["kind"] == "follow"
    assert any(b["from"] == "oa" for b in bubbles[1:])


def test_transcript_lists_every_kind_of_bubble(sim_app, sim):
    token = sim_app.config["ZALO_ACCESS_TOKEN"]
    uploaded = upload_photo(sim).get_json()
    messages = [
        {"text": "Chào anh/chị"},
        load_fixture("message_cs_request_buttons")["message"],
        {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "media",
                    "elements": [{"media_type": "image", "attachment_id": uploaded["token"]}],
                },
            }
        },
        load_fixture("message_cs_request_user_info")["message"],
        {"attachment": {"type": "file", "payload": {"token": uploaded["token"]}}},
        {"text": "x" * 2001},  # refused by Zalo: shown as an error line
    ]
    for message in messages:
        sim.post(
            "/_sandbox/zalo/v3.0/oa/message/cs",
            json={"recipient": {"user_id": USER}, "message": message},
            headers={"access_token": token},
        )
    sim.post(
        "/_sandbox/zalo/v3.0/oa/message/template",
        json={"user_id": USER, "template_id": "42", "template_data": {"ma": "PAKN.20260101.0001"}},
        headers={"access_token": token},
    )
    bot_send(sim, sim_app, {"text": "cho người khác"}, OTHER)

    data = listing(sim)
    kinds = [(b["from"], b["kind"]) for b in data["messages"]]
    assert kinds == [
        ("oa", "text"),
        ("oa", "buttons"),
        ("oa", "image"),
        ("oa", "info_request"),
        ("oa", "file"),
        ("system", "error"),
        ("oa", "template"),
    ]
    text, buttons, image, info, file, error, template = data["messages"]
    assert text["text"] == "Chào anh/chị"
    assert buttons["text"] == "Anh/chị muốn làm gì?"
    assert buttons["buttons"][0] == {
        "title": "Gửi phản ánh",
        "type": "oa.query.hide",
        "payload": "#menu:submit",
    }
    assert image["image_url"] == uploaded["url"]
    assert info["subtitle"].startswith("Xin cung cấp")
    assert file["file_url"] == uploaded["url"]
    assert "-210" in error["text"]
    assert template["title"] == "Tin mẫu (ZNS) #42"
    assert template["channel"] == "user_id"
    assert template["fields"] == [{"name": "ma", "value": "PAKN.20260101.0001"}]
    assert len({b["id"] for b in data["messages"]}) == len(data["messages"])

    # Nothing new after the cursor.
    again = listing(sim, after=data["after"], after_event=data["after_event"])
    assert again["messages"] == []
    assert (again["after"], again["after_event"]) == (data["after"], data["after_event"])


def test_transcript_keeps_the_citizens_own_messages(sim_app, sim):
    record_id = bot_send(sim, sim_app, load_fixture("message_cs_request_buttons")["message"])
    first = listing(sim)
    send(sim, kind="button", record_id=record_id, index=0)
    uploaded = upload_photo(sim).get_json()
    send(sim, kind="image", token=uploaded["token"])
    send(sim, kind="location", latitude=21.03, longitude=105.85)
    send(sim, kind="info", name="An", phone="0912345678", address="Hà Nội")
    send(sim, kind="text", text="Cảm ơn")

    mine = [
        b
        for b in listing(sim, after=first["after"], after_event=first["after_event"])["messages"]
        if b["from"] == "user"
    ]
    assert [b["kind"] for b in mine] == ["text", "image", "location", "info", "text"]
    tap, image, location, info, text = mine
    # A hidden query button shows as a tap on its title, not as its payload.
    assert (tap["text"], tap["button_payload"]) == ("Gửi phản ánh", "#menu:submit")
    assert image["image_url"] == uploaded["url"]
    assert (location["latitude"], location["longitude"]) == ("21.0300000", "105.8500000")
    assert info["info"]["name"] == "An"
    assert text["text"] == "Cảm ơn"
    # A reload (no cursor) shows everything again, oldest first.
    everything = listing(sim)["messages"]
    assert everything[0]["kind"] == "buttons"
    assert [b["kind"] for b in everything if b["from"] == "user"][-1] == "text"


def test_transcript_refuses_bad_parameters(sim):
    assert sim.get("/simulator/api/messages", query_string={"user_id": "x"}).status_code == 400
    response = sim.get("/simulator/api/messages", query_string={"user_id": USER, "after": "z"})
    assert response.status_code == 400


def test_template_by_phone_shows_as_a_zns_bubble(sim_app, sim):
    with get_runtime(sim_app).sessions() as session, session.begin():
        session.add(Citizen(zalo_user_id=USER, phone="0912345678"))
    body = {
        "phone": "84912345678",
        "template_id": "9001",
        "template_data": {"ma_pakn": "PAKN.20260101.0002", "trang_thai": "Đã giải quyết"},
        "tracking_id": "t1",
    }
    sim.post(
        "/_sandbox/zalo/business/message/template",
        json=body,
        headers={"access_token": sim_app.config["ZALO_ACCESS_TOKEN"]},
    )
    (bubble,) = listing(sim)["messages"]
    assert (bubble["from"], bubble["kind"], bubble["channel"]) == ("oa", "template", "phone")
    assert bubble["title"] == "Tin mẫu (ZNS) #9001"
    assert bubble["fields"] == [
        {"name": "ma_pakn", "value": "PAKN.20260101.0002"},
        {"name": "trang_thai", "value": "Đã giải quyết"},
    ]


def test_injected_failures_show_as_error_lines(sim_app, sim):
    token = sim_app.config["ZALO_ACCESS_TOKEN"]
    sim.post("/simulator/api/fault", json={"code": -217, "times": 1, "user_id": USER})
    bot_send_raw = {"recipient": {"user_id": USER}, "message": {"text": "Chào"}}
    sim.post(
        "/_sandbox/zalo/v3.0/oa/message/cs", json=bot_send_raw, headers={"access_token": token}
    )
    sim.post("/simulator/api/fault", json={"code": 500, "times": 1, "user_id": USER})
    sim.post(
        "/_sandbox/zalo/v3.0/oa/message/cs", json=bot_send_raw, headers={"access_token": token}
    )
    blocked, server = listing(sim)["messages"]
    assert blocked["kind"] == server["kind"] == "error"
    assert blocked["text"] == "Zalo từ chối (-217, lỗi giả lập): User has blocked the OA"
    assert server["text"] == "Máy chủ Zalo lỗi (HTTP 500, lỗi giả lập)"


# --- the tool panel: time, faults, the token -------------------------------------------------


def state(client, user: str = USER) -> dict:
    """What the tool panel shows for `user`."""
    response = client.get("/simulator/api/state", query_string={"user_id": user})
    assert response.status_code == 200
    return response.get_json()


def sandbox_last(app, user: str = USER) -> datetime | None:
    """The last interaction the sandbox ("Zalo") holds for `user`."""
    with get_runtime(app).sessions() as session:
        row = session.get(SandboxUser, user)
        return row.last_interaction_at if row else None


def app_last(app, user: str = USER) -> datetime | None:
    """The last interaction the app's own Citizen row holds for `user`."""
    with get_runtime(app).sessions() as session:
        return session.scalars(
            select(Citizen.last_interaction_at).where(Citizen.zalo_user_id == user)
        ).first()


def test_every_action_of_the_citizen_is_an_interaction(sim_app, sim):
    assert sandbox_last(sim_app) is None
    before = datetime.now(UTC)
    send(sim, kind="follow")
    followed = sandbox_last(sim_app)
    assert followed is not None and followed >= before
    uploaded = upload_photo(sim).get_json()
    for action in (
        {"kind": "text", "text": "Xin chào"},
        {"kind": "image", "token": uploaded["token"]},
        {"kind": "location", "latitude": 21, "longitude": 105},
        {"kind": "info", "name": "An", "phone": "0912345678"},
    ):
        sim.post("/simulator/api/age", json={"user_id": USER, "days": 8})
        assert state(sim)["in_window"] is False
        assert send(sim, **action).get_json()["webhook_status"] == 200
        assert state(sim)["in_window"] is True
        assert datetime.now(UTC) - sandbox_last(sim_app) < timedelta(minutes=1)
    # A refused action (400) is no interaction.
    sim.post("/simulator/api/age", json={"user_id": USER, "days": 8})
    assert send(sim, kind="text", text="   ").status_code == 400
    assert state(sim)["in_window"] is False


def test_a_button_tap_is_an_interaction(sim_app, sim):
    record_id = bot_send(sim, sim_app, load_fixture("message_cs_request_buttons")["message"])
    sim.post("/simulator/api/age", json={"user_id": USER, "days": 8})
    send(sim, kind="button", record_id=record_id, index=0)
    assert state(sim)["in_window"] is True


def test_aging_moves_zalo_and_the_apps_citizen_row_alike(sim_app, sim):
    send(sim, kind="text", text="Xin chào")
    zalo_before, app_before = sandbox_last(sim_app), app_last(sim_app)
    assert app_before is not None
    response = sim.post("/simulator/api/age", json={"user_id": USER, "days": 8})
    assert response.status_code == 200
    assert response.get_json()["in_window"] is False
    assert zalo_before - sandbox_last(sim_app) == timedelta(days=8)
    assert app_before - app_last(sim_app) == timedelta(days=8)
    # The bot's own consultation message is now refused by "Zalo" too.
    assert (
        sim.post(
            "/_sandbox/zalo/v3.0/oa/message/cs",
            json={"recipient": {"user_id": USER}, "message": {"text": "Kết quả"}},
            headers={"access_token": sim_app.config["ZALO_ACCESS_TOKEN"]},
        ).get_json()["error"]
        == -230
    )


@pytest.mark.parametrize(("days", "in_window"), [(1, True), (3, True), (8, False)])
def test_aging_a_citizen_the_app_does_not_know_yet(sim_app, sim, days, in_window):
    response = sim.post("/simulator/api/age", json={"user_id": USER, "days": days})
    data = response.get_json()
    assert data["in_window"] is in_window
    assert data["idle_hours"] == days * 24
    assert data["app_last_interaction_at"] is None
    assert app_last(sim_app) is None


@pytest.mark.parametrize(
    "data",
    [
        {"user_id": USER},
        {"user_id": USER, "days": 0},
        {"user_id": USER, "days": 61},
        {"user_id": USER, "days": "8"},
        {"user_id": USER, "days": True},
        {"user_id": "abc", "days": 8},
    ],
)
def test_age_refuses_bad_requests(sim_app, sim, data):
    response = sim.post("/simulator/api/age", json=data)
    assert response.status_code == 400
    assert response.get_json()["error"]
    assert sandbox_last(sim_app) is None


@pytest.mark.parametrize(
    "data",
    [
        {"code": -999, "times": 1},
        {"code": "-32", "times": 1},
        {"code": True, "times": 1},
        {"code": -32, "times": 0},
        {"code": -32, "times": 6},
        {"code": -32, "times": 1, "user_id": "abc"},
    ],
)
def test_fault_refuses_bad_requests(sim, data):
    response = sim.post("/simulator/api/fault", json=data)
    assert response.status_code == 400
    assert response.get_json()["error"]
    assert state(sim)["faults"] == []


def test_state_shows_pending_faults_and_the_token(sim_app, sim):
    assert state(sim) == {
        "last_interaction_at": None,
        "idle_hours": None,
        "app_last_interaction_at": None,
        "in_window": True,
        "faults": [],
        "token": {"generation": 0, "live": True},
    }
    sim.post("/simulator/api/fault", json={"code": -32, "times": 2, "user_id": USER})
    sim.post("/simulator/api/fault", json={"code": 500, "times": 1})
    assert state(sim)["faults"] == [
        {"code": -32, "remaining": 2, "only_this_citizen": True},
        {"code": 500, "remaining": 1, "only_this_citizen": False},
    ]
    assert state(sim, OTHER)["faults"] == [
        {"code": 500, "remaining": 1, "only_this_citizen": False}
    ]
    sim.post("/simulator/api/revoke-token", json={})
    assert state(sim)["token"] == {"generation": 0, "live": False}


def test_the_simulator_runs_on_the_default_deferred_webhook(make_app):
    """`make run` keeps `WEBHOOK_PROCESSING=background`: the event goes through `WebhookFront`,
    is applied after the response, and the bot's welcome still reaches the sandbox."""
    app = make_app(ZALO_APP_ID=None, WEBHOOK_PROCESSING="background")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        forward_to_app(mock, app)
        answer = send(app.test_client(), kind="follow").get_json()
        get_runtime(app).executor.shutdown(wait=True)  # what runs after the response is done
    assert answer["webhook_status"] == 200
    with get_runtime(app).sessions() as session:
        sent = session.scalars(
            select(SandboxRecord).where(
                SandboxRecord.zalo_user_id == USER,
                SandboxRecord.endpoint.like("%message/cs"),
            )
        ).all()
    texts = " ".join(json.dumps(record.body, ensure_ascii=False) for record in sent)
    assert "Gửi phản ánh" in texts  # the welcome menu
