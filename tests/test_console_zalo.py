"""The console and the OA token pair: the banner on every page, /admin/zalo, pasting a pair and
Zalo's consent flow (OAuth with PKCE) with the token endpoint mocked at the HTTP layer."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses
from responses import matchers
from sqlalchemy import event, update

from bot.zalo.client import TokenPair
from handlers.runtime import get_runtime
from models import TokenStatus, ZaloToken
from tests import console_helpers
from tests.conftest import APP_ID
from tests.console_helpers import csrf_from, login, logout, page

clock = console_helpers.clock
demo = console_helpers.demo
make_case = console_helpers.make_case

TOKEN_URL = "https://oauth.zaloapp.com/v4/oa/access_token"
CALLBACK = "http://localhost/admin/zalo/callback"
EXPIRED_BANNER = "Kết nối Zalo OA đã hết hiệu lực"
MISSING_BANNER = "Chưa kết nối Zalo OA"
BANNER_LINK = re.compile(r'class="token-banner[^"]*"[^>]*>.*?href="/admin/zalo"', re.S)


def set_token_status(app, session, status: TokenStatus) -> None:
    """Give the stored pair `status` (creating the row from the configured pair first)."""
    get_runtime(app).tokens.info()
    session.execute(update(ZaloToken).values(status=status, last_error="-14008: Invalid token"))


def s256(verifier: str) -> str:
    return (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )


def start_consent(client) -> tuple[dict[str, list[str]], dict]:
    """Press "Kết nối OA qua Zalo"; return the consent URL's query and the pending consent."""
    response = client.post(
        "/admin/zalo/connect", data={"csrf_token": csrf_from(client, "/admin/zalo")}
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        "https://oauth.zaloapp.com/v4/oa/permission"
    )
    with client.session_transaction() as flask_session:
        pending = dict(flask_session["zalo_consent"])
    return parse_qs(location.query), pending


# The banner


@pytest.mark.parametrize(
    ("role", "paths"), [("coordinator", ["/admin/", "case"]), ("admin", ["/admin/", "/admin/zalo"])]
)
def test_no_banner_while_the_pair_is_usable(client, make_case, role, paths):
    code = make_case()
    login(client, role)

    for path in paths:
        html = page(client, f"/admin/cases/{code}" if path == "case" else path)
        assert EXPIRED_BANNER not in html and MISSING_BANNER not in html


def test_refresh_failed_banner_on_every_page(app, client, session, make_case):
    code = make_case()
    set_token_status(app, session, TokenStatus.REFRESH_FAILED)
    login(client, "coordinator")

    for path in ("/admin/", f"/admin/cases/{code}", "/admin/cases/PAKN.0", "/admin/zalo"):
        html = client.get(path).get_data(as_text=True)
        assert (
            "Kết nối Zalo OA đã hết hiệu lực:</strong> tin nhắn tới người dân đang được giữ lại, "
            "chưa gửi. Quản trị viên cần kết nối lại OA." in html
        )


def test_refresh_failed_banner_links_admins_to_the_zalo_page(app, client, session, demo):
    set_token_status(app, session, TokenStatus.REFRESH_FAILED)
    login(client, "admin")

    for path in ("/admin/", "/admin/zalo"):
        html = page(client, path)
        assert EXPIRED_BANNER in html
        assert BANNER_LINK.search(html)


def test_banner_for_other_staff_has_no_admin_link(app, client, session, make_case):
    set_token_status(app, session, TokenStatus.REFRESH_FAILED)
    login(client, "coordinator")

    html = page(client, "/admin/")

    assert EXPIRED_BANNER in html
    assert not BANNER_LINK.search(html)
    assert 'href="/admin/zalo"' not in html


def test_missing_banner_when_never_connected(make_app, demo):
    app = make_app(ZALO_ACCESS_TOKEN=None, ZALO_REFRESH_TOKEN=None)
    client = app.test_client()
    login(client, "admin")

    before_seed = page(client, "/admin/")  # no token row yet
    assert get_runtime(app).tokens.info().status is TokenStatus.MISSING
    after_seed = page(client, "/admin/")

    for html in (before_seed, after_seed):
        assert MISSING_BANNER in html and EXPIRED_BANNER not in html
        assert BANNER_LINK.search(html)


def test_login_page_never_shows_the_banner(app, client, session, demo):
    set_token_status(app, session, TokenStatus.REFRESH_FAILED)

    assert EXPIRED_BANNER not in page(client, "/admin/login")


def test_banner_costs_one_small_query_per_page(app, client, make_case):
    code = make_case()
    login(client, "handler")
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    engine = get_runtime(app).engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        for path in ("/admin/", f"/admin/cases/{code}"):
            statements.clear()
            page(client, path)
            assert sum("zalo_token" in statement for statement in statements) == 1
    finally:
        event.remove(engine, "before_cursor_execute", record)


# /admin/zalo: access


@pytest.mark.parametrize("role", ["handler", "leader", "coordinator"])
def test_zalo_pages_are_for_administrators_only(client, demo, role):
    login(client, role)
    token = csrf_from(client, "/admin/")

    responses_ = [
        client.get("/admin/zalo"),
        client.get("/admin/zalo/callback?code=c&state=s"),
        client.post(
            "/admin/zalo/tokens",
            data={"csrf_token": token, "access_token": "a", "refresh_token": "r"},
        ),
        client.post("/admin/zalo/connect", data={"csrf_token": token}),
    ]

    for response in responses_:
        assert response.status_code == 403
        assert "Không có quyền truy cập" in response.get_data(as_text=True)
    assert 'href="/admin/zalo"' not in page(client, "/admin/")


def test_zalo_page_requires_login(client, demo):
    response = client.get("/admin/zalo")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")


def test_zalo_page_shows_the_state_never_the_tokens(app, client, session, demo):
    tokens = get_runtime(app).tokens
    tokens.replace(
        TokenPair("secret-access-1", "secret-refresh-1", 90000),
        "cli",
        now=datetime(2026, 11, 27, 3, 0, tzinfo=UTC),
    )
    session.execute(update(ZaloToken).values(last_error="-14008: Invalid refresh token"))
    login(client, "admin")

    response = client.get("/admin/zalo")
    html = response.get_data(as_text=True)

    assert response.status_code == 200
    assert "Đang hoạt động" in html
    assert "28/11/2026 11:00" in html  # 03:00 UTC + 25 h, in Vietnam's time
    assert "Dòng lệnh" in html
    assert "-14008: Invalid refresh token" in html
    assert "secret-access-1" not in html and "secret-refresh-1" not in html
    assert CALLBACK in html
    assert (
        "form-action 'self' https://oauth.zaloapp.com"
        in response.headers["Content-Security-Policy"]
    )


# Pasting a pair


def test_pasting_a_pair_replaces_it_and_resumes_sending(app, client, session, demo, caplog):
    caplog.set_level(logging.DEBUG)
    set_token_status(app, session, TokenStatus.REFRESH_FAILED)
    tokens = get_runtime(app).tokens
    generation = tokens.info().generation
    login(client, "admin")

    response = client.post(
        "/admin/zalo/tokens",
        data={
            "csrf_token": csrf_from(client, "/admin/zalo"),
            "access_token": " pasted-access ",
            "refresh_token": "pasted-refresh",
            "expires_in": "3600",
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/zalo"
    info = tokens.info()
    assert info.status is TokenStatus.OK
    assert info.source == "console"
    assert info.generation == generation + 1
    assert tokens.access_token() == "pasted-access"
    html = page(client, "/admin/zalo")
    assert "Đã lưu cặp token mới." in html
    assert "Dán trên trang quản trị" in html
    assert EXPIRED_BANNER not in html
    assert "pasted-access" not in caplog.text and "pasted-refresh" not in caplog.text


def test_pasting_requires_the_csrf_token(app, client, demo):
    login(client, "admin")
    csrf_from(client, "/admin/zalo")
    form = {"access_token": "forged-access", "refresh_token": "forged-refresh"}

    missing = client.post("/admin/zalo/tokens", data=form)
    wrong = client.post("/admin/zalo/tokens", data={**form, "csrf_token": "x" * 43})

    assert missing.status_code == wrong.status_code == 400
    assert get_runtime(app).tokens.access_token() == "test-access-token"


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"access_token": "new-access", "refresh_token": " "}, "Vui lòng dán đủ"),
        ({"access_token": "new-access", "refresh_token": "r", "expires_in": "abc"}, "số giây"),
        ({"access_token": "new-access", "refresh_token": "r", "expires_in": "5"}, "số giây"),
    ],
)
def test_pasting_an_incomplete_pair_changes_nothing(app, client, demo, form, message):
    login(client, "admin")

    response = client.post(
        "/admin/zalo/tokens", data={**form, "csrf_token": csrf_from(client, "/admin/zalo")}
    )

    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert "new-access" not in html  # never echoed back
    assert get_runtime(app).tokens.access_token() == "test-access-token"


# Zalo's consent flow


def test_consent_redirects_to_zalo_with_a_pkce_challenge(client, demo):
    login(client, "admin")

    query, pending = start_consent(client)

    verifier = pending["verifier"]
    assert 43 <= len(verifier) <= 128
    assert re.fullmatch(r"[A-Za-z0-9_-]+", verifier)
    assert query["app_id"] == [APP_ID]
    assert query["redirect_uri"] == [CALLBACK]
    assert query["code_challenge"] == [s256(verifier)]
    assert "=" not in query["code_challenge"][0]
    assert query["state"] == [pending["state"]]
    assert len(pending["state"]) >= 32
    second_query, second = start_consent(client)
    assert second["state"] != pending["state"] and second["verifier"] != verifier


def test_consent_requires_the_csrf_token(client, demo):
    login(client, "admin")
    csrf_from(client, "/admin/zalo")

    assert client.post("/admin/zalo/connect").status_code == 400
    with client.session_transaction() as flask_session:
        assert "zalo_consent" not in flask_session


def test_callback_exchanges_the_code_and_stores_the_pair(app, client, session, demo, caplog):
    caplog.set_level(logging.DEBUG)
    set_token_status(app, session, TokenStatus.REFRESH_FAILED)
    login(client, "admin")
    query, pending = start_consent(client)

    with responses.RequestsMock() as mock:
        mock.post(
            TOKEN_URL,
            json={
                "access_token": "consent-access",
                "refresh_token": "consent-refresh",
                "expires_in": "90000",
            },
            match=[
                matchers.urlencoded_params_matcher(
                    {
                        "app_id": APP_ID,
                        "grant_type": "authorization_code",
                        "code": "the-code",
                        "code_verifier": pending["verifier"],
                    }
                ),
                matchers.header_matcher({"secret_key": "test-app-secret"}),
            ],
        )
        response = client.get(f"/admin/zalo/callback?code=the-code&state={query['state'][0]}")

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/zalo"
    tokens = get_runtime(app).tokens
    assert tokens.access_token() == "consent-access"
    info = tokens.info()
    assert info.status is TokenStatus.OK and info.source == "consent"
    html = page(client, "/admin/zalo")
    assert "Đã kết nối Zalo OA" in html
    assert "Cấp quyền qua Zalo" in html
    assert EXPIRED_BANNER not in html
    with client.session_transaction() as flask_session:
        assert "zalo_consent" not in flask_session  # single use
    assert "consent-access" not in caplog.text and "consent-refresh" not in caplog.text
    assert pending["verifier"] not in caplog.text


@pytest.mark.parametrize("state", ["wrong-state", ""])
def test_callback_with_a_wrong_state_is_refused(app, client, demo, state):
    login(client, "admin")
    start_consent(client)

    with responses.RequestsMock() as mock:  # any call to Zalo would fail the test
        response = client.get(f"/admin/zalo/callback?code=the-code&state={state}")
        assert not mock.calls

    assert response.status_code == 302
    html = page(client, "/admin/zalo")
    assert "yêu cầu cấp quyền không khớp hoặc đã quá hạn" in html
    assert 'class="error"' in html
    assert get_runtime(app).tokens.access_token() == "test-access-token"


def test_callback_without_a_started_consent_is_refused(app, client, demo):
    login(client, "admin")

    with responses.RequestsMock() as mock:
        client.get("/admin/zalo/callback?code=the-code&state=anything")
        assert not mock.calls

    assert "không khớp hoặc đã quá hạn" in page(client, "/admin/zalo")


def test_callback_after_the_consent_expired_is_refused(app, client, demo, clock):
    login(client, "admin")
    query, _pending = start_consent(client)
    clock.advance(minutes=16)

    with responses.RequestsMock() as mock:
        client.get(f"/admin/zalo/callback?code=the-code&state={query['state'][0]}")
        assert not mock.calls

    assert "không khớp hoặc đã quá hạn" in page(client, "/admin/zalo")


def test_callback_without_a_code_is_refused(app, client, demo):
    login(client, "admin")
    query, _pending = start_consent(client)

    with responses.RequestsMock() as mock:
        client.get(f"/admin/zalo/callback?state={query['state'][0]}")
        assert not mock.calls

    assert "Zalo không trả về mã cấp quyền" in page(client, "/admin/zalo")


def test_callback_shows_zalos_refusal(app, client, demo):
    login(client, "admin")
    query, _pending = start_consent(client)

    with responses.RequestsMock() as mock:
        mock.post(
            TOKEN_URL,
            json={
                "error": -14019,
                "error_name": "Invalid code",
                "error_description": "code is invalid",
            },
        )
        client.get(f"/admin/zalo/callback?code=old-code&state={query['state'][0]}")

    html = page(client, "/admin/zalo")
    assert "Zalo từ chối mã cấp quyền (mã lỗi -14019: code is invalid)" in html
    assert get_runtime(app).tokens.access_token() == "test-access-token"


def test_callback_when_zalo_is_unreachable(app, client, demo):
    login(client, "admin")
    query, _pending = start_consent(client)

    with responses.RequestsMock() as mock:
        mock.post(TOKEN_URL, status=502)
        client.get(f"/admin/zalo/callback?code=the-code&state={query['state'][0]}")

    assert "Không liên lạc được với Zalo" in page(client, "/admin/zalo")
    assert get_runtime(app).tokens.access_token() == "test-access-token"


def test_consent_does_not_survive_a_new_login(app, client, demo):
    login(client, "admin")
    query, _pending = start_consent(client)
    logout(client)
    login(client, "admin")

    with responses.RequestsMock() as mock:
        client.get(f"/admin/zalo/callback?code=the-code&state={query['state'][0]}")
        assert not mock.calls

    assert "không khớp hoặc đã quá hạn" in page(client, "/admin/zalo")
