"""What every provider adapter is: a typed spec (data) plus read operations (code).

An adapter subclass lives in its own module (`rootly.py`, `opsgenie.py`, `retool.py`)
and holds everything specific to that provider: its spec, its pure mapping functions
from provider JSON to the normalized models, and its operations. An operation the
provider lacks is simply not overridden; the base raises `unsupported`, naming the
providers that do support it and the provider's own reason.
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, TypeVar

from ..errors import DirectoryError, Unsupported, UpstreamError
from ..models import Assignment, Deactivation, Group, IncidentRole, License, Role, User
from ..paging import Chunk

if TYPE_CHECKING:
    from ..http import ApiClient

PageKind = Literal["page_number", "offset", "token"]
T = TypeVar("T")
log = logging.getLogger("mcp_directory.providers")


def seconds(value: str | None) -> float | None:
    """A non-negative number of seconds from a header value, or None."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def standard_retry_after(headers: Mapping[str, str], now: float) -> float | None:
    """RFC 9110 Retry-After: delay-seconds or an HTTP date."""
    value = headers.get("retry-after")
    if value is None:
        return None
    delay = seconds(value)
    if delay is not None:
        return delay
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class ProviderSpec:
    """A provider reduced to data (cf. Nango's providers.yaml)."""

    name: str
    title: str
    api_root: str  # appended to the base URL; the provider's documented paths go below it
    auth_scheme: str  # Authorization: <auth_scheme> <credential>
    content_type: str
    pagination: PageKind
    page_size: int  # what we ask for per upstream page
    max_page_size: int  # documented (or assumed) upstream maximum
    rate_limit_headers: tuple[str, ...]
    requests_per_minute: int | None
    proxy_prefix: str  # proxy_request paths must start with this (the documented API root)
    concurrent_pages: int  # upstream pages fetched at once where the pagination allows it
    # What DELETE on a user does: "deactivated" (the account stays, disabled) or "deleted".
    user_delete: Literal["deactivated", "deleted"]
    # The human message in the provider's error body (parsed JSON) -> text, or None.
    error_text: Callable[[Any], str | None] = field(default=lambda data: None)
    # How the provider says when to come back beyond Retry-After: (headers, now) -> seconds.
    retry_after_from: Callable[[Mapping[str, str], float], float | None] = field(default=lambda headers, now: None)

    def upstream_message(self, body: bytes, redact: Callable[[str], str] | None = None) -> str | None:
        """What the provider said in an error body, for the agent: its own field, else the text
        (cut at 200 characters). `redact` runs before the cut: a provider that reflects the
        credential must not get part of it past the redactor by having the cut split it."""
        try:
            data = json.loads(body)
        except ValueError:
            text = body.decode("utf-8", "replace").strip()
            return (redact(text) if redact else text)[:200] or None
        text = self.error_text(data) if isinstance(data, dict) else None
        return redact(text) if redact and text else text

    def retry_after(self, headers: Mapping[str, str], now: float | None = None, *, status: int = 429) -> float | None:
        """Seconds the provider asked us to wait before trying again, if it said. Its own
        rate-limit headers count only on a 429 (Rootly sends X-RateLimit-Reset on every answer)."""
        now = time.time() if now is None else now
        standard = standard_retry_after(headers, now)
        if standard is not None or status != 429:
            return standard
        return self.retry_after_from(headers, now)


class Adapter:
    """Read operations over one provider. Override what the provider has."""

    spec: ClassVar[ProviderSpec]
    # Why the provider lacks an operation, by operation name, for `unsupported` messages.
    missing: ClassVar[dict[str, str]] = {}
    registry: ClassVar[dict[str, type[Adapter]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Adapter.registry[cls.spec.name] = cls

    def __init__(self, http: ApiClient) -> None:
        self.http = http
        self.spec = http.spec  # type: ignore[misc]  # may carry overridden page sizes
        self.name = self.spec.name

    # Lists: upstream state -> Chunk. State None is the first upstream page.

    async def users(self, state: Any, *, search: str | None, email: str | None) -> Chunk[User]:
        raise self.unsupported("users")

    async def groups(self, state: Any, *, search: str | None) -> Chunk[Group]:
        raise self.unsupported("groups")

    async def roles(self, state: Any) -> Chunk[Role]:
        raise self.unsupported("roles")

    async def incident_roles(self, state: Any) -> Chunk[IncidentRole]:
        raise self.unsupported("incident_roles")

    # Single objects.

    async def user(self, user_id: str) -> User:
        raise self.unsupported("user")

    async def me(self) -> User:
        raise self.unsupported("me")

    async def group(self, group_id: str) -> Group:
        raise self.unsupported("group")

    async def licenses(self) -> list[License]:
        raise self.unsupported("licenses")

    async def ping(self) -> None:
        """One cheap authenticated request (for `mcp-directory check`)."""
        await self.users(None, search=None, email=None)

    # Writes. Each sends its request once: none of them is retried once it may have arrived.
    # A write that returns None was applied, but the object could not be read back afterwards.

    async def read_back(self, read: Callable[[], Awaitable[T] | T]) -> T | None:
        """The object after a write that the provider accepted (from its answer or a new read),
        or None when that failed: the write stands, so the tool must say it was applied rather
        than invite a retry that would fail or apply it twice."""
        try:
            value = read()
            return await value if inspect.isawaitable(value) else value  # type: ignore[no-any-return]
        except DirectoryError as exc:
            log.warning("%s applied a write but reading the result back failed: %s", self.name, exc.code)
            return None

    async def add_group_member(self, group_id: str, user_id: str, role: str) -> Group | None:
        raise self.unsupported("add_group_member")

    async def remove_group_member(self, group_id: str, user_id: str) -> Group | None:
        raise self.unsupported("remove_group_member")

    async def create_user(self, email: str, first_name: str, last_name: str, role: str | None) -> User | None:
        raise self.unsupported("create_user")

    async def deactivate_user(self, user_id: str) -> Deactivation:
        raise self.unsupported("deactivate_user")

    async def assign_incident_role(self, incident_id: str, user: str, incident_role: str) -> Assignment:
        raise self.unsupported("assign_incident_role")

    async def unassign_incident_role(self, incident_id: str, user: str, incident_role: str) -> Assignment:
        raise self.unsupported("unassign_incident_role")

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

    # Capability introspection.

    @classmethod
    def supports(cls, operation: str) -> bool:
        return getattr(cls, operation) is not getattr(Adapter, operation)

    @classmethod
    def supporting(cls, operation: str) -> list[str]:
        return [name for name, adapter in Adapter.registry.items() if adapter.supports(operation)]

    def unsupported(self, operation: str) -> Unsupported:
        others = self.supporting(operation)
        reason = self.missing.get(operation, f"{self.spec.title} has no API for this")
        where = f"supported by: {', '.join(others)}" if others else "no provider supports it"
        return Unsupported(f"{reason} ({where})", provider=self.name)
