"""The layer every simulated provider shares: options, request log, rate limiter and the gate.

A provider app is a Starlette app whose every route is wrapped by one `Gate`. The gate records
the request, checks the token, applies the rate limiter, runs any fault hooks, calls the handler,
and lets the provider's `Dialect` render errors and stamp its headers on the response. Handlers
only speak the happy path and raise `SimError` for the rest, so a provider module holds nothing
but its own wire format.

Growth points: `Gate.hooks` (async callables that may answer a request before its handler: fault
injection, latency, malformed bodies) and the `bucket` a dialect assigns to a method (separate
read and write limits).
"""

from __future__ import annotations

import json
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

Handler = Callable[[Request], Awaitable[Response]]
Hook = Callable[[Request], Awaitable[Response | None]]

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass(frozen=True)
class SimOptions:
    """How one simulated provider behaves. `None` page sizes mean the provider's own default/max.

    `rate_limit`, when set, enables a real sliding-window limiter: more than `rate_limit` requests
    within `rate_window_s` seconds get a 429 in the provider's own shape.
    """

    token: str
    page_size_default: int | None = None
    page_size_max: int | None = None
    rate_limit: int | None = None
    rate_window_s: float = 60.0


@dataclass
class RequestRecord:
    """One request as the simulator received it (for assertions in tests)."""

    method: str
    path: str
    query: dict[str, str]
    query_items: list[tuple[str, str]]
    body: Any
    raw_body: bytes
    headers: dict[str, str]


class SimError(Exception):
    """Raised by handlers; the provider's dialect renders it in the provider's error shape."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


@dataclass(frozen=True)
class LimitState:
    """The limiter's view of a bucket right after a request was counted (or refused)."""

    allowed: bool
    limit: int
    used: int
    remaining: int
    reset_epoch: int
    retry_after_s: int


class RateLimiter:
    """Sliding-window counter per bucket. When `enforce` is false it only counts (for headers)."""

    def __init__(
        self,
        limit: int,
        window_s: float,
        *,
        enforce: bool,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.enforce = enforce
        self._clock = clock
        self._wall = wall
        self._hits: dict[str, deque[float]] = {}

    def _window(self, bucket: str) -> deque[float]:
        hits = self._hits.setdefault(bucket, deque())
        now = self._clock()
        while hits and now - hits[0] >= self.window_s:
            hits.popleft()
        return hits

    def _state(self, hits: deque[float], allowed: bool) -> LimitState:
        now = self._clock()
        wait = self.window_s - (now - hits[0]) if hits else self.window_s
        wait = max(wait, 0.0)
        return LimitState(
            allowed=allowed,
            limit=self.limit,
            used=len(hits),
            remaining=max(self.limit - len(hits), 0),
            reset_epoch=int(self._wall() + wait + 0.999),
            retry_after_s=max(int(wait + 0.999), 1),
        )

    def hit(self, bucket: str) -> LimitState:
        """Count one request in `bucket`, unless the bucket is full and enforced."""
        hits = self._window(bucket)
        if self.enforce and len(hits) >= self.limit:
            return self._state(hits, allowed=False)
        hits.append(self._clock())
        return self._state(hits, allowed=True)

    def peek(self, bucket: str) -> LimitState:
        return self._state(self._window(bucket), allowed=True)


class Dialect(Protocol):
    """What a provider contributes to the gate: its auth scheme, error shapes and headers.

    Every method gets the request; `request.state.request_id` and `request.state.started`
    (perf_counter) are set by the gate before any of them runs.
    """

    auth_scheme: str
    default_rate_limit: int

    def error(self, request: Request, status: int, message: str, **extra: Any) -> Response: ...

    def unauthorized(self, request: Request) -> Response: ...

    def too_many_requests(self, request: Request, state: LimitState) -> Response: ...

    def decorate(self, request: Request, response: Response, state: LimitState) -> None: ...

    def bucket(self, method: str) -> str: ...


def json_response(payload: Any, status: int = 200, media_type: str = "application/json") -> Response:
    """Compact UTF-8 JSON (non-ASCII kept as is) with an exact Content-Type."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, status_code=status, media_type=media_type)


def record_of(request: Request, raw: bytes) -> RequestRecord:
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = None
    items = list(request.query_params.multi_items())
    return RequestRecord(
        method=request.method,
        path=request.url.path,
        query=dict(items),
        query_items=items,
        body=body,
        raw_body=raw,
        headers={k.lower(): v for k, v in request.headers.items()},
    )


@dataclass
class Gate:
    """Wraps every endpoint of one provider app (see the module docstring)."""

    options: SimOptions
    dialect: Dialect
    requests: list[RequestRecord] = field(default_factory=list)
    hooks: list[Hook] = field(default_factory=list)
    limiter: RateLimiter | None = None

    def __post_init__(self) -> None:
        if self.limiter is None:
            self.limiter = RateLimiter(
                self.options.rate_limit or self.dialect.default_rate_limit,
                self.options.rate_window_s,
                enforce=self.options.rate_limit is not None,
            )

    def authorized(self, request: Request) -> bool:
        expected = f"{self.dialect.auth_scheme} {self.options.token}"
        return request.headers.get("authorization", "").strip() == expected

    def wrap(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            request.state.started = time.perf_counter()
            request.state.request_id = str(uuid.uuid4())
            self.requests.append(record_of(request, await request.body()))
            bucket = self.dialect.bucket(request.method)
            response: Response | None = None
            if not self.authorized(request):
                state = self.limiter.peek(bucket)
                response = self.dialect.unauthorized(request)
            else:
                state = self.limiter.hit(bucket)
                if not state.allowed:
                    response = self.dialect.too_many_requests(request, state)
            for hook in self.hooks if response is None else ():
                response = await hook(request)
                if response is not None:
                    break
            if response is None:
                try:
                    response = await handler(request)
                except SimError as exc:
                    response = self.dialect.error(request, exc.status, exc.message, **exc.extra)
            self.dialect.decorate(request, response, state)
            return response

        return endpoint

    def route(self, path: str, handler: Handler, methods: list[str] | None = None) -> Route:
        return Route(path, self.wrap(handler), methods=methods or ["GET"])

    def fallback_routes(self) -> list[Route]:
        """Unknown paths still pass the gate and answer 404 in the provider's shape."""

        async def not_found(request: Request) -> Response:
            raise SimError(404, f"No route for {request.method} {request.url.path}")

        return [
            Route("/", self.wrap(not_found), methods=ALL_METHODS),
            Route("/{rest:path}", self.wrap(not_found), methods=ALL_METHODS),
        ]


def base_url(request: Request) -> str:
    """scheme://host[:port] of the request as the client addressed it."""
    url = request.url
    return f"{url.scheme}://{url.netloc}"


def page_url(request: Request, drop: set[str], extra: list[tuple[str, Any]]) -> str:
    """The request's own URL with `drop` params removed and `extra` appended (in order)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in drop]
    query = urlencode(kept + [(k, str(v)) for k, v in extra])
    return f"{base_url(request)}{request.url.path}?{query}"


def elapsed_s(request: Request) -> float:
    """Seconds since the gate received `request` (Opsgenie's `took`)."""
    return time.perf_counter() - request.state.started


def int_param(request: Request, name: str, default: int | None) -> int | None:
    """An integer query parameter; raises ValueError when present and not an integer."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    return int(raw)
