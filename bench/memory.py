"""(e) Peak RSS of the server process while a client traverses 100,000 users."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from mcp import Client

from .common import free_port, peak_rss_mb, server_env, simulators, wait_healthy

PEOPLE = 139_600  # about 71.6 % have an Opsgenie account: about 100,000 users


async def measure() -> dict[str, Any]:
    with simulators(people=PEOPLE) as urls:
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "mcp_directory", "serve", "--transport", "http", "--port", str(port)],
            env=server_env(urls),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}/healthz")
            started, count, cursor = time.perf_counter(), 0, None
            async with Client(f"http://127.0.0.1:{port}/mcp") as c:
                while True:
                    args = {"provider": "opsgenie", "limit": 200, **({"cursor": cursor} if cursor else {})}
                    result = await c.call_tool("list_users", args)
                    assert not result.is_error, result.content
                    count += len(result.structured_content["result"])
                    cursor = result.structured_content["next_cursor"]
                    if not cursor:
                        break
            elapsed = time.perf_counter() - started
            peak = peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=15)
    return {"users": count, "seconds": round(elapsed, 2), "peak_rss_mb": round(peak, 1)}
