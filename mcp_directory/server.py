"""The MCP server: the SDK's `MCPServer`, fed from our tool registry.

`list_tools` and `call_tool` are served from `tools.select(settings)` so that a tool's
schema and its dispatch come from the same value. `call_tool` is the error boundary of
SPEC §6: argument errors, provider errors and crashes all become a tool error whose
text is exactly the contract's JSON, with every secret redacted. A handler waiting for the
human's answer on the 2026-07-28 protocol (`Call.confirm`, SPEC §9) ends the round with the
SDK's `InputRequiredResult` instead.

Over HTTP with a token (SPEC §10), both also answer to the caller's scopes (`auth.caller_scopes`):
`tools/list` shows only the tools the token allows, and a call to another is `forbidden`, naming the
scope. `scope_to_see` and `scope_to_call` derive the scope from the tool's own read-only flag.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any, Literal

import anyio
import pydantic_core
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer, RequestStateSecurity
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.request_state import RequestStateBoundary
from mcp.types import (
    CallToolResult,
    CompleteRequestParams,
    CompleteResult,
    Completion,
    EmptyResult,
    InputRequiredResult,
    SetLevelRequestParams,
    TextContent,
)
from mcp.types import Tool as MCPTool
from pydantic import AnyUrl, BaseModel, ValidationError

from . import __version__
from .auth import READ, WRITE, MissingScope, caller_scopes, current_actor
from .config import Settings
from .confirmations import InputRequired, SealedStates
from .directory import Directory
from .errors import DirectoryError, InvalidArgument, UpstreamError, WritesDisabled
from .review import EXPORT_SCHEME, snapshot_csv
from .tools import TOOLS, Call, Tool, select
from .tools.schema import joined

logger = logging.getLogger("mcp_directory")
audit_log = logging.getLogger("mcp_directory.audit")
audit_log.setLevel(logging.INFO)  # writes are always recorded, whatever the general log level


def instructions(titles: list[str]) -> str:
    return (
        f"Read the user directories of {joined(titles, 'and')} in one normalized shape. Call list_providers "
        "first to see what is configured. Lists are paged: follow next_cursor. Use find_users to locate one "
        "person across every provider by email or name."
    )


def dumps(data: Any) -> str:
    """Compact JSON for the text copy of a result: the model pays for every byte."""
    return pydantic_core.to_json(data).decode()


def describe_validation(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        where = ".".join(str(p) for p in err["loc"])  # none: the error names the arguments itself
        parts.append(f"{where}: {err['msg']}" if where else err["msg"])
    return "invalid arguments - " + "; ".join(parts)


def request_state_security(settings: Settings) -> RequestStateSecurity:
    """How the SDK seals the 2026-07-28 `request_state` that carries a pending question to the
    human (`Call.confirm`): encrypted and bound to the tool, its arguments and this server, good
    for as long as the question stands (SPEC §9: 10 minutes). With MCP_DIRECTORY_CURSOR_SECRET set
    (every replica shares it, SPEC §10), under a key derived from it, so the answer may reach any
    replica; else under a key of this process."""
    ttl = settings.elicit_deadline
    if not settings.cursor_secret:
        return RequestStateSecurity.ephemeral(ttl=ttl)
    key = hashlib.sha256(b"mcp-directory/request-state\0" + settings.cursor_secret.encode()).digest()
    return RequestStateSecurity(keys=[key], ttl=ttl)


def scope_to_see(tool: Tool) -> str:
    """The scope that shows `tool` in tools/list: directory:write for a write tool, except for a
    tool that is a write only for some arguments (proxy_request: GET reads)."""
    return WRITE if not tool.read_only and not tool.gated else READ


def scope_to_call(tool: Tool, args: BaseModel) -> str:
    """The scope this very call needs: directory:write when it may change something upstream."""
    return WRITE if tool.audited(args) else READ


class DirectoryServer(MCPServer[Any]):
    # Set by `web.build_app` when HTTP requests must carry a token: a call that arrives without
    # one (which the auth middleware never lets happen) then has no scope at all, not every scope.
    enforce_scopes = False

    def __init__(self, directory: Directory, tools: list[Tool]) -> None:
        super().__init__(
            name="mcp-directory",
            version=__version__,
            instructions=instructions([p.title for p in directory.providers.values()]),
            lifespan=self._lifespan,
            request_state_security=request_state_security(directory.settings),
        )
        # Before the SDK's boundary unseals a request_state: which sealed state a call came with,
        # so that one human "yes" confirms one call (`confirmations`).
        chain = self.middleware
        boundary = next(i for i, m in enumerate(chain) if isinstance(m, RequestStateBoundary))
        chain.insert(boundary, SealedStates(self.error_result))
        self.directory = directory
        self.registry = {t.name: t for t in tools}
        # The tools as this server shows them: derived once, from its provider list.
        known = list(directory.providers.values())
        self.listed = [t.to_mcp(known) for t in tools]
        if self.registry.keys() & {"access_review", "coverage_review"}:  # the reviews' CSV exports
            self.resource(
                f"{EXPORT_SCHEME}{{review_id}}.csv",
                name="access_review_export",
                title="Access review (CSV)",
                description="The whole of one access_review (one line per account) or coverage_review (one line "
                "per finding), as its page's `export` names.",
                mime_type="text/csv",
            )(self._review_csv)
        self.input_schemas = {t.name: t.input_schema for t in self.listed}
        # Requests every MCP client may send (and the conformance suite checks) that have no
        # high-level hook; registering them also advertises the `logging`/`completions` capabilities.
        self._lowlevel_server.add_request_handler("logging/setLevel", SetLevelRequestParams, self._set_logging_level)
        self._lowlevel_server.add_request_handler("completion/complete", CompleteRequestParams, self._complete)

    @staticmethod
    @asynccontextmanager
    async def _lifespan(server: MCPServer[Any]) -> AsyncIterator[None]:
        try:
            yield None
        finally:
            assert isinstance(server, DirectoryServer)
            await server.directory.aclose()

    @staticmethod
    async def _set_logging_level(ctx: Any, params: SetLevelRequestParams) -> EmptyResult:
        """Accept the client's level: this server sends no log notifications (its log goes to
        stderr), so every level is honoured by sending nothing."""
        logger.debug("client asked for log level %s", params.level)
        return EmptyResult()

    @staticmethod
    async def _complete(ctx: Any, params: CompleteRequestParams) -> CompleteResult:
        """No prompts or resource templates here, so no argument has suggestions: an empty
        completion (the spec's answer for "nothing to suggest") rather than Method not found."""
        return CompleteResult(completion=Completion(values=[], total=0, has_more=False))

    async def list_tools(self) -> list[MCPTool]:
        granted = self.granted()
        if granted is None:
            return self.listed
        return [t for t in self.listed if scope_to_see(self.registry[t.name]) in granted]

    def granted(self) -> frozenset[str] | None:
        """The caller's scopes; None when scopes do not apply (stdio, in process, HTTP without auth)."""
        granted = caller_scopes()
        return frozenset() if granted is None and self.enforce_scopes else granted

    def require(self, granted: frozenset[str] | None, tool: Tool, scope: str) -> None:
        if granted is not None and scope not in granted:
            logger.info("refused %s to %s: the token lacks %s", tool.name, current_actor(), scope)
            raise MissingScope(tool.name, scope)

    async def read_resource(
        self, uri: AnyUrl | str, context: Context[Any, Any] | None = None
    ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        """Every resource here (an access review's CSV) is a read: it needs directory:read."""
        granted = self.granted()
        if granted is not None and READ not in granted:
            raise ResourceError(f"this needs the {READ} scope, which your access token does not grant")
        return await super().read_resource(uri, context)

    def _tool_input_schema(self, name: str) -> dict[str, Any] | None:
        return self.input_schemas.get(name)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        tool = self.registry.get(name)
        args: BaseModel | None = None
        try:
            if tool is None:
                raise self.not_registered(name)
            granted = self.granted()
            self.require(granted, tool, scope_to_see(tool))  # before its arguments are even read
            try:
                args = tool.args.model_validate(arguments or {})
            except ValidationError as exc:
                raise InvalidArgument(describe_validation(exc)) from exc
            self.require(granted, tool, scope_to_call(tool, args))
            call = Call(self.directory, tool, context, tuple(self.registry.values()))
            result: BaseModel = await tool.handler(call, args)
        except InputRequired as asking:
            # 2026-07-28: this round ends with the human's question (`Call.confirm`); nothing was
            # sent, so nothing is audited until the client calls again with the answer. The SDK's
            # request-state boundary seals the result's `request_state` on its way out.
            return asking.result
        except MissingScope as exc:  # refused before anything was sent: nothing to audit
            return self.error_result(exc)
        except anyio.get_cancelled_exc_class():
            # notifications/cancelled (or shutdown) interrupted the call: a write may still have
            # reached the provider, so it is recorded all the same before the cancellation goes on.
            self.audit(tool, args, "cancelled")
            raise
        except DirectoryError as exc:
            self.audit(tool, args, exc)
            return self.error_result(exc)
        except Exception:
            logger.exception("tool %s crashed", name)
            failure = UpstreamError("internal error in mcp-directory; the server log has details")
            self.audit(tool, args, failure)
            return self.error_result(failure)
        self.audit(tool, args, result)
        structured = result.model_dump(mode="json")
        text = dumps(structured)
        if self.directory.redact(text) != text:
            # A provider echoed a credential (say, into a proxied body): never pass it on. Strings
            # are redacted one by one, so the result stays valid JSON of the same shape.
            structured = self.directory.redact.tree(structured)
            text = dumps(structured)
        # The JSON text and nothing else (SPEC §15): a review's `export` stays in the JSON, since
        # agent frameworks fail on a resource_link block (Anthropic's helper raises on it).
        return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)

    async def _review_csv(self, review_id: str) -> str:
        """`directory://reviews/<id>.csv`: the whole of one access review, for as long as it is kept
        (in this process, or in the Redis that replicas share)."""
        try:
            found = await self.directory.reviews.export_of(review_id)
        except DirectoryError as exc:  # the shared store cannot be reached
            raise ResourceError(self.directory.redact(exc.message)) from exc
        if found is None:
            raise ResourceError(
                "no such review, or it is no longer kept (reviews last 15 minutes); run access_review again"
            )
        return await anyio.to_thread.run_sync(snapshot_csv, *found)  # a large review: off the event loop

    def not_registered(self, name: str) -> DirectoryError:
        """Why a tool is not there: unknown, a write while writes are disabled, or an unused toolset."""
        known = {t.name: t for t in TOOLS}.get(name)
        if known is not None and not known.read_only and not self.directory.settings.allow_writes:
            return WritesDisabled(
                f"{name} is a write tool and writes are disabled; the operator can allow them with "
                "--allow-writes or MCP_DIRECTORY_ALLOW_WRITES=true"
            )
        if known is not None:
            return InvalidArgument(
                f"{name} is in the {known.toolset} toolset, which this server does not enable "
                "(MCP_DIRECTORY_TOOLSETS / --toolsets)"
            )
        return InvalidArgument(f"unknown tool {name!r}; available: {', '.join(self.registry)}")

    def audit(
        self, tool: Tool | None, args: BaseModel | None, outcome: BaseModel | DirectoryError | Literal["cancelled"]
    ) -> None:
        """After a write (or a failed or cancelled one): one JSON line on stderr (tool, provider,
        targets, outcome; never a credential), and no read-ahead page of that provider survives it."""
        if tool is None or args is None or not tool.audited(args):
            return
        target = args.model_dump(mode="json", exclude={"confirm", "body", "query"})
        provider = target.pop("provider", None) or getattr(outcome, "provider", None)
        detail: dict[str, Any] = {}
        if outcome == "cancelled":
            result = "cancelled"
        elif isinstance(outcome, DirectoryError):
            result, detail = "error", {"code": outcome.code, "status": outcome.status}
        else:
            result = "dry_run" if getattr(outcome, "dry_run", False) else "ok"
            if hasattr(outcome, "status"):
                detail["status"] = outcome.status
        self.directory.record_write(tool.name, provider, target, result, **detail)

    def error_result(self, exc: DirectoryError) -> CallToolResult:
        body = exc.to_dict()
        body["error"]["message"] = self.directory.redact(body["error"]["message"])
        logger.info("tool error: %s", body["error"]["code"])
        return CallToolResult(content=[TextContent(type="text", text=dumps(body))], is_error=True)


def build_server(directory: Directory) -> DirectoryServer:
    return DirectoryServer(directory, select(directory.settings))
