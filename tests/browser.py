"""Shared helpers for browser tests: a live werkzeug server in a thread and a headless Chromium.

The server binds a free 127.0.0.1 port before the app exists (the app's PUBLIC_BASE_URL must name
that port), then serves the app once it is plugged in. Chromium is Debian's (`/usr/bin/chromium`,
driven by Playwright); without it the tests are skipped with a message saying how to install it.

Also here: a sandbox app served with its seed data (`serve_sandbox`), pages in browser contexts
of their own (`open_pages`), the chat simulator as a citizen uses it, the staff console as staff
use it (`log_in`, `act`), and where screenshots for the docs go (`screenshot_dir`).
"""

from __future__ import annotations

import os
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
# A phone-sized window for the citizen's chat; staff use a desktop browser.
PHONE = {"width": 430, "height": 860}
DESKTOP = {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"


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


@contextmanager
def serve_sandbox(build: Callable[..., Any], seed: Callable[[Any], None]) -> Iterator[tuple]:
    """Build a sandbox app with `build`, seed it with `seed(session)`, serve it on a live port.

    Yields `(app, server)`. Replies the web process sends in a thread (as in production) reach
    the sandbox before the server stops.
    """
    require_chromium()
    with live_server() as server:
        app = build(ZALO_APP_ID=None, PUBLIC_BASE_URL=server.url, DISPATCH_AFTER_COMMIT="thread")
        with get_runtime(app).sessions() as session, session.begin():
            seed(session)
        server.serve(app)
        try:
            yield app, server
        finally:
            get_runtime(app).executor.shutdown(wait=True)


@contextmanager
def open_pages(browser: Any, base_url: str) -> Iterator[Callable[[dict[str, int]], Any]]:
    """Open pages with a viewport, each in a browser context of its own (one per person).

    Every context opened is closed on exit.
    """
    contexts: list[Any] = []

    def open_page(viewport: dict[str, int]) -> Any:
        context = browser.new_context(base_url=base_url, viewport=viewport, locale="vi-VN")
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        return page

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()


def saving_screenshots() -> bool:
    """Tell whether this run writes the docs' screenshots (SAVE_SCREENSHOTS=1)."""
    return os.environ.get("SAVE_SCREENSHOTS") == "1"


def screenshot_dir(fallback: Path, *parts: str) -> Path:
    """Where screenshots for the docs go: docs/screenshots/<parts> when SAVE_SCREENSHOTS=1, else
    `fallback` (the test's own temporary folder). The folder exists on return."""
    folder = SCREENSHOTS.joinpath(*parts) if saving_screenshots() else fallback
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def compact_png(path: Path) -> None:
    """Save a screenshot again with a 256-colour palette: a console page looks the same and the
    file is a third of the size, which matters for PNGs kept in the repository."""
    from PIL import Image

    with Image.open(path) as image:
        palette = image.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
    palette.save(path, optimize=True)


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


# --- the staff console, as staff use it ---------------------------------------------------


def log_in(
    page,
    path: str,
    username: str,
    password: str,
    full_name: str,
    before_submit: Callable[[], None] | None = None,
) -> None:
    """Open a console `path`, log in on the form it sends us to, and land back on `path`.

    `before_submit` is called once the form is filled (a screenshot, say).
    """
    page.goto(path)
    expect_()(page.get_by_role("heading", name="Đăng nhập dành cho cán bộ")).to_be_visible()
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    if before_submit is not None:
        before_submit()
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    expect_()(page.locator(".console-user")).to_contain_text(full_name)


def action_box(page, name: str):
    """The opened form of action `name` on the case page (a Playwright locator)."""
    box = page.locator(f"#thao-tac-{name}")
    if box.get_attribute("open") is None:
        box.locator("summary").click()
    return box


def act(
    page,
    name: str,
    label: str,
    fill: Callable[[Any], None] | None = None,
    done: str | None = None,
    before_submit: Callable[[Any], None] | None = None,
) -> None:
    """Open the form of action `name` on the case page, fill it, submit it, see it done.

    `done` is the confirmation the page shows; by default the one for `label`. `before_submit`
    is called with the action's box once the form is filled (a screenshot, say).
    """
    box = action_box(page, name)
    if fill is not None:
        fill(box)
    if before_submit is not None:
        before_submit(box)
    box.locator("form").get_by_role("button", name=label, exact=True).click()
    if done is None:
        done = "Đã lưu dự thảo trả lời." if name == "draft_answer" else f"Đã thực hiện “{label}”."
    expect_()(page.get_by_role("status")).to_have_text(done)


def case_status(page):
    """The status shown under the case's title."""
    return page.locator(".case-code .status")


def timeline_entry(page, what: str):
    """The entries of the case's timeline that read `what`."""
    return page.locator("ol.timeline > li").filter(
        has=page.locator(".timeline-head strong", has_text=what)
    )
