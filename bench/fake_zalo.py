"""A small, fast fake of Zalo's OA API for benchmarks and multi-process tests (localhost only).

It keeps its state in memory behind one lock: the valid token pair (refresh tokens are single
use, and a refresh kills the old access token), a sliding one-minute window enforcing the rate
limit with -32, and counters of what it received. Unlike the app's sandbox it records nothing in
a database, so it can take thousands of requests a second.

Tests serve it from a thread with werkzeug's server (`FakeZalo.serve`). The benchmark runs it as
its own process (`python -m bench.fake_zalo`) on a minimal asyncio HTTP/1.1 server instead:
werkzeug's development server spent about a millisecond of CPU per request, on the same two cores
as the dispatchers it was meant to measure (docs/performance.md, outbox dispatch).
"""

from __future__ import annotations

import asyncio
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
        body = self.respond(
            request.path, request.headers.get("access_token", ""), request.get_data()
        )
        return Response(json.dumps(body), content_type="application/json")(environ, start_response)

    def respond(self, path: str, access_token: str, raw: bytes) -> dict[str, Any]:
        """Answer one request to `path` as Zalo would (both servers call this)."""
        if path.endswith("/v4/oa/access_token"):
            return self._oauth(parse_qs(raw.decode("utf-8")))
        if path.endswith("/v3.0/oa/message/cs"):
            return self._send(access_token, json.loads(raw))
        if path == "/_stats":
            with self.state.lock:
                return {
                    "sent": sum(self.state.sends.values()),
                    "duplicates": sum(n - 1 for n in self.state.sends.values() if n > 1),
                    "rate_limited": self.state.rate_limited,
                    "token_refused": self.state.token_refused,
                }
        return {"error": -201, "message": f"unknown path {path}"}

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


async def _serve_connection(
    fake: FakeZalo, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Answer the requests of one keep-alive connection (Content-Length bodies only)."""
    try:
        while True:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            target = head[0].split(" ")[1]
            headers = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length") or 0)
            raw = await reader.readexactly(length) if length else b""
            path = target.split("?", 1)[0]
            payload = json.dumps(fake.respond(path, headers.get("access_token", ""), raw)).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
            )
            if headers.get("connection", "").lower() == "close":
                break
    except (asyncio.IncompleteReadError, ConnectionError):
        pass  # the client closed the connection
    finally:
        writer.close()


async def _serve(fake: FakeZalo, port: int) -> None:
    server = await asyncio.start_server(
        lambda reader, writer: _serve_connection(fake, reader, writer), "127.0.0.1", port
    )
    async with server:
        print(f"fake Zalo listening on 127.0.0.1:{port}", flush=True)  # readiness, for callers
        await server.serve_forever()


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
    asyncio.run(_serve(fake, args.port))


if __name__ == "__main__":
    main()
