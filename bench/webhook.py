"""Benchmark of webhook ingest (`POST /webhook/zalo`) under gunicorn, on SQLite and PostgreSQL.

    python -m bench.webhook [--db sqlite|postgresql|both] [--rates 100,250,500,1000] [--duration 10]

For each database it creates a fresh one (an SQLite file in a temporary directory; a PostgreSQL
schema it creates and drops), creates the schema with `flask db upgrade` (`create_all()` when
there are no migrations) and seeds the reference data, then starts gunicorn on a free 127.0.0.1
port serving `bench.webhook_app:create()`. The app is configured from the environment like
production, except `DISPATCH_AFTER_COMMIT=off`: replies stay queued in the outbox, because
sending them is the worker's job and this measures ingest only (and nothing may leave the
machine).

Traffic is correctly signed `user_send_text` events ("xin chào", answered by the menu) from a
fixed set of citizens, each with a unique msg_id, plus a share of exact redeliveries. A warm-up
sends one event per citizen, then each offered rate runs open-loop against the bare endpoint
(`/bench/bare`) and the webhook, then a closed-loop run finds each one's maximum throughput.
After every webhook step the stored `InboundEvent` rows must equal the unique events sent.
The table is printed in Markdown, ready for docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import Engine, func, select, text

from bench.common import (
    ROOT,
    GunicornServer,
    LoadResult,
    build_request,
    cpu_used,
    describe_code,
    describe_machine,
    markdown_table,
    process_cpu,
    run_closed_loop,
    run_open_loop,
    wait_for_quiet,
)
from bench.webhook_app import BARE_PATH
from bot.zalo.signature import signature_header
from models import Base, EventStatus, InboundEvent
from models.db import make_engine, make_session_factory

WEBHOOK_PATH = "/webhook/zalo"
APP_SPEC = "bench.webhook_app:create()"
MIGRATIONS = ROOT / "migrations" / "versions"
APP_ID = "3608465249409039670"
OA_ID = "3886132808788086450"
OA_SECRET = "bench-oa-secret-key"  # noqa: S105 (a throwaway key for a throwaway database)
GREETINGS = ("xin chào", "Xin chào", "chào bạn", "alo")
CPUS = len(os.sched_getaffinity(0))
WARM_UP_LIMIT = 30.0  # seconds
# Before each database, wait for other load on the machine to fall below this share of its CPU.
QUIET_BELOW = 0.15
APPLICATION_NAME = "bench_webhook"
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
# Closed-loop runs need a unique event per request: enough for this rate over the duration.
MAX_RUN_CEILING = 4000
AIM_RATE = 1000.0
AIM_P99_RATE = 500.0
AIM_P99_MS = 25.0
AIM_BARE_SHARE = 0.5


@dataclass
class Row:
    """One line of the result table."""

    db: str
    endpoint: str
    offered: str
    planned: int
    sent: int
    ok: int
    errors: int
    rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    lag_p99_ms: float
    client_cpu: float
    machine_cpu: float
    other_cpu: float
    server_cpu_ms: float
    db_cpu_ms: float | None
    stored: str
    error_kinds: str = ""


class EventFactory:
    """Builds signed webhook events with unique msg_ids, and exact redeliveries of earlier ones."""

    def __init__(self, users: int, redeliver_share: float, seed: int) -> None:
        self.users = [str(4_000_000_000_000_000_000 + 7919 * n) for n in range(users)]
        self.redeliver_share = redeliver_share
        self.rng = random.Random(seed)
        self.run_tag = uuid.uuid4().hex[:8]
        self.sequence = 0

    def event(self, user: str) -> tuple[bytes, dict[str, str], str]:
        """Return (body, headers, msg_id) of a new text event from `user`, as Zalo signs it."""
        self.sequence += 1
        msg_id = f"{self.run_tag}{self.sequence:024x}"
        timestamp = str(int(time.time() * 1000))
        body = {
            "app_id": APP_ID,
            "sender": {"id": user},
            "recipient": {"id": OA_ID},
            "user_id_by_app": "u" + user,
            "event_name": "user_send_text",
            "message": {"msg_id": msg_id, "text": self.rng.choice(GREETINGS)},
            "timestamp": timestamp,
        }
        raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json"}
        headers.update(signature_header(APP_ID, raw, timestamp, OA_SECRET))
        return raw, headers, msg_id

    def batch(
        self, port: int, count: int, path: str, redeliver: bool = True
    ) -> tuple[list[bytes], list[str]]:
        """Return `count` requests (some redeliveries) and the msg_id each one carries."""
        requests: list[bytes] = []
        keys: list[str] = []
        for index in range(count):
            # A redelivery repeats an event sent at least 100 requests earlier, byte for byte.
            if redeliver and index > 100 and self.rng.random() < self.redeliver_share:
                earlier = self.rng.randrange(index - 100)
                requests.append(requests[earlier])
                keys.append(keys[earlier])
                continue
            raw, headers, msg_id = self.event(self.rng.choice(self.users))
            requests.append(build_request(port, "POST", path, raw, headers))
            keys.append(msg_id)
        return requests, keys

    def one_per_user(self, port: int) -> tuple[list[bytes], list[str]]:
        """Return one event from every citizen (the warm-up that creates them all)."""
        requests, keys = [], []
        for user in self.users:
            raw, headers, msg_id = self.event(user)
            requests.append(build_request(port, "POST", WEBHOOK_PATH, raw, headers))
            keys.append(msg_id)
        return requests, keys


@contextmanager
def sqlite_database() -> Iterator[str]:
    """Yield the URL of a new SQLite database in a temporary directory (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="bench-sqlite-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


@contextmanager
def postgresql_database(base_url: str) -> Iterator[str]:
    """Yield the URL of a new schema in the PostgreSQL database `base_url`; drop it afterwards."""
    base = base_url.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in base else "?"
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def prepare_database(url: str, env: dict[str, str]) -> tuple[Engine, str]:
    """Create the schema and the reference data; return an engine for the checks and how."""
    from cases.demo import seed_reference_data

    engine = make_engine(url)
    if any(MIGRATIONS.glob("*.py")):
        # As a deployment does, in a child process: the same code the server will load.
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", APP_SPEC, "db", "upgrade"],
            cwd=ROOT,
            env={**os.environ, **env},
            check=True,
        )
        how = "flask db upgrade"
    else:
        Base.metadata.create_all(engine)
        how = "Base.metadata.create_all()"
    with make_session_factory(engine)() as session, session.begin():
        seed_reference_data(session)
    return engine, how


def count_events(engine: Engine) -> tuple[int, int]:
    """Return (stored events, events whose processing failed)."""
    with engine.connect() as conn:
        stored = conn.scalar(select(func.count()).select_from(InboundEvent)) or 0
        failed = (
            conn.scalar(select(func.count()).where(InboundEvent.status == EventStatus.FAILED)) or 0
        )
    return stored, failed


def wait_for_events(engine: Engine, expected: int, timeout: float = 10.0) -> tuple[int, int]:
    """Return the event counts once `expected` are stored (or after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        stored, failed = count_events(engine)
        if stored >= expected or time.monotonic() > deadline:
            return stored, failed
        time.sleep(0.2)


def app_environment(url: str, storage: Path) -> dict[str, str]:
    """Return the environment that configures the app under test, like a real OA's."""
    return {
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret",
        "ZALO_APP_ID": APP_ID,
        "ZALO_APP_SECRET": "bench-app-secret",
        "ZALO_OA_SECRET_KEY": OA_SECRET,
        "ZALO_OA_ID": OA_ID,
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        # Ingest only: events are stored and acknowledged (the worker, not running here, would
        # apply them); nothing is sent. Any stray call would go nowhere but here.
        "WEBHOOK_PROCESSING": "worker",
        "DISPATCH_AFTER_COMMIT": "off",
        "ZALO_API_BASE": "http://127.0.0.1:9",
        "ZALO_OAUTH_BASE": "http://127.0.0.1:9",
        "ZALO_BUSINESS_API_BASE": "http://127.0.0.1:9",
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        "STORAGE_DIR": str(storage),
    }


def to_row(
    db: str, endpoint: str, result: LoadResult, stored: str, server_cpu: float, db_cpu: float | None
) -> Row:
    """Summarise a load result as a table row (CPU seconds become milliseconds per answer)."""
    answered = max(1, result.ok)
    ours = (result.client_cpu + server_cpu + (db_cpu or 0.0)) / (CPUS * max(result.window, 1e-9))
    return Row(
        db=db,
        endpoint=endpoint,
        offered=f"{result.offered_rate:g}/s" if result.offered_rate else "max",
        planned=result.planned if result.offered_rate else 0,
        sent=result.sent,
        ok=result.ok,
        errors=result.error_count,
        rate=result.rate,
        p50_ms=result.latency_ms(0.50),
        p99_ms=result.latency_ms(0.99),
        max_ms=result.latency_ms(1.0),
        lag_p99_ms=result.lag_ms(0.99),
        client_cpu=result.client_cpu / result.elapsed if result.elapsed else 0.0,
        machine_cpu=result.machine_busy,
        other_cpu=max(0.0, result.machine_busy - ours),
        server_cpu_ms=server_cpu * 1000 / answered,
        db_cpu_ms=None if db_cpu is None else db_cpu * 1000 / answered,
        stored=stored,
        error_kinds=", ".join(f"{k}: {v}" for k, v in result.errors.most_common()),
    )


class WebhookBench:
    """Runs the load steps for one database against one gunicorn server."""

    def __init__(
        self, db: str, server: GunicornServer, engine: Engine, args: argparse.Namespace
    ) -> None:
        self.db = db
        self.server = server
        self.engine = engine
        self.args = args
        self.events = EventFactory(args.users, args.redeliver, args.seed)
        self.rows: list[Row] = []

    def db_pids(self) -> list[int]:
        """Return the PostgreSQL backends serving the app under test (none for SQLite)."""
        if self.db != "postgresql":
            return []
        with self.engine.connect() as conn:
            return list(
                conn.scalars(
                    text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": APPLICATION_NAME},
                )
            )

    def verify(self, result: LoadResult, keys: Sequence[str], before: tuple[int, int]) -> str:
        """Check that exactly the unique events sent were stored; return "stored/expected"."""
        unique = len({keys[i] for i in result.sent_indices})
        stored, failed = wait_for_events(self.engine, before[0] + unique)
        note = f"{stored - before[0]}/{unique}"
        if stored != before[0] + unique:
            note += " MISMATCH"
        if failed > before[1]:
            note += f" ({failed - before[1]} failed)"
        return note

    def warm_up(self) -> None:
        """Create every citizen (one event each) and warm both endpoints; not reported."""
        port, args = self.server.port, self.args
        requests, keys = self.events.one_per_user(port)
        before = count_events(self.engine)
        # Closed loop: every citizen's event is sent, however slow the server is.
        result = run_closed_loop(port, requests, WARM_UP_LIMIT, args.max_connections)
        note = self.verify(result, keys, before)
        if result.sent < len(requests) or "failed" in note or "MISMATCH" in note or result.errors:
            # A broken step logs a traceback per event: the figures would measure that.
            raise RuntimeError(
                f"warm-up events were not ingested cleanly (stored {note}, errors "
                f"{dict(result.errors)}); gunicorn log:\n{self.server.log_tail()}"
            )
        bare, _ = self.events.batch(port, 500, BARE_PATH, redeliver=False)
        run_open_loop(port, bare, 250, 2, args.connections, args.arrivals)
        print(
            f"[{self.db}] warm-up: {result.ok} events from {len(keys)} citizens, stored {note}",
            file=sys.stderr,
        )

    def step(self, endpoint: str, rate: float | None) -> Row:
        """Run one load step (open loop at `rate`, or closed loop when None) and record it."""
        args, port = self.args, self.server.port
        path = WEBHOOK_PATH if endpoint == "webhook" else BARE_PATH
        count = round((rate or MAX_RUN_CEILING) * args.duration)
        requests, keys = self.events.batch(port, count, path, redeliver=endpoint == "webhook")
        # Between steps the server is idle: whatever the machine does now is someone else's.
        wait_for_quiet(QUIET_BELOW, args.quiet_wait / 4)
        before = count_events(self.engine)
        server_pids, db_pids = self.server.pids(), self.db_pids()
        server0, db0 = process_cpu(server_pids), process_cpu(db_pids)
        if rate is None:
            result = run_closed_loop(
                port, requests, args.duration, args.max_connections, cycle=endpoint == "bare"
            )
        else:
            result = run_open_loop(
                port, requests, rate, args.duration, args.connections, args.arrivals, args.seed
            )
        server_cpu = cpu_used(server0, process_cpu(server_pids))
        db_cpu = cpu_used(db0, process_cpu(sorted({*db_pids, *self.db_pids()})))
        stored = self.verify(result, keys, before) if endpoint == "webhook" else "-"
        if result.exhausted:
            stored += " (ran out of events)"
        row = to_row(
            self.db,
            endpoint,
            result,
            stored,
            server_cpu,
            db_cpu if self.db == "postgresql" else None,
        )
        self.rows.append(row)
        print(
            f"[{self.db}] {endpoint} {row.offered}: {row.rate:.0f}/s, p50 {row.p50_ms:.1f} ms, "
            f"p99 {row.p99_ms:.1f} ms, errors {row.errors} {row.error_kinds}",
            file=sys.stderr,
        )
        if result.errors:
            print(self.server.log_tail(5), file=sys.stderr)
        return row

    def run(self) -> list[Row]:
        """Warm up, then every offered rate, then the maximum-throughput runs."""
        self.warm_up()
        for rate in self.args.rates:
            for endpoint in ("bare", "webhook"):
                self.step(endpoint, rate)
        for endpoint in ("bare", "webhook"):
            self.step(endpoint, None)
        return self.rows


@contextmanager
def database(db: str, pg_url: str) -> Iterator[str]:
    """Yield the URL of a fresh database of kind `db`, removed afterwards."""
    manager = sqlite_database() if db == "sqlite" else postgresql_database(pg_url)
    with manager as url:
        yield url


def bench_database(db: str, args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    """Run every step on a fresh database of kind `db`; return the rows and gunicorn settings."""
    with database(db, args.pg_url) as url, tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        busy = wait_for_quiet(QUIET_BELOW, args.quiet_wait)
        print(f"[{db}] CPU busy before the run (other load): {busy:.0%}", file=sys.stderr)
        # The server's connections carry a name, so that their backends' CPU can be measured.
        server_url = url + f"&application_name={APPLICATION_NAME}" if db == "postgresql" else url
        env = app_environment(server_url, Path(tmp) / "storage")
        engine, how = prepare_database(url, env)
        print(f"[{db}] schema created with {how}", file=sys.stderr)
        server = GunicornServer(
            APP_SPEC,
            env,
            args.workers,
            args.threads,
            Path(tmp) / "gunicorn.log",
        )
        try:
            with server:
                server.start(BARE_PATH)
                rows = WebhookBench(db, server, engine, args).run()
        finally:
            engine.dispose()
        return rows, server.settings


def check_aims(rows: Sequence[Row]) -> list[str]:
    """Say, per database, whether each aim of the issue was met."""
    lines = []
    for db in dict.fromkeys(row.db for row in rows):
        mine = {(r.endpoint, r.offered): r for r in rows if r.db == db}
        hook_max, bare_max = mine.get(("webhook", "max")), mine.get(("bare", "max"))
        at_p99 = mine.get(("webhook", f"{AIM_P99_RATE:g}/s"))
        if hook_max:
            met = hook_max.rate >= AIM_RATE and hook_max.errors == 0
            lines.append(
                f"{db}: >= {AIM_RATE:g} events/s: {_yes(met)} "
                f"({hook_max.rate:.0f}/s at max throughput)"
            )
        if at_p99:
            met = (
                at_p99.p99_ms < AIM_P99_MS and at_p99.errors == 0 and at_p99.sent == at_p99.planned
            )
            lines.append(
                f"{db}: p99 < {AIM_P99_MS:g} ms at {AIM_P99_RATE:g}/s: {_yes(met)} "
                f"(p99 {at_p99.p99_ms:.1f} ms)"
            )
        if hook_max:
            per_event = hook_max.server_cpu_ms + (hook_max.db_cpu_ms or 0.0)
            ceiling = CPUS * 1000 / per_event if per_event else 0.0
            lines.append(
                f"{db}: CPU per event {hook_max.server_cpu_ms:.2f} ms in gunicorn"
                + (f" + {hook_max.db_cpu_ms:.2f} ms in PostgreSQL" if hook_max.db_cpu_ms else "")
                + f": at most {ceiling:.0f} events/s on {CPUS} idle CPUs"
            )
        if hook_max and bare_max:
            share = hook_max.rate / bare_max.rate if bare_max.rate else 0.0
            lines.append(
                f"{db}: >= {AIM_BARE_SHARE:.0%} of the bare endpoint: "
                f"{_yes(share >= AIM_BARE_SHARE)} ({share:.0%}: "
                f"{hook_max.rate:.0f}/s vs {bare_max.rate:.0f}/s)"
            )
    return lines


def _yes(met: bool) -> str:
    return "met" if met else "NOT met"


def render(rows: Sequence[Row]) -> str:
    """Return the result table in Markdown."""
    headers = [
        "db",
        "endpoint",
        "offered",
        "sent",
        "errors",
        "achieved/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "client lag p99 ms",
        "client CPU",
        "machine CPU",
        "other load",
        "app CPU ms/req",
        "PG CPU ms/req",
        "stored/expected",
    ]
    table = [
        [
            r.db,
            r.endpoint,
            r.offered,
            r.sent,
            r.errors,
            f"{r.rate:.0f}",
            f"{r.p50_ms:.1f}",
            f"{r.p99_ms:.1f}",
            f"{r.max_ms:.1f}",
            f"{r.lag_p99_ms:.1f}" if r.offered != "max" else "-",
            f"{r.client_cpu:.0%}",
            f"{r.machine_cpu:.0%}",
            f"{r.other_cpu:.0%}",
            f"{r.server_cpu_ms:.2f}",
            "-" if r.db_cpu_ms is None else f"{r.db_cpu_ms:.2f}",
            r.stored,
        ]
        for r in rows
    ]
    return markdown_table(headers, table)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.webhook", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--rates",
        default="100,250,500,1000",
        help="offered loads in events/s, comma-separated (default 100,250,500,1000)",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load step (1-30)")
    parser.add_argument(
        "--workers", type=int, default=4, help="gunicorn worker processes (4: two per core)"
    )
    parser.add_argument("--threads", type=int, default=2, help="gunicorn threads per worker (2)")
    parser.add_argument(
        "--connections", type=int, default=64, help="client connections in the open-loop runs"
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=16,
        help="client connections in the maximum-throughput runs",
    )
    parser.add_argument("--users", type=int, default=1000, help="distinct citizens")
    parser.add_argument(
        "--redeliver",
        type=float,
        default=0.02,
        help="share of webhook requests that are exact redeliveries",
    )
    parser.add_argument("--arrivals", choices=("poisson", "uniform"), default="poisson")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--pg-url",
        default=DEFAULT_PG_URL,
        help=f"PostgreSQL database to create a schema in (default {DEFAULT_PG_URL})",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60.0,
        help="seconds to wait, at most, for other load to settle before each database, and a "
        "quarter of it before each step (0: no wait)",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    args.rates = [float(r) for r in args.rates.split(",") if r.strip()]
    if not 1 <= args.duration <= 30:
        parser.error("--duration must be between 1 and 30 seconds")
    if not args.rates or min(args.rates) <= 0 or max(args.rates) > MAX_RUN_CEILING:
        parser.error(f"--rates must be positive and at most {MAX_RUN_CEILING}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the machine, the settings, the table and the aims."""
    args = parse_args(argv)
    machine = describe_machine()
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    rows: list[Row] = []
    settings: list[str] = []
    for db in dbs:
        db_rows, settings = bench_database(db, args)
        rows += db_rows
    print(
        f"machine: {machine['nproc']} CPUs, {machine['cpu']}, Linux {machine['kernel']}, "
        f"Python {machine['python']}"
    )
    print(f"code: {describe_code()}")
    print(f"gunicorn: {' '.join(settings)}")
    print(
        f"load: {args.duration:g} s per step, {args.arrivals} arrivals, {args.connections} "
        f"connections (open loop), {args.max_connections} (max), {args.users} citizens, "
        f"{args.redeliver:.0%} redeliveries"
    )
    print()
    print(render(rows))
    print()
    for line in check_aims(rows):
        print(line)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine,
                    "code": describe_code(),
                    "gunicorn": settings,
                    "rows": [asdict(r) for r in rows],
                },
                indent=2,
            )
        )
    errors = sum(r.errors for r in rows)
    mismatches = sum("MISMATCH" in r.stored for r in rows)
    return 1 if errors or mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
