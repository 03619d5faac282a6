"""proxy_request: the happy path, and a table of hostile inputs that must never leave the
configured provider, checked with a canary server on another loopback port."""

from __future__ import annotations

import json

import pytest
from mcp import Client
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcp_directory.server import build_server
from mcp_directory.sim import build_world, serve_on_loopback

from .support import TOKENS, fails, ok, sim_directory


@pytest.fixture(scope="module")
def world():
    return build_world(seed=3, people=40)


@pytest.fixture(scope="module")
def canary():
    """A server that must never be reached; it records whatever does reach it."""
    hits = []

    async def anything(request):
        hits.append((request.method, request.url.path))
        return JSONResponse({"canary": True})

    app = Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])])
    with serve_on_loopback({"canary": app}) as urls:
        host = urls["canary"].removeprefix("http://")
        yield host, hits


@pytest.fixture
async def client(world):
    directory, apps = sim_directory(world, allow_writes=True)
    async with Client(build_server(directory)) as c:
        yield c, apps


@pytest.mark.anyio
async def test_proxy_get_each_provider(client, world):
    c, apps = client
    data = await ok(
        c, "proxy_request", {"provider": "rootly", "path": "/v1/users", "query": [{"name": "page[size]", "value": "2"}]}
    )
    assert data["status"] == 200 and len(data["body"]["data"]) == 2 and data["truncated"] is False
    assert "application/vnd.api+json" in data["headers"]["content-type"]
    assert "x-ratelimit-remaining" in data["headers"] and "x-request-id" not in data["headers"]
    data = await ok(c, "proxy_request", {"provider": "opsgenie", "path": "/v2/account"})
    assert data["body"]["data"]["userCount"] == len(world.opsgenie.users)
    data = await ok(
        c, "proxy_request", {"provider": "retool", "path": "/users", "query": [{"name": "limit", "value": "1"}]}
    )
    assert data["status"] == 200 and data["body"]["total_count"] == len(world.retool.users)
    data = await ok(c, "proxy_request", {"provider": "retool", "path": "/users/user_doesnotexist"})
    assert data["status"] == 404 and data["body"]["success"] is False
    sent = apps["retool"].state.requests[-1]
    assert (
        sent.path == "/api/v2/users/user_doesnotexist" and sent.headers["authorization"] == f"Bearer {TOKENS['retool']}"
    )


@pytest.mark.anyio
async def test_big_bodies_are_cut_at_256_kib():
    world = build_world(seed=4, people=1500)
    directory, _ = sim_directory(world)
    async with Client(build_server(directory)) as c:
        data = await ok(c, "proxy_request", {"provider": "retool", "path": "/users"})  # no limit: every user
    assert data["truncated"] is True and isinstance(data["body"], str)
    assert 200 * 1024 < len(data["body"].encode()) <= 256 * 1024


def hostile_inputs(canary_host):
    big = json.dumps({"blob": "x" * (1024 * 1024 + 10)})
    return [
        ("GET", f"http://{canary_host}/v1/users", None, None),
        ("GET", f"https://{canary_host}/v1/users", None, None),
        ("GET", f"//{canary_host}/v1/users", None, None),
        ("GET", f"///{canary_host}/v1/users", None, None),
        ("GET", f"/v1/users@{canary_host}", None, None),
        ("GET", f"@{canary_host}/v1/users", None, None),
        ("GET", f"/%2F%2F{canary_host}/v1/users", None, None),
        ("GET", f"/%2f{canary_host}/v1", None, None),
        ("GET", f"\\\\{canary_host}\\v1\\users", None, None),
        ("GET", "/v1/../../etc/passwd", None, None),
        ("GET", "/v1/users/../../x", None, None),
        ("GET", "/v1/%2e%2e/%2e%2e/x", None, None),
        ("GET", "/v1/%2E%2E/users", None, None),
        ("GET", "/v1/.%2e/users", None, None),
        ("GET", "/v1/%252e%252e/users", None, None),
        ("GET", "/v1/./users", None, None),
        ("GET", "/v1\\..\\users", None, None),
        ("GET", "/v1/users%5c..%5cx", None, None),
        ("GET", "/v1/users\r\nHost: evil.example", None, None),
        ("GET", "/v1/users%0d%0aX-Injected:%201", None, None),
        ("GET", "/v1/users\x00", None, None),
        ("GET", "/v1/users\t", None, None),
        ("GET", "/v1/users#fragment", None, None),
        ("GET", "/v1/users%23fragment", None, None),
        ("GET", "/v1/users?page[size]=1", None, None),
        ("GET", "v1/users", None, None),
        ("GET", " /v1/users", None, None),
        ("GET", "/v2/users", None, None),  # not below Rootly's /v1/
        ("GET", "/v1/users", [{"name": "page[size]", "value": 5}], None),  # non-string query value
        ("GET", "/v1/users", [{"name": "page[size]", "value": ["1", "2"]}], None),
        ("GET", "/v1/users", [{"name": "x", "value": "1\r\nHost: evil"}], None),
        ("GET", "/v1/users", [{"name": "x", "value": "1", "extra": "y"}], None),  # a pair has two keys
        ("GET", "/v1/users", [{"name": "x"}], None),
        ("GET", "/v1/users", {"page[size]": "2"}, None),  # the old shape, a map: now a list of pairs
        ("GET", "/v1/users", [], None),  # empty: null (or nothing) says "no query"
        ("POST", "/v1/teams", None, big),  # body over 1 MiB
        ("POST", "/v1/teams", None, "not an object"),  # not JSON
        ("POST", "/v1/teams", None, '"a JSON string"'),  # JSON, but neither object nor array
        ("POST", "/v1/teams", None, "NaN"),
        ("POST", "/v1/teams", None, '{"data": NaN}'),
        ("POST", "/v1/teams", None, ""),
        ("POST", "/v1/teams", None, "[" * 200_000 + "]" * 200_000),  # deeper than any parser recurses
        ("POST", "/v1/teams", None, {"data": {}}),  # the old shape, an object: now its text
        ("PUT", f"http://{canary_host}/v1/teams/1", None, '{"data": {}}'),
        ("CONNECT", "/v1/users", None, None),
    ]


@pytest.mark.anyio
async def test_hostile_inputs_are_refused_and_reach_nothing(client, canary):
    c, apps = client
    host, hits = canary
    table = hostile_inputs(host)
    assert len(table) >= 20
    before = len(apps["rootly"].state.requests)
    for method, path, query, body in table:
        args = {"provider": "rootly", "method": method, "path": path}
        if query is not None:
            args["query"] = query
        if body is not None:
            args["body"] = body
        err = await fails(c, "proxy_request", args, "invalid_argument")
        assert err["message"], (method, path)
    assert hits == []
    assert len(apps["rootly"].state.requests) == before  # refused before anything was sent
    # and the proxy still works afterwards
    assert (await ok(c, "proxy_request", {"provider": "rootly", "path": "/v1/users/me"}))["status"] == 200


@pytest.mark.anyio
async def test_percent_encoded_at_inside_an_id_is_allowed(client, world):
    c, _apps = client
    user = next(iter(world.opsgenie.users.values()))
    path = "/v2/users/" + user["username"].replace("@", "%40")
    data = await ok(c, "proxy_request", {"provider": "opsgenie", "path": path})
    assert data["status"] == 200 and data["body"]["data"]["id"] == user["id"]


@pytest.mark.anyio
async def test_proxy_writes_are_audited_and_change_the_provider(client, world, caplog):
    import logging

    c, _apps = client
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    team_id = next(iter(world.opsgenie.teams))
    user = next(
        u
        for u in world.opsgenie.users.values()
        if all(m["user"]["id"] != u["id"] for m in world.opsgenie.teams[team_id]["members"])
    )
    data = await ok(
        c,
        "proxy_request",
        {
            "provider": "opsgenie",
            "method": "POST",
            "path": f"/v2/teams/{team_id}/members",
            "query": [{"name": "teamIdentifierType", "value": "id"}],
            "body": json.dumps({"user": {"id": user["id"]}, "role": "user"}),
        },
    )
    assert data["status"] == 200
    assert user["id"] in [m["user"]["id"] for m in world.opsgenie.teams[team_id]["members"]]
    await ok(c, "proxy_request", {"provider": "opsgenie", "path": f"/v2/teams/{team_id}"})  # GETs are not audited
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "mcp_directory.audit"]
    assert len(lines) == 1 and lines[0]["tool"] == "proxy_request" and lines[0]["target"]["method"] == "POST"
    assert lines[0]["status"] == 200 and "body" not in lines[0]["target"]


@pytest.mark.anyio
async def test_a_provider_echoing_the_credential_never_shows_it():
    """A (misbehaving) provider that echoes request headers into its body: the key is redacted."""
    import httpx2 as httpx
    from starlette.applications import Starlette as App

    from mcp_directory.config import ProviderConfig, Settings
    from mcp_directory.directory import Directory

    async def echo(request):
        return JSONResponse({"you_sent": dict(request.headers), "path": request.url.path})

    app = App(routes=[Route("/api/v2/{path:path}", echo)])
    secret = "retool-secret-f00dfacecafe"
    settings = Settings(providers={"retool": ProviderConfig("retool", secret, "http://echo.test")})
    directory = Directory(settings, transports={"retool": httpx.ASGITransport(app=app)})
    async with Client(build_server(directory)) as c:
        result = await c.call_tool("proxy_request", {"provider": "retool", "path": "/users"})
    text = result.content[0].text
    assert not result.is_error and secret not in text and secret not in str(result.structured_content)
    assert result.structured_content["body"]["you_sent"]["authorization"] == "Bearer [redacted]"
