"""A small, fast fake of Zalo's OA API for benchmarks and multi-process tests (localhost only).

It keeps its state in memory behind one lock: the valid token pair (refresh tokens are single
use, and a refresh kills the old access token), a sliding one-minute window enforcing the rate
limit with -32, and counters of what it received. Unlike the app's sandbox it records nothing in
a database, so it can take thousands of requests a second.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response


class UnderscoreHeaderHandler(WSGIRequestHandler):
    """A quiet request handler that keeps header names with an underscore.

    werkzeug's server drops them (as gunicorn does by default), but Zalo's API reads the
    `access_token` and `secret_key` headers.
    """

    # Keep-alive, as Zalo's HTTPS endpoints allow: a new TCP connection per message would
    # measure connection setup on both sides of the same two cores, not the ledger.
    protocol_version = "HTTP/1.1"

    def make_environ(self) -> dict[str, Any]:
        environ = super().make_environ()
        for key, value in self.headers.items():
            if "_" in key:
                environ["HTTP_" + key.upper().replace("-", "_")] = value
        return environ

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@dataclass
class FakeZaloState:
    """What the fake knows and has seen."""

    access_token: str = "fake-access-0"
    refresh_token: str = "fake-refresh-0"
    per_minute: int = 0  # 0: no rate limit
    generation: int = 0
    refresh_calls: int = 0
    refused_refresh_tokens: list[str] = field(default_factory=list)
    sends: Counter = field(default_factory=Counter)  # (user_id, text) -> count
    order: list[tuple[str, str]] = field(default_factory=list)
    rate_limited: int = 0
    token_refused: int = 0
    window: deque = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeZalo:
    """The WSGI app; `serve()` runs it on a free 127.0.0.1 port in a thread."""

    def __init__(self, state: FakeZaloState | None = None) -> None:
        self.state = state or FakeZaloState()
        self._ids = itertools.count(1)
        self._server = None
        self._thread: threading.Thread | None = None

    def __call__(self, environ, start_response):
        request = Request(environ)
        path = request.path
        if path.endswith("/v4/oa/access_token"):
            body = self._oauth(parse_qs(request.get_data(as_text=True)))
        elif path.endswith("/v3.0/oa/message/cs"):
            body = self._send(request.headers.get("access_token", ""), request.get_json())
        elif path == "/_stats":
            with self.state.lock:
                body = {
                    "sent": sum(self.state.sends.values()),
                    "duplicates": sum(n - 1 for n in self.state.sends.values() if n > 1),
                    "rate_limited": self.state.rate_limited,
                    "token_refused": self.state.token_refused,
                }
        else:
            body = {"error": -201, "message": f"unknown path {path}"}
        return Response(json.dumps(body), content_type="application/json")(environ, start_response)

    def _oauth(self, form: dict[str, list[str]]) -> dict[str, Any]:
        given = (form.get("refresh_token") or [""])[0]
        with self.state.lock:
            self.state.refresh_calls += 1
            if given != self.state.refresh_token:
                self.state.refused_refresh_tokens.append(given)
                return {
                    "error": -14020,
                    "error_name": "Invalid refresh token",
                    "error_description": "Refresh token is invalid",
                }
            self.state.generation += 1
            generation = self.state.generation
            self.state.access_token = f"fake-access-{generation}"
            self.state.refresh_token = f"fake-refresh-{generation}"
            return {
                "access_token": self.state.access_token,
                "refresh_token": self.state.refresh_token,
                "expires_in": "90000",
            }

    def _send(self, token: str, body: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        user_id = body["recipient"]["user_id"]
        text = body["message"].get("text", "")
        with state.lock:
            if token != state.access_token:
                state.token_refused += 1
                return {"error": -216, "message": "Access token is invalid"}
            if state.per_minute:
                now = time.monotonic()
                while state.window and now - state.window[0] >= 60:
                    state.window.popleft()
                if len(state.window) >= state.per_minute:
                    state.rate_limited += 1
                    return {"error": -32, "message": "Your application reached limit call api"}
                state.window.append(now)
            state.sends[(user_id, text)] += 1
            state.order.append((user_id, text))
            message_id = f"fake-{next(self._ids)}"
        return {
            "error": 0,
            "message": "Success",
            "data": {"message_id": message_id, "user_id": user_id},
        }

    def serve(self) -> str:
        """Start serving in a background thread; return the base URL."""
        self._server = make_server(
            "127.0.0.1", 0, self, threaded=True, request_handler=UnderscoreHeaderHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        """Stop the server thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


def main() -> None:
    """Serve a fake Zalo on a given port until killed; GET /_stats reports what it saw."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--per-minute", type=int, default=0)
    parser.add_argument("--access-token", default="bench-access")
    parser.add_argument("--refresh-token", default="bench-refresh")
    args = parser.parse_args()
    fake = FakeZalo(
        FakeZaloState(
            access_token=args.access_token,
            refresh_token=args.refresh_token,
            per_minute=args.per_minute,
        )
    )
    server = make_server(
        "127.0.0.1", args.port, fake, threaded=True, request_handler=UnderscoreHeaderHandler
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
