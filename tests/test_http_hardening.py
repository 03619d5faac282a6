"""The HTTP way in under attack: one session replaying another's stream, unbounded replay memory,
non-HTTP scopes slipping past the token, look-alike loopback names, and clients that never finish.

Resumption is tested over a real `serve --transport http --demo` subprocess with raw HTTP (what an
attacker would send); what needs a look inside (the replay memory, short timeouts) runs `build_app`
under uvicorn in a thread of this process, reached over loopback.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx2 as httpx
import pytest
import uvicorn
from mcp import Client, ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import JSONRPCResponse

from mcp_directory.events import EventStores
from mcp_directory.server import build_server
from mcp_directory.sim import build_world
from mcp_directory.web import build_app, is_loopback
from mcp_directory.web_server import server_config

from .support import ok, sim_directory
from .test_http import INITIALIZE, MCP_HEADERS, free_port, running

LEGACY = {**MCP_HEADERS, "MCP-Protocol-Version": "2025-11-25"}


# --- raw streamable HTTP, as any client (or attacker) can speak it -------------------------------


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Server-sent events from a stream of lines: each a dict of its fields (id, data, retry...)."""
    event: dict[str, str] = {}
    for line in lines:
        if not line:
            if event:
                yield event
            event = {}
            continue
        field, _, value = line.partition(":")
        event[field] = value.removeprefix(" ")
    if event:
        yield event


def open_session(url: str) -> str:
    response = httpx.post(f"{url}/mcp", headers=LEGACY, content=INITIALIZE, timeout=10)
    assert response.status_code == 200, response.text
    session = response.headers["mcp-session-id"]
    initialized = httpx.post(
        f"{url}/mcp",
        headers={**LEGACY, "Mcp-Session-Id": session},
        content=b'{"jsonrpc":"2.0","method":"notifications/initialized"}',
        timeout=10,
    )
    assert initialized.status_code == 202, initialized.text
    return session


def call_tool(url: str, session: str, request_id: int, provider: str) -> list[dict[str, str]]:
    """POST one tools/call; its whole SSE answer (a priming event, then the result)."""
    body = {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": "list_users", "arguments": {"provider": provider, "limit": 1}},
    }
    response = httpx.post(
        f"{url}/mcp",
        headers={**LEGACY, "Mcp-Session-Id": session},
        content=json.dumps(body).encode(),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return list(sse_events(iter(response.text.splitlines())))


def resume(url: str, session: str, last_event_id: str) -> list[dict[str, Any]]:
    """GET /mcp with Last-Event-ID: the JSON-RPC messages replayed, read up to the priming event
    the server sends once the replay is done (or to the end of the stream when nothing matched)."""
    headers = {
        **LEGACY,
        "Accept": "text/event-stream",
        "Mcp-Session-Id": session,
        "Last-Event-ID": last_event_id,
    }
    replayed = []
    with httpx.stream("GET", f"{url}/mcp", headers=headers, timeout=10) as response:
        if response.status_code != 200:
            return []
        for event in sse_events(response.iter_lines()):
            if not event.get("data"):
                break  # the priming event: everything replayed came before it
            replayed.append(json.loads(event["data"]))
    return replayed


def provider_of(message: dict[str, Any]) -> str:
    return message["result"]["structuredContent"]["provider"]


@pytest.fixture(scope="module")
def open_http() -> Iterator[str]:
    with running("--transport", "http", "--demo") as server:
        yield server.url


def test_a_session_cannot_replay_another_sessions_stream(open_http):
    a, b = open_session(open_http), open_session(open_http)
    answer = call_tool(open_http, a, 2, "rootly")
    a_ids = [e["id"] for e in answer if "id" in e]
    assert len(a_ids) == 2 and any(e.get("data") for e in answer)
    # B learned A's event ids somehow, or guesses small numbers: it gets none of A's messages
    for event_id in [*a_ids, *(str(n) for n in range(10))]:
        assert resume(open_http, b, event_id) == []
    # ids are not counters: 128 random bits, nothing to guess from
    assert all(len(i) >= 22 and not i.isdigit() for i in a_ids)


def test_resuming_replays_only_the_asking_sessions_answer(open_http):
    a, b = open_session(open_http), open_session(open_http)
    a_answer = call_tool(open_http, a, 7, "rootly")
    call_tool(open_http, b, 7, "opsgenie")  # the same request id, in another session, afterwards
    priming = a_answer[0]
    assert priming["data"] == "" and priming["id"]
    replayed = resume(open_http, a, priming["id"])
    assert [m["id"] for m in replayed] == [7]
    assert provider_of(replayed[0]) == "rootly"


# --- the replay memory, bounded in bytes --------------------------------------------------------


def answer(request_id: int, size: int) -> JSONRPCResponse:
    return JSONRPCResponse(jsonrpc="2.0", id=request_id, result={"blob": "x" * size})


async def replayed(store, last_event_id: str) -> list[Any]:
    got = []

    async def collect(event) -> None:
        got.append((event.event_id, event.message.id))

    await store.replay_events_after(last_event_id, collect)
    return got


@pytest.mark.anyio
async def test_the_replay_memory_is_bounded_in_bytes_per_session_and_in_total():
    stores = EventStores(max_bytes=50_000, session_max_bytes=20_000)
    a, b = stores.open("a"), stores.open("b")
    first = await a.store_event("1", None)
    for n in range(10):
        await a.store_event("1", answer(n, 4_000))
        assert a.bytes <= 20_000 and stores.bytes <= 50_000
    # the oldest went first: resuming from the evicted priming event finds nothing
    assert await replayed(a, first) == []
    assert 3 <= len(a.events) <= 5
    kept = list(a.events)
    assert [m for _, m in await replayed(a, kept[0])] == [
        int(json.loads(e.data)["id"]) for e in list(a.events.values())[1:]
    ]
    # a second session's traffic pushes the total over: the oldest events anywhere are evicted
    for n in range(10):
        await b.store_event("1", answer(n, 4_000))
    c = stores.open("c")
    for n in range(4):
        await c.store_event("1", answer(n, 4_000))
    assert stores.bytes <= 50_000
    assert stores.bytes == a.bytes + b.bytes + c.bytes
    assert kept[0] not in a.events  # A's were the oldest
    # an event larger than a session's share is not kept at all
    huge = await c.store_event("1", answer(99, 30_000))
    assert huge not in c.events and stores.bytes <= 50_000


@pytest.mark.anyio
async def test_a_closed_sessions_events_are_dropped_and_not_stored_again():
    stores = EventStores(max_bytes=50_000, session_max_bytes=20_000)
    a, b = stores.open("a"), stores.open("b")
    await a.store_event("1", answer(1, 1_000))
    await b.store_event("1", answer(1, 1_000))
    stores.close("a")
    assert a.bytes == 0 and stores.bytes == b.bytes > 0 and stores.sessions == 1
    await a.store_event("1", answer(2, 1_000))  # a late answer of the ended session
    assert a.bytes == 0 and not a.events and stores.bytes == b.bytes


# --- served in this process: the app as `serve` configures it ----------------------------------


def demo_server():
    directory, _ = sim_directory(build_world(seed=5, people=20))
    return build_server(directory)


@contextmanager
def served(config: uvicorn.Config) -> Iterator[str]:
    """Run a `server_config(...)` under uvicorn in a thread, on the port it names; stop it after."""
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="mcp-directory-test", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.mark.anyio
async def test_a_deleted_sessions_events_are_gone_and_the_total_stays_bounded():
    stores = EventStores(max_bytes=40_000, session_max_bytes=20_000)
    config = server_config(demo_server(), "127.0.0.1", free_port(), events=stores)
    with served(config) as url:
        async with (
            httpx.AsyncClient(timeout=30) as http,
            Client(streamable_http_client(f"{url}/mcp", http_client=http), mode="legacy") as client,
        ):
            for provider in ("rootly", "opsgenie", "retool", "rootly", "opsgenie"):
                await ok(client, "list_users", {"provider": provider, "limit": 50})
                assert 0 < stores.bytes <= 20_000
            assert stores.sessions == 1
        # leaving the client DELETEs the session; the server forgets it right after answering
        with anyio.fail_after(10):
            while stores.sessions or stores.bytes:
                await anyio.sleep(0.02)


# --- non-HTTP scopes ------------------------------------------------------------------------------


async def websocket_to(app, path: str) -> list[dict[str, Any]]:
    scope = {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1:8000")],
        "scheme": "ws",
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "subprotocols": [],
    }
    incoming = [{"type": "websocket.connect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if incoming:
            return incoming.pop(0)
        await anyio.sleep_forever()  # a client that stays: the app must answer, not wait

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    with anyio.fail_after(5):
        try:
            await app(scope, receive, send)
        except Exception as exc:
            sent.append({"type": "error", "error": repr(exc)})
    return sent


@pytest.mark.anyio
@pytest.mark.parametrize("path", ["/messages/", "/mcp", "/sse", "/healthz"])
@pytest.mark.parametrize("token", ["bearer-9d2f", None])
async def test_a_websocket_is_refused_with_or_without_a_token(path, token):
    app = build_app(demo_server(), auth_token=token)
    sent = await websocket_to(app, path)
    assert sent == [{"type": "websocket.close", "code": 1008}]


# --- what counts as loopback ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("LocalHost", True),
        ("::1", True),
        ("[::1]", True),
        ("127.evil.com", False),
        ("127.0.0.1.nip.io", False),
        ("localhost.evil.com", False),
        ("0.0.0.0", False),
        ("::", False),
        ("128.0.0.1", False),
        ("192.0.2.10", False),
        ("", False),
    ],
)
def test_only_real_loopback_addresses_are_loopback(host, loopback):
    assert is_loopback(host) is loopback


# --- slow and idle clients ------------------------------------------------------------------------

HEADER_TIMEOUT = 1.0
KEEP_ALIVE_TIMEOUT = 1.0
# How long a test waits for the server to hang up: well past the timeouts, and still bounded.
PATIENCE = 10.0


@pytest.fixture(scope="module")
def short_timeouts() -> Iterator[int]:
    port = free_port()
    config = server_config(
        demo_server(),
        "127.0.0.1",
        port,
        header_timeout=HEADER_TIMEOUT,
        keep_alive_timeout=KEEP_ALIVE_TIMEOUT,
    )
    with served(config):
        yield port


def hung_up(sock: socket.socket) -> bytes:
    """Read until the server closes the connection; what it sent. Fails if it never does."""
    sock.settimeout(PATIENCE)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except TimeoutError:
        pytest.fail(f"the server kept the connection open for {PATIENCE}s")
    except ConnectionResetError:
        pass
    return received


HEALTHZ = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connects and says nothing
        b"GET /healthz HT",  # half a request line
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ",  # headers never finished
    ],
)
def test_a_client_that_never_finishes_its_headers_is_hung_up_on(short_timeouts, sent):
    with socket.create_connection(("127.0.0.1", short_timeouts), timeout=5) as sock:
        sock.sendall(sent)
        assert hung_up(sock) == b""


def test_a_trickle_of_header_bytes_does_not_keep_the_connection(short_timeouts):
    trickle = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
    with socket.create_connection(("127.0.0.1", short_timeouts), timeout=5) as sock:
        sock.settimeout(0.1)  # one byte per 0.1 s: each byte would restart an idle timer
        closed = False
        for byte in trickle:
            try:
                sock.sendall(bytes([byte]))
                closed = sock.recv(1) == b""
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
            if closed:
                break
        assert closed, f"{len(trickle)} bytes, one per 0.1 s, kept the connection open throughout"


def test_an_idle_keep_alive_connection_is_closed(short_timeouts):
    with socket.create_connection(("127.0.0.1", short_timeouts), timeout=5) as sock:
        sock.sendall(HEALTHZ)
        received = hung_up(sock)
    assert received.startswith(b"HTTP/1.1 200 ") and received.count(b"HTTP/1.1") == 1


def test_a_kept_alive_connection_that_starts_a_request_and_stalls_is_closed(short_timeouts):
    with socket.create_connection(("127.0.0.1", short_timeouts), timeout=5) as sock:
        sock.sendall(HEALTHZ)
        sock.settimeout(5)
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHo")  # the next request, never finished
        hung_up(sock)


@pytest.mark.anyio
async def test_open_streams_and_sessions_outlive_both_timeouts(short_timeouts):
    url = f"http://127.0.0.1:{short_timeouts}"
    async with (
        sse_client(f"{url}/sse") as (read, write),
        ClientSession(read, write) as sse_session,
        httpx.AsyncClient(timeout=30) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http), mode="legacy") as client,
    ):
        await sse_session.initialize()
        await ok(client, "list_users", {"provider": "rootly", "limit": 1})
        # past both timeouts: the /sse and /mcp GET streams are being served, not waiting for headers
        await anyio.sleep(HEADER_TIMEOUT + KEEP_ALIVE_TIMEOUT + 0.5)
        assert (await ok(sse_session, "list_users", {"provider": "opsgenie", "limit": 1}))["result"]
        assert (await ok(client, "list_users", {"provider": "retool", "limit": 1}))["result"]
