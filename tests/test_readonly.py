"""Read-only is the default and is enforced in one place: whatever the flag and environment say,
a server without writes lists no write tool, refuses non-GET proxy calls, and sends no
non-GET request upstream."""

from __future__ import annotations

import dataclasses
import itertools

import httpx2 as httpx
import pytest
from mcp import Client

from mcp_directory.config import ProviderConfig, Settings
from mcp_directory.directory import Directory
from mcp_directory.server import build_server
from mcp_directory.sim import build_apps, build_world
from mcp_directory.tools import TOOLS

from .support import TOKENS, URLS, fails, ok

WRITE_TOOLS = {t.name for t in TOOLS if not t.read_only}
ENV_VALUES = [None, "false", "0", "no", "garbage", "true", "1", "yes", "TRUE"]
FLAG_VALUES = [None, True]


def writes_expected(env_value, flag):
    return bool(flag) or (env_value or "").lower() in {"true", "1", "yes"}


@pytest.mark.anyio
@pytest.mark.parametrize("env_value,flag", list(itertools.product(ENV_VALUES, FLAG_VALUES)))
async def test_every_flag_and_environment_combination(env_value, flag):
    env = {} if env_value is None else {"MCP_DIRECTORY_ALLOW_WRITES": env_value}
    settings = Settings.from_env(env, allow_writes=flag)
    world = build_world(seed=1, people=20)
    apps = {
        p: app for p, app in build_apps(world, TOKENS, record_requests=True).items() if p in TOKENS
    }  # the four with writes
    settings = dataclasses.replace(settings, providers={p: ProviderConfig(p, TOKENS[p], URLS[p]) for p in apps})
    transports = {p: httpx.ASGITransport(app=a) for p, a in apps.items()}
    async with Client(build_server(Directory(settings, transports=transports))) as c:
        tools = {t.name: t for t in (await c.list_tools()).tools}
        proxy = tools["proxy_request"]
        if writes_expected(env_value, flag):
            assert set(tools) >= WRITE_TOOLS
            assert proxy.annotations.read_only_hint is False and proxy.annotations.destructive_hint is True
            return
        assert not (WRITE_TOOLS & set(tools))
        assert proxy.annotations.read_only_hint is True
        for tool in WRITE_TOOLS:
            err = await fails(c, tool, {"provider": "retool", "user_id": "x", "confirm": True}, "writes_disabled")
            assert "--allow-writes" in err["message"]
        paths = (("rootly", "/v1/teams/1"), ("opsgenie", "/v2/users/x"), ("retool", "/users/x"), ("jsm", "/v1/teams"))
        for provider, path in paths:
            for method in ("POST", "PUT", "PATCH", "DELETE"):
                err = await fails(
                    c,
                    "proxy_request",
                    {"provider": provider, "method": method, "path": path, "body": "{}"},
                    "writes_disabled",
                )
                assert "--allow-writes" in err["message"]
            await ok(c, "proxy_request", {"provider": provider, "path": path})
    for app in apps.values():
        assert app.state.requests and {r.method for r in app.state.requests} == {"GET"}
