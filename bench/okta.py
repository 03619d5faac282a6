"""(i) `access_review orphaned=true` over about 100,000 Okta users plus the tools' accounts, at 20 ms
per upstream request, with Okta's simulator enforcing its 600/min users bucket: first-page wall time,
the server's peak RSS, upstream requests against the minimum, and Okta's 429s (none expected: the
server's default budget is 300/min, the half a token or app gets).

Our server runs as an HTTP subprocess signed in as the demo's service app; the simulators run in
this process on loopback ports (so their request logs can be counted)."""

from __future__ import annotations

import math
import time
from typing import Any

from mcp import Client

from mcp_directory.sim import SimOptions, build_app, build_apps, build_world, serve_on_loopback
from mcp_directory.sim.faults import FaultPlan
from mcp_directory.sim.okta import USERS_MAX

from .common import peak_rss_mb
from .review import LATENCY_S, PROVIDERS, minimum_requests, server

PEOPLE = 107_600  # about 100,000 Okta users (contractors have none; new hires and the admin add a few)


def okta_minimum(world: Any) -> int:
    """The fewest Okta requests a review makes: the token, both passes of the user list, the
    assignees list, the group list, and for each listed group its record and its members (a
    review reads a group as get_group does; pages of their maxima)."""
    okta = world.okta
    gone = sum(u["status"] == "DEPROVISIONED" for u in okta.users.values())
    listed = [g for g, r in okta.groups.items() if r["type"] != "BUILT_IN"]
    members = sum(1 + max(1, math.ceil(len(okta.members[g]) / 1000)) for g in listed)
    assignees = max(1, math.ceil(sum(1 for r in okta.roles.values() if r) / 100))
    return 1 + math.ceil((len(okta.users) - gone) / USERS_MAX) + math.ceil(gone / USERS_MAX) + assignees + 1 + members


async def measure(people: int = PEOPLE) -> dict[str, Any]:
    world = build_world(seed=1, people=people)
    apps = {name: app for name, app in build_apps(world).items() if name in PROVIDERS}
    apps["okta"] = build_app("okta", world, SimOptions(token="demo-okta-token", rate_limit=600, rate_window_s=60.0))
    for app in apps.values():
        app.state.gate.faults = FaultPlan(latency_s=LATENCY_S)
    with serve_on_loopback(apps) as urls:
        proc, url = server(urls)
        try:
            async with Client(url) as client:
                started = time.perf_counter()
                args = {"providers": list(PROVIDERS), "orphaned": True, "limit": 50}
                result = await client.call_tool("access_review", args)
                first = time.perf_counter() - started
                assert not result.is_error, result.content
            peak = peak_rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    page: dict[str, Any] = result.structured_content or {}
    okta_requests = apps["okta"].state.requests
    return {
        "okta_users": len(world.okta.users),
        "accounts": len(world.okta.users) + sum(len(getattr(world, p).users) for p in PROVIDERS),
        "orphaned": page["total"],
        "first_page_s": round(first, 1),
        "peak_rss_mb": round(peak, 1),
        "okta_requests": len(okta_requests),
        "okta_minimum": okta_minimum(world),
        "okta_per_user_requests": sum(r.path.endswith("/roles") for r in okta_requests),
        "upstream_requests": sum(len(app.state.requests) for app in apps.values()),
        "minimum_requests": minimum_requests(world) + okta_minimum(world),
    }
