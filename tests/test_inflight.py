"""Identical GETs in flight at once go upstream once (`inflight.py`), and never stand in for a
read that starts after a write: through the real HTTP client against a simulated provider, whose
request log says how many requests arrived."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_directory.errors import NotFound
from mcp_directory.inflight import InFlight
from mcp_directory.server import build_server
from mcp_directory.sim import build_world
from mcp_directory.sim.faults import FaultPlan

from .support import ok, sim_directory

pytestmark = pytest.mark.anyio
USERS = "/v1/users"
PARAMS = {"page[number]": 1, "page[size]": 5}


@pytest.fixture
def world():
    return build_world(seed=11, people=20)


@pytest.fixture
async def rootly(world):
    directory, apps = sim_directory(world, providers=("rootly",), allow_writes=True)
    app = apps["rootly"]
    app.state.gate.faults = FaultPlan(latency_s=0.2, methods=frozenset({"GET"}))  # reads overlap
    yield directory.adapters["rootly"].http, app
    await directory.aclose()


def gets(app: Any, path: str = USERS) -> int:
    return sum(1 for r in app.state.requests if r.method == "GET" and r.path.endswith(path))


async def test_identical_concurrent_gets_send_one_request_and_each_caller_gets_its_own_copy(rootly):
    http, app = rootly
    answers: list[Any] = [None] * 5

    async def read(i: int) -> None:
        answers[i] = await http.get(USERS, PARAMS)

    async with anyio.create_task_group() as tg:
        for i in range(5):
            tg.start_soon(read, i)
    assert gets(app) == 1
    assert all(a == answers[0] for a in answers) and len(answers[0]["data"]) == 5
    answers[0]["data"].clear()  # one caller changing its answer changes nobody else's
    assert all(len(a["data"]) == 5 for a in answers[1:])
    assert len({id(a) for a in answers}) == 5


async def test_different_requests_are_not_shared(rootly):
    http, app = rootly
    async with anyio.create_task_group() as tg:
        tg.start_soon(http.get, USERS, PARAMS)
        tg.start_soon(http.get, USERS, {**PARAMS, "page[number]": 2})
    assert gets(app) == 2


async def test_a_get_after_a_write_is_not_answered_by_one_from_before_it(rootly, world):
    http, app = rootly
    before_write: list[Any] = []
    after_write: list[Any] = []
    team = next(iter(world.rootly.teams))

    async def early() -> None:
        before_write.append(await http.get(USERS, PARAMS))

    async with anyio.create_task_group() as tg:
        tg.start_soon(early)
        await anyio.sleep(0.05)  # the first GET is on its way (0.2 s upstream)
        await http.write("PUT", f"/v1/teams/{team}", {"data": {"type": "groups", "attributes": {}}})
        after_write.append(await http.get(USERS, PARAMS))  # starts while the first is still in flight
    assert gets(app) == 2
    assert before_write and after_write


async def test_a_get_that_starts_during_a_write_is_not_joined_after_it(rootly, world):
    """A GET begun while a write is under way may be answered before the write is applied: a GET
    that starts once the write is done must not join it."""
    http, app = rootly
    team = next(iter(world.rootly.teams))
    app.state.gate.faults = FaultPlan(latency_s=0.2)  # the write is slow too
    done: list[str] = []

    async def write() -> None:
        await http.write("PUT", f"/v1/teams/{team}", {"data": {"type": "groups", "attributes": {}}})
        done.append("write")

    async def during() -> None:
        await http.get(USERS, PARAMS)
        done.append("during")

    async with anyio.create_task_group() as tg:
        tg.start_soon(write)
        await anyio.sleep(0.05)
        tg.start_soon(during)  # in flight until ~0.25 s; the write is answered at ~0.2 s
        while "write" not in done:
            await anyio.sleep(0.01)
        assert "during" not in done
        await http.get(USERS, PARAMS)  # after the write: its own request
    assert gets(app) == 2


async def test_an_error_reaches_every_caller_that_shared_the_request(rootly):
    http, app = rootly
    errors: list[Exception] = []

    async def read() -> None:
        try:
            await http.get(f"{USERS}/no-such-user")
        except NotFound as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(read)
    assert len(errors) == 3 and all(e.code == "not_found" for e in errors)
    assert gets(app, "/no-such-user") == 1
    await http.get(USERS, PARAMS)  # and nothing of it stays behind
    assert gets(app) == 1


async def test_cancelling_the_caller_whose_request_it_is_cancels_nobody_else(rootly):
    http, app = rootly
    answers: list[Any] = []

    async def joiner() -> None:
        answers.append(await http.get(USERS, PARAMS))

    async with anyio.create_task_group() as tg:
        with anyio.CancelScope() as first:
            tg.start_soon(joiner)  # starts after the first has sent (below), and joins it

            async def cancel_soon() -> None:
                await anyio.sleep(0.05)
                first.cancel()

            tg.start_soon(cancel_soon)
            await http.get(USERS, PARAMS)
        assert first.cancelled_caught
    assert len(answers) == 1 and len(answers[0]["data"]) == 5
    assert gets(app) == 2  # the joiner sent it again itself


async def test_cancelling_a_caller_that_joined_leaves_the_request_alone(rootly):
    http, app = rootly
    answers: list[Any] = []

    async def first() -> None:
        answers.append(await http.get(USERS, PARAMS))

    async with anyio.create_task_group() as tg:
        tg.start_soon(first)
        await anyio.sleep(0.01)
        with anyio.move_on_after(0.05) as joined:
            await http.get(USERS, PARAMS)
        assert joined.cancelled_caught
    assert len(answers) == 1 and len(answers[0]["data"]) == 5
    assert gets(app) == 1


async def test_concurrent_list_users_calls_share_the_upstream_read(world):
    directory, apps = sim_directory(world, providers=("rootly",))
    apps["rootly"].state.gate.faults = FaultPlan(latency_s=0.2, methods=frozenset({"GET"}))
    async with Client(build_server(directory)) as client:
        pages: list[dict[str, Any]] = []

        async def one() -> None:
            pages.append(await ok(client, "list_users", {"provider": "rootly", "limit": 5}))

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(one)
    assert len(pages) == 4 and all(p["result"] == pages[0]["result"] for p in pages)
    assert gets(apps["rootly"]) == 1


async def test_inflight_eras_change_around_a_write():
    inflight = InFlight()
    with inflight.writing():
        during = inflight.era
    assert 0 < during < inflight.era
