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

import anyio

from .aio import gather
from .cursor import Position
from .errors import UpstreamError

T = TypeVar("T")


@dataclass
class Chunk(Generic[T]):
    items: list[T]
    next: Any = None
    total: int | None = None
    # The states of every later page, in order, when the provider lets us know them all
    # up front (Rootly's page numbers once total_pages is known, Opsgenie's offsets once
    # totalCount is): they can then be fetched concurrently. None: strictly sequential.
    ahead: list[Any] | None = None


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


Progress = Callable[[int, int], Awaitable[None]]


class _Prefetcher(Generic[T]):
    """Fetches the pages a page will need, up to `concurrency` at a time, ahead of use."""

    def __init__(self, fetch: Fetch[T], concurrency: int) -> None:
        self.fetch = fetch
        self.concurrency = concurrency
        self.ready: dict[str, Chunk[T]] = {}

    async def get(self, state: Any) -> Chunk[T]:
        ready = self.ready.pop(_key(state), None)
        return ready if ready is not None else await self.fetch(state)

    async def prefetch(self, chunk: Chunk[T], items_wanted: int) -> None:
        if self.concurrency < 2 or not chunk.ahead or items_wanted <= 0 or not chunk.items:
            return
        pages = -(-items_wanted // len(chunk.items))  # ceiling: pages like this one still needed
        states = [s for s in chunk.ahead[:pages] if _key(s) not in self.ready]
        limiter = anyio.Semaphore(self.concurrency)

        async def one(state: Any) -> Chunk[T]:
            async with limiter:
                return await self.fetch(state)

        for state, got in zip(states, await gather(*(one(s) for s in states))):
            self.ready[_key(state)] = got


async def take(
    provider: str,
    fetch: Fetch[T],
    start: Position,
    limit: int,
    *,
    concurrency: int = 1,
    progress: Progress | None = None,
) -> Slice[T]:
    """Serve `limit` items from `start`, fetching as many upstream pages as needed (up to
    `concurrency` at once where the provider allows), reporting progress per page."""
    out: Slice[T] = Slice()
    state, skip = start.state, start.skip
    seen: set[str] = set()
    pages = _Prefetcher(fetch, concurrency)
    while True:
        seen.add(_key(state))
        chunk = await pages.get(state)
        out.total = chunk.total
        available = chunk.items[skip:]
        need = limit - len(out.items)
        await pages.prefetch(chunk, need - len(available))
        if progress is not None:
            await progress(min(limit, len(out.items) + len(available)), limit)
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


async def every(
    provider: str, fetch: Fetch[T], *, max_items: int = 100_000, concurrency: int = 1
) -> AsyncIterator[T]:
    """Every item of a list, in order, for callers that need the whole of it."""
    state: Any = None
    seen: set[str] = set()
    pages = _Prefetcher(fetch, concurrency)
    produced = 0
    while True:
        seen.add(_key(state))
        chunk = await pages.get(state)
        await pages.prefetch(chunk, max_items - produced - len(chunk.items))
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
        return Chunk([item for item in chunk.items if keep(item)], chunk.next, None, chunk.ahead)

    return run
