"""Opsgenie simulator read endpoints: query language, identifiers, expand, teams, account."""

from __future__ import annotations

import pytest

from mcp_directory.sim import SimOptions, build_app, build_world
from tests.support import sim_client

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def world():
    return build_world(seed=6, people=50)


@pytest.fixture
async def c(world):
    app = build_app("opsgenie", world, SimOptions(token="key"))
    async with sim_client(app, "opsgenie", "key") as client:
        yield client


async def users(c, query: str) -> set[str]:
    body = (await c.get("/v2/users", params={"query": query, "limit": 100})).json()
    assert body["totalCount"] == len(body["data"])
    return {u["id"] for u in body["data"]}


async def test_query_fields(world, c):
    table = world.opsgenie.users
    assert await users(c, "blocked:true") == {i for i, u in table.items() if u["blocked"]} != set()
    assert await users(c, "verified:false") == {i for i, u in table.items() if not u["verified"]} != set()
    assert await users(c, "role:OWNER") == {i for i, u in table.items() if u["role"]["name"] == "owner"}
    user_id, user = next(iter(table.items()))
    assert await users(c, f"username:{user['username'].swapcase()}") == {user_id}
    assert await users(c, f"username:{user['username'][:-1]}") == set()
    first = user["fullName"].split()[0]
    assert await users(c, f'fullName:"{first.lower()}"') == {
        i for i, u in table.items() if first.lower() in u["fullName"].lower()
    }


async def test_bare_term_matches_username_or_full_name_and_terms_combine(world, c):
    table = world.opsgenie.users
    expected = {i for i, u in table.items() if "acme.io" in u["username"].lower() or "acme.io" in u["fullName"].lower()}
    assert await users(c, "ACME.IO") == expected
    assert await users(c, "acme.io verified:true") == {i for i in expected if table[i]["verified"]}
    assert (await c.get("/v2/users", params={"query": "shoeSize:9"})).status_code == 422


async def test_get_user_by_id_or_case_insensitive_username_with_expand(world, c):
    user_id, user = next((i, u) for i, u in world.opsgenie.users.items() if not u["username"].islower())
    by_name = (await c.get(f"/v2/users/{user['username'].lower()}")).json()
    assert by_name["data"]["id"] == user_id and by_name["expandable"] == ["contact"]
    assert "userContacts" not in by_name["data"]
    expanded = (await c.get(f"/v2/users/{user_id}", params={"expand": "contact"})).json()
    assert {x["contactMethod"] for x in expanded["data"]["userContacts"]} >= {"email"}
    missing = await c.get("/v2/users/ghost@example.com")
    assert missing.status_code == 404 and set(missing.json()) == {"message", "took", "requestId"}


async def test_user_teams_and_team_lookup(world, c):
    team_id, team = next(iter(world.opsgenie.teams.items()))
    member_id = team["members"][0]["user"]["id"]
    teams = (await c.get(f"/v2/users/{member_id}/teams")).json()["data"]
    assert {"id": team_id, "name": team["name"]} in teams
    assert all(set(t) == {"id", "name"} for t in teams)
    listing = (await c.get("/v2/teams")).json()["data"]
    assert [t["id"] for t in listing] == list(world.opsgenie.teams)
    assert all(set(t) == {"id", "name", "description"} for t in listing)
    by_name = (await c.get(f"/v2/teams/{team['name']}", params={"identifierType": "name"})).json()
    assert by_name["data"] == team
    assert (await c.get(f"/v2/teams/{team['name']}")).status_code == 404  # default identifierType is id
    assert (await c.get(f"/v2/teams/{team_id}", params={"identifierType": "x"})).status_code == 422


async def test_account_counts_live_users(world, c):
    body = (await c.get("/v2/account")).json()
    assert body["data"]["userCount"] == len(world.opsgenie.users)
    assert body["data"]["plan"]["maxUserCount"] > body["data"]["userCount"]
