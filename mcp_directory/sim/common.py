"""The layer every simulated provider shares: options, request log, the gate, JSON helpers.

A provider app is a `SimApp` (Starlette) whose every route is wrapped by one `Gate`. The gate
counts the request (and records it, when the options ask for a request log), asks the live
`FaultPlan` (faults.py) what to inject, checks the token, applies the rate limiter (limiter.py),
runs any hooks, calls the handler, and lets the provider's `Dialect` render errors and stamp its
headers on the response — injected errors included, so a fault looks exactly like the provider's
own. Handlers only speak the happy path and raise `SimError` for the rest, so a provider module
holds nothing but its own wire format.

Growth points: `Gate.hooks` (async callables that may answer a request before its handler) and
the `bucket` a dialect assigns to a method (separate read and write limits).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, overload
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mcp_directory.sim.faults import (
    DROP_SCOPE_KEY,
    NO_FAULT,
    ConnectionDropped,
    Decision,
    FaultInjector,
    FaultPlan,
    SimApp,
    malformed,
)
from mcp_directory.sim.limiter import LimitState, RateLimiter

__all__ = ["FaultPlan", "Gate", "LimitState", "RateLimiter", "RequestRecord", "SimError", "SimOptions"]

Handler = Callable[[Request], Awaitable[Response]]
Hook = Callable[[Request], Awaitable[Response | None]]

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass(frozen=True)
class SimOptions:
    """How one simulated provider behaves. `None` page sizes mean the provider's own default/max.

    `rate_limit`, when set, enables a real sliding-window limiter: more than `rate_limit` requests
    within `rate_window_s` seconds get a 429 in the provider's own shape, whose headers advertise
    when the window frees a slot. `faults` injects errors, latency, drops and malformed bodies
    (faults.py); change it on a live app with `app.state.gate.faults = FaultPlan(...)`.
    """

    token: str
    page_size_default: int | None = None
    page_size_max: int | None = None
    rate_limit: int | None = None
    rate_window_s: float = 60.0
    faults: FaultPlan | None = None
    # Keep every request as a `RequestRecord` in `gate.requests` (`app.state.requests`) for a test
    # or benchmark to read. Off, that log is None and only `gate.received` counts requests: the
    # demo serves for days, and each record holds a request's headers and body.
    record_requests: bool = False


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
    fault: str | None = None  # injected: "429", "500", "502", "503", "drop" or "malformed"
    delay_s: float = 0.0  # injected latency


class SimError(Exception):
    """Raised by handlers; the provider's dialect renders it in the provider's error shape."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


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
    requests: list[RequestRecord] | None = field(default=None, init=False)  # when options.record_requests
    received: int = field(default=0, init=False)  # requests that reached the gate, recorded or not
    hooks: list[Hook] = field(default_factory=list)
    limiter: RateLimiter | None = None
    _injector: FaultInjector | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.limiter is None:
            self.limiter = RateLimiter(
                self.options.rate_limit or self.dialect.default_rate_limit,
                self.options.rate_window_s,
                enforce=self.options.rate_limit is not None,
            )
        self.faults = self.options.faults
        if self.options.record_requests:
            self.requests = []

    @property
    def faults(self) -> FaultPlan | None:
        """The live fault plan; assigning one restarts its seeded sequence, None turns faults off."""
        return self._injector.plan if self._injector else None

    @faults.setter
    def faults(self, plan: FaultPlan | None) -> None:
        self._injector = FaultInjector(plan) if plan is not None else None

    def authorized(self, request: Request) -> bool:
        expected = f"{self.dialect.auth_scheme} {self.options.token}"
        return request.headers.get("authorization", "").strip() == expected

    async def answer(self, request: Request, handler: Handler, fault: Decision) -> Response:
        """Auth, limiter, hooks and handler (or the injected error), with the provider's headers."""
        bucket = self.dialect.bucket(request.method)
        limiter = self.limiter
        assert limiter is not None  # __post_init__ made one
        response: Response | None = None
        if fault.kind == "error":  # injected at the edge: no auth, not counted by the limiter
            assert self._injector is not None and fault.status is not None  # only an injector decides an error
            if fault.status == 429:
                state = limiter.throttled(self._injector.plan.retry_after_s)
                response = self.dialect.too_many_requests(request, state)
            else:
                state = limiter.peek(bucket)
                response = self.dialect.error(request, fault.status, "Injected fault: upstream unavailable")
        elif not self.authorized(request):
            state = limiter.peek(bucket)
            response = self.dialect.unauthorized(request)
        else:
            state = limiter.hit(bucket)
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

    def wrap(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            request.state.started = time.perf_counter()
            request.state.request_id = str(uuid.uuid4())
            self.received += 1
            raw = await request.body()  # read once here, for the log and for the handlers
            injector = self._injector
            fault = injector.decide(request.method, request.url.path) if injector else NO_FAULT
            if self.requests is not None:
                record = record_of(request, raw)
                record.fault, record.delay_s = fault.label, fault.delay_s
                self.requests.append(record)
            plan = injector.plan if injector else None
            # A fault other than NO_FAULT (no delay, no kind) comes from an injector, so `plan` is set.
            if plan is not None and fault.delay_s and plan.latency_when == "before_handler":
                await asyncio.sleep(fault.delay_s)
            if plan is not None and fault.kind == "drop" and plan.drop_when == "before_handler":
                self.drop(request)
            response = await self.answer(request, handler, fault)
            if plan is not None and fault.delay_s and plan.latency_when == "after_handler":
                await asyncio.sleep(fault.delay_s)
            if fault.kind == "drop":  # after_handler: the handler ran (a write is applied)
                self.drop(request)
            return malformed(response) if fault.kind == "malformed" else response

        return endpoint

    @staticmethod
    def drop(request: Request) -> None:
        request.scope[DROP_SCOPE_KEY] = True
        raise ConnectionDropped(f"{request.method} {request.url.path}")

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
    started: float = request.state.started
    return time.perf_counter() - started


@overload
def int_param(request: Request, name: str, default: int) -> int: ...
@overload
def int_param(request: Request, name: str, default: None) -> int | None: ...
def int_param(request: Request, name: str, default: int | None) -> int | None:
    """An integer query parameter; raises ValueError when present and not an integer."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    return int(raw)


async def json_body(request: Request, *, required: bool = True) -> Any:
    """The request's JSON body (the gate has read it already); SimError 400 when it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        if required:
            raise SimError(400, "Request body is required")
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise SimError(400, f"Invalid JSON body: {exc}") from exc


class SortedView:
    """A table's values sorted once and reused until the table changes (writes bump `version`).

    Keeps big directories cheap to page: a request slices the cached list instead of sorting
    every record. A change in the table's size invalidates it too (records added from outside).
    """

    def __init__(self, key: Callable[[dict[str, Any]], Any]) -> None:
        self.key = key
        self._stamp: tuple[int, int, int] | None = None
        self._items: list[dict[str, Any]] = []

    def get(self, table: dict[Any, dict[str, Any]], version: int) -> list[dict[str, Any]]:
        stamp = (id(table), len(table), version)
        if stamp != self._stamp:
            self._items = sorted(table.values(), key=self.key)
            self._stamp = stamp
        return self._items


def assemble(gate: Gate, routes: list[Route], *, api: Any, writes: Any) -> SimApp:
    """A provider's app: its routes, then the gate's fallbacks (404 in the provider's shape);
    the gate, its request log (None unless the options record requests), the read and the write
    handlers on `app.state`."""
    app = SimApp(routes=[*routes, *gate.fallback_routes()])
    app.state.gate = gate
    app.state.requests = gate.requests
    app.state.api = api
    app.state.writes = writes
    return app
