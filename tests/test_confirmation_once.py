"""SPEC §9: one human "yes" confirms one call. On the 2026-07-28 protocol the client sends the
human's answer back with the `request_state` the server sealed; sent again (and again, or at the
same time, or to another replica sharing one Redis) it is refused with `cancelled` and nothing is
sent. Through real MCP clients driven by hand over the simulated providers, and a real Redis."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx2 as httpx
import pytest
from mcp import Client
from mcp.types import CallToolResult, InputRequiredResult

from mcp_directory.config import ProviderConfig, Settings
from mcp_directory.directory import Directory
from mcp_directory.options import ClientOptions
from mcp_directory.redis_client import SharedRedis
from mcp_directory.server import build_server
from mcp_directory.sim import build_apps, build_world

from .redis_support import CURSOR_SECRET
from .support import PAGE_SIZES, TOKENS, URLS, sim_directory
from .test_confirmation import NOES, YES, Human, members, round_one

PROVIDERS = ("rootly", "opsgenie", "retool")


@pytest.fixture
def world():
    return build_world(seed=9, people=40)


def posts(apps: dict[str, Any]) -> list[str]:
    """Every write that reached a simulated provider."""
    return [f"{r.method} {r.path}" for a in apps.values() for r in a.state.requests if r.method != "GET"]


def proxied_post(world: Any) -> tuple[dict[str, Any], str, str]:
    """A proxy_request POST adding someone to an Opsgenie team: (arguments, team id, user id)."""
    team_id = next(iter(world.opsgenie.teams))
    outsider = next(u for u in world.opsgenie.users if u not in members(world, team_id))
    path = f"/v2/teams/{team_id}/members"
    args = {"provider": "opsgenie", "method": "POST", "path": path, "body": json.dumps({"user": {"id": outsider}})}
    return args, team_id, outsider


async def answer(client: Client, args: dict[str, Any], first: InputRequiredResult) -> CallToolResult:
    """Round two of proxy_request: the human's yes with the state sealed in round one."""
    done = await client.session.call_tool(
        "proxy_request",
        args,
        input_responses={key: YES for key in first.input_requests},
        request_state=first.request_state,
        allow_input_required=True,
    )
    assert isinstance(done, CallToolResult)
    return done


def outcome(result: CallToolResult) -> str:
    """ "ok", or the error code of a tool error."""
    data = json.loads(result.content[0].text)  # type: ignore[union-attr]
    return str(data["error"]["code"]) if result.is_error else "ok"


async def first_round(client: Client, tool: str, args: dict[str, Any]) -> InputRequiredResult:
    first = await client.session.call_tool(tool, args, allow_input_required=True)
    assert isinstance(first, InputRequiredResult) and first.request_state
    return first


@pytest.mark.anyio
async def test_a_replayed_yes_sends_nothing(world):
    directory, apps = sim_directory(world, allow_writes=True)
    args, team_id, outsider = proxied_post(world)
    async with Client(build_server(directory), elicitation_callback=Human(NOES["decline"])) as c:
        first = await first_round(c, "proxy_request", args)
        results = [await answer(c, args, first) for _ in range(3)]
        assert [outcome(r) for r in results] == ["ok", "cancelled", "cancelled"]
        for replay in results[1:]:
            message = json.loads(replay.content[0].text)["error"]["message"]  # type: ignore[union-attr]
            assert "already used" in message and "nothing was sent" in message
        assert posts(apps) == [f"POST /v2/teams/{team_id}/members"]
        assert outsider in members(world, team_id)
        # a new question gets a new yes: the state is what is spent, not the plan
        second = await first_round(c, "proxy_request", args)
        assert outcome(await answer(c, args, second)) == "ok" and len(posts(apps)) == 2


@pytest.mark.anyio
async def test_replays_at_the_same_time_send_one_write(world):
    directory, apps = sim_directory(world, allow_writes=True)
    args, _team_id, _outsider = proxied_post(world)
    outcomes: list[str] = []
    async with Client(build_server(directory), elicitation_callback=Human(NOES["decline"])) as c:
        first = await first_round(c, "proxy_request", args)

        async def replay() -> None:
            outcomes.append(outcome(await answer(c, args, first)))

        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(replay)
    assert sorted(outcomes) == ["cancelled"] * 4 + ["ok"] and len(posts(apps)) == 1


@pytest.mark.anyio
async def test_deactivation_is_confirmed_once_too(world):
    directory, apps = sim_directory(world, allow_writes=True)
    user_id = str(list(world.retool.users)[3])
    args = {"provider": "retool", "user_id": user_id, "confirm": True}
    async with Client(build_server(directory), elicitation_callback=Human(NOES["decline"])) as c:
        first = await round_one(c, args)
        yes = {key: YES for key in first.input_requests}
        for expected in ("ok", "cancelled", "cancelled"):
            done = await c.session.call_tool(
                "deactivate_user",
                args,
                input_responses=yes,
                request_state=first.request_state,
                allow_input_required=True,
            )
            assert isinstance(done, CallToolResult) and outcome(done) == expected
    assert posts(apps) == [f"DELETE /api/v2/users/{user_id}"]


def replica(apps: dict[str, Any], redis_url: str) -> Directory:
    """One replica: its own Directory over the same simulators, sharing Redis and the sealing secret."""
    settings = Settings(
        providers={p: ProviderConfig(p, TOKENS[p], URLS[p]) for p in PROVIDERS},
        allow_writes=True,
        redis_url=redis_url,
        cursor_secret=CURSOR_SECRET,
        client=ClientOptions(requests_per_minute={p: 0 for p in PROVIDERS}),
    )
    transports = {p: httpx.ASGITransport(app=apps[p]) for p in PROVIDERS}
    return Directory(settings, transports=transports, page_sizes=PAGE_SIZES)


@pytest.mark.anyio
async def test_a_yes_used_on_one_replica_is_used_on_every_replica(world, redis_url):
    apps = build_apps(world, TOKENS, record_requests=True)
    one, other = replica(apps, redis_url), replica(apps, redis_url)
    args, team_id, _outsider = proxied_post(world)
    human = Human(NOES["decline"])  # both clients can be asked; this test answers by hand
    async with (
        Client(build_server(one), elicitation_callback=human) as a,
        Client(build_server(other), elicitation_callback=human) as b,
    ):
        first = await first_round(a, "proxy_request", args)
        assert outcome(await answer(b, args, first)) == "ok"
        assert [outcome(await answer(c, args, first)) for c in (a, b, a)] == ["cancelled"] * 3
    assert posts(apps) == [f"POST /v2/teams/{team_id}/members"]
    # kept in Redis for as long as the state could be valid, and no longer
    redis = SharedRedis(redis_url)
    try:
        (key,) = await redis.client.keys("mcp-directory:confirmation:*")
        assert 0 < await redis.client.pttl(key) <= (one.settings.elicit_deadline + 60) * 1000
    finally:
        await redis.aclose()
