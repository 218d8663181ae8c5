"""Pieces every benchmark shares: the machine, a gunicorn server, an HTTP load generator, a table.

The load generator is a small asyncio HTTP/1.1 client: one request in flight per keep-alive
connection, requests pre-built as bytes (nothing is encoded or signed while the clock runs), and
only Content-Length answers understood (what gunicorn sends for a Flask response). It runs in
two modes:

- open loop (`run_open_loop`): request i is due at a fixed time (Poisson or evenly spaced
  arrivals at the offered rate) whether or not earlier ones were answered, and its latency is
  measured from that due time, so a server that falls behind shows its queueing in the
  percentiles instead of slowing the generator down (no coordinated omission);
- closed loop (`run_closed_loop`): each connection sends its next request as soon as the
  previous one is answered, which finds the maximum throughput; latency is from the actual send.

It also measures its own CPU time and the whole machine's CPU use, because on a small machine
the generator competes with the server for the same cores.
"""

from __future__ import annotations

import asyncio
import http.client
import itertools
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# Requests still unsent this long after the last one was due are given up (the server is
# overloaded); answers still missing this long after that count as errors.
SEND_GRACE = 2.0
ANSWER_GRACE = 5.0


def describe_machine() -> dict[str, str]:
    """Return what identifies this machine for a performance record."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def describe_code() -> str:
    """Return the commit measured, and how many files differ from it (read-only git calls)."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
    except OSError:
        return "unknown"
    return f"{commit or 'unknown'}" + (f" + {len(changes)} modified files" if changes else "")


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def machine_cpu_ticks() -> tuple[int, int]:
    """Return (busy, total) CPU ticks of the whole machine since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total


def process_cpu(pids: Sequence[int]) -> dict[int, float]:
    """Return the CPU seconds (user + system) each live process in `pids` has used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue  # it has exited
        fields = stat.rsplit(")", 1)[1].split()
        seconds[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return seconds


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """Return the CPU seconds used between two `process_cpu` snapshots (new processes included)."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def child_pids(parent: int) -> list[int]:
    """Return the ids of the processes whose parent is `parent`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
            pids.append(int(entry.name))
    return pids


def background_cpu(seconds: float = 2.0) -> float:
    """Return the share of the machine's CPU busy over `seconds` (before a run: other load)."""
    busy0, total0 = machine_cpu_ticks()
    time.sleep(seconds)
    busy1, total1 = machine_cpu_ticks()
    return (busy1 - busy0) / max(1, total1 - total0)


def wait_for_quiet(threshold: float, max_wait: float) -> float:
    """Wait (at most `max_wait` s) until other load is below `threshold`; return the last share."""
    deadline = time.monotonic() + max_wait
    busy = background_cpu()
    while busy > threshold and time.monotonic() < deadline:
        busy = background_cpu()
    return busy


class GunicornServer:
    """A gunicorn master started as a child process on a free 127.0.0.1 port, and stopped."""

    def __init__(
        self,
        app_spec: str,
        env: dict[str, str],
        workers: int,
        threads: int,
        log_path: Path,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.port = free_port()
        self.log_path = log_path
        # An empty config file, so that a gunicorn.conf.py in the working directory or
        # GUNICORN_CMD_ARGS in the environment cannot change what is measured.
        config_file = log_path.with_name("gunicorn_bench_conf.py")
        config_file.write_text("")
        self.settings = [
            f"--workers={workers}",
            "--worker-class=gthread",
            f"--threads={threads}",
            "--keep-alive=5",
            "--backlog=2048",
        ]
        self.args = [
            sys.executable,
            "-m",
            "gunicorn",
            f"--config={config_file}",
            f"--bind={HOST}:{self.port}",
            *self.settings,
            *extra_args,
            "--log-level=warning",
            f"--error-logfile={log_path}",
            app_spec,
        ]
        self.env = {k: v for k, v in os.environ.items() if k != "GUNICORN_CMD_ARGS"}
        self.env.update(env)
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, ready_path: str, timeout: float = 30.0) -> None:
        """Start gunicorn and wait until `ready_path` answers 200."""
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"gunicorn exited with {self.process.returncode}: {self.log_tail()}"
                )
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", ready_path)
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(
            f"gunicorn did not answer {ready_path} in {timeout:.0f} s: {self.log_tail()}"
        )

    def stop(self) -> None:
        """Stop gunicorn gracefully (SIGTERM to the master), killing it if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def pids(self) -> list[int]:
        """Return the ids of the master and its workers."""
        if self.process is None:
            return []
        return [self.process.pid, *child_pids(self.process.pid)]

    def log_tail(self, lines: int = 20) -> str:
        """Return the end of gunicorn's error log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def __enter__(self) -> GunicornServer:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def build_request(port: int, method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """Return the bytes of one HTTP/1.1 keep-alive request."""
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{port}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class LoadResult:
    """What one load step measured."""

    offered_rate: float | None  # None: closed loop (as fast as the server answers)
    planned: int
    connections: int
    sent_indices: list[int] = field(default_factory=list)
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    answers: Counter[bytes] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    client_cpu: float = 0.0
    machine_busy: float = 0.0
    window: float = 0.0  # wall seconds over which the CPU figures were taken
    exhausted: bool = False

    @property
    def sent(self) -> int:
        """How many requests were written to a connection."""
        return len(self.sent_indices)

    @property
    def error_count(self) -> int:
        """How many requests got no 200 answer (including timeouts and refused connections)."""
        return sum(self.errors.values())

    @property
    def rate(self) -> float:
        """Answered-200 requests per second, from the first due time to the last answer."""
        return self.ok / self.elapsed if self.elapsed > 0 else 0.0

    def latency_ms(self, fraction: float) -> float:
        """Return a latency percentile (nearest rank) of the 200 answers, in milliseconds."""
        return percentile(self.latencies, fraction) * 1000

    def lag_ms(self, fraction: float) -> float:
        """Return a percentile of how late the generator sent requests, in milliseconds."""
        return percentile(self.lags, fraction) * 1000


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the nearest-rank percentile of `values` (0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(fraction * len(ordered) + 0.5)))
    return ordered[rank - 1]


class _Connection(asyncio.Protocol):
    """One keep-alive connection with at most one request in flight."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.is_open = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self.is_open = True

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        try:
            answer = self._parse()
        except ValueError as error:
            self._waiter = None
            waiter.set_exception(error)
            self.close()
            return
        if answer is not None:
            self._waiter = None
            waiter.set_result(answer)

    def connection_lost(self, exc: Exception | None) -> None:
        self.is_open = False
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ConnectionResetError("connection closed by the server"))

    def _parse(self) -> tuple[int, bytes] | None:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self._buffer[:end]).decode("latin-1").lower()
        lines = head.split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip() == "content-length":
                length = int(value)
            elif name.strip() == "connection" and value.strip() == "close":
                self.is_open = False
        if length is None:
            raise ValueError("answer without Content-Length")
        total = end + 4 + length
        if len(self._buffer) < total:
            return None
        body = bytes(self._buffer[end + 4 : total])
        del self._buffer[:total]
        return status, body

    def send(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        """Write a request; the future resolves to (status, body)."""
        assert self._transport is not None
        self._waiter = self._loop.create_future()
        self._transport.write(request)
        return self._waiter

    def close(self) -> None:
        """Close the connection."""
        self.is_open = False
        if self._transport is not None:
            self._transport.close()


class _Run:
    """The shared state of one load step."""

    def __init__(
        self,
        port: int,
        requests: Sequence[bytes],
        result: LoadResult,
        schedule: Sequence[float] | None,
        send_deadline: float,
        cycle: bool,
    ) -> None:
        self.loop = asyncio.get_running_loop()
        self.port = port
        self.requests = requests
        self.result = result
        self.schedule = schedule
        self.send_deadline = send_deadline
        self.cycle = cycle
        self.last_answer = 0.0
        self._indices = itertools.count()

    def next_index(self) -> int | None:
        """Return the index of the next request to send, or None when there is none."""
        index = next(self._indices)
        limit = len(self.schedule) if self.schedule is not None else len(self.requests)
        if index < limit:
            return index
        if self.schedule is None and self.cycle:
            return index
        self.result.exhausted = self.schedule is None
        return None

    async def connect(self) -> _Connection:
        """Open a new connection to the server."""
        _transport, protocol = await self.loop.create_connection(
            lambda: _Connection(self.loop), HOST, self.port
        )
        return protocol

    async def sender(self, conn: _Connection | None) -> None:
        """Send requests one at a time on one connection until the step ends."""
        loop, result = self.loop, self.result
        while (index := self.next_index()) is not None:
            due = None
            if self.schedule is not None:
                due = self.schedule[index]
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            if loop.time() > self.send_deadline:
                return
            try:
                if conn is None or not conn.is_open:
                    conn = await self.connect()
                start = loop.time()
                result.sent_indices.append(index)
                status, body = await conn.send(self.requests[index % len(self.requests)])
            except asyncio.CancelledError:
                result.errors["no answer in time"] += 1
                raise
            except (OSError, ValueError) as error:
                result.errors[type(error).__name__] += 1
                if conn is not None:
                    conn.close()
                conn = None
                continue
            done = loop.time()
            self.last_answer = max(self.last_answer, done)
            if status != 200:
                result.errors[f"HTTP {status}"] += 1
                continue
            result.ok += 1
            result.answers[body] += 1
            if due is None:
                result.latencies.append(done - start)
            else:
                result.latencies.append(done - due)
                result.lags.append(start - due)


def arrival_times(count: int, rate: float, arrivals: str, seed: int) -> list[float]:
    """Return `count` due times (seconds from 0) at `rate`: "poisson" or "uniform" spacing."""
    if arrivals == "uniform":
        return [i / rate for i in range(count)]
    # A Poisson process with exactly `count` arrivals in the window: sorted uniform points, so
    # the step offers exactly `rate` on average over its duration.
    rng = random.Random(seed)
    return sorted(rng.uniform(0, count / rate) for _ in range(count))


async def _run_step(
    port: int,
    requests: Sequence[bytes],
    result: LoadResult,
    offsets: Sequence[float] | None,
    duration: float,
    cycle: bool = False,
) -> None:
    loop = asyncio.get_running_loop()
    # Connections are opened before the clock starts: connection set-up is not measured.
    conns = await asyncio.gather(
        *(
            loop.create_connection(lambda: _Connection(loop), HOST, port)
            for _ in range(result.connections)
        )
    )
    t0 = loop.time() + 0.05
    if offsets is None:
        schedule, send_deadline = None, t0 + duration
    else:
        schedule = [t0 + offset for offset in offsets]
        send_deadline = t0 + duration + SEND_GRACE
    run = _Run(port, requests, result, schedule, send_deadline, cycle)
    if schedule is None:
        await asyncio.sleep(t0 - loop.time())
    cpu0, wall0, (busy0, total0) = time.process_time(), time.monotonic(), machine_cpu_ticks()
    tasks = [asyncio.ensure_future(run.sender(protocol)) for _transport, protocol in conns]
    _done, pending = await asyncio.wait(tasks, timeout=send_deadline + ANSWER_GRACE - loop.time())
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    busy1, total1 = machine_cpu_ticks()
    result.client_cpu = time.process_time() - cpu0
    result.machine_busy = (busy1 - busy0) / max(1, total1 - total0)
    result.window = time.monotonic() - wall0
    result.elapsed = max(run.last_answer - t0, 1e-9)
    for _transport, protocol in conns:
        protocol.close()


def run_open_loop(
    port: int,
    requests: Sequence[bytes],
    rate: float,
    duration: float,
    connections: int,
    arrivals: str = "poisson",
    seed: int = 1,
) -> LoadResult:
    """Offer `rate` requests/s for `duration` s (the first rate*duration requests); measure."""
    count = min(len(requests), round(rate * duration))
    offsets = arrival_times(count, rate, arrivals, seed)
    result = LoadResult(offered_rate=rate, planned=count, connections=connections)
    asyncio.run(_run_step(port, requests, result, offsets, duration))
    return result


def run_closed_loop(
    port: int, requests: Sequence[bytes], duration: float, connections: int, cycle: bool = False
) -> LoadResult:
    """Send as fast as answers come back on `connections` connections for `duration` s."""
    result = LoadResult(offered_rate=None, planned=len(requests), connections=connections)
    asyncio.run(_run_step(port, requests, result, None, duration, cycle=cycle))
    return result


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Render rows as a Markdown table, padded so that it also reads well in a terminal."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(row) for row in cells[1:])])
