"""Streams over HTTP: the legacy SSE routes, and the end of every stream the SDK leaves open.

`GET /sse` opens a legacy SSE stream and `POST /messages/?session_id=...` carries the client's
messages to it; `EndStreams` wraps every streaming route (the `/mcp` GET stream too) so that a
stream cut at shutdown ends cleanly.
"""

from __future__ import annotations

import contextlib

import anyio
from mcp.server.lowlevel.server import Server
from mcp.server.runner import serve_dual_era_loop
from mcp.server.sse import SseServerTransport
from mcp.server.transport_security import TransportSecuritySettings
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send


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
