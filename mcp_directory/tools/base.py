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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import (
    AcceptedElicitation,
    Elicit,
    Resolve,
    build_resolver_plans,
    resolve_arguments,
)
from mcp.types import ClientCapabilities, InputRequiredResult, ToolAnnotations
from mcp.types import Tool as MCPTool
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from ..errors import Cancelled
from ..models import Page, ProviderName
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
        may; raises `Cancelled` when the human declines, cancels or answers `confirm: false`.

        Asked when the client declared form elicitation and the operator did not set
        MCP_DIRECTORY_ELICIT=never; otherwise it returns at once (the caller's `confirm=true`
        was enough). One question per call: it is the whole plan.

        The SDK's resolver machinery asks, in whichever way the call's protocol era needs. Up to
        2025-11-25 it sends `elicitation/create` mid-call and waits. From 2026-07-28 the server
        cannot ask mid-call: this raises `InputRequired`, whose result the server returns as the
        answer to this round of `tools/call`; the client asks the human and calls again with the
        answer and the `request_state` the SDK sealed (bound to this tool and these arguments,
        recording the exact question asked), the handler runs again from the start, and this
        time `confirm` finds the answer to the same question.
        """
        context = self.context
        if context is None or not self.directory.settings.elicit or not shows_forms(context.client_capabilities):
            return
        if self._asked:
            raise RuntimeError(f"{self.tool.name} asked the human twice in one call; ask once, for the whole plan")
        self._asked.append(plan)
        era_2026 = is_version_at_least(context.protocol_version or "", INPUT_REQUIRED_VERSION)
        if not era_2026 and not context.session.can_send_request:
            # A handshake-era connection without a channel for server requests (a stateless or
            # JSON-response HTTP deployment): the human cannot be asked, so the write is not sent.
            raise Cancelled(
                "The human must confirm this change, but this connection cannot carry the question "
                "(no channel for server requests); nothing was sent. Use a client connection that can "
                "answer elicitation, or the operator can set MCP_DIRECTORY_ELICIT=never"
            )
        question = {"confirmation": (Resolve(AskHuman(plan)), True)}
        try:
            answers = await resolve_arguments(question, build_resolver_plans(question, set()), {}, context)
        except ToolError as exc:  # an accepted answer that does not fill the form (confirm: "yes")
            raise Cancelled(f"{DECLINED} (their answer was not a true or false confirm).") from exc
        if isinstance(answers, InputRequiredResult):
            raise InputRequired(answers)
        answer = answers["confirmation"]
        if not (isinstance(answer, AcceptedElicitation) and answer.data.confirm is True):
            raise Cancelled(f"{DECLINED}.")

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

# The protocol revision from which a server asks inside `InputRequiredResult`, not mid-call.
INPUT_REQUIRED_VERSION = "2026-07-28"
DECLINED = "The human declined to confirm this change, so nothing was sent; do not retry it unless they ask you to"


# The form the human sees: one boolean (no docstring: a model's docstring becomes the form's
# description on the handshake-era wire). Strict, so only a JSON `true` confirms.
class Confirmation(BaseModel):
    model_config = ConfigDict(strict=True)

    confirm: bool = Field(title="Confirm", description="true to go ahead; false changes nothing.")


@dataclass(frozen=True)
class AskHuman:
    """The SDK resolver behind `Call.confirm`: it asks one question, the plan. Its class name
    is the question's key on the wire, the same on every round and every replica."""

    plan: str

    async def __call__(self) -> Elicit[Confirmation]:
        return Elicit(self.plan, Confirmation)


class InputRequired(Exception):
    """Raised by `Call.confirm` on the 2026-07-28 protocol: this round of the call ends with
    `result` (the question); the client calls again with the answer. Not a failure: nothing
    was sent, and the server returns `result` as it is."""

    def __init__(self, result: InputRequiredResult) -> None:
        super().__init__("the human's answer is needed")
        self.result = result


def shows_forms(capabilities: ClientCapabilities | None) -> bool:
    """Whether the client declared form elicitation: a bare `elicitation: {}` (the shape from
    before modes existed) counts, URL-only does not (the SDK's own test, in `resolve`)."""
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


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
LimitArg = Annotated[int, Field(ge=1, le=200, description="Items per page, 1-200; default 50.")]
CursorArg = Annotated[
    str | None,
    Field(
        max_length=4096, description="next_cursor from the previous page of this same call; null for the first page."
    ),
]
IdArg = Annotated[str, Field(min_length=1, max_length=200, description="Id at the provider.")]
