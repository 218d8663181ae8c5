"""Configuration read from the environment (and `.env`), validated once at start-up.

Every key is documented in `.env.example`. A missing or malformed required key raises
`ConfigError` with one sentence naming the key, so start-up stops with a clear message.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

# Sandbox credentials are public by design: they only ever sign simulator events.
SANDBOX_APP_ID = "sandbox-app-id"
SANDBOX_APP_SECRET = "sandbox-app-secret"  # noqa: S105
SANDBOX_OA_SECRET_KEY = "sandbox-oa-secret-key"  # noqa: S105
SANDBOX_OA_ID = "1000000000000000001"
SANDBOX_ACCESS_TOKEN = "sandbox-access-token"  # noqa: S105
SANDBOX_REFRESH_TOKEN = "sandbox-refresh-token"  # noqa: S105
INSTANCE_DIR = Path(__file__).resolve().parent / "instance"


class ConfigError(Exception):
    """A configuration key is missing or malformed."""


def _int(name: str, value: str, minimum: int = 0) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}.") from None
    if number < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {number}.")
    return number


def _url(name: str, value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"{name} must be an http(s) URL, got {value!r}.")
    return value.rstrip("/")


def _database_url(name: str, value: str) -> str:
    if not value.startswith(("sqlite", "postgresql")):
        raise ConfigError(f"{name} must be a sqlite:// or postgresql:// URL.")
    if value.startswith("postgresql://"):
        # psycopg 3 is the driver we ship; make plain URLs use it.
        value = "postgresql+psycopg://" + value.removeprefix("postgresql://")
    return value


def _fernet_key(name: str, value: str) -> str:
    try:
        Fernet(value.encode())
    except (ValueError, TypeError):
        raise ConfigError(
            f"{name} must be a Fernet key (generate one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)."
        ) from None
    return value


def _choice(*allowed: str) -> Callable[[str, str], str]:
    def check(name: str, value: str) -> str:
        if value not in allowed:
            raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}.")
        return value

    return check


def _text(name: str, value: str) -> str:
    return value


def _bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}.")


def _templates(name: str, value: str) -> str:
    from bot.channels import TemplateConfigError, load_templates

    try:
        load_templates(value)
    except TemplateConfigError as error:
        raise ConfigError(f"{name} is not valid JSON of the documented shape ({error}).") from None
    return value


# key -> (default, parser). A default of None means "no value"; required keys are checked below.
KEYS: dict[str, tuple[str | None, Callable[[str, str], Any]]] = {
    "DATABASE_URL": (f"sqlite:///{INSTANCE_DIR / 'pakn.db'}", _database_url),
    "SECRET_KEY": (None, _text),
    "PUBLIC_BASE_URL": ("http://127.0.0.1:5000", _url),
    "ZALO_APP_ID": (None, _text),
    "ZALO_APP_SECRET": (None, _text),
    "ZALO_OA_SECRET_KEY": (None, _text),
    "ZALO_OA_ID": (None, _text),
    "ZALO_ACCESS_TOKEN": (None, _text),
    "ZALO_REFRESH_TOKEN": (None, _text),
    "ZALO_API_BASE": ("https://openapi.zalo.me", _url),
    "ZALO_OAUTH_BASE": ("https://oauth.zaloapp.com", _url),
    "ZALO_BUSINESS_API_BASE": ("https://business.openapi.zalo.me", _url),
    "ZALO_SITE_VERIFICATION": (None, _text),
    "ZALO_HTTP_TIMEOUT": ("10", lambda n, v: _int(n, v, 1)),
    "TOKEN_ENCRYPTION_KEY": (None, _fernet_key),
    "TOKEN_REFRESH_MARGIN_MINUTES": ("120", lambda n, v: _int(n, v, 1)),
    "ZALO_RATE_LIMIT_PER_MINUTE": ("4000", lambda n, v: _int(n, v, 0)),
    "ZALO_TEMPLATES": (None, _templates),
    "HELD_DIGEST_HOUR": ("8", lambda n, v: _int(n, v, 0)),
    "ANSWER_CHECK_BY_COORDINATOR": ("false", _bool),
    "ANSWER_FILE_MAX_BYTES": (str(5 * 1024 * 1024), lambda n, v: _int(n, v, 1024)),
    "AGENCY_NAME": ("UBND thành phố", _text),
    "AGENCY_HOTLINE": ("1900 0000", _text),
    "NATIONAL_PORTAL_URL": ("https://dichvucong.gov.vn", _url),
    "INFO_CARD_IMAGE_URL": ("", _text),
    "DRAFT_TTL_HOURS": ("24", lambda n, v: _int(n, v, 1)),
    "ANSWER_DAYS": ("20", lambda n, v: _int(n, v, 1)),
    "STORAGE_DIR": (str(INSTANCE_DIR / "storage"), _text),
    "ATTACHMENT_MAX_BYTES": (str(10 * 1024 * 1024), lambda n, v: _int(n, v, 1024)),
    "ATTACHMENT_URL_HOSTS": ("zdn.vn,zadn.vn,zalo.me,zaloapp.com", _text),
    "WEBHOOK_PROCESSING": ("background", _choice("background", "inline", "worker")),
    "DISPATCH_AFTER_COMMIT": ("thread", _choice("thread", "inline", "off")),
    "WORKER_SWEEP_SECONDS": ("1", lambda n, v: _int(n, v, 1)),
    "LOG_LEVEL": ("INFO", _choice("DEBUG", "INFO", "WARNING", "ERROR")),
    "TRUSTED_PROXIES": ("0", lambda n, v: _int(n, v, 0)),
    # Days after which a closed case's personal data is anonymised; 0 (read as None): never.
    "PERSONAL_DATA_RETENTION_DAYS": ("365", lambda n, v: _int(n, v, 0) or None),
}

# Required only when running against a real OA (ZALO_APP_ID set).
REAL_OA_REQUIRED = (
    "SECRET_KEY",
    "ZALO_APP_SECRET",
    "ZALO_OA_SECRET_KEY",
    "ZALO_OA_ID",
    "TOKEN_ENCRYPTION_KEY",
)


def load(
    environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None
) -> dict:
    """Return the validated configuration from `environ` (default: os.environ) and `overrides`."""
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    config: dict[str, Any] = {}
    for key, (default, parse) in KEYS.items():
        if key in overrides:
            config[key] = overrides.pop(key)
            continue
        raw = environ.get(key, "").strip()
        if raw:
            config[key] = parse(key, raw)
        else:
            config[key] = parse(key, default) if default is not None else None
    config.update(overrides)

    config["SANDBOX"] = not config["ZALO_APP_ID"]
    if config["SANDBOX"]:
        _apply_sandbox(config)
    else:
        for key in REAL_OA_REQUIRED:
            if not config.get(key):
                raise ConfigError(f"{key} is required when ZALO_APP_ID is set.")
    return config


def _apply_sandbox(config: dict[str, Any]) -> None:
    """Point the Zalo client at the app's own stand-in and fill in the sandbox credentials."""
    base = config["PUBLIC_BASE_URL"] + "/_sandbox/zalo"
    config.update(
        ZALO_APP_ID=SANDBOX_APP_ID,
        ZALO_APP_SECRET=SANDBOX_APP_SECRET,
        ZALO_OA_SECRET_KEY=config.get("ZALO_OA_SECRET_KEY") or SANDBOX_OA_SECRET_KEY,
        ZALO_OA_ID=SANDBOX_OA_ID,
        ZALO_ACCESS_TOKEN=config.get("ZALO_ACCESS_TOKEN") or SANDBOX_ACCESS_TOKEN,
        ZALO_REFRESH_TOKEN=config.get("ZALO_REFRESH_TOKEN") or SANDBOX_REFRESH_TOKEN,
        ZALO_API_BASE=base,
        ZALO_OAUTH_BASE=base + "/oauth",
        ZALO_BUSINESS_API_BASE=base + "/business",
    )
    if not config.get("SECRET_KEY"):
        # Sandbox only: a fixed development key; a real OA must set SECRET_KEY.
        config["SECRET_KEY"] = "sandbox-not-secret"  # noqa: S105
    config["ATTACHMENT_URL_HOSTS"] = config["ATTACHMENT_URL_HOSTS"] + ",127.0.0.1,localhost"
