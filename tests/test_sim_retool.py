"""Retool simulator read endpoints: filters, includeGroups, groups, roles."""

from __future__ import annotations

import pytest

from mcp_directory.sim import SimOptions, build_app, build_world
from tests.support import sim_client

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def world():
    return build_world(seed=8, people=50)


@pytest.fixture
async def c(world):
    app = build_app("retool", world, SimOptions(token="rt"))
    async with sim_client(app, "retool", "rt") as client:
        yield client


async def test_email_filter_is_case_insensitive_exact(world, c):
    user = next(iter(world.retool.users.values()))
    body = (await c.get("/api/v2/users", params={"email": user["email"].swapcase()})).json()
    assert [u["id"] for u in body["data"]] == [user["id"]] and body["total_count"] == 1
    assert (await c.get("/api/v2/users", params={"email": user["email"][1:]})).json()["data"] == []


async def test_name_filters(world, c):
    first = next(iter(world.retool.users.values()))["first_name"]
    body = (await c.get("/api/v2/users", params={"first_name": first})).json()
    assert {u["id"] for u in body["data"]} == {i for i, u in world.retool.users.items() if u["first_name"] == first}


async def test_include_groups_lists_the_users_groups(world, c):
    user_id = next(iter(world.retool.users))
    body = (await c.get(f"/api/v2/users/{user_id}", params={"includeGroups": "true"})).json()
    expected = {g["id"] for g in world.retool.groups.values() if any(m["id"] == user_id for m in g["members"])}
    assert {g["id"] for g in body["data"]["groups"]} == expected
    assert all(set(g) == {"id", "legacy_id", "name"} for g in body["data"]["groups"])
    assert (await c.get("/api/v2/users/user_ffff")).status_code == 404


async def test_groups_and_exclude_disabled_users(world, c):
    everyone = next(g for g in world.retool.groups.values() if g["name"] == "All Users")
    full = (await c.get(f"/api/v2/groups/{everyone['id']}")).json()["data"]
    assert full == everyone
    active = (await c.get(f"/api/v2/groups/{everyone['id']}", params={"excludeDisabledUsers": "true"})).json()["data"]
    inactive = {i for i, u in world.retool.users.items() if not u["active"]}
    assert inactive and {m["id"] for m in active["members"]} == {m["id"] for m in full["members"]} - inactive
    assert (await c.get("/api/v2/groups/abc")).status_code == 404


async def test_roles_listing(world, c):
    body = (await c.get("/api/v2/role_permissions/roles")).json()
    assert body["success"] is True and [r["id"] for r in body["data"]] == list(world.retool.roles)
    assert body["total_count"] == len(world.retool.roles) and body["has_more"] is False
