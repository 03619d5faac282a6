"""One paging loop for every provider and every list.

An adapter exposes a list as a *fetch* function: upstream state -> `Chunk` (the items
of that upstream page, the state of the next upstream page or None at the end, and the
total when the provider reports it). The state is whatever the provider pages by: a
page number (Rootly), an offset (Opsgenie), a token (Retool), or nothing for lists the
provider returns whole. This module turns such a function into pages of exactly
`limit` items, whatever the upstream page size, and detects pagination loops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .cursor import Position
from .errors import UpstreamError
from .pages import Chunk, Fetch, PageCache, Prefetcher, state_key

__all__ = ["Chunk", "Fetch", "PageCache", "Progress", "Slice", "every", "filtered", "take"]

T = TypeVar("T")


@dataclass
class Slice(Generic[T]):
    items: list[T] = field(default_factory=list)
    next: Position | None = None
    total: int | None = None


def _loop_error(provider: str, state: Any) -> UpstreamError:
    return UpstreamError(
        f"{provider} returned a pagination loop (the next page points back to page {state!r}); "
        "the list cannot be completed, report this to the provider",
        provider=provider,
    )


Progress = Callable[[int, int], Awaitable[None]]


async def take(
    provider: str,
    fetch: Fetch[T],
    start: Position,
    limit: int,
    *,
    concurrency: int = 1,
    progress: Progress | None = None,
    cache: PageCache | None = None,
    scope: str = "",
) -> Slice[T]:
    """Serve `limit` items from `start`, fetching as many upstream pages as needed (up to
    `concurrency` at once where the provider allows, reading ahead into `cache` for the
    calls that will follow the cursor), reporting progress per page."""
    out: Slice[T] = Slice()
    state, skip = start.state, start.skip
    seen: set[str] = set()
    pages = Prefetcher(fetch, concurrency, cache, scope)
    while True:
        seen.add(state_key(state))
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
        if state_key(chunk.next) in seen:
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
    pages = Prefetcher(fetch, concurrency, PageCache(max_pages=2 * concurrency + 2))
    produced = 0
    while True:
        seen.add(state_key(state))
        chunk = await pages.get(state)
        await pages.prefetch(chunk, max_items - produced - len(chunk.items))
        for item in chunk.items:
            yield item
            produced += 1
            if produced >= max_items:
                return
        if chunk.next is None:
            return
        if state_key(chunk.next) in seen:
            raise _loop_error(provider, chunk.next)
        state = chunk.next


def filtered(fetch: Fetch[T], keep: Callable[[T], bool]) -> Fetch[T]:
    """A fetch that drops items client-side (for filters the provider lacks); totals become unknown."""

    async def run(state: Any) -> Chunk[T]:
        chunk = await fetch(state)
        return Chunk([item for item in chunk.items if keep(item)], chunk.next, None, chunk.ahead)

    return run
