"""A whole list read for its lean items (`Chunk.lean`), its known pages fetched back to back.

A reader of a whole directory (access_review's snapshot, the on-call account book) wants every
record of a list, once, and little of each. Where a page says where all the later pages start
(`Step.ahead`), they are fetched `concurrency` at a time *continuously*: a new request leaves as
soon as one comes back, and each page is mapped as soon as it and those before it are at hand,
while the others are still on their way (the pager's read-ahead fetches rounds and waits for the
slowest of each). At most `2 * concurrency` pages wait to be mapped; the read ends where a page
says the list does, however many pages the first one announced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio

from .aio import first_failure
from .paging import Chunk, Fetch, Listing, loop_error, state_key
from .spec import State

T = TypeVar("T")
L = TypeVar("L")


async def every_lean(
    provider: str, listing: Listing[T], full: Callable[[T], L], *, max_items: int = 100_000, concurrency: int = 1
) -> list[L]:
    """Every record of a list (at most `max_items`), in order, as its lean item: `Chunk.lean` where
    the list has one (no model built), else `full` of the item."""
    out: list[L] = []

    def take(chunk: Chunk[T]) -> bool:
        """Map a page; whether the list goes on after it."""
        records = chunk.records[: max_items - len(out)]
        lean = chunk.lean
        if lean is not None:
            out.extend([lean(r) for r in records])
        else:
            out.extend([full(chunk.map(r)) for r in records])
        return len(out) < max_items and chunk.step.next is not None

    seen: set[str] = set()
    state = listing.first(None)
    while True:
        seen.add(state_key(state))
        chunk = await listing.fetch(state)
        if not take(chunk):
            return out
        ahead = chunk.step.ahead or []
        if concurrency > 1 and ahead and state_key(ahead[0]) == state_key(chunk.step.next):
            seen.update(state_key(s) for s in ahead)
            chunk = await _back_to_back(listing.fetch, ahead, concurrency, take)
            if len(out) >= max_items or chunk.step.next is None:
                return out
        following = chunk.step.next
        if state_key(following) in seen:
            raise loop_error(provider, following)
        state = following


async def _back_to_back(
    fetch: Fetch[T], states: list[State], concurrency: int, take: Callable[[Chunk[T]], bool]
) -> Chunk[T]:
    """Fetch `states` in order, `concurrency` at a time, handing each page to `take` as soon as
    it and those before it have come; the last page taken (the list may end before `states` do)."""
    pages: list[Chunk[T] | None] = [None] * len(states)
    arrived = [anyio.Event() for _ in states]
    limiter = anyio.Semaphore(concurrency)

    async def get(i: int) -> None:
        async with limiter:
            pages[i] = await fetch(states[i])
        arrived[i].set()

    try:
        async with anyio.create_task_group() as tg:
            started = 0
            for i in range(len(states)):
                while started < min(len(states), i + 2 * concurrency):
                    tg.start_soon(get, started)
                    started += 1
                await arrived[i].wait()
                page, pages[i] = pages[i], None
                assert page is not None
                following = states[i + 1] if i + 1 < len(states) else None
                if not take(page) or i + 1 == len(states) or state_key(page.step.next) != state_key(following):
                    tg.cancel_scope.cancel()  # the list ended or went elsewhere: the rest is not read
                    return page
    except BaseExceptionGroup as group:
        raise first_failure(group) from None
    raise AssertionError("unreachable: the last state returns")
