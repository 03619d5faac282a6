"""(d) 50 concurrent streamable-HTTP sessions x 20 calls each against one server process, and
beside it, in the same run, the same load against the SDK's floor: a stock MCPServer with one
trivial tool (`floor_server.py --http`) under the same uvicorn settings. The figure is ours/floor.
Both servers run side by side and the rounds alternate between them, so a noisy machine
disturbs both alike; each side's throughput is that of its median round.

The client-side throttles are off (the simulators have no limit): this measures the server,
not Retool's 300 requests a minute."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from .common import free_port, server_env, simulators, summary_ms, wait_healthy

SESSIONS, CALLS, ROUNDS = 50, 20, 3
WARMUP = 5  # sessions x calls, unmeasured, before the rounds
TARGET_RATIO = 0.6  # of the floor's throughput
ROOT = Path(__file__).resolve().parent.parent
# The figure's fixed workload (issue 9): providers added later must not change what it measures.
NAMES = ("rootly", "opsgenie", "retool")


@dataclass
class Round:
    wall: float
    latencies: list[float]
    errors: list[str]


@contextmanager
def serving(module: list[str], env: dict[str, str] | None = None) -> Iterator[int]:
    """`python -m <module...> <port>` on a free loopback port until the block ends; yields the
    port at once (wait for its /healthz), so several servers start together."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", *module, str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=15)


async def load(url: str, tool: str, args: Callable[[int], dict[str, Any]], sessions: int, calls: int) -> Round:
    """`sessions` concurrent clients, each making `calls` calls of `tool` (call i with `args(i)`)."""
    latencies: list[float] = []
    errors: list[str] = []

    async def session() -> None:
        try:
            async with Client(url) as c:
                for i in range(calls):
                    started = time.perf_counter()
                    result = await c.call_tool(tool, args(i))
                    latencies.append(time.perf_counter() - started)
                    if result.is_error:
                        errors.append(result.content[0].text[:200])
        except Exception as exc:  # a session that could not run counts as errors
            errors.append(repr(exc)[:200])

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(sessions):
            tg.start_soon(session)
    return Round(time.perf_counter() - started, latencies, errors)


def summary(rounds: list[Round]) -> dict[str, Any]:
    """Throughput of the median round (so one round disturbed by the machine does not decide it);
    latencies and errors over all rounds."""
    per_round = [len(r.latencies) / r.wall for r in rounds]
    latencies = [t for r in rounds for t in r.latencies]
    errors = [e for r in rounds for e in r.errors]
    return {
        "calls": len(latencies),
        "throughput_per_s": round(statistics.median(per_round), 1),
        "throughput_per_round": [round(t, 1) for t in per_round],
        **summary_ms(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }


async def measure(
    sessions: int = SESSIONS, calls: int = CALLS, rounds: int = ROUNDS, warmup: bool = True
) -> dict[str, Any]:
    ours: list[Round] = []
    floor: list[Round] = []
    with simulators(people=200) as urls:
        env = server_env(urls, **{f"{p.upper()}_REQUESTS_PER_MINUTE": "0" for p in urls})
        with (
            serving(["mcp_directory", "serve", "--transport", "http", "--port"], env) as ours_port,
            serving(["bench.floor_server", "--http"]) as floor_port,
        ):
            for port in (ours_port, floor_port):
                wait_healthy(f"http://127.0.0.1:{port}/healthz")
            ours_url, floor_url = (f"http://127.0.0.1:{port}/mcp" for port in (ours_port, floor_port))
            if warmup:  # first connections, imports and caches, on both sides
                await load(ours_url, "list_users", list_users_args, WARMUP, WARMUP)
                await load(floor_url, "ping", ping_args, WARMUP, WARMUP)
            for _ in range(rounds):  # interleaved, so both see the same machine
                ours.append(await load(ours_url, "list_users", list_users_args, sessions, calls))
                floor.append(await load(floor_url, "ping", ping_args, sessions, calls))
    mine, base = summary(ours), summary(floor)
    return {
        "sessions": sessions,
        "calls_per_session": calls,
        "rounds": rounds,
        **mine,
        "floor": base,
        "ratio_to_floor": round(mine["throughput_per_s"] / base["throughput_per_s"], 2),
        "target_ratio": TARGET_RATIO,
    }


def list_users_args(i: int) -> dict[str, Any]:
    return {"provider": NAMES[i % len(NAMES)], "limit": 5}


def ping_args(i: int) -> dict[str, Any]:
    return {}
