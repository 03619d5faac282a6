"""A provider reduced to data: the closed vocabulary every provider module fills in.

Cf. Nango's providers.yaml and Airbyte's low-code connectors: a base URL and the settings
that configure it, an auth header template, one of a few paginators, which headers say when
to come back, what "deactivate" means there. No provider is named here: `providers/<name>.py`
fills in a `ProviderSpec`, `providers/__init__.py` lists them, and everything else derives
from that list.

This module sits below `http.py` (which reads a spec to send requests) and above nothing of
ours but `errors`, so imports point one way: spec <- http <- providers <- directory <- tools.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .errors import Redactor

State = Any  # where an upstream page starts; JSON-serializable, it travels in cursors


# --- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """One environment variable of a provider (SPEC §2).

    `key` is how the adapter reads it (`credential` and `base_url` are the ones every provider
    has). A setting with a `default` is always set; `required=False` ones are optional extras.
    `secret` values are redacted everywhere; `url` values are checked to be plain http(s) URLs."""

    key: str
    env: str
    description: str
    default: str | None = None
    required: bool = True
    secret: bool = False
    url: bool = False


@dataclass(frozen=True)
class ProviderConfig:
    """A configured provider: its credential, base URL and any other settings' values."""

    name: str
    credential: str = field(repr=False)
    base_url: str
    extra: Mapping[str, str] = field(default_factory=dict, repr=False)  # other settings, by key
    secrets: tuple[str, ...] = field(default=(), repr=False)  # values of other secret settings

    def get(self, key: str) -> str | None:
        return {"credential": self.credential, "base_url": self.base_url, **self.extra}.get(key)


# --- paginators --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """What one upstream page says about the list: where the next page starts (None: this was
    the last), the total when the provider reports it, and the states of every later page when
    they can be known up front (then they can be fetched at once)."""

    next: State = None
    total: int | None = None
    ahead: list[State] | None = None


class Paginator:
    """How a provider pages a list. A state is `[position, size]`: where a page starts and how
    many records it was asked for, so a position can be re-read with another page size."""

    max_size: int = 100
    # Whether a page may be asked for with another size than the one before it: page numbers
    # and offsets may (the position is arithmetic), tokens may not (the token pins the page).
    resizable: bool = True

    def first(self, size: int) -> State:
        raise NotImplementedError

    def params(self, state: State) -> dict[str, Any]:
        raise NotImplementedError

    def follow(self, state: State, document: Any, count: int) -> Step:
        raise NotImplementedError

    def resume(self, state: State, skip: int, size: int) -> tuple[State, int]:
        """The same position (page `state`, `skip` records into it) in pages of `size`."""
        return state, skip


@dataclass(frozen=True)
class PageNumber(Paginator):
    """`?page[number]=N&page[size]=S`; the document says the next page number and the count of pages."""

    number_param: str
    size_param: str
    next_page: Callable[[Any], int | None]
    page_count: Callable[[Any], int | None] = lambda document: None
    total: Callable[[Any], int | None] = lambda document: None
    max_size: int = 100

    def first(self, size: int) -> State:
        return [1, size]

    def params(self, state: State) -> dict[str, Any]:
        return {self.number_param: state[0], self.size_param: state[1]}

    def follow(self, state: State, document: Any, count: int) -> Step:
        number, size = state
        following = self.next_page(document)
        if following is None:
            return Step(None, self.total(document))
        pages = self.page_count(document)
        ahead = [[n, size] for n in range(number + 1, pages + 1)] if isinstance(pages, int) else None
        return Step([following, size], self.total(document), ahead)

    def resume(self, state: State, skip: int, size: int) -> tuple[State, int]:
        number, was = state
        offset = (number - 1) * was + skip
        return [offset // size + 1, size], offset % size


@dataclass(frozen=True)
class Offset(Paginator):
    """`?offset=O&limit=S`; the document says the next offset and the total."""

    offset_param: str
    limit_param: str
    next_offset: Callable[[Any], int | None]
    total: Callable[[Any], int | None] = lambda document: None
    max_size: int = 100

    def first(self, size: int) -> State:
        return [0, size]

    def params(self, state: State) -> dict[str, Any]:
        return {self.offset_param: state[0], self.limit_param: state[1]}

    def follow(self, state: State, document: Any, count: int) -> Step:
        offset, size = state
        following, total = self.next_offset(document), self.total(document)
        if following is None:
            return Step(None, total)
        # Offsets are plain arithmetic once the total is known, so later pages can be fetched at once.
        ahead = [[o, size] for o in range(offset + size, total, size)] if isinstance(total, int) else None
        return Step([following, size], total, ahead if following == offset + size else None)

    def resume(self, state: State, skip: int, size: int) -> tuple[State, int]:
        return [state[0] + skip, size], 0


@dataclass(frozen=True)
class Token(Paginator):
    """`?next_token=T&limit=S`; the document carries the token of the next page. Strictly sequential."""

    token_param: str
    limit_param: str
    next_token: Callable[[Any], str | None]
    total: Callable[[Any], int | None] = lambda document: None
    max_size: int = 100
    resizable: bool = False

    def first(self, size: int) -> State:
        return [None, size]

    def params(self, state: State) -> dict[str, Any]:
        token, size = state
        return {self.limit_param: size, **({self.token_param: token} if token else {})}

    def follow(self, state: State, document: Any, count: int) -> Step:
        token = self.next_token(document)
        return Step([token, state[1]] if token else None, self.total(document))


@dataclass(frozen=True)
class Whole(Paginator):
    """A list the provider returns whole, in one answer."""

    resizable: bool = False

    def first(self, size: int) -> State:
        return None

    def params(self, state: State) -> dict[str, Any]:
        return {}

    def follow(self, state: State, document: Any, count: int) -> Step:
        return Step(None, count)


WHOLE = Whole()


@dataclass(frozen=True)
class UntilEmpty(Paginator):
    """`?startAt=O&maxResults=S` over a list whose answer says nothing of what follows (a bare
    JSON array: no total, no next link). The next page starts after the records this one
    returned, and only an empty page ends the list: a short page does not, since a provider may
    cap the page size below what was asked, and stopping there would shorten the list silently.

    A position is never re-read by arithmetic (`resume` keeps the page and skips into it), so a
    list filtered after the fetch (records the directory does not show) still resumes exactly."""

    offset_param: str
    limit_param: str
    max_size: int = 100

    def first(self, size: int) -> State:
        return [0, size]

    def params(self, state: State) -> dict[str, Any]:
        return {self.offset_param: state[0], self.limit_param: state[1]}

    def follow(self, state: State, document: Any, count: int) -> Step:
        offset, size = state
        return Step([offset + count, size]) if count else Step(None)


def whole_number(value: Any) -> int | None:
    """An integer from a provider's document, or None (a boolean is no count)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def number_at(key: str) -> Callable[[Any], int | None]:
    """A reader of `document[key]` as a whole number: a total, a count of pages."""
    return lambda document: whole_number(document.get(key)) if isinstance(document, dict) else None


# --- waiting ------------------------------------------------------------------------------------


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


# --- the spec -----------------------------------------------------------------------------------


# What deactivate_user does, by `ProviderSpec.user_delete`, in one clause every sentence that says
# it uses (tool descriptions, plans, the human's confirmation).
DEACTIVATION_EFFECTS: dict[str, str] = {
    "deactivated": "the account is disabled (it stays, inactive, and can be re-enabled)",
    "suspended": "the account's access is suspended, not deleted (it stays, inactive, and can be restored)",
    "deleted": "the account is permanently deleted (there is no deactivation there)",
}


@dataclass(frozen=True)
class ProviderSpec:
    """Everything about a provider that is data, not code."""

    name: str
    title: str
    settings: tuple[Setting, ...]  # its environment variables; `credential` and `base_url` among them
    api_root: str  # appended to the base URL; the provider's documented paths go below it
    auth_scheme: str  # Authorization: <auth_scheme> <credential>
    content_type: str
    paginator: Paginator  # how its user list pages (other lists may page otherwise)
    page_size: int  # records asked for per upstream page during a walk
    rate_limit_headers: tuple[str, ...]
    requests_per_minute: int | None
    proxy_prefix: str  # proxy_request paths must start with this (the documented API root), or a proxy_roots one
    concurrent_pages: int  # upstream pages fetched at once where the pagination allows it
    # What "deactivate" means there: "deactivated" (the account stays, disabled), "suspended"
    # (the account stays; its access is suspended and can be restored) or "deleted".
    user_delete: Literal["deactivated", "suspended", "deleted"]
    ping: str  # one cheap authenticated GET whose answer has the provider's envelope (for `check`)
    # The human message in the provider's error body (parsed JSON) -> text, or None.
    error_text: Callable[[Any], str | None] = field(default=lambda data: None)
    # How the provider says when to come back beyond Retry-After: (headers, now) -> seconds.
    retry_after_from: Callable[[Mapping[str, str], float], float | None] = field(default=lambda headers, now: None)
    # Statuses whose meaning differs from HTTP's, as contract error codes (e.g. 402: "forbidden").
    statuses: Mapping[int, str] = field(default_factory=dict)
    # Secrets derived from the settings' values (by key), redacted like the secret settings
    # themselves: e.g. the base64 of a Basic `email:token` header, which holds the token.
    derived_secrets: Callable[[Mapping[str, str]], tuple[str, ...]] = field(default=lambda values: ())
    # Further roots proxy_request paths may start with, besides `proxy_prefix` (a provider made of
    # several APIs; its adapter's `proxy_route` says which API each goes to).
    proxy_roots: tuple[str, ...] = ()
    # Said with every create_user result: what the provider's API cannot set at creation.
    create_note: str | None = None
    # Whether its API makes a group member an admin of the group (add_group_member role admin);
    # sync_group_members adds a source admin as a plain member where it cannot.
    group_admins: bool = True
    # Ways to sign in, each a set of setting keys that must all be set (the settings in them are
    # not `required`): configured when one of them is complete (Okta: an API token, or a service
    # app's client id and private key). Empty: the `credential` setting is the one way.
    sign_in: tuple[tuple[str, ...], ...] = ()
    # A start-up warning about how it is configured (settings' values by key), or None: Okta's API
    # token dies with the admin who made it.
    caution: Callable[[Mapping[str, str]], str | None] = field(default=lambda values: None)
    # An identity provider: its accounts say who still works here (it can be the source of truth, SPEC §14).
    identity: bool = False
    # Read-only: the provider has no write tool, and proxy_request sends it GET only, writes allowed or not.
    read_only: bool = False
    # The contract code the provider's own error code in a body means, where it says more than the
    # HTTP status (parsed JSON -> code such as "rate_limited", or None).
    error_code: Callable[[Any], str | None] = field(default=lambda data: None)

    @property
    def deactivation(self) -> str:
        """What deactivate_user does here, as a clause (DEACTIVATION_EFFECTS)."""
        return DEACTIVATION_EFFECTS[self.user_delete]

    def setting(self, key: str) -> Setting:
        return next(s for s in self.settings if s.key == key)

    def required_env(self) -> list[str]:
        """The variables an operator must set to configure it (those without a default); a
        provider with several ways to sign in ends with one entry naming them."""
        needed = [s.env for s in self.settings if s.required and s.default is None]
        if self.sign_in:
            ways = [" and ".join(self.setting(key).env for key in way) for way in self.sign_in]
            needed.append(f"{' or '.join(ways)}" if len(ways) == 1 else f"{ways[0]} (or {' or '.join(ways[1:])})")
        return needed

    def code_of(self, body: bytes) -> str | None:
        """The contract code the provider's error body names (`error_code`), or None."""
        try:
            data = json.loads(body)
        except ValueError:
            return None
        return self.error_code(data) if isinstance(data, dict) else None

    def upstream_message(self, body: bytes, redact: Redactor | None = None) -> str | None:
        """What the provider said in an error body, for the agent: its own field, else the text.
        Redacted before it is cut, so a cut cannot split a reflected credential."""
        clean = redact or (lambda text: text)
        try:
            data = json.loads(body)
        except ValueError:
            return clean(body.decode("utf-8", "replace")).strip()[:200] or None
        text = self.error_text(data) if isinstance(data, dict) else None
        return clean(text)[:500] if text else None

    def retry_after(self, headers: Mapping[str, str], now: float | None = None, *, status: int = 429) -> float | None:
        """Seconds the provider asked us to wait before trying again, if it said. Its own
        rate-limit headers count only on a 429 (some send them on every answer)."""
        now = time.time() if now is None else now
        standard = standard_retry_after(headers, now)
        if standard is not None or status != 429:
            return standard
        return self.retry_after_from(headers, now)
