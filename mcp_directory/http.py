"""The one HTTP path to a provider: auth, base URL, JSON decoding and error mapping.

`ApiClient` takes an httpx transport, which is the test seam: the simulated providers
plug in here through `httpx2.ASGITransport`, real deployments use the default pool.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urlsplit

import anyio
import httpx2 as httpx
import pydantic_core

from . import __version__
from .errors import (
    InvalidArgument,
    Redactor,
    UpstreamError,
    from_status,
    from_transport,
)
from .inflight import InFlight
from .options import ClientOptions
from .retry import RETRY_STATUSES, RETRYABLE_METHODS, MalformedBody, decide
from .spec import ProviderSpec
from .throttle import Budget, Throttle

USER_AGENT = f"mcp-directory/{__version__}"
log = logging.getLogger("mcp_directory.http")


class SignIn(Protocol):
    """An Authorization header that changes (an OAuth access token): asked for before each
    request; a 401 answered to it makes the client `forget` it and try once more with a new one."""

    async def authorization(self) -> str: ...

    def forget(self, authorization: str) -> None: ...


class ApiClient:
    """One API of a provider: its root URL and the one credential sent there.

    By default the provider's spec says both (`Authorization: <auth_scheme> <credential>` below
    `base_url + api_root`). A provider made of several APIs (other hosts, other credentials)
    gives each its own client with an explicit `authorization` header value and `api_root`, and
    may share one `throttle` among them (one request budget per provider), and one `inflight`
    (identical GETs under way go upstream once, `inflight.py`; a write through any of them
    starts a new era for all)."""

    def __init__(
        self,
        spec: ProviderSpec,
        base_url: str,
        credential: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        options: ClientOptions | None = None,
        authorization: str | None = None,
        api_root: str | None = None,
        throttle: Budget | None = None,
        sign_in: SignIn | None = None,
        inflight: InFlight | None = None,
    ) -> None:
        self.spec = spec
        self.provider = spec.name
        self.base_url = base_url.rstrip("/")
        self.api_url = self.base_url + (spec.api_root if api_root is None else api_root)
        self.options = options or ClientOptions()
        rate = self.options.requests_per_minute.get(spec.name, spec.requests_per_minute)
        self.throttle: Budget = throttle or Throttle(
            rate, provider=spec.name, patience=self.options.retry.max_total_wait
        )
        # "" sends no Authorization header (a token endpoint); `sign_in` sets it per request
        self._authorization = f"{spec.auth_scheme} {credential}" if authorization is None else authorization
        self.sign_in = sign_in
        # for upstream error text, before it is cut
        self._redact = Redactor([credential, self._authorization.partition(" ")[2]])
        self.inflight = inflight or InFlight()
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None or self._client.is_closed:
            o = self.options
            self._client = httpx.AsyncClient(
                base_url=self.api_url,
                transport=self._transport,
                timeout=httpx.Timeout(o.read_timeout, connect=o.connect_timeout),
                limits=httpx.Limits(max_connections=o.max_connections, max_keepalive_connections=o.max_connections),
                headers={
                    **({"Authorization": self._authorization} if self._authorization else {}),
                    "Accept": self.spec.content_type,
                    "User-Agent": USER_AGENT,
                },
                follow_redirects=False,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send a request, retrying as `retry.decide` says, and return the last response,
        whatever its status. `path` is below the API URL, or an absolute URL already
        checked to be on it (the proxy). Never shared with another caller's request."""
        if method in RETRYABLE_METHODS:
            response, _ = await self._exchange(method, path, params, json_body, content, idempotent, decode=False)
            return response
        with self.inflight.writing():
            response, _ = await self._exchange(method, path, params, json_body, content, idempotent, decode=False)
        return response

    async def _exchange(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        json_body: Any,
        content: bytes | None,
        idempotent: bool | None,
        *,
        decode: bool,
        content_type: str | None = None,
    ) -> tuple[httpx.Response, Any]:
        """The retry loop. Only reads are resent by default: a write is sent again only when
        the provider cannot have received it (the connection never opened). With `decode`, a
        success whose body is not JSON counts as a failed attempt too."""
        what = f"{method} {urlsplit(path).path}"  # for messages: never the query or host
        if json_body is not None:
            content = json.dumps(json_body, ensure_ascii=False).encode()
        headers = {"Content-Type": content_type or self.spec.content_type} if content is not None else {}
        if idempotent is None:
            idempotent = method in RETRYABLE_METHODS
        attempt, waited, signed_again = 0, 0.0, False
        while True:
            attempt += 1
            await self.throttle.acquire()
            outcome: httpx.Response | Exception
            data: Any = None
            if self.sign_in is not None:
                headers["Authorization"] = await self.sign_in.authorization()
            try:
                outcome = await self._http().request(method, path, params=params, content=content, headers=headers)
                if self.sign_in is not None and outcome.status_code == 401 and not signed_again:
                    # refused unread, so safe to send again, once, with a new token (SPEC §14)
                    self.sign_in.forget(headers["Authorization"])
                    signed_again = True
                    attempt -= 1
                    continue
                if decode and outcome.status_code < 400 and outcome.content:
                    data = _json(outcome)
            except (httpx.TransportError, MalformedBody) as exc:
                outcome = exc
            asked = None
            if isinstance(outcome, httpx.Response) and outcome.status_code in RETRY_STATUSES:
                asked = self.spec.retry_after(outcome.headers, status=outcome.status_code)
                if asked:  # the provider asked for a pause: no request to it leaves before then (any replica's)
                    await self.throttle.hold(asked)
            decision = decide(
                outcome, attempt, idempotent=idempotent, asked=asked, waited=waited, policy=self.options.retry
            )
            if not decision.retry:
                if isinstance(outcome, MalformedBody):
                    raise UpstreamError(
                        f"{self.provider} sent a body that is not JSON for {what}; retry later",
                        provider=self.provider,
                        status=outcome.status,
                    ) from outcome
                if isinstance(outcome, Exception):
                    raise from_transport(self.provider, what, outcome, maybe_applied=not idempotent) from outcome
                return outcome, data
            log.info(
                "retrying %s %s in %.2fs: %s (attempt %d)", self.provider, what, decision.wait, decision.reason, attempt
            )
            await anyio.sleep(decision.wait)
            waited += decision.wait

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
        form: dict[str, str] | None = None,
    ) -> Any:
        """Send one request; an error status raises the contract's error, a success is its decoded JSON.
        `idempotent=True` marks a read sent with another method (a POST that only reads) as safe
        to resend; by default only GET, HEAD and OPTIONS are. `form` is sent form-encoded."""
        return (await self.answer(method, path, params=params, json_body=json_body, idempotent=idempotent, form=form))[
            1
        ]

    async def answer(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        idempotent: bool | None = None,
        form: dict[str, str] | None = None,
    ) -> tuple[httpx.Response, Any]:
        """`call`, returning the response (its headers: a Link header pages some lists) with the JSON."""
        if method == "GET" and json_body is None and form is None:
            # Identical GETs under way go upstream once; each caller decodes its own copy.
            key = (self.api_url, self._authorization, path, repr(sorted((params or {}).items())))
            exchange = lambda: self._exchange(method, path, params, None, None, idempotent, decode=True)  # noqa: E731
            response, data = await self.inflight.share(key, exchange, _own_copy)
        else:
            content = urlencode(form).encode() if form is not None else None
            kind = "application/x-www-form-urlencoded" if form is not None else None
            with self.inflight.writing():  # a POST that only reads too: it costs only the sharing
                response, data = await self._exchange(
                    method, path, params, json_body, content, idempotent, decode=True, content_type=kind
                )
        if 300 <= response.status_code < 400:  # never followed (SPEC §6): the API does not redirect
            raise UpstreamError(
                f"{self.provider} answered {method} {urlsplit(path).path} with a redirect ({response.status_code}), "
                "which is not followed; check the provider's base URL (region, instance, http vs https)",
                provider=self.provider,
                status=response.status_code,
            )
        if response.status_code >= 400:
            raise from_status(
                self.provider,
                response.status_code,
                self.spec.upstream_message(response.content, self._redact),
                what=f"{method} {path}",
                retry_after=self.spec.retry_after(response.headers, status=response.status_code),
                statuses=self.spec.statuses,
                code=self.spec.code_of(response.content),
            )
        return response, data

    async def write(self, method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
        """Send a write and return its decoded body (None for an empty one)."""
        return await self.call(method, path, params=params, json_body=body)

    async def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET a JSON document; parameters that are None are left out."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        return await self.call("GET", path, params=clean)

    async def get_with_headers(self, path: str, params: dict[str, Any] | None = None) -> tuple[Any, httpx.Headers]:
        """`get`, with the answer's headers (where a provider pages by a Link header)."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        response, data = await self.answer("GET", path, params=clean)
        return data, response.headers


def _own_copy(exchanged: tuple[httpx.Response, Any]) -> tuple[httpx.Response, Any]:
    """A caller's own copy of a shared answer: the body decoded again (faster than a deep copy)."""
    response, data = exchanged
    return response, (None if data is None else _json(response))


def _json(response: httpx.Response) -> Any:
    # pydantic_core's parser (Rust) is several times faster than json.loads on big pages.
    try:
        return pydantic_core.from_json(response.content)
    except ValueError as exc:
        raise MalformedBody(response.status_code) from exc


def segment(value: str) -> str:
    """One path segment from an agent-supplied id: percent-encoded, never `.` or `..`."""
    if value in {"", ".", ".."} or any(ord(c) < 0x20 for c in value):
        raise InvalidArgument(f"{value!r} is not a valid id")
    return quote(value, safe="")
