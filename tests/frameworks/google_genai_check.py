"""SPEC §15 through google-genai's own MCP support, run in its own virtual environment.

    <google-genai venv>/bin/python tests/frameworks/google_genai_check.py --server-python <python>

1. `McpToGenAiToolAdapter(session, tools).tools` (what `generate_content(tools=[session])` hands Gemini):
   every tool converts (a boolean `additionalProperties` crashes it), every argument survives as a
   Gemini `Schema` with a type, no object loses its properties, optional arguments stay nullable.
2. Calls through the adapter's `call_tool(FunctionCall)` over stdio, streamable HTTP and SSE: results
   come back as JSON text, an error as our error JSON.

Prints one JSON report on stdout; exits 1 when any check failed. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from google.genai._adapters import McpToGenAiToolAdapter
from google.genai.types import FunctionCall, Schema
from harness import over_every_transport, server_command
from mcp import ClientSession

CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("list_users", {"provider": "rootly", "limit": 3, "email": None}, '"result":['),
    ("access_review", {"mixed_status": True, "limit": 2, "status": None}, '"export":"directory://reviews/'),
    ("find_users", {"query": "nguyen"}, '"result":['),
]
FAILING = ("list_users", {"provider": "rootly", "email": ""}, "invalid_argument")


def lost(schema: Schema | None, path: str) -> list[str]:
    """Where a converted schema lost a type or an object's properties."""
    if schema is None:
        return [f"{path}: no schema"]
    branches = schema.any_of or []
    if branches:
        return [p for i, b in enumerate(branches) for p in lost(b, f"{path}|{i}")]
    if schema.type is None:
        return [f"{path}: no type"]
    found = []
    kind = str(schema.type.value if hasattr(schema.type, "value") else schema.type).upper()
    if kind == "OBJECT":
        if not schema.properties and path.count(".") > 0:
            found.append(f"{path}: an object without properties")
        for name, sub in (schema.properties or {}).items():
            found += lost(sub, f"{path}.{name}")
    if kind == "ARRAY":
        found += lost(schema.items, f"{path}[]")
    return found


def nullable(schema: Schema) -> bool:
    return bool(schema.nullable) or any(
        str(getattr(b.type, "value", b.type)).upper() == "NULL" or b.nullable for b in schema.any_of or []
    )


async def check(session: ClientSession, *, convert: bool) -> list[str]:
    problems: list[str] = []
    listed = await session.list_tools()
    if len(listed.tools) < 10:
        problems.append(f"only {len(listed.tools)} tools listed")
    adapter = McpToGenAiToolAdapter(session, listed)
    if convert:
        for tool in listed.tools:
            try:
                (declaration,) = (
                    McpToGenAiToolAdapter(session, type(listed)(tools=[tool])).tools[0].function_declarations
                )
            except Exception as exc:  # the conversion crashing is what this check is for
                problems.append(f"{tool.name}: conversion raised {type(exc).__name__}: {exc}")
                continue
            parameters = declaration.parameters
            problems += [f"{tool.name}{p}" for p in lost(parameters, "")]
            original = tool.input_schema
            required = set(original.get("required", []))
            for name, prop in ((parameters.properties or {}) if parameters else {}).items():
                default = original["properties"].get(name, {}).get("default")
                if name not in required and default is None and not nullable(prop):
                    problems.append(f"{tool.name}.{name}: optional but not nullable after conversion")
    for name, arguments, expected in CALLS:
        result = await adapter.call_tool(FunctionCall(name=name, args=arguments))
        text = " ".join(getattr(block, "text", "") for block in result.content)
        if result.is_error or expected not in text:
            problems.append(f"{name}: the model would not read {expected!r} in {text[:300]!r}")
    name, arguments, expected = FAILING
    result = await adapter.call_tool(FunctionCall(name=name, args=arguments))
    text = " ".join(getattr(block, "text", "") for block in result.content)
    if not result.is_error or expected not in text:
        problems.append(f"{name} {arguments}: the model did not get an error with {expected!r}: {text[:300]!r}")
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
