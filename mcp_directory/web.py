"""The web app behind `serve --transport http|sse` (SPEC §1, §7).

One Starlette app serves every HTTP way in, so one process and one port do for every client:

- `/mcp`        streamable HTTP, both protocol eras: the 2025-11-25 `initialize` handshake
                (with sessions, a GET stream and resumable SSE) and the stateless 2026-07-28 requests;
- `/sse`        legacy SSE (`GET`), with its companion `POST /messages/?session_id=...`;
- `/healthz`    unauthenticated liveness for load balancers: no MCP, no provider calls;
- `/.well-known/oauth-protected-resource[/mcp]`  with OAuth, where clients learn the authorization
                server (RFC 9728), unauthenticated.

Layers, outermost first: `HttpOnly` refuses every ASGI scope but HTTP and lifespan (no
WebSocket reaches a route); `auth.Authenticate` (with a static token or OAuth) rejects every path
but the open ones without a valid `Authorization: Bearer <token>`, and tells the tools who is
calling (`auth.py`); then the SDK's transports validate Host and Origin
(DNS-rebinding protection, always on) against `transport_security()`. Each `/mcp` session
resumes only its own streams, from its own byte-bounded replay memory (`events.py`).

Under the app, uvicorn runs `HeaderDeadlineH11`: a connection must finish each request's headers
within `header_timeout` of opening (or of its previous response), however it trickles them, and
an idle kept-alive connection is closed after `keep_alive_timeout`.

The app's lifespan runs the SDK session manager, which enters the server's lifespan once for
the whole process; SSE connections share that state instead of entering it per connection
(our lifespan closes the provider clients, so entering it per connection would close them
under the other clients' feet).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import h11
import uvicorn
from mcp.server.auth.provider import TokenVerifier
from mcp.server.lowlevel.server import Server
from mcp.server.runner import serve_dual_era_loop
from mcp.server.sse import SseServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from . import __version__
from .auth import Authenticate, Credentials, JwtVerifier, metadata_routes, refuse, resource_metadata_url
from .config import OAuthConfig
from .events import EventStores, IsolatedSessionManager
from .server import DirectoryServer

logger = logging.getLogger("mcp_directory.web")

OPEN_PATHS = frozenset({"/healthz"})
# How long a client waits before reconnecting a closed SSE stream (ms), sent as `retry:`.
SSE_RETRY_MS = 1000
# Slow clients (the defaults `serve` uses): seconds to finish a request's headers, and to send
# the next request on a kept-alive connection.
HEADER_TIMEOUT_S = 10.0
KEEP_ALIVE_TIMEOUT_S = 5.0
LOOPBACK_V4 = ipaddress.ip_network("127.0.0.0/8")
LOOPBACK_V6 = ipaddress.ip_address("::1")


def is_loopback(host: str) -> bool:
    """True for the hosts `serve` may bind without a token: only this machine can connect.

    That is a loopback address (127.0.0.0/8, ::1) or the name `localhost`; any other name, even
    `127.evil.com`, resolves wherever its owner likes.
    """
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address in LOOPBACK_V4 if address.version == 4 else address == LOOPBACK_V6


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
    hosts = [h for name in ("127.0.0.1", "localhost", "::1") for h in host_entries(name)]
    if bind_host not in ("0.0.0.0", "::", ""):
        hosts += host_entries(bind_host)
    for entry in allowed_hosts:
        hosts += host_entries(entry)
    origins = [o for name in ("127.0.0.1", "localhost", "[::1]") for o in (f"http://{name}", f"http://{name}:*")]
    origins += [o.rstrip("/") for o in allowed_origins]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(dict.fromkeys(hosts)),
        allowed_origins=list(dict.fromkeys(origins)),
    )


class HttpOnly:
    """Let through only HTTP requests and the lifespan. Nothing here speaks WebSocket, but
    Starlette's `Mount` matches websocket scopes too: one to `/messages/` reached the SDK."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "lifespan"):
            await self.app(scope, receive, send)
        else:
            await refuse(scope, receive, send)


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
            finished |= message["type"] == "http.response.body" and not message.get("more_body", False)
            await send(message)

        try:
            await self.app(scope, receive, watched)
        finally:
            if started and not finished:
                with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})


def sse_routes(lowlevel: Server[None], security: TransportSecuritySettings) -> list[Route | Mount]:
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
    oauth: OAuthConfig | None = None,
    verifier: TokenVerifier | None = None,
    allowed_hosts: Iterable[str] = (),
    allowed_origins: Iterable[str] = (),
    events: EventStores | None = None,
) -> ASGIApp:
    """The combined ASGI app; run it under uvicorn (see `serve`). `events` is the replay
    memory of `/mcp` sessions (default: `EventStores()`, 16 MiB in all). With `oauth`, the
    issuer's access tokens are accepted (checked by `verifier`, default `auth.JwtVerifier`),
    beside `auth_token` when that is set too."""
    security = transport_security(bind_host, allowed_hosts, allowed_origins)
    lowlevel = server._lowlevel_server
    manager = IsolatedSessionManager(
        lowlevel,
        events if events is not None else EventStores(),
        retry_interval=SSE_RETRY_MS,
        security_settings=security,
    )

    async def healthz(request: Request) -> Response:
        """200 while the process serves. With replicas (SPEC §10), `redis` says whether the shared
        Redis answers; an unreachable one still answers 200: every replica shares it, so taking
        them all out of the load balancer would only trade the tools' `upstream_error` naming
        Redis for the balancer's bare 503, and a restart would not bring Redis back."""
        body: dict[str, Any] = {"status": "ok", "version": __version__, "providers": sorted(server.directory.adapters)}
        if server.directory.redis is not None:
            body["redis"] = await server.directory.redis.health()
        return JSONResponse(body)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redis = server.directory.redis
        if redis is not None and await redis.health() != "ok":  # serve anyway: calls work once it is back
            logger.warning("Redis at %s is unreachable: provider calls fail until it is back", redis.where)
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
    metadata = metadata_routes(oauth) if oauth is not None else []
    app.router.routes.extend(metadata)
    if not (auth_token or oauth):
        return HttpOnly(app)
    server.enforce_scopes = True  # from here on, a tool call without a token is refused
    credentials = Credentials(auth_token, verifier or (JwtVerifier(oauth) if oauth else None))
    guarded = Authenticate(
        app,
        credentials,
        resource_metadata_url=resource_metadata_url(oauth.audience) if oauth else None,
        open_paths={*OPEN_PATHS, *(route.path for route in metadata)},
    )
    return HttpOnly(guarded)


class HeaderDeadlineH11(H11Protocol):
    """uvicorn's h11 protocol with a deadline on request headers.

    uvicorn arms its keep-alive timer only after a response, and any byte cancels it: a client
    that connects and says nothing, or trickles a header a byte at a time, holds the connection
    forever. Here, whenever the connection waits for a request (just opened, or the previous
    response done), the client has `header_timeout` seconds to complete its headers; bytes that
    arrive meanwhile do not extend it. A request being served (a long SSE stream) has no deadline.
    """

    header_timeout = HEADER_TIMEOUT_S
    _header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch_headers()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch_headers()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _waiting_for_headers(self) -> bool:
        return self.conn.their_state is h11.IDLE and not self.transport.is_closing()

    def _watch_headers(self) -> None:
        if not self._waiting_for_headers():
            self._disarm()
        elif self._header_deadline is None:
            self._header_deadline = self.loop.call_later(self.header_timeout, self._headers_overdue)

    def _disarm(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_overdue(self) -> None:
        self._header_deadline = None
        if self._waiting_for_headers():
            logger.debug("closing a connection with no complete request after %ss", self.header_timeout)
            with contextlib.suppress(h11.LocalProtocolError):
                self.conn.send(h11.ConnectionClosed())
            self.transport.close()


def server_config(
    server: DirectoryServer,
    host: str,
    port: int,
    *,
    header_timeout: float = HEADER_TIMEOUT_S,
    keep_alive_timeout: float = KEEP_ALIVE_TIMEOUT_S,
    **app_options: Any,
) -> uvicorn.Config:
    """The uvicorn configuration `serve` runs (`app_options` go to `build_app`)."""
    protocol = type("HeaderDeadlineH11", (HeaderDeadlineH11,), {"header_timeout": header_timeout})
    return uvicorn.Config(
        build_app(server, bind_host=host, **app_options),
        host=host,
        port=port,
        http=protocol,
        ws="none",  # nothing here speaks WebSocket; `HttpOnly` refuses one all the same
        timeout_keep_alive=keep_alive_timeout,  # type: ignore[arg-type]
        log_level="info",
        log_config=None,  # keep our logging (`logs.py`): redacted, and no query in the access log
        timeout_graceful_shutdown=10,
        lifespan="on",
    )


def serve(server: DirectoryServer, host: str, port: int, **options: Any) -> None:
    """Serve until SIGINT/SIGTERM; uvicorn then stops accepting, lets in-flight requests
    finish (up to the grace period), and runs the lifespan exit, which closes sessions
    and the provider clients. `options` are those of `server_config`."""
    uvicorn.Server(server_config(server, host, port, **options)).run()
