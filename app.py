"""The Flask application factory: configuration, database, Zalo client, blueprints and CLI.

Nothing runs at import time; `create_app()` builds everything, so tests and the worker each get
their own instance.
"""

from __future__ import annotations

import logging
from typing import Any

from dotenv import load_dotenv
from flask import Flask

import config as config_module


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Create the app. With `test_config`, the environment and `.env` are ignored (hermetic tests)."""
    if test_config is None:
        load_dotenv()
        settings = config_module.load()
    else:
        settings = config_module.load(environ={}, overrides=test_config)

    app = Flask(__name__, template_folder="handlers/templates", static_folder="handlers/static")
    app.config.update(settings)
    app.config["MAX_CONTENT_LENGTH"] = settings.get("MAX_CONTENT_LENGTH", 16 * 1024 * 1024)
    _configure_logging(settings["LOG_LEVEL"])
    if settings["TRUSTED_PROXIES"]:
        # Behind nginx: take the client address from X-Forwarded-For (the public lookup's
        # throttle is per client) and the scheme from X-Forwarded-Proto.
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = settings["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    from handlers import cli, runtime

    runtime.init_app(app)
    _register_blueprints(app)
    cli.init_app(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from handlers import (
        admin,
        admin_faq,
        api,
        console,
        console_cases,
        console_figures,
        console_intake,
        console_public,
        console_reports,
        console_urge,
        console_zalo,
        poster,
        public,
        site,
        webhook,
    )

    app.register_blueprint(site.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(poster.bp)
    app.register_blueprint(webhook.bp)
    app.wsgi_app = webhook.WebhookFront(app, app.wsgi_app)  # type: ignore[method-assign]
    app.register_blueprint(console.bp)
    app.register_blueprint(console_cases.bp)
    app.register_blueprint(console_intake.bp)
    app.register_blueprint(console_zalo.bp)
    app.register_blueprint(console_figures.bp)
    app.register_blueprint(console_reports.bp)
    app.register_blueprint(console_public.bp)
    app.register_blueprint(console_urge.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(admin_faq.bp)
    app.register_blueprint(api.bp)
    if app.config["SANDBOX"]:
        from handlers import sandbox, simulator

        app.register_blueprint(sandbox.bp)
        app.register_blueprint(simulator.bp)


def _configure_logging(level: str) -> None:
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("bot").setLevel(level)
    logging.getLogger("cases").setLevel(level)
    logging.getLogger("handlers").setLevel(level)
