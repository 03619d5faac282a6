"""(h)'s floor: the time to fetch the upstream responses our review fetched, and nothing else.

`Recorder` notes every request a review sends to the simulators (path, query, credential). The
floor replays them in a process of its own, as our server runs in one: per provider, the user
list's requests `concurrent_pages` at a time and the group requests `max(concurrent_pages, 4)` at
a time (the review's own limits, `review.read_provider`), under the provider's published
request budget (`throttle.Throttle`, as our server uses), over the same kind of pooled HTTP client,
reading each body to its end and parsing nothing. It does not wait for one answer to learn the
next request (the review must: a listing's first page tells how many follow), so it is a lower
bound on what any reader of those responses could do.

    python -m bench.review_floor FILE   # FILE: {"urls": {...}, "requests": [[provider, path, auth]]}
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import anyio
import httpx2 as httpx

from mcp_directory.providers import PROVIDERS
from mcp_directory.throttle import Throttle

SPECS = {p.name: p.spec for p in PROVIDERS}
GROUP_CONCURRENCY = 4  # the least `review.read_provider` reads groups with


class Recorder:
    """Notes the requests that reach the simulators (a hook on each app)."""

    def __init__(self, apps: dict[str, Any]) -> None:
        self.requests: list[tuple[str, str, str]] = []
        self.on = True
        for name, app in apps.items():
            app.state.gate.hooks.append(self.hook(name))

    def hook(self, provider: str) -> Any:
        async def note(request: Any) -> None:
            if self.on:
                query = request.url.query
                path = request.url.path + (f"?{query}" if query else "")
                self.requests.append((provider, path, request.headers.get("authorization", "")))

        return note


def is_user_list(path: str) -> bool:
    return path.split("?", 1)[0].rstrip("/").endswith("/users")


async def replay(urls: dict[str, str], requests: list[tuple[str, str, str]]) -> float:
    """Seconds to fetch every request, as the module says."""
    queues: dict[tuple[str, bool], list[tuple[str, str]]] = defaultdict(list)
    for provider, path, authorization in requests:
        queues[(provider, is_user_list(path))].append((path, authorization))
    budgets = {p: Throttle(SPECS[p].requests_per_minute, provider=p) for p in {p for p, _, _ in requests}}
    clients = {p: httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_connections=20)) for p, url in urls.items()}
    try:
        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for (provider, users), paths in queues.items():
                width = SPECS[provider].concurrent_pages
                limiter = anyio.Semaphore(width if users else max(width, GROUP_CONCURRENCY))
                for path, authorization in paths:
                    tg.start_soon(fetch, clients[provider], budgets[provider], limiter, path, authorization)
        return time.perf_counter() - started
    finally:
        for client in clients.values():
            await client.aclose()


async def fetch(
    client: httpx.AsyncClient, budget: Throttle, limiter: anyio.Semaphore, path: str, authorization: str
) -> None:
    async with limiter:
        await budget.acquire()
        response = await client.get(path, headers={"Authorization": authorization})
        if response.status_code != 200:
            raise RuntimeError(f"the floor's {path} answered {response.status_code}")


def measure(urls: dict[str, str], requests: list[tuple[str, str, str]]) -> float:
    """Run the replay in a fresh process; its seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        plan = Path(tmp) / "requests.json"
        plan.write_text(json.dumps({"urls": urls, "requests": requests}))
        out = subprocess.run(
            [sys.executable, "-m", "bench.review_floor", str(plan)],
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            check=True,
        )
    return float(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    loaded = json.loads(Path(sys.argv[1]).read_text())
    print(round(anyio.run(replay, loaded["urls"], [tuple(r) for r in loaded["requests"]]), 3))
