"""SPEC §15 through LangChain's MCP adapters (an `mcp` 1.x client), run in their own virtual environment.

    <langchain venv>/bin/python tests/frameworks/langchain_mcp_adapters_check.py --server-python <python>

1. `MultiServerMCPClient.get_tools()` over stdio, streamable HTTP and SSE: every tool loads, and
   LangChain's OpenAI conversion (`convert_to_openai_tool(tool, strict=True)`) keeps every argument
   (no free-form map bent to `{}`) and lets every optional argument be null.
2. Calls the way an agent's tool node makes them (`ainvoke` with a tool call): results reach the model
   as text blocks only (a `resource_link` becomes a file block that OpenAI's chat API refuses), and a
   tool error reaches it as our JSON with `status="error"`.

Prints one JSON report on stdout; exits 1 when any check failed. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from harness import admits_null, server_command, serving
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_mcp_adapters.client import MultiServerMCPClient

# (tool, arguments, what the text handed to the model must hold)
CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("list_users", {"provider": "rootly", "limit": 3, "email": None}, '"result":['),
    ("access_review", {"mixed_status": True, "limit": 2, "status": None}, '"export":"directory://reviews/'),
    ("find_users", {"query": "nguyen", "providers": None}, '"result":['),
]
FAILING = ("list_users", {"provider": "rootly", "email": ""}, "invalid_argument")


def free_objects(schema: Any, path: str = "") -> list[str]:
    """Objects whose properties the conversion lost (a map bent to `{}`)."""
    if isinstance(schema, list):
        return [p for i, s in enumerate(schema) for p in free_objects(s, f"{path}[{i}]")]
    if not isinstance(schema, dict):
        return []
    # The root of a tool without arguments has no properties, and needs none.
    found = [path] if path and schema.get("type") == "object" and not schema.get("properties") else []
    for key, value in schema.items():
        if key in ("properties",) and isinstance(value, dict):
            found += [p for name, sub in value.items() for p in free_objects(sub, f"{path}.{name}")]
        elif key in ("items", "anyOf"):
            found += free_objects(value, path)
    return found


async def call(tool: Any, arguments: dict[str, Any], turn: int) -> tuple[str, Any, str]:
    """What the model gets back for one tool call: the message's status, content and text."""
    message = await tool.ainvoke({"type": "tool_call", "name": tool.name, "args": arguments, "id": f"call_{turn}"})
    blocks = message.content if isinstance(message.content, list) else [{"type": "text", "text": message.content}]
    text = " ".join(str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in blocks)
    return message.status, blocks, text


async def check(connection: dict[str, Any], *, convert: bool) -> list[str]:
    problems: list[str] = []
    tools = {t.name: t for t in await MultiServerMCPClient({"directory": connection}).get_tools()}
    if len(tools) < 10:
        problems.append(f"only {len(tools)} tools loaded")
    for name, tool in tools.items() if convert else ():
        try:
            converted = convert_to_openai_tool(tool, strict=True)["function"]["parameters"]
        except Exception as exc:  # a conversion refusing a tool is what this check is for
            problems.append(f"{name}: convert_to_openai_tool raised {type(exc).__name__}: {exc}")
            continue
        original = tool.args_schema if isinstance(tool.args_schema, dict) else tool.args_schema.model_json_schema()
        lost = set(original.get("properties", {})) - set(converted.get("properties", {}))
        if lost:
            problems.append(f"{name}: the conversion dropped {sorted(lost)}")
        problems += [f"{name}{p}: an object without properties after conversion" for p in free_objects(converted)]
        required = set(original.get("required", []))
        for prop, schema in converted.get("properties", {}).items():
            default = original.get("properties", {}).get(prop, {}).get("default")
            if prop not in required and default is None and not admits_null(schema):
                problems.append(f"{name}.{prop}: optional but the converted schema does not admit null")
    for turn, (name, arguments, expected) in enumerate(CALLS):
        try:
            status, blocks, text = await call(tools[name], arguments, turn)
        except Exception as exc:
            problems.append(f"{name}: the adapter raised {type(exc).__name__}: {exc}")
            continue
        others = [b.get("type") for b in blocks if isinstance(b, dict) and b.get("type") != "text"]
        if others:
            problems.append(f"{name}: the model would get non-text blocks {others}")
        if status != "success" or expected not in text:
            problems.append(f"{name}: the model would not read {expected!r} in {text[:300]!r} ({status})")
    name, arguments, expected = FAILING
    status, _, text = await call(tools[name], arguments, len(CALLS))
    if status != "error" or expected not in text:
        problems.append(f"{name} {arguments}: the model did not get an error with {expected!r}: {text[:300]!r}")
    return problems


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server-python", required=True)
    args = parser.parse_args()
    command = server_command(args.server_python)
    report: dict[str, list[str]] = {}
    report["stdio"] = await check({"transport": "stdio", "command": command[0], "args": command[1:]}, convert=True)
    for transport, flag in (("streamable_http", "http"), ("sse", "sse")):
        with serving(command, flag) as url:
            report[transport] = await check({"transport": transport, "url": url}, convert=False)
    print(json.dumps(report, indent=1))
    return 1 if any(report.values()) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
