"""The benchmark's fake Zalo served as its own process (`python -m bench.fake_zalo`).

It answers like Zalo on one keep-alive connection, enforces its per-minute limit with -32 and
counts what it received: the outbox benchmark's figures come from these counters.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def fake_process():
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_zalo", "--port", str(port), "--per-minute", "2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    session = requests.Session()
    try:
        assert "listening" in process.stdout.readline()  # printed once it accepts connections
        yield f"http://127.0.0.1:{port}", session
    finally:
        session.close()
        process.terminate()
        process.wait(timeout=5)
        process.stdout.close()


def send(session, base: str, token: str, text: str) -> dict:
    return session.post(
        f"{base}/v3.0/oa/message/cs",
        headers={"access_token": token},
        json={"recipient": {"user_id": "2468458835291979220"}, "message": {"text": text}},
        timeout=5,
    ).json()


def test_sends_refresh_limit_and_counters_over_one_connection(fake_process):
    base, session = fake_process
    first = send(session, base, "bench-access", "Xin chào")
    assert first["error"] == 0 and first["data"]["message_id"]
    assert send(session, base, "wrong", "x")["error"] == -216
    assert send(session, base, "bench-access", "Xin chào")["error"] == 0  # a duplicate text
    assert send(session, base, "bench-access", "third")["error"] == -32  # 2 per minute
    refreshed = session.post(
        f"{base}/v4/oa/access_token",
        data={"app_id": "1", "grant_type": "refresh_token", "refresh_token": "bench-refresh"},
        timeout=5,
    ).json()
    assert refreshed["access_token"] == "fake-access-1"
    stats = session.get(f"{base}/_stats", timeout=5).json()
    assert stats == {"sent": 2, "duplicates": 1, "rate_limited": 1, "token_refused": 1}
