"""Opsgenie simulator writes: create/update/delete users, add/remove team members."""

from __future__ import annotations

import pytest

from mcp_directory.sim import SimOptions, build_app, build_world
from tests.support import assert_valid, sim_client, validator

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("provider_specs")]


def success():
    return validator("opsgenie", "definitions", "SuccessResponse")


def error():
    return validator("opsgenie", "definitions", "ErrorResponse")


@pytest.fixture
def world():
    return build_world(seed=12, people=40)


@pytest.fixture
async def c(world):
    app = build_app("opsgenie", world, SimOptions(token="key", record_requests=True))
    async with sim_client(app, "opsgenie", "key") as client:
        yield client


NEW = {"username": "new.person@acme.com", "fullName": "New Person", "role": {"name": "user"}}


async def test_create_user_201_then_readable_and_counted(world, c):
    before = (await c.get("/v2/account")).json()["data"]["userCount"]
    response = await c.post("/v2/users", json={**NEW, "timeZone": "Europe/Berlin"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert_valid(success(), body)
    assert body["result"] == "Created" and body["data"]["name"] == NEW["username"]
    assert response.headers["x-request-id"] == body["requestId"]
    user = (await c.get(f"/v2/users/{body['data']['id']}")).json()["data"]
    assert_valid(validator("opsgenie", "definitions", "User"), user)
    assert (user["username"], user["fullName"], user["role"]["name"], user["timeZone"]) == (
        NEW["username"],
        "New Person",
        "user",
        "Europe/Berlin",
    )
    assert (await c.get("/v2/account")).json()["data"]["userCount"] == before + 1
    by_name = (await c.get("/v2/users", params={"query": f"username:{NEW['username']}"})).json()
    assert [u["id"] for u in by_name["data"]] == [body["data"]["id"]]


async def test_create_user_with_a_custom_role_name(world, c):
    custom = next(iter(world.opsgenie.roles.values()))
    response = await c.post("/v2/users", json={**NEW, "role": {"name": custom["name"]}})
    assert response.status_code == 201
    assert world.opsgenie.users[response.json()["data"]["id"]]["role"] == {"id": custom["id"], "name": custom["name"]}


async def test_duplicate_username_is_409_case_insensitively(world, c):
    existing = next(iter(world.opsgenie.users.values()))["username"]
    count = len(world.opsgenie.users)
    response = await c.post("/v2/users", json={**NEW, "username": existing.swapcase()})
    assert response.status_code == 409
    assert_valid(error(), response.json())
    assert len(world.opsgenie.users) == count


@pytest.mark.parametrize(
    "body,fields",
    [
        ({"fullName": "X", "role": {"name": "user"}}, {"username"}),
        ({"username": "not-an-email", "fullName": "X", "role": {"name": "user"}}, {"username"}),
        ({"username": "a@b.co"}, {"fullName", "role"}),
        ({**NEW, "role": {"name": "emperor"}}, {"role"}),
        ({**NEW, "role": "user"}, {"role"}),
    ],
)
async def test_invalid_create_is_422_with_an_errors_map(world, c, body, fields):
    count = len(world.opsgenie.users)
    response = await c.post("/v2/users", json=body)
    assert response.status_code == 422, response.text
    assert_valid(error(), response.json())
    assert set(response.json()["errors"]) == fields
    assert len(world.opsgenie.users) == count


async def test_patch_user_updates_fields_and_team_usernames(world, c):
    team = next(iter(world.opsgenie.teams.values()))
    member = team["members"][0]["user"]
    response = await c.patch(
        f"/v2/users/{member['username'].upper()}", json={"fullName": "Renamed Person", "username": "renamed@acme.com"}
    )
    assert response.status_code == 200, response.text
    assert_valid(success(), response.json())
    assert response.json()["result"] == "Updated"
    user = (await c.get(f"/v2/users/{member['id']}")).json()["data"]
    assert (user["fullName"], user["username"]) == ("Renamed Person", "renamed@acme.com")
    read_team = (await c.get(f"/v2/teams/{team['id']}")).json()["data"]
    assert {"id": member["id"], "username": "renamed@acme.com"} in [m["user"] for m in read_team["members"]]
    other = next(u for u in world.opsgenie.users.values() if u["id"] != member["id"])
    assert (await c.patch(f"/v2/users/{member['id']}", json={"username": other["username"]})).status_code == 409
    assert (await c.patch("/v2/users/nobody@nowhere.test", json={"fullName": "x"})).status_code == 404


async def test_delete_user_leaves_every_team_and_the_count(world, c):
    team = next(iter(world.opsgenie.teams.values()))
    user_id = team["members"][0]["user"]["id"]
    before = (await c.get("/v2/account")).json()["data"]["userCount"]
    response = await c.delete(f"/v2/users/{user_id}")
    assert response.status_code == 200
    assert_valid(success(), response.json())
    assert response.json()["result"] == "Deleted"
    assert (await c.get(f"/v2/users/{user_id}")).status_code == 404
    assert (await c.get("/v2/account")).json()["data"]["userCount"] == before - 1
    for t in world.opsgenie.teams:
        members = (await c.get(f"/v2/teams/{t}")).json()["data"]["members"]
        assert user_id not in {m["user"]["id"] for m in members}
    assert (await c.delete(f"/v2/users/{user_id}")).status_code == 404


async def test_add_member_by_id_or_username_without_duplicates(world, c):
    team = next(iter(world.opsgenie.teams.values()))
    members = {m["user"]["id"] for m in team["members"]}
    newcomer = next(u for u in world.opsgenie.users.values() if u["id"] not in members)
    path = f"/v2/teams/{team['name']}/members"
    response = await c.post(
        path, params={"teamIdentifierType": "name"}, json={"user": {"username": newcomer["username"]}}
    )
    assert response.status_code == 200, response.text
    assert_valid(success(), response.json())
    assert response.json()["result"] == "Added"
    again = await c.post(f"/v2/teams/{team['id']}/members", json={"user": {"id": newcomer["id"]}, "role": "admin"})
    assert again.status_code == 200
    read = (await c.get(f"/v2/teams/{team['id']}")).json()["data"]["members"]
    mine = [m for m in read if m["user"]["id"] == newcomer["id"]]
    assert mine == [{"user": {"id": newcomer["id"], "username": newcomer["username"]}, "role": "admin"}]
    assert len(read) == len(members) + 1


@pytest.mark.parametrize(
    "case,status",
    [
        ("unknown_team", 404),
        ("unknown_user", 404),
        ("no_user", 422),
        ("bad_role", 422),
        ("bad_type", 422),
    ],
)
async def test_add_member_errors(world, c, case, status):
    team = next(iter(world.opsgenie.teams.values()))
    user = next(iter(world.opsgenie.users.values()))
    path = f"/v2/teams/{'nope' if case == 'unknown_team' else team['id']}/members"
    body = {
        "unknown_user": {"user": {"username": "ghost@nowhere.test"}},
        "no_user": {"role": "user"},
        "bad_role": {"user": {"id": user["id"]}, "role": "overlord"},
    }.get(case, {"user": {"id": user["id"]}})
    params = {"teamIdentifierType": "slug"} if case == "bad_type" else {}
    snapshot = [dict(m) for m in team["members"]]
    response = await c.post(path, json=body, params=params)
    assert response.status_code == status, response.text
    assert_valid(error(), response.json())
    assert team["members"] == snapshot


async def test_remove_member_by_username_then_absent_is_404(world, c):
    team = next(iter(world.opsgenie.teams.values()))
    member = team["members"][0]["user"]
    path = f"/v2/teams/{team['id']}/members/{member['username']}"
    response = await c.delete(path, params={"teamIdentifierType": "id"})
    assert response.status_code == 200
    assert_valid(success(), response.json())
    assert response.json()["result"] == "Removed"
    read = (await c.get(f"/v2/teams/{team['id']}")).json()["data"]["members"]
    assert member["id"] not in {m["user"]["id"] for m in read}
    assert member["id"] in world.opsgenie.users  # only the membership went
    again = await c.delete(f"/v2/teams/{team['id']}/members/{member['id']}")
    assert again.status_code == 404
    assert_valid(error(), again.json())


async def test_writes_are_logged(c):
    await c.post("/v2/users", json=NEW)
    record = c.app.state.requests[-1]
    assert (record.method, record.path, record.body) == ("POST", "/v2/users", NEW)
