"""Shared helpers for browser tests: a live werkzeug server in a thread and a headless Chromium.

The server binds a free 127.0.0.1 port before the app exists (the app's PUBLIC_BASE_URL must name
that port), then serves the app once it is plugged in. Chromium is Debian's (`/usr/bin/chromium`,
driven by Playwright); without it the tests are skipped with a message saying how to install it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from handlers.runtime import get_runtime
from models import Field

CHROMIUM = Path("/usr/bin/chromium")
SKIP_MESSAGE = "browser tests need Chromium at /usr/bin/chromium: apt-get install -y chromium"
# Without the background-networking flags Chromium keeps calling outside hosts and slows down.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# How long a Playwright wait (an action or an `expect`) may take before the test fails.
TIMEOUT_MS = 15_000


def require_chromium() -> None:
    """Skip the calling test unless Chromium and Playwright are both installed."""
    if not CHROMIUM.exists():
        pytest.skip(SKIP_MESSAGE)
    pytest.importorskip(
        "playwright.sync_api", reason="browser tests need Playwright: pip install playwright"
    )


class _TestHandler(WSGIRequestHandler):
    """Quiet, and keeps header names with an underscore (Zalo's `access_token`, `secret_key`).

    werkzeug's server drops such headers, as gunicorn does by default; the sandbox needs them
    when the bot calls it over HTTP (like gunicorn's `--header-map dangerous`).
    """

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        for key, value in self.headers.items():
            if "_" in key:
                environ["HTTP_" + key.upper().replace("-", "_")] = value
        return environ

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class LiveServer:
    """A threaded werkzeug server on 127.0.0.1; `url` is known before the app is plugged in."""

    def __init__(self) -> None:
        self._app: Callable | None = None
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, self._wsgi, threaded=True, request_handler=_TestHandler
        )
        self.port: int = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="live-server", daemon=True
        )

    def _wsgi(self, environ: dict, start_response: Callable) -> Any:
        if self._app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no app yet"]
        return self._app(environ, start_response)

    def serve(self, app: Callable) -> None:
        """Start answering requests with `app`."""
        self._app = app
        self._thread.start()

    def stop(self) -> None:
        """Stop the server and release its port."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()


@contextmanager
def live_server() -> Iterator[LiveServer]:
    """A live server bound to a free port, stopped on exit."""
    server = LiveServer()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Playwright `Browser`), closed on exit; skips when it is missing."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


# --- the chat simulator, as a citizen uses it ---------------------------------------------


def expect_():
    """Playwright's `expect` with the browser tests' timeout."""
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT_MS)
    return expect


def bot_bubble(page, text: str):
    """The latest bubble from the OA containing `text` (a Playwright locator)."""
    return page.locator('.bubble[data-from="oa"]').filter(has_text=text).last


def tap(page, question: str, button: str) -> None:
    """Wait for the bot's menu with `question`, then tap its button titled `button`."""
    bot_bubble(page, question).get_by_role("button", name=button, exact=True).click()


def type_text(page, text: str) -> None:
    """Type a message in the composer, send it, and wait until it was accepted."""
    page.get_by_label("Tin nhắn").fill(text)
    page.get_by_role("button", name="Gửi", exact=True).click()
    expect_()(page.get_by_label("Tin nhắn")).to_have_value("")


def field_number(app, code: str) -> str:
    """The number the field has in the bot's list (fields are too many for buttons)."""
    with get_runtime(app).sessions() as session:
        fields = session.scalars(
            select(Field).where(Field.active.is_(True)).order_by(Field.sort_order, Field.name)
        ).all()
    return str([f.code for f in fields].index(code) + 1)


def open_simulator(page) -> str:
    """Open the page; return the id of the citizen it created."""
    page.goto("/simulator")
    tab = page.get_by_role("tab").first
    expect_()(tab).to_have_attribute("aria-selected", "true")
    return tab.get_attribute("data-user-id")
