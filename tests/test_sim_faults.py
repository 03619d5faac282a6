"""Fault injection in the simulators (errors, drops, malformed bodies, latency) and the real
rate-limiter mode whose advertised wait really is enough."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import httpx2
import pytest

from mcp_directory.sim import (
    FaultPlan,
    SimOptions,
    build_app,
    build_world,
    serve_on_loopback,
)
from tests.support import sim_client

pytestmark = pytest.mark.anyio

PROVIDERS = ("rootly", "opsgenie", "retool")
PATHS = {"rootly": "/v1/users", "opsgenie": "/v2/users", "retool": "/api/v2/users"}
AUTH = {"rootly": "Bearer k", "opsgenie": "GenieKey k", "retool": "Bearer k"}


@pytest.fixture
def world():
    return build_world(seed=21, people=30)


def make(world, provider: str, plan: FaultPlan | None = None, **options):
    sim_options = SimOptions(token="k", faults=plan, record_requests=True, **options)
    client = sim_client(build_app(provider, world, sim_options), provider, "k")
    return client.app, client


def assert_provider_error(provider: str, response: httpx2.Response) -> None:
    """The injected error is in the provider's own shape, with its rate-limit headers on a 429."""
    body, headers, status = response.json(), response.headers, response.status_code
    if provider == "rootly":
        assert headers["content-type"] == "application/vnd.api+json"
        assert "x-ratelimit-limit" in headers and "x-ratelimit-reset" in headers
        if status == 429:
            assert body == {"error": "Rate limit exceeded. Try again later."}
            assert headers["x-ratelimit-remaining"] == "0"
            assert time.time() - 1 <= int(headers["x-ratelimit-reset"]) <= time.time() + 2
        else:
            assert body["errors"][0]["status"] == str(status) and body["errors"][0]["title"]
    elif provider == "opsgenie":
        assert set(body) == {"message", "took", "requestId"} and headers["x-request-id"] == body["requestId"]
        if status == 429:
            assert body["message"] == "TooManyRequests"
            assert headers["x-ratelimit-state"] == "THROTTLED" and headers["x-ratelimit-reason"] == "ACCOUNT"
            assert headers["x-ratelimit-period-in-sec"] == "1"
        else:
            assert headers["x-ratelimit-state"] == "OK"
    else:
        assert headers["content-type"] == "application/json; charset=utf-8"
        assert body["success"] is False and body["message"]
        assert (headers.get("retry-after") == "1") is (status == 429)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_error_rate_one_answers_every_request_with_an_injected_error(world, provider):
    app, client = make(world, provider, FaultPlan(error_rate=1.0, seed=3))
    async with client:
        responses = [await client.get(PATHS[provider]) for _ in range(40)]
    assert {r.status_code for r in responses} == {429, 500, 502, 503}
    for response in responses:
        assert_provider_error(provider, response)
    assert [r.fault for r in app.state.requests] == [str(r.status_code) for r in responses]


async def test_injected_errors_skip_the_handler_so_writes_do_not_happen(world):
    _app, client = make(world, "opsgenie", FaultPlan(error_rate=1.0, statuses=(503,)))
    count = len(world.opsgenie.users)
    async with client:
        response = await client.post(
            "/v2/users", json={"username": "x@acme.com", "fullName": "X", "role": {"name": "user"}}
        )
    assert response.status_code == 503 and len(world.opsgenie.users) == count


async def outcomes(world, seed: int) -> list[str | None]:
    plan = FaultPlan(error_rate=0.3, drop_rate=0.2, malformed_rate=0.2, seed=seed)
    app, client = make(world, "retool", plan)
    async with client:
        for _ in range(60):
            with contextlib.suppress(httpx2.TransportError):
                await client.get("/api/v2/groups")
    return [r.fault for r in app.state.requests]


async def test_a_seed_makes_the_fault_sequence_reproducible(world):
    first = await outcomes(world, seed=7)
    assert first == await outcomes(world, seed=7)
    assert first != await outcomes(world, seed=8)
    assert {"drop", "malformed", None} <= set(first) and {"429", "500", "502", "503"} & set(first)


async def test_drop_after_handler_applies_the_write_but_the_client_sees_a_transport_error(world):
    plan = FaultPlan(drop_rate=1.0, drop_when="after_handler", methods=frozenset({"POST"}))
    app, client = make(world, "opsgenie", plan)
    async with client:
        with pytest.raises(httpx2.TransportError):
            await client.post(
                "/v2/users",
                json={"username": "lost.reply@acme.com", "fullName": "Lost Reply", "role": {"name": "user"}},
            )
        assert any(u["username"] == "lost.reply@acme.com" for u in world.opsgenie.users.values())
        read = await client.get("/v2/users/lost.reply@acme.com")  # GET is not in `methods`
    assert read.status_code == 200
    assert [r.fault for r in app.state.requests] == ["drop", None]


async def test_drop_before_handler_leaves_the_state_alone(world):
    _app, client = make(world, "retool", FaultPlan(drop_rate=1.0))
    user_id = next(u for u, v in world.retool.users.items() if v["active"])
    async with client:
        with pytest.raises(httpx2.RemoteProtocolError):
            await client.delete(f"/api/v2/users/{user_id}")
    assert world.retool.users[user_id]["active"] is True


async def test_malformed_bodies_are_200_and_not_json(world):
    for provider in PROVIDERS:
        app, client = make(world, provider, FaultPlan(malformed_rate=1.0))
        async with client:
            response = await client.get(PATHS[provider])
        assert response.status_code == 200
        with pytest.raises(ValueError):
            json.loads(response.content)
        assert app.state.requests[-1].fault == "malformed"


@pytest.mark.parametrize("when", ["before_handler", "after_handler"])
async def test_latency_is_applied(world, when):
    app, client = make(world, "rootly", FaultPlan(latency_s=0.2, jitter_s=0.05, latency_when=when))
    async with client:
        started = time.monotonic()
        response = await client.get("/v1/users/me")
        elapsed = time.monotonic() - started
    assert response.status_code == 200
    record = app.state.requests[-1]
    assert 0.2 <= record.delay_s <= 0.25 and record.fault is None
    assert elapsed >= record.delay_s


async def test_paths_filter_and_max_faults(world):
    _app, client = make(world, "rootly", FaultPlan(error_rate=1.0, statuses=(502,), paths=r"^/v1/teams", max_faults=2))
    async with client:
        users = await client.get("/v1/users")
        teams = [(await client.get("/v1/teams")).status_code for _ in range(4)]
    assert users.status_code == 200 and teams == [502, 502, 200, 200]


async def test_faults_can_be_switched_on_and_off_mid_traversal(world):
    app, client = make(world, "retool")
    statuses = []
    async with client:
        token = None
        for page in range(4):
            if page == 2:
                app.state.gate.faults = FaultPlan(error_rate=1.0, statuses=(503,))
            params = {"limit": 5, **({"next_token": token} if token else {})}
            response = await client.get("/api/v2/users", params=params)
            statuses.append(response.status_code)
            if response.status_code == 200:
                token = response.json()["next_token"]
        app.state.gate.faults = None
        resumed = await client.get("/api/v2/users", params={"limit": 5, "next_token": token})
    assert statuses == [200, 200, 503, 503] and resumed.status_code == 200
    assert [r.fault for r in app.state.requests] == [None, None, "503", "503", None]


def test_plans_are_validated():
    with pytest.raises(ValueError):
        FaultPlan(error_rate=0.7, drop_rate=0.5)
    with pytest.raises(ValueError):
        FaultPlan(drop_when="sometimes")
    assert FaultPlan(methods={"post"}).methods == frozenset({"POST"})


def test_drop_over_a_real_port_is_a_closed_connection(world):
    app = build_app("rootly", world, SimOptions(token="k", faults=FaultPlan(drop_rate=1.0), record_requests=True))
    with (
        serve_on_loopback({"rootly": app}) as urls,
        httpx2.Client(base_url=urls["rootly"], headers={"Authorization": AUTH["rootly"]}) as c,
    ):
        with pytest.raises(httpx2.RemoteProtocolError):
            c.get("/v1/users/me")
        app.state.gate.faults = None
        assert c.get("/v1/users/me").status_code == 200


# --- the real rate limiter ----------------------------------------------------------------------


def advertised_wait(provider: str, response: httpx2.Response) -> float:
    headers = response.headers
    if provider == "rootly":
        return max(int(headers["x-ratelimit-reset"]) - time.time(), 0.0)
    if provider == "opsgenie":
        assert headers["x-ratelimit-state"] == "THROTTLED" and headers["x-ratelimit-reason"] == "ACCOUNT"
        return float(headers["x-ratelimit-period-in-sec"])
    return float(headers["retry-after"])


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_limiter_refuses_the_extra_request_and_the_advertised_wait_is_enough(world, provider):
    app, client = make(world, provider, rate_limit=2, rate_window_s=1.0)
    async with client:
        allowed = [(await client.get(PATHS[provider])).status_code for _ in range(2)]
        refused = await client.get(PATHS[provider])
        assert allowed == [200, 200] and refused.status_code == 429
        wait = advertised_wait(provider, refused)
        assert 0 < wait <= 2
        await asyncio.sleep(wait)
        after = await client.get(PATHS[provider])
    assert after.status_code == 200, after.text
    assert all(r.fault is None for r in app.state.requests)  # a real refusal, not an injected one
