"""Plans carried out step by step: what the tools that act on many accounts share (SPEC §8, §13).

A plan is data first (steps), carried out second, so a dry run and the real run share one path.
Each step stands for one call of a single-provider write tool (`add_group_member`,
`remove_group_member`, `deactivate_user`): `Write` says which, where, to what, and how to send it.
`carry_out` sends them in order, one outcome per step, each with the audit line that tool would
write (plus `via`, the tool that planned it), a cancelled one included; a failed step stops the
rest only when the caller asks so (offboarding one provider), never otherwise. Steps are planned
from what is there now, so planning again after a partial run plans only what is left.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ..errors import DirectoryError
from ..models import ErrorBody, User, same_email
from ..paging import every

if TYPE_CHECKING:
    from ..directory import Directory

Outcome = Literal["done", "failed", "skipped"]


@dataclass(frozen=True)
class Write:
    """One step's write: the single-provider tool it stands for, the audit line's provider and
    target as that tool writes them, the call that sends it, and the errors that mean it is so
    already (a member no more, an account already gone): those count as done."""

    tool: str
    provider: str
    target: dict[str, Any]
    send: Callable[[], Awaitable[object]]
    already: tuple[type[DirectoryError], ...] = ()


async def perform(directory: Directory, write: Write, *, via: str) -> ErrorBody | None:
    """Send one write and audit it; None when it is done, else why it failed (SPEC §6 error)."""
    error = None
    try:
        await write.send()
    except write.already:
        pass
    except DirectoryError as exc:
        error = ErrorBody(**exc.to_dict()["error"])
    except BaseException:  # cancelled (or broken) mid-write: it may have reached the provider
        directory.record_write(write.tool, write.provider, write.target, "cancelled", via=via)
        raise
    detail = {"code": error.code, "status": error.status} if error else {}
    directory.record_write(write.tool, write.provider, write.target, "error" if error else "ok", via=via, **detail)
    return error


async def carry_out(
    directory: Directory, writes: Sequence[Write], *, via: str, stop_after_failure: bool = False
) -> list[tuple[Outcome, ErrorBody | None]]:
    """The writes in order, one (outcome, error) each. After a failure the rest are `skipped` when
    `stop_after_failure`; otherwise every step is tried."""
    results: list[tuple[Outcome, ErrorBody | None]] = []
    for write in writes:
        if stop_after_failure and any(outcome == "failed" for outcome, _ in results):
            results.append(("skipped", None))
            continue
        error = await perform(directory, write, via=via)
        results.append(("failed", error) if error else ("done", None))
    return results


async def accounts_with_email(directory: Directory, provider: str, email: str) -> list[User]:
    """The provider's accounts whose email is `email` (SPEC §4 identity: never another person's)."""
    adapter = directory.adapter(provider, "users")
    found = [u async for u in every(provider, adapter.users(search=None, email=email), max_items=50)]
    return [u for u in found if same_email(u.email, email)]
