"""Tests for the Zalo HTTP client, with Zalo mocked at the HTTP layer by `responses`."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers

from bot.zalo import messages
from bot.zalo.client import MAX_FILE_BYTES, MAX_IMAGE_BYTES, SendResult, TokenPair, ZaloClient
from bot.zalo.errors import (
    AttachmentExpiredError,
    InvalidParameterError,
    NightTimeError,
    NotFollowerError,
    OAuthError,
    OutOfQuotaError,
    OutsideWindowError,
    RateLimitedError,
    SendFailedError,
    TokenError,
    UserUnreachableError,
    ZaloApiError,
    ZaloError,
    ZaloServerError,
    ZaloTransportError,
    error_for_code,
)

FIXTURES = Path(__file__).parent / "fixtures" / "zalo"
API = "https://openapi.zalo.me"
OAUTH = "https://oauth.zaloapp.com"
BUSINESS = "https://business.openapi.zalo.me"
APP_ID = "3608465249409039670"
APP_SECRET = "app-secret-value"
ACCESS_TOKEN = "access-token-value"
USER_ID = "2468458835291979220"

SEND_URL = f"{API}/v3.0/oa/message/cs"
TOKEN_URL = f"{OAUTH}/v4/oa/access_token"


def load(name: str) -> Any:
    """Load a JSON fixture."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture
def zalo_http() -> Iterator[responses.RequestsMock]:
    """Mock Zalo's HTTP endpoints; every registered response must be called."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def client() -> ZaloClient:
    """A client with fixed credentials."""
    return make_client(lambda: ACCESS_TOKEN)


def make_client(access_token: Any) -> ZaloClient:
    """Build a client pointing at Zalo's real base URLs (mocked in tests)."""
    return ZaloClient(
        api_base=API,
        oauth_base=OAUTH,
        business_base=BUSINESS,
        app_id=APP_ID,
        app_secret=APP_SECRET,
        access_token=access_token,
    )


def token_header(token: str = ACCESS_TOKEN) -> Any:
    """Match the access_token header Zalo expects."""
    return matchers.header_matcher({"access_token": token})


def test_send_message_text(zalo_http, client):
    expected = load("message_cs_request_text")
    zalo_http.post(
        SEND_URL,
        json=load("message_cs_success"),
        headers={"X-RateLimit-Remain": "3999", "X-RateLimit-Limit": "4000"},
        match=[matchers.json_params_matcher(expected), token_header()],
    )

    result = client.send_message(USER_ID, messages.text(expected["message"]["text"]))

    assert result == SendResult(
        message_id="5f3c0d2e8e1a4b7c9d0e",
        user_id=USER_ID,
        quota={"quota_type": "reply", "remain": "7", "total": "8"},
        rate_limit_remaining=3999,
        rate_limit_limit=4000,
    )
    sent = zalo_http.calls[0].request
    assert "Authorization" not in sent.headers
    assert sent.req_kwargs["timeout"] == (10, 10)


@pytest.mark.parametrize("name", ["message_cs_request_buttons", "message_cs_request_user_info"])
def test_send_message_attachments(zalo_http, client, name):
    expected = load(name)
    zalo_http.post(
        SEND_URL,
        json=load("message_cs_success"),
        match=[matchers.json_params_matcher(expected), token_header()],
    )

    result = client.send_message(USER_ID, expected["message"])

    assert result.message_id == "5f3c0d2e8e1a4b7c9d0e"
    assert (result.rate_limit_remaining, result.rate_limit_limit) == (None, None)


def test_send_success_without_message_id_is_not_an_error(zalo_http, client):
    zalo_http.post(SEND_URL, json={"error": 0, "message": "Success", "data": {}})

    result = client.send_message(USER_ID, messages.text("hi"))

    assert result == SendResult("", None, None, None, None)


def test_send_template(zalo_http, client):
    template_data = {"case_code": "PA-2026-0001", "status": "Đã trả lời"}
    zalo_http.post(
        f"{API}/v3.0/oa/message/template",
        json=load("message_cs_success"),
        match=[
            matchers.json_params_matcher(
                {"user_id": USER_ID, "template_id": "42", "template_data": template_data}
            ),
            token_header(),
        ],
    )

    result = client.send_template(USER_ID, "42", template_data)

    assert result.message_id == "5f3c0d2e8e1a4b7c9d0e"


def test_send_template_by_phone(zalo_http, client):
    template_data = {"case_code": "PA-2026-0001"}
    zalo_http.post(
        f"{BUSINESS}/message/template",
        json={
            "error": 0,
            "message": "Success",
            "data": {"msg_id": "zns-1", "sent_time": "1764215499000", "quota": {"remain": "9"}},
        },
        match=[
            matchers.json_params_matcher(
                {
                    "phone": "84912345678",
                    "template_id": "42",
                    "template_data": template_data,
                    "tracking_id": "case-1",
                }
            ),
            token_header(),
        ],
    )

    result = client.send_template_by_phone("84912345678", "42", template_data, "case-1")

    assert (result.message_id, result.user_id, result.quota) == ("zns-1", None, {"remain": "9"})


def test_upload_image(zalo_http, client):
    content = b"\x89PNG fake image"
    zalo_http.post(
        f"{API}/v2.0/oa/upload/image",
        json={"error": 0, "message": "Success", "data": {"attachment_id": "att-1"}},
        match=[
            matchers.multipart_matcher({"file": ("photo.png", content, "image/png")}),
            token_header(),
        ],
    )

    assert client.upload_image(content, "photo.png", "image/png") == "att-1"


def test_upload_file(zalo_http, client):
    content = b"%PDF-1.4 fake"
    zalo_http.post(
        f"{API}/v2.0/oa/upload/file",
        json={"error": 0, "message": "Success", "data": {"token": "file-token-1"}},
        match=[
            matchers.multipart_matcher({"file": ("tra-loi.pdf", content, "application/pdf")}),
            token_header(),
        ],
    )

    assert client.upload_file(content, "tra-loi.pdf", "application/pdf") == "file-token-1"


def test_upload_answer_without_id_raises(zalo_http, client):
    zalo_http.post(f"{API}/v2.0/oa/upload/image", json={"error": 0, "data": {}})

    with pytest.raises(ZaloTransportError, match="attachment_id"):
        client.upload_image(b"x", "a.jpg", "image/jpeg")


@pytest.mark.parametrize(
    ("method", "size"),
    [
        ("upload_image", MAX_IMAGE_BYTES + 1),
        ("upload_file", MAX_FILE_BYTES + 1),
        ("upload_image", 0),
        ("upload_file", 0),
    ],
)
def test_upload_rejects_bad_size_before_sending(zalo_http, client, method, size):
    with pytest.raises(ValueError, match="image|file"):
        getattr(client, method)(b"x" * size, "a.bin", "application/octet-stream")

    assert len(zalo_http.calls) == 0


def test_upload_accepts_content_at_the_limit(zalo_http, client):
    zalo_http.post(
        f"{API}/v2.0/oa/upload/image", json={"error": 0, "data": {"attachment_id": "att-2"}}
    )

    assert client.upload_image(b"x" * MAX_IMAGE_BYTES, "a.jpg", "image/jpeg") == "att-2"


def test_get_user_detail(zalo_http, client):
    zalo_http.get(
        f"{API}/v3.0/oa/user/detail",
        json=load("user_detail_success"),
        match=[
            matchers.query_param_matcher({"data": f'{{"user_id":"{USER_ID}"}}'}),
            token_header(),
        ],
    )

    detail = client.get_user_detail(USER_ID)

    assert detail["display_name"] == "Nguyễn Văn An"
    assert detail["user_is_follower"] is True


def test_refresh_access_token(zalo_http, client):
    form = dict(load("oauth_refresh_request_form"), refresh_token="old-refresh")
    zalo_http.post(
        TOKEN_URL,
        json=load("oauth_refresh_success"),
        match=[
            matchers.urlencoded_params_matcher(form),
            matchers.header_matcher({"secret_key": APP_SECRET}),
        ],
    )

    pair = client.refresh_access_token("old-refresh")

    assert pair == TokenPair("<new access token>", "<new refresh token>", 90000)
    assert "access_token" not in zalo_http.calls[0].request.headers


def test_exchange_code(zalo_http, client):
    zalo_http.post(
        TOKEN_URL,
        json=load("oauth_refresh_success"),
        match=[
            matchers.urlencoded_params_matcher(
                {
                    "app_id": APP_ID,
                    "grant_type": "authorization_code",
                    "code": "consent-code",
                    "code_verifier": "verifier-123",
                }
            ),
            matchers.header_matcher({"secret_key": APP_SECRET}),
        ],
    )

    pair = client.exchange_code("consent-code", "verifier-123")

    assert pair.expires_in == 90000


def test_token_endpoint_error_raises_oauth_error(zalo_http, client):
    zalo_http.post(TOKEN_URL, json=load("oauth_refresh_error"))

    with pytest.raises(OAuthError) as caught:
        client.refresh_access_token("used-refresh")

    assert caught.value.code == -14020
    assert caught.value.error_name == "Invalid refresh token"
    assert caught.value.description == "Refresh token is invalid"
    assert caught.value.retryable is False
    assert "used-refresh" not in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        {"access_token": "a", "refresh_token": "r", "expires_in": "soon"},
        {"access_token": "a", "expires_in": "90000"},
        {"refresh_token": "r", "expires_in": "90000"},
    ],
)
def test_incomplete_token_answer_raises_oauth_error(zalo_http, client, body):
    zalo_http.post(TOKEN_URL, json=body)

    with pytest.raises(OAuthError):
        client.refresh_access_token("r0")


def test_token_pair_repr_hides_tokens():
    pair = TokenPair("secret-access", "secret-refresh", 90000)

    for text in (repr(pair), str(pair), f"{pair}"):
        assert "secret-access" not in text
        assert "secret-refresh" not in text
        assert "90000" in text


def test_authorization_url():
    client = make_client(lambda: ACCESS_TOKEN)

    url = client.authorization_url("https://bot.example.gov.vn/zalo/callback?x=1", "chal", "st")

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{OAUTH}/v4/oa/permission"
    assert parse_qs(parts.query) == {
        "app_id": [APP_ID],
        "redirect_uri": ["https://bot.example.gov.vn/zalo/callback?x=1"],
        "code_challenge": ["chal"],
        "state": ["st"],
    }


def test_access_token_is_read_on_every_request(zalo_http):
    tokens = iter(["token-1", "token-2"])
    client = make_client(lambda: next(tokens))
    for token in ("token-1", "token-2"):
        zalo_http.post(SEND_URL, json=load("message_cs_success"), match=[token_header(token)])

    client.send_message(USER_ID, messages.text("một"))
    client.send_message(USER_ID, messages.text("hai"))

    assert [call.request.headers["access_token"] for call in zalo_http.calls] == [
        "token-1",
        "token-2",
    ]


def test_credentials_never_logged(zalo_http, client, caplog):
    caplog.set_level(logging.DEBUG)
    zalo_http.post(SEND_URL, json=load("error_token_invalid"))
    zalo_http.post(TOKEN_URL, json=load("oauth_refresh_error"))

    with pytest.raises(TokenError):
        client.send_message(USER_ID, messages.text("hi"))
    with pytest.raises(OAuthError):
        client.refresh_access_token("refresh-value")

    assert ACCESS_TOKEN not in caplog.text
    assert APP_SECRET not in caplog.text
    assert "refresh-value" not in caplog.text


ERROR_TABLE: list[tuple[int, type[ZaloApiError], bool]] = [
    (-32, RateLimitedError, True),
    (-100, AttachmentExpiredError, False),
    (-200, SendFailedError, True),
    (-201, InvalidParameterError, False),
    (-210, InvalidParameterError, False),
    (-211, OutOfQuotaError, False),
    (-213, NotFollowerError, False),
    (-216, TokenError, False),
    (-220, TokenError, False),
    (-217, UserUnreachableError, False),
    (-227, UserUnreachableError, False),
    (-244, UserUnreachableError, False),
    (-230, OutsideWindowError, False),
    (-232, OutsideWindowError, False),
    (-234, NightTimeError, True),
    (-999, ZaloApiError, False),
]


@pytest.mark.parametrize(("code", "error_class", "retryable"), ERROR_TABLE)
def test_error_body_maps_to_class(zalo_http, client, code, error_class, retryable):
    zalo_http.post(SEND_URL, json={"error": code, "message": f"error {code}"})

    with pytest.raises(ZaloApiError) as caught:
        client.send_message(USER_ID, messages.text("hi"))

    assert type(caught.value) is error_class
    assert caught.value.code == code
    assert caught.value.message == f"error {code}"
    assert caught.value.retryable is retryable


@pytest.mark.parametrize(("code", "error_class", "retryable"), ERROR_TABLE)
def test_error_for_code(code, error_class, retryable):
    error = error_for_code(code, "m")

    assert type(error) is error_class
    assert (error.code, error.message, error.retryable) == (code, "m", retryable)


@pytest.mark.parametrize(
    ("name", "error_class"),
    [
        ("error_outside_window", OutsideWindowError),
        ("error_param_invalid", InvalidParameterError),
        ("error_rate_limited", RateLimitedError),
        ("error_token_expired", TokenError),
        ("error_token_invalid", TokenError),
    ],
)
def test_error_fixtures(zalo_http, client, name, error_class):
    body = load(name)
    zalo_http.post(SEND_URL, json=body)

    with pytest.raises(error_class) as caught:
        client.send_message(USER_ID, messages.text("hi"))

    assert caught.value.message == body["message"]


def test_error_code_as_string_is_mapped(zalo_http, client):
    zalo_http.post(SEND_URL, json={"error": "-216", "message": "Access token is invalid"})

    with pytest.raises(TokenError):
        client.send_message(USER_ID, messages.text("hi"))


def test_error_body_on_http_4xx_is_mapped(zalo_http, client):
    zalo_http.post(SEND_URL, status=400, json={"error": -201, "message": "bad"})

    with pytest.raises(InvalidParameterError):
        client.send_message(USER_ID, messages.text("hi"))


@pytest.mark.parametrize(("status", "retryable"), [(404, False), (429, True)])
def test_http_4xx_without_error_body(zalo_http, client, status, retryable):
    zalo_http.post(SEND_URL, status=status, json={"message": "nope"})

    with pytest.raises(ZaloError) as caught:
        client.send_message(USER_ID, messages.text("hi"))

    assert type(caught.value) is ZaloError
    assert caught.value.retryable is retryable


@pytest.mark.parametrize("status", [500, 502, 503])
def test_http_5xx_raises_server_error(zalo_http, client, status):
    zalo_http.post(SEND_URL, status=status, body="<html>Bad gateway</html>")

    with pytest.raises(ZaloServerError) as caught:
        client.send_message(USER_ID, messages.text("hi"))

    assert (caught.value.status, caught.value.code, caught.value.retryable) == (status, None, True)


@pytest.mark.parametrize(
    "exception",
    [
        requests.ConnectionError("connection refused"),
        requests.ConnectTimeout("connect timeout"),
        requests.ReadTimeout("read timeout"),
    ],
)
def test_network_failure_raises_transport_error(zalo_http, client, exception):
    zalo_http.post(SEND_URL, body=exception)

    with pytest.raises(ZaloTransportError) as caught:
        client.send_message(USER_ID, messages.text("hi"))

    assert caught.value.retryable is True
    assert caught.value.code is None
    assert caught.value.__cause__ is exception


@pytest.mark.parametrize("body", ["not json", "", "[1, 2]"])
def test_non_json_or_non_object_body_raises_transport_error(zalo_http, client, body):
    zalo_http.post(SEND_URL, body=body, content_type="text/plain")

    with pytest.raises(ZaloTransportError):
        client.send_message(USER_ID, messages.text("hi"))


def test_timeout_is_configurable(zalo_http):
    client = ZaloClient(
        api_base=API + "/",
        oauth_base=OAUTH,
        business_base=BUSINESS,
        app_id=APP_ID,
        app_secret=APP_SECRET,
        access_token=lambda: ACCESS_TOKEN,
        timeout=2.5,
        session=requests.Session(),
    )
    zalo_http.post(SEND_URL, json=load("message_cs_success"))

    client.send_message(USER_ID, messages.text("hi"))

    assert zalo_http.calls[0].request.req_kwargs["timeout"] == (2.5, 2.5)


def test_proxy_settings_come_from_the_environment_read_at_start(zalo_http, monkeypatch):
    """The environment's proxy is used for Zalo's hosts, NO_PROXY honoured; read once, at start."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.agency.example:3128")
    monkeypatch.setenv("NO_PROXY", "oauth.zaloapp.com")
    client = make_client(lambda: ACCESS_TOKEN)
    monkeypatch.setenv("HTTPS_PROXY", "http://changed.example:1")  # not read per request
    zalo_http.post(SEND_URL, json=load("message_cs_success"))
    zalo_http.post(TOKEN_URL, json=load("oauth_refresh_success"))
    client.send_message(USER_ID, messages.text("Xin chào"))
    client.refresh_access_token("refresh-token-value")
    send, refresh = (call.request.req_kwargs for call in zalo_http.calls)
    assert send["proxies"].get("https") == "http://proxy.agency.example:3128"
    assert "https" not in refresh["proxies"]  # oauth.zaloapp.com is in NO_PROXY
