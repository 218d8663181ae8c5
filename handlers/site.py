"""The home page, Zalo's domain verification, and `/healthz` (database and worker state)."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, jsonify, render_template
from sqlalchemy import select, text

from handlers.runtime import db
from models import WorkerHeartbeat, utcnow

bp = Blueprint("site", __name__)

WORKER_STALE_AFTER = timedelta(seconds=60)


@bp.get("/")
def home():
    """Show the landing page, with Zalo's verification meta tag when configured."""
    return render_template(
        "home.html",
        verification=current_app.config.get("ZALO_SITE_VERIFICATION"),
        sandbox=current_app.config["SANDBOX"],
    )


@bp.get("/zalo_verifier<code>.html")
def zalo_verifier(code: str):
    """Serve the verification file Zalo asks for when the domain is verified."""
    expected = current_app.config.get("ZALO_SITE_VERIFICATION")
    if not expected or code != expected:
        abort(404)
    return render_template("zalo_verifier.html", code=code)


@bp.get("/healthz")
def healthz():
    """Report whether the database answers and whether the worker has beaten recently."""
    session = db()
    try:
        session.execute(text("SELECT 1"))
        database = "ok"
    except Exception as error:  # the health check must answer, whatever broke
        current_app.logger.error("health check: database error %s", type(error).__name__)
        database = "error"
    worker: dict = {"state": "unknown"}
    if database == "ok":
        beat = session.scalars(
            select(WorkerHeartbeat).order_by(WorkerHeartbeat.beat_at.desc())
        ).first()
        if beat is None:
            worker = {"state": "never-started"}
        else:
            age = utcnow() - beat.beat_at
            worker = {
                "state": "ok" if age <= WORKER_STALE_AFTER else "stale",
                "last_beat": beat.beat_at.isoformat(),
                "seconds_since_beat": int(age.total_seconds()),
            }
    status = 200 if database == "ok" else 503
    return jsonify(
        status="ok" if status == 200 else "error", database=database, worker=worker
    ), status
