"""Rootly simulator read endpoints: filters, includes, lookups by id or slug."""

from __future__ import annotations

import pytest

from mcp_directory.sim import SimOptions, build_app, build_world
from tests.support import sim_client

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def world():
    return build_world(seed=4, people=50)


@pytest.fixture
async def c(world):
    app = build_app("rootly", world, SimOptions(token="tok"))
    async with sim_client(app, "rootly", "tok") as client:
        yield client


async def test_filter_email_is_case_insensitive_exact(world, c):
    user = next(iter(world.rootly.users.values()))
    email = user["attributes"]["email"]
    body = (await c.get("/v1/users", params={"filter[email]": email.upper()})).json()
    assert [u["id"] for u in body["data"]] == [user["id"]]
    partial = (await c.get("/v1/users", params={"filter[email]": email[:-1]})).json()
    assert partial["data"] == [] and partial["meta"]["total_count"] == 0


async def test_filter_search_matches_name_or_email_substring(world, c):
    body = (await c.get("/v1/users", params={"filter[search]": "ACME.IO", "page[size]": 100})).json()
    expected = {i for i, u in world.rootly.users.items() if "acme.io" in u["attributes"]["email"].lower()}
    assert {u["id"] for u in body["data"]} == expected
    person = next(u for u in world.rootly.users.values() if not u["attributes"]["full_name"].isascii())
    fragment = person["attributes"]["full_name"].lower()
    hits = (await c.get("/v1/users", params={"filter[search]": fragment, "page[size]": 100})).json()
    assert person["id"] in {u["id"] for u in hits["data"]}


async def test_include_role_and_teams_adds_exactly_the_related_resources(world, c):
    user_id = next(
        i
        for i, u in world.rootly.users.items()
        if any(int(i) in t["attributes"]["user_ids"] for t in world.rootly.teams.values())
    )
    body = (await c.get(f"/v1/users/{user_id}", params={"include": "role,teams"})).json()
    role_id = world.rootly.users[user_id]["relationships"]["role"]["data"]["id"]
    teams = {t for t, team in world.rootly.teams.items() if int(user_id) in team["attributes"]["user_ids"]}
    assert {(r["type"], r["id"]) for r in body["included"]} == {("roles", role_id)} | {("groups", t) for t in teams}
    plain = (await c.get(f"/v1/users/{user_id}")).json()
    assert "included" not in plain
    assert (await c.get(f"/v1/users/{user_id}", params={"include": "bogus"})).status_code == 400
    empty = (await c.get(f"/v1/users/{user_id}", params={"include": "schedules,notification_rules"})).json()
    assert empty["included"] == []


async def test_me_and_unknown_user(world, c):
    me = (await c.get("/v1/users/me")).json()
    assert me["data"]["id"] == world.rootly.me_id
    missing = await c.get("/v1/users/123")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/vnd.api+json"


async def test_teams_by_id_or_slug_and_filters(world, c):
    team_id, team = next(iter(world.rootly.teams.items()))
    slug = team["attributes"]["slug"]
    assert (await c.get(f"/v1/teams/{slug}")).json()["data"]["id"] == team_id
    assert (await c.get(f"/v1/teams/{team_id}")).json()["data"] == team
    by_slug = (await c.get("/v1/teams", params={"filter[slug]": slug})).json()
    assert [t["id"] for t in by_slug["data"]] == [team_id]
    by_name = (await c.get("/v1/teams", params={"filter[name]": team["attributes"]["name"].upper()})).json()
    assert [t["id"] for t in by_name["data"]] == [team_id]
    with_users = (await c.get(f"/v1/teams/{team_id}", params={"include": "users"})).json()
    assert sorted(int(u["id"]) for u in with_users["included"]) == sorted(team["attributes"]["user_ids"])
    assert (await c.get("/v1/teams/no-such-team")).status_code == 404


async def test_roles_incident_roles_and_incidents(world, c):
    owner = (await c.get("/v1/roles/owner")).json()["data"]
    assert owner["attributes"]["is_deletable"] is False
    on_call = (await c.get("/v1/on_call_roles")).json()["data"]
    assert {r["attributes"]["system_role"] for r in on_call} >= {"admin", "user", "observer"}
    disabled = (await c.get("/v1/incident_roles", params={"filter[enabled]": "false"})).json()["data"]
    assert [r["attributes"]["name"] for r in disabled] == ["Technical Lead"]
    commander = (await c.get("/v1/incident_roles", params={"filter[search]": "command"})).json()["data"]
    assert [r["attributes"]["slug"] for r in commander] == ["commander"]
    assert (await c.get(f"/v1/incident_roles/{commander[0]['id']}")).json()["data"] == commander[0]
    incident_id, incident = next(iter(world.rootly.incidents.items()))
    by_slug = (await c.get(f"/v1/incidents/{incident['attributes']['slug']}")).json()
    assert by_slug["data"]["id"] == incident_id
    assert (await c.get("/v1/incidents/nope")).status_code == 404
