"""(b) Every user of a 10,000-user directory with 20 ms per upstream request: list_users
(limit=200) followed to the end, against fetching the upstream pages one by one."""

from __future__ import annotations

import time
from typing import Any

import httpx2 as httpx
from mcp import Client

from mcp_directory.config import Settings
from mcp_directory.directory import Directory
from mcp_directory.server import build_server
from mcp_directory.sim import DEMO_TOKENS

from .common import server_env, simulators, traverse_users

PEOPLE = 13_953  # 71.67 % of the seeded people have a Rootly account: about 10,000 users


async def one_by_one(url: str) -> tuple[int, float]:
    headers = {"Authorization": f"Bearer {DEMO_TOKENS['rootly']}", "Accept": "application/vnd.api+json"}
    started, count, number = time.perf_counter(), 0, 1
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
        while number:
            params = {"page[number]": str(number), "page[size]": "100", "include": "role,teams"}
            document = (await http.get("/v1/users", params=params)).json()
            count += len(document["data"])
            number = document["meta"]["next_page"]
    return count, time.perf_counter() - started


async def ours(env: dict[str, str]) -> tuple[int, float]:
    started = time.perf_counter()
    async with Client(build_server(Directory(Settings.from_env(env)))) as c:
        count = await traverse_users(c, "rootly")
    return count, time.perf_counter() - started


async def measure() -> dict[str, Any]:
    with simulators(people=PEOPLE, latency_ms=20) as urls:
        baseline_count, baseline = await one_by_one(urls["rootly"])
        our_count, our_time = await ours(server_env(urls))
    assert our_count == baseline_count, (our_count, baseline_count)
    return {
        "users": our_count,
        "one_by_one_s": round(baseline, 3),
        "list_users_s": round(our_time, 3),
        "speedup": round(baseline / our_time, 2),
    }
