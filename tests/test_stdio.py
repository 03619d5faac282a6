"""The real program over stdio, as an MCP client in production sees it: a subprocess whose
*_BASE_URL variables point at the simulators on loopback ports."""

from __future__ import annotations

import sys
import tempfile

import pytest
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from mcp_directory.sim import build_apps, build_world, serve_on_loopback

from .support import TOKENS, fails, ok, server_env, traverse


@pytest.fixture(scope="module")
def world():
    return build_world(seed=5, people=90)


@pytest.fixture(scope="module")
def urls(world):
    with serve_on_loopback(build_apps(world, TOKENS)) as urls:
        yield urls


@pytest.mark.anyio
async def test_stdio_pages_through_every_user_of_every_provider(world, urls):
    with tempfile.TemporaryFile("w+") as errlog:
        async with (
            stdio_client(
                StdioServerParameters(
                    command=sys.executable, args=["-m", "mcp_directory", "serve"], env=server_env(urls)
                ),
                errlog=errlog,
            ) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            names = {t.name for t in (await session.list_tools()).tools}
            assert "list_users" in names and "assign_incident_role" not in names
            for provider in ("rootly", "opsgenie", "retool"):
                users = await traverse(session, "list_users", {"provider": provider, "limit": 37})
                assert sorted(u["id"] for u in users) == sorted(str(k) for k in getattr(world, provider).users)
                assert len({u["id"] for u in users}) == len(users)
            # errors are tool errors in the contract's shape, and the server keeps serving
            await fails(session, "get_user", {"provider": "rootly", "user_id": "no-such-user"}, "not_found")
            await fails(session, "list_users", {"provider": "rootly", "limit": 500}, "invalid_argument")
            me = await ok(session, "get_me", {"provider": "rootly"})
            assert me["result"]["id"] == world.rootly.me_id
        errlog.seek(0)
        log = errlog.read()
    for secret in TOKENS.values():
        assert secret not in log


@pytest.mark.anyio
async def test_stdio_half_configured_provider_warns_and_bad_key_is_redacted(urls):
    env = server_env(urls, OPSGENIE_API_KEY="wrong-key-5d8e1f0a")
    del env["RETOOL_BASE_URL"]
    with tempfile.TemporaryFile("w+") as errlog:
        async with (
            stdio_client(
                StdioServerParameters(command=sys.executable, args=["-m", "mcp_directory", "serve"], env=env),
                errlog=errlog,
            ) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            err = await fails(session, "list_users", {"provider": "retool"}, "not_configured")
            assert "RETOOL_BASE_URL" in err["message"]
            err = await fails(session, "list_users", {"provider": "opsgenie"}, "unauthorized")
            assert "wrong-key-5d8e1f0a" not in err["message"]
        errlog.seek(0)
        log = errlog.read()
    assert "RETOOL_BASE_URL" in log  # the start-up warning names the missing variable
    assert "wrong-key-5d8e1f0a" not in log and TOKENS["retool"] not in log
