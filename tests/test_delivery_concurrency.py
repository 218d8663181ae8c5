"""What only PostgreSQL can show: parallel dispatchers and processes racing for one token.

- 4 dispatchers against 2,000 queued rows: each row sent exactly once, every citizen's rows in
  order (`FOR UPDATE SKIP LOCKED` on the citizen's conversation row).
- 8 processes hitting -216 at once: exactly one refresh call, no refresh token used twice
  (PostgreSQL advisory lock, re-read after taking it).
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bench.fake_zalo import FakeZalo, FakeZaloState
from bot.delivery import enqueue
from bot.zalo import messages
from handlers.runtime import get_runtime
from models import Citizen, Conversation, OutboxMessage, OutboxState, utcnow
from tests.conftest import PG_URL, base_config

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL only (set TEST_DATABASE_URL)")


def seed_rows(session, citizens: int, per_citizen: int) -> None:
    now = utcnow()
    for c in range(citizens):
        citizen = Citizen(zalo_user_id=f"9{c:018d}", last_interaction_at=now)
        session.add(citizen)
        session.flush()
        session.add(Conversation(citizen_id=citizen.id, state="idle", draft={}, updated_at=now))
        for n in range(per_citizen):
            enqueue(session, citizen.id, messages.text(f"{c}:{n:03d}"), now=now)
    session.commit()


@pytest.fixture
def fake_zalo():
    fake = FakeZalo(
        FakeZaloState(access_token="test-access-token", refresh_token="test-refresh-token")
    )
    url = fake.serve()
    yield fake, url
    fake.stop()


def test_four_dispatchers_send_two_thousand_rows_exactly_once_in_order(
    make_app, session, fake_zalo
):
    fake, url = fake_zalo
    app = make_app(ZALO_API_BASE=url, ZALO_OAUTH_BASE=url)
    seed_rows(session, citizens=100, per_citizen=20)
    dispatchers = [get_runtime(app).dispatcher for _ in range(4)]
    barrier = threading.Barrier(4)

    def run(dispatcher) -> int:
        barrier.wait(timeout=10)
        sent = 0
        while (n := dispatcher.sweep()) > 0:
            sent += n
        return sent

    with ThreadPoolExecutor(max_workers=4) as pool:
        counts = list(pool.map(run, dispatchers))
    assert sum(counts) == 2000
    assert sum(fake.state.sends.values()) == 2000
    assert max(fake.state.sends.values()) == 1  # exactly once
    by_citizen: dict[str, list[str]] = defaultdict(list)
    for user_id, text in fake.state.order:
        by_citizen[user_id].append(text)
    assert all(texts == sorted(texts) for texts in by_citizen.values())  # order kept
    assert len(by_citizen) == 100
    assert (
        session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.state == OutboxState.SENT)
        )
        == 2000
    )


def _race_for_the_token(config: dict, citizen_id: int, barrier, results) -> None:
    """One process: a dispatcher whose stale token gets -216 at the same moment as the others."""
    from app import create_app

    app = create_app(config)
    runtime = get_runtime(app)
    runtime.tokens.access_token()  # cache the (soon stale) token, as a long-running process has
    barrier.wait(timeout=60)
    results.put(runtime.dispatcher.dispatch_citizen(citizen_id))
    runtime.engine.dispose()


def test_eight_processes_hitting_216_refresh_exactly_once(
    make_app, session, fake_zalo, tmp_path, database_url
):
    fake, url = fake_zalo
    app = make_app(ZALO_API_BASE=url, ZALO_OAUTH_BASE=url)
    get_runtime(app).tokens.access_token()  # seed the stored pair from the configuration
    fake.state.access_token = "rotated-by-zalo"  # every process's cached token is now invalid
    seed_rows(session, citizens=8, per_citizen=1)
    citizen_ids = session.scalars(select(Citizen.id).order_by(Citizen.id)).all()
    config = base_config(database_url, tmp_path, ZALO_API_BASE=url, ZALO_OAUTH_BASE=url)

    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(8), context.Queue()
    processes = [
        context.Process(target=_race_for_the_token, args=(config, cid, barrier, queue))
        for cid in citizen_ids
    ]
    for process in processes:
        process.start()
    results = [queue.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=30)
    assert [p.exitcode for p in processes] == [0] * 8
    # -216 tells us the token is invalid; the fake then needs a real refresh to accept sends.
    assert fake.state.refresh_calls == 1
    assert fake.state.refused_refresh_tokens == []
    assert sum(results) == 8 and sum(fake.state.sends.values()) == 8
