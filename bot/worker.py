"""The background worker: one process running APScheduler jobs with stable ids.

Jobs are declared as data (id, function, interval). Each runs in an app context, opens its own
sessions and commits its own work; `coalesce` and `max_instances=1` keep a slow job from piling
up. SIGTERM and SIGINT shut the scheduler down cleanly.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from apscheduler.schedulers.blocking import BlockingScheduler
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.attachments import DownloadPolicy, download_pending
from bot.digest import post_held_digest
from bot.flows import survey
from bot.zalo.tokens import TokenUnavailableError
from cases import monitoring, privacy, undelivered
from cases.clock import LOCAL_TZ
from models import WorkerHeartbeat, utcnow
from models.db import insert_for

log = logging.getLogger(__name__)
WORKER_NAME = "main"
WORKER_LOCK_KEY = 0x5A4C4F574B  # "ZLOWK"
# Reminders to staff and messages to citizens go out in the daytime only (local hours): a date
# turning at midnight must not wake anybody up, and Zalo refuses some messages at night.
DAYTIME_HOURS = range(7, 20)


@dataclass(frozen=True)
class Job:
    """A periodic job: stable id, what to run, every how many seconds."""

    id: str
    run: Callable[[Flask], object]
    seconds: int


def apply_events(app: Flask) -> object:
    """Apply webhook events stored but not applied yet (after a crash, or in `worker` mode)."""
    from bot.inbound import pending_users
    from handlers.runtime import apply_stored_events, get_runtime

    return sum(
        len(apply_stored_events(app, user)) for user in pending_users(get_runtime(app).sessions)
    )


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
        insert = insert_for(session)
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


def refresh_token(app: Flask) -> object:
    """Refresh the access token before it expires (the single-use refresh token rotates)."""
    from datetime import timedelta

    from handlers.runtime import get_runtime

    runtime = get_runtime(app)
    margin = timedelta(minutes=app.config["TOKEN_REFRESH_MARGIN_MINUTES"])
    try:
        return runtime.tokens.refresh_if_expiring(runtime.zalo, margin)
    except TokenUnavailableError:
        return False  # logged where it happened; the console shows the banner


def digest_held(app: Flask) -> object:
    """Once a day, list for coordinators the answers still waiting for their citizen."""
    from handlers.runtime import get_runtime

    now = utcnow()
    if now.astimezone(LOCAL_TZ).hour < app.config["HELD_DIGEST_HOUR"]:
        return False
    with get_runtime(app).sessions() as session, session.begin():
        return post_held_digest(session, now)


def _is_daytime(now: datetime) -> bool:
    return now.astimezone(LOCAL_TZ).hour in DAYTIME_HOURS


def _in_transaction(
    app: Flask, work: Callable[[Session, datetime], object], now: datetime
) -> object:
    from handlers.runtime import get_runtime

    with get_runtime(app).sessions() as session, session.begin():
        return work(session, now)


def recount_undelivered_flags(app: Flask) -> object:
    """Rebuild the cases' "not yet delivered" flag from the outbox: it closes the rare race of
    two transactions changing one case's messages at once (docs/decisions.md)."""
    return _in_transaction(
        app, lambda session, _now: undelivered.recount_undelivered(session), utcnow()
    )


def remind_deadlines(app: Flask) -> object:
    """Remind units of cases due soon or late and escalate late answers (daytime only)."""
    now = utcnow()
    if not _is_daytime(now):
        return False
    return _in_transaction(app, monitoring.scan_deadlines, now)


def digest_deadlines(app: Flask) -> object:
    """Once a day, give coordinators the open and late cases per unit."""
    now = utcnow()
    if now.astimezone(LOCAL_TZ).hour < app.config["HELD_DIGEST_HOUR"]:
        return False
    return _in_transaction(app, monitoring.post_deadline_digest, now)


def update_late_cases(app: Flask) -> object:
    """Send the citizens of late cases their periodic progress update (daytime only)."""
    now = utcnow()
    if not _is_daytime(now):
        return False
    return _in_transaction(app, monitoring.send_progress_updates, now)


def ask_satisfaction(app: Flask) -> object:
    """Ask citizens whose answer reached them whether it resolved their problem (daytime only)."""
    now = utcnow()
    if not _is_daytime(now):
        return False
    return _in_transaction(app, survey.ask_surveys, now)


def period_reports(app: Flask) -> object:
    """After each quarter, half-year and year, store its report once and tell coordinators."""
    from functools import partial

    from cases.report_files import generate_due_reports

    now = utcnow()
    if now.astimezone(LOCAL_TZ).hour < app.config["HELD_DIGEST_HOUR"]:
        return False
    storage = Path(app.config["STORAGE_DIR"])
    return _in_transaction(app, partial(generate_due_reports, storage_dir=storage), now)


def retain_personal_data(app: Flask) -> object:
    """Anonymise personal data past PERSONAL_DATA_RETENTION_DAYS, a bounded batch per run, and
    close messages queued for citizens already anonymised."""
    days = app.config["PERSONAL_DATA_RETENTION_DAYS"]
    return _in_transaction(
        app, lambda session, now: privacy.retention_sweep(session, now, days), utcnow()
    )


def download_policy(config: dict) -> DownloadPolicy:
    """The attachment download policy from the app configuration."""
    hosts = tuple(h.strip().lower() for h in config["ATTACHMENT_URL_HOSTS"].split(",") if h.strip())
    return DownloadPolicy(Path(config["STORAGE_DIR"]), config["ATTACHMENT_MAX_BYTES"], hosts)


def jobs(config: dict) -> list[Job]:
    """The worker's schedule."""
    return [
        Job("event-apply", apply_events, config["WORKER_SWEEP_SECONDS"]),
        Job("outbox-sweep", sweep_outbox, config["WORKER_SWEEP_SECONDS"]),
        Job("attachment-download", download_attachments, 5),
        Job("heartbeat", beat, 15),
        Job("token-refresh", refresh_token, 300),
        Job("held-digest", digest_held, 900),
        Job("deadline-reminders", remind_deadlines, 900),
        Job("deadline-digest", digest_deadlines, 900),
        Job("late-progress", update_late_cases, 900),
        Job("satisfaction-survey", ask_satisfaction, 300),
        Job("personal-data-retention", retain_personal_data, 3600),
        Job("period-report", period_reports, 3600),
        Job("undelivered-recount", recount_undelivered_flags, 6 * 3600),
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


class WorkerLockError(Exception):
    """Another worker already runs against this database."""


@contextmanager
def single_worker(app: Flask) -> Iterator[None]:
    """Hold the one-worker-per-database lock for as long as the worker runs."""
    from handlers.runtime import get_runtime

    engine = get_runtime(app).engine
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            got = connection.scalar(select(func.pg_try_advisory_lock(WORKER_LOCK_KEY)))
            connection.commit()
            if not got:
                raise WorkerLockError("another worker is already running against this database")
            try:
                yield
            finally:
                connection.execute(select(func.pg_advisory_unlock(WORKER_LOCK_KEY)))
                connection.commit()
        return
    database = engine.url.database or "memory"
    with open(f"{database}.worker.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WorkerLockError(
                "another worker is already running against this database"
            ) from None
        yield


def run_worker(app: Flask) -> None:
    """Run the worker until SIGTERM or SIGINT; refuse if another one runs."""
    with single_worker(app):
        _run(app)


def _run(app: Flask) -> None:
    scheduler = build_scheduler(app)

    def stop(signum: int, _frame: object) -> None:
        log.info("worker: signal %s, shutting down", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.warning("worker started (pid %s)", os.getpid())
    scheduler.start()
