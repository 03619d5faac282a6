"""Client-side throttling: a request budget per provider, so that a full traversal stays under
the provider's published rate instead of tripping its 429s.

`Budget` is the one interface `ApiClient` talks to, with two implementations chosen at start-up
(`Directory`): `Throttle` below, a token bucket in this process, and `redis_budget.RedisBudget`,
one budget that every replica sharing a Redis draws from (SPEC §10). Both honour a provider's
request to wait (`hold`): once a 429 says "come back in N seconds", no request to that provider
leaves before then; a wait longer than the retry policy allows fails at once with `rate_limited`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

import anyio

from .errors import RateLimited
from .retry import RetryPolicy

PATIENCE = RetryPolicy().max_total_wait  # seconds a request may wait out a provider's hold


class Budget(Protocol):
    """One provider's request budget."""

    async def acquire(self) -> float:
        """Wait until one more request may go to the provider, and count it; returns the seconds
        waited. Raises `rate_limited` when the provider asked for a longer wait than a request
        may spend, and (the shared budget) `upstream_error` when the budget cannot be checked:
        never a request that was not counted."""
        ...

    async def hold(self, seconds: float) -> None:
        """The provider asked us to wait `seconds` (a 429's Retry-After or its rate-limit
        headers): no request to it leaves before then."""
        ...


def held_too_long(provider: str | None, seconds: float) -> RateLimited:
    return RateLimited(
        f"{provider or 'the provider'} asked for a pause of {seconds:.0f}s more, longer than a request "
        "waits; retry after that",
        provider=provider,
        status=429,
        retry_after=float(math.ceil(seconds)),
    )


class Throttle:
    """The in-process budget: a token bucket (`per_minute`, bursts of `burst`, ten seconds'
    worth by default) and a hold; `per_minute` None or 0 keeps only the hold."""

    def __init__(
        self,
        per_minute: float | None,
        *,
        burst: float | None = None,
        provider: str | None = None,
        patience: float = PATIENCE,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.rate = per_minute / 60.0 if per_minute else None  # tokens per second
        self.capacity = burst if burst is not None else max(1.0, (per_minute or 0) / 6)  # ten seconds' worth
        self.tokens = self.capacity
        self.provider = provider
        self.patience = patience
        self.clock = clock
        self.sleep = sleep
        self.stamp = clock()
        self.held_until = 0.0
        self._lock = anyio.Lock()
        self._waiting = 0

    def _refill(self) -> None:
        now = self.clock()
        assert self.rate is not None
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    async def hold(self, seconds: float) -> None:
        self.held_until = max(self.held_until, self.clock() + seconds)

    async def _wait_out_hold(self) -> float:
        pause = self.held_until - self.clock()
        if pause <= 0:
            return 0.0
        if pause > self.patience:
            raise held_too_long(self.provider, pause)
        await self.sleep(pause)
        return pause

    async def acquire(self) -> float:
        """Take one token, waiting for it if needed; returns the seconds waited."""
        held = await self._wait_out_hold() if self.held_until > self.clock() else 0.0
        if self.rate is None:
            return held
        self._refill()
        if self.tokens >= 1 and self._waiting == 0:  # the usual case: no await, no trip round the loop
            self.tokens -= 1
            return held
        self._waiting += 1
        try:
            async with self._lock:  # waiters queue here, in order
                held += await self._wait_out_hold()
                self._refill()
                waited = 0.0
                if self.tokens < 1:
                    waited = (1 - self.tokens) / self.rate
                    await self.sleep(waited)
                    self._refill()
                self.tokens -= 1
                return held + waited
        finally:
            self._waiting -= 1
