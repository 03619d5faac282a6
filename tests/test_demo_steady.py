"""The demo holds steady (issue 21): calls through it leave nothing behind in its simulators. The
soak benchmark (bench/soak.py) measures the serving process; this counts what the simulators keep."""

from __future__ import annotations

import gc

import pytest
from mcp import Client

from bench.soak import BAD_EVERY, Mix, group_ids, run_mix
from mcp_directory.config import Settings
from mcp_directory.demo import demo_directory
from mcp_directory.server import build_server
from mcp_directory.sim import build_apps, build_world
from mcp_directory.sim.common import Gate, RequestRecord

from .support import TOKENS, sim_client

CALLS = 2 * BAD_EVERY  # the whole mix twice over, careless calls included


def live(kind: type) -> list[object]:
    gc.collect()
    return [o for o in gc.get_objects() if isinstance(o, kind)]


@pytest.mark.anyio
async def test_the_demo_keeps_no_record_of_the_requests_it_serves():
    gates_before = {id(g) for g in live(Gate)}
    server = build_server(demo_directory(Settings(providers={})))
    gates = [g for g in live(Gate) if id(g) not in gates_before]
    assert len(gates) == 4  # one per simulated provider
    records_before = len(live(RequestRecord))  # what other tests' simulators still hold
    errors: list[str] = []
    async with Client(server) as client:
        mix = Mix(await group_ids(client.call_tool))
        assert await run_mix(client.call_tool, mix, CALLS, errors) == CALLS
    assert errors == []
    assert sum(g.received for g in gates) > CALLS  # the calls did reach the simulators, and were counted
    assert all(g.requests is None for g in gates)  # no log unless asked for
    assert len(live(RequestRecord)) <= records_before  # nor a record kept anywhere else


@pytest.mark.anyio
async def test_a_log_is_kept_only_when_asked_for():
    world = build_world(seed=2, people=20)
    logged, counted = build_apps(world, TOKENS, record_requests=True), build_apps(world, TOKENS)
    for apps in (logged, counted):
        async with sim_client(apps["retool"], "retool", TOKENS["retool"]) as c:
            assert (await c.get("/api/v2/users?limit=2")).status_code == 200
            assert (await c.get("/api/v2/nowhere")).status_code == 404
    assert [r.path for r in logged["retool"].state.requests] == ["/api/v2/users", "/api/v2/nowhere"]
    assert counted["retool"].state.requests is None and counted["retool"].state.gate.received == 2
