"""The demo world's on-call parts: schedules on all three on-call providers with the leaver on call
now, ghosts of each kind, a departing person on call, an uncovered rotation, a successor who can
take the leaver's place; and the truth helpers agree with what the seeders planted."""

from __future__ import annotations

import base64

import pytest

from mcp_directory.sim import DEMO_TOKENS, SimOptions, build_app, build_world
from mcp_directory.sim import oncall_truth as truth
from tests.support import sim_client

WORLDS = [(1, 60), (4, 60), (7, 45), (2, 12)]


@pytest.mark.parametrize("seed,people", WORLDS)
def test_what_was_planted_is_what_the_truth_helpers_find(seed, people):
    world = build_world(seed=seed, people=people)
    planted = truth.planted(world)
    ghosts = {(n.provider, n.user_id) for n in truth.ghosts(world)}
    departing = {(n.provider, n.user_id) for n in truth.departing(world)}
    for provider, parts in planted.items():
        assert {(provider, u) for u in parts.get("ghost", [])} <= ghosts
        assert {(provider, u) for u in parts.get("departing", [])} <= departing
        assert {(provider, r) for r in parts.get("uncovered", [])} <= set(truth.uncovered(world))
        for part in ("leaver", "successor"):
            for uid in parts.get(part, []):
                assert truth.status(world, provider, uid) == "active", (provider, part)
    assert {p for p, _ in truth.uncovered(world)} == {p for p, parts in planted.items() if parts.get("uncovered")}
    # an escalation step naming only a ghost pages nobody: one per provider with a ghost to name
    steps = truth.uncovered_escalations(world)
    assert {p for p, _, _ in steps} == {p for p in planted if planted[p].get("ghost")}
    for provider, _, _ in steps:
        assert any(n.kind == "escalation" and n.provider == provider for n in truth.ghosts(world))


def test_the_demo_world_has_every_part_on_every_on_call_provider():
    world = build_world()  # the demo's world
    planted = truth.planted(world)
    for provider in truth.ON_CALL:
        assert {"leaver", "successor", "ghost", "departing", "uncovered"} <= planted[provider].keys(), provider
    # one ghost of each kind: blocked in Opsgenie, suspended in JSM, deleted in Rootly
    assert world.opsgenie.users[planted["opsgenie"]["ghost"][0]]["blocked"] is True
    assert world.jsm.org[planted["jsm"]["ghost"][0]]["account_status"] == "inactive"
    assert planted["rootly"]["ghost"][0] not in world.rootly.users
    # Rootly and Opsgenie share the leaver and the successor; JSM too when that person was migrated
    # to an active account (in the demo's world the leaver is not migrated yet: JSM has its own).
    for part in ("leaver", "successor"):
        emails = {p: truth.email(world, p, planted[p][part][0]) for p in truth.ON_CALL}
        assert emails["rootly"] == emails["opsgenie"]
        person = world.person_by_email(emails["rootly"])
        moved = world.jsm.migrated.get(person.email)
        assert (emails["jsm"] == emails["rootly"]) == (
            truth.status(world, "jsm", moved) == "active" if moved else False
        )
    leaver = planted["opsgenie"]["leaver"][0]
    kinds = {n.kind for n in truth.named(world, "opsgenie") if n.user_id == leaver}
    assert kinds == {"rotation", "escalation", "override"}
    owner = next(iter(world.rootly.oncall.schedules.values()))["attributes"]["owner_user_id"]
    assert str(owner) == planted["rootly"]["leaver"][0]
    for provider in truth.ON_CALL:
        successor = planted[provider]["successor"][0]
        assert not any(n.user_id == successor for n in truth.named(world, provider))


def test_opsgenie_names_nobody_an_older_test_deletes():
    for seed, people in WORLDS:
        world = build_world(seed=seed, people=people)
        first_five = set(list(world.opsgenie.users)[:5])
        everywhere = {p.accounts["opsgenie"] for p in world.people if len(p.accounts) == 3}
        named = {n.user_id for n in truth.named(world, "opsgenie")}
        assert not named & (first_five | everywhere)


@pytest.mark.parametrize("people", [1, 2, 3, 5])
def test_tiny_worlds_still_build(people):
    world = build_world(seed=3, people=people)
    assert truth.planted(world).keys() == set(truth.ON_CALL)


@pytest.mark.anyio
async def test_the_leaver_and_the_departing_are_on_call_now_where_planted():
    world = build_world()
    planted = truth.planted(world)
    apps = {p: build_app(p, world, SimOptions(token=DEMO_TOKENS[p])) for p in truth.ON_CALL}
    async with sim_client(apps["rootly"], "rootly", DEMO_TOKENS["rootly"]) as c:
        now = {str(e["attributes"]["user_id"]) for e in (await c.get("/v1/oncalls")).json()["data"]}
    assert {planted["rootly"]["leaver"][0], planted["rootly"]["departing"][0]} <= now
    async with sim_client(apps["opsgenie"], "opsgenie", DEMO_TOKENS["opsgenie"]) as c:
        data = (await c.get("/v2/schedules/on-calls")).json()["data"]
    assert planted["opsgenie"]["leaver"][0] in {p["id"] for d in data for p in d["onCallParticipants"]}
    pair = f"{world.jsm.email}:{DEMO_TOKENS['jsm']}".encode()
    auth = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    root = f"/jsm/ops/api/{world.jsm.cloud_id}/v1"
    found: set[str] = set()
    async with sim_client(apps["jsm"], "jsm", None, auth) as c:
        for sid in world.jsm.oncall.schedules:
            found |= set((await c.get(f"{root}/schedules/{sid}/on-calls?flat=true")).json()["onCallUsers"])
    assert planted["jsm"]["leaver"][0] in found


def test_schedules_grow_with_the_world_and_the_extra_ones_are_covered():
    small, large = build_world(seed=1, people=60), build_world(seed=1, people=600)
    for provider in truth.ON_CALL:
        few, many = (len(w.directories[provider].oncall.schedules) for w in (small, large))
        assert many >= 5 * few, provider
    assert {p for p, _ in truth.uncovered(large)} == set(truth.ON_CALL)  # only the planted ones
    assert len(truth.uncovered(large)) == 3
