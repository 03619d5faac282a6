"""(j) coverage_review (SPEC §12) at 1x and 10x schedules, 20 ms per upstream request: bytes handed to
the model, seconds, and upstream requests against the fewest ONCALL.md allows; against paging every
schedule through list_schedules (what an agent would read to answer the same questions the long way);
and the first page as a multiple of its floor (`review_floor`: the same upstream responses fetched
under the same budgets, and only read).

Our server runs as an HTTP subprocess; the simulators run in this process on loopback ports (so their
request logs can be counted)."""

from __future__ import annotations

import math
import time
from typing import Any

from mcp import Client

from mcp_directory.sim import build_apps, build_world, serve_on_loopback
from mcp_directory.sim.faults import FaultPlan

from . import review_floor
from .review import LATENCY_S, PEOPLE_1X, Meter, server

ON_CALL = ("rootly", "opsgenie", "jsm")


async def pages(meter: Meter, tool: str, args: dict[str, Any]) -> int:
    """Follow a tool's cursors to the end; the number of items."""
    items, cursor = 0, None
    for _ in range(100_000):
        page = await meter(tool, {**args, **({"cursor": cursor} if cursor else {})})
        items += len(page["result"])
        cursor = page["next_cursor"]
        if not cursor:
            return items
    raise RuntimeError(f"{tool} never ended")


def on_call_minimum(world: Any) -> dict[str, int]:
    """The fewest requests for the on-call part of a full read (ONCALL.md §1b, §2b, §3b), user lists
    aside: Opsgenie 2 + S (overrides) + the named teams; JSM ⌈S/50⌉ + 1 (teams) + T (escalations) + S;
    Rootly ⌈S/100⌉ + S (rotations) + R (rotation users) + S (overrides) + ⌈E/100⌉ (levels included)."""
    og, jsm, rootly = world.opsgenie.oncall, world.jsm.oncall, world.rootly.oncall
    og_teams = {
        p["id"] for s in og.schedules.values() for r in s["rotations"] for p in r["participants"] if p["type"] == "team"
    }
    s, e = len(rootly.schedules), len(rootly.policies)
    return {
        "opsgenie": 2 + len(og.schedules) + len(og_teams),
        "jsm": math.ceil(len(jsm.schedules) / 50) + 1 + len(set(jsm.escalation_team.values())) + len(jsm.schedules),
        "rootly": math.ceil(s / 100) + 2 * s + len(rootly.rotations) + math.ceil(e / 100),
    }


async def measure(scales: tuple[int, ...] = (1, 10), people_1x: int = PEOPLE_1X) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for scale in scales:
        world = build_world(seed=1, people=people_1x * scale)
        apps = {name: app for name, app in build_apps(world, record_requests=True).items() if name in ON_CALL}
        for app in apps.values():
            app.state.gate.faults = FaultPlan(latency_s=LATENCY_S)
        schedules = sum(len(getattr(world, p).oncall.schedules) for p in ON_CALL)
        recorder = review_floor.Recorder(apps)  # the first page's requests, for its floor
        with serve_on_loopback(apps) as urls:
            proc, url = server(urls)
            try:
                async with Client(url) as client:
                    row: dict[str, Any] = {"schedules": schedules}
                    for app in apps.values():
                        app.state.requests.clear()
                    recorder.requests.clear()
                    meter = Meter(client)
                    started = time.perf_counter()
                    first = await meter("coverage_review", {"limit": 50})
                    row["first_page_s"] = round(time.perf_counter() - started, 2)
                    row["upstream"] = {p: len(apps[p].state.requests) for p in ON_CALL}  # before the floor's
                    recorder.on = False
                    # its floor: the same responses fetched under the same budgets, and only read
                    row["floor_s"] = max(0.01, round(review_floor.measure(urls, recorder.requests), 2))
                    row["floor_ratio"] = round(row["first_page_s"] / row["floor_s"], 2)
                    found, cursor = len(first["result"]), first["next_cursor"]
                    while cursor:
                        page = await meter("coverage_review", {"limit": 50, "cursor": cursor})
                        found, cursor = found + len(page["result"]), page["next_cursor"]
                    row["review"] = {
                        "calls": meter.calls,
                        "bytes": meter.bytes,
                        "seconds": round(time.perf_counter() - started, 2),
                    }
                    row["findings"] = found
                    row["on_call_minimum"] = on_call_minimum(world)
                    meter = Meter(client)
                    started = time.perf_counter()
                    for provider in ON_CALL:
                        await pages(meter, "list_schedules", {"provider": provider, "limit": 200})
                    row["paging"] = {
                        "calls": meter.calls,
                        "bytes": meter.bytes,
                        "seconds": round(time.perf_counter() - started, 2),
                    }
                    row["budget_bytes"] = 1200 * found + 3000 * row["review"]["calls"]
                    out[f"{scale}x"] = row
            finally:
                proc.terminate()
                proc.wait(timeout=15)
    return out
