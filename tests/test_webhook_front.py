"""The deferred webhook path: `WebhookFront`, the direct INSERT and SQLite's writer queue."""

from __future__ import annotations

import fcntl
import json
import logging
import multiprocessing
import os
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from handlers.runtime import get_runtime
from models import EventStatus, InboundEvent
from models.direct_insert import DirectInsert, SqliteWriterQueue
from tests.conftest import Webhook, load_fixture


def values(key: str, **changes) -> dict:
    row = {
        "dedup_key": key,
        "event_name": "user_send_text",
        "zalo_user_id": "2468458835291979220",
        "body": '{"text": "Xin chào"}',
        "status": EventStatus.RECEIVED,
        "error": None,
        "event_time": datetime(2026, 11, 27, 9, 30, 15, 250000, tzinfo=UTC),
        "received_at": datetime(2026, 11, 27, 9, 30, 16, tzinfo=UTC),
    }
    return row | changes


@pytest.fixture
def worker_app(make_app):
    return make_app(WEBHOOK_PROCESSING="worker")


def test_front_answers_json_and_stores_the_event(worker_app, session):
    response = Webhook(worker_app.test_client()).post(load_fixture("user_send_text"))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json == {"status": "ok"}
    row = session.scalars(select(InboundEvent)).one()
    assert row.status is EventStatus.RECEIVED


def test_front_leaves_other_paths_and_methods_to_flask(worker_app):
    client = worker_app.test_client()
    assert client.get("/webhook/zalo").json == {"status": "ok"}  # the Flask probe route
    assert client.get("/healthz").status_code in (200, 503)
    assert client.post("/webhook/zalo/other").status_code == 404


def test_database_failure_is_a_500_that_zalo_retries_and_is_logged(worker_app, session, caplog):
    with get_runtime(worker_app).engine.begin() as connection:
        connection.execute(text("ALTER TABLE inbound_event RENAME TO inbound_event_away"))
    hook = Webhook(worker_app.test_client())
    body = load_fixture("user_send_text")
    with caplog.at_level(logging.ERROR, logger="handlers.webhook"):
        response = hook.post(body)
    assert response.status_code == 500 and response.json == {"error": "internal error"}
    assert "webhook event not stored" in caplog.text
    with get_runtime(worker_app).engine.begin() as connection:
        connection.execute(text("ALTER TABLE inbound_event_away RENAME TO inbound_event"))
    # Zalo redelivers the same bytes: now stored once, and the pool works after the failure.
    assert hook.post_raw(json.dumps(body).encode(), body["timestamp"]).json == {"status": "ok"}
    assert session.scalar(select(func.count()).select_from(InboundEvent)) == 1


def ingest_insert(app) -> DirectInsert:
    return get_runtime(app).event_insert


def test_direct_insert_stores_what_the_orm_reads_back(app, session):
    insert = ingest_insert(app)
    row_id = insert.scalar(values("k-1"))
    assert isinstance(row_id, int)
    assert insert.scalar(values("k-1", body="again")) is None  # the key collides: no second row
    row = session.get_one(InboundEvent, row_id)  # another connection sees it: committed
    expected = values("k-1")
    assert row.status is EventStatus.RECEIVED and row.body == expected["body"]
    assert row.event_time == expected["event_time"]
    assert row.received_at == expected["received_at"]
    assert session.scalar(select(func.count()).select_from(InboundEvent)) == 1


def test_the_ingest_pool_is_apart_from_the_transactional_one(app):
    """The autocommit pool of the webhook must not leak autocommit into requests' sessions."""
    runtime = get_runtime(app)
    assert runtime.event_insert.engine is not runtime.engine
    ingest_insert(app).scalar(values("committed"))
    with runtime.sessions() as session:
        session.add(InboundEvent(**values("rolled-back")))
        session.flush()
        session.rollback()
    with runtime.sessions() as session:
        assert session.scalars(select(InboundEvent.dedup_key)).all() == ["committed"]


def test_a_failed_statement_discards_its_connection(app):
    insert = ingest_insert(app)
    with insert.engine.begin() as connection:
        connection.execute(text("ALTER TABLE inbound_event RENAME TO inbound_event_away"))
    with pytest.raises(Exception, match="inbound_event"):
        insert.scalar(values("lost"))
    assert insert.engine.pool.checkedout() == 0  # returned (invalidated), not leaked
    with insert.engine.begin() as connection:
        connection.execute(text("ALTER TABLE inbound_event_away RENAME TO inbound_event"))
    assert isinstance(insert.scalar(values("stored")), int)


def _try_lock(path: str, answer) -> None:
    descriptor = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        answer.put("acquired")
    except BlockingIOError:
        answer.put("blocked")
    finally:
        os.close(descriptor)


def test_writer_queue_excludes_other_processes_and_threads(tmp_path):
    queue = SqliteWriterQueue(str(tmp_path / "db.sqlite-writers.lock"))
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    with queue:
        assert queue.threads.acquire(blocking=False) is False  # another thread would wait
        child = context.Process(target=_try_lock, args=(queue.path, answers))
        child.start()
        child.join()
        assert answers.get() == "blocked"  # another process would wait
    child = context.Process(target=_try_lock, args=(queue.path, answers))
    child.start()
    child.join()
    assert answers.get() == "acquired"  # released for everyone


def _lock_after_fork(queue: SqliteWriterQueue, answer) -> None:
    try:
        fcntl.flock(queue.lock_descriptor(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        answer.put("acquired")
    except BlockingIOError:
        answer.put("blocked")


def test_writer_queue_reopens_its_lock_after_a_fork(tmp_path):
    """A descriptor inherited through fork shares the parent's lock: the child must not use it."""
    queue = SqliteWriterQueue(str(tmp_path / "db.sqlite-writers.lock"))
    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    with queue:
        child = context.Process(target=_lock_after_fork, args=(queue, answers))
        child.start()
        child.join()
    assert answers.get() == "blocked"


def test_sqlite_engines_get_a_writer_queue_and_postgresql_none(app):
    insert = ingest_insert(app)
    engine = insert.engine
    if engine.dialect.name == "sqlite":
        assert isinstance(insert.queue, SqliteWriterQueue)
        assert insert.queue.path == f"{engine.url.database}-writers.lock"
    else:
        assert not isinstance(insert.queue, SqliteWriterQueue)
