"""(f) Two replicas behind one Redis (SPEC §10) under the load benchmark's 50 sessions x 20 calls,
against one replica without Redis; then the shared budget under that load for over a minute.

1. Throughput and p99: the same `list_users` load (round the providers, five users a call) on one
   replica that keeps its budget in process, and on two replicas that share theirs through a real
   `redis-server` (the 50 sessions split between them, as a round-robin balancer would). The
   budgets are set too high to bind, but they are checked on every request: with Redis, one script
   per upstream request. The rounds alternate, and each side's throughput is its median round.
2. The budget held: the two replicas with every provider's budget at `BUDGET` requests a minute,
   under 50 sessions for `HOLD_S` seconds. The simulators (a process of their own) note when each
   request arrives; the figure is the most requests any provider saw in any sliding minute.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from mcp_directory.sim import build_apps, build_world, serve_on_loopback

from .common import free_port, server_env, summary_ms, wait_healthy

SESSIONS, CALLS, ROUNDS = 50, 20, 3
BUDGET = 120  # requests a minute per provider: well under what 50 sessions ask for, even on a slow machine
HOLD_S = 70.0
UNBOUND = 1_000_000  # a budget that never binds
ROOT = Path(__file__).resolve().parent.parent
NAMES = ("rootly", "opsgenie", "retool")


# --- the simulators, in a process of their own, noting arrivals -------------------------------------


class Noted:
    """ASGI middleware: one line per request (monotonic arrival time) in a file of its own."""

    def __init__(self, app: Any, path: Path) -> None:
        self.app, self.state = app, app.state
        self.out = path.open("a", buffering=1)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.out.write(f"{time.monotonic()}\n")
        await self.app(scope, receive, send)


def serve_simulators(folder: str, people: int) -> None:
    """`python -m bench.replicas FOLDER PEOPLE`: the simulators on loopback until killed; prints
    their environment as one JSON line."""
    apps = build_apps(build_world(seed=1, people=people))
    noted = {p: Noted(apps[p], Path(folder) / f"{p}.txt") for p in NAMES}
    with serve_on_loopback(noted) as urls:
        print(json.dumps(urls), flush=True)
        while True:
            time.sleep(3600)


@contextmanager
def simulators(people: int) -> Iterator[tuple[dict[str, str], Path]]:
    folder = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.replicas", str(folder), str(people)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline()), folder
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def arrivals(folder: Path, provider: str) -> list[float]:
    path = folder / f"{provider}.txt"
    return [float(line) for line in path.read_text().split()] if path.exists() else []


def most_in_a_minute(times: list[float]) -> int:
    ordered, most, first = sorted(times), 0, 0
    for last, t in enumerate(ordered):
        while t - ordered[first] >= 60.0:
            first += 1
        most = max(most, last - first + 1)
    return most


# --- Redis and the replicas ----------------------------------------------------------------------


@contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("benchmark f needs redis-server (apt-get install -y redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):  # until it answers PING, 5 s at most
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(64).startswith(b"+PONG"):
                    break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"  # a database number follows
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def replicas(count: int, env: dict[str, str]) -> Iterator[list[str]]:
    ports = [free_port() for _ in range(count)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mcp_directory", "serve", "--transport", "http", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for port in ports
    ]
    try:
        for port in ports:
            wait_healthy(f"http://127.0.0.1:{port}/healthz")
        yield [f"http://127.0.0.1:{port}/mcp" for port in ports]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)


def environment(urls: dict[str, str], per_minute: int, redis_url: str | None) -> dict[str, str]:
    extra = {f"{p.upper()}_REQUESTS_PER_MINUTE": str(per_minute) for p in urls}
    if redis_url:
        extra |= {"MCP_DIRECTORY_REDIS_URL": redis_url, "MCP_DIRECTORY_CURSOR_SECRET": "bench-replicas"}
    return server_env(urls, **extra)


# --- load ------------------------------------------------------------------------------------------


async def load(urls: list[str], sessions: int, calls: int | None, seconds: float | None = None) -> dict[str, Any]:
    """`sessions` clients spread over `urls`, each making `calls` list_users calls (or calls until
    `seconds` have passed); wall time, latencies and errors."""
    latencies: list[float] = []
    errors: list[str] = []

    async def session(url: str) -> None:
        try:
            async with Client(url) as client:
                for i in range(calls if calls is not None else 1_000_000):
                    started = time.perf_counter()
                    args = {"provider": NAMES[i % len(NAMES)], "limit": 5}
                    result = await client.call_tool("list_users", args)
                    latencies.append(time.perf_counter() - started)
                    if result.is_error:
                        errors.append(result.content[0].text[:200])
        except Exception as exc:  # a session that could not run counts as errors
            errors.append(repr(exc)[:200])

    started = time.perf_counter()
    with anyio.move_on_after(seconds if seconds is not None else float("inf")):
        async with anyio.create_task_group() as tg:
            for i in range(sessions):
                tg.start_soon(session, urls[i % len(urls)])
    return {"wall": time.perf_counter() - started, "latencies": latencies, "errors": errors}


def summary(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = [t for r in rounds for t in r["latencies"]]
    errors = [e for r in rounds for e in r["errors"]]
    return {
        "throughput_per_s": round(statistics.median(len(r["latencies"]) / r["wall"] for r in rounds), 1),
        **summary_ms(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


async def measure(sessions: int = SESSIONS, calls: int = CALLS, rounds: int = ROUNDS) -> dict[str, Any]:
    single: list[dict[str, Any]] = []
    pair: list[dict[str, Any]] = []
    with simulators(people=200) as (urls, folder), redis_server() as redis:
        alone, shared = environment(urls, UNBOUND, None), environment(urls, UNBOUND, f"{redis}/0")
        with replicas(1, alone) as one, replicas(2, shared) as two:
            for _ in range(rounds):  # interleaved, so both see the same machine
                single.append(await load(one, sessions, calls))
                pair.append(await load(two, sessions, calls))
        # Database 1: the first part's requests filled database 0's window, and would count here.
        with replicas(2, environment(urls, BUDGET, f"{redis}/1")) as two:
            seen = {p: len(arrivals(folder, p)) for p in NAMES}
            held = await load(two, sessions, None, HOLD_S)
        per_minute = {p: most_in_a_minute(arrivals(folder, p)[seen[p] :]) for p in NAMES}
    return {
        "sessions": sessions,
        "calls_per_session": calls,
        "one_replica": summary(single),
        "two_replicas_redis": summary(pair),
        "budget_per_minute": BUDGET,
        "budget_seconds": HOLD_S,
        "budget_calls": len(held["latencies"]),
        "budget_errors": len(held["errors"]),
        "most_in_any_minute": per_minute,
    }


if __name__ == "__main__":
    serve_simulators(sys.argv[1], int(sys.argv[2]))
