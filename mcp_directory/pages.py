"""Upstream pages: what a fetch returns, fetching them concurrently, and reading ahead
for the calls a cursor will make.

When a provider lets us know the states of all later pages (`Chunk.ahead`), a page of
`limit` items needs no sequential walk: the pages it needs are fetched at once, and so
are a few more, up to `concurrency`, kept in a small `PageCache` for the next call with
the cursor. The cache is per Directory, bounded, short-lived, keyed by the call's scope
(tool, provider, filters) and page state, and emptied for a provider when we write to it.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import anyio

from .aio import gather
from .errors import DirectoryError

T = TypeVar("T")


def state_key(state: Any) -> str:
    return json.dumps(state, sort_keys=True)


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


class PageCache:
    def __init__(self, max_pages: int = 256, ttl: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_pages = max_pages
        self.ttl = ttl
        self.clock = clock
        self._pages: OrderedDict[tuple[str, str], tuple[float, Chunk[Any]]] = OrderedDict()

    def get(self, scope: str, state: Any) -> Chunk[Any] | None:
        key = (scope, state_key(state))
        hit = self._pages.get(key)
        if hit is None:
            return None
        stored, chunk = hit
        if self.clock() - stored > self.ttl:
            del self._pages[key]
            return None
        self._pages.move_to_end(key)
        return chunk

    def put(self, scope: str, state: Any, chunk: Chunk[Any]) -> None:
        key = (scope, state_key(state))
        self._pages[key] = (self.clock(), chunk)
        self._pages.move_to_end(key)
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)

    def forget(self, scope_prefix: str) -> None:
        """Drop every page whose scope starts with `scope_prefix` (scopes start "<provider>:")."""
        for key in [k for k in self._pages if k[0].startswith(scope_prefix)]:
            del self._pages[key]


class Prefetcher(Generic[T]):
    """Hands out pages by state, fetching the ones a call will need concurrently."""

    def __init__(self, fetch: Fetch[T], concurrency: int, cache: PageCache | None = None, scope: str = "") -> None:
        self.fetch = fetch
        self.concurrency = concurrency
        self.cache = cache if cache is not None else PageCache(max_pages=1_000_000, ttl=float("inf"))
        self.scope = scope

    async def get(self, state: Any) -> Chunk[T]:
        chunk = self.cache.get(self.scope, state)
        if chunk is None:
            chunk = await self.fetch(state)
            self.cache.put(self.scope, state, chunk)
        return chunk

    async def prefetch(self, chunk: Chunk[T], items_wanted: int) -> None:
        """Make sure the pages after `chunk` holding `items_wanted` more items are at hand,
        fetching them, and the following ones up to `concurrency` in all, in one round."""
        if self.concurrency < 2 or not chunk.ahead or items_wanted <= 0 or not chunk.items:
            return
        pages = -(-items_wanted // len(chunk.items))  # ceiling: pages like this one still needed
        missing = [s for s in chunk.ahead if self.cache.get(self.scope, s) is None]
        if not any(self.cache.get(self.scope, s) is None for s in chunk.ahead[:pages]):
            return
        needed = {state_key(s) for s in chunk.ahead[:pages]}
        batch = missing[: max(pages, self.concurrency)]
        limiter = anyio.Semaphore(self.concurrency)

        async def one(state: Any) -> Chunk[T] | None:
            async with limiter:
                try:
                    return await self.fetch(state)
                except DirectoryError:
                    if state_key(state) in needed:
                        raise
                    return None  # a page read ahead for a later call: that call will try again

        for state, got in zip(batch, await gather(*(one(s) for s in batch))):
            if got is not None:
                self.cache.put(self.scope, state, got)
