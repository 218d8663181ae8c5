"""The token pair: seeded once from .env, encrypted, refreshed proactively and reactively (once
across processes), and a refused refresh token stops sending until an admin reconnects."""

from __future__ import annotations

import logging
from datetime import timedelta

import responses
from sqlalchemy import text

from bot.zalo.client import TokenPair
from handlers.runtime import get_runtime
from models import OutboxState, TokenStatus, ZaloToken, utcnow
from tests.conftest import API_BASE, APP_ID
from tests.delivery_helpers import dispatcher, make_citizen, queue, states

OAUTH_URL = "https://oauth.zaloapp.com/v4/oa/access_token"
CS_URL = f"{API_BASE}/v3.0/oa/message/cs"
NEW_PAIR = {"access_token": "new-access", "refresh_token": "new-refresh", "expires_in": "90000"}


def refresh_matchers(refresh_token: str = "test-refresh-token"):
    return [
        responses.matchers.urlencoded_params_matcher(
            {"app_id": APP_ID, "grant_type": "refresh_token", "refresh_token": refresh_token}
        ),
        responses.matchers.header_matcher({"secret_key": "test-app-secret"}),
    ]


def test_seeded_once_from_env_and_encrypted_at_rest(make_app, session):
    app = make_app()
    tokens = get_runtime(app).tokens
    assert tokens.access_token() == "test-access-token"
    raw = session.execute(text("SELECT access_token_enc, refresh_token_enc FROM zalo_token")).one()
    assert "test-access-token" not in raw[0] and "test-refresh-token" not in raw[1]
    later = make_app(create_tables=False, ZALO_ACCESS_TOKEN="other", ZALO_REFRESH_TOKEN="other-r")
    assert get_runtime(later).tokens.access_token() == "test-access-token"


def test_reactive_refresh_on_216_then_one_retry(app, session):
    citizen = make_citizen(session)
    [row] = queue(session, citizen, "Xin chào")
    with responses.RequestsMock() as mock:
        mock.post(
            CS_URL,
            json={"error": -216, "message": "Access token is invalid"},
            match=[responses.matchers.header_matcher({"access_token": "test-access-token"})],
        )
        mock.post(OAUTH_URL, json=NEW_PAIR, match=refresh_matchers())
        mock.post(
            CS_URL,
            json={"error": 0, "data": {"message_id": "m1"}},
            match=[responses.matchers.header_matcher({"access_token": "new-access"})],
        )
        dispatcher(app).dispatch_citizen(citizen.id)
    assert states(session, [row]) == [OutboxState.SENT]
    stored = session.get(ZaloToken, 1)
    session.refresh(stored)
    assert stored.generation == 1 and stored.source == "refresh"
    assert get_runtime(app).tokens.access_token() == "new-access"


def test_no_refresh_when_someone_else_already_refreshed(app, session):
    tokens = get_runtime(app).tokens
    assert tokens.access_token() == "test-access-token"
    tokens.replace(TokenPair("fresh-access", "fresh-refresh", 90000), "refresh")
    with responses.RequestsMock():  # a refresh call would fail the test
        assert (
            tokens.refresh_if_current(get_runtime(app).zalo, "test-access-token") == "fresh-access"
        )


def test_retry_happens_once_only(app, session):
    citizen = make_citizen(session)
    [row] = queue(session, citizen, "Xin chào")
    with responses.RequestsMock() as mock:
        mock.post(CS_URL, json={"error": -220, "message": "expired"})
        mock.post(OAUTH_URL, json=NEW_PAIR)
        dispatcher(app).dispatch_citizen(citizen.id)
        assert len([c for c in mock.calls if c.request.url == CS_URL]) == 2
        assert len([c for c in mock.calls if c.request.url == OAUTH_URL]) == 1
    session.refresh(row)
    assert row.state is OutboxState.FAILED and row.last_error_code == -220


def test_proactive_refresh_only_when_the_margin_is_reached(app, session):
    runtime = get_runtime(app)
    runtime.tokens.replace(TokenPair("a1", "r1", 90000), "console")
    with responses.RequestsMock():
        assert runtime.tokens.refresh_if_expiring(runtime.zalo, timedelta(hours=2)) is False
    soon = utcnow() + timedelta(hours=23)
    with responses.RequestsMock() as mock:
        mock.post(OAUTH_URL, json=NEW_PAIR, match=refresh_matchers("r1"))
        assert runtime.tokens.refresh_if_expiring(runtime.zalo, timedelta(hours=2), now=soon)
    assert runtime.tokens.access_token() == "new-access"


def test_refused_refresh_token_stops_sending_and_keeps_everything(app, session, caplog):
    citizen = make_citizen(session)
    rows = queue(session, citizen, "một", "hai")
    with responses.RequestsMock() as mock, caplog.at_level(logging.ERROR):
        mock.post(CS_URL, json={"error": -216, "message": "invalid"})
        mock.post(
            OAUTH_URL,
            json={
                "error": -14020,
                "error_name": "Invalid refresh token",
                "error_description": "Refresh token is invalid",
            },
        )
        dispatcher(app).dispatch_citizen(citizen.id)
    assert states(session, rows) == [OutboxState.PENDING, OutboxState.PENDING]
    assert [r.attempts for r in rows] == [0, 0]
    assert "connect the OA again" in caplog.text and "test-refresh-token" not in caplog.text
    info = get_runtime(app).tokens.info()
    assert info.status is TokenStatus.REFRESH_FAILED and "-14020" in info.last_error

    with responses.RequestsMock():  # no call to Zalo while stopped
        assert dispatcher(app).sweep() == 0

    result = app.test_cli_runner().invoke(
        args=["zalo-token", "--access-token", "admin-a", "--refresh-token", "admin-r"]
    )
    assert result.exit_code == 0 and "status: ok" in result.output
    with responses.RequestsMock() as mock:
        mock.post(
            CS_URL,
            json={"error": 0, "data": {"message_id": "m9"}},
            match=[responses.matchers.header_matcher({"access_token": "admin-a"})],
        )
        assert dispatcher(app).sweep() == 2


def test_cli_shows_status_without_tokens(app):
    result = app.test_cli_runner().invoke(args=["zalo-token"])
    assert result.exit_code == 0
    assert "status: ok" in result.output and "test-access-token" not in result.output
    half = app.test_cli_runner().invoke(args=["zalo-token", "--access-token", "x"])
    assert half.exit_code != 0 and "both" in half.output


def test_wrong_encryption_key_is_a_clear_error(make_app, session):
    first = make_app()
    get_runtime(first).tokens.access_token()
    other = make_app(
        create_tables=False, TOKEN_ENCRYPTION_KEY="Yk4l1f3Y9y2bq8Zq5Gm6zU3cQ0VvYdZ7f1nq2W9aX0o="
    )
    import pytest

    from bot.zalo.tokens import TokenUnavailableError

    with pytest.raises(TokenUnavailableError, match="TOKEN_ENCRYPTION_KEY changed"):
        get_runtime(other).tokens.access_token()
