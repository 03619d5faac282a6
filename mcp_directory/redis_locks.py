"""Locks in the Redis that replicas share (SPEC §10): the `locks.Locks` of `Directory._share`.

A lock is the key `mcp-directory:lock:<name>` holding a random token of its holder, taken with
`SET key token NX PX ttl` and given back by a script that deletes it only while it still holds that
token, so a holder whose lock ran out never frees the next holder's. While held, the holder extends
it every quarter TTL by the same compare: one call's read, write and read-back may take minutes when
the provider is slow and its requests are retried, so the TTL (`TTL_S`) is not a bound on the work,
only how long the lock of a replica that died holding it outlives it. An extension that finds the
lock gone (Redis restarted empty, or this process stalled longer than the TTL) is logged and the
holder goes on: its read-back still says `conflict` if another writer undid its change.

Waiting: first in this process (`LocalLocks`, so one call per name asks Redis at a time), then
polling Redis with a jittered backoff from 10 ms to a quarter second, all within one `WAIT_S`
deadline, after which the call fails with `conflict` (locks.py says why). Redis unreachable when
taking the lock is `upstream_error` naming Redis (`SharedRedis.run`), and nothing is sent to the
provider; when giving it back, only logged: the change is made, and the TTL frees the lock.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from .errors import UpstreamError
from .locks import WAIT_S, LocalLocks, busy
from .redis_client import SharedRedis

log = logging.getLogger("mcp_directory.redis")

TTL_S = 20.0
FIRST_POLL_S, LAST_POLL_S = 0.01, 0.25

# KEYS: the lock. ARGV: the holder's token. 1 when it was the holder's and is deleted, else 0.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

# KEYS: the lock. ARGV: the holder's token, the new TTL (ms). 1 when it was the holder's, else 0.
EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class RedisLocks:
    def __init__(self, redis: SharedRedis, *, ttl_s: float = TTL_S, wait_s: float = WAIT_S) -> None:
        self.redis = redis
        self.ttl_ms = max(1, int(ttl_s * 1000))
        self.wait_s = wait_s
        self.local = LocalLocks(wait_s)
        self._release = redis.script(RELEASE)
        self._extend = redis.script(EXTEND)

    @asynccontextmanager
    async def hold(self, name: str, *, what: str, provider: str | None = None) -> AsyncIterator[None]:
        deadline = anyio.current_time() + self.wait_s
        key, token = self.redis.key("lock", name), secrets.token_hex(16)
        async with self.local.hold_until(name, deadline, what=what, provider=provider):
            try:
                await self._take(key, token, deadline, what, provider)
                failure: Exception | None = None
                async with anyio.create_task_group() as tg:
                    tg.start_soon(self._keep, key, token, name)
                    try:
                        yield
                    except Exception as exc:  # raised as itself below, not inside an exception group
                        failure = exc
                    finally:
                        tg.cancel_scope.cancel()
                if failure is not None:
                    raise failure
            finally:
                with anyio.CancelScope(shield=True):  # also after a cancelled call: never left to the TTL
                    await self._give_back(key, token, name)

    async def _take(self, key: str, token: str, deadline: float, what: str, provider: str | None) -> None:
        doing = f"take the lock on {what}, so nothing was sent"
        pause = FIRST_POLL_S
        for _ in range(100_000):  # ended by the deadline long before
            taken = self.redis.client.set(key, token, nx=True, px=self.ttl_ms)
            if await self.redis.run(doing, taken, provider=provider):
                return
            left = deadline - anyio.current_time()
            if left <= 0:
                break
            await anyio.sleep(min(left, random.uniform(pause / 2, pause)))
            pause = min(pause * 2, LAST_POLL_S)
        raise busy(what, self.wait_s, provider)

    async def _keep(self, key: str, token: str, name: str) -> None:
        while True:
            await anyio.sleep(self.ttl_ms / 4000)
            try:
                kept = await self.redis.run(f"keep the lock {name}", self._extend([key], [token, self.ttl_ms]))
            except UpstreamError:
                continue  # logged by SharedRedis; the next try may come before the TTL runs out
            if not kept:
                log.warning("the lock %s ran out while held; the read-back decides the outcome", name)
                return

    async def _give_back(self, key: str, token: str, name: str) -> None:
        try:
            await self.redis.run(f"give back the lock {name}", self._release([key], [token]))
        except UpstreamError:
            log.warning("could not give back the lock %s; if held, it frees itself in %d s", name, self.ttl_ms // 1000)
