"""A tool is one value: name, toolset, flags, argument model, result model and handler.

The argument model is the documentation (every field has a description and bounds);
the result model is the outputSchema; the flags are the annotations; the handler is
what runs. Nothing about a tool lives anywhere else.

What a tool says about providers derives from the provider list it is shown with
(`Tool.to_mcp(providers)`): its provider arguments offer the providers that support it,
and its description names them when not all do. `schema.py` turns the models into the
schemas every client and model API takes (SPEC §15).
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
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from ..confirmations import ask, shows_forms
from ..models import PROVIDERS_MARK, Page, ProviderName
from .schema import for_providers, input_schema, joined, output_schema, placeholders

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
        return input_schema(self.args)

    @cached_property
    def _output_schema(self) -> dict[str, Any]:
        return output_schema(self.result)

    def able(self, providers: Sequence[Provider]) -> list[Provider]:
        """The providers of `providers` that support this tool's operation."""
        return [p for p in providers if not self.operation or p.supports(self.operation)]

    def input_schema(self, providers: Sequence[Provider]) -> dict[str, Any]:
        """Its provider arguments offer only the providers that support the tool (SPEC §15); a
        call naming another is still read, and answered `unsupported` naming those that do."""
        return for_providers(self._input_schema, self.able(providers))

    def output_schema(self, providers: Sequence[Provider]) -> dict[str, Any]:
        return for_providers(self._output_schema, providers)

    def describe(self, providers: Sequence[Provider]) -> str:
        """The description, with the providers that support the tool when not all of them do."""
        text = placeholders(self.description, providers)
        if self.operation:
            able = [p.title for p in self.able(providers)]
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
    `true` is not a limit): an agent must never confirm a deletion by accident (SPEC §3).

    Null for an optional argument is read exactly as leaving it out: strict model APIs make
    every argument required, and null is how a model says "not given" (SPEC §15). An empty (or
    blank) string or an empty list is refused, naming the argument: it is how such a model
    fills an argument it means to leave out, and read as a value it would silently filter
    everything away (`email: ""` matches no one)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _null_is_absent(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fields = cls.model_fields
        optional = {name for name, f in fields.items() if not f.is_required()}
        empty = [name for name, value in data.items() if name in fields and is_empty(value)]
        if empty:
            names = joined([repr(n) for n in empty], "and")
            advice = (
                "pass null (or leave it out) for none"
                if set(empty) <= optional
                else "give a value (optional arguments take null for none)"
            )
            raise PydanticCustomError("empty_argument", f"{names} {'is' if len(empty) == 1 else 'are'} empty: {advice}")
        return {k: v for k, v in data.items() if not (v is None and k in optional)}


def is_empty(value: Any) -> bool:
    """An empty or blank string, or an empty list: what a model writes for "nothing"."""
    return (isinstance(value, str) and not value.strip()) or value == []


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
LimitArg = Annotated[int, Field(ge=1, le=200, description="Items per page, 1-200; default 50.")]
CursorArg = Annotated[
    str | None,
    Field(
        max_length=4096, description="next_cursor from the previous page of this same call; null for the first page."
    ),
]
IdArg = Annotated[str, Field(min_length=1, max_length=200, description="Id at the provider.")]
