"""A real Redis for the tests (SPEC §10): Debian's `redis-server`, started by the tests on a free
loopback port with persistence off, and stopped afterwards; replicas of our server as subprocesses.

Without `redis-server` on the PATH the tests that need it are skipped on a developer's machine but
fail under CI=true (`.ci/run` installs it), as `require_specs` does for the provider specs.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
CURSOR_SECRET = "replicas-share-this-secret"


def require_redis_server(env: Mapping[str, str] = os.environ) -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    reason = "redis-server is not installed (apt-get install -y redis-server)"
    if env.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    """One redis-server on 127.0.0.1:`port`; `stop` and `start` again keep the port (an outage)."""

    binary: str
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):  # up to 10 s
            if self.command("PING") == "+PONG":
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}")
            time.sleep(0.05)
        raise RuntimeError("redis-server did not answer PING")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def command(self, *words: str) -> str | None:
        """One inline command; its first reply line, or None when Redis cannot be reached."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall((" ".join(words) + "\r\n").encode())
                return s.recv(4096).decode().split("\r\n")[0]
        except OSError:
            return None


@contextmanager
def running_redis() -> Iterator[RedisServer]:
    server = RedisServer(require_redis_server())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def wait_healthy(url: str, proc: subprocess.Popen[bytes], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"replica exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} did not become healthy")


@contextmanager
def replicas(count: int, env: Mapping[str, str]) -> Iterator[list[str]]:
    """`count` processes of `serve --transport http` with the environment `env` (see
    `tests.support.server_env`); yields their base URLs, stops them on exit."""
    running: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        for _ in range(count):
            port = free_port()
            proc = subprocess.Popen(
                [sys.executable, "-m", "mcp_directory", "serve", "--transport", "http", "--port", str(port)],
                cwd=ROOT,
                env=dict(env),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            running.append((proc, f"http://127.0.0.1:{port}"))
        for proc, url in running:
            wait_healthy(f"{url}/healthz", proc)
        yield [url for _, url in running]
    finally:
        for proc, _ in running:
            proc.terminate()
        for proc, _ in running:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def healthz(url: str) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"{url}/healthz", timeout=5)
    return response.status_code, response.json()


class Stamped:
    """ASGI middleware on a simulated provider: when each request arrived (monotonic seconds) and
    the status it got, so a test counts what reached the provider in any minute."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.stamps: list[tuple[float, int]] = []
        self.state = app.state  # what serve_on_loopback's callers read (gate, requests)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        arrived = time.monotonic()

        async def sent(message: Any) -> None:
            if message["type"] == "http.response.start":
                self.stamps.append((arrived, int(message["status"])))
            await send(message)

        await self.app(scope, receive, sent)


def most_in_any_window(times: list[float], window: float = 60.0) -> int:
    """The most of `times` that fall within any `window` seconds (a sliding window)."""
    ordered, most, first = sorted(times), 0, 0
    for last, t in enumerate(ordered):
        while t - ordered[first] >= window:
            first += 1
        most = max(most, last - first + 1)
    return most
