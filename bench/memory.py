"""(e) Peak RSS of the server process while a client traverses 100,000 users."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

from mcp import Client

from .common import (
    free_port,
    peak_rss_mb,
    server_env,
    simulators,
    traverse_users,
    wait_healthy,
)

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
            started = time.perf_counter()
            async with Client(f"http://127.0.0.1:{port}/mcp") as c:
                count = await traverse_users(c, "opsgenie")
            elapsed = time.perf_counter() - started
            peak = peak_rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=15)
    return {"users": count, "seconds": round(elapsed, 2), "peak_rss_mb": round(peak, 1)}
