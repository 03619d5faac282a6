"""Fault injection for the simulated providers: injected errors, latency, dropped connections and
malformed bodies, decided per request by a seeded `random.Random`.

A `FaultPlan` says what to inject; the `Gate` (common.py) asks a `FaultInjector` built from it for
one `Decision` per request and carries it out. Switch faults on a live app with
`app.state.gate.faults = FaultPlan(...)` (a fresh injector, so the seeded sequence restarts) and off
with `= None`. Every injected fault is noted on the request's `RequestRecord.fault`.

A drop closes the connection without a response. Starlette would turn the raised exception into
a 500 first, so `SimApp` (the Starlette app every provider builds) swallows what the app sends
after a drop and then:
- on a real uvicorn port closes the socket, so the client sees
  `httpx2.RemoteProtocolError("Server disconnected without sending a response.")`;
- in process (httpx2.ASGITransport, which re-raises app exceptions) raises that same
  `httpx2.RemoteProtocolError`, so both paths surface as the same `httpx2.TransportError`.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2
from starlette.applications import Starlette
from starlette.responses import Response

Timing = Literal["before_handler", "after_handler"]
DROP_SCOPE_KEY = "mcp_directory.sim.dropped"
DROP_MESSAGE = "Server disconnected without sending a response."


@dataclass(frozen=True)
class FaultPlan:
    """What to inject, as fractions of the requests the plan applies to.

    `error_rate`, `drop_rate` and `malformed_rate` are exclusive bands of one draw (their sum is at
    most 1). Errors are spread evenly over `statuses`; an injected 429 carries the provider's own
    429 body and headers advertising `retry_after_s` (keep it small so tests stay fast). Latency
    (`latency_s` plus up to `jitter_s`) applies to every matching request. `drop_when` /
    `latency_when` = "after_handler" runs the handler first (a write is applied), then loses or
    delays the response. `methods` (None = all) and `paths` (regex searched in the path) choose
    the requests; `max_faults` stops injecting after that many errors/drops/malformed bodies.
    """

    error_rate: float = 0.0
    statuses: tuple[int, ...] = (429, 500, 502, 503)
    drop_rate: float = 0.0
    malformed_rate: float = 0.0
    latency_s: float = 0.0
    jitter_s: float = 0.0
    seed: int | None = 0
    methods: frozenset[str] | None = None
    paths: str | None = None
    drop_when: Timing = "before_handler"
    latency_when: Timing = "before_handler"
    retry_after_s: int = 1
    max_faults: int | None = None

    def __post_init__(self) -> None:
        rates = (self.error_rate, self.drop_rate, self.malformed_rate)
        if any(not 0.0 <= r <= 1.0 for r in rates) or sum(rates) > 1.0 + 1e-9:
            raise ValueError("fault rates must each be in [0, 1] and sum to at most 1")
        if self.error_rate and not self.statuses:
            raise ValueError("error_rate needs at least one status")
        if self.latency_s < 0 or self.jitter_s < 0 or self.retry_after_s < 0:
            raise ValueError("latency_s, jitter_s and retry_after_s must not be negative")
        if self.methods is not None:
            object.__setattr__(self, "methods", frozenset(m.upper() for m in self.methods))
        for timing in (self.drop_when, self.latency_when):
            if timing not in ("before_handler", "after_handler"):
                raise ValueError(f"timing must be before_handler or after_handler, not {timing!r}")


@dataclass(frozen=True)
class Decision:
    """What happens to one request. `kind` is None (no fault), "error", "drop" or "malformed"."""

    kind: str | None = None
    status: int | None = None
    delay_s: float = 0.0

    @property
    def label(self) -> str | None:
        """The value noted on `RequestRecord.fault`: "429", "503", "drop", "malformed"…"""
        return str(self.status) if self.kind == "error" else self.kind


NO_FAULT = Decision()


@dataclass
class FaultInjector:
    """One plan's live state: its random sequence and how many faults it has injected."""

    plan: FaultPlan
    injected: int = 0
    rng: random.Random = field(init=False)
    _paths: re.Pattern[str] | None = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.plan.seed)
        self._paths = re.compile(self.plan.paths) if self.plan.paths else None

    def applies(self, method: str, path: str) -> bool:
        plan = self.plan
        return (plan.methods is None or method.upper() in plan.methods) and (
            self._paths is None or self._paths.search(path) is not None
        )

    def decide(self, method: str, path: str) -> Decision:
        if not self.applies(method, path):
            return NO_FAULT
        plan = self.plan
        delay = plan.latency_s + (self.rng.uniform(0.0, plan.jitter_s) if plan.jitter_s else 0.0)
        if plan.max_faults is not None and self.injected >= plan.max_faults:
            return Decision(delay_s=delay)
        draw = self.rng.random()
        kind: str | None = None
        status: int | None = None
        if draw < plan.error_rate:
            kind, status = "error", self.rng.choice(plan.statuses)
        elif draw < plan.error_rate + plan.drop_rate:
            kind = "drop"
        elif draw < plan.error_rate + plan.drop_rate + plan.malformed_rate:
            kind = "malformed"
        if kind is not None:
            self.injected += 1
        return Decision(kind=kind, status=status, delay_s=delay)


class ConnectionDropped(Exception):
    """Raised by the gate to drop a connection; `SimApp` turns it into a closed connection."""


def malformed(response: Response) -> Response:
    """A 200 whose body is the real body cut in half (never valid JSON), headers otherwise kept."""
    body = bytes(response.body or b"")
    cut = body[: len(body) // 2] if len(body) > 2 else b'{"data":['
    if cut.strip() in (b"", b"{", b"["):
        cut = b'{"data":['
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
    return Response(cut, status_code=200, headers=headers)


class SimApp(Starlette):
    """A Starlette app whose gate can drop connections (see the module docstring)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return

        async def guarded_send(message: Any) -> None:
            if not scope.get(DROP_SCOPE_KEY):  # after a drop nothing reaches the client
                await send(message)

        try:
            await super().__call__(scope, receive, guarded_send)
        except ConnectionDropped as exc:
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if transport is None:  # in process: the client's own transport error
                raise httpx2.RemoteProtocolError(DROP_MESSAGE) from exc
            transport.close()  # uvicorn: the socket closes with no response written
            cycle = send.__self__
            if hasattr(cycle, "disconnected"):
                cycle.disconnected = True  # so uvicorn writes no 500 of its own
