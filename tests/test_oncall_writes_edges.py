"""Edges of the on-call writes (SPEC §8, §12) through a real MCP client against the simulators: a
provider whose duties cannot be read does not stop the others (and keeps its account); Rootly's
escalation levels read one policy at a time when the policy list does not include them; and a
Rootly policy with two escalation paths, whose levels share a position, is handed over at the
exact level the leaver is named in."""

from __future__ import annotations

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
