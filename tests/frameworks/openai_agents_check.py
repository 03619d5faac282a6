"""SPEC §15 through the OpenAI Agents SDK's own code, run in its own virtual environment.

    <agents venv>/bin/python tests/frameworks/openai_agents_check.py --server-python <our venv's python>

1. Every tool converts to a strict function tool (`convert_schemas_to_strict=True`: the SDK falls back
   to non-strict silently, so `strict_json_schema` is checked), and in the strict schema every optional
   argument still admits null (strict mode makes every property required: null is "not given").
2. A scripted `Runner` run over stdio, streamable HTTP and SSE: a fake model (no network) calls tools the
   way a strict-mode model must (every property present, the unused ones null) and reads what the SDK
   hands back: the results, and an error as text the model can act on.

Prints one JSON report on stdout; exits 1 when any check failed. No network: the server is our own
`mcp-directory serve --demo` on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

from agents import Agent, ModelResponse, ModelSettings, RunConfig, Runner, Usage
from agents.mcp import MCPServerSse, MCPServerStdio, MCPServerStreamableHttp, MCPUtil
from agents.models.interface import Model, ModelProvider
from harness import admits_null, server_command, serving
from openai.types.responses import ResponseFunctionToolCall, ResponseOutputMessage, ResponseOutputText

# What the scripted model asks, in order: (tool, the arguments it means), and what the answer must hold.
SCRIPT: list[tuple[str, dict[str, Any], str]] = [
    ("list_users", {"provider": "rootly", "limit": 3}, '"result":['),
    ("find_users", {"query": "nguyen"}, '"result":['),
    ("access_review", {"mixed_status": True, "limit": 2}, '"export":"directory://reviews/'),
    # Strings where a value is expected but empty: an error the model reads and can act on.
    ("list_users", {"provider": "rootly", "email": ""}, "invalid_argument"),
]


def strict_arguments(schema: dict[str, Any], meant: dict[str, Any]) -> dict[str, Any]:
    """What a strict-mode model sends: every property; for those it does not mean to give, the
    documented default where there is one (limit 50, confirm false), else null."""
    properties = schema.get("properties", {})
    return {name: meant[name] if name in meant else properties[name].get("default") for name in properties}


class ScriptedModel(Model):
    """Calls the SCRIPT's tools one per turn, then answers; keeps what the SDK handed back."""

    def __init__(self) -> None:
        self.turn = 0
        self.outputs: list[str] = []
        self.sent: list[dict[str, Any]] = []

    async def get_response(
        self, system_instructions, input, model_settings, tools, output_schema, handoffs, tracing, **_: Any
    ):  # type: ignore[no-untyped-def,override]
        if isinstance(input, list):
            self.outputs = [
                str(item.get("output"))
                for item in input
                if isinstance(item, dict) and item.get("type") == "function_call_output"
            ]
        if self.turn < len(SCRIPT):
            name, meant, _ = SCRIPT[self.turn]
            schema = next(t.params_json_schema for t in tools if t.name == name)
            arguments = strict_arguments(schema, meant)
            self.sent.append(arguments)
            self.turn += 1
            call = ResponseFunctionToolCall(
                type="function_call", call_id=f"call_{self.turn}", name=name, arguments=json.dumps(arguments)
            )
            return ModelResponse(output=[call], usage=Usage(), response_id=None)
        message = ResponseOutputMessage(
            id="msg",
            type="message",
            role="assistant",
            status="completed",
            content=[ResponseOutputText(type="output_text", text="done", annotations=[])],
        )
        return ModelResponse(output=[message], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def,override]
        raise NotImplementedError


class Provider(ModelProvider):
    def __init__(self, model: Model) -> None:
        self.model = model

    def get_model(self, model_name: str | None) -> Model:
        return self.model


async def check_conversion(server: Any) -> list[str]:
    problems: list[str] = []
    tools = await server.list_tools()
    for tool in tools:
        converted = MCPUtil.to_function_tool(tool, server, convert_schemas_to_strict=True)
        original = getattr(tool, "input_schema", None) or getattr(tool, "inputSchema", {})
        if not converted.strict_json_schema:
            # A tool without arguments can only be strict with `additionalProperties: false`, which
            # SPEC §15 rules out (google-genai crashes on it); sent non-strict it still means `{}`.
            if original.get("properties"):
                problems.append(f"{tool.name}: not strict after conversion")
            continue
        schema = converted.params_json_schema
        required = set(original.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            default = original.get("properties", {}).get(name, {}).get("default")
            if name not in required and default is None and not admits_null(prop):
                problems.append(f"{tool.name}.{name}: optional but the strict schema does not admit null")
    if len(tools) < 10:
        problems.append(f"only {len(tools)} tools listed")
    return problems


async def scripted_run(server: Any) -> list[str]:
    model = ScriptedModel()
    agent = Agent(
        name="directory",
        instructions="Answer with the tools.",
        mcp_servers=[server],
        mcp_config={"convert_schemas_to_strict": True},
        model_settings=ModelSettings(),
    )
    config = RunConfig(model_provider=Provider(model), tracing_disabled=True)
    await Runner.run(agent, "Who is where?", run_config=config, max_turns=len(SCRIPT) + 2)
    problems = []
    if len(model.outputs) != len(SCRIPT):
        problems.append(f"the model saw {len(model.outputs)} tool outputs, not {len(SCRIPT)}")
    for (name, _, expected), output in zip(SCRIPT, model.outputs, strict=False):
        if expected not in output:
            problems.append(f"{name}: the model did not read {expected!r} in {output[:300]!r}")
    return problems


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--server-python", required=True)
    args = parser.parse_args()
    command = server_command(args.server_python, "--allow-writes")
    report: dict[str, list[str]] = {}

    stdio = MCPServerStdio(
        params={"command": command[0], "args": command[1:]}, cache_tools_list=True, client_session_timeout_seconds=60
    )
    async with stdio:
        report["conversion"] = await check_conversion(stdio)
        report["run over stdio"] = await scripted_run(stdio)

    for transport in ("http", "sse"):
        with serving(command, transport) as url:
            server: Any
            if transport == "http":
                server = MCPServerStreamableHttp(params={"url": url}, client_session_timeout_seconds=60)
            else:
                server = MCPServerSse(params={"url": url}, client_session_timeout_seconds=60)
            async with server:
                report[f"run over {transport}"] = await scripted_run(server)

    print(json.dumps(report, indent=1))
    return 1 if any(report.values()) else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
