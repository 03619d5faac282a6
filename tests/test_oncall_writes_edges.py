"""Edges of the on-call writes (SPEC §8, §12) through a real MCP client against the simulators: a
provider whose duties cannot be read does not stop the others (and keeps its account); Rootly's
escalation levels read one policy at a time when the policy list does not include them; and a
Rootly policy with two escalation paths, whose levels share a position, is handed over at the
exact level the leaver is named in."""

from __future__ import annotations

import json
import logging

import pytest
from mcp import Client

from mcp_directory.server import build_server
from mcp_directory.sim import FaultPlan, build_world

from .support import ok, traverse
from .test_oncall import directory_over
from .test_oncall_writes import email_of, planted, writable


@pytest.fixture
def world():
    return build_world(seed=1, people=60)  # its own: these tests change it


@pytest.mark.anyio
async def test_a_provider_whose_duties_cannot_be_read_keeps_its_account_and_the_others_go_on(world):
    directory, apps = writable(world)
    # Opsgenie's whole schedule list (the duties' first read) is refused; its users still answer
    apps["opsgenie"].state.gate.faults = FaultPlan(
        error_rate=1.0, statuses=(403,), methods=frozenset({"GET"}), paths=r"^/v2/schedules$"
    )
    async with Client(build_server(directory)) as client:
        leaver = planted(world, "opsgenie", "leaver")[0]
        email = await email_of(client, "opsgenie", leaver)
        heir = await email_of(client, "opsgenie", planted(world, "opsgenie", "successor")[0])
        args = {"email": email, "successor": heir, "providers": ["opsgenie", "rootly"]}
        plan = await ok(client, "offboard_user", args)
        opsgenie = [s for s in plan["steps"] if s["provider"] == "opsgenie"]
        first, *rest = opsgenie
        assert (first["action"], first["outcome"], first["duty"]) == ("hand_over_duty", "blocked", None)
        assert first["error"]["code"] == "forbidden" and first["error"]["provider"] == "opsgenie"
        assert first["error"]["status"] == 403 and "could not be read" in first["error"]["message"]
        assert rest and {s["outcome"] for s in rest} == {"skipped"}
        assert "deactivate_user" in [s["action"] for s in rest]
        assert "could not be read" in plan["plan"] and "the account is kept" in plan["plan"]
        assert {s["outcome"] for s in plan["steps"] if s["provider"] == "rootly"} == {None}

        done = await ok(client, "offboard_user", {**args, "confirm": True})
        assert done["complete"] is False
        assert [s["outcome"] for s in done["steps"] if s["provider"] == "opsgenie"] == ["blocked"] + ["skipped"] * len(
            rest
        )
        assert leaver in world.opsgenie.users  # kept: it may still be named
        assert not [r for r in apps["opsgenie"].state.requests if r.method != "GET"]
        rootly = [s for s in done["steps"] if s["provider"] == "rootly"]
        assert rootly and {s["outcome"] for s in rootly} == {"done"}, rootly
        assert planted(world, "rootly", "leaver")[0] not in {str(u) for u in world.rootly.users}

        # once Opsgenie answers again, a retry plans Opsgenie's duties and account, and finishes
        apps["opsgenie"].state.gate.faults = None
        retry = await ok(client, "offboard_user", {**args, "confirm": True})
        assert {s["provider"] for s in retry["steps"]} == {"opsgenie"} and retry["complete"] is True
        assert leaver not in world.opsgenie.users


async def review_and_duties(world):
    """coverage_review's findings and the Rootly leaver's duties, read by a fresh server, and the
    Rootly requests it took."""
    directory, apps = directory_over(world)
    async with Client(build_server(directory)) as client:
        findings = await traverse(client, "coverage_review", {"limit": 200})
        email = await email_of(client, "rootly", planted(world, "rootly", "leaver")[0])
        held = (await ok(client, "get_duties", {"email": email, "providers": ["rootly"]}))["result"]
    return findings, held, [(r.method, r.path) for r in apps["rootly"].state.requests]


@pytest.mark.anyio
async def test_rootly_levels_not_included_are_read_policy_by_policy_with_the_same_answers(world):
    included_findings, included_duties, seen = await review_and_duties(world)
    assert not any(p.endswith("/escalation_levels") for _, p in seen)
    world.rootly.oncall.include_levels = False  # the policy list answers without its levels
    findings, held, seen = await review_and_duties(world)
    levels = [p for _, p in seen if p.endswith("/escalation_levels")]
    policies = world.rootly.oncall.policies
    # coverage_review reads each policy's levels once (ONCALL.md §1b: E requests); get_duties once more
    assert sorted(set(levels)) == sorted(f"/v1/escalation_policies/{pid}/escalation_levels" for pid in policies)
    assert all(levels.count(p) == 2 for p in set(levels))
    assert findings == included_findings and any(f["escalation"] for f in findings if f["provider"] == "rootly")
    assert held == included_duties and any(d["kind"] == "escalation" for d in held)


def named_in_rootly(store):
    """Every Rootly user id named in a rotation, a level, an override or as a schedule's owner."""
    return (
        {str(u["attributes"]["user_id"]) for u in store.rotation_users.values()}
        | {str(t["id"]) for lv in store.levels.values() for t in lv["attributes"]["notification_target_params"]}
        | {str(o["attributes"]["user_id"]) for o in store.overrides.values()}
        | {str(s["attributes"]["owner_user_id"]) for s in store.schedules.values()}
    )


def two_path_policy(world, first, second):
    """A Rootly policy with two escalation paths, each with one level (both at position 1): the
    first path's level names user `first`, the second's user `second`. Returns the two level ids."""
    store = world.rootly.oncall
    policy, path, level = (next(iter(table.values())) for table in (store.policies, store.paths, store.levels))
    pid = "0d1c2b3a-0000-4000-8000-00000000000a"
    store.policies[pid] = {**policy, "id": pid, "attributes": {**policy["attributes"], "name": "Two paths EP"}}
    ids = []
    for place, user in enumerate((first, second), start=1):
        path_id, level_id = f"0d1c2b3a-0000-4000-8000-00000000010{place}", f"0d1c2b3a-0000-4000-8000-00000000020{place}"
        attributes = {**path["attributes"], "escalation_policy_id": pid, "position": place, "default": place == 1}
        store.paths[path_id] = {**path, "id": path_id, "attributes": {**attributes, "name": f"Path {place}"}}
        targets = [{"id": str(user), "type": "user"}]
        attributes = {**level["attributes"], "escalation_policy_id": pid, "escalation_policy_path_id": path_id}
        store.levels[level_id] = {
            **level,
            "id": level_id,
            "attributes": {**attributes, "position": 1, "notification_target_params": targets},
        }
        ids.append(level_id)
    return pid, ids


def targets_of(world, level_id):
    return [t["id"] for t in world.rootly.oncall.levels[level_id]["attributes"]["notification_target_params"]]


@pytest.mark.anyio
async def test_rootly_levels_at_the_same_position_in_two_paths_are_told_apart(world, caplog):
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    directory, apps = writable(world)
    free = sorted(set(world.rootly.users) - named_in_rootly(world.rootly.oncall))
    other, leaver, heir = free[:3]
    pid, (first_level, second_level) = two_path_policy(world, other, leaver)
    async with Client(build_server(directory)) as client:
        email, heir_email = await email_of(client, "rootly", leaver), await email_of(client, "rootly", heir)
        (duty,) = (await ok(client, "get_duties", {"email": email, "providers": ["rootly"]}))["result"]
        assert duty["kind"] == "escalation" and duty["escalation"] == {"id": pid, "name": "Two paths EP"}
        assert duty["position"] == 0 and set(duty) == {
            "provider", "kind", "user_id", "schedule", "rotation", "escalation", "position", "starts_at", "ends_at",
            "on_call_now",
        }  # fmt: skip
        # the level of the second path names only them: removing them leaves it paging nobody, even
        # though the first path's level at the same position names another active user
        args = {"email": email, "providers": ["rootly"]}
        plan = await ok(client, "offboard_user", args)
        (step, *rest) = plan["steps"]
        assert step["outcome"] == "blocked" and "paging nobody" in step["error"]["message"], plan["steps"]
        assert [s["outcome"] for s in rest] == ["skipped"] * len(rest) and rest[-1]["action"] == "deactivate_user"
        # handed over: exactly the second path's level changes; the first is not even read
        done = await ok(client, "offboard_user", {**args, "successor": heir_email, "confirm": True})
        assert done["complete"] is True, done["steps"]
        assert targets_of(world, second_level) == [heir] and targets_of(world, first_level) == [other]
        assert not any(r.path.endswith(first_level) for r in apps["rootly"].state.requests)
        assert leaver not in world.rootly.users
    audit = [json.loads(r.getMessage()) for r in caplog.records if r.name == "mcp_directory.audit"]
    (handed,) = [line for line in audit if line["tool"] == "hand_over_duty"]
    assert handed["outcome"] == "ok" and handed["target"]["duty"]["level_id"] == second_level
