"""`serve --transport http|sse` as a hosted agent sees it: a real subprocess on a loopback port,
reached by the SDK's own clients over streamable HTTP (both protocol eras) and legacy SSE."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

import anyio
import httpx2 as httpx
import pytest
from mcp import Client, ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from mcp_directory.providers import PROVIDERS
from mcp_directory.sim import build_apps, build_world, serve_on_loopback

from .support import TOKENS, clean_env, ok, server_env, traverse

TOKEN = "bearer-7c1e55d2b9"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Running:
    proc: subprocess.Popen[bytes]
    url: str
    log: IO[str]

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()


@contextmanager
def running(*args: str, env: dict[str, str] | None = None) -> Iterator[Running]:
    """`python -m mcp_directory serve ARGS --port P` until /healthz answers; always terminated."""
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mcp_directory",
                "serve",
                *args,
                "--port",
                str(port),
            ],
            env=env or clean_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = Running(proc, f"http://127.0.0.1:{port}", log)
        try:
            deadline = time.monotonic() + 30
            while True:
                assert proc.poll() is None, f"server exited early:\n{server.output()}"
                try:
                    if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, f"server never became healthy:\n{server.output()}"
                time.sleep(0.1)
            yield server
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@pytest.fixture(scope="module")
def with_token() -> Iterator[Running]:
    with running("--transport", "http", "--demo", env=clean_env(MCP_DIRECTORY_AUTH_TOKEN=TOKEN)) as server:
        yield server


@pytest.fixture(scope="module")
def open_sse() -> Iterator[Running]:
    """No token (loopback only), started as `--transport sse`, one extra allowed host."""
    with running("--transport", "sse", "--demo", "--allowed-hosts", "mcp.example.com") as server:
        yield server


async def users_over_http(url: str, mode: str, headers: dict[str, str] | None) -> tuple[str, dict]:
    async with (
        httpx.AsyncClient(headers=headers or {}, timeout=30) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http), mode=mode) as client,
    ):
        data = await ok(client, "list_users", {"provider": "rootly", "limit": 3})
        return client.session.protocol_version, data


async def users_over_sse(url: str, headers: dict[str, str] | None) -> dict:
    async with (
        sse_client(f"{url}/sse", headers=headers) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        return await ok(session, "list_users", {"provider": "opsgenie", "limit": 3})


def test_healthz_is_open_and_says_what_is_configured(with_token):
    response = httpx.get(f"{with_token.url}/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["providers"] == sorted(p.name for p in PROVIDERS)  # the demo configures every one


@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "version"), [("legacy", "2025-11-25"), ("auto", "2026-07-28")])
async def test_http_both_protocol_eras_with_the_token(with_token, mode, version):
    negotiated, data = await users_over_http(with_token.url, mode, AUTH)
    assert negotiated == version
    assert data["provider"] == "rootly" and len(data["result"]) == 3 and data["next_cursor"]


@pytest.mark.anyio
async def test_sse_with_the_token(with_token):
    data = await users_over_sse(with_token.url, AUTH)
    assert data["provider"] == "opsgenie" and len(data["result"]) == 3


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/mcp"),
        ("GET", "/mcp"),
        ("DELETE", "/mcp"),
        ("GET", "/sse"),
        ("POST", "/messages/?session_id=x"),
    ],
)
@pytest.mark.parametrize("authorization", [None, "Bearer wrong-token", f"Basic {TOKEN}", TOKEN])
def test_every_mcp_route_needs_the_bearer_token(with_token, method, path, authorization):
    headers = {
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
    }
    if authorization:
        headers["Authorization"] = authorization
    body = b'{"jsonrpc":"2.0","id":1,"method":"ping"}' if method == "POST" else None
    response = httpx.request(method, f"{with_token.url}{path}", headers=headers, content=body, timeout=5)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer ")
    assert TOKEN not in response.text


@pytest.mark.anyio
@pytest.mark.parametrize("headers", [None, {"Authorization": "Bearer nope"}])
async def test_clients_without_the_token_are_refused(with_token, headers):
    before = with_token.output()
    for mode in ("legacy", "auto"):
        with pytest.raises(BaseExceptionGroup) as http_error:
            await users_over_http(with_token.url, mode, headers)
        assert http_error.group_contains(MCPError)
    with pytest.raises(httpx.HTTPStatusError) as sse_error:
        await users_over_sse(with_token.url, headers)
    assert "401 Unauthorized" in str(sse_error.value)
    log = with_token.output()[len(before) :]  # what these three clients caused
    assert log.count('"POST /mcp HTTP/1.1" 401') >= 2 and '"GET /sse HTTP/1.1" 401' in log
    assert " 200" not in log and TOKEN not in log


@pytest.mark.anyio
async def test_sse_transport_without_a_token_on_loopback(open_sse):
    data = await users_over_sse(open_sse.url, None)
    assert len(data["result"]) == 3
    negotiated, _ = await users_over_http(open_sse.url, "auto", None)  # the same app serves /mcp
    assert negotiated == "2026-07-28"


INITIALIZE = (
    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
    b'"capabilities":{},"clientInfo":{"name":"t","version":"1"}}}'
)
MCP_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json, text/event-stream",
}


def post_initialize(url: str, **headers: str) -> httpx.Response:
    return httpx.post(f"{url}/mcp", headers={**MCP_HEADERS, **headers}, content=INITIALIZE, timeout=10)


def test_a_foreign_host_or_origin_is_refused(open_sse, with_token):
    assert post_initialize(open_sse.url).status_code == 200
    assert post_initialize(open_sse.url, Host="evil.example").status_code == 421
    assert post_initialize(open_sse.url, Host="evil.example:80").status_code == 421
    assert post_initialize(open_sse.url, Origin="http://evil.example").status_code == 403
    assert post_initialize(open_sse.url, Origin=open_sse.url).status_code == 200
    sse = httpx.get(f"{open_sse.url}/sse", headers={"Host": "evil.example"}, timeout=5)
    assert sse.status_code == 421
    # the token does not switch the check off
    assert post_initialize(with_token.url, Host="evil.example", **AUTH).status_code == 421
    assert post_initialize(with_token.url, **AUTH).status_code == 200


def test_allowed_hosts_widen_the_host_check(open_sse):
    assert post_initialize(open_sse.url, Host="mcp.example.com").status_code == 200
    assert post_initialize(open_sse.url, Host="mcp.example.com:443").status_code == 200
    assert post_initialize(open_sse.url, Host="other.example.com").status_code == 421


# 127.evil.com: a name that starts like a loopback address is not one (is_loopback used to say so).
@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::", "127.evil.com"])
def test_serve_refuses_a_non_loopback_host_without_a_token(host):
    port = free_port()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mcp_directory",
            "serve",
            "--transport",
            "http",
            "--host",
            host,
            "--port",
            str(port),
            "--demo",
        ],
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "MCP_DIRECTORY_AUTH_TOKEN" in done.stderr and "refusing" in done.stderr
    assert "Uvicorn running" not in done.stderr


@pytest.mark.anyio
async def test_sigterm_shuts_down_cleanly_with_clients_connected():
    with running("--transport", "http", "--demo") as server:
        async with (
            sse_client(f"{server.url}/sse") as (read, write),
            ClientSession(read, write) as session,
            httpx.AsyncClient(timeout=30) as http,
            Client(
                streamable_http_client(f"{server.url}/mcp", http_client=http),
                mode="legacy",
            ) as client,
        ):
            await session.initialize()
            await ok(session, "list_users", {"provider": "rootly", "limit": 1})
            await ok(client, "list_users", {"provider": "retool", "limit": 1})
            started = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            # uvicorn re-raises the signal once it has shut down: "killed by SIGTERM" is the clean exit
            assert await anyio.to_thread.run_sync(server.proc.wait, 30) in (
                0,
                -signal.SIGTERM,
            )
            assert time.monotonic() - started < 10  # open streams are closed, not waited out
        log = server.output()
    assert "Waiting for application shutdown" in log and "Application shutdown complete" in log
    assert "Traceback" not in log and "ERROR" not in log


@pytest.mark.anyio
async def test_http_pages_through_every_user_of_simulators_on_loopback():
    world = build_world(seed=11, people=60)
    with serve_on_loopback(build_apps(world, TOKENS)) as urls:
        env = server_env(urls, MCP_DIRECTORY_AUTH_TOKEN=TOKEN)
        with running("--transport", "http", env=env) as server:
            async with (
                httpx.AsyncClient(headers=AUTH, timeout=30) as http,
                Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as client,
            ):
                for provider in ("rootly", "opsgenie", "retool"):
                    users = await traverse(client, "list_users", {"provider": provider, "limit": 17})
                    assert sorted(u["id"] for u in users) == sorted(str(k) for k in getattr(world, provider).users)
            log = server.output()
    for secret in [*TOKENS.values(), TOKEN]:
        assert secret not in log
