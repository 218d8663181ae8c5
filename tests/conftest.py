"""Shared fixtures: an app per test on SQLite (default) or PostgreSQL (TEST_DATABASE_URL).

PostgreSQL runs get their own schema for the whole run (created here, dropped at the end) and
every table is emptied after each test, so tests never share state. SQLite tests each start from
a copy of a schema built once per run (building 36 tables for every test cost more than most
tests themselves). Zalo is mocked at the HTTP
layer with `responses`; webhook events are signed exactly as Zalo signs them.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from sqlalchemy import text
from werkzeug.routing import Rule

from app import create_app
from bot.zalo.signature import signature_header
from handlers.runtime import get_runtime
from models import Base
from models.db import make_autocommit_session_factory, make_engine

FIXTURES = Path(__file__).parent / "fixtures" / "zalo"
APP_ID = "3608465249409039670"
OA_ID = "3886132808788086450"
OA_SECRET = "test-oa-secret-key"
API_BASE = "https://openapi.zalo.me"
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
TOKEN_KEY = "b0jV3fJkz3QxwVqk0oYqJ0n8m3m6x9tQ3pZ1ZsY2u8Q="


def _memoise_url_builders() -> None:
    """Compile each URL rule's builder once per run instead of once per app.

    Every test builds its own app, and werkzeug compiles Python code for each of ~90 rules of
    each app: that was about half of a typical test's time. The generated builder depends only
    on the rule's text, its parsed parts and defaults (it reads converters through its `self`
    argument at call time), so the same function serves every app. Tests only; skipped if
    werkzeug's internals change.
    """
    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None or getattr(compile_builder, "memoised", False):
        return
    builders: dict[tuple, Any] = {}

    def memoised(self, append_unknown: bool = True):
        defaults = tuple(sorted((self.defaults or {}).items(), key=lambda item: item[0]))
        key = (self.rule, tuple(self._trace), defaults, append_unknown)
        try:
            hash(key)
        except TypeError:  # a default werkzeug cannot key on: compile as usual
            return compile_builder(self, append_unknown)
        if key not in builders:
            builders[key] = compile_builder(self, append_unknown)
        return builders[key]

    memoised.memoised = True  # type: ignore[attr-defined]
    Rule._compile_builder = memoised  # type: ignore[method-assign]


_memoise_url_builders()


def load_fixture(name: str) -> dict[str, Any]:
    """Return a copy of a Zalo JSON fixture."""
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Hash staff passwords with a fast method in tests (production keeps scrypt)."""
    monkeypatch.setattr("cases.staff.HASH_METHOD", "pbkdf2:sha256:1000")


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str | None]:
    """Create a private schema for this run on PostgreSQL (None on SQLite)."""
    if not PG_URL:
        yield None
        return
    from sqlalchemy import create_engine

    schema = f"t_{uuid.uuid4().hex[:12]}"
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    engine = create_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    yield url
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database with the whole schema, built once per run."""
    path = tmp_path_factory.mktemp("schema") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    engine.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture
def database_url(tmp_path: Path, pg_schema_url: str | None, request) -> str:
    if pg_schema_url:
        return pg_schema_url
    target = tmp_path / "test.db"
    shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
    return f"sqlite:///{target}"


def base_config(database_url: str, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """The configuration of a test app talking to a mocked real Zalo OA."""
    config: dict[str, Any] = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "ZALO_APP_ID": APP_ID,
        "ZALO_APP_SECRET": "test-app-secret",
        "ZALO_OA_SECRET_KEY": OA_SECRET,
        "ZALO_OA_ID": OA_ID,
        "ZALO_ACCESS_TOKEN": "test-access-token",
        "ZALO_REFRESH_TOKEN": "test-refresh-token",
        "TOKEN_ENCRYPTION_KEY": TOKEN_KEY,
        "ZALO_RATE_LIMIT_PER_MINUTE": 0,
        "STORAGE_DIR": str(tmp_path / "storage"),
        "DISPATCH_AFTER_COMMIT": "inline",
        "WEBHOOK_PROCESSING": "inline",
        "PUBLIC_BASE_URL": "http://localhost",
    }
    config.update(overrides)
    return config


def _prepare(app, pg: bool) -> None:
    engine = get_runtime(app).engine
    if not pg:
        Base.metadata.create_all(engine)


def _truncate(app) -> None:
    """Empty every table and restart every id sequence (PostgreSQL).

    DELETE, not TRUNCATE: a TRUNCATE of 36 tables makes new files for each table and index and
    cost about half a second per test; deleting the few rows a test wrote costs milliseconds.
    """
    engine = get_runtime(app).engine
    with engine.begin() as conn:
        conn.exec_driver_sql(_emptying_sql(conn))


_EMPTYING: dict[str, str] = {}


def _emptying_sql(conn) -> str:
    """The statements that empty the current schema, children first (built once per schema)."""
    schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
    if schema not in _EMPTYING:
        sequences = conn.exec_driver_sql(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind = 'S' AND n.nspname = current_schema()"
        ).scalars()
        statements = [f'DELETE FROM "{t.name}"' for t in reversed(Base.metadata.sorted_tables)]
        statements += [f"SELECT setval('\"{name}\"', 1, false)" for name in sequences]
        _EMPTYING[schema] = "; ".join(statements)
    return _EMPTYING[schema]


@pytest.fixture
def make_app(database_url: str, tmp_path: Path, pg_schema_url: str | None):
    """Build apps with extra configuration; every app built is cleaned up after the test."""
    apps = []

    def build(create_tables: bool = True, **overrides: Any):
        app = create_app(base_config(database_url, tmp_path, **overrides))
        if create_tables:
            _prepare(app, pg_schema_url is not None)
        apps.append(app)
        return app

    yield build
    for app in apps:
        runtime = get_runtime(app)
        if runtime.executor is not None:
            runtime.executor.shutdown(wait=True)
    if apps and pg_schema_url and apps[0].config["DATABASE_URL"] == pg_schema_url:
        _truncate(apps[0])
    for app in apps:
        get_runtime(app).dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    """An autocommit session on the test app's database: it holds no lock between statements,
    so the app under test is never blocked by the test's own reads."""
    with make_autocommit_session_factory(get_runtime(app).engine)() as s:
        yield s


class ZaloMock:
    """Zalo's consultation-message endpoint at the HTTP layer: records and acknowledges every send."""

    def __init__(self, mock: responses.RequestsMock) -> None:
        self.mock = mock
        self.sent: list[dict[str, Any]] = []
        self.failures: list[dict[str, Any]] = []
        self._ids = itertools.count(1)
        mock.add_callback(responses.POST, f"{API_BASE}/v3.0/oa/message/cs", callback=self._on_send)

    def fail_next(self, body: dict[str, Any]) -> None:
        """Answer the next send with `body` (an error body) instead of success."""
        self.failures.append(body)

    def _on_send(self, request):
        body = json.loads(request.body)
        assert request.headers["access_token"] == "test-access-token"
        if self.failures:
            return 200, {}, json.dumps(self.failures.pop(0))
        self.sent.append(body)
        message_id = f"mid{next(self._ids)}"
        reply = {
            "error": 0,
            "message": "Success",
            "data": {"message_id": message_id, "user_id": body["recipient"]["user_id"]},
        }
        return 200, {}, json.dumps(reply)

    def texts(self, user_id: str | None = None) -> list[str]:
        """The text of every message sent (a button template's text counts), in order."""
        out = []
        for body in self.sent:
            if user_id and body["recipient"]["user_id"] != user_id:
                continue
            message = body["message"]
            if "text" in message:
                out.append(message["text"])
            else:
                payload = message["attachment"]["payload"]
                out.append(payload.get("text") or payload.get("template_type"))
        return out

    def clear(self) -> None:
        self.sent.clear()


@pytest.fixture
def zalo() -> Iterator[ZaloMock]:
    """Mock Zalo's API; unexpected calls to any other URL fail the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield ZaloMock(mock)


class Webhook:
    """Posts signed webhook events as Zalo does, with fresh msg_ids and timestamps."""

    def __init__(self, client, secret: str = OA_SECRET, app_id: str = APP_ID) -> None:
        self.client = client
        self.secret = secret
        self.app_id = app_id
        self._seq = itertools.count(1)
        self._ts = itertools.count(1764215400000, 1000)

    def post_raw(self, raw: bytes, timestamp: str, **headers: str):
        signed = signature_header(self.app_id, raw, timestamp, self.secret)
        signed.update(headers)
        return self.client.post(
            "/webhook/zalo", data=raw, headers=signed, content_type="application/json"
        )

    def post(self, body: dict[str, Any]):
        raw = json.dumps(body, ensure_ascii=False).encode()
        return self.post_raw(raw, body.get("timestamp", ""))

    def envelope(
        self, user: str, event_name: str, message: dict[str, Any] | None = None, **extra: Any
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "app_id": self.app_id,
            "sender": {"id": user},
            "recipient": {"id": OA_ID},
            "user_id_by_app": "u" + user,
            "event_name": event_name,
            "timestamp": str(next(self._ts)),
        }
        if message is not None:
            message.setdefault("msg_id", f"m{next(self._seq)}-{uuid.uuid4().hex[:8]}")
            body["message"] = message
        body.update(extra)
        return body

    def text(self, user: str, text_: str):
        return self.post(self.envelope(user, "user_send_text", {"text": text_}))

    def image(self, user: str, url: str = "https://photo-stal-1.zdn.vn/x/image.jpg"):
        att = [{"type": "image", "payload": {"url": url, "thumbnail": url}}]
        return self.post(self.envelope(user, "user_send_image", {"attachments": att}))

    def file(self, user: str, url: str = "https://f1.zdn.vn/x/don.pdf", name: str = "don.pdf"):
        att = [
            {
                "type": "file",
                "payload": {
                    "url": url,
                    "name": name,
                    "size": "1000",
                    "type": "pdf",
                    "checksum": "x",
                },
            }
        ]
        return self.post(self.envelope(user, "user_send_file", {"attachments": att}))

    def location(self, user: str, lat: str = "21.0285011", lng: str = "105.8542034"):
        att = [
            {"type": "location", "payload": {"coordinates": {"latitude": lat, "longitude": lng}}}
        ]
        return self.post(
            self.envelope(user, "user_send_location", {"text": "", "attachments": att})
        )

    def submit_info(self, user: str, **info: str):
        body = self.envelope(user, "user_submit_info")
        body["info"] = info
        return self.post(body)

    def follow(self, user: str):
        body = {
            "oa_id": OA_ID,
            "follower": {"id": user},
            "user_id_by_app": "u" + user,
            "event_name": "follow",
            "source": "oa_profile",
            "app_id": self.app_id,
            "timestamp": str(next(self._ts)),
        }
        return self.post(body)


@pytest.fixture
def webhook(client) -> Webhook:
    return Webhook(client)
