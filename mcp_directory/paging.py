"""One paging loop for every provider and every list.

An adapter exposes a list as a *fetch* function: upstream state -> `Chunk` (the items
of that upstream page, the state of the next upstream page or None at the end, and the
total when the provider reports it). The state is whatever the provider pages by: a
page number (Rootly), an offset (Opsgenie), a token (Retool), or nothing for lists the
provider returns whole. This module turns such a function into pages of exactly
`limit` items, whatever the upstream page size, and detects pagination loops.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .cursor import Position
from .errors import UpstreamError

T = TypeVar("T")


@dataclass
class Chunk(Generic[T]):
    items: list[T]
    next: Any = None
    total: int | None = None


Fetch = Callable[[Any], Awaitable[Chunk[T]]]


@dataclass
class Slice(Generic[T]):
    items: list[T] = field(default_factory=list)
    next: Position | None = None
    total: int | None = None


def _key(state: Any) -> str:
    return json.dumps(state, sort_keys=True)


def _loop_error(provider: str, state: Any) -> UpstreamError:
    return UpstreamError(
        f"{provider} returned a pagination loop (the next page points back to page {state!r}); "
        "the list cannot be completed, report this to the provider",
        provider=provider,
    )


async def take(provider: str, fetch: Fetch[T], start: Position, limit: int) -> Slice[T]:
    """Serve `limit` items from `start`, fetching as many upstream pages as needed."""
    out: Slice[T] = Slice()
    state, skip = start.state, start.skip
    seen: set[str] = set()
    while True:
        seen.add(_key(state))
        chunk = await fetch(state)
        out.total = chunk.total
        available = chunk.items[skip:]
        need = limit - len(out.items)
        if len(available) > need:
            out.items.extend(available[:need])
            out.next = Position(state, skip + need)
            return out
        out.items.extend(available)
        if chunk.next is None:
            return out
        if _key(chunk.next) in seen:
            raise _loop_error(provider, chunk.next)
        state, skip = chunk.next, 0
        if len(out.items) == limit:
            out.next = Position(state, 0)
            return out


async def every(provider: str, fetch: Fetch[T], *, max_items: int = 100_000) -> AsyncIterator[T]:
    """Every item of a list, in order, for callers that need the whole of it."""
    state: Any = None
    seen: set[str] = set()
    produced = 0
    while True:
        seen.add(_key(state))
        chunk = await fetch(state)
        for item in chunk.items:
            yield item
            produced += 1
            if produced >= max_items:
                return
        if chunk.next is None:
            return
        if _key(chunk.next) in seen:
            raise _loop_error(provider, chunk.next)
        state = chunk.next


def filtered(fetch: Fetch[T], keep: Callable[[T], bool]) -> Fetch[T]:
    """A fetch that drops items client-side (for filters the provider lacks); totals become unknown."""

    async def run(state: Any) -> Chunk[T]:
        chunk = await fetch(state)
        return Chunk([item for item in chunk.items if keep(item)], chunk.next, None)

    return run
