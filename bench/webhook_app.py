"""The app gunicorn serves during `python -m bench.webhook`: the real app plus a bare endpoint.

`create()` builds the application exactly as production does (`create_app()`, configured from the
environment) and adds `POST /bench/bare`, which reads the body and answers 200 without touching
the database: the same server, workers and threads, so the difference between the two endpoints
is the cost of the webhook's own work.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify, request

from app import create_app

BARE_PATH = "/bench/bare"


def bare() -> Response:
    """Read the body and answer 200 with the webhook's JSON: the floor of this server's cost."""
    request.get_data()
    return jsonify(status="ok")


def create() -> Flask:
    """Create the app from the environment, with the bare benchmark endpoint added."""
    app = create_app()
    app.add_url_rule(BARE_PATH, "bench_bare", bare, methods=["GET", "POST"])
    return app
