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
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

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
