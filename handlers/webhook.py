"""`POST /webhook/zalo`: verify, store, process, commit, answer 200 — then dispatch replies.

Order matters: the raw bytes are read before parsing (the signature covers them), the event is
inserted with a unique key (a redelivery is answered 200 with no second effect), the step runs
in the same transaction, and replies are sent only after the commit.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import Connection, bindparam
from sqlalchemy.dialects import postgresql, sqlite

from bot.conversation import BotSettings
from bot.inbound import process_event
from bot.zalo import events
from bot.zalo.signature import verify_signature
from handlers.runtime import db, dispatch_after_commit, get_runtime, process_after_response
from models import EventStatus, InboundEvent, utcnow

log = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__)

MAX_BODY = 1024 * 1024


def bot_settings() -> BotSettings:
    """The bot's settings from the app configuration."""
    return BotSettings.from_config(current_app.config)


def _error(status: int, message: str):
    return jsonify(error=message), status


@bp.get("/webhook/zalo")
def probe():
    """Answer Zalo's URL check."""
    return jsonify(status="ok")


@bp.post("/webhook/zalo")
def receive():
    """Receive one Zalo event."""
    if (request.content_length or 0) > MAX_BODY:
        return _error(413, "body too large")
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return _error(413, "body too large")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "malformed JSON")
    if body == {}:
        return jsonify(status="ok")  # Zalo's probe when the URL is saved
    if not isinstance(body, dict):
        return _error(400, "body must be a JSON object")
    config = current_app.config
    timestamp = str(body.get("timestamp", ""))
    header = request.headers.get("X-ZEvent-Signature")
    if not verify_signature(
        header, config["ZALO_APP_ID"], raw, timestamp, config["ZALO_OA_SECRET_KEY"]
    ):
        log.warning(
            "webhook signature %s (checked sha256(app_id + body + timestamp + ZALO_OA_SECRET_KEY))",
            "missing" if not header else "mismatch",
        )
        return _error(401, "invalid signature")
    if not body.get("event_name"):
        return _error(400, "event_name missing")
    return _store_and_process(body, raw)


def _store_and_process(body: dict, raw: bytes):
    now = utcnow()
    try:
        event: events.ZaloEvent | None = events.parse_event(body)
        parse_error = None
    except events.EventParseError as error:
        event, parse_error = None, str(error)
    mode = current_app.config["WEBHOOK_PROCESSING"]
    if parse_error:
        status = EventStatus.FAILED
    else:
        status = EventStatus.PROCESSED if mode == "inline" else EventStatus.RECEIVED
    params = _event_values(body, raw, event, parse_error, status, now)
    if mode == "inline":
        return _store_and_step(params, event, now)
    # Store and acknowledge: one statement in its own transaction (on PostgreSQL a single round
    # trip instead of BEGIN, INSERT, COMMIT); the step runs after the response or in the worker.
    with get_runtime().autocommit.connect() as connection:
        row_id = _insert_event(connection, params)
    if row_id is None:
        return jsonify(status="duplicate")
    if parse_error:
        log.warning("event %s (%s) not understood: %s", row_id, body.get("event_name"), parse_error)
    elif mode == "background":
        process_after_response(event.user_id if event else None)
    return jsonify(status="ok")


def _store_and_step(params: dict, event: events.ZaloEvent | None, now):
    """Store the event and run its conversation step in one transaction, then send replies."""
    session = db()
    row_id = _insert_event(session.connection(), params)
    if row_id is None:
        session.rollback()
        return jsonify(status="duplicate")
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
    return jsonify(status="ok")


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


def _insert_event_statement(insert):
    """INSERT ... ON CONFLICT (dedup_key) DO NOTHING RETURNING id, values bound at execution.

    Built once per dialect: building and caching an ORM statement with literal values cost more
    CPU than the database work itself (docs/performance.md, webhook ingest).
    """
    table = InboundEvent.__table__
    return (
        insert(table)
        .values({name: bindparam(name) for name in _EVENT_COLUMNS})
        .on_conflict_do_nothing(index_elements=[table.c.dedup_key])
        .returning(table.c.id)
    )


_EVENT_COLUMNS = (
    "dedup_key",
    "event_name",
    "zalo_user_id",
    "body",
    "status",
    "error",
    "event_time",
    "received_at",
)
_INSERT_EVENT = {
    "postgresql": _insert_event_statement(postgresql.insert),
    "sqlite": _insert_event_statement(sqlite.insert),
}
