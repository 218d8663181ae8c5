"""The background worker: one process running APScheduler jobs with stable ids.

Jobs are declared as data (id, function, interval). Each runs in an app context, opens its own
sessions and commits its own work; `coalesce` and `max_instances=1` keep a slow job from piling
up. SIGTERM and SIGINT shut the scheduler down cleanly.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy.dialects import postgresql, sqlite

from bot.attachments import DownloadPolicy, download_pending
from models import WorkerHeartbeat, utcnow

log = logging.getLogger(__name__)
WORKER_NAME = "main"


@dataclass(frozen=True)
class Job:
    """A periodic job: stable id, what to run, every how many seconds."""

    id: str
    run: Callable[[Flask], object]
    seconds: int


def sweep_outbox(app: Flask) -> object:
    """Send every due outbox row."""
    from handlers.runtime import get_runtime

    return get_runtime(app).dispatcher.sweep()


def download_attachments(app: Flask) -> object:
    """Store the citizens' photos and files from Zalo's CDN."""
    from handlers.runtime import get_runtime

    return download_pending(get_runtime(app).sessions, download_policy(app.config))


def beat(app: Flask) -> object:
    """Record that the worker is alive (read by /healthz)."""
    from handlers.runtime import get_runtime

    sessions = get_runtime(app).sessions
    now = utcnow()
    with sessions() as session, session.begin():
        insert = (
            postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        )
        stmt = insert(WorkerHeartbeat).values(
            name=WORKER_NAME,
            host=socket.gethostname(),
            pid=os.getpid(),
            started_at=now,
            beat_at=now,
        )
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=[WorkerHeartbeat.name],
                set_={"beat_at": now, "pid": os.getpid(), "host": socket.gethostname()},
            )
        )
    return None


def download_policy(config: dict) -> DownloadPolicy:
    """The attachment download policy from the app configuration."""
    hosts = tuple(h.strip().lower() for h in config["ATTACHMENT_URL_HOSTS"].split(",") if h.strip())
    return DownloadPolicy(Path(config["STORAGE_DIR"]), config["ATTACHMENT_MAX_BYTES"], hosts)


def jobs(config: dict) -> list[Job]:
    """The worker's schedule."""
    return [
        Job("outbox-sweep", sweep_outbox, config["WORKER_SWEEP_SECONDS"]),
        Job("attachment-download", download_attachments, 5),
        Job("heartbeat", beat, 15),
    ]


def _guarded(app: Flask, job: Job) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            try:
                job.run(app)
            except Exception:  # a failing job is logged and retried at its next run
                log.exception("job %s failed", job.id)

    return run


def build_scheduler(app: Flask) -> BlockingScheduler:
    """Create the scheduler with every job registered (not started)."""
    scheduler = BlockingScheduler(timezone="UTC")
    for job in jobs(app.config):
        scheduler.add_job(
            _guarded(app, job),
            "interval",
            seconds=job.seconds,
            id=job.id,
            coalesce=True,
            max_instances=1,
            replace_existing=True,
            next_run_time=utcnow(),
        )
    return scheduler


def run_worker(app: Flask) -> None:
    """Run the worker until SIGTERM or SIGINT."""
    scheduler = build_scheduler(app)

    def stop(signum: int, _frame: object) -> None:
        log.info("worker: signal %s, shutting down", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.warning("worker started (pid %s)", os.getpid())
    scheduler.start()
