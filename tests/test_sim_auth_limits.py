"""Auth, rate limiting and the request log of the simulated providers, in each provider's shape."""

from __future__ import annotations

import time

import pytest

from mcp_directory.sim import (
    DEMO_TOKENS,
    SimOptions,
    build_app,
    build_apps,
    build_world,
)
from mcp_directory.sim.common import RateLimiter
from tests.support import sim_client

pytestmark = pytest.mark.anyio

PATHS = {"rootly": "/v1/users", "opsgenie": "/v2/users", "retool": "/api/v2/users"}


@pytest.fixture(scope="module")
def world():
    return build_world(seed=5, people=20)


@pytest.mark.parametrize("provider", ["rootly", "opsgenie", "retool"])
@pytest.mark.parametrize("token", [None, "wrong-token"])
async def test_bad_or_missing_token_is_401_in_the_provider_shape(world, provider, token):
    app = build_apps(world)[provider]
    async with sim_client(app, provider, token) as c:
        response = await c.get(PATHS[provider])
    assert response.status_code == 401
    body = response.json()
    if provider == "rootly":
        assert response.headers["content-type"] == "application/vnd.api+json"
        assert body["errors"][0]["status"] == "401" and body["errors"][0]["title"]
        assert "x-ratelimit-remaining" in response.headers
    elif provider == "opsgenie":
        assert set(body) == {"message", "took", "requestId"}
        assert response.headers["x-request-id"] == body["requestId"]
        assert response.headers["x-ratelimit-state"] == "OK"
    else:
        assert response.headers["content-type"] == "application/json; charset=utf-8"
        assert body["success"] is False and body["message"]


@pytest.mark.parametrize("provider", ["rootly", "opsgenie", "retool"])
async def test_right_token_with_the_wrong_scheme_is_refused(world, provider):
    app = build_apps(world)[provider]
    other = "Token" if provider != "opsgenie" else "Bearer"
    async with sim_client(app, provider, None) as c:
        response = await c.get(PATHS[provider], headers={"Authorization": f"{other} {DEMO_TOKENS[provider]}"})
    assert response.status_code == 401


@pytest.mark.parametrize("provider", ["rootly", "opsgenie", "retool"])
async def test_rate_limit_returns_429_after_the_limit(world, provider):
    app = build_app(provider, world, SimOptions(token="k", rate_limit=3, rate_window_s=60))
    async with sim_client(app, provider, "k") as c:
        allowed = [await c.get(PATHS[provider]) for _ in range(3)]
        refused = await c.get(PATHS[provider])
    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert refused.status_code == 429
    body, headers = refused.json(), refused.headers
    if provider == "rootly":
        assert body == {"error": "Rate limit exceeded. Try again later."}
        assert [r.headers["x-ratelimit-remaining"] for r in allowed] == ["2", "1", "0"]
        assert [r.headers["x-ratelimit-used"] for r in allowed] == ["1", "2", "3"]
        assert headers["x-ratelimit-remaining"] == "0"
        assert headers["x-ratelimit-limit"].startswith("3")
        assert 0 < int(headers["x-ratelimit-reset"]) - time.time() <= 61
    elif provider == "opsgenie":
        assert body["message"] == "TooManyRequests" and body["requestId"] and "took" in body
        assert headers["x-ratelimit-state"] == "THROTTLED"
        assert headers["x-ratelimit-reason"] == "ACCOUNT"
        assert headers["x-ratelimit-period-in-sec"] == "60"
        assert all(r.headers["x-ratelimit-state"] == "OK" for r in allowed)
    else:
        assert body["success"] is False and body["message"]
        assert 1 <= int(headers["retry-after"]) <= 60


async def test_rootly_reads_and_writes_have_separate_buckets(world):
    app = build_app("rootly", world, SimOptions(token="k", rate_limit=1))
    async with sim_client(app, "rootly", "k") as c:
        assert (await c.get("/v1/users")).status_code == 200
        assert (await c.get("/v1/users")).status_code == 429
        write = await c.put("/v1/users/1", json={})
    assert write.status_code == 404  # write bucket still open; no write endpoints yet


def test_limiter_window_slides():
    now = [0.0]
    limiter = RateLimiter(2, 10.0, enforce=True, clock=lambda: now[0], wall=lambda: 1000.0)
    assert limiter.hit("b").allowed and limiter.hit("b").allowed
    refused = limiter.hit("b")
    assert not refused.allowed and refused.retry_after_s == 10 and refused.reset_epoch == 1010
    now[0] = 10.0
    assert limiter.hit("b").allowed


async def test_requests_are_logged_in_order_with_parsed_parts(world):
    app = build_app("opsgenie", world, SimOptions(token="k", record_requests=True))
    async with sim_client(app, "opsgenie", "k") as c:
        await c.get("/v2/users?limit=5&query=blocked:true")
        await c.post("/v2/teams", json={"name": "new"}, headers={"X-Trace": "abc"})
    first, second = app.state.requests
    assert (first.method, first.path, first.query) == ("GET", "/v2/users", {"limit": "5", "query": "blocked:true"})
    assert first.body is None and first.headers["authorization"] == "GenieKey k"
    assert (second.method, second.body, second.headers["x-trace"]) == ("POST", {"name": "new"}, "abc")
