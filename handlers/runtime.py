"""Per-app runtime objects (engine, session factory, Zalo client, dispatcher) and the request session.

Handlers get a session with `db()`; it is opened lazily, bound to the request, and closed (rolled
back if uncommitted) at teardown. Handlers commit once per request.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.channels import load_templates
from bot.delivery import Dispatcher
from bot.ratelimit import RateLimiter
from bot.zalo.client import ZaloClient
from bot.zalo.tokens import TokenStore, fernet_for
from models.db import make_engine, make_session_factory
from models.direct_insert import DirectInsert
from models.event import insert_event_statement


@dataclass
class Runtime:
    """What one app instance shares between requests."""

    engine: Engine
    sessions: sessionmaker[Session]
    event_insert: DirectInsert  # the webhook's store-and-acknowledge INSERT (its own pool)
    zalo: ZaloClient
    tokens: TokenStore
    dispatcher: Dispatcher
    executor: ThreadPoolExecutor | None = field(default=None)

    def dispose(self) -> None:
        """Close every pooled database connection of this runtime."""
        self.engine.dispose()
        self.event_insert.engine.dispose()


def build_zalo_client(config: dict, tokens: TokenStore) -> ZaloClient:
    """Create the Zalo client from the app configuration, reading tokens from the store."""
    return ZaloClient(
        api_base=config["ZALO_API_BASE"],
        oauth_base=config["ZALO_OAUTH_BASE"],
        business_base=config["ZALO_BUSINESS_API_BASE"],
        app_id=config["ZALO_APP_ID"],
        app_secret=config["ZALO_APP_SECRET"] or "",
        access_token=tokens.access_token,
        timeout=config["ZALO_HTTP_TIMEOUT"],
    )


def init_app(app: Flask) -> None:
    """Create the runtime for `app` and register the request session teardown."""
    from cases import counts

    counts.install()
    engine = make_engine(app.config["DATABASE_URL"])
    sessions = make_session_factory(engine)
    config = app.config
    tokens = TokenStore(
        sessions,
        fernet_for(config["TOKEN_ENCRYPTION_KEY"], config["SECRET_KEY"]),
        seed=(config["ZALO_ACCESS_TOKEN"], config["ZALO_REFRESH_TOKEN"]),
    )
    zalo = build_zalo_client(config, tokens)
    limiter = RateLimiter(sessions, config["ZALO_RATE_LIMIT_PER_MINUTE"])
    # Work done after the response (applying stored events, sending replies) runs here.
    threads = config["DISPATCH_AFTER_COMMIT"] == "thread" or (
        config["WEBHOOK_PROCESSING"] == "background"
    )
    executor = (
        ThreadPoolExecutor(max_workers=2, thread_name_prefix="after-response") if threads else None
    )
    app.extensions["pakn"] = Runtime(
        engine=engine,
        sessions=sessions,
        # A pool of its own whose connections autocommit from the start: no isolation switch
        # and reset around each event, as on a connection shared with transactions.
        event_insert=DirectInsert(
            insert_event_statement(engine.dialect.name),
            make_engine(app.config["DATABASE_URL"], isolation_level="AUTOCOMMIT"),
        ),
        zalo=zalo,
        tokens=tokens,
        dispatcher=Dispatcher(
            sessions,
            zalo,
            tokens,
            limiter,
            templates=load_templates(config["ZALO_TEMPLATES"]),
            on_alert=lambda kind, text: alert(sessions, kind, text),
        ),
        executor=executor,
    )
    app.teardown_appcontext(_close_session)


def alert(sessions: sessionmaker[Session], kind: str, text: str) -> None:
    """Post a delivery alert for coordinators, at most once an hour per kind."""
    from cases.notices import post_notice
    from models import utcnow

    now = utcnow()
    with sessions() as session, session.begin():
        post_notice(
            session,
            kind,
            "coordinator",
            "Cảnh báo gửi tin Zalo",
            text,
            now,
            dedup_key=f"{kind}:{now:%Y%m%d%H}",
        )


def get_runtime(app: Flask | None = None) -> Runtime:
    """Return the runtime of `app` (default: the current app)."""
    return (app or current_app).extensions["pakn"]


def db() -> Session:
    """Return the session bound to the current request or app context."""
    if "db_session" not in g:
        g.db_session = get_runtime().sessions()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


def process_after_response(app: Flask, zalo_user_id: str | None) -> None:
    """Apply the user's stored events in the background, then send the replies."""
    runtime = get_runtime(app)
    if runtime.executor is None:
        return  # the worker's sweep applies them
    runtime.executor.submit(apply_stored_events, app, zalo_user_id)


def apply_stored_events(app: Flask, zalo_user_id: str | None) -> set[int]:
    """Apply a user's stored events and send what they produced (background thread or worker)."""
    from bot.conversation import BotSettings
    from bot.inbound import process_pending

    runtime = get_runtime(app)
    try:
        citizens = process_pending(
            runtime.sessions, BotSettings.from_config(app.config), zalo_user_id
        )
        for citizen_id in sorted(citizens):
            runtime.dispatcher.dispatch_citizen(citizen_id)
    except Exception:  # the worker's sweep retries; nothing is lost
        logging.getLogger(__name__).exception("applying stored events failed")
        return set()
    return citizens


def dispatch_after_commit(citizen_ids: set[int]) -> None:
    """Send what the request just queued for these citizens, best effort (the worker sweeps the rest)."""
    if not citizen_ids:
        return
    runtime = get_runtime()
    mode = current_app.config["DISPATCH_AFTER_COMMIT"]
    for citizen_id in sorted(citizen_ids):
        if mode == "inline":
            runtime.dispatcher.dispatch_citizen(citizen_id)
        elif mode == "thread" and runtime.executor is not None:
            runtime.executor.submit(runtime.dispatcher.dispatch_citizen, citizen_id)


def workflow_settings():
    """The workflow choices of this deployment."""
    from cases.workflow import Settings

    return Settings(coordinator_checks_answers=current_app.config["ANSWER_CHECK_BY_COORDINATOR"])
