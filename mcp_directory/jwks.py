"""The issuer's signing keys (its JWKS), for checking access tokens (SPEC §10).

Where the keys are: `MCP_DIRECTORY_OAUTH_JWKS_URL`, else the `jwks_uri` of the issuer's metadata,
looked up where the MCP authorization spec tells clients to look (RFC 8414's
`/.well-known/oauth-authorization-server`, then OpenID Connect's `/.well-known/openid-configuration`);
the metadata must name the configured issuer exactly, as RFC 8414 §3.3 requires, and its `jwks_uri`
must be on the issuer's own origin (scheme, host and port): metadata that points anywhere else is
refused unless the operator names that URL in MCP_DIRECTORY_OAUTH_JWKS_URL. `serve` looks the URL
up at start-up (`IssuerKeys.locate`) and stops on such metadata (`IssuerMisconfigured`).

When to fetch them: on first use, again after `max_age` (a key the issuer withdrew stops working),
and when a token names a key id we do not hold (the issuer rotated its keys). Anyone can send a token
with a made-up `kid`, so fetches are drawn from a small budget (`FetchBudget`: a burst of 3, then one a
minute): garbage cannot make us hammer the issuer. Concurrent requests wanting a fetch share one.
A failed fetch keeps the keys we had.

Fetched with httpx2's async client, so nothing blocks the event loop and no thread is needed
(PyJWKClient fetches synchronously); PyJWT only turns the JSON into keys (`PyJWK`). Redirects
are not followed, as nowhere else in this server. A document is read at most `MAX_JWKS_BYTES`:
refused at once when its Content-Length says more, else streamed and dropped as soon as it runs
past (uncompressed: we ask for `identity`, so a small compressed body cannot expand in memory).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2 as httpx
import jwt

logger = logging.getLogger("mcp_directory.auth")

# Signature algorithms a token may use: public-key ones only. `none` and HS* (a shared secret;
# signed with our public key as the secret, the classic confusion attack) are refused outright.
ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES256K", "ES384", "ES512", "EdDSA"}
)
MAX_AGE_S = 3600.0
FETCH_TIMEOUT_S = 10.0
MAX_JWKS_BYTES = 1024 * 1024
DEFAULT_PORTS = {"https": 443, "http": 80}


class KeysUnavailable(Exception):
    """The issuer's keys could not be fetched (the message says why; it holds no token)."""


class IssuerMisconfigured(KeysUnavailable):
    """The issuer's metadata cannot be trusted as it is (another issuer, keys on another origin):
    an operator must act, so `serve` stops at start-up saying so."""


def origin(url: str) -> tuple[str, str, int] | None:
    """RFC 6454's origin of an http(s) URL: scheme, host and port (the default one made explicit,
    names in lower case); None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port if port is not None else DEFAULT_PORTS[scheme]


def metadata_urls(issuer: str) -> list[str]:
    """Where the issuer's metadata may be, in the order the MCP authorization spec gives clients:
    for an issuer with a path, the well-known part goes between host and path (RFC 8414 §3.1),
    with OpenID Connect's appended form last."""
    parts = urlsplit(issuer)
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    if not path:
        return [f"{origin}/.well-known/oauth-authorization-server", f"{origin}/.well-known/openid-configuration"]
    return [
        f"{origin}/.well-known/oauth-authorization-server{path}",
        f"{origin}/.well-known/openid-configuration{path}",
        f"{origin}{path}/.well-known/openid-configuration",
    ]


class FetchBudget:
    """A token bucket: `burst` fetches at once, then one every `every` seconds."""

    def __init__(self, burst: int = 3, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst, self.every, self.clock = burst, every, clock
        self.tokens = float(burst)
        self.updated = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) / self.every)
        self.updated = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class IssuerKeys:
    """The issuer's public keys by key id, fetched and refreshed as the module docstring says.

    `transport` is the test seam (an httpx transport), as for the provider clients.
    """

    def __init__(
        self,
        issuer: str,
        jwks_url: str | None = None,
        *,
        max_age: float = MAX_AGE_S,
        budget: FetchBudget | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.jwks_url = jwks_url
        self.discovered = False  # jwks_url came from the issuer's metadata, not the operator
        self.max_age = max_age
        self.budget = budget or FetchBudget(clock=clock)
        self.transport = transport
        self.clock = clock
        self.keys: dict[str | None, dict[str, Any]] = {}  # kid -> JWK, as the issuer published it
        self.fetched_at: float | None = None
        self.generation = 0  # counts successful fetches, so waiters see that someone else fetched
        self._lock = anyio.Lock()
        self._parsed: dict[tuple[str | None, str], jwt.PyJWK] = {}

    async def key(self, kid: str | None, alg: str) -> jwt.PyJWK | None:
        """The key `kid` as a key for `alg`, or None (unknown even after a refresh, refused for
        `alg`, or no keys to be had). A token without `kid` may use the issuer's only key."""
        stale = self.fetched_at is None or self.clock() - self.fetched_at > self.max_age
        if stale or self._find(kid) is None:
            await self._refresh(self.generation)
        jwk = self._find(kid)
        if jwk is None:
            return None
        kty, use, declared = jwk.get("kty"), jwk.get("use"), jwk.get("alg")
        if kty == "oct" or use not in (None, "sig") or (declared is not None and declared != alg):
            return None  # a shared secret, an encryption key, or a key bound to another algorithm
        cache_key = (jwk.get("kid"), alg)
        if cache_key not in self._parsed:
            try:
                self._parsed[cache_key] = jwt.PyJWK(jwk, algorithm=alg)
            except jwt.PyJWTError:  # the key does not fit the algorithm (an EC key for RS256, ...)
                return None
        return self._parsed[cache_key]

    def _find(self, kid: str | None) -> dict[str, Any] | None:
        if kid is None and len(self.keys) == 1:
            return next(iter(self.keys.values()))
        return self.keys.get(kid) if kid is not None else None

    async def _refresh(self, seen: int) -> None:
        async with self._lock:
            if self.generation != seen:
                return  # another request fetched while this one waited
            if not self.budget.take():
                logger.debug("not fetching the issuer's keys again yet (fetch budget spent)")
                return
            try:
                keys = await self._fetch()
            except KeysUnavailable as exc:
                logger.warning("cannot fetch the OAuth issuer's signing keys: %s", exc)
                return
            self.keys = keys
            self._parsed.clear()
            self.fetched_at = self.clock()
            self.generation += 1
            logger.info("fetched %d signing key(s) of the OAuth issuer", len(keys))

    async def locate(self) -> None:
        """Find where the keys are now, as `serve` starts: IssuerMisconfigured if the issuer's
        metadata is not to be trusted, KeysUnavailable if it cannot be read yet (then it is looked
        for again on first use)."""
        if self.jwks_url is None:
            async with self._client() as client:
                self.jwks_url = await self._discover(client)
                self.discovered = True

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, timeout=FETCH_TIMEOUT_S, follow_redirects=False)

    async def _fetch(self) -> dict[str | None, dict[str, Any]]:
        async with self._client() as client:
            if self.jwks_url is None:
                self.jwks_url = await self._discover(client)
                self.discovered = True
            try:
                document = await get_json(client, self.jwks_url)
            except KeysUnavailable:
                if self.discovered:  # the issuer may have moved its keys: look again next time
                    self.jwks_url = None
                raise
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise KeysUnavailable(f"{self.jwks_url} is not a JWK Set (no `keys` list)")
        usable = {k.get("kid"): k for k in keys if isinstance(k, dict) and isinstance(k.get("kid", ""), str)}
        if not usable:
            raise KeysUnavailable(f"{self.jwks_url} holds no keys")
        return usable

    async def _discover(self, client: httpx.AsyncClient) -> str:
        """The `jwks_uri` of the issuer's metadata (the first of `metadata_urls` that answers)."""
        tried = []
        for url in metadata_urls(self.issuer):
            try:
                metadata = await get_json(client, url)
            except KeysUnavailable as exc:
                tried.append(str(exc))
                continue
            if metadata.get("issuer") != self.issuer:
                raise IssuerMisconfigured(
                    f"{url} names the issuer {metadata.get('issuer')!r}, not {self.issuer!r}: set "
                    "MCP_DIRECTORY_OAUTH_ISSUER to exactly the issuer the authorization server names"
                )
            jwks_uri = metadata.get("jwks_uri")
            if not isinstance(jwks_uri, str) or origin(jwks_uri) is None:
                raise IssuerMisconfigured(f"{url} has no usable jwks_uri; set MCP_DIRECTORY_OAUTH_JWKS_URL")
            if origin(jwks_uri) != origin(self.issuer):
                raise IssuerMisconfigured(
                    f"{url} puts the issuer's keys at {jwks_uri[:200]!r}, which is not on the issuer's own "
                    f"origin ({origin_text(self.issuer)}): refused, since whoever controls that host could "
                    "sign tokens; if it really is your issuer's key set, set MCP_DIRECTORY_OAUTH_JWKS_URL to it"
                )
            return jwks_uri
        raise KeysUnavailable("no issuer metadata found (" + "; ".join(tried) + "); set MCP_DIRECTORY_OAUTH_JWKS_URL")


def origin_text(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def get_json(client: httpx.AsyncClient, url: str) -> dict[str, Any]:
    """A JSON object from `url`, read at most MAX_JWKS_BYTES, or KeysUnavailable saying what went wrong."""
    headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
    try:
        async with client.stream("GET", url, headers=headers) as response:
            if response.status_code != 200:
                raise KeysUnavailable(f"{url} answered HTTP {response.status_code}")
            body = await read_capped(response, url)
    except httpx.HTTPError as exc:
        raise KeysUnavailable(f"{url}: {type(exc).__name__}") from exc
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise KeysUnavailable(f"{url} did not answer JSON") from exc
    if not isinstance(document, dict):
        raise KeysUnavailable(f"{url} did not answer a JSON object")
    return document


async def read_capped(response: httpx.Response, url: str) -> bytes:
    """The body of a streamed response, refused without reading when its Content-Length is over
    MAX_JWKS_BYTES, and dropped as soon as more than that has arrived."""
    too_large = f"{url} answered more than {MAX_JWKS_BYTES} bytes, the most a key set or metadata may be"
    declared = response.headers.get("content-length", "0")
    if not (declared.isascii() and declared.isdigit()) or len(declared) > 12 or int(declared) > MAX_JWKS_BYTES:
        raise KeysUnavailable(f"{too_large} (Content-Length {declared[:20]}); not read")
    if response.headers.get("content-encoding", "identity").lower() != "identity":
        raise KeysUnavailable(f"{url} answered compressed although asked for identity")
    body = bytearray()
    async for chunk in response.aiter_bytes():  # not decoded: identity, as checked above
        body += chunk
        if len(body) > MAX_JWKS_BYTES:
            raise KeysUnavailable(f"{too_large}; stopped reading")
    return bytes(body)
