"""The one pager: lists at a provider served as pages of exactly `limit` items, with cursors.

A provider's list is a `Listing`: a fetch (upstream state -> `Chunk`, one upstream page) and
the provider's `Paginator` (spec.py), which says where the first page starts and how a
position is re-read with another page size. This module turns a listing into pages of
exactly `limit` items whatever the upstream page size, detects pagination loops, and:

- **works in proportion to the page asked for**: a call without a cursor asks the provider
  for a page of `limit` records where the paginator allows resizing (`list_users(limit=5)`
  reads five, not a hundred), and a chunk maps its records to our models only as they are
  served (`Chunk.items`);
- **reads ahead during a cursor walk**: when a provider lets us know the states of all later
  pages (`Step.ahead`), the pages a call needs are fetched at once, and a few more, up to
  `concurrency`, are kept in the `PageCache` for the calls that will follow the cursor. The
  cache is per Directory, bounded, short-lived, keyed by the call's scope and page state,
  and emptied for a provider when we write to it.

Cursors (SPEC §3) are opaque and tamper-evident: where the next page starts upstream plus
how many items of it were already served, bound to the tool, provider and filters they were
made for, and signed with HMAC-SHA256 so an agent can neither forge nor replay one elsewhere.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Generic, TypeVar

import anyio

from .aio import gather
from .errors import DirectoryError, InvalidArgument, UpstreamError
from .spec import WHOLE, Paginator, State, Step

T = TypeVar("T")
Progress = Callable[[int, int], Awaitable[None]]


def _same(record: Any) -> Any:
    return record


@dataclass
class Chunk(Generic[T]):
    """One upstream page: its records, what the page says about the rest of the list, and how
    a record becomes an item (applied only to the records a call serves). `lean`, where the
    provider has one, is how a record becomes the little a reader of the whole list keeps
    (`every_lean`), with no model built."""

    records: list[Any]
    step: Step = field(default_factory=Step)
    map: Callable[[Any], T] = _same
    lean: Callable[[Any], Any] | None = None

    def items(self, start: int, stop: int | None = None) -> list[T]:
        return [self.map(r) for r in self.records[start:stop]]


Fetch = Callable[[State], Awaitable[Chunk[T]]]


@dataclass(frozen=True)
class Listing(Generic[T]):
    """A list at a provider as the pager reads it."""

    fetch: Fetch[T]
    paginator: Paginator = WHOLE
    page_size: int = 100  # records per upstream page during a walk
    resize: bool = True  # False: a first page of `limit` records would not hold `limit` items

    def first(self, limit: int | None) -> State:
        """The first page: `limit` records where the paginator can be asked for fewer (a call
        that will not walk), else a full page."""
        resizable = limit is not None and self.resize and self.paginator.resizable
        return self.paginator.first(min(limit, self.page_size) if limit is not None and resizable else self.page_size)

    def resume(self, state: State, skip: int) -> tuple[State, int]:
        return self.paginator.resume(state, skip, self.page_size) if state is not None else (state, skip)


class Kept(Paginator):
    """A filtered list's paginator: pages as the list it filters, but a position in it counts
    kept items, not the provider's records, so it resumes exactly where it was (never by offset
    arithmetic) and is never resized."""

    resizable = False

    def __init__(self, inner: Paginator) -> None:
        self.inner, self.max_size = inner, inner.max_size

    def first(self, size: int) -> State:
        return self.inner.first(size)

    def params(self, state: State) -> dict[str, Any]:
        return self.inner.params(state)

    def follow(self, state: State, document: Any, count: int) -> Step:
        return self.inner.follow(state, document, count)


def filtered(listing: Listing[T], keep: Callable[[T], bool]) -> Listing[T]:
    """The same list with only the items `keep` accepts (a filter the provider lacks); its
    total is unknown."""

    async def fetch(state: State) -> Chunk[T]:
        chunk = await listing.fetch(state)
        items = [item for item in chunk.items(0) if keep(item)]
        return Chunk(items, Step(chunk.step.next, None, chunk.step.ahead))

    return Listing(fetch, Kept(listing.paginator), listing.page_size, resize=False)


def chained(*listings: Listing[T]) -> Listing[T]:
    """Several lists served as one, each to its end before the next (state: [which, inner])."""

    async def fetch(state: State) -> Chunk[T]:
        which, inner = state
        chunk = await listings[which].fetch(inner)
        following = [which, chunk.step.next] if chunk.step.next is not None else None
        if following is None and which + 1 < len(listings):
            following = [which + 1, listings[which + 1].first(None)]
        return Chunk(chunk.records, Step(following), chunk.map, chunk.lean)

    class Chain(Paginator):
        resizable = False

        def first(self, size: int) -> State:
            return [0, listings[0].first(None)]

        def resume(self, state: State, skip: int, size: int) -> tuple[State, int]:
            inner, skip = listings[state[0]].resume(state[1], skip)
            return [state[0], inner], skip

    return Listing(fetch, Chain(), listings[0].page_size)


# --- cursors -----------------------------------------------------------------------------------

_SIG_BYTES = 16


@dataclass(frozen=True)
class Position:
    """Where a page starts: an upstream state and how many of its items to skip."""

    state: State = None
    skip: int = 0


class CursorCodec:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"mcp-directory cursor v1\0" + secret.encode()).digest()

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_SIG_BYTES]

    @staticmethod
    def _scope_id(scope: dict[str, Any]) -> str:
        # A digest keeps cursors short (the model pays for every byte) while binding them.
        return hashlib.sha256(json.dumps(scope, sort_keys=True).encode()).hexdigest()[:12]

    def encode(self, scope: dict[str, Any], position: Position) -> str:
        payload = json.dumps([self._scope_id(scope), position.state, position.skip], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(payload + self._sign(payload)).decode().rstrip("=")

    def decode(self, cursor: str, scope: dict[str, Any]) -> Position:
        """Return the position in `cursor`, or fail with invalid_argument."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except ValueError:
            raw = b""
        payload, signature = raw[:-_SIG_BYTES], raw[-_SIG_BYTES:]
        if len(raw) <= _SIG_BYTES or not hmac.compare_digest(signature, self._sign(payload)):
            raise InvalidArgument(
                "cursor is not valid (altered, truncated or from another deployment); "
                "pass next_cursor exactly as returned, or omit cursor to start over"
            )
        scope_id, state, skip = json.loads(payload)
        if scope_id != self._scope_id(scope):
            raise InvalidArgument(
                "cursor belongs to another tool, provider or filter; pass it back only with the same "
                "tool, provider and filters it came from, or omit cursor to start over"
            )
        return Position(state=state, skip=int(skip))


# --- the page cache and read-ahead -------------------------------------------------------------


def state_key(state: State) -> str:
    return json.dumps(state, sort_keys=True)


class PageCache:
    def __init__(self, max_pages: int = 256, ttl: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_pages = max_pages
        self.ttl = ttl
        self.clock = clock
        self._pages: OrderedDict[tuple[str, str], tuple[float, Chunk[Any]]] = OrderedDict()

    def get(self, scope: str, state: State) -> Chunk[Any] | None:
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

    def put(self, scope: str, state: State, chunk: Chunk[Any]) -> None:
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
    """Hands out pages by state, fetching the ones a call will need concurrently, and (during
    a walk) reading ahead into the cache for the calls that follow."""

    def __init__(self, fetch: Fetch[T], concurrency: int, cache: PageCache | None, scope: str, ahead: bool) -> None:
        self.fetch = fetch
        self.concurrency = concurrency
        self.cache = cache if cache is not None else PageCache(max_pages=1_000_000, ttl=float("inf"))
        self.scope = scope
        self.ahead = ahead

    async def get(self, state: State) -> Chunk[T]:
        chunk = self.cache.get(self.scope, state)
        if chunk is None:
            chunk = await self.fetch(state)
            self.cache.put(self.scope, state, chunk)
        return chunk

    async def prefetch(self, chunk: Chunk[T], items_wanted: int) -> None:
        """Make sure the pages after `chunk` holding `items_wanted` more items are at hand,
        fetching them (and, reading ahead, the following ones up to `concurrency` in all) in one round."""
        later = chunk.step.ahead
        if self.concurrency < 2 or not later or items_wanted <= 0 or not chunk.records:
            return
        pages = -(-items_wanted // len(chunk.records))  # ceiling: pages like this one still needed
        if not any(self.cache.get(self.scope, s) is None for s in later[:pages]):
            return
        # the first pages not at hand, looked for only until there are enough (a long list's
        # every page would look at all the pages after it: quadratic in its length)
        missing = (s for s in later if self.cache.get(self.scope, s) is None)
        needed = {state_key(s) for s in later[:pages]}
        batch = list(islice(missing, max(pages, self.concurrency) if self.ahead else pages))
        limiter = anyio.Semaphore(self.concurrency)

        async def one(state: State) -> Chunk[T] | None:
            async with limiter:
                try:
                    return await self.fetch(state)
                except DirectoryError:
                    if state_key(state) in needed:
                        raise
                    return None  # a page read ahead for a later call: that call will try again

        for state, got in zip(batch, await gather(*(one(s) for s in batch)), strict=True):
            if got is not None:
                self.cache.put(self.scope, state, got)


# --- the loop ----------------------------------------------------------------------------------


@dataclass
class Slice(Generic[T]):
    items: list[T] = field(default_factory=list)
    next: Position | None = None
    total: int | None = None


def loop_error(provider: str, state: State) -> UpstreamError:
    return UpstreamError(
        f"{provider} returned a pagination loop (the next page points back to page {state!r}); "
        "the list cannot be completed, report this to the provider",
        provider=provider,
    )


async def take(
    provider: str,
    listing: Listing[T],
    start: Position | None,
    limit: int,
    *,
    concurrency: int = 1,
    progress: Progress | None = None,
    cache: PageCache | None = None,
    scope: str = "",
) -> Slice[T]:
    """Serve `limit` items from `start` (None: the first page of a new traversal), fetching as
    many upstream pages as needed (up to `concurrency` at once where the provider allows, and
    reading ahead when a cursor walk is under way), reporting progress per page."""
    out: Slice[T] = Slice()
    if start is None:
        state, skip = listing.first(limit), 0
    else:
        state, skip = listing.resume(start.state, start.skip)
    seen: set[str] = set()
    pages = Prefetcher(listing.fetch, concurrency, cache, scope, ahead=start is not None)
    while True:
        seen.add(state_key(state))
        chunk = await pages.get(state)
        out.total = chunk.step.total
        available = len(chunk.records) - skip
        need = limit - len(out.items)
        await pages.prefetch(chunk, need - available)
        if progress is not None:
            await progress(min(limit, len(out.items) + max(0, available)), limit)
        if available > need:
            out.items.extend(chunk.items(skip, skip + need))
            out.next = Position(state, skip + need)
            return out
        out.items.extend(chunk.items(skip))
        following = chunk.step.next
        if following is None:
            return out
        if state_key(following) in seen:
            raise loop_error(provider, following)
        state, skip = following, 0
        if len(out.items) == limit:
            out.next = Position(state, 0)
            return out


async def every(
    provider: str, listing: Listing[T], *, max_items: int = 100_000, concurrency: int = 1
) -> AsyncIterator[T]:
    """Every item of a list, in order, for callers that need the whole of it."""
    state = listing.first(None)
    seen: set[str] = set()
    pages = Prefetcher(listing.fetch, concurrency, PageCache(max_pages=2 * concurrency + 2), "", ahead=True)
    produced = 0
    while True:
        seen.add(state_key(state))
        chunk = await pages.get(state)
        # A window of `concurrency` pages ahead, no more: the cache holds that many, and reading
        # the whole rest at once would evict pages before they are served (and fetch them again).
        window = concurrency * max(1, len(chunk.records))
        await pages.prefetch(chunk, min(max_items - produced - len(chunk.records), window))
        for record in chunk.records[: max_items - produced]:
            yield chunk.map(record)  # one model at a time: a whole-list answer may hold a directory
            produced += 1
        if produced >= max_items or chunk.step.next is None:
            return
        if state_key(chunk.step.next) in seen:
            raise loop_error(provider, chunk.step.next)
        state = chunk.step.next
