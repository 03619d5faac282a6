"""On-call writes (SPEC §12) through a real MCP client against the simulators: an offboarding with a
successor hands every duty over in place and then deletes where Opsgenie would have refused; without
one a duty nobody can take blocks the account; leave_gaps; a retry plans only what is left; an outside
edit between write and read-back is a conflict; deactivate_user refuses while duties remain, and
Opsgenie's own refusal names them."""

from __future__ import annotations

import dataclasses

import anyio
import pytest
from mcp import Client

from mcp_directory.server import build_server
from mcp_directory.sim import FaultPlan, build_world

from .support import fails, ok, traverse
from .test_oncall import directory_over


@pytest.fixture
def world():
    return build_world(seed=1, people=60)  # its own: these tests change it


def writable(world):
    directory, apps = directory_over(world)
    directory.settings = dataclasses.replace(directory.settings, allow_writes=True)
    return directory, apps


def planted(world, provider, part):
    return getattr(world, provider).oncall.planted[part]


async def email_of(client, provider, user_id):
    return (await ok(client, "get_user", {"provider": provider, "user_id": user_id}))["result"]["email"]


async def rotations(client, provider):
    schedules = await traverse(client, "list_schedules", {"provider": provider, "limit": 50})
    return {r["id"]: [p["id"] for p in r["participants"]] for s in schedules for r in s["rotations"]}


@pytest.mark.anyio
async def test_an_offboarding_with_a_successor_hands_every_duty_over_in_place(world):
    directory, _ = writable(world)
    async with Client(build_server(directory)) as client:
        leaver, successor = planted(world, "opsgenie", "leaver")[0], planted(world, "opsgenie", "successor")[0]
        email, heir = await email_of(client, "opsgenie", leaver), await email_of(client, "opsgenie", successor)
        before = await rotations(client, "opsgenie")
        duties = (await ok(client, "get_duties", {"email": email, "providers": ["opsgenie"]}))["result"]
        assert {d["kind"] for d in duties} >= {"rotation", "escalation", "override"}
        args = {"email": email, "successor": heir.upper(), "providers": ["opsgenie", "rootly"]}
        plan = await ok(client, "offboard_user", args)
        assert plan["dry_run"] is True and "in place" in plan["plan"]
        assert [s["action"] for s in plan["steps"] if s["provider"] == "opsgenie"][: len(duties)] == [
            "hand_over_duty"
        ] * len(duties)
        done = await ok(client, "offboard_user", {**args, "confirm": True})
        assert done["complete"] is True, done["steps"]
        after = await rotations(client, "opsgenie")
        for rid, ids in before.items():  # the successor at the leaver's place, everyone else unchanged
            assert after[rid] == [successor if i == leaver else i for i in ids], rid
        # the escalation and the override are the successor's now, and the account is gone (Opsgenie
        # would have answered 428 to deleting it while named)
        held = (await ok(client, "get_duties", {"email": heir, "providers": ["opsgenie"]}))["result"]
        assert {"escalation", "override"} <= {d["kind"] for d in held}
        assert leaver not in world.opsgenie.users
        # at Rootly too, the schedule's owner included
        rootly_heir = planted(world, "rootly", "successor")[0]
        owned = (await ok(client, "get_duties", {"email": heir, "providers": ["rootly"]}))["result"]
        assert {"rotation", "escalation", "override", "schedule_owner"} <= {d["kind"] for d in owned}
        assert all(d["user_id"] == rootly_heir for d in owned)
        assert planted(world, "rootly", "leaver")[0] not in {str(u) for u in world.rootly.users}
        # nothing is left: the accounts are gone
        await fails(client, "offboard_user", args, "not_found")


@pytest.mark.anyio
async def test_without_a_successor_the_only_active_participant_blocks_the_account(world):
    directory, apps = writable(world)
    async with Client(build_server(directory)) as client:
        leaver = planted(world, "opsgenie", "leaver")[0]
        email = await email_of(client, "opsgenie", leaver)
        done = await ok(client, "offboard_user", {"email": email, "providers": ["opsgenie"], "confirm": True})
        steps = done["steps"]
        blocked = [s for s in steps if s["outcome"] == "blocked"]
        assert blocked and done["complete"] is False
        assert all(s["error"]["code"] == "conflict" and "paging nobody" in s["error"]["message"] for s in blocked)
        account = [s for s in steps if s["action"] == "deactivate_user"]
        assert account and account[0]["outcome"] == "skipped" and leaver in world.opsgenie.users  # kept
        assert not [r for r in apps["opsgenie"].state.requests if r.method != "GET"]  # nothing was sent


@pytest.mark.anyio
async def test_leave_gaps_removes_and_says_what_will_page_nobody(world):
    directory, _ = writable(world)
    async with Client(build_server(directory)) as client:
        leaver = planted(world, "opsgenie", "leaver")[0]
        email = await email_of(client, "opsgenie", leaver)
        args = {"email": email, "providers": ["opsgenie"], "leave_gaps": True}
        plan = await ok(client, "offboard_user", args)
        assert "paging nobody (leave_gaps)" in plan["plan"]
        done = await ok(client, "offboard_user", {**args, "confirm": True})
        assert done["complete"] is True and leaver not in world.opsgenie.users
        assert all(leaver not in ids for ids in (await rotations(client, "opsgenie")).values())


@pytest.mark.anyio
async def test_a_successor_without_an_account_there_blocks_and_a_retry_finishes(world):
    directory, apps = writable(world)
    async with Client(build_server(directory)) as client:
        leaver = planted(world, "opsgenie", "leaver")[0]
        email = await email_of(client, "opsgenie", leaver)
        args = {"email": email, "providers": ["opsgenie"], "successor": "nobody-here@nowhere.test"}
        plan = await ok(client, "offboard_user", args)
        assert {s["outcome"] for s in plan["steps"]} <= {"blocked", "skipped", None}
        assert any("no active account at Opsgenie" in (s["error"] or {}).get("message", "") for s in plan["steps"])
        await fails(client, "offboard_user", {**args, "successor": email.upper()}, "invalid_argument")
        # one hand-over fails upstream: that provider stops there; the retry plans only what is left
        heir = await email_of(client, "opsgenie", planted(world, "opsgenie", "successor")[0])
        apps["opsgenie"].state.gate.faults = FaultPlan(
            error_rate=1.0, statuses=(403,), methods=frozenset({"PATCH"}), paths=r"^/v2/escalations/"
        )
        first = await ok(client, "offboard_user", {**args, "successor": heir, "confirm": True})
        outcomes = [s["outcome"] for s in first["steps"]]
        assert "failed" in outcomes and first["complete"] is False and leaver in world.opsgenie.users
        apps["opsgenie"].state.gate.faults = None
        retry = await ok(client, "offboard_user", {**args, "successor": heir})
        assert len(retry["steps"]) < len(first["steps"])
        left = [s["duty"]["kind"] for s in first["steps"] if s["duty"] and s["outcome"] != "done"]
        assert [s["duty"]["kind"] for s in retry["steps"] if s["duty"]] == left and left[0] == "escalation"
        done = await ok(client, "offboard_user", {**args, "successor": heir, "confirm": True})
        assert done["complete"] is True and leaver not in world.opsgenie.users


@pytest.mark.anyio
async def test_an_outside_edit_between_write_and_read_back_is_a_conflict(world):
    directory, apps = writable(world)
    async with Client(build_server(directory)) as client:
        leaver = planted(world, "opsgenie", "leaver")[0]
        email = await email_of(client, "opsgenie", leaver)
        heir = await email_of(client, "opsgenie", planted(world, "opsgenie", "successor")[0])
        store = world.opsgenie.oncall
        # the rotation PATCH lands, then its answer is slow: someone puts the leaver back meanwhile
        apps["opsgenie"].state.gate.faults = FaultPlan(
            latency_s=0.3, methods=frozenset({"PATCH"}), paths=r"/rotations/", latency_when="after_handler"
        )
        result = {}

        async def offboard():
            result["data"] = await ok(
                client, "offboard_user", {"email": email, "providers": ["opsgenie"], "successor": heir, "confirm": True}
            )

        async def outside_edit():
            for _ in range(200):
                if any(r.method == "PATCH" for r in apps["opsgenie"].state.requests):
                    break
                await anyio.sleep(0.01)
            for schedule in store.schedules.values():
                for rotation in schedule.get("rotations") or []:
                    for p in rotation.get("participants") or []:
                        if p.get("type") == "user" and p.get("id") == planted(world, "opsgenie", "successor")[0]:
                            p["id"] = leaver

        async with anyio.create_task_group() as tg:
            tg.start_soon(offboard)
            tg.start_soon(outside_edit)
        steps = result["data"]["steps"]
        (first,) = [s for s in steps if s["outcome"] == "failed"]
        assert first["duty"]["kind"] == "rotation" and first["error"]["code"] == "conflict"
        assert result["data"]["complete"] is False and leaver in world.opsgenie.users


@pytest.mark.anyio
async def test_deactivate_user_refuses_while_duties_remain_and_opsgenie_names_them(world):
    directory, _ = writable(world)
    async with Client(build_server(directory)) as client:
        leaver = planted(world, "opsgenie", "leaver")[0]
        plan = await ok(client, "deactivate_user", {"provider": "opsgenie", "user_id": leaver})
        assert "still holds on-call duties" in plan["plan"] and "rotation" in plan["plan"]
        error = await fails(
            client, "deactivate_user", {"provider": "opsgenie", "user_id": leaver, "confirm": True}, "conflict"
        )
        assert "leave_gaps" in error["message"] and error["provider"] == "opsgenie"
        assert leaver in world.opsgenie.users
        # leave_gaps only skips our refusal: Opsgenie's own (428) answers, as a conflict naming the duties
        args = {"provider": "opsgenie", "user_id": leaver, "confirm": True, "leave_gaps": True}
        error = await fails(client, "deactivate_user", args, "conflict")
        assert error["status"] == 428 and "rotation" in error["message"] and "successor" in error["message"]
        assert leaver in world.opsgenie.users


@pytest.mark.anyio
async def test_jsm_hands_rotation_escalation_and_override_over_in_place(world):
    directory, _ = writable(world)
    async with Client(build_server(directory)) as client:
        leaver, successor = planted(world, "jsm", "leaver")[0], planted(world, "jsm", "successor")[0]
        email, heir = await email_of(client, "jsm", leaver), await email_of(client, "jsm", successor)
        before = await rotations(client, "jsm")
        held = (await ok(client, "get_duties", {"email": email, "providers": ["jsm"]}))["result"]
        assert {"rotation", "escalation", "override"} <= {d["kind"] for d in held}
        args = {"email": email, "successor": heir, "providers": ["jsm"], "confirm": True}
        done = await ok(client, "offboard_user", args)
        assert done["complete"] is True, done["steps"]
        after = await rotations(client, "jsm")
        for rid, ids in before.items():
            assert after[rid] == [successor if i == leaver else i for i in ids], rid
        now = (await ok(client, "get_duties", {"email": heir, "providers": ["jsm"]}))["result"]
        assert {"rotation", "escalation", "override"} <= {d["kind"] for d in now}
        gone = await ok(client, "get_duties", {"email": email, "providers": ["jsm"]})
        assert gone["result"] == []  # suspended, and named nowhere


@pytest.mark.anyio
async def test_a_cancelled_offboarding_audits_the_hand_over_that_may_have_landed(world, caplog):
    import json
    import logging

    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    directory, apps = writable(world)
    leaver = planted(world, "opsgenie", "leaver")[0]
    async with Client(build_server(directory)) as client:
        email = await email_of(client, "opsgenie", leaver)
        heir = await email_of(client, "opsgenie", planted(world, "opsgenie", "successor")[0])
        # the rotation PATCH lands at once and is answered much later; the client gives up first
        apps["opsgenie"].state.gate.faults = FaultPlan(
            latency_s=30, methods=frozenset({"PATCH"}), paths=r"/rotations/", latency_when="after_handler"
        )
        args = {"email": email, "providers": ["opsgenie"], "successor": heir, "confirm": True}
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "offboard_user", args)
            for _ in range(500):
                if any(r.method == "PATCH" for r in apps["opsgenie"].state.requests):
                    break
                await anyio.sleep(0.01)
            tg.cancel_scope.cancel()

        def lines():
            return [json.loads(r.getMessage()) for r in caplog.records if r.name == "mcp_directory.audit"]

        for _ in range(500):
            if any(line["outcome"] == "cancelled" for line in lines()):
                break
            await anyio.sleep(0.01)
    steps = [line for line in lines() if line.get("via") == "offboard_user"]
    assert [(line["tool"], line["outcome"]) for line in steps] == [("hand_over_duty", "cancelled")]
    assert steps[0]["target"]["duty"]["kind"] == "rotation" and leaver in world.opsgenie.users


@pytest.mark.anyio
async def test_two_hand_overs_on_one_rotation_at_once_both_hold(world):
    """Two offboardings at once replace two people of one rotation: the lock on the rotation makes
    the second read what the first wrote, so neither change is lost."""
    directory, apps = writable(world)
    (schedule,) = [s for s in world.opsgenie.oncall.schedules.values() if s["name"] == "Payments Primary"]
    rotation = schedule["rotations"][0]
    users = [p["id"] for p in rotation["participants"] if p.get("type") == "user"]
    active = [u for u in users if not world.opsgenie.users[u]["blocked"]]
    first, second = active[:2]
    heir = next(
        u
        for u, r in world.opsgenie.users.items()
        if u not in users and not r["blocked"] and r.get("verified") is not False  # active, not invited
    )
    apps["opsgenie"].state.gate.faults = FaultPlan(  # slow reads: both read before either writes
        latency_s=0.05, methods=frozenset({"GET"}), paths=r"/rotations/", latency_when="after_handler"
    )
    async with Client(build_server(directory)) as client:
        emails = [await email_of(client, "opsgenie", u) for u in (first, second, heir)]
        results = {}

        async def offboard(email):
            args = {"email": email, "providers": ["opsgenie"], "successor": emails[2], "leave_gaps": True}
            results[email] = await ok(client, "offboard_user", {**args, "confirm": True})

        async with anyio.create_task_group() as tg:
            tg.start_soon(offboard, emails[0])
            tg.start_soon(offboard, emails[1])
    assert all(r["complete"] for r in results.values()), results
    after = [p["id"] for p in rotation["participants"] if p.get("type") == "user"]
    assert after == [heir if u in (first, second) else u for u in users]
