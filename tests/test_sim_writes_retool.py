"""Retool simulator writes: create, patch and disable users; add and remove group members."""

from __future__ import annotations

import pytest

from mcp_directory.sim import SimOptions, build_app, build_world
from tests.support import assert_valid, sim_client, validator

from .support import RETOOL_USER_KEYS

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("provider_specs")]


def schema(path: str, method: str, status: str = "200"):
    return validator("retool", "paths", path, method, "responses", status, "content", "application/json", "schema")


def error_schema():
    return validator(
        "retool", "paths", "/role_permissions/roles", "get", "responses", "401", "content", "application/json", "schema"
    )


@pytest.fixture
def world():
    return build_world(seed=13, people=40)


@pytest.fixture
async def c(world):
    app = build_app("retool", world, SimOptions(token="tok", record_requests=True))
    async with sim_client(app, "retool", "tok") as client:
        yield client


# The body Retool's Terraform provider sent in the recorded TestAccUser exchange.
RECORDED_CREATE = {
    "active": True,
    "email": "tf-acc-user-v4@example.retool.com",
    "first_name": "Test",
    "last_name": "User",
    "metadata": {"department": "engineering"},
}


async def test_create_user_like_the_recording_then_listed(world, c):
    top = max(u["legacy_id"] for u in world.retool.users.values())
    response = await c.post("/api/v2/users", json=RECORDED_CREATE)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert_valid(schema("/users", "post"), body)
    user = body["data"]
    assert list(user) == RETOOL_USER_KEYS
    assert user["id"].startswith("user_") and user["legacy_id"] == top + 1
    assert (user["last_active"], user["is_admin"], user["user_type"], user["metadata"]) == (
        None,
        False,
        "default",
        {"department": "engineering"},
    )
    listed = (await c.get("/api/v2/users", params={"email": RECORDED_CREATE["email"].upper()})).json()["data"]
    assert listed == [user]
    all_users = next(g for g in world.retool.groups.values() if g["name"] == "All Users")
    assert user["id"] in {m["id"] for m in all_users["members"]}


@pytest.mark.parametrize(
    "body,status",
    [
        ({**RECORDED_CREATE, "role": "admin"}, 400),
        ({"email": "x@acme.com", "first_name": "X"}, 400),
        ({**RECORDED_CREATE, "email": "not-an-email"}, 400),
        ({**RECORDED_CREATE, "user_type": "robot"}, 400),
        ("duplicate", 409),
    ],
)
async def test_create_user_errors(world, c, body, status):
    if body == "duplicate":
        body = {**RECORDED_CREATE, "email": next(iter(world.retool.users.values()))["email"].upper()}
    count = len(world.retool.users)
    response = await c.post("/api/v2/users", json=body)
    assert response.status_code == status, response.text
    assert_valid(error_schema(), response.json())
    assert len(world.retool.users) == count


async def test_patch_user_with_json_patch_like_the_recording(world, c):
    user_id = next(iter(world.retool.users))
    operations = [
        {"op": "replace", "path": "/first_name", "value": "Updated"},
        {"op": "replace", "path": "/last_name", "value": "TestUser"},
        {"op": "add", "path": "/metadata/team", "value": "sre"},
    ]
    response = await c.patch(f"/api/v2/users/{user_id}", json={"operations": operations})
    assert response.status_code == 200, response.text
    assert_valid(schema("/users/{userId}", "patch"), response.json())
    read = (await c.get(f"/api/v2/users/{user_id}")).json()["data"]
    assert (read["first_name"], read["last_name"], read["metadata"]["team"]) == ("Updated", "TestUser", "sre")


@pytest.mark.parametrize(
    "operations",
    [
        [{"op": "replace", "path": "/legacy_id", "value": 1}],
        [{"op": "move", "path": "/first_name", "value": "x"}],
        [{"op": "replace", "path": "/active", "value": "no"}],
        [{"op": "replace", "path": "/first_name", "value": "Fine"}, {"op": "replace", "path": "/first_name"}],
    ],
)
async def test_invalid_patch_is_400_and_changes_nothing(world, c, operations):
    user_id, user = next(iter(world.retool.users.items()))
    snapshot = dict(user)
    response = await c.patch(f"/api/v2/users/{user_id}", json={"operations": operations})
    assert response.status_code == 400, response.text
    assert_valid(error_schema(), response.json())
    assert user == snapshot


async def test_delete_disables_and_the_user_still_lists(world, c):
    user_id = next(u for u, v in world.retool.users.items() if v["active"])
    response = await c.delete(f"/api/v2/users/{user_id}")
    assert (response.status_code, response.content) == (204, b"")
    read = (await c.get(f"/api/v2/users/{user_id}")).json()["data"]
    assert read["active"] is False
    assert user_id in {u["id"] for u in (await c.get("/api/v2/users")).json()["data"]}
    assert (await c.delete("/api/v2/users/user_0000")).status_code == 404


async def test_add_members_updates_admin_flag_without_duplicates(world, c):
    group_id, group = next((g, v) for g, v in world.retool.groups.items() if v["name"] == "Support")
    outsider = next(u for u in world.retool.users if u not in {m["id"] for m in group["members"]})
    size = len(group["members"])
    path = f"/api/v2/groups/{group_id}/members"
    response = await c.post(path, json={"members": [{"id": outsider, "is_group_admin": False}]})
    assert response.status_code == 200, response.text
    assert_valid(schema("/groups/{groupId}/members", "post"), response.json())
    again = (await c.post(path, json={"members": [{"id": outsider, "is_group_admin": True}]})).json()["data"]
    mine = [m for m in again["members"] if m["id"] == outsider]
    assert mine == [{"id": outsider, "email": world.retool.users[outsider]["email"], "is_group_admin": True}]
    read = (await c.get(f"/api/v2/groups/{group_id}")).json()["data"]
    assert len(read["members"]) == size + 1 and read == again


@pytest.mark.parametrize(
    "path,body,status",
    [
        ("/api/v2/groups/9999/members", {"members": [{"id": "user_x", "is_group_admin": False}]}, 404),
        ("/api/v2/groups/1/members", {"members": [{"id": "user_0000", "is_group_admin": False}]}, 404),
        ("/api/v2/groups/1/members", {"users": []}, 400),
    ],
)
async def test_add_members_errors(c, path, body, status):
    response = await c.post(path, json=body)
    assert response.status_code == status, response.text
    assert_valid(error_schema(), response.json())


async def test_remove_member_returns_the_group_then_absent_is_404(world, c):
    group_id, group = next((g, v) for g, v in world.retool.groups.items() if v["members"])
    user_id = group["members"][0]["id"]
    response = await c.delete(f"/api/v2/groups/{group_id}/members/{user_id}")
    assert response.status_code == 200
    assert_valid(schema("/groups/{groupId}/members/{userSid}", "delete"), response.json())
    assert user_id not in {m["id"] for m in response.json()["data"]["members"]}
    read = (await c.get(f"/api/v2/groups/{group_id}")).json()["data"]
    assert user_id not in {m["id"] for m in read["members"]}
    again = await c.delete(f"/api/v2/groups/{group_id}/members/{user_id}")
    assert again.status_code == 404
    assert_valid(error_schema(), again.json())


async def test_writes_are_logged(c):
    await c.post("/api/v2/users?dry=1", json=RECORDED_CREATE)
    record = c.app.state.requests[-1]
    assert (record.method, record.path, record.query, record.body) == (
        "POST",
        "/api/v2/users",
        {"dry": "1"},
        RECORDED_CREATE,
    )
