"""Client-side throttling: a token bucket per provider, so that a full traversal stays
under the provider's published rate instead of tripping its 429s."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio


class Throttle:
    def __init__(
        self,
        per_minute: float | None,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.rate = per_minute / 60.0 if per_minute else None  # tokens per second
        self.capacity = burst if burst is not None else max(1.0, (per_minute or 0) / 6)  # ten seconds' worth
        self.tokens = self.capacity
        self.clock = clock
        self.sleep = sleep
        self.stamp = clock()
        self._lock = anyio.Lock()
        self._waiting = 0

    def _refill(self) -> None:
        now = self.clock()
        assert self.rate is not None
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    async def acquire(self) -> float:
        """Take one token, waiting for it if needed; returns the seconds waited."""
        if self.rate is None:
            return 0.0
        self._refill()
        if self.tokens >= 1 and self._waiting == 0:  # the usual case: no await, no trip round the loop
            self.tokens -= 1
            return 0.0
        self._waiting += 1
        try:
            async with self._lock:  # waiters queue here, in order
                self._refill()
                waited = 0.0
                if self.tokens < 1:
                    waited = (1 - self.tokens) / self.rate
                    await self.sleep(waited)
                    self._refill()
                self.tokens -= 1
                return waited
        finally:
            self._waiting -= 1
