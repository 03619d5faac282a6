"""What every framework check shares (each runs in its own virtualenv, with this folder on its path):
our server on loopback, and the one question each check asks of a converted schema."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

PATHS = {"http": "/mcp", "sse": "/sse"}


def admits_null(schema: dict[str, Any]) -> bool:
    """Whether a (converted) property schema lets the model send null: "not given" (SPEC §15)."""
    if schema.get("type") == "null" or (isinstance(schema.get("type"), list) and "null" in schema["type"]):
        return True
    return any(admits_null(branch) for branch in schema.get("anyOf", []))


def server_command(python: str, *flags: str) -> list[str]:
    return [python, "-m", "mcp_directory", "serve", "--demo", *flags]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(command: list[str], transport: str) -> Iterator[str]:
    """`command` serving `transport` (http or sse) on a free loopback port: yields its MCP URL."""
    port = free_port()
    process = subprocess.Popen([*command, "--transport", transport, "--port", str(port)], stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):  # bounded: 20 s
            if process.poll() is not None:
                raise RuntimeError("the server exited before it was healthy")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("the server did not become healthy in 20 s")
        yield f"http://127.0.0.1:{port}{PATHS[transport]}"
    finally:
        process.terminate()
        process.wait(timeout=10)


async def over_every_transport(command: list[str], check: Any) -> dict[str, list[str]]:
    """`await check(session, convert=...)` with the `mcp` package's own client over stdio (converting
    the schemas there), streamable HTTP and SSE: what each reports, by transport."""
    from contextlib import AsyncExitStack

    from mcp import ClientSession, StdioServerParameters
    from mcp.client.sse import sse_client
    from mcp.client.stdio import stdio_client
    from mcp.client.streamable_http import streamable_http_client

    report: dict[str, list[str]] = {}
    for transport in ("stdio", "http", "sse"):
        async with AsyncExitStack() as stack:
            if transport == "stdio":
                params = StdioServerParameters(command=command[0], args=command[1:])
                streams = await stack.enter_async_context(stdio_client(params))
            else:
                url = stack.enter_context(serving(command, transport))
                connect = streamable_http_client if transport == "http" else sse_client
                streams = await stack.enter_async_context(connect(url))
            session = await stack.enter_async_context(ClientSession(streams[0], streams[1]))
            await session.initialize()
            report[transport] = await check(session, convert=transport == "stdio")
    return report
