"""`POST /webhook/zalo`: verify, store, process, commit, answer 200 — then dispatch replies.

Order matters: the raw bytes are read before parsing (the signature covers them), the event is
inserted with a unique key (a redelivery is answered 200 with no second effect), and the step
runs after it: in the same transaction in inline mode (replies sent after the commit), or after
the response / in the worker in the deferred modes, where `WebhookFront` answers the request
without Flask's request machinery.
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

from flask import Blueprint, Flask, current_app, jsonify, request
from sqlalchemy import Connection
from werkzeug.wsgi import get_input_stream

from bot.conversation import BotSettings
from bot.inbound import process_event
from bot.zalo import events
from bot.zalo.signature import SIGNATURE_HEADER, verify_signature
from handlers.runtime import db, dispatch_after_commit, get_runtime, process_after_response
from models import EventStatus, InboundEvent, utcnow
from models.event import insert_event_statement

log = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__)

MAX_BODY = 1024 * 1024
WEBHOOK_PATH = "/webhook/zalo"
SIGNATURE_ENVIRON = "HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_")


def bot_settings() -> BotSettings:
    """The bot's settings from the app configuration."""
    return BotSettings.from_config(current_app.config)


@bp.get(WEBHOOK_PATH)
def probe():
    """Answer Zalo's URL check."""
    return jsonify(status="ok")


@bp.post(WEBHOOK_PATH)
def receive():
    """Receive one Zalo event (inline mode; the deferred modes are answered by `WebhookFront`)."""
    status, payload = ingest(current_app._get_current_object(), request.environ)
    return jsonify(payload), status


class WebhookFront:
    """WSGI front that answers `POST /webhook/zalo` itself when the step is deferred.

    Storing and acknowledging needs no session, template, cookie or URL building, and on the
    benchmark machine Flask's request context, session interface and JSON response cost about
    as much CPU as the store itself (docs/performance.md, webhook ingest). Every other request,
    and every webhook request in inline mode (which runs the step in a request session), goes to
    Flask unchanged.
    """

    def __init__(self, app: Flask, wsgi_app) -> None:
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        if (
            environ.get("PATH_INFO") != WEBHOOK_PATH
            or environ.get("REQUEST_METHOD") != "POST"
            or self.app.config["WEBHOOK_PROCESSING"] == "inline"
        ):
            return self.wsgi_app(environ, start_response)
        try:
            status, payload = ingest(self.app, environ)
        except Exception:  # e.g. the database is down: Zalo retries a 500, nothing is lost
            log.exception("webhook event not stored")
            status, payload = 500, {"error": "internal error"}
        body = json.dumps(payload).encode()
        start_response(
            f"{status} {HTTPStatus(status).phrase}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]


def ingest(app: Flask, environ: dict) -> tuple[int, dict]:
    """Verify, parse and store one event from a WSGI request; return the status and JSON answer."""
    declared = environ.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > MAX_BODY:
        return 413, {"error": "body too large"}
    raw = get_input_stream(environ, max_content_length=None).read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return 413, {"error": "body too large"}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return 400, {"error": "malformed JSON"}
    if body == {}:
        return 200, {"status": "ok"}  # Zalo's probe when the URL is saved
    if not isinstance(body, dict):
        return 400, {"error": "body must be a JSON object"}
    config = app.config
    timestamp = str(body.get("timestamp", ""))
    header = environ.get(SIGNATURE_ENVIRON)
    if not verify_signature(
        header, config["ZALO_APP_ID"], raw, timestamp, config["ZALO_OA_SECRET_KEY"]
    ):
        log.warning(
            "webhook signature %s (checked sha256(app_id + body + timestamp + ZALO_OA_SECRET_KEY))",
            "missing" if not header else "mismatch",
        )
        return 401, {"error": "invalid signature"}
    if not body.get("event_name"):
        return 400, {"error": "event_name missing"}
    return _store_and_process(app, body, raw)


def _store_and_process(app: Flask, body: dict, raw: bytes) -> tuple[int, dict]:
    now = utcnow()
    try:
        event: events.ZaloEvent | None = events.parse_event(body)
        parse_error = None
    except events.EventParseError as error:
        event, parse_error = None, str(error)
    mode = app.config["WEBHOOK_PROCESSING"]
    if parse_error:
        status = EventStatus.FAILED
    else:
        status = EventStatus.PROCESSED if mode == "inline" else EventStatus.RECEIVED
    params = _event_values(body, raw, event, parse_error, status, now)
    if mode == "inline":
        return _store_and_step(params, event, now)
    # Store and acknowledge: one statement in its own transaction (on PostgreSQL a single round
    # trip instead of BEGIN, INSERT, COMMIT), run on the driver directly (models/direct_insert.py);
    # the step runs after the response or in the worker.
    row_id = get_runtime(app).event_insert.scalar(params)
    if row_id is None:
        return 200, {"status": "duplicate"}
    if parse_error:
        log.warning("event %s (%s) not understood: %s", row_id, body.get("event_name"), parse_error)
    elif mode == "background":
        process_after_response(app, event.user_id if event else None)
    return 200, {"status": "ok"}


def _store_and_step(params: dict, event: events.ZaloEvent | None, now) -> tuple[int, dict]:
    """Store the event and run its conversation step in one transaction, then send replies."""
    session = db()
    row_id = _insert_event(session.connection(), params)
    if row_id is None:
        session.rollback()
        return 200, {"status": "duplicate"}
    citizen_id = None
    if event is None:
        log.warning(
            "event %s (%s) not understood: %s", row_id, params["event_name"], params["error"]
        )
    else:
        row = session.get_one(InboundEvent, row_id)
        citizen_id = process_event(session, row, event, bot_settings(), now)
    session.commit()
    dispatch_after_commit({citizen_id} if citizen_id else set())
    return 200, {"status": "ok"}


def _event_values(
    body: dict, raw: bytes, event, parse_error: str | None, status: EventStatus, now
) -> dict:
    """The inbound_event row for this request, keyed to make redeliveries collide."""
    return {
        "dedup_key": events.dedup_key(body, raw),
        "event_name": str(body["event_name"])[:60],
        "zalo_user_id": (event.user_id if event else None),
        "body": raw.decode("utf-8", errors="replace"),
        "status": status,
        "error": parse_error,
        "event_time": event.timestamp if event else None,
        "received_at": now,
    }


def _insert_event(connection: Connection, params: dict) -> int | None:
    """Insert the event unless its key is known; return its id, or None for a redelivery."""
    statement = _INSERT_EVENT[connection.dialect.name]
    return connection.execute(statement, params).scalar()


_INSERT_EVENT = {name: insert_event_statement(name) for name in ("postgresql", "sqlite")}
