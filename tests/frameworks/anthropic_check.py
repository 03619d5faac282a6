"""SPEC §15 through the Anthropic SDK's MCP helper, run in its own virtual environment.

    <anthropic venv>/bin/python tests/frameworks/anthropic_check.py --server-python <our venv's python>

1. `async_mcp_tool(tool, session, strict=True)` on every tool, and the SDK's strict schema transformer
   (`transform_schema`) on every input schema: no exception, and every optional argument still admits
   null afterwards (no meaning lost).
2. Calls through the helper's own `call` over stdio, streamable HTTP and SSE, the way its tool runner
   makes them: results (an `access_review` page included: a `resource_link` block makes the helper
   raise) become text the model reads; an error becomes the helper's `ToolError` carrying our JSON.

Prints one JSON report on stdout; exits 1 when any check failed. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import AsyncExitStack
from typing import Any

from anthropic.lib._parse._transform import transform_schema
from anthropic.lib.tools import ToolError
from anthropic.lib.tools.mcp import async_mcp_tool
from mcp import ClientSession, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

# (tool, arguments, what the text handed to the model must hold)
CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("list_users", {"provider": "rootly", "limit": 3, "email": None, "search": None}, '"result":['),
    ("access_review", {"mixed_status": True, "limit": 2, "status": None}, '"export":"directory://reviews/'),
    ("find_users", {"query": "nguyen", "providers": None}, '"result":['),
]
# An argument where a value is expected but empty: the model gets our error JSON.
FAILING = ("list_users", {"provider": "rootly", "email": ""}, "invalid_argument")


def admits_null(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "null" or (isinstance(schema.get("type"), list) and "null" in schema["type"]):
        return True
    return any(admits_null(branch) for branch in schema.get("anyOf", []))


def text_of(result: Any) -> str:
    if isinstance(result, str):
        return result
    return " ".join(str(block.get("text", block)) if isinstance(block, dict) else str(block) for block in result)


async def check(session: ClientSession, *, convert: bool) -> list[str]:
    problems: list[str] = []
    tools = (await session.list_tools()).tools
    helpers = {}
    for tool in tools:
        try:
            helper = async_mcp_tool(tool, session, strict=True)
            helper.to_dict()
            helpers[tool.name] = helper
        except Exception as exc:  # the helper refusing a tool is what this check is for
            problems.append(f"{tool.name}: async_mcp_tool raised {type(exc).__name__}: {exc}")
            continue
        if not convert:
            continue
        schema = tool.input_schema
        try:
            strict = transform_schema(schema)
        except Exception as exc:
            problems.append(f"{tool.name}: transform_schema raised {type(exc).__name__}: {exc}")
            continue
        required = set(schema.get("required", []))
        for name, prop in strict.get("properties", {}).items():
            default = schema["properties"][name].get("default")
            if name not in required and default is None and not admits_null(prop):
                problems.append(f"{tool.name}.{name}: optional but the strict schema does not admit null")
    if len(tools) < 10:
        problems.append(f"only {len(tools)} tools listed")
    for name, arguments, expected in CALLS:
        try:
            text = text_of(await helpers[name].call(arguments))
        except Exception as exc:
            problems.append(f"{name}: the helper raised {type(exc).__name__}: {exc}")
            continue
        if expected not in text:
            problems.append(f"{name}: the model would not read {expected!r} in {text[:300]!r}")
    name, arguments, expected = FAILING
    try:
        await helpers[name].call(arguments)
        problems.append(f"{name} {arguments}: no error reached the model")
    except ToolError as exc:
        if expected not in text_of(exc.content):
            problems.append(f"{name}: the error the model reads lacks {expected!r}: {exc.content!r}")
    return problems


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    for _ in range(200):  # bounded: 20 s
        if process.poll() is not None:
            raise RuntimeError("the server exited before it was healthy")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not become healthy in 20 s")


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server-python", required=True)
    args = parser.parse_args()
    command = [args.server_python, "-m", "mcp_directory", "serve", "--demo"]
    report: dict[str, list[str]] = {}

    async with AsyncExitStack() as stack:
        read, write = await stack.enter_async_context(
            stdio_client(StdioServerParameters(command=command[0], args=command[1:]))
        )
        session = await stack.enter_async_context(ClientSession(read, write))
        await session.initialize()
        report["stdio"] = await check(session, convert=True)

    for transport in ("http", "sse"):
        port = free_port()
        process = subprocess.Popen([*command, "--transport", transport, "--port", str(port)], stderr=subprocess.DEVNULL)
        try:
            wait_healthy(port, process)
            async with AsyncExitStack() as stack:
                if transport == "http":
                    streams = await stack.enter_async_context(streamable_http_client(f"http://127.0.0.1:{port}/mcp"))
                else:
                    streams = await stack.enter_async_context(sse_client(f"http://127.0.0.1:{port}/sse"))
                session = await stack.enter_async_context(ClientSession(streams[0], streams[1]))
                await session.initialize()
                report[transport] = await check(session, convert=False)
        finally:
            process.terminate()
            process.wait(timeout=10)

    print(json.dumps(report, indent=1))
    return 1 if any(report.values()) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
