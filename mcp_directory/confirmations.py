"""Confirmation by the human (SPEC §9): the question, its answers, and one "yes" for one call.

`ask` puts one question, the plan, through the SDK's resolver machinery, in whichever way the
call's protocol era needs. Up to 2025-11-25 it sends `elicitation/create` mid-call and waits, at
most `Settings.elicit_deadline` (10 minutes): an answer that is an error, that is no answer at all
(a JSON-RPC `result: null`, which the SDK drops) or that never comes is `cancelled`, never an
internal error or a call left pending. From 2026-07-28 the server cannot ask mid-call: `ask` raises
`InputRequired`, whose result the server returns as the answer to this round of `tools/call`; the
client asks the human and calls again with the answer and the `request_state` the SDK sealed (bound
to this tool and these arguments, recording the exact question asked, good for the same deadline);
the handler runs again from the start, and this time `ask` finds the answer to the same question.

The seal proves the question was asked; nothing in it stops the same state and answer from being
sent again, and each would carry out the write. So a sealed state that let a write go ahead is
*spent*, and a state already spent is refused (`cancelled`). `SealedStates` notes which sealed
state came with a request: server middleware outside the SDK's `RequestStateBoundary`, which
replaces the sealed text with the plain one (the same for every asking of one question) before any
handler runs. Spent states are remembered by digest for as long as a state can be valid: in this
process (`SpentHere`), or in the Redis that replicas share (`SpentInRedis`, `SET NX` with that TTL).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import (
    AcceptedElicitation,
    Elicit,
    Resolve,
    build_resolver_plans,
    resolve_arguments,
)
from mcp.shared.exceptions import MCPError
from mcp.types import ClientCapabilities, InputRequiredResult
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, ConfigDict, Field

from .errors import Cancelled

if TYPE_CHECKING:
    from collections.abc import Callable

    from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
    from mcp.server.mcpserver import Context

    from .config import Settings
    from .redis_client import SharedRedis

# The protocol revision from which a server asks inside `InputRequiredResult`, not mid-call.
INPUT_REQUIRED_VERSION = "2026-07-28"
DECLINED = "The human declined to confirm this change, so nothing was sent; do not retry it unless they ask you to"
# The SDK accepts a state minted up to a minute "in the future" (another replica's clock), so a
# spent state is kept that much longer than it is sealed for.
CLOCK_SKEW_S = 60.0


# The form the human sees: one boolean (no docstring: a model's docstring becomes the form's
# description on the handshake-era wire). Strict, so only a JSON `true` confirms.
class Confirmation(BaseModel):
    model_config = ConfigDict(strict=True)

    confirm: bool = Field(title="Confirm", description="true to go ahead; false changes nothing.")


@dataclass(frozen=True)
class AskHuman:
    """The SDK resolver behind `ask`: it asks one question, the plan. Its class name is the
    question's key on the wire, the same on every round and every replica."""

    plan: str

    async def __call__(self) -> Elicit[Confirmation]:
        return Elicit(self.plan, Confirmation)


class InputRequired(Exception):
    """Raised by `ask` on the 2026-07-28 protocol: this round of the call ends with `result` (the
    question); the client calls again with the answer. Not a failure: nothing was sent, and the
    server returns `result` as it is."""

    def __init__(self, result: InputRequiredResult) -> None:
        super().__init__("the human's answer is needed")
        self.result = result


def shows_forms(capabilities: ClientCapabilities | None) -> bool:
    """Whether the client declared form elicitation: a bare `elicitation: {}` (the shape from
    before modes existed) counts, URL-only does not (the SDK's own test, in `resolve`)."""
    elicitation = capabilities.elicitation if capabilities is not None else None
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def duration(seconds: float) -> str:
    return f"{seconds / 60:g} minutes" if seconds >= 60 else f"{seconds:g} seconds"


async def ask(context: Context[Any, Any], settings: Settings, spent: SpentStates, plan: str) -> None:
    """Ask the human whether `plan` may go ahead: returns when it may, raises `Cancelled` when not
    (nothing was sent), `InputRequired` when a 2026-07-28 round must end with the question."""
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
        with anyio.fail_after(settings.elicit_deadline):
            answers = await resolve_arguments(question, build_resolver_plans(question, set()), {}, context)
    except ToolError as exc:  # an accepted answer that does not fill the form (confirm: "yes")
        raise Cancelled(f"{DECLINED} (their answer was not a true or false confirm).") from exc
    except MCPError as exc:  # the client answered the question with a JSON-RPC error, or went away
        raise Cancelled(
            f"The question to the human was answered with an error (code {exc.error.code}), not an answer, "
            "so nothing was sent; call again once the client can ask the human"
        ) from exc
    except TimeoutError:
        raise Cancelled(
            f"The human did not answer within {duration(settings.elicit_deadline)}, so nothing was sent; "
            "call again when they can answer"
        ) from None
    if isinstance(answers, InputRequiredResult):
        raise InputRequired(answers)
    answer = answers["confirmation"]
    if not (isinstance(answer, AcceptedElicitation) and answer.data.confirm is True):
        raise Cancelled(f"{DECLINED}.")
    if era_2026:
        state = sealed_state()
        if state is None or not await spent.spend(state, settings.elicit_deadline + CLOCK_SKEW_S):
            raise Cancelled(
                "This confirmation was already used: one human 'yes' confirms one call, so nothing was sent. "
                "Call again without request_state to ask the human again"
            )


# --- one "yes", one call ---------------------------------------------------------------------------

_this_request: ContextVar[str | None] = ContextVar("mcp_directory_sealed_state", default=None)


def sealed_state() -> str | None:
    """The digest of the sealed `request_state` this tool call came with, or None."""
    return _this_request.get()


class SealedStates:
    """Server middleware: notes the digest of a `tools/call`'s sealed `request_state` for
    `sealed_state()`. Must run before the SDK's boundary unseals it.

    A state the boundary refuses (sealed longer ago than the question stands, or not sealed by
    this server for this call) is a human's answer that is not one: `cancelled` (SPEC §9), as a
    tool error the model can act on — nothing was sent — rather than the SDK's bare JSON-RPC
    error. `refused` makes that tool error."""

    def __init__(self, refused: Callable[[Cancelled], HandlerResult]) -> None:
        self.refused = refused

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        state = ctx.params.get("requestState") if ctx.method == "tools/call" and ctx.params else None
        if not isinstance(state, str):
            return await call_next(ctx)
        token = _this_request.set(hashlib.sha256(state.encode()).hexdigest())
        try:
            return await call_next(ctx)
        except MCPError as exc:
            if not isinstance(exc.error.data, dict) or exc.error.data.get("reason") != "invalid_request_state":
                raise
            return self.refused(Cancelled(STALE))
        finally:
            _this_request.reset(token)


STALE = (
    "This confirmation is no longer good: the human's answer came after the question lapsed (10 "
    "minutes), or it was not sealed by this server for this call; nothing was sent. Call the tool "
    "again to ask the human again"
)


class SpentStates(Protocol):
    async def spend(self, digest: str, ttl: float) -> bool:
        """Mark the state `digest` spent for `ttl` seconds; False when it was spent already."""


class SpentHere:
    """Spent states in this process (one server, or replicas that share no Redis)."""

    def __init__(self) -> None:
        self._until: OrderedDict[str, float] = OrderedDict()  # in the order spent

    async def spend(self, digest: str, ttl: float) -> bool:
        now = time.monotonic()
        while self._until and next(iter(self._until.values())) <= now:  # what can no longer come back
            self._until.popitem(last=False)
        if digest in self._until:
            return False
        self._until[digest] = now + ttl  # one TTL for all: entries expire in the order spent
        return True


class SpentInRedis:
    """Spent states in the Redis every replica shares: `SET NX` decides, atomically, who spends."""

    def __init__(self, redis: SharedRedis) -> None:
        self.redis = redis

    async def spend(self, digest: str, ttl: float) -> bool:
        key = self.redis.key("confirmation", digest)
        spent = self.redis.client.set(key, b"1", nx=True, px=max(1, int(ttl * 1000)))
        return bool(await self.redis.run("record that a confirmation was used", spent))
