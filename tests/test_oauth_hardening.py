"""The OAuth lows of the second adversarial review (issue 16, SPEC §10): a token whose `sub` is
`static-token`, a token in the query string and the access log, a `jwks_uri` on another origin,
and a key set too large to read. Against a real `serve --transport http` subprocess and real
loopback issuers (`tests/test_oauth.py`'s `Issuer`)."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx2 as httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from mcp_directory import jwks
from mcp_directory.jwks import MAX_JWKS_BYTES, IssuerKeys, KeysUnavailable, get_json
from mcp_directory.sim import serve_on_loopback

from .support import ok
from .test_http import Running, free_port, running
from .test_oauth import (
    STATIC,
    Issuer,
    connected,
    hosting,
    issuing,
    oauth_env,
    offboarding_lines,
    person_in,
    post,
)

CHUNK = 64 * 1024
PACE_S = 0.002  # between chunks: 32 MB/s, so the loopback sockets' buffers stay small


@pytest.fixture(scope="module")
def hosted() -> Iterator[tuple[Issuer, Running]]:
    with issuing() as issuer, hosting(issuer) as server:
        yield issuer, server


# --- the actor -------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("claims", "skip"), [({"sub": "static-token"}, 4), ({"sub": None, "client_id": "static-token"}, 5)]
)
async def test_a_token_naming_itself_static_token_is_audited_as_an_oauth_caller(hosted, claims, skip):
    issuer, server = hosted
    email = person_in("retool", skip=skip)
    async with connected(server.url, issuer.mint(**claims), "legacy") as client:
        data = await ok(client, "offboard_user", {"email": email, "providers": ["retool"], "confirm": True})
    lines = offboarding_lines(server, email, data["steps"])
    assert len(lines) >= 2 and {line["actor"] for line in lines} == {"oauth:static-token"}

    email = person_in("retool", skip=skip + 2)
    async with connected(server.url, STATIC, "legacy") as client:
        data = await ok(client, "offboard_user", {"email": email, "providers": ["retool"], "confirm": True})
    lines = offboarding_lines(server, email, data["steps"])
    assert len(lines) >= 2 and {line["actor"] for line in lines} == {"static-token"}  # the real one


# --- a token in the query string -------------------------------------------------------------------


def pieces(token: str, size: int = 8) -> set[str]:
    return {token[i : i + size].lower() for i in range(len(token) - size + 1)}


def test_a_token_in_the_query_string_is_refused_and_no_part_of_it_is_logged(hosted):
    issuer, server = hosted
    tokens = [issuer.mint(sub=f"query-{n}") for n in range(5)]
    opaque = secrets.token_urlsafe(24)  # not shaped like a JWT, and no secret the server knows
    query = [("POST", "/mcp", tokens[0]), ("GET", "/sse", tokens[1]), ("POST", "/messages/", tokens[2])]
    query.append(("POST", "/mcp", opaque))
    for method, path, token in query:
        response = httpx.request(
            method,
            f"{server.url}{path}?session_id=abc&access_token={token}",
            headers={"Accept": "application/json, text/event-stream", "Content-Type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 401, path  # a query is no way to send a token
    # a valid token in the header does not make the one in the query loggable
    headers = {"Authorization": f"Bearer {issuer.mint()}"}
    assert httpx.get(f"{server.url}/healthz?access_token={tokens[3]}", headers=headers, timeout=10).status_code == 200
    # nor is a token where no token belongs: in the path
    assert httpx.get(f"{server.url}/{tokens[4]}", timeout=10).status_code in (401, 404)
    deadline = time.monotonic() + 10
    while server.output().count('HTTP/1.1" 40') < len(query) + 1 and time.monotonic() < deadline:
        time.sleep(0.05)  # the access log line is written as the response starts
    log = server.output()
    assert log.count("?[redacted]") >= len(query) + 1  # the requests are in the access log ...
    assert '"POST /mcp?[redacted] HTTP/1.1" 401' in log
    lowered = log.lower()
    for token in [*tokens, opaque]:  # ... and no 8 characters of any token, in any case
        assert not {piece for piece in pieces(token) if piece in lowered}


# --- where the keys are ----------------------------------------------------------------------------


def serve_exits(issuer: Issuer, **env: str) -> subprocess.CompletedProcess[str]:
    """`serve --transport http` run to its end: it must stop on its own, before binding."""
    command = [sys.executable, "-m", "mcp_directory", "serve", "--transport", "http", "--demo"]
    command += ["--port", str(free_port())]
    return subprocess.run(command, env=oauth_env(issuer, **env), capture_output=True, text=True, timeout=30)


def test_keys_on_another_origin_stop_serve_unless_the_operator_names_them():
    with issuing() as issuer:
        elsewhere = Issuer()  # another server publishing the same keys
        elsewhere.keys = issuer.keys
        with serve_on_loopback({"elsewhere": elsewhere.app()}) as urls:
            elsewhere.url = urls["elsewhere"]
            other_name = issuer.url.replace("127.0.0.1", "localhost")  # same server, another origin
            for jwks_uri in (f"{elsewhere.url}/keys", f"{other_name}/keys"):
                issuer.jwks_uri = jwks_uri
                done = serve_exits(issuer)
                assert done.returncode == 2, done.stderr
                assert "not on the issuer's own origin" in done.stderr, done.stderr
                assert jwks_uri in done.stderr and "MCP_DIRECTORY_OAUTH_JWKS_URL" in done.stderr
            assert elsewhere.fetches["jwks"] == issuer.fetches["jwks"] == 0  # never fetched

            env = oauth_env(issuer, MCP_DIRECTORY_OAUTH_JWKS_URL=f"{elsewhere.url}/keys")
            with running("--transport", "http", "--demo", env=env) as server:
                assert post(server.url, token=issuer.mint()).status_code == 200
            assert elsewhere.fetches["jwks"] == 1


@pytest.mark.anyio
async def test_keys_on_another_origin_are_refused_when_looked_up_later_too():
    """Discovery after start-up (the issuer was down then, or moved its keys) checks the same."""
    with issuing() as issuer:
        elsewhere = Issuer()
        elsewhere.keys = issuer.keys
        with serve_on_loopback({"elsewhere": elsewhere.app()}) as urls:
            issuer.jwks_uri = f"{urls['elsewhere']}/keys"
            keys = IssuerKeys(issuer.url)
            assert await keys.key("k1", "RS256") is None
            assert elsewhere.fetches["jwks"] == 0 and issuer.fetches["metadata"] == 1
            issuer.jwks_uri = None  # the issuer's own origin again
            keys = IssuerKeys(issuer.url)
            assert await keys.key("k1", "RS256") is not None


def test_an_origin_is_scheme_host_and_port():
    origin = jwks.origin
    issuer = origin("https://id.example.com/realms/acme")
    assert issuer == origin("https://ID.example.com:443/certs") == ("https", "id.example.com", 443)
    for other in (
        "http://id.example.com/certs",
        "https://id.example.com:8443/certs",
        "https://id.example.com.evil.net/certs",
        "https://id.example.com@evil.net/certs",
        "https://evil.net/id.example.com/certs",
    ):
        assert origin(other) != issuer, other
    assert origin("ftp://id.example.com/") is None and origin("https://id.example.com:99999/") is None


# --- a key set too large to read -------------------------------------------------------------------


class Flood:
    """An issuer endpoint answering `size` bytes of valid JSON, 64 KiB at a time, with or without a
    Content-Length; `sent` counts the bytes the server actually handed to the connection."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.sent = 0
        self.finished = False

    def app(self) -> Starlette:
        async def body() -> AsyncIterator[bytes]:
            try:
                chunk = b'{"keys": []' + b" " * (CHUNK - 11)
                while self.sent < self.size - CHUNK:
                    yield chunk
                    self.sent += len(chunk)
                    chunk = b" " * CHUNK
                    await anyio.sleep(PACE_S)  # at a network's pace, not memory's
                yield b" " * (self.size - self.sent - 1) + b"}"
                self.sent = self.size
            finally:
                self.finished = True

        async def chunked(request: Request) -> Response:
            return StreamingResponse(body(), media_type="application/json")

        async def declared(request: Request) -> Response:
            headers = {"Content-Length": str(self.size)}
            return StreamingResponse(body(), media_type="application/json", headers=headers)

        return Starlette(routes=[Route("/chunked", chunked), Route("/declared", declared)])


@pytest.mark.anyio
@pytest.mark.parametrize(("path", "says"), [("/chunked", "stopped reading"), ("/declared", "not read")])
async def test_an_oversized_key_set_is_dropped_after_reading_little(path, says):
    flood = Flood(8 * 1024 * 1024)
    with serve_on_loopback({"issuer": flood.app()}) as urls:
        async with httpx.AsyncClient(timeout=10) as client:
            with pytest.raises(KeysUnavailable, match=f"more than {MAX_JWKS_BYTES} bytes.*{says}"):
                await get_json(client, f"{urls['issuer']}{path}")
        deadline = time.monotonic() + 10
        while not flood.finished and time.monotonic() < deadline:
            time.sleep(0.01)  # the server notices the closed connection
        assert flood.finished
    # what was read, plus what the sockets' buffers held when the reader hung up; far from all of it
    assert flood.sent <= 3 * MAX_JWKS_BYTES, flood.sent


@pytest.mark.anyio
async def test_a_key_set_just_under_the_limit_is_read():
    flood = Flood(MAX_JWKS_BYTES)
    with serve_on_loopback({"issuer": flood.app()}) as urls:
        async with httpx.AsyncClient(timeout=10) as client:
            for path in ("/chunked", "/declared"):
                flood.sent = 0
                assert await get_json(client, f"{urls['issuer']}{path}") == {"keys": []}
