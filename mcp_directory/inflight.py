"""Identical reads in flight at once go upstream once (never a cache).

Fifty sessions asking a provider for the same first page at the same moment need one answer,
not fifty: a GET that finds an identical one on its way joins it and gets a copy of its answer
(or its error). Nothing is kept once the answer is in, so this never serves an old answer:

- a GET joins only a GET that is still in flight;
- a write to the provider starts a new *era* when it leaves and another when it is answered,
  and a GET joins only a GET of its own era: a GET that starts after a write began (or ended)
  never gets an answer that may have been read before the write was applied;
- one provider's several API clients share one `InFlight`, so a write through one of them
  starts a new era for all.

The request runs in the task of the first caller (no task outlives its callers). If that
caller is cancelled, its request goes with it, and the callers that joined it start again:
one of them sends the request anew, so a cancelled caller cancels nobody else.

Within one process only: a write on another replica is not seen here (nor is one made
through the provider's own UI).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import anyio

T = TypeVar("T")


@dataclass
class _Flight(Generic[T]):
    done: anyio.Event = field(default_factory=anyio.Event)
    result: Any = None
    error: BaseException | None = None
    abandoned: bool = False  # its first caller was cancelled: the others start again


class InFlight:
    """The GETs of one provider under way, by request, and the era its writes mark."""

    def __init__(self) -> None:
        self.era = 0
        self._flights: dict[tuple[int, Hashable], _Flight[Any]] = {}

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Around a write: no GET that began before it ends (or before it began) is joined after."""
        self.era += 1
        try:
            yield
        finally:
            self.era += 1

    async def share(self, key: Hashable, fetch: Callable[[], Awaitable[T]], copy: Callable[[T], T]) -> T:
        """`fetch()`'s answer, sent once for every identical `key` in flight in this era; a caller
        that joined gets `copy(answer)` (its own, to change as it likes), an error as it came."""
        while True:
            slot = (self.era, key)
            flight = self._flights.get(slot)
            if flight is None:
                return await self._lead(slot, fetch)
            await flight.done.wait()
            if flight.abandoned:
                continue  # its first caller was cancelled: send it again (the first here leads)
            if flight.error is not None:
                raise flight.error
            return copy(flight.result)

    async def _lead(self, slot: tuple[int, Hashable], fetch: Callable[[], Awaitable[T]]) -> T:
        flight: _Flight[T] = _Flight()
        self._flights[slot] = flight
        try:
            flight.result = result = await fetch()
            return result
        except Exception as exc:
            flight.error = exc
            raise
        except BaseException:  # cancelled (or the process is ending)
            flight.abandoned = True
            raise
        finally:
            if self._flights.get(slot) is flight:
                del self._flights[slot]
            flight.done.set()
