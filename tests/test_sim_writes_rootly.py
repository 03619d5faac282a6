"""Rootly simulator writes: team membership by PUT, user deletion, incident role (un)assignment.

Each success is validated against the real spec's response schema and checked through a later read.
"""

from __future__ import annotations

import pytest

from mcp_directory.sim import SimOptions, build_app, build_world
from tests.support import assert_valid, sim_client, validator

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("provider_specs")]
MEDIA = "application/vnd.api+json"


def schema(path: str, method: str, status: str = "200"):
    return validator("rootly", "paths", path, method, "responses", status, "content", MEDIA, "schema")


@pytest.fixture
def world():
    return build_world(seed=11, people=40)


@pytest.fixture
async def c(world):
    app = build_app("rootly", world, SimOptions(token="tok", record_requests=True))
    async with sim_client(app, "rootly", "tok", {"Content-Type": MEDIA}) as client:
        yield client


def team_body(**attributes):
    return {"data": {"type": "groups", "attributes": attributes}}


def role_body(user_id: str, role_id: str, **extra):
    return {"data": {"type": "incidents", "attributes": {"user_id": user_id, "incident_role_id": role_id, **extra}}}


def outsider(world, team_id: str) -> int:
    members = world.rootly.teams[team_id]["attributes"]["user_ids"]
    return next(int(u) for u in world.rootly.users if int(u) not in members)


async def test_put_team_replaces_members_and_admins_visible_on_read(world, c):
    team_id, team = next(iter(world.rootly.teams.items()))
    before = team["attributes"]["updated_at"]
    new = outsider(world, team_id)
    users = team["attributes"]["user_ids"] + [new]
    response = await c.put(f"/v1/teams/{team_id}", json=team_body(user_ids=users, admin_ids=[new], name="Renamed"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MEDIA
    assert_valid(schema("/v1/teams/{id}", "put"), response.json())
    read = (await c.get(f"/v1/teams/{team['attributes']['slug']}")).json()["data"]["attributes"]
    assert read["user_ids"] == users and read["admin_ids"] == [new] and read["name"] == "Renamed"
    assert read["updated_at"] != before
    member_of = (await c.get(f"/v1/users/{new}", params={"include": "teams"})).json()["included"]
    assert team_id in {r["id"] for r in member_of}


async def test_put_team_user_ids_only_drops_removed_admins(world, c):
    team_id, team = next((t, v) for t, v in world.rootly.teams.items() if v["attributes"]["admin_ids"])
    admin = team["attributes"]["admin_ids"][0]
    remaining = [u for u in team["attributes"]["user_ids"] if u != admin]
    body = (await c.put(f"/v1/teams/{team_id}", json=team_body(user_ids=remaining))).json()["data"]["attributes"]
    assert admin not in body["admin_ids"] and body["user_ids"] == remaining


@pytest.mark.parametrize("case", ["admin_not_member", "unknown_user", "extra_attribute", "wrong_type", "not_ints"])
async def test_put_team_errors_are_422_errors_list(world, c, case):
    team_id, team = next(iter(world.rootly.teams.items()))
    snapshot = dict(team["attributes"])
    members = team["attributes"]["user_ids"]
    body = {
        "admin_not_member": team_body(user_ids=members, admin_ids=[outsider(world, team_id)]),
        "unknown_user": team_body(user_ids=[*members, 1]),
        "extra_attribute": team_body(user_ids=members, nickname="x"),
        "wrong_type": {"data": {"type": "teams", "attributes": {"user_ids": members}}},
        "not_ints": team_body(user_ids=[str(u) for u in members]),
    }[case]
    response = await c.put(f"/v1/teams/{team_id}", json=body)
    assert response.status_code == 422, response.text
    assert_valid(validator("rootly", "components", "schemas", "errors_list"), response.json())
    if case == "unknown_user":
        assert response.json()["errors"][0]["title"] == "invalid association"
    assert team["attributes"] == snapshot


async def test_put_unknown_team_is_404(c):
    response = await c.put("/v1/teams/no-such-team", json=team_body(name="x"))
    assert response.status_code == 404
    assert_valid(schema("/v1/teams/{id}", "put", "404"), response.json())


async def test_delete_user_returns_it_and_removes_it_everywhere(world, c):
    team_id, team = next((t, v) for t, v in world.rootly.teams.items() if v["attributes"]["admin_ids"])
    user_id = str(team["attributes"]["admin_ids"][0])
    count = len(world.rootly.users)
    response = await c.delete(f"/v1/users/{user_id}")
    assert response.status_code == 200
    assert_valid(schema("/v1/users/{id}", "delete"), response.json())
    assert response.json()["data"]["id"] == user_id
    assert (await c.get(f"/v1/users/{user_id}")).status_code == 404
    listed = (await c.get("/v1/users", params={"page[size]": 100})).json()
    assert user_id not in {u["id"] for u in listed["data"]} and listed["meta"]["total_count"] == count - 1
    attrs = (await c.get(f"/v1/teams/{team_id}")).json()["data"]["attributes"]
    assert int(user_id) not in attrs["user_ids"] and int(user_id) not in attrs["admin_ids"]
    assert (await c.delete(f"/v1/users/{user_id}")).status_code == 404


async def test_there_is_no_user_creation(c):
    response = await c.post("/v1/users", json={"data": {"type": "users", "attributes": {"email": "a@b.c"}}})
    assert response.status_code == 404


def roles(world, *, multi: bool) -> str:
    return next(
        r
        for r, v in world.rootly.incident_roles.items()
        if v["attributes"]["allow_multi_user_assignment"] is multi and v["attributes"]["enabled"]
    )


async def assignments(c, incident: str) -> set[tuple[str, str]]:
    body = (await c.get(f"/v1/incidents/{incident}", params={"include": "roles"})).json()
    assert_valid(schema("/v1/incidents/{id}", "get"), body)
    assert all(r["type"] == "incident_role_assignments" for r in body["included"])
    return {
        (r["relationships"]["incident_role"]["data"]["id"], r["relationships"]["user"]["data"]["id"])
        for r in body["included"]
    }


async def test_assign_and_unassign_roles_visible_through_include_roles(world, c):
    incident_id, incident = next(iter(world.rootly.incidents.items()))
    single, multi = roles(world, multi=False), roles(world, multi=True)
    alice, bob = list(world.rootly.users)[:2]
    path = f"/v1/incidents/{incident['attributes']['slug']}"
    for user, role in ((alice, single), (alice, multi), (bob, multi), (alice, multi)):
        response = await c.post(f"{path}/assign_role_to_user", json=role_body(user, role))
        assert response.status_code == 200, response.text
        assert_valid(schema("/v1/incidents/{id}/assign_role_to_user", "post"), response.json())
        assert response.json()["data"]["id"] == incident_id
    assert await assignments(c, incident_id) == {(single, alice), (multi, alice), (multi, bob)}
    assert len(world.rootly.assignments[incident_id]) == 3  # the repeated pair added nothing
    # A single-holder role moves to the new holder.
    await c.post(f"{path}/assign_role_to_user", json=role_body(bob, single))
    assert await assignments(c, incident_id) == {(single, bob), (multi, alice), (multi, bob)}
    response = await c.request("DELETE", f"{path}/unassign_role_from_user", json=role_body(alice, multi))
    assert response.status_code == 200
    assert_valid(schema("/v1/incidents/{id}/unassign_role_from_user", "delete"), response.json())
    assert await assignments(c, incident_id) == {(single, bob), (multi, bob)}
    plain = (await c.get(f"/v1/incidents/{incident_id}")).json()
    assert "included" not in plain


@pytest.mark.parametrize(
    "case,status",
    [
        ("unknown_incident", 404),
        ("unknown_user", 404),
        ("unknown_role", 404),
        ("extra_attribute", 422),
        ("missing_role", 422),
        ("integer_user", 422),
        ("not_assigned", 404),
    ],
)
async def test_assignment_errors(world, c, case, status):
    incident_id = next(iter(world.rootly.incidents))
    user, role = next(iter(world.rootly.users)), roles(world, multi=True)
    body = {
        "unknown_user": role_body("1", role),
        "unknown_role": role_body(user, "nope"),
        "extra_attribute": role_body(user, role, note="x"),
        "missing_role": {"data": {"type": "incidents", "attributes": {"user_id": user}}},
        "integer_user": role_body(int(user), role),
    }.get(case, role_body(user, role))
    target = "no-such-incident" if case == "unknown_incident" else incident_id
    verb, method = ("unassign_role_from_user", "DELETE") if case == "not_assigned" else ("assign_role_to_user", "POST")
    response = await c.request(method, f"/v1/incidents/{target}/{verb}", json=body)
    assert response.status_code == status, response.text
    assert_valid(validator("rootly", "components", "schemas", "errors_list"), response.json())
    assert world.rootly.assignments.get(incident_id, []) == []


async def test_writes_are_logged_like_reads(world, c):
    incident_id = next(iter(world.rootly.incidents))
    body = role_body(next(iter(world.rootly.users)), roles(world, multi=True))
    await c.post(f"/v1/incidents/{incident_id}/assign_role_to_user?x=1", json=body)
    record = c.app.state.requests[-1]
    assert (record.method, record.path, record.query, record.body) == (
        "POST",
        f"/v1/incidents/{incident_id}/assign_role_to_user",
        {"x": "1"},
        body,
    )
