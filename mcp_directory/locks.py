"""Locks named by the object they guard, and the one way to change one entry of a list that a
provider only takes whole (SPEC §10, §12).

Some providers change a list only by replacing it: Rootly a team's `user_ids`/`admin_ids`, and
(§12) rotation participants and escalation rules. Changing one entry is then read, change, write,
read back, and two such cycles on one object must not interleave, or the second write silently
undoes the first. `replace_whole_list` is that cycle, under the lock named
`<provider>:<kind>:<canonical id>`: the id the provider itself keeps, so two calls naming one object
two ways (a Rootly team by id and by slug) take one lock. The read-back stays: a writer outside this
server (someone in the provider's web app) is held back by no lock of ours, and a change it undid is
`conflict`.

`LocalLocks` serves one process, `RedisLocks` (redis_locks.py) the replicas that share a Redis
(`Directory._share`). Both wait at most `WAIT_S` for a lock, then fail with `conflict` saying the
object is busy and nothing was sent: the same answer, and the same remedy (read it, retry), as a
change another writer undid. `rate_limited` would blame the provider's budget and `upstream_error`
the provider, and neither did anything.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import anyio

from .errors import Conflict

S = TypeVar("S")  # what a read of the object gives
L = TypeVar("L")  # what is written: the whole new list(s)

WAIT_S = 30.0  # longest wait for a lock; more than RedisLocks' TTL, so a crashed holder's lock frees first


class Locks(Protocol):
    def hold(self, name: str, *, what: str, provider: str | None = None) -> AbstractAsyncContextManager[None]:
        """Hold the lock `name` (`<provider>:<kind>:<canonical id>`) for the block; `what` names the
        object in the `conflict` a wait longer than the set's bound fails with."""
        ...


def busy(what: str, waited: float, provider: str | None) -> Conflict:
    return Conflict(
        f"{what} is being changed by another call, still after {waited:.0f}s; nothing was sent. "
        "Retry shortly, reading it first if the change depends on what is there",
        provider=provider,
    )


@dataclass
class _Entry:
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    users: int = 0  # holding or waiting


class LocalLocks:
    """Locks in this process. A lock exists only while someone holds or waits for it, so ids an
    agent made up do not pile up."""

    def __init__(self, wait_s: float = WAIT_S) -> None:
        self.wait_s = wait_s
        self._entries: dict[str, _Entry] = {}

    def hold(self, name: str, *, what: str, provider: str | None = None) -> AbstractAsyncContextManager[None]:
        return self.hold_until(name, anyio.current_time() + self.wait_s, what=what, provider=provider)

    @asynccontextmanager
    async def hold_until(
        self, name: str, deadline: float, *, what: str, provider: str | None = None
    ) -> AsyncIterator[None]:
        entry = self._entries.setdefault(name, _Entry())
        entry.users += 1
        try:
            try:
                with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                    await entry.lock.acquire()
            except TimeoutError:
                raise busy(what, self.wait_s, provider) from None
            try:
                yield
            finally:
                entry.lock.release()
        finally:
            entry.users -= 1
            if not entry.users:
                del self._entries[name]


async def replace_whole_list(
    locks: Locks,
    name: str,
    *,
    what: str,
    read: Callable[[], Awaitable[S]],
    change: Callable[[S], L | None],
    write: Callable[[L], Awaitable[object]],
    holds: Callable[[S], bool],
    conflict: str,
    provider: str | None = None,
) -> S:
    """Under the lock `name`: `read` the object, `change` it (None: it already is as asked, nothing
    is written), `write` the whole new list(s), `read` it again. The object as read last; `conflict`
    (the message) when `holds` says the change is not there on read-back: a writer that takes no lock
    of ours got in between, and nothing is retried blindly."""
    async with locks.hold(name, what=what, provider=provider):
        before = await read()
        changed = change(before)
        if changed is None:
            return before
        await write(changed)
        after = await read()
    if not holds(after):
        raise Conflict(conflict, provider=provider)
    return after
