"""Complete, correct answers while providers throttle and hiccup: fault-injected simulators
(seeded, so each run injects the same faults), no timed assertions."""

from __future__ import annotations

import dataclasses

import pytest
from mcp import Client
from starlette.responses import JSONResponse

from mcp_directory.config import ClientOptions, ProviderConfig, Settings
from mcp_directory.directory import Directory
from mcp_directory.retry import RetryPolicy
from mcp_directory.server import build_server
from mcp_directory.sim import build_apps, build_world, serve_on_loopback
from mcp_directory.sim.faults import FaultPlan

from .support import TOKENS, fails, ok, sim_directory, traverse
from .test_writes import member_roles

FAST = ClientOptions(
    retry=RetryPolicy(max_attempts=8, max_total_wait=10, base_delay=0.005, max_delay=0.02), read_timeout=5
)
PROVIDERS = ("rootly", "opsgenie", "retool")


def directory_with(world, client=FAST, **kwargs):
    directory, apps = sim_directory(world, **kwargs)
    directory.settings = dataclasses.replace(directory.settings, client=client)
    for adapter in directory.adapters.values():
        adapter.http.options = client
    return directory, apps


def listing_order(world, provider):
    users = getattr(world, provider).users
    if provider == "opsgenie":
        return [u["id"] for u in sorted(users.values(), key=lambda u: (u["username"].lower(), u["id"]))]
    return [str(k) for k in users]


@pytest.fixture(scope="module")
def world():
    return build_world(seed=11, people=300)


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("seed", [1, 2])
async def test_full_traversal_under_25_percent_faults_equals_the_directory(world, provider, seed):
    directory, apps = directory_with(world)
    apps[provider].state.gate.faults = FaultPlan(
        error_rate=0.13, statuses=(429, 502, 503), drop_rate=0.06, malformed_rate=0.06, seed=seed, retry_after_s=0
    )
    async with Client(build_server(directory)) as c:
        users = await traverse(c, "list_users", {"provider": provider, "limit": 17})
        groups = await traverse(c, "list_groups", {"provider": provider, "limit": 2})
    assert [u["id"] for u in users] == listing_order(world, provider)
    assert len(groups) == len(world.retool.groups if provider == "retool" else getattr(world, provider).teams)
    injected = [r.fault for r in apps[provider].state.requests if r.fault]
    assert len(injected) >= 3  # the faults really happened


@pytest.mark.anyio
async def test_permanent_500_is_an_error_never_a_short_page(world):
    directory, apps = directory_with(world)

    async def fail_page_three(request):
        if request.query_params.get("page[number]") == "3":
            return JSONResponse({"errors": [{"title": "Internal Server Error", "status": "500"}]}, status_code=500)
        return None

    apps["rootly"].state.gate.hooks.append(fail_page_three)
    async with Client(build_server(directory)) as c:
        # pages of 7 upstream: 30 items need pages 1-5, and page 3 always fails
        err = await fails(c, "list_users", {"provider": "rootly", "limit": 30}, "upstream_error")
        assert err["status"] == 500
        first = await ok(c, "list_users", {"provider": "rootly", "limit": 14})  # pages 1-2 only
        assert len(first["result"]) == 14
        await fails(
            c, "list_users", {"provider": "rootly", "limit": 14, "cursor": first["next_cursor"]}, "upstream_error"
        )
    page_three = [r for r in apps["rootly"].state.requests if r.query.get("page[number]") == "3"]
    assert len(page_three) >= 2 * FAST.retry.max_attempts  # retried within the budget (SPEC §6), then an error


@pytest.mark.anyio
async def test_dropped_connection_mid_traversal_is_retried(world):
    directory, apps = directory_with(world)
    async with Client(build_server(directory)) as c:
        first = await ok(c, "list_users", {"provider": "retool", "limit": 10})
        apps["retool"].state.gate.faults = FaultPlan(drop_rate=1.0, max_faults=2)
        rest = await traverse(c, "list_users", {"provider": "retool", "limit": 10, "cursor": first["next_cursor"]})
    assert [u["id"] for u in first["result"] + rest] == listing_order(world, "retool")
    assert [r.fault for r in apps["retool"].state.requests].count("drop") == 2


@pytest.mark.anyio
async def test_persistent_drops_give_a_clear_error(world):
    directory, apps = directory_with(
        world, client=dataclasses.replace(FAST, retry=RetryPolicy(max_attempts=3, base_delay=0.001))
    )
    apps["opsgenie"].state.gate.faults = FaultPlan(drop_rate=1.0)
    async with Client(build_server(directory)) as c:
        err = await fails(c, "list_users", {"provider": "opsgenie"}, "upstream_error")
    assert "opsgenie" in err["message"] and "retry" in err["message"]
    assert len(apps["opsgenie"].state.requests) == 3


@pytest.mark.anyio
async def test_rate_limited_after_the_retry_budget_says_when(world):
    directory, apps = directory_with(
        world, client=dataclasses.replace(FAST, retry=RetryPolicy(max_attempts=2, base_delay=0.001))
    )
    apps["rootly"].state.gate.faults = FaultPlan(error_rate=1.0, statuses=(429,), retry_after_s=0)
    async with Client(build_server(directory)) as c:
        err = await fails(c, "get_user", {"provider": "rootly", "user_id": "1"}, "rate_limited")
    assert err["status"] == 429 and err["retry_after"] is not None


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_no_write_is_sent_twice_under_faults(provider):
    """Errors, drops after the write was applied, and garbled answers: each write goes out once."""
    world = build_world(seed=12, people=60)  # its own: this test changes it
    directory, apps = directory_with(world, allow_writes=True)
    groups = world.retool.groups if provider == "retool" else getattr(world, provider).teams
    group_id = str(next(iter(groups)))
    members = member_roles(world, provider, group_id)
    users = [str(u) for u in getattr(world, provider).users if str(u) not in members]
    plans = [
        FaultPlan(
            error_rate=1.0, statuses=(429, 503), methods=frozenset({"POST", "PUT", "PATCH", "DELETE"}), retry_after_s=0
        ),
        FaultPlan(drop_rate=1.0, drop_when="after_handler", methods=frozenset({"POST", "PUT", "PATCH", "DELETE"})),
        FaultPlan(malformed_rate=1.0, methods=frozenset({"POST", "PUT", "PATCH", "DELETE"})),
    ]
    async with Client(build_server(directory)) as c:
        for plan, user_id in zip(plans, users, strict=False):
            apps[provider].state.gate.faults = plan
            result = await c.call_tool(
                "add_group_member", {"provider": provider, "group_id": group_id, "user_id": user_id}
            )
            assert result.is_error
            apps[provider].state.gate.faults = None
    writes = [(r.method, r.path, repr(r.body)) for r in apps[provider].state.requests if r.method != "GET"]
    assert len(writes) == len(plans) and len(set(writes)) == len(writes)


@pytest.mark.anyio
async def test_write_timing_out_after_it_was_sent_is_not_retried():
    world = build_world(seed=13, people=30)  # its own: this test changes it
    # Timeouts need a real socket: the simulator on a loopback port, no in-process transport.
    apps = build_apps(world, TOKENS, record_requests=True)
    apps["retool"].state.gate.faults = FaultPlan(
        latency_s=1.0, latency_when="after_handler", methods=frozenset({"POST"})
    )
    before = len(world.retool.users)
    with serve_on_loopback({"retool": apps["retool"]}) as urls:
        settings = Settings(
            providers={"retool": ProviderConfig("retool", TOKENS["retool"], urls["retool"])},
            allow_writes=True,
            client=dataclasses.replace(FAST, read_timeout=0.3),
        )
        async with Client(build_server(Directory(settings))) as c:
            err = await fails(
                c,
                "create_user",
                {"provider": "retool", "email": "late@acme.com", "first_name": "Late", "last_name": "Arrival"},
                "timeout",
            )
    assert "may or may not have been applied" in err["message"]
    posts = [r for r in apps["retool"].state.requests if r.method == "POST"]
    assert len(posts) == 1
    assert len(world.retool.users) == before + 1  # it was applied upstream: resending would duplicate it
