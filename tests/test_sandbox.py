"""The sandbox stand-in of the Zalo OA API: it records and answers like Zalo, errors included.

Also checked through the production `ZaloClient`, with `responses` forwarding its HTTP calls into
the Flask test client, so the stand-in and the client can never drift apart unnoticed. The Zalo
behaviours the delivery ledger relies on are played here too: the 7-day window, single-use
refresh tokens, a revoked grant, and failures injected into the next sends.
"""

from __future__ import annotations

import io
import json
import re
import struct
import unicodedata
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import responses
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from handlers.runtime import get_runtime
from models import (
    Citizen,
    InboundEvent,
    SandboxFault,
    SandboxMedia,
    SandboxRecord,
    SandboxToken,
)
from tests.conftest import load_fixture

USER = "2468458835291979220"
OTHER_USER = "1357924680135792468"
CS = "/_sandbox/zalo/v3.0/oa/message/cs"


def tiny_png() -> bytes:
    """A valid 1x1 PNG, so browsers can render it too."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00\x68\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def forward_to_app(mock: responses.RequestsMock, app) -> None:
    """Route every HTTP call to the app's PUBLIC_BASE_URL into the app itself (the real stack).

    Header names keep their underscores (`access_token`, `secret_key`), as gunicorn's
    `--header-map dangerous` keeps them for the sandbox in `make run`.
    """

    def callback(request) -> tuple[int, dict[str, str], bytes]:
        url = urlsplit(request.url)
        headers = [
            (k, v)
            for k, v in request.headers.items()
            if k.lower() not in ("host", "content-length")
        ]
        body = request.body or b""
        answer = app.test_client().open(
            url.path + (f"?{url.query}" if url.query else ""),
            method=request.method,
            headers=headers,
            data=body.encode() if isinstance(body, str) else body,
        )
        kept = ("content-type", "x-ratelimit-limit", "x-ratelimit-remain")
        reply = (
            answer.status_code,
            {k: v for k, v in answer.headers.items() if k.lower() in kept},
            answer.get_data(),
        )
        answer.close()
        return reply

    pattern = re.compile(re.escape(app.config["PUBLIC_BASE_URL"]) + r"/.*")
    for method in (responses.GET, responses.POST):
        mock.add_callback(method, pattern, callback=callback)


@pytest.fixture
def sandbox_app(make_app):
    """A sandbox-mode app (no ZALO_APP_ID)."""
    return make_app(ZALO_APP_ID=None)


@pytest.fixture
def sandbox_client(sandbox_app):
    """A test client of the sandbox app."""
    return sandbox_app.test_client()


@pytest.fixture
def token(sandbox_app) -> str:
    """The access token the sandbox accepts."""
    return sandbox_app.config["ZALO_ACCESS_TOKEN"]


def records(app, endpoint: str | None = None) -> list[SandboxRecord]:
    """The SandboxRecords kept so far (of one endpoint), oldest first."""
    with get_runtime(app).sessions() as session:
        query = select(SandboxRecord).order_by(SandboxRecord.id)
        if endpoint:
            query = query.where(SandboxRecord.endpoint == endpoint)
        return list(session.scalars(query))


def post_cs(client, token: str, body: Any):
    """Post a consultation message to the sandbox."""
    return client.post(CS, json=body, headers={"access_token": token})


def text_body(text: str, user: str = USER) -> dict[str, Any]:
    """A text consultation message for `user`."""
    return {"recipient": {"user_id": user}, "message": {"text": text}}


def sends_with(client, access_token: str) -> int:
    """The error code a text message sent with `access_token` gets (0: accepted)."""
    return post_cs(client, access_token, text_body("Xin chào")).get_json()["error"]


def sends_with_to(client, access_token: str, user: str) -> int:
    """The error code a text message to `user` gets (0: accepted)."""
    return post_cs(client, access_token, text_body("Xin chào", user)).get_json()["error"]


# --- message/cs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fixture",
    ["message_cs_request_text", "message_cs_request_buttons", "message_cs_request_user_info"],
)
def test_cs_accepts_and_records_what_zalo_accepts(sandbox_app, sandbox_client, token, fixture):
    body = load_fixture(fixture)
    response = post_cs(sandbox_client, token, body)
    answer = response.get_json()
    assert response.status_code == 200
    assert answer["error"] == 0
    assert answer["message"] == "Success"
    assert re.fullmatch(r"[0-9a-f]{32}", answer["data"]["message_id"])
    assert answer["data"]["user_id"] == USER
    assert set(answer["data"]["quota"]) == {"quota_type", "remain", "total"}
    assert response.headers["X-RateLimit-Limit"] == "4000"
    (record,) = records(sandbox_app)
    assert (record.endpoint, record.zalo_user_id) == ("message/cs", USER)
    assert record.body == body
    assert record.response == answer


@pytest.mark.parametrize(
    "message",
    [
        {
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "media",
                    "elements": [{"media_type": "image", "url": "https://x/a.jpg"}],
                },
            }
        },
        {
            "text": "Ảnh hiện trường",
            "attachment": {
                "type": "template",
                "payload": {
                    "template_type": "media",
                    "elements": [{"media_type": "image", "attachment_id": "abc"}],
                },
            },
        },
        {"attachment": {"type": "file", "payload": {"token": "tok"}}},
    ],
)
def test_cs_accepts_images_and_files(sandbox_client, token, message):
    answer = post_cs(
        sandbox_client, token, {"recipient": {"user_id": USER}, "message": message}
    ).get_json()
    assert answer["error"] == 0


@pytest.mark.parametrize("headers", [{}, {"access_token": "wrong"}, {"Authorization": "Bearer x"}])
def test_cs_refuses_a_bad_access_token_with_http_200(sandbox_app, sandbox_client, headers):
    response = sandbox_client.post(CS, json=text_body("Xin chào"), headers=headers)
    assert response.status_code == 200
    assert response.get_json() == {"error": -216, "message": "Access token is invalid"}
    (record,) = records(sandbox_app)
    assert record.response["error"] == -216


def test_cs_counts_text_length_after_nfc(sandbox_client, token):
    # 2,000 characters once composed, but 4,000 code points as sent (NFD): Zalo counts NFC.
    decomposed = unicodedata.normalize("NFD", "ộ" * 1000 + "a" * 1000)
    assert len(decomposed) > 2000
    assert post_cs(sandbox_client, token, text_body(decomposed)).get_json()["error"] == 0
    answer = post_cs(sandbox_client, token, text_body("a" * 2001)).get_json()
    assert answer["error"] == -210


def _buttons(count: int) -> dict[str, Any]:
    buttons = [
        {"title": f"Nút {i}", "type": "oa.query.hide", "payload": f"#{i}"} for i in range(count)
    ]
    return {
        "attachment": {
            "type": "template",
            "payload": {"template_type": "button", "text": "Chọn", "buttons": buttons},
        }
    }


@pytest.mark.parametrize(
    "body",
    [
        None,
        {"message": {"text": "x"}},
        {"recipient": {}, "message": {"text": "x"}},
        {"recipient": {"user_id": USER}},
        {"recipient": {"user_id": USER}, "message": {}},
        {"recipient": {"user_id": USER}, "message": {"text": "   "}},
        {"recipient": {"user_id": USER}, "message": {"text": 5}},
        {"recipient": {"user_id": USER}, "message": _buttons(0)},
        {"recipient": {"user_id": USER}, "message": _buttons(6)},
        {
            "recipient": {"user_id": USER},
            "message": {"attachment": {"type": "template", "payload": {"template_type": "list"}}},
        },
        {
            "recipient": {"user_id": USER},
            "message": {"attachment": {"type": "file", "payload": {}}},
        },
        {
            "recipient": {"user_id": USER},
            "message": {"attachments": [{"type": "file"}], "text": "x"},
        },
        {"recipient": {"user_id": USER}, "message": {"text": "x", **_buttons(2)}},
        {
            "recipient": {"user_id": USER},
            "message": {
                "attachment": {
                    "type": "template",
                    "payload": {
                        "template_type": "request_user_info",
                        "elements": [{"title": "a"}, {"title": "b"}],
                    },
                }
            },
        },
    ],
)
def test_cs_refuses_invalid_bodies_with_201(sandbox_app, sandbox_client, token, body):
    response = sandbox_client.post(
        CS, data=json.dumps(body), headers={"access_token": token}, content_type="application/json"
    )
    assert response.status_code == 200
    assert response.get_json()["error"] == -201
    (record,) = records(sandbox_app)
    assert record.response["error"] == -201


# --- the 7-day window ----------------------------------------------------------------------

TEMPLATE = "/_sandbox/zalo/v3.0/oa/message/template"
BY_PHONE = "/_sandbox/zalo/business/message/template"


def age(client, days: int, user: str = USER) -> None:
    """Move the citizen's last interaction `days` back through the simulator."""
    assert (
        client.post("/simulator/api/age", json={"user_id": user, "days": days}).status_code == 200
    )


def test_cs_accepts_a_citizen_the_sandbox_never_saw(sandbox_client, token):
    # Sandbox convenience: no recorded interaction counts as interacting now.
    assert sends_with(sandbox_client, token) == 0


def test_cs_is_refused_once_the_last_interaction_is_older_than_7_days(
    sandbox_app, sandbox_client, token
):
    age(sandbox_client, 3)
    age(sandbox_client, 3)
    assert sends_with(sandbox_client, token) == 0
    age(sandbox_client, 3)
    response = post_cs(sandbox_client, token, text_body("Kết quả giải quyết"))
    assert response.status_code == 200
    assert response.get_json() == load_fixture("error_outside_window")
    assert records(sandbox_app, "message/cs")[-1].response["error"] == -230
    # Other citizens keep their own window.
    assert sends_with_to(sandbox_client, token, OTHER_USER) == 0


def test_template_messages_are_not_window_limited(sandbox_app, sandbox_client, token):
    with get_runtime(sandbox_app).sessions() as session, session.begin():
        session.add(Citizen(zalo_user_id=USER, phone="0912345678"))
    age(sandbox_client, 8)
    assert sends_with(sandbox_client, token) == -230
    headers = {"access_token": token}
    by_user = {"user_id": USER, "template_id": "7", "template_data": {"ma": "PAKN.1"}}
    by_phone = {"phone": "84912345678", "template_id": "8", "template_data": {}}
    assert sandbox_client.post(TEMPLATE, json=by_user, headers=headers).get_json()["error"] == 0
    assert sandbox_client.post(BY_PHONE, json=by_phone, headers=headers).get_json()["error"] == 0


def test_user_detail_reports_the_last_interaction_date(sandbox_client, token):
    age(sandbox_client, 8)
    answer = sandbox_client.get(
        "/_sandbox/zalo/v3.0/oa/user/detail",
        query_string={"data": json.dumps({"user_id": USER})},
        headers={"access_token": token},
    ).get_json()
    expected = (datetime.now(UTC) - timedelta(days=8)).strftime("%d/%m/%Y")
    assert answer["data"]["user_last_interaction_date"] == expected


# --- injected failures ---------------------------------------------------------------------


def inject(client, code: int, times: int, user: str | None = USER):
    """Ask the simulator to make the next `times` sends fail with `code`."""
    response = client.post(
        "/simulator/api/fault", json={"code": code, "times": times, "user_id": user}
    )
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("code", [-32, -200, -216, -230, -217, -201])
@pytest.mark.parametrize("times", [1, 3])
def test_an_injected_zalo_error_answers_exactly_n_sends(
    sandbox_app, sandbox_client, token, code, times
):
    inject(sandbox_client, code, times)
    answers = [post_cs(sandbox_client, token, text_body("Xin chào")) for _ in range(times + 1)]
    bodies = [answer.get_json() for answer in answers]
    assert [body["error"] for body in bodies] == [code] * times + [0]
    assert all(answer.status_code == 200 for answer in answers)
    assert set(bodies[0]) == {"error", "message"}
    kept = records(sandbox_app, "message/cs")
    assert [r.response.get("injected", False) for r in kept] == [True] * times + [False]
    remain = answers[0].headers["X-RateLimit-Remain"]
    assert remain == ("0" if code == -32 else "3999")


def test_an_injected_http_500_answers_exactly_n_sends(sandbox_app, sandbox_client, token):
    inject(sandbox_client, 500, 2)
    answers = [post_cs(sandbox_client, token, text_body("Xin chào")) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [500, 500, 200]
    assert answers[0].get_data(as_text=True) == "Internal Server Error"
    assert answers[2].get_json()["error"] == 0
    kept = records(sandbox_app, "message/cs")
    assert kept[0].response == {"http_status": 500, "injected": True}


def test_the_production_client_sees_injected_failures_as_zalo_errors(sandbox_app):
    from bot.zalo.errors import ZaloError, ZaloServerError

    client = get_runtime(sandbox_app).zalo
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        forward_to_app(mock, sandbox_app)
        sandbox_app.test_client().post(
            "/simulator/api/fault", json={"code": 500, "times": 1, "user_id": USER}
        )
        with pytest.raises(ZaloServerError):
            client.send_message(USER, {"text": "Xin chào"})
        sandbox_app.test_client().post(
            "/simulator/api/fault", json={"code": -32, "times": 1, "user_id": USER}
        )
        with pytest.raises(ZaloError) as raised:
            client.send_message(USER, {"text": "Xin chào"})
        assert raised.value.retryable
        assert client.send_message(USER, {"text": "Xin chào"}).message_id


def test_a_citizens_fault_spares_other_citizens(sandbox_client, token):
    inject(sandbox_client, -217, 1)
    assert sends_with_to(sandbox_client, token, OTHER_USER) == 0
    assert sends_with_to(sandbox_client, token, USER) == -217
    assert sends_with_to(sandbox_client, token, USER) == 0


def test_a_fault_for_anyone_meets_the_next_sends_whoever_they_go_to(sandbox_client, token):
    inject(sandbox_client, -200, 2, user=None)
    inject(sandbox_client, -217, 1)
    # The citizen's own fault comes first, then the ones meant for anyone.
    assert sends_with_to(sandbox_client, token, USER) == -217
    assert sends_with_to(sandbox_client, token, OTHER_USER) == -200
    assert sends_with_to(sandbox_client, token, USER) == -200
    assert sends_with_to(sandbox_client, token, USER) == 0


def test_a_new_fault_replaces_the_pending_one_and_clear_drops_them(
    sandbox_app, sandbox_client, token
):
    inject(sandbox_client, -200, 5)
    inject(sandbox_client, -32, 1)
    assert sends_with(sandbox_client, token) == -32
    assert sends_with(sandbox_client, token) == 0
    inject(sandbox_client, -200, 5)
    inject(sandbox_client, -201, 5, user=None)
    response = sandbox_client.post("/simulator/api/fault/clear", json={"user_id": USER})
    assert response.get_json() == {"cleared": True}
    assert sends_with(sandbox_client, token) == 0
    with get_runtime(sandbox_app).sessions() as session:
        assert session.scalars(select(SandboxFault).where(SandboxFault.remaining > 0)).all() == []


def test_a_call_with_a_bad_access_token_uses_up_no_fault(sandbox_client, token):
    inject(sandbox_client, -200, 1)
    assert sends_with(sandbox_client, "stale-token") == -216
    assert sends_with(sandbox_client, token) == -200
    assert sends_with(sandbox_client, token) == 0


def test_faults_leave_template_messages_alone(sandbox_client, token):
    inject(sandbox_client, -200, 1, user=None)
    body = {"user_id": USER, "template_id": "7", "template_data": {}}
    answer = sandbox_client.post(TEMPLATE, json=body, headers={"access_token": token})
    assert answer.get_json()["error"] == 0
    assert sends_with(sandbox_client, token) == -200


# --- template messages ---------------------------------------------------------------------


def test_template_by_user_id_is_recorded(sandbox_app, sandbox_client, token):
    body = {
        "user_id": USER,
        "template_id": "321",
        "template_data": {"ma_ho_so": "PAKN.20260101.0001"},
    }
    answer = sandbox_client.post(
        "/_sandbox/zalo/v3.0/oa/message/template", json=body, headers={"access_token": token}
    ).get_json()
    assert answer["error"] == 0
    assert answer["data"]["message_id"]
    (record,) = records(sandbox_app, "message/template")
    assert record.zalo_user_id == USER
    assert record.body == body


def test_template_by_phone_reaches_the_citizen_with_that_phone(sandbox_app, sandbox_client, token):
    with get_runtime(sandbox_app).sessions() as session, session.begin():
        session.add(Citizen(zalo_user_id=USER, phone="0912345678"))
    body = {"phone": "84912345678", "template_id": "9", "template_data": {}, "tracking_id": "t1"}
    answer = sandbox_client.post(
        "/_sandbox/zalo/business/message/template", json=body, headers={"access_token": token}
    ).get_json()
    assert answer["error"] == 0
    assert answer["data"]["msg_id"]
    (record,) = records(sandbox_app, "business/message/template")
    assert record.zalo_user_id == USER


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/_sandbox/zalo/v3.0/oa/message/template", {"template_id": "1"}),
        ("/_sandbox/zalo/v3.0/oa/message/template", {"user_id": USER}),
        ("/_sandbox/zalo/business/message/template", {"template_id": "1"}),
        ("/_sandbox/zalo/business/message/template", {"phone": "84912345678"}),
    ],
)
def test_template_refuses_missing_fields(sandbox_client, token, path, body):
    assert (
        sandbox_client.post(path, json=body, headers={"access_token": token}).get_json()["error"]
        == -201
    )


def test_template_refuses_a_bad_token(sandbox_client):
    body = {"user_id": USER, "template_id": "1", "template_data": {}}
    answer = sandbox_client.post("/_sandbox/zalo/v3.0/oa/message/template", json=body).get_json()
    assert answer["error"] == -216


# --- uploads and media ---------------------------------------------------------------------


def multipart(data: bytes, name: str) -> tuple[bytes, str]:
    """Encode one `file` field in memory (the test client spools big bodies to a file it leaks)."""
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), name)})
    return body, f"multipart/form-data; boundary={boundary}"


def upload(client, token: str, kind: str, data: bytes, name: str):
    """Upload `data` as `name` to the sandbox's image or file endpoint."""
    body, content_type = multipart(data, name)
    return client.post(
        f"/_sandbox/zalo/v2.0/oa/upload/{kind}",
        data=body,
        headers={"access_token": token},
        content_type=content_type,
    )


def media_row(app, token: str) -> SandboxMedia:
    """The SandboxMedia row of an upload token."""
    with get_runtime(app).sessions() as session:
        return session.scalars(select(SandboxMedia).where(SandboxMedia.token == token)).one()


def test_image_upload_is_stored_and_served_inline(sandbox_app, sandbox_client, token, tmp_path):
    png = tiny_png()
    answer = upload(sandbox_client, token, "image", png, "ảnh.png").get_json()
    assert answer["error"] == 0
    attachment_id = answer["data"]["attachment_id"]
    media = media_row(sandbox_app, attachment_id)
    assert (media.content_type, media.size) == ("image/png", len(png))
    assert (tmp_path / "storage" / "sandbox" / media.storage_path).read_bytes() == png
    served = sandbox_client.get(f"/_sandbox/zalo/media/{attachment_id}/{media.file_name}")
    assert served.status_code == 200
    assert served.get_data() == png
    assert served.headers["Content-Type"] == "image/png"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"].startswith("inline")
    served.close()
    (record,) = records(sandbox_app, "upload/image")
    assert record.body["size"] == len(png)


def test_image_upload_names_the_file_by_its_bytes(sandbox_app, sandbox_client, token):
    # A JPEG called .png is stored as .jpg: the content type never follows a claimed name.
    answer = upload(
        sandbox_client, token, "image", b"\xff\xd8\xff\xe0" + b"0" * 100, "x.png"
    ).get_json()
    media = media_row(sandbox_app, answer["data"]["attachment_id"])
    assert media.file_name.endswith(".jpg")
    assert media.content_type == "image/jpeg"


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"GIF89a....", "a.gif", -201),
        (b"<svg onload=alert(1)>", "a.png", -201),
        (b"\x89PNG\r\n\x1a\n" + b"0" * (1024 * 1024), "big.png", -210),
    ],
)
def test_image_upload_refuses_other_types_and_big_files(
    sandbox_app, sandbox_client, token, data, name, code
):
    assert upload(sandbox_client, token, "image", data, name).get_json()["error"] == code
    with get_runtime(sandbox_app).sessions() as session:
        assert session.scalars(select(SandboxMedia)).all() == []


def test_upload_refuses_a_bad_token_and_a_missing_file(sandbox_client, token):
    assert upload(sandbox_client, "nope", "image", tiny_png(), "a.png").get_json()["error"] == -216
    answer = sandbox_client.post(
        "/_sandbox/zalo/v2.0/oa/upload/file", data={}, headers={"access_token": token}
    ).get_json()
    assert answer["error"] == -201


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("don de nghi.pdf", "application/pdf"),
        ("bang.csv", "application/octet-stream"),
        ("to-trinh.docx", "application/octet-stream"),
    ],
)
def test_file_upload_is_served_as_an_attachment(
    sandbox_app, sandbox_client, token, name, content_type
):
    answer = upload(sandbox_client, token, "file", b"%PDF-1.4 data", name).get_json()
    assert answer["error"] == 0
    media = media_row(sandbox_app, answer["data"]["token"])
    served = sandbox_client.get(f"/_sandbox/zalo/media/{media.token}/{media.file_name}")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == content_type
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"].startswith("attachment")
    served.close()


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (b"MZ...", "virus.exe", -201),
        (b"<html>", "a.html", -201),
        (b"x" * (5 * 1024 * 1024 + 1), "a.pdf", -210),
    ],
)
def test_file_upload_refuses_other_types_and_big_files(sandbox_client, token, data, name, code):
    assert upload(sandbox_client, token, "file", data, name).get_json()["error"] == code


def test_media_is_404_for_unknown_tokens_and_wrong_names(sandbox_app, sandbox_client, token):
    answer = upload(sandbox_client, token, "image", tiny_png(), "a.png").get_json()
    attachment_id = answer["data"]["attachment_id"]
    assert sandbox_client.get(f"/_sandbox/zalo/media/{attachment_id}/other.png").status_code == 404
    assert sandbox_client.get("/_sandbox/zalo/media/unknown/a.png").status_code == 404


# --- user detail ---------------------------------------------------------------------------


def test_user_detail_answers_the_profile_shape(sandbox_app, sandbox_client, token):
    info = {
        "name": "Nguyễn Văn An",
        "phone": "0912345678",
        "address": "12 Hàng Bạc",
        "ward": "",
        "district": "",
        "city": "Hà Nội",
    }
    with get_runtime(sandbox_app).sessions() as session, session.begin():
        session.add(
            InboundEvent(
                dedup_key="k1",
                event_name="user_submit_info",
                zalo_user_id=USER,
                body=json.dumps({"info": info}),
            )
        )
    response = sandbox_client.get(
        "/_sandbox/zalo/v3.0/oa/user/detail",
        query_string={"data": json.dumps({"user_id": USER})},
        headers={"access_token": token},
    )
    answer = response.get_json()
    assert answer["error"] == 0
    data = answer["data"]
    assert data["user_id"] == USER
    assert data["display_name"] == "Người dân thử nghiệm 9220"
    assert data["user_is_follower"] is True
    assert re.fullmatch(r"\d{19}", data["user_id_by_app"])
    assert data["shared_info"] == info
    (record,) = records(sandbox_app, "user/detail")
    assert record.zalo_user_id == USER


@pytest.mark.parametrize("query", [{}, {"data": "not json"}, {"data": json.dumps({"x": 1})}])
def test_user_detail_refuses_a_missing_user_id(sandbox_client, token, query):
    answer = sandbox_client.get(
        "/_sandbox/zalo/v3.0/oa/user/detail", query_string=query, headers={"access_token": token}
    ).get_json()
    assert answer["error"] == -201


def test_user_detail_refuses_a_bad_token(sandbox_client):
    answer = sandbox_client.get(
        "/_sandbox/zalo/v3.0/oa/user/detail", query_string={"data": json.dumps({"user_id": USER})}
    ).get_json()
    assert answer["error"] == -216


# --- OAuth ---------------------------------------------------------------------------------

OAUTH = "/_sandbox/zalo/oauth/v4/oa/access_token"


def refresh(client, app, refresh_token: str, secret: str | None = None, **form: str):
    """Post a refresh grant to the sandbox's OAuth endpoint."""
    data = {
        "app_id": app.config["ZALO_APP_ID"],
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        **form,
    }
    return client.post(
        OAUTH, data=data, headers={"secret_key": secret or app.config["ZALO_APP_SECRET"]}
    ).get_json()


def test_refresh_answers_a_new_pair_that_the_api_accepts(sandbox_app, sandbox_client, token):
    answer = refresh(sandbox_client, sandbox_app, sandbox_app.config["ZALO_REFRESH_TOKEN"])
    assert set(answer) == {"access_token", "refresh_token", "expires_in"}
    assert answer["expires_in"] == "90000"
    assert sends_with(sandbox_client, answer["access_token"]) == 0
    again = refresh(sandbox_client, sandbox_app, answer["refresh_token"])
    assert again["access_token"] != answer["access_token"]
    assert sends_with(sandbox_client, again["access_token"]) == 0
    (record, *_rest) = records(sandbox_app, "oauth/access_token")
    assert "secret_key" not in json.dumps(record.body)


def test_a_refresh_token_is_single_use_and_kills_the_old_access_token(
    sandbox_app, sandbox_client, token
):
    first_refresh = sandbox_app.config["ZALO_REFRESH_TOKEN"]
    assert sends_with(sandbox_client, token) == 0
    pair = refresh(sandbox_client, sandbox_app, first_refresh)
    # The old access token dies at once, before its 25 hours are up.
    assert sends_with(sandbox_client, token) == -216
    assert sends_with(sandbox_client, pair["access_token"]) == 0
    # A used refresh token is refused in Zalo's OAuth shape, and the live pair stays live.
    assert refresh(sandbox_client, sandbox_app, first_refresh) == load_fixture(
        "oauth_refresh_error"
    )
    assert sends_with(sandbox_client, pair["access_token"]) == 0
    newer = refresh(sandbox_client, sandbox_app, pair["refresh_token"])
    assert sends_with(sandbox_client, pair["access_token"]) == -216
    assert refresh(sandbox_client, sandbox_app, pair["refresh_token"])["error"] == -14020
    assert sends_with(sandbox_client, newer["access_token"]) == 0


def test_every_api_refuses_a_replaced_access_token(sandbox_app, sandbox_client, token):
    refresh(sandbox_client, sandbox_app, sandbox_app.config["ZALO_REFRESH_TOKEN"])
    headers = {"access_token": token}
    template = {"user_id": USER, "template_id": "1", "template_data": {}}
    answers = [
        sandbox_client.post(
            "/_sandbox/zalo/v3.0/oa/message/template", json=template, headers=headers
        ).get_json(),
        upload(sandbox_client, token, "image", tiny_png(), "a.png").get_json(),
        sandbox_client.get(
            "/_sandbox/zalo/v3.0/oa/user/detail",
            query_string={"data": json.dumps({"user_id": USER})},
            headers=headers,
        ).get_json(),
    ]
    assert [answer["error"] for answer in answers] == [-216, -216, -216]


def test_revoked_grant_refuses_both_tokens_until_a_new_consent(sandbox_app, sandbox_client, token):
    pair = refresh(sandbox_client, sandbox_app, sandbox_app.config["ZALO_REFRESH_TOKEN"])
    assert sandbox_client.post("/simulator/api/revoke-token", json={}).get_json() == {
        "revoked": True
    }
    assert sends_with(sandbox_client, pair["access_token"]) == -216
    assert refresh(sandbox_client, sandbox_app, pair["refresh_token"]) == load_fixture(
        "oauth_refresh_error"
    )
    consent = exchange(sandbox_client, sandbox_app, code="code-after-revoke")
    assert sends_with(sandbox_client, consent["access_token"]) == 0
    assert "access_token" in refresh(sandbox_client, sandbox_app, consent["refresh_token"])


def test_revoke_before_any_refresh_kills_the_configured_pair(sandbox_app, sandbox_client, token):
    sandbox_client.post("/simulator/api/revoke-token", json={})
    assert sends_with(sandbox_client, token) == -216
    answer = refresh(sandbox_client, sandbox_app, sandbox_app.config["ZALO_REFRESH_TOKEN"])
    assert answer["error"] == -14020


def exchange(client, app, **form: str):
    """Post an authorization_code grant (PKCE) to the sandbox's OAuth endpoint."""
    data = {
        "app_id": app.config["ZALO_APP_ID"],
        "grant_type": "authorization_code",
        "code": "consent-code",
        "code_verifier": "verifier-43-characters-long-aaaaaaaaaaaaaaaa",
        **form,
    }
    return client.post(
        OAUTH, data=data, headers={"secret_key": app.config["ZALO_APP_SECRET"]}
    ).get_json()


def test_authorization_code_issues_a_pair_that_replaces_the_live_one(
    sandbox_app, sandbox_client, token
):
    answer = exchange(sandbox_client, sandbox_app, code="any-code-the-admin-brought")
    assert set(answer) == {"access_token", "refresh_token", "expires_in"}
    assert sends_with(sandbox_client, answer["access_token"]) == 0
    # A new consent replaces the grant: the configured pair is dead.
    assert sends_with(sandbox_client, token) == -216
    assert (
        refresh(sandbox_client, sandbox_app, sandbox_app.config["ZALO_REFRESH_TOKEN"])["error"]
        == -14020
    )
    with get_runtime(sandbox_app).sessions() as session:
        rows = session.scalars(select(SandboxToken).order_by(SandboxToken.generation)).all()
    assert [(r.generation, r.grant, r.active, r.code) for r in rows] == [
        (0, "config", False, None),
        (1, "authorization_code", True, "any-code-the-admin-brought"),
    ]
    assert rows[0].retired_reason == "replaced"


def test_consent_page_returns_a_code_the_token_endpoint_accepts(sandbox_app, sandbox_client):
    config = sandbox_app.config
    query = {
        "app_id": config["ZALO_APP_ID"],
        "redirect_uri": "http://localhost/admin/zalo/callback",
        "code_challenge": "challenge",
        "state": "s-123",
    }
    response = sandbox_client.get("/_sandbox/zalo/oauth/v4/oa/permission", query_string=query)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/admin/zalo/callback"
    params = dict(pair.split("=", 1) for pair in location.query.split("&"))
    assert (params["state"], params["oa_id"]) == ("s-123", config["ZALO_OA_ID"])
    pair = exchange(sandbox_client, sandbox_app, code=params["code"])
    assert sends_with(sandbox_client, pair["access_token"]) == 0


@pytest.mark.parametrize(
    "query",
    [
        {"redirect_uri": "https://evil.example/cb"},
        {"redirect_uri": "http://localhost.evil.example/cb"},
        {"redirect_uri": "http://localhost/cb", "app_id": "other"},
    ],
)
def test_consent_page_only_redirects_into_this_app(sandbox_app, sandbox_client, query):
    query = {"app_id": sandbox_app.config["ZALO_APP_ID"], **query}
    response = sandbox_client.get("/_sandbox/zalo/oauth/v4/oa/permission", query_string=query)
    assert response.status_code == 400


@pytest.mark.parametrize("form", [{"code": ""}, {"code": "  "}, {"code_verifier": ""}])
def test_authorization_code_needs_a_code_and_a_verifier(sandbox_app, sandbox_client, token, form):
    answer = exchange(sandbox_client, sandbox_app, **form)
    assert answer["error"] == -14019
    assert {"error_name", "error_description"} <= set(answer)
    assert sends_with(sandbox_client, token) == 0


@pytest.mark.parametrize(
    ("refresh_token", "secret", "form", "code"),
    [
        ("unknown", None, {}, -14020),
        ("", None, {}, -14020),
        (None, "wrong-secret", {}, -14014),
        (None, None, {"app_id": "other"}, -14001),
        (None, None, {"grant_type": "password"}, -14003),
    ],
)
def test_refresh_errors_have_zalo_oauth_shape(
    sandbox_app, sandbox_client, refresh_token, secret, form, code
):
    token = sandbox_app.config["ZALO_REFRESH_TOKEN"] if refresh_token is None else refresh_token
    answer = refresh(sandbox_client, sandbox_app, token, secret, **form)
    assert answer["error"] == code
    assert {"error_name", "error_description"} <= set(answer)
    assert "access_token" not in answer


# --- the production client against the stand-in --------------------------------------------


def test_the_real_client_works_against_the_sandbox(sandbox_app):
    client = get_runtime(sandbox_app).zalo
    with responses.RequestsMock() as mock:
        forward_to_app(mock, sandbox_app)
        sent = client.send_message(USER, load_fixture("message_cs_request_buttons")["message"])
        assert sent.message_id
        assert sent.rate_limit_limit == 4000
        attachment_id = client.upload_image(tiny_png(), "a.png", "image/png")
        file_token = client.upload_file(b"%PDF-1.4", "don.pdf", "application/pdf")
        assert client.send_message(
            USER, {"attachment": {"type": "file", "payload": {"token": file_token}}}
        )
        profile = client.get_user_detail(USER)
        template = client.send_template(USER, "1", {"a": "b"})
        by_phone = client.send_template_by_phone("84912345678", "1", {}, "track")
        # Last: the refresh kills the access token this client was built with.
        pair = client.refresh_access_token(sandbox_app.config["ZALO_REFRESH_TOKEN"])
    assert attachment_id
    assert profile["display_name"].startswith("Người dân thử nghiệm")
    assert pair.expires_in == 90000
    assert template.message_id
    assert by_phone.message_id
    assert [r.endpoint for r in records(sandbox_app)] == [
        "message/cs",
        "upload/image",
        "upload/file",
        "message/cs",
        "user/detail",
        "message/template",
        "business/message/template",
        "oauth/access_token",
    ]


def test_sandbox_is_absent_with_a_real_oa(make_app):
    app = make_app()
    client = app.test_client()
    assert client.post(CS, json=text_body("x"), headers={"access_token": "x"}).status_code == 404
    assert client.get("/simulator").status_code == 404
