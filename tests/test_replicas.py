"""Several replicas over one Redis (SPEC §10), for real: `serve --transport http` processes sharing
a redis-server that the tests start, in front of simulated providers on loopback ports that note
when each request arrived. One budget for all replicas over more than half a minute, a 429 on one
replica holding the other back, a cursor and an export from one replica served by the other, and
Redis stopped mid-run and started again under running replicas."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_directory import __version__
from mcp_directory.sim import build_apps, build_world, serve_on_loopback
from mcp_directory.sim.faults import FaultPlan
from tests.redis_support import (
    CURSOR_SECRET,
    RedisServer,
    Stamped,
    healthz,
    most_in_any_window,
    replicas,
    require_redis_server,
)
from tests.support import TOKENS, call, fails, ok, server_env

pytestmark = pytest.mark.anyio

BUDGET = 60  # requests a minute: 10 in any ten seconds
RUN_S = 35.0  # more than half a minute of load


@contextmanager
def simulators(*providers: str, people: int = 60) -> Iterator[tuple[dict[str, str], dict[str, Stamped]]]:
    apps = build_apps(build_world(seed=5, people=people), TOKENS)
    stamped = {p: Stamped(apps[p]) for p in providers}
    with serve_on_loopback(stamped) as urls:  # type: ignore[arg-type]  # an ASGI app, as uvicorn takes
        yield urls, stamped


def replica_env(urls: dict[str, str], redis_url: str, per_minute: int) -> dict[str, str]:
    rates = {f"{p.upper()}_REQUESTS_PER_MINUTE": str(per_minute) for p in urls}
    return server_env(urls, MCP_DIRECTORY_REDIS_URL=redis_url, MCP_DIRECTORY_CURSOR_SECRET=CURSOR_SECRET, **rates)


async def test_two_replicas_keep_one_budget_for_more_than_half_a_minute(redis_url):
    with simulators("rootly") as (urls, stamped), replicas(2, replica_env(urls, redis_url, BUDGET)) as served:
        served_ok = {url: 0 for url in served}
        errors: list[Any] = []

        async def session(url: str) -> None:
            async with Client(f"{url}/mcp") as client:
                for _ in range(10_000):  # ended by the deadline long before
                    data, is_error = await call(client, "list_users", {"provider": "rootly", "limit": 1})
                    if is_error:
                        errors.append(data)
                    else:
                        served_ok[url] += 1

        with anyio.move_on_after(RUN_S):  # calls waiting for the budget then are dropped with the sessions
            async with anyio.create_task_group() as tg:
                for url in served * 2:  # two sessions on each replica, more than the budget allows
                    tg.start_soon(session, url)
    arrived = [t for t, _ in stamped["rootly"].stamps]
    assert not errors, errors[:3]
    assert all(served_ok.values()), served_ok  # both replicas drew from the budget
    assert max(arrived) - min(arrived) >= 30  # the budget held over more than half a minute of requests
    assert most_in_any_window(arrived, 60.0) <= BUDGET  # in ANY minute, for both replicas together
    # Each replica alone would have sent up to 40 in 35 s: together they would pass the budget.


@pytest.fixture(scope="module")
def pair(redis_server):
    """Two replicas over the session's Redis in front of every simulated provider, for the tests
    that need no budget of their own (600 a minute)."""
    providers = ("rootly", "opsgenie", "retool")
    with simulators(*providers) as (urls, stamped), replicas(2, replica_env(urls, redis_server.url, 600)) as served:
        yield stamped, served


async def test_a_429_on_one_replica_holds_the_other_back(pair, redis_server, redis_url):
    stamped, (one, other) = pair
    sim = stamped["retool"]
    seen = len(sim.stamps)
    sim.state.gate.faults = FaultPlan(error_rate=1.0, statuses=(429,), retry_after_s=3, max_faults=1)
    try:  # the next request gets 429 with Retry-After: 3, the ones after it go through
        async with Client(f"{one}/mcp") as a, Client(f"{other}/mcp") as b, anyio.create_task_group() as tg:
            tg.start_soon(ok, a, "list_users", {"provider": "retool", "limit": 1})  # retried after the wait
            for _ in range(200):  # until the replica that got the 429 has told Redis to hold everyone
                if redis_server.command("EXISTS", "mcp-directory:budget:retool:hold") == ":1":
                    break
                await anyio.sleep(0.01)
            await ok(b, "list_users", {"provider": "retool", "limit": 1})
    finally:
        sim.state.gate.faults = None
    stamps = sim.stamps[seen:]
    assert stamps[0][1] == 429 and len(stamps) >= 3 and all(status == 200 for _, status in stamps[1:])
    # The other replica's request too waited out Retry-After: 3 (less a margin for the two clocks).
    assert min(t for t, _ in stamps[1:]) >= stamps[0][0] + 2.5


async def test_a_cursor_and_an_export_from_one_replica_are_served_by_the_other(pair):
    _, (one, other) = pair
    async with Client(f"{one}/mcp") as a, Client(f"{other}/mcp") as b:
        first = await ok(a, "access_review", {"limit": 5})
        second = await ok(b, "access_review", {"limit": 5, "cursor": first["next_cursor"]})
        assert second["as_of"] == first["as_of"] and second["total"] == first["total"]
        assert second["export"] == first["export"]
        csv = (await b.read_resource(first["export"])).contents[0].text
        assert csv.startswith("email,name,provider,user_id,status,is_admin,last_active_at,groups")
        assert len(csv.strip().splitlines()) > first["total"]  # every person, one line per account
        users = await ok(a, "list_users", {"provider": "rootly", "limit": 3})
        more = await ok(b, "list_users", {"provider": "rootly", "limit": 3, "cursor": users["next_cursor"]})
        assert {u["id"] for u in more["result"]}.isdisjoint(u["id"] for u in users["result"])


async def test_redis_stopped_mid_run_fails_calls_naming_redis_and_they_work_again_once_it_is_back():
    redis = RedisServer(require_redis_server())  # its own, to stop
    redis.start()
    try:
        with simulators("rootly") as (urls, stamped), replicas(2, replica_env(urls, redis.url, 600)) as served:
            stamps = stamped["rootly"].stamps
            async with Client(f"{served[0]}/mcp") as a, Client(f"{served[1]}/mcp") as b:
                for client in (a, b):
                    await ok(client, "list_users", {"provider": "rootly", "limit": 1})
                assert [healthz(url) for url in served] == [(200, _health("ok"))] * 2
                before = len(stamps)

                redis.stop()
                for client in (a, b):
                    err = await fails(client, "list_users", {"provider": "rootly", "limit": 1}, "upstream_error")
                    assert "Redis at redis://127.0.0.1:" in err["message"] and err["provider"] == "rootly"
                    err = await fails(client, "access_review", {"limit": 5}, "upstream_error")
                    assert "Redis" in err["message"]
                assert [healthz(url) for url in served] == [(200, _health("unreachable"))] * 2
                assert len(stamps) == before  # nothing reached the provider while the budget could not be read

                redis.start()  # same port, empty; the replicas are not restarted
                for client in (a, b):
                    await ok(client, "list_users", {"provider": "rootly", "limit": 1})
                    await ok(client, "access_review", {"limit": 5})
                assert [healthz(url) for url in served] == [(200, _health("ok"))] * 2
                assert len(stamps) > before
    finally:
        redis.stop()


def _health(redis: str) -> dict[str, Any]:
    return {"status": "ok", "version": __version__, "providers": ["rootly"], "redis": redis}
