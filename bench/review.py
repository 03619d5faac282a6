"""(f) Whole-directory questions answered by paging list_users and by access_review, at 1x and
10x directory size, 20 ms per upstream request: calls, bytes handed to the model (the compact
JSON of structuredContent, which is what chat clients pass on), seconds.
(h) One review over about 100,000 accounts at 20 ms per upstream request: first-page wall time,
the server's peak RSS, and upstream requests against the minimum the page sizes allow; beside it,
alternating with it, its floor (`review_floor.py`: the same responses fetched and only read), and
the first page as a multiple of that floor. Then 16
sessions asking for the same first page at once, against a fresh server: its peak RSS, and the
upstream requests they cost together (they share one read, SPEC §8).

Our server runs as an HTTP subprocess; the simulators run in this process on loopback ports (so
their request logs can be counted)."""

from __future__ import annotations

import contextlib
import json
import math
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from mcp import Client

from mcp_directory.models import email_key
from mcp_directory.sim import build_apps, build_world, serve_on_loopback
from mcp_directory.sim.faults import FaultPlan

from . import review_floor
from .common import free_port, peak_rss_mb, server_env, wait_healthy
from .review_floor import Recorder

PEOPLE_1X = 517  # about 1,111 accounts across the three providers
LATENCY_S = 0.020
PROVIDERS = ("rootly", "opsgenie", "retool")
TARGET_FLOOR_RATIO = 1.5  # the first page, as a multiple of its floor


def size(data: Any) -> int:
    return len(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())


class Meter:
    """Calls a tool and counts what the model would be handed."""

    def __init__(self, client: Client) -> None:
        self.client, self.calls, self.bytes = client, 0, 0

    async def __call__(self, tool: str, args: dict[str, Any]) -> dict[str, Any]:
        result = await self.client.call_tool(tool, args)
        assert not result.is_error, result.content
        self.calls += 1
        self.bytes += size(result.structured_content)
        return result.structured_content  # type: ignore[return-value]


async def every_user(meter: Meter, provider: str) -> list[dict[str, Any]]:
    users, cursor = [], None
    for _ in range(100_000):
        page = await meter("list_users", {"provider": provider, "limit": 200, **({"cursor": cursor} if cursor else {})})
        users += page["result"]
        cursor = page["next_cursor"]
        if not cursor:
            return users
    raise RuntimeError("list_users never ended")


async def mixed_by_paging(meter: Meter) -> int:
    """Who is active in one provider and inactive or blocked in another, the long way."""
    statuses: dict[str, dict[str, str]] = {}
    for provider in PROVIDERS:
        for user in await every_user(meter, provider):
            statuses.setdefault(email_key(user["email"] or ""), {})[provider] = user["status"]
    return sum(
        1
        for by in statuses.values()
        if any(s == "active" for s in by.values()) and any(s in ("inactive", "blocked") for s in by.values())
    )


async def admins_by_paging(meter: Meter) -> int:
    return sum(1 for user in await every_user(meter, "retool") if user["is_admin"])


async def by_review(meter: Meter, args: dict[str, Any]) -> int:
    rows, cursor = 0, None
    for _ in range(100_000):
        page = await meter("access_review", {**args, "limit": 50, **({"cursor": cursor} if cursor else {})})
        rows += len(page["result"])
        cursor = page["next_cursor"]
        if not cursor:
            return rows
    raise RuntimeError("access_review never ended")


QUESTIONS: dict[str, tuple[Callable[[Meter], Awaitable[int]], dict[str, Any]]] = {
    "active in one, inactive/blocked in another": (
        mixed_by_paging,
        {"providers": list(PROVIDERS), "mixed_status": True},
    ),
    "every Retool admin": (admins_by_paging, {"providers": ["retool"], "admins_only": True}),
}


def served(people: int, seed: int = 1) -> tuple[Any, Any]:
    """The three providers the questions are about, simulated at 20 ms a request."""
    world = build_world(seed=seed, people=people)
    apps = {name: app for name, app in build_apps(world).items() if name in PROVIDERS}
    for app in apps.values():
        app.state.gate.faults = FaultPlan(latency_s=LATENCY_S)
    return world, apps


def server(urls: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_directory", "serve", "--transport", "http", "--port", str(port)],
        env=server_env(urls),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_healthy(f"http://127.0.0.1:{port}/healthz")
    return proc, f"http://127.0.0.1:{port}/mcp"


async def measure_questions(scales: tuple[int, ...] = (1, 10), people_1x: int = PEOPLE_1X) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for scale in scales:
        world, apps = served(people_1x * scale)
        accounts = sum(len(getattr(world, p).users) for p in PROVIDERS)
        with serve_on_loopback(apps) as urls:
            proc, url = server(urls)
            try:
                async with Client(url) as client:
                    for question, (paging, review_args) in QUESTIONS.items():
                        row: dict[str, Any] = {"accounts": accounts}
                        for how, run in (("paging", paging), ("review", lambda m, a=review_args: by_review(m, a))):
                            meter = Meter(client)
                            started = time.perf_counter()
                            answer = await run(meter)
                            row[how] = {
                                "calls": meter.calls,
                                "bytes": meter.bytes,
                                "seconds": round(time.perf_counter() - started, 2),
                            }
                            row["answer_rows"] = answer
                        pages = row["review"]["calls"]
                        row["review_budget_bytes"] = 1200 * row["answer_rows"] + 3000 * pages
                        row["bytes_ratio"] = round(row["paging"]["bytes"] / max(1, row["review"]["bytes"]), 1)
                        row["speedup"] = round(row["paging"]["seconds"] / max(1e-9, row["review"]["seconds"]), 1)
                        out[f"{scale}x: {question}"] = row
            finally:
                proc.terminate()
                proc.wait(timeout=15)
    return out


def minimum_requests(world: Any, page: int = 100) -> int:
    """The fewest upstream requests a full read needs: user pages (one for a provider that returns
    every user at once), group lists, and one per group for its members."""
    rootly, opsgenie, retool = world.rootly, world.opsgenie, world.retool
    users = math.ceil(len(rootly.users) / page) + math.ceil(len(opsgenie.users) / page) + 1
    group_lists = math.ceil(len(rootly.teams) / page) + 1 + 1
    return users + group_lists + len(rootly.teams) + len(opsgenie.teams) + len(retool.groups)


class Counted:
    """Counts the requests that reach the simulators (a hook on each: nothing is kept per request)."""

    def __init__(self, apps: dict[str, Any]) -> None:
        self.requests = 0
        for app in apps.values():
            app.state.gate.hooks.append(self.hook)

    async def hook(self, request: Any) -> None:
        self.requests += 1


async def first_pages(urls: dict[str, str], callers: int) -> tuple[float, float, list[dict[str, Any]]]:
    """`callers` sessions asking a fresh server for the same first page at once: the seconds until
    the last is answered, the server's peak RSS (MB), and the pages."""
    proc, url = server(urls)
    pages: list[dict[str, Any]] = []
    try:
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(Client(url)) for _ in range(callers)]

            async def first_page(client: Client) -> None:
                result = await client.call_tool("access_review", {"providers": list(PROVIDERS), "limit": 50})
                assert not result.is_error, result.content
                pages.append(result.structured_content)  # type: ignore[arg-type]

            started = time.perf_counter()
            async with anyio.create_task_group() as tg:
                for client in clients:
                    tg.start_soon(first_page, client)
            seconds = time.perf_counter() - started
        peak = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    return seconds, peak, pages


async def measure_large(people: int = 46_500, callers: int = 16, rounds: int = 3) -> dict[str, Any]:
    """`rounds` first pages, each against a fresh server and each followed by the floor's replay
    of the first one's requests (so both see the same machine); the median of each, and the
    median of the per-round ratios."""
    world, apps = served(people)
    accounts = sum(len(getattr(world, p).users) for p in PROVIDERS)
    counted = Counted(apps)
    recorder = Recorder(apps)
    firsts, peaks, floors = [], [], []
    with serve_on_loopback(apps) as urls:
        for i in range(rounds):
            recorder.on = i == 0  # the first round's requests, and never the floor's own
            first, peak, (page,) = await first_pages(urls, 1)
            recorder.on = False
            firsts.append(first)
            peaks.append(peak)
            if i == 0:
                requests = counted.requests
            floors.append(review_floor.measure(urls, recorder.requests))
        counted.requests = 0
        together, together_peak, pages = await first_pages(urls, callers)
    # the ratio of the figures shown (rounded to 10 ms, as a small directory's floor may be a few)
    firsts, floors = [round(f, 2) for f in firsts], [max(0.01, round(f, 2)) for f in floors]
    return {
        "accounts": accounts,
        "people": page["total"],
        "first_page_s": round(statistics.median(firsts), 2),
        "first_page_per_round_s": firsts,
        "floor_s": round(statistics.median(floors), 2),
        "floor_per_round_s": floors,
        "floor_ratio": round(statistics.median(f / b for f, b in zip(firsts, floors, strict=True)), 2),
        "target_floor_ratio": TARGET_FLOOR_RATIO,
        "peak_rss_mb": round(max(peaks), 1),
        "upstream_requests": requests,
        "floor_requests": len(recorder.requests),
        "minimum_requests": minimum_requests(world),
        "callers": callers,
        "together_s": round(together, 2),
        "together_peak_rss_mb": round(together_peak, 1),
        "together_upstream_requests": counted.requests,
        "together_reviews": len({p["as_of"] + p["export"] for p in pages}),
    }


async def measure() -> dict[str, Any]:
    return {"questions": await measure_questions(), "large": await measure_large()}
