"""Outbox dispatch throughput against a local fake Zalo, with and without the rate limit.

Run: `python -m bench.outbox [--db postgresql|sqlite] [--dispatchers 4] [--messages 6000]
[--limited-seconds 60]`. It creates a fresh database (a new PostgreSQL schema, or a SQLite file),
queues messages for many citizens, starts the fake Zalo (bench/fake_zalo.py) in its own process,
and runs N dispatcher processes that sweep until the queue is empty (or the time is up):

1. without a limit: messages per second the ledger can push (aim: at least 500/s);
2. with Zalo's 4,000 requests/minute enforced by the fake (which answers -32 past it) and the
   app's shared limiter set to the same limit: the share of the limit reached (aim: at least
   0.95) and the number of -32 answers (aim: zero).
Every message is checked to have been sent exactly once. Localhost only; bounded in time.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime

from cryptography.fernet import Fernet
from sqlalchemy import func, select

from bench.common import describe_machine, free_port, markdown_table
from bench.webhook import postgresql_database, sqlite_database
from bot.delivery import enqueue
from bot.zalo import messages
from models import Base, Citizen, Conversation, OutboxMessage, OutboxState, utcnow
from models.db import make_engine, make_session_factory

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
ACCESS, REFRESH = "bench-access", "bench-refresh"


def app_config(url: str, zalo: str, per_minute: int) -> dict:
    """The configuration of a dispatcher process."""
    return {
        "DATABASE_URL": url,
        "SECRET_KEY": "bench",
        "ZALO_APP_ID": "bench-app",
        "ZALO_APP_SECRET": "s",
        "ZALO_OA_SECRET_KEY": "k",
        "ZALO_OA_ID": "1",
        "ZALO_ACCESS_TOKEN": ACCESS,
        "ZALO_REFRESH_TOKEN": REFRESH,
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "ZALO_API_BASE": zalo,
        "ZALO_OAUTH_BASE": zalo,
        "ZALO_BUSINESS_API_BASE": zalo,
        "ZALO_RATE_LIMIT_PER_MINUTE": per_minute,
        "DISPATCH_AFTER_COMMIT": "off",
        "LOG_LEVEL": "WARNING",
    }


def seed(url: str, messages_count: int, citizens: int) -> None:
    """Create the schema and queue `messages_count` messages spread over `citizens`."""
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    now = utcnow()
    with make_session_factory(engine)() as session:
        ids = []
        for c in range(citizens):
            citizen = Citizen(zalo_user_id=f"8{c:018d}", last_interaction_at=now)
            session.add(citizen)
            session.flush()
            session.add(Conversation(citizen_id=citizen.id, state="idle", draft={}, updated_at=now))
            ids.append(citizen.id)
        for n in range(messages_count):
            enqueue(session, ids[n % citizens], messages.text(f"Thông báo số {n:06d}"), now=now)
        session.commit()
    engine.dispose()


def _dispatcher(config: dict, seconds: float, ready, counts) -> None:
    from app import create_app
    from handlers.runtime import get_runtime

    runtime = get_runtime(create_app(config))
    runtime.tokens.access_token()
    ready.wait(timeout=120)  # start the clock when every process is up
    stop_at = time.time() + seconds
    sent = 0
    while time.time() < stop_at:
        # Small sweeps when rate-limited, so the window's end is respected.
        done = runtime.dispatcher.sweep(limit=5 if config["ZALO_RATE_LIMIT_PER_MINUTE"] else 50)
        sent += done
        if done == 0 and _remaining(runtime) == 0:
            break
    counts.put(sent)
    runtime.dispose()


def _remaining(runtime) -> int:
    with runtime.sessions() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.state == OutboxState.PENDING)
            )
            or 0
        )


def run(db: str, dispatchers: int, count: int, per_minute: int, seconds: float) -> dict:
    """One measured run; returns the figures."""
    port = free_port()
    fake = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.fake_zalo",
            "--port",
            str(port),
            "--per-minute",
            str(per_minute),
            "--access-token",
            ACCESS,
            "--refresh-token",
            REFRESH,
        ],
        stdout=subprocess.DEVNULL,
    )
    zalo = f"http://127.0.0.1:{port}"
    try:
        _wait_for(zalo)
        databases = postgresql_database(PG_URL) if db == "postgresql" else sqlite_database()
        with databases as url:
            seed(url, count, citizens=max(count // 20, 1))
            config = app_config(url, zalo, per_minute)
            context = multiprocessing.get_context("spawn")
            counts, ready = context.Queue(), context.Barrier(dispatchers + 1)
            processes = [
                context.Process(target=_dispatcher, args=(config, seconds, ready, counts))
                for _ in range(dispatchers)
            ]
            for process in processes:
                process.start()
            ready.wait(timeout=120)
            start = time.time()
            sent = sum(counts.get(timeout=seconds + 120) for _ in processes)
            elapsed = time.time() - start
            for process in processes:
                process.join(timeout=30)
            stats = json.loads(urllib.request.urlopen(f"{zalo}/_stats", timeout=5).read())
            engine = make_engine(url)
            with engine.connect() as conn:
                sent_rows = conn.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.state == OutboxState.SENT)
                )
                # Exact figures from the ledger itself: when each row was recorded as sent.
                window_end = datetime.fromtimestamp(start + seconds, UTC)
                in_window = conn.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.sent_at <= window_end)
                )
                last = conn.scalar(select(func.max(OutboxMessage.sent_at)))
            engine.dispose()
    finally:
        fake.terminate()
        fake.wait(timeout=10)
    if per_minute:  # time-bound run: what the window let through
        measured, duration = in_window, seconds
    else:  # count-bound run: until the last message
        measured, duration = sent_rows, (last.timestamp() - start) if last else elapsed
    return {
        "db": db,
        "limit": per_minute,
        "dispatchers": dispatchers,
        "queued": count,
        "sent": sent,
        "sent_rows": sent_rows,
        "seconds": duration,
        "rate": measured / duration if duration else 0.0,
        "zalo": stats,
    }


def _wait_for(base: str) -> None:
    deadline = time.time() + 15
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{base}/_stats", timeout=1).read()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the fake Zalo did not start")


def main(argv: Sequence[str] | None = None) -> int:
    """Run both measurements and print a table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--dispatchers", type=int, default=4)
    parser.add_argument("--messages", type=int, default=6000)
    parser.add_argument("--limited-seconds", type=float, default=60)
    args = parser.parse_args(argv)

    machine = describe_machine()
    print(f"machine: {machine['nproc']} cores, {machine['cpu']}, Python {machine['python']}")
    free = run(args.db, args.dispatchers, args.messages, 0, 120)
    # Enough queued that the limiter, not the queue, decides the pace for the whole window.
    limited = run(
        args.db,
        args.dispatchers,
        int(4000 * args.limited_seconds / 60 * 1.5),
        4000,
        args.limited_seconds,
    )
    rows = []
    for result in (free, limited):
        limit = result["limit"]
        share = f"{result['rate'] * 60 / limit:.3f}" if limit else "-"
        rows.append(
            [
                result["db"],
                limit or "none",
                result["dispatchers"],
                result["sent"],
                f"{result['seconds']:.1f}",
                f"{result['rate']:.0f}",
                share,
                result["zalo"]["rate_limited"],
                result["zalo"]["duplicates"],
            ]
        )
    print(
        markdown_table(
            [
                "db",
                "limit/min",
                "dispatchers",
                "sent",
                "seconds",
                "msg/s",
                "share of limit",
                "-32 answers",
                "sent twice",
            ],
            rows,
        )
    )
    ok = (
        free["rate"] >= 500
        and limited["rate"] * 60 / 4000 >= 0.95
        and limited["zalo"]["rate_limited"] == 0
        and free["zalo"]["duplicates"] == 0
        and limited["zalo"]["duplicates"] == 0
        and free["sent_rows"] == args.messages
    )
    print("aims met" if ok else "aims NOT met")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
