"""A tool is one value: name, toolset, flags, argument model, result model and handler.

The argument model is the documentation (every field has a description and bounds);
the result model is the outputSchema; the flags are the annotations; the handler is
what runs. Nothing about a tool lives anywhere else.

What a tool says about providers derives from the provider list it is shown with
(`Tool.to_mcp(providers)`): the enum of every provider argument and field, how many
providers a list may name, which providers support the tool (appended to its
description), and the `$PROVIDERS` / `$PROXY_ROOTS` placeholders in descriptions.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any

from mcp.types import Tool as MCPTool
from mcp.types import ToolAnnotations
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ..confirmations import ask, shows_forms
from ..models import PROVIDER_MARK, PROVIDERS_MARK, Page, ProviderName
from ..spec import DEACTIVATION_EFFECTS

if TYPE_CHECKING:
    from mcp.server.mcpserver import Context

    from ..directory import Directory
    from ..paging import Listing
    from ..providers import Provider


@dataclass(frozen=True)
class Call:
    """What a handler gets besides its arguments: the directory, the MCP context, and the tool
    being called (for the cursor scope and the operation it needs)."""

    directory: Directory
    tool: Tool
    context: Context[Any, Any] | None = None
    registered: Sequence[Tool] = ()  # every tool the server registered
    _asked: list[str] = field(default_factory=list, repr=False, compare=False)  # confirm's one question

    def supported(self, provider: Provider) -> dict[str, list[str]]:
        """The registered tools `provider` can serve as configured, split into read and write tools."""
        adapter = self.directory.adapters.get(provider.name)
        usable = [
            t
            for t in self.registered
            if t.operation and provider.supports(t.operation) and not (adapter and adapter.unable(t.operation))
        ]
        return {
            "resources": [t.name for t in usable if t.read_only],
            "write_tools": [t.name for t in usable if not t.read_only],
        }

    async def confirm(self, plan: str) -> None:
        """Ask the human whether `plan` (one sentence: exactly what is about to happen) may go
        ahead (SPEC §9); call it right before a destructive write sends anything. Returns when it
        may; raises `Cancelled` when the human declines, cancels, answers `confirm: false`, answers
        with anything but an answer, or not in time, and when this answer was used already
        (`confirmations.ask`, which also says how each protocol era asks).

        Asked when the client declared form elicitation and the operator did not set
        MCP_DIRECTORY_ELICIT=never; otherwise it returns at once (the caller's `confirm=true`
        was enough). One question per call: it is the whole plan.
        """
        context = self.context
        if context is None or not self.directory.settings.elicit or not shows_forms(context.client_capabilities):
            return
        if self._asked:
            raise RuntimeError(f"{self.tool.name} asked the human twice in one call; ask once, for the whole plan")
        self._asked.append(plan)
        await ask(context, self.directory.settings, self.directory.confirmations, plan)

    async def report(self, done: int, total: int) -> None:
        """MCP progress for multi-page fetches; the SDK drops it when the client sent no token."""
        if self.context is not None:
            await self.context.report_progress(done, total)

    def adapter(self, provider: str) -> Any:
        """The provider's adapter, which has this tool's operation (else unsupported)."""
        return self.directory.adapter(provider, self.tool.operation)

    def sole_adapter(self) -> Any:
        """For a tool without a provider argument: the configured provider that has its operation."""
        return self.directory.sole(self.tool.operation or "")

    async def page(self, provider: str, listing: Listing[Any], **kwargs: Any) -> Page[Any]:
        """One page of `listing` (`Directory.page`), with this tool's cursors and progress."""
        return await self.directory.page(self.tool.name, provider, listing, progress=self.report, **kwargs)


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

    # Derived once per tool value (and provider list): tools/list and every call read them.
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
    def _input_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = compact_schema(self.args.model_json_schema(), optional_null=False)
        return schema

    @cached_property
    def _output_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = flat_nullable(
            inline_refs(compact_schema(self.result.model_json_schema(), optional_null=True))
        )
        return schema

    def input_schema(self, providers: Sequence[Provider]) -> dict[str, Any]:
        return for_providers(self._input_schema, providers)

    def output_schema(self, providers: Sequence[Provider]) -> dict[str, Any]:
        return for_providers(self._output_schema, providers)

    def describe(self, providers: Sequence[Provider]) -> str:
        """The description, with the providers that support the tool when not all of them do."""
        text = placeholders(self.description, providers)
        if self.operation:
            able = [p.title for p in providers if p.supports(self.operation)]
            if len(able) < len(providers):
                text += f" Supported by {joined(able, 'and') if able else 'no configured provider'}."
        return text

    def to_mcp(self, providers: Sequence[Provider]) -> MCPTool:
        return MCPTool(
            name=self.name,
            title=self.title,
            description=self.describe(providers),
            input_schema=self.input_schema(providers),
            output_schema=self.output_schema(providers),
            annotations=self.annotations,
        )


def joined(words: Sequence[str], last: str) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def placeholders(text: str, providers: Sequence[Provider]) -> str:
    """`$PROVIDERS` (their names), `$PROXY_ROOTS` (where proxy paths start) and `$DEACTIVATION`
    (what deactivating does at each) filled in."""
    if "$" not in text:
        return text
    roots = [
        f"{p.title} {' or '.join(f'{root}...' for root in (p.spec.proxy_prefix, *p.spec.proxy_roots))}"
        + (f" (below {p.spec.api_root})" if p.spec.api_root else "")
        for p in providers
    ]
    by_effect = {
        effect: [p.title for p in providers if p.supports("deactivate_user") and p.spec.user_delete == kind]
        for kind, effect in DEACTIVATION_EFFECTS.items()
    }
    deactivation = "; ".join(f"in {joined(titles, 'and')} {effect}" for effect, titles in by_effect.items() if titles)
    return (
        text.replace("$PROVIDERS", joined([p.name for p in providers], "or"))
        .replace("$PROXY_ROOTS", ", ".join(roots))
        .replace("$DEACTIVATION", deactivation)
    )


def for_providers(schema: dict[str, Any], providers: Sequence[Provider]) -> dict[str, Any]:
    """A schema with its provider markers (models.PROVIDER_MARK, PROVIDERS_MARK) and description
    placeholders filled in from `providers`."""
    names = [p.name for p in providers]

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(n) for n in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == PROVIDER_MARK:
                nullable = isinstance(node.get("type"), list) and "null" in node["type"]
                out["enum"] = [*names, None] if nullable else names
            elif key == PROVIDERS_MARK:
                out["maxItems"] = len(names)
            elif key == "description" and isinstance(value, str):
                out[key] = placeholders(value, providers)
            else:
                out[key] = walk(value)
        return out

    filled: dict[str, Any] = walk(schema)
    return filled


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

    inlined: dict[str, Any] = walk(schema)
    return inlined


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
            if "enum" in other:  # an enum constrains the value too: null must be one of them
                out["enum"] = [*other["enum"], None]
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


ProviderArg = Annotated[ProviderName, Field(description="Which provider: $PROVIDERS.")]


def each_once(names: list[str]) -> list[str]:
    """A list of provider names, each at most once, so it is never longer than the provider list
    (its schema's `maxItems`); a name given twice is a mistake in the call (invalid_argument)."""
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)  # linear: any length
    if repeated:
        shown = ", ".join(repr(name[:64]) for name in repeated[:4])
        raise ValueError(f"name each provider at most once ({shown} more than once)")
    return names


# Every argument that names several providers: each at most once (checked here, and shown to the
# client as `uniqueItems` and as `maxItems` from the provider list, models.PROVIDERS_MARK).
ProvidersArg = Annotated[
    list[ProviderArg], AfterValidator(each_once), Field(json_schema_extra={PROVIDERS_MARK: True, "uniqueItems": True})
]
LimitArg = Annotated[int, Field(ge=1, le=200, description="Items per page, 1-200.")]
CursorArg = Annotated[
    str | None,
    Field(
        max_length=4096, description="next_cursor from the previous page of this same call; omit for the first page."
    ),
]
IdArg = Annotated[str, Field(min_length=1, max_length=200, description="Id at the provider.")]
