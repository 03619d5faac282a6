"""The simulated on-call APIs behave as their specs say: who is on call at a time (an override
wins), whole-list writes, Rootly's in-place slot swap, Opsgenie's 428 on deleting a referenced
user (and Rootly's delete and JSM's suspend leaving a ghost), paging, the outside-edit hook."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from mcp_directory.sim import DEMO_TOKENS, SimOptions, build_app, build_world
from mcp_directory.sim import oncall_truth as truth
from mcp_directory.sim.oncall_faults import outside_edit
from mcp_directory.sim.oncall_time import anchor, iso, parse_time
from tests.support import sim_client

pytestmark = pytest.mark.anyio


@pytest.fixture
def world():
    return build_world(seed=1, people=60)


def client(world, provider: str):
    app = build_app(provider, world, SimOptions(token=DEMO_TOKENS[provider]))
    if provider == "jsm":
        pair = f"{world.jsm.email}:{DEMO_TOKENS['jsm']}".encode()
        return sim_client(app, provider, None, {"Authorization": "Basic " + base64.b64encode(pair).decode()})
    return sim_client(app, provider, DEMO_TOKENS[provider])


def expected_holder(rotation: dict, at: datetime) -> dict | None:
    """Independent arithmetic: whole shifts elapsed since the start, modulo the participants."""
    unit = {"hourly": 3600, "daily": 86400, "weekly": 604800}[rotation["type"]] * rotation["length"]
    elapsed = (at - parse_time(rotation["startDate"], "startDate")).total_seconds()
    return None if elapsed < 0 else rotation["participants"][int(elapsed // unit) % len(rotation["participants"])]


def primary(world, provider: str) -> tuple[dict, dict]:
    store = world.directories[provider].oncall
    leaver = store.planted["leaver"][0]
    for schedule in store.schedules.values():
        for rotation in schedule["rotations"]:
            if rotation["participants"][0].get("id") == leaver:
                return schedule, rotation
    raise AssertionError("the leaver holds no rotation's first slot")


@pytest.mark.parametrize("hours", [0, 5, 24 * 7 + 1, 24 * 7 * 2 + 3, 24 * 7 * 9, -24 * 7 * 30])
async def test_opsgenie_on_call_at_a_time_follows_the_rotation(world, hours):
    schedule, rotation = primary(world, "opsgenie")
    at = datetime.now(UTC) + timedelta(hours=hours)
    async with client(world, "opsgenie") as c:
        body = (await c.get(f"/v2/schedules/{schedule['id']}/on-calls", params={"date": iso(at)})).json()
    expected = expected_holder(rotation, at)
    covered = any(
        parse_time(o["startDate"], "s") <= at < parse_time(o["endDate"], "e")
        for o in world.opsgenie.oncall.overrides[schedule["id"]]
    )
    if not covered:
        assert [p["id"] for p in body["data"]["onCallParticipants"]] == ([expected["id"]] if expected else [])


async def test_opsgenie_override_wins_and_none_pages_nobody(world):
    schedule, rotation = primary(world, "opsgenie")
    successor = world.opsgenie.oncall.planted["successor"][0]
    now = datetime.now(UTC)
    async with client(world, "opsgenie") as c:
        before = (await c.get(f"/v2/schedules/{schedule['id']}/on-calls?flat=true")).json()["data"]
        assert before["onCallRecipients"] == [
            world.opsgenie.users[world.opsgenie.oncall.planted["leaver"][0]]["username"]
        ]
        body = {"user": {"type": "user", "id": successor}, "startDate": iso(now - timedelta(hours=1))}
        body["endDate"] = iso(now + timedelta(hours=1))
        made = await c.post(f"/v2/schedules/{schedule['id']}/overrides", json=body)
        assert made.status_code == 201
        after = (await c.get(f"/v2/schedules/{schedule['id']}/on-calls")).json()["data"]["onCallParticipants"]
        assert [p["id"] for p in after] == [successor]
        alias = made.json()["data"]["alias"]
        nobody = {**body, "user": {"type": "none"}}
        assert (await c.put(f"/v2/schedules/{schedule['id']}/overrides/{alias}", json=nobody)).status_code == 200
        empty = (await c.get(f"/v2/schedules/{schedule['id']}/on-calls")).json()["data"]["onCallParticipants"]
        assert empty == []
        assert (await c.delete(f"/v2/schedules/{schedule['id']}/overrides/{alias}")).status_code == 200
        back = (await c.get(f"/v2/schedules/{schedule['id']}/on-calls")).json()["data"]["onCallParticipants"]
        assert [p["id"] for p in back] == [rotation["participants"][0]["id"]]
        bad = await c.get(f"/v2/schedules/{schedule['id']}/on-calls?date=tomorrow")
        assert bad.status_code == 422 and "date" in bad.json()["errors"]


async def test_opsgenie_refuses_to_delete_a_referenced_user_until_it_is_replaced(world):
    store = world.opsgenie.oncall
    leaver, successor = store.planted["leaver"][0], store.planted["successor"][0]
    schedule, rotation = primary(world, "opsgenie")
    async with client(world, "opsgenie") as c:
        refused = await c.delete(f"/v2/users/{leaver}")
        assert refused.status_code == 428 and "Payments Primary" in refused.json()["message"]
        assert leaver in world.opsgenie.users
        swapped = [{"type": "user", "id": successor} if p.get("id") == leaver else p for p in rotation["participants"]]
        others = [p for p in rotation["participants"] if p.get("id") != leaver]
        path = f"/v2/schedules/{schedule['id']}/rotations/{rotation['id']}"
        assert (await c.patch(path, json={"participants": swapped})).status_code == 200
        got = (await c.get(path)).json()["data"]["participants"]
        assert got[0]["id"] == successor and got[0]["username"] == world.opsgenie.users[successor]["username"]
        assert got[1:] == others  # everyone else kept their place
        still = await c.delete(f"/v2/users/{leaver}")
        assert still.status_code == 428 and "escalation" in still.json()["message"]
        for escalation in [
            e for e in store.escalations.values() if any(r["recipient"].get("id") == leaver for r in e["rules"])
        ]:
            rules = [
                {**r, "recipient": {"type": "user", "id": successor}} if r["recipient"].get("id") == leaver else r
                for r in escalation["rules"]
            ]
            answer = await c.patch(f"/v2/escalations/{escalation['id']}", json={"rules": rules})
            assert answer.status_code == 200 and answer.json()["result"] == "Updated"
        assert (await c.delete(f"/v2/users/{leaver}")).status_code == 200
    assert leaver not in world.opsgenie.users
    assert not any(n.user_id == leaver for n in truth.named(world, "opsgenie"))  # its override went with it


async def test_opsgenie_whole_list_writes_replace_and_refuse_unknown_participants(world):
    schedule, rotation = primary(world, "opsgenie")
    path = f"/v2/schedules/{schedule['id']}/rotations/{rotation['id']}"
    async with client(world, "opsgenie") as c:
        shorter = rotation["participants"][1:]
        assert (await c.patch(path, json={"participants": shorter})).status_code == 200
        assert (await c.get(path)).json()["data"]["participants"] == shorter  # replaced, not merged
        bad = await c.patch(path, json={"participants": [{"type": "user", "id": "nobody"}]})
        assert bad.status_code == 422 and "participants" in bad.json()["errors"]
        assert (await c.get(path)).json()["data"]["participants"] == shorter
        by_name = await c.patch(path, json={"participants": [{"type": "none"}, {"type": "team", "name": "platform"}]})
        assert by_name.status_code == 200
        assert [p["type"] for p in (await c.get(path)).json()["data"]["participants"]] == ["none", "team"]
        team = next(t for t in world.opsgenie.teams.values() if t["name"] == "database")
        owner = await c.patch(f"/v2/schedules/{schedule['id']}", json={"ownerTeam": {"name": "database"}})
        assert (
            owner.status_code == 200
            and world.opsgenie.oncall.schedules[schedule["id"]]["ownerTeam"]["id"] == team["id"]
        )


async def test_outside_edit_lands_between_the_read_and_the_write(world):
    schedule, rotation = primary(world, "opsgenie")
    app = build_app("opsgenie", world, SimOptions(token=DEMO_TOKENS["opsgenie"]))
    newcomer = {"type": "none"}
    outside_edit(app, lambda: rotation["participants"].append(newcomer), path="/rotations/")
    path = f"/v2/schedules/{schedule['id']}/rotations/{rotation['id']}"
    async with sim_client(app, "opsgenie", DEMO_TOKENS["opsgenie"]) as c:
        read = (await c.get(path)).json()["data"]["participants"]
        assert newcomer not in read
        await c.patch(path, json={"participants": read})
        assert newcomer not in (await c.get(path)).json()["data"]["participants"]  # the edit was lost
        await c.patch(path, json={"participants": read})  # only the first matching request is edited
    assert rotation["participants"] == [p for p in read]


async def test_rootly_oncalls_by_level_and_an_override_wins(world):
    store = world.rootly.oncall
    leaver, successor = int(store.planted["leaver"][0]), int(store.planted["successor"][0])
    primary_id = next(s["id"] for s in store.schedules.values() if s["attributes"]["owner_user_id"] == leaver)
    async with client(world, "rootly") as c:
        entries = (await c.get("/v1/oncalls", params={"filter[schedule_ids]": primary_id})).json()["data"]
        assert [e["attributes"]["user_id"] for e in entries] == [leaver]
        direct = (await c.get("/v1/oncalls", params={"filter[user_ids]": str(leaver)})).json()["data"]
        assert {(e["attributes"]["escalation_level"], e["attributes"]["schedule_id"]) for e in direct} == {
            (1, primary_id),
            (2, None),
        }
        now = datetime.now(UTC)
        body = {"data": {"type": "shifts", "attributes": {"user_id": successor}}}
        body["data"]["attributes"] |= {
            "starts_at": iso(now - timedelta(hours=1)),
            "ends_at": iso(now + timedelta(hours=1)),
        }
        made = await c.post(f"/v1/schedules/{primary_id}/override_shifts", json=body)
        assert made.status_code == 201
        again = await c.post(f"/v1/schedules/{primary_id}/override_shifts", json=body)
        assert again.status_code == 200 and again.json()["data"]["id"] == made.json()["data"]["id"]
        entries = (await c.get("/v1/oncalls", params={"filter[schedule_ids]": primary_id})).json()["data"]
        assert [e["attributes"]["user_id"] for e in entries] == [successor]
        week = {"since": iso(anchor() + timedelta(days=2)), "until": iso(anchor() + timedelta(days=16))}
        later = (await c.get("/v1/oncalls", params={**week, "filter[schedule_ids]": primary_id})).json()["data"]
        assert len(later) >= 2 and len({e["attributes"]["user_id"] for e in later}) >= 2
        bad = await c.get("/v1/oncalls?since=soon")
        assert bad.status_code == 400


async def test_rootly_slot_swap_keeps_positions_and_level_targets_are_replaced_whole(world):
    store = world.rootly.oncall
    leaver, successor = int(store.planted["leaver"][0]), int(store.planted["successor"][0])
    async with client(world, "rootly") as c:
        slot = next(u for u in store.rotation_users.values() if u["attributes"]["user_id"] == leaver)
        rotation = slot["attributes"]["schedule_rotation_id"]
        path = f"/v1/schedule_rotations/{rotation}/schedule_rotation_users"
        before = (await c.get(path)).json()["data"]
        body = {"data": {"type": "schedule_rotation_users", "attributes": {"user_id": successor}}}
        assert (await c.put(f"/v1/schedule_rotation_users/{slot['id']}", json=body)).status_code == 200
        after = (await c.get(path)).json()["data"]
        swapped = [
            (u["id"], u["attributes"]["position"], successor if u["id"] == slot["id"] else u["attributes"]["user_id"])
            for u in before
        ]
        assert [(u["id"], u["attributes"]["position"], u["attributes"]["user_id"]) for u in after] == swapped
        ghost = {"data": {"type": "schedule_rotation_users", "attributes": {"user_id": 1}}}
        assert (await c.put(f"/v1/schedule_rotation_users/{slot['id']}", json=ghost)).status_code == 422
        level = next(
            lv
            for lv in store.levels.values()
            if {"id": str(leaver), "type": "user"} in lv["attributes"]["notification_target_params"]
        )
        targets = [{"id": str(successor), "type": "user"}]
        body = {"data": {"type": "escalation_levels", "attributes": {"notification_target_params": targets}}}
        assert (await c.put(f"/v1/escalation_levels/{level['id']}", json=body)).status_code == 200
        assert (await c.get(f"/v1/escalation_levels/{level['id']}")).json()["data"]["attributes"][
            "notification_target_params"
        ] == targets
        owner = {"data": {"type": "schedules", "attributes": {"owner_user_id": successor}}}
        schedule = next(s for s in store.schedules.values() if s["attributes"]["owner_user_id"] == leaver)
        assert (await c.put(f"/v1/schedules/{schedule['id']}", json=owner)).status_code == 200
        override = next(o for o in store.overrides.values() if o["attributes"]["user_id"] == leaver)
        handed = {"data": {"type": "shifts", "attributes": {"user_id": successor}}}
        assert (await c.put(f"/v1/override_shifts/{override['id']}", json=handed)).status_code == 200
        assert not any(n.user_id == str(leaver) for n in truth.named(world, "rootly"))
        # Rootly's delete goes through even for a named user and leaves a ghost.
        named = next(
            n for n in truth.named(world, "rootly") if n.kind == "rotation" and n.user_id in world.rootly.users
        )
        assert (await c.delete(f"/v1/users/{named.user_id}")).status_code == 200
    assert named in truth.ghosts(world)


async def test_jsm_whole_list_writes_paging_and_a_suspended_participant_stays_named(world):
    store = world.jsm.oncall
    root = f"/jsm/ops/api/{world.jsm.cloud_id}/v1"
    schedule, rotation = primary(world, "jsm")
    async with client(world, "jsm") as c:
        seen, url = [], f"{root}/schedules?size=1&expand=rotation&query=%2A"
        for _ in range(len(store.schedules) + 1):
            page = (await c.get(url)).json()
            seen += [s["id"] for s in page["values"]]
            if "next" not in page["links"]:
                break
            url = f"/jsm/ops/api/{world.jsm.cloud_id}{page['links']['next']}"
        assert seen == list(store.schedules) and "rotations" in page["values"][0]
        assert (await c.get(f"{root}/schedules?size=51")).status_code == 422
        named = (await c.get(f"{root}/schedules", params={"query": schedule["name"].upper()})).json()["values"]
        assert [s["id"] for s in named] == [schedule["id"]]
        prefix = (await c.get(f"{root}/schedules", params={"query": schedule["name"][:4] + "*"})).json()["values"]
        assert schedule["id"] in [s["id"] for s in prefix]
        path = f"{root}/schedules/{schedule['id']}/rotations/{rotation['id']}"
        shorter = rotation["participants"][1:]
        assert (await c.patch(path, json={"participants": shorter})).json()["participants"] == shorter
        bad = await c.patch(path, json={"participants": [{"type": "user", "id": "nobody"}]})
        assert bad.status_code == 422 and bad.json()["errors"][0]["title"]
        escalation_id, team = next(iter(store.escalation_team.items()))
        rules = [
            {
                "condition": "if-not-acked",
                "notifyType": "default",
                "delay": 5,
                "recipient": {"type": "team", "id": team},
            }
        ]
        patched = await c.patch(f"{root}/teams/{team}/escalations/{escalation_id}", json={"rules": rules})
        assert patched.status_code == 200 and patched.json()["rules"] == rules
        flat = (await c.get(f"{root}/schedules/{schedule['id']}/on-calls?flat=true")).json()
        assert flat["onCallUsers"] == [expected_holder({**rotation, "participants": shorter}, datetime.now(UTC))["id"]]
    suspended = next(n for n in truth.ghosts(world) if n.provider == "jsm" and n.kind == "rotation")
    assert truth.status(world, "jsm", suspended.user_id) == "inactive" and suspended.user_id in world.jsm.users


async def test_opsgenie_a_renamed_user_is_shown_renamed_where_named(world):
    schedule, _ = primary(world, "opsgenie")
    leaver = world.opsgenie.oncall.planted["leaver"][0]
    async with client(world, "opsgenie") as c:
        assert (await c.patch(f"/v2/users/{leaver}", json={"username": "renamed@acme.com"})).status_code == 200
        flat = (await c.get(f"/v2/schedules/{schedule['id']}/on-calls?flat=true")).json()["data"]
        escalations = (await c.get(f"/v2/users/{leaver}/escalations")).json()["data"]
    assert flat["onCallRecipients"] == ["renamed@acme.com"]
    assert {
        r["recipient"].get("username") for e in escalations for r in e["rules"] if r["recipient"].get("id") == leaver
    } == {"renamed@acme.com"}


async def test_rootly_schedule_lists_page_like_every_rootly_list(world):
    async with client(world, "rootly") as c:
        seen, number = [], 1
        for _ in range(len(world.rootly.oncall.schedules) + 1):
            body = (await c.get("/v1/schedules", params={"page[size]": 1, "page[number]": number})).json()
            assert body["meta"]["total_count"] == len(world.rootly.oncall.schedules)
            seen += [s["id"] for s in body["data"]]
            if body["meta"]["next_page"] is None:
                break
            number = body["meta"]["next_page"]
        assert seen == list(world.rootly.oncall.schedules)
        assert (await c.get("/v1/schedules?page[size]=101")).status_code == 400


async def test_jsm_suspending_a_named_account_succeeds_and_leaves_a_ghost(world):
    leaver = world.jsm.oncall.planted["leaver"][0]
    app = build_app("jsm", world, SimOptions(token=DEMO_TOKENS["jsm"]))
    path = f"/admin/v2/orgs/{world.jsm.org_id}/directories/-/users/{leaver}/suspend"
    async with sim_client(app, "jsm", None, {"Authorization": f"Bearer {world.jsm.org_key}"}) as c:
        assert (await c.post(path)).status_code == 200
    mine = {n for n in truth.named(world, "jsm") if n.user_id == leaver}
    assert {n.kind for n in mine} == {"rotation", "escalation", "override"} and mine <= set(truth.ghosts(world))
