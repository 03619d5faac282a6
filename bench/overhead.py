"""(a) What our server adds to one upstream request: get_user through the MCP server (in
process, and over stdio) against the same GET made directly with httpx, against the same
simulator; beside it, the SDK's own round trip for a trivial tool (the floor)."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import httpx2 as httpx
from mcp import Client, StdioServerParameters

from mcp_directory.config import Settings
from mcp_directory.directory import Directory
from mcp_directory.server import build_server
from mcp_directory.sim import DEMO_TOKENS

from . import floor_server
from .common import server_env, simulators, summary_ms

WARMUP = 20


async def timed(call: Any, samples: int) -> list[float]:
    for _ in range(WARMUP):
        await call()
    out = []
    for _ in range(samples):
        started = time.perf_counter()
        await call()
        out.append(time.perf_counter() - started)
    return out


async def through(client: Client, tool: str, args: dict[str, Any], samples: int) -> list[float]:
    async def call() -> None:
        result = await client.call_tool(tool, args)
        assert not result.is_error, result.content

    return await timed(call, samples)


async def measure(samples: int = 300) -> dict[str, Any]:
    with simulators(people=200) as urls:
        env = server_env(urls)
        headers = {"Authorization": f"Bearer {DEMO_TOKENS['rootly']}", "Accept": "application/vnd.api+json"}
        async with httpx.AsyncClient(base_url=urls["rootly"], headers=headers) as http:
            user_id = (await http.get("/v1/users", params={"page[size]": "1"})).json()["data"][0]["id"]

            async def direct() -> None:
                r = await http.get(f"/v1/users/{user_id}", params={"include": "role,teams"})
                assert r.status_code == 200

            direct_times = await timed(direct, samples)
        args = {"provider": "rootly", "user_id": user_id}
        async with Client(build_server(Directory(Settings.from_env(env)))) as c:
            inproc = await through(c, "get_user", args, samples)
        params = StdioServerParameters(command=sys.executable, args=["-m", "mcp_directory", "serve"], env=env)
        async with Client(params) as c:
            stdio = await through(c, "get_user", args, samples)
    async with Client(floor_server.server) as c:
        floor_inproc = await through(c, "ping", {}, samples)
    floor_path = os.path.join(os.path.dirname(__file__), "floor_server.py")
    async with Client(StdioServerParameters(command=sys.executable, args=[floor_path])) as c:
        floor_stdio = await through(c, "ping", {}, samples)

    d, i, s = summary_ms(direct_times), summary_ms(inproc), summary_ms(stdio)
    return {
        "direct": d,
        "in_process": i,
        "stdio": s,
        "floor_in_process": summary_ms(floor_inproc),
        "floor_stdio": summary_ms(floor_stdio),
        "overhead_in_process_ms": {
            "median": round(i["median_ms"] - d["median_ms"], 3),
            "p99": round(i["p99_ms"] - d["p99_ms"], 3),
        },
        "overhead_stdio_ms": {
            "median": round(s["median_ms"] - d["median_ms"], 3),
            "p99": round(s["p99_ms"] - d["p99_ms"], 3),
        },
    }
