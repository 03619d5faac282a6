"""What a provider is: one `Provider` value, its spec (data) and its adapter (code).

Each provider module (`rootly.py`, ...) exports one value, `Provider(spec, Adapter subclass)`;
`providers/__init__.py` lists them, and config, the CLI, the demo, argument enums and tool
descriptions derive from that list (a provider is one value, as a tool is).

An adapter holds the operations a provider has, and only those: an operation it lacks is
simply not defined, `Provider.supports` says so, and the tools answer `unsupported` naming
the providers that do support it and the provider's own reason (`Adapter.missing`).

Operations, by name (a tool names the one it needs in `Tool.operation`):

- lists, which return a `Listing` the shared pager reads (no I/O until it pages):
  `users(search=, email=)` (with an email, only that person's accounts: `Adapter.with_email`),
  `groups(search=)`, `roles()`, `incident_roles()`, and
  `everyone()` where a provider reads every user better than by paging `users(search=None,
  email=None)`: in one answer (Retool), or with what only a whole read can afford (Okta marks
  its admins from one short list); a reader of the whole directory prefers it;
- single objects: `user(id)`, `me()`, `group(id)`, `licenses()`; and `lean_group(id)`, where a
  provider can say a group's id, name and members' ids (`models.SeenGroup`) without a model per
  member, for a reader of the whole directory (it must say what `group(id)` says: tests hold them equal);
- writes, each sent once (never resent once it may have arrived): `add_group_member`,
  `remove_group_member`, `create_user`, `deactivate_user`, `assign_incident_role`,
  `unassign_incident_role`. A write that returns None was applied but could not be read back;
- on-call (SPEC §12, `oncall.py`), where a provider has schedules: `schedules()` (its whole on-call
  configuration, a `Book`) and `on_calls(at, schedule_id)`.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import anyio
import httpx2 as httpx

from ..aio import gather
from ..errors import DirectoryError, UpstreamError
from ..http import ApiClient
from ..locks import LocalLocks, Locks
from ..models import Seen, User, same_email, seen
from ..oncall import Account
from ..options import ClientOptions
from ..paging import Chunk, Listing, filtered
from ..proxy import check_path
from ..spec import Paginator, ProviderConfig, ProviderSpec, State
from ..whole_list import every_lean

T = TypeVar("T")
log = logging.getLogger("mcp_directory.providers")

# Accounts read in the current `one_account_read()` block, by provider (None: outside one).
ACCOUNT_READS: ContextVar[dict[str, dict[str, Account]] | None] = ContextVar("account_reads", default=None)


@contextmanager
def one_account_read() -> Iterator[None]:
    """Within the block, each provider's accounts are read at most once (tasks started inside share it)."""
    token = ACCOUNT_READS.set({})
    try:
        yield
    finally:
        ACCOUNT_READS.reset(token)


# What a list operation maps with: a document -> a function from one of its records to an item
# (so a mapping that needs the whole document, like JSON:API's `included`, indexes it once).
Mapper = Callable[[Any], Callable[[Any], T]]


class Adapter:
    """The operations of one provider over its HTTP client. Subclasses define what the provider has."""

    # Why the provider lacks an operation, by operation name, for `unsupported` messages.
    missing: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        spec: ProviderSpec,
        config: ProviderConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        options: ClientOptions | None = None,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.config = config
        self.options = options or ClientOptions()
        self.http = ApiClient(spec, config.base_url, config.credential, transport=transport, options=self.options)
        self.page_size = self.options.page_sizes.get(spec.name, spec.page_size)
        # For writes that replace a whole list upstream (`locks.replace_whole_list`); the Directory
        # gives every adapter its one set, in Redis when replicas share one.
        self.locks: Locks = LocalLocks()

    @property
    def clients(self) -> list[ApiClient]:
        """Every HTTP client this adapter holds (to close them)."""
        return [self.http]

    def unable(self, operation: str) -> str | None:
        """Why this configured instance cannot do `operation` although its provider has it (an
        operation that needs an optional setting the operator did not set), else None. The
        directory answers `unsupported` with this reason, before anything is sent."""
        return None

    async def proxy_route(self, path: str) -> tuple[ApiClient, str]:
        """The client and path a `proxy_request` path goes to: by default this adapter's one
        client, for paths below the provider's documented API root (`spec.proxy_prefix`). A
        provider of several APIs maps each documented root to its own client, and refuses the
        rest; `path` is refused (invalid_argument) unless it is a plain path below a root."""
        return self.http, check_path(path, self.spec.proxy_prefix)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()

    # Lists.

    def listing(
        self,
        path: str,
        params: dict[str, Any],
        mapper: Mapper[T],
        *,
        paginator: Paginator | None = None,
        lean: Mapper[Seen] | None = None,
    ) -> Listing[T]:
        """A list at `path`, paged by `paginator` (default: the provider's own); `lean`, for a list
        of users, maps a record straight to what a whole-directory reader keeps (`Chunk.lean`)."""
        paginator = paginator or self.spec.paginator

        async def fetch(state: State) -> Chunk[T]:
            document = await self.http.get(path, {**params, **paginator.params(state)})
            records = self.records(document)
            step = paginator.follow(state, document, len(records))
            return Chunk(records, step, mapper(document), lean(document) if lean else None)

        return Listing(fetch, paginator, min(self.page_size, paginator.max_size))

    @staticmethod
    def matching(listing: Listing[T], keep: Callable[[T], bool]) -> Listing[T]:
        """A list filtered here, for filters the provider lacks (its totals become unknown)."""
        return filtered(listing, keep)

    @classmethod
    def with_email(cls, listing: Listing[User], email: str) -> Listing[User]:
        """The accounts of `listing` whose email is `email` (SPEC §4 identity): what `users(email=)`
        returns. A provider's own email filter may fold more than ASCII letters, and so answer
        with another person's account."""
        return cls.matching(listing, lambda user: same_email(user.email, email))

    # The envelope every provider here wraps its answers in: `{"data": ...}`. An answer without
    # it is an upstream error, never an empty list (SPEC §6).

    def records(self, document: Any) -> list[dict[str, Any]]:
        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise self.malformed("a list of records under data")
        return data

    def record(self, document: Any) -> dict[str, Any]:
        data = document.get("data") if isinstance(document, dict) else None
        if not isinstance(data, dict):
            raise self.malformed("a record under data")
        return data

    def malformed(self, expected: str) -> UpstreamError:
        return UpstreamError(
            f"{self.spec.title} answered without its documented shape (expected {expected}); "
            "nothing was left out silently: retry later, and report it if it persists",
            provider=self.name,
        )

    async def ping(self) -> None:
        """One cheap authenticated request (for `mcp-directory check`), its envelope checked."""
        document = await self.http.get(self.spec.ping)
        if not isinstance(document, dict) or not isinstance(document.get("data"), dict | list):
            raise self.malformed("data")

    async def account_book(self) -> dict[str, Account]:
        """Every account of the provider by id, as on-call answers show them (email, name,
        status): the whole user list, in one answer where the provider has `everyone()`; read
        once per `one_account_read()` block (a call that reads the schedules and who is on call)."""
        kept = ACCOUNT_READS.get()
        if kept is not None and self.name in kept:
            return kept[self.name]
        everyone = getattr(self, "everyone", None)
        listing = everyone() if everyone else self.users(search=None, email=None)  # type: ignore[attr-defined]
        users = await every_lean(self.name, listing, seen, max_items=10_000_000, concurrency=self.spec.concurrent_pages)
        found = {u[0]: Account(u[1], u[2], u[3]) for u in users}
        if kept is not None:
            kept[self.name] = found
        return found

    async def each(self, calls: list[Callable[[], Awaitable[T]]]) -> list[T]:
        """Independent reads, at most `spec.concurrent_pages` at once (at least four, as a review reads
        groups: however a provider's list pages, these requests do not depend on each other), in order."""
        limit = anyio.Semaphore(max(4, self.spec.concurrent_pages))

        async def run(call: Callable[[], Awaitable[T]]) -> T:
            async with limit:
                return await call()

        return await gather(*(run(c) for c in calls))

    async def read_back(self, read: Callable[[], Awaitable[T] | T]) -> T | None:
        """The object after a write that the provider accepted (from its answer or a new read),
        or None when that failed: the write stands, so the tool must say it was applied rather
        than invite a retry that would fail or apply it twice."""
        try:
            value = read()
            return await value if inspect.isawaitable(value) else value
        except DirectoryError as exc:
            log.warning("%s applied a write but reading the result back failed: %s", self.name, exc.code)
            return None


@dataclass(frozen=True, eq=False)
class Provider:
    """Everything a provider is: its spec and its adapter."""

    spec: ProviderSpec
    adapter: type[Adapter]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def title(self) -> str:
        return self.spec.title

    def supports(self, operation: str) -> bool:
        return callable(getattr(self.adapter, operation, None))

    def why_not(self, operation: str) -> str:
        return self.adapter.missing.get(operation, f"{self.title} has no API for this")

    def connect(
        self,
        config: ProviderConfig,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        options: ClientOptions | None = None,
    ) -> Adapter:
        return self.adapter(self.spec, config, transport=transport, options=options)
