"""uvicorn under the web app (`web.build_app`): the protocol and the settings `serve` runs.

uvicorn runs `HeaderDeadlineH11`: a connection must finish each request's headers within
`header_timeout` of opening (or of its previous response), however it trickles them, and an
idle kept-alive connection is closed after `keep_alive_timeout`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .server import DirectoryServer
from .web import build_app

logger = logging.getLogger("mcp_directory.web")

# Slow clients (the defaults `serve` uses): seconds to finish a request's headers, and to send
# the next request on a kept-alive connection.
HEADER_TIMEOUT_S = 10.0
KEEP_ALIVE_TIMEOUT_S = 5.0


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
