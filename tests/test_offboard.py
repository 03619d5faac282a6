"""offboard_user end to end through a real MCP client against the simulated providers: the plan
sends nothing; carried out; a provider failing mid-way; the retry finishing the job; nothing
left afterwards; the human's confirmation; one audit line per step."""

from __future__ import annotations

import json
import logging

import anyio
import pytest
from mcp import Client
from mcp.types import ElicitResult
from starlette.responses import JSONResponse

from mcp_directory.server import build_server
from mcp_directory.sim import build_world
from mcp_directory.sim.faults import FaultPlan

from .support import fails, ok, sim_directory


@pytest.fixture
def world():
    return build_world(seed=4, people=60)


def writes(apps):
    return [(p, r.method, r.path) for p, a in apps.items() for r in a.state.requests if r.method != "GET"]


def everywhere(world):
    """Someone with an account in all three, in at least one Rootly team and one Retool group."""
    for person in world.people:
        if len(person.accounts) < 3:
            continue
        rootly_id = int(person.accounts["rootly"])
        in_rootly = any(rootly_id in t["attributes"]["user_ids"] for t in world.rootly.teams.values())
        in_retool = any(
            any(m["id"] == person.accounts["retool"] for m in g["members"]) for g in world.retool.groups.values()
        )
        if in_rootly and in_retool:
            return person
    raise AssertionError("the seeded world has nobody in every provider's groups")


def audit(caplog):
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "mcp_directory.audit"]


@pytest.mark.anyio
async def test_the_plan_sends_nothing_and_lists_groups_then_the_account(world):
    directory, apps = sim_directory(world, allow_writes=True)
    person = everywhere(world)
    async with Client(build_server(directory)) as client:
        data = await ok(client, "offboard_user", {"email": person.email.upper()})
    assert data["dry_run"] is True and data["email"] == person.email and not writes(apps)
    for provider in ("rootly", "opsgenie", "retool"):
        mine = [s for s in data["steps"] if s["provider"] == provider]
        assert mine[-1]["action"] == "deactivate_user" and mine[-1]["group_id"] is None
        assert all(s["action"] == "remove_group_member" and s["group_name"] for s in mine[:-1])
        assert all(s["outcome"] is None and s["user_id"] == person.accounts[provider] for s in mine)
    assert "Rootly" in data["plan"] and "disable" in data["plan"] and "delete" in data["plan"]


@pytest.mark.anyio
async def test_carried_out_a_failure_skips_only_that_provider_and_the_retry_finishes(world, caplog):
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    directory, apps = sim_directory(world, allow_writes=True)
    person = everywhere(world)
    retool_id = person.accounts["retool"]

    async def retool_refuses_removals(request):
        if request.method == "DELETE" and "/members/" in request.url.path:
            return JSONResponse({"success": False, "message": "nope"}, status_code=403)
        return None

    apps["retool"].state.gate.hooks.append(retool_refuses_removals)
    async with Client(build_server(directory)) as client:
        first = await ok(client, "offboard_user", {"email": person.email, "confirm": True})
        assert first["dry_run"] is False and first["complete"] is False
        retool = [s for s in first["steps"] if s["provider"] == "retool"]
        assert retool[0]["outcome"] == "failed" and retool[0]["error"]["code"] == "forbidden"
        assert {s["outcome"] for s in retool[1:]} == {"skipped"}
        assert {s["outcome"] for s in first["steps"] if s["provider"] != "retool"} == {"done"}
        assert world.retool.users[retool_id]["active"] is True  # the account step was skipped
        steps_run = [s for s in first["steps"] if s["outcome"] in ("done", "failed")]
        lines = [line for line in audit(caplog) if line.get("via") == "offboard_user"]
        assert len(lines) == len(steps_run)
        assert {(line["tool"], line["outcome"]) for line in lines if line["provider"] == "retool"} == {
            ("remove_group_member", "error")
        }

        apps["retool"].state.gate.hooks.clear()
        again = await ok(client, "offboard_user", {"email": person.email})
        assert {s["provider"] for s in again["steps"]} == {"retool"}  # only what is left
        done = await ok(client, "offboard_user", {"email": person.email, "confirm": True})
        assert done["complete"] is True and {s["outcome"] for s in done["steps"]} == {"done"}

        left = await ok(client, "offboard_user", {"email": person.email})
        assert left["steps"] == [] and "Nothing left" in left["plan"]
    assert person.accounts["rootly"] not in world.rootly.users
    assert person.accounts["opsgenie"] not in world.opsgenie.users
    assert world.retool.users[retool_id]["active"] is False
    assert not any(any(m["id"] == retool_id for m in g["members"]) for g in world.retool.groups.values())


@pytest.mark.anyio
@pytest.mark.parametrize(
    "answer", [ElicitResult(action="decline"), ElicitResult(action="accept", content={"confirm": False})]
)
async def test_the_human_declining_sends_nothing(world, answer):
    directory, apps = sim_directory(world, allow_writes=True)
    person = everywhere(world)
    asked = []

    async def human(context, params):
        asked.append(params.message)
        return answer

    async with Client(build_server(directory), elicitation_callback=human) as client:
        await fails(client, "offboard_user", {"email": person.email, "confirm": True}, "cancelled")
    assert len(asked) == 1 and person.email in asked[0] and "Retool" in asked[0]
    assert not writes(apps)


@pytest.mark.anyio
async def test_nobody_and_bad_arguments(world):
    directory, _ = sim_directory(world, allow_writes=True)
    async with Client(build_server(directory)) as client:
        await fails(client, "offboard_user", {"email": "nobody.at.all@nowhere.test"}, "not_found")
        await fails(client, "offboard_user", {"email": "not-an-email"}, "invalid_argument")
        await fails(client, "offboard_user", {"email": "a@b.c", "providers": ["nowhere"]}, "invalid_argument")
        await fails(client, "offboard_user", {"email": "a@b.c", "confirm": "yes"}, "invalid_argument")


@pytest.mark.anyio
async def test_a_cancelled_offboarding_audits_the_step_that_may_have_reached_the_provider(world, caplog):
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    directory, apps = sim_directory(world, allow_writes=True)
    person = everywhere(world)
    # Retool applies the removal at once and answers much later; the client gives up first.
    apps["retool"].state.gate.faults = FaultPlan(
        latency_s=30, methods=frozenset({"DELETE"}), latency_when="after_handler"
    )
    args = {"email": person.email, "providers": ["retool"], "confirm": True}
    async with Client(build_server(directory)) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "offboard_user", args)
            for _ in range(500):
                if any(r.method == "DELETE" for r in apps["retool"].state.requests):
                    break
                await anyio.sleep(0.01)
            assert any(r.method == "DELETE" for r in apps["retool"].state.requests)
            tg.cancel_scope.cancel()
        for _ in range(500):
            if any(line["outcome"] == "cancelled" for line in audit(caplog)):
                break
            await anyio.sleep(0.01)
    lines = audit(caplog)
    step = [line for line in lines if line.get("via") == "offboard_user"]
    assert [(line["tool"], line["outcome"]) for line in step] == [("remove_group_member", "cancelled")]
    assert step[0]["target"]["user_id"] == person.accounts["retool"]
    assert any(line["tool"] == "offboard_user" and line["outcome"] == "cancelled" for line in lines)
