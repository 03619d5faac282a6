"""(d) 50 concurrent streamable-HTTP sessions x 20 calls each against one server process.

The client-side throttles are off (the simulators have no limit): this measures the server,
not Retool's 300 requests a minute."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import anyio
from mcp import Client

from .common import free_port, server_env, simulators, summary_ms, wait_healthy

SESSIONS, CALLS = 50, 20


async def measure() -> dict[str, Any]:
    with simulators(people=200) as urls:
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "mcp_directory", "serve", "--transport", "http", "--port", str(port)],
            env=server_env(urls, **{f"{p.upper()}_REQUESTS_PER_MINUTE": "0" for p in urls}),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_healthy(f"http://127.0.0.1:{port}/healthz")
            latencies: list[float] = []
            errors: list[str] = []

            async def session() -> None:
                try:
                    async with Client(f"http://127.0.0.1:{port}/mcp") as c:
                        for i in range(CALLS):
                            started = time.perf_counter()
                            result = await c.call_tool(
                                "list_users", {"provider": ("rootly", "opsgenie", "retool")[i % 3], "limit": 5}
                            )
                            latencies.append(time.perf_counter() - started)
                            if result.is_error:
                                errors.append(result.content[0].text[:200])
                except Exception as exc:  # a session that could not run counts as errors
                    errors.append(repr(exc)[:200])

            started = time.perf_counter()
            async with anyio.create_task_group() as tg:
                for _ in range(SESSIONS):
                    tg.start_soon(session)
            wall = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(timeout=15)
    return {
        "sessions": SESSIONS,
        "calls": len(latencies),
        "throughput_per_s": round(len(latencies) / wall, 1),
        **summary_ms(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
    }
