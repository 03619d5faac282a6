"""A tool is one value: name, toolset, flags, argument model, result model and handler.

The argument model is the documentation (every field has a description and bounds);
the result model is the outputSchema; the flags are the annotations; the handler is
what runs. Nothing about a tool lives anywhere else.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any

from mcp.types import Tool as MCPTool
from mcp.types import ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field

from ..models import Provider

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context

    from ..directory import Directory


@dataclass(frozen=True)
class Call:
    """What a handler gets besides its arguments."""

    directory: Directory
    context: Context[Any, Any] | None = None

    async def report(self, done: int, total: int) -> None:
        """MCP progress for multi-page fetches; the SDK drops it when the client sent no token."""
        if self.context is not None:
            await self.context.report_progress(done, total)

    async def page(self, tool: str, provider: str, fetch: Any, **kwargs: Any) -> Any:
        """`Directory.page`, reporting progress to this call's client."""
        return await self.directory.page(tool, provider, fetch, progress=self.report, **kwargs)


Handler = Callable[[Call, Any], Awaitable[BaseModel]]


@dataclass(frozen=True)
class Tool:
    name: str
    title: str
    toolset: str
    args: type[BaseModel]
    result: type[BaseModel]
    handler: Handler
    description: str
    read_only: bool = True
    destructive: bool = False
    idempotent: bool = True
    open_world: bool = True  # every tool talks to a provider's API
    operation: str | None = None  # the Adapter method it needs, for per-provider support
    provider: str | None = None  # for tools of one provider, which (they take no provider argument)
    # Read-only while writes are disabled, a destructive write tool once they are allowed
    # (proxy_request: GET only until then).
    gated: bool = False

    def under(self, allow_writes: bool) -> Tool | None:
        """This tool as registered with writes allowed or not; None when it is not registered."""
        if self.gated and allow_writes:
            return dataclasses.replace(self, read_only=False, destructive=True, idempotent=False)
        return self if self.read_only or allow_writes else None

    def audited(self, args: BaseModel) -> bool:
        """Whether a call changes something upstream and so goes to the audit log."""
        return not self.read_only and getattr(args, "method", "POST") != "GET"

    # Derived once per tool value: tools/list and (on 2026-07-28 HTTP) every call read them.
    @cached_property
    def annotations(self) -> ToolAnnotations:
        return ToolAnnotations(
            title=self.title,
            read_only_hint=self.read_only,
            destructive_hint=self.destructive,
            idempotent_hint=self.idempotent,
            open_world_hint=self.open_world,
        )

    @cached_property
    def input_schema(self) -> dict[str, Any]:
        return compact_schema(self.args.model_json_schema(), optional_null=False)

    @cached_property
    def output_schema(self) -> dict[str, Any]:
        return flat_nullable(inline_refs(compact_schema(self.result.model_json_schema(), optional_null=True)))

    def to_mcp(self) -> MCPTool:
        return MCPTool(
            name=self.name,
            title=self.title,
            description=self.description,
            input_schema=self.input_schema,
            output_schema=self.output_schema,
            annotations=self.annotations,
        )


def compact_schema(node: Any, *, optional_null: bool) -> Any:
    """Drop what costs the model tokens and tells it nothing: pydantic's generated titles,
    and, in input schemas (optional_null=False), the `null` branch of an optional argument
    whose default is already null. Output schemas keep it: results do carry nulls."""
    if isinstance(node, list):
        return [compact_schema(n, optional_null=optional_null) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in ("properties", "$defs"):  # maps of names, where "title" may be a real name
            out[key] = {name: compact_schema(sub, optional_null=optional_null) for name, sub in value.items()}
        elif key != "title" or not isinstance(value, str):
            out[key] = compact_schema(value, optional_null=optional_null)
    branches = out.get("anyOf")
    if not optional_null and isinstance(branches, list) and "default" in out and out["default"] is None:
        kept = [b for b in branches if b != {"type": "null"}]
        if len(kept) == 1:
            del out["anyOf"]
            out = {**kept[0], **out}
    return out


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Replace every local `$ref` with its definition (our models are not recursive), so a
    client validating results never resolves references."""
    defs = schema.get("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(n) for n in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target = walk(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {**target, **{k: walk(v) for k, v in node.items() if k != "$ref"}}
        return {k: walk(v) for k, v in node.items() if k != "$defs"}

    return walk(schema)


def flat_nullable(node: Any) -> Any:
    """`anyOf: [{type: X, ...}, {type: null}]` as `type: [X, "null"]`: the same set of values,
    far cheaper for a client to validate on every result (and fewer bytes)."""
    if isinstance(node, list):
        return [flat_nullable(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: flat_nullable(v) for k, v in node.items()}
    branches = out.get("anyOf")
    if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches:
        (other,) = [b for b in branches if b != {"type": "null"}]
        if isinstance(other.get("type"), str):
            del out["anyOf"]
            out = {**other, **out, "type": [other["type"], "null"]}
    return out


def tool(
    *,
    name: str | None = None,
    title: str,
    toolset: str,
    args: type[BaseModel],
    result: type[BaseModel],
    **flags: Any,
) -> Callable[[Handler], Tool]:
    """Make a `Tool` of a handler; its docstring is the description the model reads."""

    def make(handler: Handler) -> Tool:
        description = " ".join((handler.__doc__ or "").split())
        return Tool(
            name=name or handler.__name__,
            title=title,
            toolset=toolset,
            args=args,
            result=result,
            handler=handler,
            description=description,
            **flags,
        )

    return make


class Args(BaseModel):
    """Base of every argument model: unknown arguments are errors, not silently dropped, and
    an argument of the wrong JSON type is an error too (strict: `"yes"` or `1` is not `true`,
    `true` is not a limit): an agent must never confirm a deletion by accident (SPEC §3)."""

    model_config = ConfigDict(extra="forbid", strict=True)


ProviderArg = Annotated[Provider, Field(description="Which provider: rootly, opsgenie or retool.")]
LimitArg = Annotated[int, Field(ge=1, le=200, description="Items per page, 1-200.")]
CursorArg = Annotated[
    str | None,
    Field(max_length=4096, description="next_cursor from the previous page of this same call; omit for the first page."),
]
IdArg = Annotated[str, Field(min_length=1, max_length=200, description="Id at the provider.")]
