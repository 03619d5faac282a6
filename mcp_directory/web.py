"""The web app behind `serve --transport http|sse` (SPEC §1, §7).

One Starlette app serves every HTTP way in, so one process and one port do for every client:

- `/mcp`        streamable HTTP, both protocol eras: the 2025-11-25 `initialize` handshake
                (with sessions, a GET stream and resumable SSE) and the stateless 2026-07-28 requests;
- `/sse`        legacy SSE (`GET`), with its companion `POST /messages/?session_id=...`;
- `/healthz`    unauthenticated liveness for load balancers: no MCP, no provider calls.

Layers, outermost first: `BearerAuth` (when a token is set) rejects every path but `/healthz`
without `Authorization: Bearer <token>`; then the SDK's transports validate Host and Origin
(DNS-rebinding protection, always on) against `transport_security()`.

The app's lifespan runs the SDK session manager, which enters the server's lifespan once for
the whole process; SSE connections share that state instead of entering it per connection
(our lifespan closes the provider clients, so entering it per connection would close them
under the other clients' feet).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import anyio
from mcp.server.lowlevel.server import Server
from mcp.server.runner import serve_dual_era_loop
from mcp.server.sse import SseServerTransport
from mcp.server.streamable_http import (
    EventCallback,
    EventId,
    EventMessage,
    EventStore,
    StreamId,
)
from mcp.server.streamable_http_manager import (
    StreamableHTTPASGIApp,
    StreamableHTTPSessionManager,
)
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import JSONRPCMessage
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import __version__
from .server import DirectoryServer

logger = logging.getLogger("mcp_directory.web")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
OPEN_PATHS = frozenset({"/healthz"})
# How long a client waits before reconnecting a closed SSE stream (ms), sent as `retry:`.
SSE_RETRY_MS = 1000


def is_loopback(host: str) -> bool:
    """True for the hosts `serve` may bind without a token: only this machine can connect."""
    host = host.strip("[]")
    return host in LOOPBACK_HOSTS or host.startswith("127.")


def host_entries(entry: str) -> list[str]:
    """Allow-list entries for one host: a bare name or address is allowed on any port
    (`name`, `name:*`); an entry with a port (`name:8443`, `[::1]:8000`, `name:*`) is kept as is."""
    if entry.count(":") > 1 and not entry.startswith("["):
        entry = f"[{entry}]"  # a bare IPv6 address, as it appears in a Host header
    if entry.endswith("]") or ":" not in entry:
        return [entry, f"{entry}:*"]
    return [entry]


def transport_security(
    bind_host: str,
    allowed_hosts: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
) -> TransportSecuritySettings:
    """Host/Origin allow-lists: loopback names always, the bound address, plus what the operator adds.

    Origins are full (`https://app.example.com`). A request without an Origin header (every
    non-browser client) passes the Origin check; a browser page on another site does not.
    """
    hosts = [
        h for name in ("127.0.0.1", "localhost", "::1") for h in host_entries(name)
    ]
    if bind_host not in ("0.0.0.0", "::", ""):
        hosts += host_entries(bind_host)
    for entry in allowed_hosts:
        hosts += host_entries(entry)
    origins = [
        o
        for name in ("127.0.0.1", "localhost", "[::1]")
        for o in (f"http://{name}", f"http://{name}:*")
    ]
    origins += [o.rstrip("/") for o in allowed_origins]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(dict.fromkeys(hosts)),
        allowed_origins=list(dict.fromkeys(origins)),
    )


class MemoryEventStore(EventStore):
    """The last `capacity` SSE events of all streams, so a client whose stream dropped can
    reconnect with `Last-Event-ID` and get what it missed (resumability, SEP-1699).

    Bounded on purpose: a long-lived server must not grow without limit; a client that
    comes back after its events were evicted simply gets nothing replayed.
    """

    def __init__(self, capacity: int = 2000) -> None:
        self.capacity = capacity
        self.events: OrderedDict[int, tuple[StreamId, JSONRPCMessage | None]] = (
            OrderedDict()
        )
        self.next_id = 0

    async def store_event(
        self, stream_id: StreamId, message: JSONRPCMessage | None
    ) -> EventId:
        self.next_id += 1
        self.events[self.next_id] = (stream_id, message)
        while len(self.events) > self.capacity:
            self.events.popitem(last=False)
        return str(self.next_id)

    async def replay_events_after(
        self, last_event_id: EventId, send_callback: EventCallback
    ) -> StreamId | None:
        try:
            last = int(last_event_id)
            stream_id = self.events[last][0]
        except (ValueError, KeyError):
            return None
        for event_id, (stream, message) in list(self.events.items()):
            if event_id > last and stream == stream_id and message is not None:
                await send_callback(EventMessage(message, str(event_id)))
        return stream_id


class BearerAuth:
    """Require `Authorization: Bearer <token>` on every path but /healthz (SPEC §7).

    A shared static token, compared in constant time; a miss is 401 with
    `WWW-Authenticate: Bearer` so clients know what to send. The token never reaches a log.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        if hmac.compare_digest(given, self.expected):
            await self.app(scope, receive, send)
            return
        error = "invalid_token" if given else "invalid_request"
        body = {
            "error": error,
            "error_description": "send Authorization: Bearer <MCP_DIRECTORY_AUTH_TOKEN>",
        }
        response = Response(
            json.dumps(body),
            status_code=401,
            media_type="application/json",
            headers={
                "WWW-Authenticate": f'Bearer realm="mcp-directory", error="{error}"'
            },
        )
        await response(scope, receive, send)


class EndStreams:
    """End a streaming response the inner app left open.

    On shutdown the SDK's SSE streams (legacy `/sse`, the `/mcp` GET stream) stop without
    sending the last body frame; ending it lets the client see a closed stream rather than
    a broken one, and keeps uvicorn from logging an error for every connected client.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = finished = False

        async def watched(message: Message) -> None:
            nonlocal started, finished
            started |= message["type"] == "http.response.start"
            finished |= message["type"] == "http.response.body" and not message.get(
                "more_body", False
            )
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            if started and not finished:
                with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                    await send(
                        {"type": "http.response.body", "body": b"", "more_body": False}
                    )


def sse_routes(
    lowlevel: Server[None], security: TransportSecuritySettings
) -> list[Route | Mount]:
    """Legacy SSE: `GET /sse` opens the stream, `POST /messages/` carries the client's messages."""
    transport = SseServerTransport("/messages/", security_settings=security)

    class SseStream:
        """`GET /sse` as a raw ASGI app: the transport sends the whole streaming response itself,
        so nothing may be sent after it (a Starlette endpoint's return value would be)."""

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            async with transport.connect_sse(scope, receive, send) as (read, write):
                # lifespan_state=None: the app lifespan owns the server lifespan (which yields None).
                await serve_dual_era_loop(
                    lowlevel,
                    read,
                    write,
                    lifespan_state=None,
                    init_options=lowlevel.create_initialization_options(),
                )

    return [
        Route("/sse", endpoint=EndStreams(SseStream()), methods=["GET"]),
        Mount("/messages/", app=transport.handle_post_message),
    ]


def build_app(
    server: DirectoryServer,
    *,
    bind_host: str = "127.0.0.1",
    auth_token: str | None = None,
    allowed_hosts: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
) -> Starlette | BearerAuth:
    """The combined ASGI app; run it under uvicorn (see `serve`)."""
    security = transport_security(bind_host, allowed_hosts, allowed_origins)
    lowlevel = server._lowlevel_server
    manager = StreamableHTTPSessionManager(
        app=lowlevel,
        event_store=MemoryEventStore(),
        retry_interval=SSE_RETRY_MS,
        security_settings=security,
    )

    async def healthz(request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok",
                "version": __version__,
                "providers": sorted(server.directory.adapters),
            }
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with manager.run():
            logger.info(
                "serving /mcp, /sse and /healthz%s",
                " (bearer token required)" if auth_token else "",
            )
            yield

    app = Starlette(
        routes=[
            Route("/healthz", endpoint=healthz, methods=["GET"]),
            Route("/mcp", endpoint=EndStreams(StreamableHTTPASGIApp(manager))),
            *sse_routes(lowlevel, security),
        ],
        lifespan=lifespan,
    )
    return BearerAuth(app, auth_token) if auth_token else app


def serve(server: DirectoryServer, host: str, port: int, **options: object) -> None:
    """Serve until SIGINT/SIGTERM; uvicorn then stops accepting, lets in-flight requests
    finish (up to the grace period), and runs the lifespan exit, which closes sessions
    and the provider clients."""
    import uvicorn

    app = build_app(server, bind_host=host, **options)  # type: ignore[arg-type]
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="info",
        log_config=None,  # keep our redacting stderr handler
        timeout_graceful_shutdown=10,
        lifespan="on",
    )
    uvicorn.Server(config).run()
