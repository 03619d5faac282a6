"""The running directory: the known providers, one adapter per configured one, the pager's
cursors and page cache, and redaction.

Tools reach providers only through `Directory.adapter`, which is where an unknown,
unconfigured or unable provider is turned away.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx2 as httpx
import pydantic_core

from . import source_of_truth
from .auth import current_actor
from .config import Settings
from .confirmations import SpentHere, SpentStates
from .errors import InvalidArgument, NotConfigured, Redactor, Unsupported
from .locks import LocalLocks, Locks
from .models import Page
from .paging import CursorCodec, Listing, PageCache, Position, Progress, take
from .providers import PROVIDERS, Adapter, Provider
from .review_store import ReviewStore, Snapshots

if TYPE_CHECKING:
    from .redis_client import SharedRedis

# Made once: pydantic keeps a parametrized model only while something holds it, and making it
# again (a new class) cost a few percent of a list call's time.
ANY_PAGE = Page[Any]
audit_log = logging.getLogger("mcp_directory.audit")
audit_log.setLevel(logging.INFO)  # writes are always recorded, whatever the general log level


class Directory:
    def __init__(
        self,
        settings: Settings,
        *,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        page_sizes: Mapping[str, int] | None = None,
        providers: Sequence[Provider] = PROVIDERS,
    ) -> None:
        if page_sizes:  # a knob for tests and benchmarks: smaller upstream pages
            client = dataclasses.replace(settings.client, page_sizes={**settings.client.page_sizes, **page_sizes})
            settings = dataclasses.replace(settings, client=client)
        self.settings = settings
        self.providers: dict[str, Provider] = {p.name: p for p in providers}
        self.adapters: dict[str, Adapter] = {}
        for name, config in settings.providers.items():
            self.adapters[name] = self.known(name).connect(
                config, transport=(transports or {}).get(name), options=settings.client
            )
        self.redact = Redactor(settings.secrets)
        self.pages = PageCache()  # read-ahead for cursors; emptied for a provider we write to
        # access_review snapshots, for continuation cursors and exports: in this process, or shared
        self.reviews: ReviewStore = Snapshots(memory=settings.review_memory)
        self.confirmations: SpentStates = SpentHere()  # sealed request_states already used (SPEC §9)
        self.redis: SharedRedis | None = None
        # Locks for writes that replace a whole list upstream, one set for every adapter
        self.locks: Locks = LocalLocks()
        if settings.redis_url:
            self._share(settings.redis_url)
        for adapter in self.adapters.values():
            adapter.locks = self.locks
        self.cursors = CursorCodec(settings.cursor_secret or "\0".join(sorted(settings.secrets)) or "mcp-directory")

    def _share(self, url: str) -> None:
        """Several replicas (SPEC §10): through the Redis at `url`, every client of a provider draws
        from one budget that all replicas share, reviews are kept where every replica reads them, and
        the locks of whole-list writes are held for all replicas, and a human's "yes" used on one
        replica is used on all (SPEC §9)."""
        # Imported here: only replicas pay the Redis client's start-up time (a fifth of a second).
        from .confirmations import SpentInRedis
        from .redis_budget import RedisBudget
        from .redis_client import SharedRedis
        from .redis_locks import RedisLocks
        from .redis_reviews import RedisReviews

        redis = self.redis = SharedRedis(url)
        self.reviews = RedisReviews(redis, memory=self.settings.review_memory)
        self.locks = RedisLocks(redis)
        self.confirmations = SpentInRedis(redis)
        options = self.settings.client
        for name, adapter in self.adapters.items():
            rate = options.requests_per_minute.get(name, self.known(name).spec.requests_per_minute)
            budget = RedisBudget(redis, name, rate, patience=options.retry.max_total_wait)
            for client in adapter.clients:
                client.throttle = budget

    def known(self, name: str) -> Provider:
        try:
            return self.providers[name]
        except KeyError:
            raise InvalidArgument(
                f"unknown provider {name[:64]!r}; choose one of: {', '.join(self.providers)}"
            ) from None

    def adapter(self, name: str, operation: str | None = None) -> Any:
        """The configured provider's adapter, which has `operation` (else unsupported)."""
        provider = self.known(name)
        if operation and not provider.supports(operation):
            raise self.unsupported(provider, operation)
        try:
            adapter = self.adapters[name]
        except KeyError:
            needed = " and ".join(provider.spec.required_env())
            raise NotConfigured(
                f"{name} is not configured: set {needed} in the server's environment", provider=name
            ) from None
        reason = adapter.unable(operation) if operation else None
        if reason:  # the provider has it, this configuration cannot do it (an optional setting is missing)
            raise Unsupported(reason, provider=name)
        return adapter

    def sole(self, operation: str) -> Any:
        """The configured provider that has `operation`, for tools without a provider argument."""
        able = [p for p in self.providers.values() if p.supports(operation)]
        for provider in able:
            if provider.name in self.adapters:
                return self.adapters[provider.name]
        if not able:
            raise Unsupported("no provider supports this")
        needed = "; or ".join(" and ".join(p.spec.required_env()) for p in able)
        raise NotConfigured(
            f"this needs {' or '.join(p.title for p in able)}, which is not configured: set {needed}",
            provider=able[0].name,
        )

    def unsupported(self, provider: Provider, operation: str) -> Unsupported:
        others = [p.name for p in self.providers.values() if p.supports(operation)]
        where = f"supported by: {', '.join(others)}" if others else "no provider supports it"
        return Unsupported(f"{provider.why_not(operation)} ({where})", provider=provider.name)

    def configured(self) -> list[Provider]:
        """The configured providers, in the list's order."""
        return [p for p in self.providers.values() if p.name in self.adapters]

    def source_of_truth(self) -> str | None:
        """The provider whose accounts say who still works here (SPEC §14), or None."""
        return source_of_truth.resolve(
            self.settings.source_of_truth, list(self.providers.values()), list(self.adapters)
        )

    def concurrency(self, provider: str) -> int:
        """Upstream pages of `provider` fetched at once: the operator's cap, else the provider's own."""
        return self.settings.client.max_concurrent_pages or self.known(provider).spec.concurrent_pages

    async def page(
        self,
        tool: str,
        provider: str,
        listing: Listing[Any],
        *,
        limit: int,
        cursor: str | None,
        filters: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> Page[Any]:
        """One page of a list, resuming from `cursor`; the cursor is bound to tool, provider and filters."""
        scope = {"tool": tool, "provider": provider, "filters": filters or {}}
        start: Position | None = self.cursors.decode(cursor, scope) if cursor else None
        cache_scope = f"{provider}:{json.dumps(scope, sort_keys=True)}"
        if start is None:
            self.pages.forget(cache_scope)  # a new traversal reads fresh pages
        served = await take(
            provider,
            listing,
            start,
            limit,
            concurrency=self.concurrency(provider),
            progress=progress,
            cache=self.pages,
            scope=cache_scope,
        )
        next_cursor = self.cursors.encode(scope, served.next) if served.next else None
        return ANY_PAGE(provider=provider, result=served.items, next_cursor=next_cursor, total=served.total)

    def record_write(
        self, tool: str, provider: str | None, target: dict[str, Any], outcome: str, **detail: Any
    ) -> None:
        """The audit trail: one JSON line per write that may have reached a provider (tool,
        provider, target, outcome, actor; never a credential), and no read-ahead page of that
        provider survives it. The actor is whoever this request's token names (`auth.current_actor`:
        `sub`, else the client id, `static-token` for MCP_DIRECTORY_AUTH_TOKEN), read here so that
        every line has it, offboard_user's per-step lines included; null where no token is in play
        (stdio, `call`, HTTP on loopback without auth)."""
        if provider:
            self.pages.forget(f"{provider}:")
        entry = {
            "event": "write",
            "tool": tool,
            "provider": provider,
            "target": target,
            "outcome": outcome,
            "actor": current_actor(),
            **detail,
        }
        audit_log.info(self.redact(pydantic_core.to_json(entry).decode()))

    async def aclose(self) -> None:
        for adapter in self.adapters.values():
            await adapter.aclose()
        if self.redis:
            await self.redis.aclose()
