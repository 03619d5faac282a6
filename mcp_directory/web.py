"""The web app behind `serve --transport http|sse` (SPEC §1, §7).

One Starlette app serves every HTTP way in, so one process and one port do for every client:

- `/mcp`        streamable HTTP, both protocol eras: the 2025-11-25 `initialize` handshake
                (with sessions, a GET stream and resumable SSE) and the stateless 2026-07-28 requests;
- `/sse`        legacy SSE (`GET`), with its companion `POST /messages/?session_id=...`
                (`web_streams.py`, which also ends the streams the SDK leaves open);
- `/healthz`    unauthenticated liveness for load balancers: no MCP, no provider calls;
- `/.well-known/oauth-protected-resource[/mcp]`  with OAuth, where clients learn the authorization
                server (RFC 9728), unauthenticated.

Layers, outermost first: `HttpOnly` refuses every ASGI scope but HTTP and lifespan (no
WebSocket reaches a route); `auth.Authenticate` (with a static token or OAuth) rejects every path
but the open ones without a valid `Authorization: Bearer <token>`, and tells the tools who is
calling (`auth.py`); then the SDK's transports validate Host and Origin
(DNS-rebinding protection, always on) against `transport_security()`. Each `/mcp` session
resumes only its own streams, from its own byte-bounded replay memory (`events.py`).

uvicorn runs the app (`web_server.py`: its protocol and settings).

The app's lifespan runs the SDK session manager, which enters the server's lifespan once for
the whole process; SSE connections share that state instead of entering it per connection
(our lifespan closes the provider clients, so entering it per connection would close them
under the other clients' feet).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.auth.provider import TokenVerifier
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from . import __version__
from .auth import Authenticate, Credentials, JwtVerifier, metadata_routes, refuse, resource_metadata_url
from .config import OAuthConfig
from .events import EventStores, IsolatedSessionManager
from .server import DirectoryServer
from .web_streams import EndStreams, sse_routes

logger = logging.getLogger("mcp_directory.web")

OPEN_PATHS = frozenset({"/healthz"})
# How long a client waits before reconnecting a closed SSE stream (ms), sent as `retry:`.
SSE_RETRY_MS = 1000
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
