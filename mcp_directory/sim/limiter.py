"""The simulators' real rate limiter: a sliding window per bucket, and the state its headers show.

Every provider stamps its own headers from a `LimitState` (Rootly `X-RateLimit-*`, Opsgenie
`X-RateLimit-State`/`-Period-In-Sec`, Retool `Retry-After`); the limiter only counts. A client
that waits what a refusal advertises (`retry_after_s`, or until `reset_epoch`) then gets through.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class LimitState:
    """The limiter's view of a bucket right after a request was counted (or refused).

    `period_s` is the window a throttled client is told to back off for (Opsgenie's
    `X-RateLimit-Period-In-Sec`); injected 429s set it to their own short retry time.
    """

    allowed: bool
    limit: int
    used: int
    remaining: int
    reset_epoch: int
    retry_after_s: int
    period_s: int = 60


def ceil_s(seconds: float) -> int:
    return math.ceil(max(seconds, 0.0) - 1e-9)


class RateLimiter:
    """Sliding-window counter per bucket. When `enforce` is false it only counts (for headers)."""

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        enforce: bool,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.enforce = enforce
        self._clock = clock
        self._wall = wall
        self._hits: dict[str, deque[float]] = {}

    def _window(self, bucket: str) -> deque[float]:
        hits = self._hits.setdefault(bucket, deque())
        now = self._clock()
        while hits and now - hits[0] >= self.window_s:
            hits.popleft()
        return hits

    def _state(self, hits: deque[float], allowed: bool) -> LimitState:
        now = self._clock()
        wait = self.window_s - (now - hits[0]) if hits else self.window_s
        wait = max(wait, 0.0)
        return LimitState(
            allowed=allowed,
            limit=self.limit,
            used=len(hits),
            remaining=max(self.limit - len(hits), 0),
            # Ceilings: a client that sleeps until the reset (or for Retry-After) is past the wait.
            reset_epoch=ceil_s(self._wall() + wait),
            retry_after_s=max(ceil_s(wait), 1),
            period_s=max(ceil_s(self.window_s), 1),
        )

    def hit(self, bucket: str) -> LimitState:
        """Count one request in `bucket`, unless the bucket is full and enforced."""
        hits = self._window(bucket)
        if self.enforce and len(hits) >= self.limit:
            return self._state(hits, allowed=False)
        hits.append(self._clock())
        return self._state(hits, allowed=True)

    def peek(self, bucket: str) -> LimitState:
        return self._state(self._window(bucket), allowed=True)

    def throttled(self, retry_after_s: int) -> LimitState:
        """The state an injected 429 advertises: bucket full, free again in `retry_after_s`."""
        return LimitState(
            allowed=False,
            limit=self.limit,
            used=self.limit,
            remaining=0,
            reset_epoch=ceil_s(self._wall() + retry_after_s),
            retry_after_s=retry_after_s,
            period_s=retry_after_s,
        )
