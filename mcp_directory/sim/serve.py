"""Building the provider apps and serving them on loopback ports.

`build_app` is the one place that knows which module implements which provider; the product's
`--demo` mode drives the apps in process (httpx2.ASGITransport), tests do the same or run them
on real loopback ports with `serve_on_loopback`.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette

from mcp_directory.providers import PROVIDERS
from mcp_directory.sim.common import SimOptions
from mcp_directory.sim.registry import SIMULATORS
from mcp_directory.sim.world import World

DEMO_TOKENS = {name: s.demo_token for name, s in SIMULATORS.items()}


def env_for(urls: dict[str, str], tokens: dict[str, str] | None = None) -> dict[str, str]:
    """The environment that points mcp-directory at these simulators (the providers' own variable names)."""
    tokens = {**DEMO_TOKENS, **(tokens or {})}
    specs = {p.name: p.spec for p in PROVIDERS}  # the product's variable names
    env: dict[str, str] = {}
    for provider, url in urls.items():
        env[specs[provider].setting("base_url").env] = url
        env[specs[provider].setting("credential").env] = tokens[provider]
        for key, value in SIMULATORS[provider].settings(url).items():  # what else reaching it takes
            env[specs[provider].setting(key).env] = value
    return env


def build_app(provider: str, world: World, options: SimOptions) -> Starlette:
    """One provider's app over `world` (the app reads the world live; writes will mutate it)."""
    try:
        simulator = SIMULATORS[provider]
    except KeyError:
        raise ValueError(f"unknown provider {provider!r}; expected one of {', '.join(SIMULATORS)}") from None
    return simulator.app(world.directories[provider], options)


def build_apps(
    world: World, tokens: dict[str, str] | None = None, *, record_requests: bool = False
) -> dict[str, Starlette]:
    """Every provider's app with default options; `tokens` default to DEMO_TOKENS.
    `record_requests`: keep each app's request log (`app.state.requests`) for a test to read."""
    tokens = {**DEMO_TOKENS, **(tokens or {})}
    options = {p: SimOptions(token=tokens[p], record_requests=record_requests) for p in world.directories}
    return {p: build_app(p, world, options[p]) for p in world.directories}


def ensure_loopback(host: str) -> None:
    """The simulator only ever binds loopback."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ValueError(f"refusing to bind {host!r}: the simulator only binds loopback addresses")


@contextmanager
def serve_on_loopback(
    apps: dict[str, Starlette], host: str = "127.0.0.1", startup_timeout_s: float = 10.0
) -> Iterator[dict[str, str]]:
    """Run each app with uvicorn on `host`, a free port, in a background thread.

    Yields {provider: base URL}; stops the servers on exit.
    """
    ensure_loopback(host)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    running: list[tuple[uvicorn.Server, threading.Thread, socket.socket]] = []
    urls: dict[str, str] = {}
    try:
        for name, app in apps.items():
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # Accepted connections inherit this. Without it, uvicorn on a pre-bound socket answers a
            # kept-alive connection only after the peer's 40 ms delayed ACK (Nagle's algorithm).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind((host, 0))
            port = sock.getsockname()[1]
            server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))
            thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"sim-{name}", daemon=True)
            thread.start()
            running.append((server, thread, sock))
            deadline = time.monotonic() + startup_timeout_s
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError(f"simulated {name} server did not start")
                time.sleep(0.01)
            shown = f"[{host}]" if family == socket.AF_INET6 else host
            urls[name] = f"http://{shown}:{port}"
        yield urls
    finally:
        for server, _, _ in running:
            server.should_exit = True
        for _, thread, sock in running:
            thread.join(timeout=5)
            sock.close()
