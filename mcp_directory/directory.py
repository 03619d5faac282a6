"""The running directory: one adapter per configured provider, the cursor codec, redaction.

Tools reach providers only through `Directory.adapter`, which is where an unknown or
unconfigured provider is turned away.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import httpx2 as httpx

from .config import Settings, missing_variable
from .cursor import CursorCodec, Position
from .errors import NotConfigured, Redactor
from .http import ApiClient
from .models import Page
from .paging import Fetch, PageCache, Progress, take
from .providers import Adapter


class Directory:
    def __init__(
        self,
        settings: Settings,
        *,
        transports: Mapping[str, httpx.AsyncBaseTransport] | None = None,
        page_sizes: Mapping[str, int] | None = None,
    ) -> None:
        self.settings = settings
        self.adapters: dict[str, Adapter] = {}
        for name, cfg in settings.providers.items():
            adapter_cls = Adapter.registry[name]
            spec = adapter_cls.spec
            if page_sizes and name in page_sizes:
                spec = dataclasses.replace(spec, page_size=page_sizes[name])
            client = ApiClient(
                spec, cfg.base_url, cfg.credential, transport=(transports or {}).get(name), options=settings.client
            )
            self.adapters[name] = adapter_cls(client)
        self.redact = Redactor(settings.secrets)
        self.pages = PageCache()  # read-ahead for cursors; emptied for a provider we write to
        self.cursors = CursorCodec(settings.cursor_secret or "\0".join(sorted(settings.secrets)) or "mcp-directory")

    def adapter(self, provider: str) -> Adapter:
        try:
            return self.adapters[provider]
        except KeyError:
            raise NotConfigured(
                f"{provider} is not configured: set {missing_variable(provider)} in the server's environment",
                provider=provider,
            ) from None

    async def page(
        self,
        tool: str,
        provider: str,
        fetch: Fetch[Any],
        *,
        limit: int,
        cursor: str | None,
        filters: dict[str, Any] | None = None,
        progress: Progress | None = None,
    ) -> Page[Any]:
        """One page of a list, resuming from `cursor`; the cursor is bound to tool, provider and filters."""
        scope = {"tool": tool, "provider": provider, "filters": filters or {}}
        start = self.cursors.decode(cursor, scope) if cursor else Position()
        cache_scope = f"{provider}:{json.dumps(scope, sort_keys=True)}"
        if not cursor:
            self.pages.forget(cache_scope)  # a new traversal reads fresh pages
        served = await take(
            provider,
            fetch,
            start,
            limit,
            concurrency=self.concurrency(provider),
            progress=progress,
            cache=self.pages,
            scope=cache_scope,
        )
        next_cursor = self.cursors.encode(scope, served.next) if served.next else None
        return Page[Any](provider=provider, result=served.items, next_cursor=next_cursor, total=served.total)

    def concurrency(self, provider: str) -> int:
        """Upstream pages of `provider` fetched at once: the operator's cap, else the provider's own."""
        return self.settings.client.max_concurrent_pages or self.adapter(provider).spec.concurrent_pages

    async def aclose(self) -> None:
        for adapter in self.adapters.values():
            await adapter.http.aclose()
