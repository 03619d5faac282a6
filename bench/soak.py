"""(i) Soak: the real server over streamable HTTP and SSE, both protocol eras, for minutes; its
memory and file descriptors must stay flat.

`mcp-directory serve --transport http` runs as a subprocess with a bearer token, in two set-ups:
against the simulators in a process of their own, and with `--demo` (the simulators in the
server's process, as a hosted "try it" endpoint runs). `CLIENTS` clients — the 2025-11-25 era
with sessions and the stateless 2026-07-28 era over streamable HTTP, and legacy SSE — each
reconnect every `RECONNECT_EVERY` calls and repeat one mix (`Mix`): `list_users` round the four
providers following its cursor, `get_group`, `find_users`, two pages of `access_review`,
`list_roles`, and a bad call every `BAD_EVERY`th that must fail in the contract's shape. Once a
second the server's RSS (VmRSS) and open descriptors (/proc/<pid>/fd) are sampled; the figure is
the RSS slope over the second half (least squares, MB a minute) and the unexpected errors.

`python -m bench k` runs both set-ups for `SECONDS` each; `python -m bench.soak --seconds N
[--setups demo sim]` chooses. Loopback only; every loop ends by the deadline or a call cap.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx2 as httpx
from mcp import Client, ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from mcp_directory.providers import PROVIDERS

from .common import free_port, server_env, simulators, wait_healthy

SECONDS = 180.0
CLIENTS, RECONNECT_EVERY, BAD_EVERY = 8, 5, 20
PEOPLE = 60  # the demo's directory; the simulators' process gets the same
TARGET_MB_PER_MIN = 5.0
CALL_TIMEOUT_S = 60.0
ROOT = Path(__file__).resolve().parent.parent
NAMES = tuple(p.name for p in PROVIDERS)
# How each client connects, by client number (round the list).
KINDS = ("http-2025-11-25", "http-2026-07-28", "sse", "http-2025-11-25", "http-2026-07-28")
# Ten calls, two connections: the review's two pages never straddle a reconnect.
STEPS = (
    "list_users", "get_group", "find_users", "review", "review_next",
    "list_users", "list_roles", "get_group", "find_users", "list_roles",
)  # fmt: skip
QUERIES = ("an", "smith", "acme.com", "ben", "li")
REVIEWS: tuple[dict[str, Any], ...] = ({}, {"admins_only": True}, {"present_in": ["rootly"], "absent_from": ["retool"]})
# Careless calls and what they must fail with (the error's code).
BAD: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("list_users", {"provider": "nope"}, "invalid_argument"),
    ("list_users", {"provider": "rootly", "cursor": "garbage"}, "invalid_argument"),
    ("get_group", {"provider": "retool", "group_id": "no-such-group"}, "not_found"),
    ("list_users", {"provider": "opsgenie", "limit": "ten"}, "invalid_argument"),
    ("access_review", {"inactive_since": "yesterday"}, "invalid_argument"),
)

Call = Callable[[str, dict[str, Any]], Awaitable[Any]]


@dataclass
class Mix:
    """One client's calls, in order; `groups` are the group ids to ask for, by provider."""

    groups: dict[str, list[str]]
    client: int = 0
    n: int = 0
    cursors: dict[str, str | None] = field(default_factory=dict)
    review_cursor: str | None = None

    def next(self) -> tuple[str, dict[str, Any], str | None]:
        """(tool, arguments, the error code it must fail with, or None: it must succeed)."""
        i, self.n = self.n, self.n + 1
        turn = i // len(STEPS) + self.client
        provider = NAMES[(i + self.client) % len(NAMES)]
        if i % BAD_EVERY == BAD_EVERY - 1:
            return BAD[(i // BAD_EVERY) % len(BAD)]
        step = STEPS[i % len(STEPS)]
        if step == "list_users":
            cursor = self.cursors.get(provider)
            return "list_users", {"provider": provider, "limit": 7, **({"cursor": cursor} if cursor else {})}, None
        if step == "get_group":
            ids = self.groups[provider]
            return "get_group", {"provider": provider, "group_id": ids[turn % len(ids)]}, None
        if step == "find_users":
            return "find_users", {"query": QUERIES[turn % len(QUERIES)]}, None
        if step in ("review", "review_next"):
            cursor = self.review_cursor if step == "review_next" else None
            return (
                "access_review",
                {**REVIEWS[turn % len(REVIEWS)], "limit": 5, **({"cursor": cursor} if cursor else {})},
                None,
            )
        return "list_roles", {"provider": provider, "limit": 3}, None

    def saw(self, tool: str, args: dict[str, Any], data: Any) -> None:
        """Keep the cursors the next calls follow."""
        if tool == "list_users":
            self.cursors[args["provider"]] = data.get("next_cursor")
        elif tool == "access_review":
            self.review_cursor = None if "cursor" in args else data.get("next_cursor")


def verdict(result: Any, expected: str | None) -> str | None:
    """None when the result is what the mix expects; otherwise what went wrong (one line)."""
    text = "".join(getattr(c, "text", "") for c in result.content)
    if expected is None:
        return f"failed: {text[:200]}" if result.is_error else None
    try:
        code = json.loads(text)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return f"not the contract's error shape: {text[:200]}"
    return None if result.is_error and code == expected else f"expected {expected}, got {text[:200]}"


async def group_ids(call: Call) -> dict[str, list[str]]:
    """A few group ids of every provider (one list_groups call each)."""
    found = {}
    for name in NAMES:
        result = await call("list_groups", {"provider": name, "limit": 4})
        found[name] = [g["id"] for g in result.structured_content["result"]]
    return found


async def run_mix(call: Call, mix: Mix, calls: int, errors: list[str]) -> int:
    """`calls` calls of `mix` through `call`; unexpected outcomes go to `errors`. Returns calls made."""
    for _ in range(calls):
        tool, args, expected = mix.next()
        with anyio.fail_after(CALL_TIMEOUT_S):
            result = await call(tool, args)
        if problem := verdict(result, expected):
            errors.append(f"{tool} {json.dumps(args)}: {problem}")
        elif expected is None:
            mix.saw(tool, args, result.structured_content)
    return calls


# --- the clients -----------------------------------------------------------------------------------


@asynccontextmanager
async def connect(kind: str, url: str, token: str) -> Any:
    """A session of `kind` (see KINDS) to the server at `url` with the bearer `token`."""
    headers = {"Authorization": f"Bearer {token}"}
    if kind == "sse":
        async with sse_client(f"{url}/sse", headers=headers) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session
        return
    mode = "legacy" if kind == "http-2025-11-25" else "auto"
    async with (
        httpx.AsyncClient(headers=headers, timeout=CALL_TIMEOUT_S) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http), mode=mode) as client,
    ):
        yield client


@dataclass
class Tally:
    calls: int = 0
    sessions: int = 0
    errors: list[str] = field(default_factory=list)


async def client_loop(
    number: int, session: Callable[[], AbstractAsyncContextManager[Any]], groups: dict[str, list[str]],
    deadline: float, tally: Tally, max_sessions: int,
) -> None:  # fmt: skip
    """Reconnect every RECONNECT_EVERY calls until `deadline` (or `max_sessions`)."""
    mix = Mix(groups, client=number)
    for _ in range(max_sessions):
        if time.monotonic() >= deadline:
            return
        try:
            async with session() as client:
                tally.sessions += 1
                done = await run_mix(client.call_tool, mix, RECONNECT_EVERY, tally.errors)
                tally.calls += done  # not `+= await`: that reads the count before the other clients add theirs
        except Exception as exc:  # a session that broke counts as an error, and the client goes on
            tally.errors.append(f"client {number}: {exc!r}"[:300])


# --- the server and its samples ----------------------------------------------------------------------


def rss_and_fds(pid: int) -> tuple[float, int]:
    """VmRSS in MB and the number of open file descriptors of process `pid`."""
    rss = float("nan")
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def slope_mb_per_min(samples: list[tuple[float, float, int]]) -> float:
    """Least-squares slope of RSS over the second half of the samples (t in s, RSS in MB)."""
    half = samples[len(samples) // 2 :]
    if len(half) < 2:
        return float("nan")
    n = len(half)
    mt, mr = sum(t for t, _, _ in half) / n, sum(r for _, r, _ in half) / n
    var = sum((t - mt) ** 2 for t, _, _ in half)
    cov = sum((t - mt) * (r - mr) for t, r, _ in half)
    return cov / var * 60 if var else float("nan")


@contextmanager
def server(env: dict[str, str], demo: bool) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    args = ["serve", "--transport", "http", "--port", str(port), *(["--demo"] if demo else [])]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_directory", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz")
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


async def soak(url: str, token: str, pid: int, seconds: float, clients: int, interval: float) -> dict[str, Any]:
    """The clients against the server at `url` for `seconds`, sampling process `pid`."""
    async with connect("http-2026-07-28", url, token) as first:
        groups = await group_ids(first.call_tool)
        warm: list[str] = []  # one round of the mix before the first sample: imports and caches
        await run_mix(first.call_tool, Mix(groups), len(STEPS), warm)
    tally = Tally(errors=warm)
    started = time.monotonic()
    deadline = started + seconds
    samples: list[tuple[float, float, int]] = [(0.0, *rss_and_fds(pid))]

    async def sample() -> None:
        while time.monotonic() < deadline:
            await anyio.sleep(interval)
            samples.append((time.monotonic() - started, *rss_and_fds(pid)))

    cap = int(seconds * 100) + 1  # sessions per client: far more than a machine makes in `seconds`
    async with anyio.create_task_group() as tg:
        tg.start_soon(sample)
        for number in range(clients):
            kind = KINDS[number % len(KINDS)]
            tg.start_soon(client_loop, number, lambda k=kind: connect(k, url, token), groups, deadline, tally, cap)
    await anyio.sleep(1.0)  # sessions closing on the server's side
    samples.append((time.monotonic() - started, *rss_and_fds(pid)))
    return {
        "seconds": round(samples[-1][0], 1),
        "clients": clients,
        "kinds": sorted({KINDS[n % len(KINDS)] for n in range(clients)}),
        "calls": tally.calls,
        "sessions": tally.sessions,
        "unexpected_errors": len(tally.errors),
        "first_errors": tally.errors[:3],
        "rss_start_mb": round(samples[0][1], 1),
        "rss_end_mb": round(samples[-1][1], 1),
        "rss_max_mb": round(max(r for _, r, _ in samples), 1),
        "rss_slope_second_half_mb_per_min": round(slope_mb_per_min(samples), 2),
        "fds_start": samples[0][2],
        "fds_half": samples[len(samples) // 2][2],
        "fds_end": samples[-1][2],
        "fds_max": max(f for _, _, f in samples),  # with the simulators apart: up to the connection pools' limit
        "samples": len(samples),
        "load_average_1m": round(os.getloadavg()[0], 2),  # the machine's, at the end: what else ran
    }


async def measure(
    seconds: float = SECONDS, clients: int = CLIENTS, setups: tuple[str, ...] = ("sim", "demo"), interval: float = 1.0
) -> dict[str, Any]:
    token = secrets.token_urlsafe(24)
    out: dict[str, Any] = {"target_mb_per_min": TARGET_MB_PER_MIN}
    for setup in setups:
        if setup == "demo":
            env = server_env({}, MCP_DIRECTORY_AUTH_TOKEN=token)
            with server(env, demo=True) as (proc, url):
                out["demo"] = await soak(url, token, proc.pid, seconds, clients, interval)
            continue
        with simulators(people=PEOPLE) as urls:
            unlimited = {f"{name.upper()}_REQUESTS_PER_MINUTE": "0" for name in urls}
            env = server_env(urls, MCP_DIRECTORY_AUTH_TOKEN=token, **unlimited)
            with server(env, demo=False) as (proc, url):
                out["sim"] = await soak(url, token, proc.pid, seconds, clients, interval)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--seconds", type=float, default=SECONDS, help="per set-up")
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--setups", nargs="+", choices=["sim", "demo"], default=["sim", "demo"])
    args = parser.parse_args(argv)
    result = anyio.run(measure, args.seconds, args.clients, tuple(args.setups))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
