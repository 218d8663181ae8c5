"""`POST /webhook/zalo`: verify, store, process, commit, answer 200 — then dispatch replies.

Order matters: the raw bytes are read before parsing (the signature covers them), the event is
inserted with a unique key (a redelivery is answered 200 with no second effect), the step runs
in the same transaction, and replies are sent only after the commit.
"""

from __future__ import annotations

import json
import logging

from flask import Blueprint, current_app, jsonify, request

from bot.conversation import BotSettings
from bot.inbound import process_event
from bot.zalo import events
from bot.zalo.signature import verify_signature
from handlers.runtime import db, dispatch_after_commit, process_after_response
from models import EventStatus, InboundEvent, utcnow
from models.db import insert_for

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
    session = db()
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
    row = _insert_event(session, body, raw, event, parse_error, status, now)
    if row is None:
        session.rollback()
        return jsonify(status="duplicate")
    if parse_error:
        log.warning("event %s (%s) not understood: %s", row.id, body.get("event_name"), parse_error)
    citizen_id = None
    if mode == "inline" and event is not None:
        citizen_id = process_event(session, row, event, bot_settings(), now)
    session.commit()
    if mode == "inline":
        dispatch_after_commit({citizen_id} if citizen_id else set())
    elif mode == "background" and status is EventStatus.RECEIVED:
        process_after_response(event.user_id if event else None)
    return jsonify(status="ok")


def _insert_event(
    session, body: dict, raw: bytes, event, parse_error: str | None, status: EventStatus, now
) -> InboundEvent | None:
    """Insert the event unless its key is known; return it, or None for a redelivery."""
    insert = insert_for(session)
    values = {
        "dedup_key": events.dedup_key(body, raw),
        "event_name": str(body["event_name"])[:60],
        "zalo_user_id": (event.user_id if event else None),
        "body": raw.decode("utf-8", errors="replace"),
        "status": status,
        "error": parse_error,
        "event_time": event.timestamp if event else None,
        "received_at": now,
    }
    stmt = (
        insert(InboundEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[InboundEvent.dedup_key])
        .returning(InboundEvent)
    )
    # ORM RETURNING: the inserted row comes back as an object, no second read.
    return session.scalars(stmt).one_or_none()
