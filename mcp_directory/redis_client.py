"""The Redis that replicas share (SPEC §10, `MCP_DIRECTORY_REDIS_URL`), and the one boundary where
its failures become the contract's errors.

Every command goes through `SharedRedis.run`: a Redis that cannot be reached, times out or refuses
a command becomes `upstream_error` naming Redis (never the URL's password), so a tool fails rather
than sending a request no budget counted. Nothing here keeps state about an outage: the client
reconnects on the next command (one immediate retry covers a connection that died while Redis
restarted), so a replica recovers by itself when Redis is back. Scripts are re-loaded when a
restarted Redis no longer knows them (redis-py's `Script` does that).

Keys live under `mcp-directory:`; use one Redis database per deployment.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Literal, TypeVar
from urllib.parse import urlsplit

import anyio
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from .errors import UpstreamError

T = TypeVar("T")
log = logging.getLogger("mcp_directory.redis")

PREFIX = "mcp-directory:"
CONNECT_TIMEOUT_S = 2.0
COMMAND_TIMEOUT_S = 5.0
HEALTH_TIMEOUT_S = 1.0


def describe(url: str) -> str:
    """Where Redis is, for messages: scheme, host, port and database, never user or password."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    host = f"[{parts.hostname}]" if parts.hostname and ":" in parts.hostname else parts.hostname
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path if parts.path not in ('', '/') else ''}"


class SharedRedis:
    def __init__(self, url: str, *, timeout: float = COMMAND_TIMEOUT_S) -> None:
        self.where = describe(url)
        self.client = aioredis.Redis.from_url(
            url,
            socket_connect_timeout=CONNECT_TIMEOUT_S,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 1),  # once at once: a pooled connection that died with a restart
        )
        self._reachable = True  # for logging the moments it goes away and comes back

    @staticmethod
    def key(*parts: str) -> str:
        return PREFIX + ":".join(parts)

    def script(self, source: str) -> AsyncScript:
        return self.client.register_script(source)

    async def run(self, doing: str, command: Awaitable[T], *, provider: str | None = None) -> T:
        """Await one Redis command; its failure is `upstream_error` saying what could not be done."""
        try:
            result = await command
        except (RedisError, OSError) as exc:
            self._went(False, exc)
            detail = " ".join(str(exc).split())[:160] or "no detail"
            raise UpstreamError(
                f"Redis at {self.where} could not be used to {doing} ({type(exc).__name__}: {detail}). "
                "Retry once Redis is reachable again (the operator can check /healthz)",
                provider=provider,
            ) from exc
        self._went(True)
        return result

    async def health(self) -> Literal["ok", "unreachable"]:
        """What /healthz reports: whether Redis answers a PING within a second."""
        try:
            with anyio.fail_after(HEALTH_TIMEOUT_S):
                await self.client.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            self._went(False, exc)
            return "unreachable"
        self._went(True)
        return "ok"

    def _went(self, reachable: bool, exc: BaseException | None = None) -> None:
        if reachable != self._reachable:
            self._reachable = reachable
            if reachable:
                log.warning("Redis at %s is reachable again", self.where)
            else:
                log.warning("Redis at %s is unreachable (%s)", self.where, type(exc).__name__)

    async def aclose(self) -> None:
        await self.client.aclose()
