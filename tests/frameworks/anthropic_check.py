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
import sys
from typing import Any

from anthropic.lib._parse._transform import transform_schema
from anthropic.lib.tools import ToolError
from anthropic.lib.tools.mcp import async_mcp_tool
from harness import admits_null, over_every_transport, server_command
from mcp import ClientSession

# (tool, arguments, what the text handed to the model must hold)
CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("list_users", {"provider": "rootly", "limit": 3, "email": None, "search": None}, '"result":['),
    ("access_review", {"mixed_status": True, "limit": 2, "status": None}, '"export":"directory://reviews/'),
    ("find_users", {"query": "nguyen", "providers": None}, '"result":['),
]
# An argument where a value is expected but empty: the model gets our error JSON.
FAILING = ("list_users", {"provider": "rootly", "email": ""}, "invalid_argument")


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


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server-python", required=True)
    args = parser.parse_args()
    report = await over_every_transport(server_command(args.server_python), check)
    print(json.dumps(report, indent=1))
    return 1 if any(report.values()) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
