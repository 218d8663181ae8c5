"""API tokens: the `api-token` CLI, what is stored, verification, revocation, inactive accounts,
`last_used_at`, the bearer header, and logs that never carry a token."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from cases.api_tokens import (
    MAX_TOKEN_LENGTH,
    ApiTokenError,
    create_token,
    hash_token,
    revoke_token,
    verify_token,
)
from models import ApiToken, Staff
from tests import api_helpers
from tests.api_helpers import NOW

api = api_helpers.api
api_clock = api_helpers.api_clock
world = api_helpers.world

TOKEN_LINE = re.compile(r"^[A-Za-z0-9_-]{43}$", re.MULTILINE)


@pytest.fixture
def cli(app, runner):
    """Run `flask api-token ...` in its own app context (requests must not share it)."""

    def invoke(*args: str):
        """Run `flask api-token ARGS`."""
        with app.app_context():
            return runner.invoke(args=["api-token", *args])

    return invoke


def created_token(output: str) -> str:
    """The token printed by `api-token create`."""
    lines = TOKEN_LINE.findall(output)
    assert len(lines) == 1, output
    return lines[0]


def token_rows(world, username: str) -> list[ApiToken]:
    """The tokens of `username` as stored now, oldest first."""
    staff_id = world.reader.scalars(select(Staff.id).where(Staff.username == username)).one()
    world.reader.expire_all()
    return list(
        world.reader.scalars(
            select(ApiToken).where(ApiToken.staff_id == staff_id).order_by(ApiToken.id)
        )
    )


def fields_as(client, token: str):
    """GET /api/v1/fields with `token`."""
    return client.get("/api/v1/fields", headers={"Authorization": f"Bearer {token}"})


def test_create_prints_the_token_once_and_stores_only_its_hash(world, cli, client):
    result = cli("create", "--username", "canbo.sxd", "--name", "CI")

    assert result.exit_code == 0, result.output
    token = created_token(result.output)
    assert result.output.count(token) == 1
    assert "shown only this once" in result.output
    row = token_rows(world, "canbo.sxd")[-1]
    assert row.name == "CI"
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.prefix == token[:8]
    assert token not in {row.token_hash, row.prefix, row.name}
    assert row.last_used_at is None and row.revoked_at is None
    assert fields_as(client, token).status_code == 200


def test_list_shows_tokens_without_the_tokens(world, cli):
    token = created_token(cli("create", "--username", "lanhdao.sxd", "--name", "Báo cáo").output)

    result = cli("list", "--username", "lanhdao.sxd")

    assert result.exit_code == 0, result.output
    assert "Báo cáo" in result.output and token[:8] in result.output
    assert token not in result.output
    assert "active" in result.output and "never" in result.output


def test_list_of_an_account_without_tokens(world, cli):
    world.writer.execute(ApiToken.__table__.delete())
    world.writer.commit()

    result = cli("list", "--username", "admin")

    assert result.exit_code == 0
    assert "admin has no API token." in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--username", "nobody", "--name", "x"], "No staff account is named 'nobody'."),
        (["--username", "canbo.sxd", "--name", "   "], "The token name must have 1 to 100"),
        (["--username", "canbo.sxd", "--name", "x" * 101], "The token name must have 1 to 100"),
    ],
)
def test_create_refuses_bad_arguments(world, cli, args, message):
    before = len(token_rows(world, "canbo.sxd"))

    result = cli("create", *args)

    assert result.exit_code != 0
    assert message in result.output
    assert len(token_rows(world, "canbo.sxd")) == before


def test_create_refuses_an_inactive_account(world, cli):
    world.writer.execute(
        Staff.__table__.update().where(Staff.username == "canbo.gt").values(active=False)
    )
    world.writer.commit()

    result = cli("create", "--username", "canbo.gt", "--name", "x")

    assert result.exit_code != 0
    assert "inactive" in result.output


def test_revoke_refuses_the_token_from_then_on(world, cli, client):
    token = world.tokens["canbo.sxd"]
    assert fields_as(client, token).status_code == 200
    token_id = token_rows(world, "canbo.sxd")[0].id

    result = cli("revoke", "--id", str(token_id))

    assert result.exit_code == 0, result.output
    assert f"API token {token_id} revoked" in result.output
    refused = fields_as(client, token)
    assert refused.status_code == 401
    assert refused.json["error"]["code"] == "invalid_token"
    assert "revoked" in cli("list", "--username", "canbo.sxd").output
    # The account's other tokens keep working.
    _second, raw = create_token(world.writer, "canbo.sxd", "second", NOW)
    world.writer.commit()
    assert fields_as(client, raw).status_code == 200


def test_revoking_twice_keeps_the_first_date_and_unknown_ids_fail(world, cli):
    token_id = token_rows(world, "dieuphoi")[0].id
    first = revoke_token(world.writer, token_id, NOW)
    world.writer.commit()
    again = revoke_token(world.writer, token_id, NOW + timedelta(days=1))
    assert again.revoked_at == first.revoked_at == NOW
    world.writer.rollback()

    result = cli("revoke", "--id", "9999")

    assert result.exit_code != 0
    assert "No API token has the id 9999." in result.output
    with pytest.raises(ApiTokenError):
        revoke_token(world.writer, 9999, NOW)
    world.writer.rollback()


def test_an_inactive_account_is_refused(world, client):
    world.writer.execute(
        Staff.__table__.update().where(Staff.username == "canbo.sxd").values(active=False)
    )
    world.writer.commit()

    response = fields_as(client, world.tokens["canbo.sxd"])

    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_token"


def test_last_used_at_moves_at_most_once_a_minute(world, api, api_clock):
    def last_used():
        """The token's last_used_at as stored now."""
        return token_rows(world, "canbo.sxd")[0].last_used_at

    assert last_used() is None
    assert api.get("/api/v1/fields", "canbo.sxd").status_code == 200
    assert last_used() == NOW

    api_clock.now = NOW + timedelta(seconds=59)
    assert api.get("/api/v1/units", "canbo.sxd").status_code == 200
    assert last_used() == NOW

    # Any answer counts as a use, an error included.
    api_clock.now = NOW + timedelta(seconds=60)
    assert api.get("/api/v1/cases/PAKN.20261127.9999", "canbo.sxd").status_code == 404
    assert last_used() == NOW + timedelta(seconds=60)


def test_a_refused_action_still_records_the_token_use(world, api):
    code = world.case()

    response = api.act(code, "accept", "canbo.sxd")

    assert response.status_code == 409
    assert token_rows(world, "canbo.sxd")[0].last_used_at == NOW


def test_verify_refuses_empty_oversized_and_unknown_tokens(world):
    session = world.writer
    assert verify_token(session, "", NOW) is None
    assert verify_token(session, "x" * (MAX_TOKEN_LENGTH + 1), NOW) is None
    assert verify_token(session, world.tokens["admin"] + "x", NOW) is None
    verified = verify_token(session, world.tokens["admin"], NOW)
    assert verified is not None and verified.staff.username == "admin" and verified.touched
    assert verify_token(session, world.tokens["admin"], NOW).touched is False
    session.rollback()
    assert hash_token("abc") == hashlib.sha256(b"abc").hexdigest()


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "missing_token"),
        ("", "missing_token"),
        ("Bearer", "missing_token"),
        ("Bearer    ", "missing_token"),
        ("Basic YWRtaW46YWRtaW4=", "missing_token"),
        ("Bearer not-a-token", "invalid_token"),
    ],
)
def test_requests_without_a_valid_bearer_token_get_401(world, api, header, code):
    headers = {"Authorization": header} if header is not None else {}

    response = api.get("/api/v1/cases", headers=headers)

    assert response.status_code == 401
    assert response.json["error"]["code"] == code
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert ('error="invalid_token"' in response.headers["WWW-Authenticate"]) is (
        code == "invalid_token"
    )


def test_the_scheme_is_case_insensitive(world, api):
    response = api.get(
        "/api/v1/fields", headers={"Authorization": f"bearer {world.tokens['admin']}"}
    )

    assert response.status_code == 200


def test_a_console_session_cookie_is_not_accepted(world, api, client):
    staff_id = world.reader.scalars(select(Staff.id).where(Staff.username == "dieuphoi")).one()
    with client.session_transaction() as cookie_session:
        cookie_session["staff_id"] = staff_id
        cookie_session["login_at"] = int(NOW.timestamp())

    response = api.get("/api/v1/cases")

    assert response.status_code == 401
    assert response.json["error"]["code"] == "missing_token"


def test_token_use_is_logged_without_the_token(world, api, caplog):
    caplog.set_level(logging.INFO)
    token = world.tokens["canbo.sxd"]

    api.get("/api/v1/fields", "canbo.sxd")
    api.get("/api/v1/fields", headers={"Authorization": f"Bearer {token}x"})

    messages = [record.getMessage() for record in caplog.records]
    assert any("GET /api/v1/fields by staff" in message for message in messages)
    assert any("refused" in message for message in messages)
    assert not any(token in message or token[:8] in message for message in messages)
