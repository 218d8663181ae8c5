"""Configuration: sandbox detection, required keys with a real OA, malformed values."""

from __future__ import annotations

import pytest

import config


def test_no_app_id_means_sandbox_pointing_at_the_app_itself():
    settings = config.load(environ={"PUBLIC_BASE_URL": "http://127.0.0.1:5001"})
    assert settings["SANDBOX"] is True
    assert settings["ZALO_API_BASE"] == "http://127.0.0.1:5001/_sandbox/zalo"
    assert settings["ZALO_OAUTH_BASE"] == "http://127.0.0.1:5001/_sandbox/zalo/oauth"
    assert settings["ZALO_OA_SECRET_KEY"] == config.SANDBOX_OA_SECRET_KEY


REAL = {
    "ZALO_APP_ID": "1",
    "ZALO_APP_SECRET": "s",
    "ZALO_OA_SECRET_KEY": "k",
    "ZALO_OA_ID": "2",
    "SECRET_KEY": "x",
    "TOKEN_ENCRYPTION_KEY": "b0jV3fJkz3QxwVqk0oYqJ0n8m3m6x9tQ3pZ1ZsY2u8Q=",
}


def test_real_oa_uses_zalo_hosts():
    settings = config.load(environ=REAL)
    assert settings["SANDBOX"] is False
    assert settings["ZALO_API_BASE"] == "https://openapi.zalo.me"


@pytest.mark.parametrize("missing", sorted(config.REAL_OA_REQUIRED))
def test_missing_required_key_names_it_in_one_sentence(missing):
    environ = {k: v for k, v in REAL.items() if k != missing}
    with pytest.raises(config.ConfigError) as error:
        config.load(environ=environ)
    assert str(error.value) == f"{missing} is required when ZALO_APP_ID is set."


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("DRAFT_TTL_HOURS", "soon", "DRAFT_TTL_HOURS must be a whole number"),
        ("ANSWER_DAYS", "0", "ANSWER_DAYS must be at least 1"),
        ("ZALO_API_BASE", "openapi.zalo.me", "ZALO_API_BASE must be an http(s) URL"),
        ("DATABASE_URL", "mysql://x", "DATABASE_URL must be a sqlite:// or postgresql:// URL"),
        ("TOKEN_ENCRYPTION_KEY", "short", "TOKEN_ENCRYPTION_KEY must be a Fernet key"),
        ("DISPATCH_AFTER_COMMIT", "later", "DISPATCH_AFTER_COMMIT must be one of"),
    ],
)
def test_malformed_value_names_the_key(key, value, fragment):
    with pytest.raises(config.ConfigError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        config.load(environ={**REAL, key: value})


def test_plain_postgresql_url_uses_psycopg():
    settings = config.load(environ={"DATABASE_URL": "postgresql://u@h:5432/db"})
    assert settings["DATABASE_URL"] == "postgresql+psycopg://u@h:5432/db"


def test_flask_refuses_to_start_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no .env here
    for key in config.KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ZALO_APP_ID", "123")
    from app import create_app

    with pytest.raises(config.ConfigError, match="is required when ZALO_APP_ID is set"):
        create_app()


def test_env_example_documents_every_key_and_nothing_else():
    import re
    from pathlib import Path

    text = (Path(__file__).parent.parent / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^([A-Z_]+)=", text, re.MULTILINE))
    assert documented == set(config.KEYS)
