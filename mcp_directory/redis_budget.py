"""One request budget per provider for every replica together (SPEC §10): the shared `Budget`.

A sliding log in Redis, decided by one Lua script so that checking and counting are one atomic
step for all replicas: each request granted is a member of a sorted set scored with Redis's own
clock (`TIME`, so the replicas' clocks never matter), and a request is granted only while fewer
than `per_minute` were granted in the minute before it. That is the contract exactly: at most
`per_minute` requests in ANY minute, not on average and not per fixed minute. Each grant is counted
for `SLACK_S` more than a minute, so that two requests granted just over a minute apart cannot reach
the provider within one of its minutes however their trips there differ.

A second, ten-second log allows a sixth of the budget (at least one) at once, as the in-process
token bucket's burst does: the budget is spread over the minute instead of spent in its first
second and then nothing (a provider with a shorter window of its own would refuse such a burst).

A provider's request to wait (`hold`) is a "not before" instant, in Redis's clock, that the same
script honours before anything else, so one 429 holds back every replica. A hold longer than a
request may wait fails at once with `rate_limited`.

Why a script over a sorted set rather than the `limits` package's moving window: it is the same
algorithm in twenty lines, and the hold must be checked in the same atomic step as the window
(two calls would let a request slip between a 429 and its hold), which `limits` does not offer.
"""

from __future__ import annotations

import contextlib
import math
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from .errors import UpstreamError
from .redis_client import SharedRedis
from .throttle import PATIENCE, held_too_long

WINDOW_S = 60.0
SLACK_S = 1.0
BURST_WINDOW_S = 10.0

# KEYS: the minute's log, the burst log, the hold. ARGV: minute limit (0: no budget, only the hold),
# minute window (µs), burst limit, burst window (µs), a member unique to this request.
# Returns {0, 0} when granted, else {1, µs} (held) or {2, µs} (budget spent) to wait before asking again.
ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local hold = tonumber(redis.call('GET', KEYS[3]) or '0')
if hold > now then return {1, hold - now} end
local limit = tonumber(ARGV[1])
if limit <= 0 then return {0, 0} end
local logs = {{KEYS[1], limit, tonumber(ARGV[2])}, {KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4])}}
for _, log in ipairs(logs) do
  redis.call('ZREMRANGEBYSCORE', log[1], '-inf', now - log[3])
  if redis.call('ZCARD', log[1]) >= log[2] then
    local oldest = redis.call('ZRANGE', log[1], 0, 0, 'WITHSCORES')
    return {2, math.max(1, tonumber(oldest[2]) + log[3] - now)}
  end
end
for _, log in ipairs(logs) do
  redis.call('ZADD', log[1], now, ARGV[5])
  redis.call('PEXPIRE', log[1], math.ceil(log[3] / 1000) + 1000)
end
return {0, 0}
"""

# KEYS: the hold. ARGV: the pause (µs). The later of the old and the new "not before" wins.
HOLD = """
local t = redis.call('TIME')
local until_ = tonumber(t[1]) * 1000000 + tonumber(t[2]) + tonumber(ARGV[1])
if until_ > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], string.format('%.0f', until_), 'PX', math.ceil(tonumber(ARGV[1]) / 1000) + 1000)
end
return 0
"""


class RedisBudget:
    """A provider's budget shared through Redis. Waiting requests of this process queue behind
    one lock, so only the first of them asks Redis again when its wait is over."""

    def __init__(
        self,
        redis: SharedRedis,
        provider: str,
        per_minute: float | None,
        *,
        patience: float = PATIENCE,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.redis = redis
        self.provider = provider
        # Whole requests: a budget of 7.5 a minute allows 7 (and one of 0.5, one).
        self.limit = max(1, int(per_minute)) if per_minute and per_minute > 0 else 0
        self.burst = max(1, math.ceil(self.limit * BURST_WINDOW_S / WINDOW_S))
        self.patience = patience
        self.sleep = sleep
        self._keys = [redis.key("budget", provider, name) for name in ("minute", "burst", "hold")]
        self._acquire = redis.script(ACQUIRE)
        self._hold = redis.script(HOLD)
        self._lock = anyio.Lock()
        self._waiting = 0

    async def _ask(self) -> tuple[int, float]:
        member = secrets.token_hex(8)
        args: list[Any] = [
            self.limit,
            int((WINDOW_S + SLACK_S) * 1e6),
            self.burst,
            int(BURST_WINDOW_S * 1e6),
            member,
        ]
        doing = f"check {self.provider}'s shared request budget, so nothing was sent to {self.provider}"
        kind, wait_us = await self.redis.run(doing, self._acquire(self._keys, args), provider=self.provider)
        return int(kind), int(wait_us) / 1e6

    async def _try(self) -> float | None:
        """None when granted, else the seconds to wait before asking again."""
        kind, wait = await self._ask()
        if kind == 0:
            return None
        if kind == 1 and wait > self.patience:
            raise held_too_long(self.provider, wait)
        return wait

    async def acquire(self) -> float:
        if self._waiting == 0:
            wait = await self._try()
            if wait is None:
                return 0.0
        self._waiting += 1
        try:
            async with self._lock:
                waited = 0.0
                while (wait := await self._try()) is not None:
                    await self.sleep(wait)
                    waited += wait
                return waited
        finally:
            self._waiting -= 1

    async def hold(self, seconds: float) -> None:
        # Failing to record the hold fails nothing here: the answer that asked for it is already in,
        # and the next acquire asks Redis again (and fails there if Redis is still away).
        with contextlib.suppress(UpstreamError):
            await self.redis.run(
                f"hold every replica back from {self.provider}",
                self._hold([self._keys[2]], [int(seconds * 1e6)]),
                provider=self.provider,
            )
