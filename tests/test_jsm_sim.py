"""The simulated JSM site: its answers against Atlassian's published specs (provider_specs/jsm)
where they cover the endpoint, its credentials per API, and the world it is seeded from (a site
migrated from the world's Opsgenie, which leaves every other provider's records as they were)."""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

import httpx2 as httpx
import pytest
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from mcp_directory.sim import NATIVE, SimOptions, build_app, build_world
from mcp_directory.sim import registry as sim_registry
from mcp_directory.sim.jsm_seed import EMAIL

from .support import assert_valid, spec_file

TOKEN = "sim-jsm-token-77e1c0"
FILES = {
    "jira": "jsm/jira-platform-directory-subset.json",
    "teams": "jsm/teams-public-api-v1.v3.json",
    "ops": "jsm/jsm-ops.v3.EXCERPT.json",
}


@cache
def _registry(api: str) -> Registry:
    spec = json.loads(spec_file(FILES[api]).read_text())
    return Registry().with_resource(f"urn:jsm-{api}", Resource.from_contents(spec, default_specification=DRAFT4))


def schema(api: str, *pointer: str) -> OAS30Validator:
    ref = {"$ref": f"urn:jsm-{api}#/" + "/".join(t.replace("~", "~0").replace("/", "~1") for t in pointer)}
    return OAS30Validator(ref, registry=_registry(api), format_checker=OAS30Validator.FORMAT_CHECKER)


def jira(path: str, method: str = "get", status: str = "200") -> OAS30Validator:
    return schema("jira", "paths", path, method, "responses", status, "content", "application/json", "schema")


def teams(path: str, method: str, status: str = "200", media: str = "*/*") -> OAS30Validator:
    full = "/public/teams/v1/org/{orgId}/teams" + path
    return schema("teams", "paths", full, method, "responses", status, "content", media, "schema")


@pytest.fixture(scope="module")
def world():
    return build_world(seed=7, people=45)


@pytest.fixture
def client(world):
    """A client of the site app sending the Basic credential (the org key where the path is /admin)."""
    app = build_app("jsm", world, SimOptions(token=TOKEN))
    basic = base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="https://acme.atlassian.net",
        headers={"Authorization": f"Basic {basic}"},
    )
    http.app = app  # type: ignore[attr-defined]
    return http


def team_base(world) -> str:
    return f"/gateway/api/public/teams/v1/org/{world.jsm.org_id}/teams"


# --- against the specs ---------------------------------------------------------------------------


@pytest.mark.usefixtures("provider_specs")
@pytest.mark.anyio
async def test_jira_answers_match_the_platform_spec(client, world):
    async with client:
        users = (await client.get("/rest/api/3/users/search", params={"maxResults": 1000})).json()
        assert len(users) == len(world.jsm.users) and {u["accountType"] for u in users} == {
            "atlassian",
            "app",
            "customer",
        }
        assert_valid(jira("/rest/api/3/users/search"), users)
        assert any("emailAddress" not in u for u in users if u["accountType"] == "atlassian")
        found = (await client.get("/rest/api/3/user/search", params={"query": "a"})).json()
        assert found and all(u["active"] for u in found)
        assert_valid(jira("/rest/api/3/user/search"), found)
        uid = next(u["accountId"] for u in users if u["accountType"] == "atlassian")
        one = (
            await client.get("/rest/api/3/user", params={"accountId": uid, "expand": "groups,applicationRoles"})
        ).json()
        assert one["applicationRoles"]["items"] and one["groups"]["size"] == 1
        assert_valid(jira("/rest/api/3/user"), one)
        ids = [u["accountId"] for u in users[:12]]
        bulk = (await client.get("/rest/api/3/user/bulk", params={"accountId": ids, "maxResults": 5})).json()
        assert len(bulk["values"]) == 5 and bulk["isLast"] is False and bulk["total"] == 12
        assert_valid(jira("/rest/api/3/user/bulk"), bulk)
        assert_valid(jira("/rest/api/3/myself"), (await client.get("/rest/api/3/myself")).json())
        roles = (await client.get("/rest/api/3/applicationrole")).json()
        assert_valid(jira("/rest/api/3/applicationrole"), roles)
        check = await client.post("/rest/api/3/permissions/check", json={"globalPermissions": ["ADMINISTER"]})
        assert check.json()["globalPermissions"] == ["ADMINISTER"]
        assert_valid(jira("/rest/api/3/permissions/check", "post"), check.json())
        created = await client.post(
            "/rest/api/3/user", json={"emailAddress": "x.y@acme.com", "products": ["jira-servicedesk"]}
        )
        assert created.status_code == 201
        assert_valid(jira("/rest/api/3/user", "post", "201"), created.json())
        missing = await client.get("/rest/api/3/user", params={"accountId": "nobody"})
        assert missing.status_code == 404
        assert_valid(schema("jira", "components", "schemas", "ErrorCollection"), missing.json())
        bad = await client.post("/rest/api/3/permissions/check", json={"accountId": "nobody"})
        assert bad.status_code == 400 and bad.json()["errors"]


@pytest.mark.usefixtures("provider_specs")
@pytest.mark.anyio
async def test_teams_answers_match_the_teams_spec(client, world):
    base = team_base(world)
    team = next(t for t in world.jsm.teams.values() if len(t["members"]) >= 3)
    async with client:
        listed = (await client.get(base, params={"siteId": world.jsm.cloud_id})).json()
        assert_valid(teams("", "get", media="application/json"), listed)
        one = (await client.get(f"{base}/{team['teamId']}")).json()
        assert_valid(teams("/{teamId}", "get", media="application/json"), one)
        page = (await client.post(f"{base}/{team['teamId']}/members", json={"first": 2})).json()
        assert_valid(teams("/{teamId}/members", "post"), page)
        assert page["pageInfo"]["hasNextPage"] is True
        rest = (
            await client.post(
                f"{base}/{team['teamId']}/members", json={"first": 50, "after": page["pageInfo"]["endCursor"]}
            )
        ).json()
        assert [m["accountId"] for m in page["results"] + rest["results"]] == team["members"]
        member = team["members"][0]
        added = await client.post(f"{base}/{team['teamId']}/members/add", json={"members": [{"accountId": member}]})
        assert added.status_code == 200 and added.json()["errors"][0]["code"] == "ALREADY_A_MEMBER"
        assert_valid(teams("/{teamId}/members/add", "post"), added.json())
        outsider = next(
            u for u, r in world.jsm.users.items() if r["accountType"] == "atlassian" and u not in team["members"]
        )
        removed = await client.post(
            f"{base}/{team['teamId']}/members/remove", json={"members": [{"accountId": outsider}]}
        )
        assert removed.status_code == 200 and removed.json()["errors"][0]["code"] == "NOT_A_MEMBER"
        assert_valid(teams("/{teamId}/members/remove", "post"), removed.json())
        gone = await client.get(f"{base}/no-such-team")
        assert gone.status_code == 404
        assert_valid(teams("/{teamId}", "get", "404", "application/json"), gone.json())


@pytest.mark.usefixtures("provider_specs")
@pytest.mark.anyio
async def test_ops_answers_have_the_documented_shapes(client, world):
    ops = f"/jsm/ops/api/{world.jsm.cloud_id}/v1"
    async with client:
        cloud = (await client.get("/_edge/tenant_info", headers={"Authorization": ""})).json()
        assert cloud == {"cloudId": world.jsm.cloud_id}
        platform = (await client.get(f"{ops}/teams")).json()["platformTeams"]
        assert {"teamId", "teamName"} == set(platform[0]) and any(t["teamId"].startswith("ari:") for t in platform)
        page = (await client.get(f"{ops}/roles", params={"size": 3})).json()
        example = json.loads(spec_file(FILES["ops"]).read_text())["paths"]["/api/{cloudId}/v1/roles"]["get"]
        documented = example["responses"]["200"]["content"]["application/json"]["example"]
        assert set(page) == set(documented) and set(page["values"][0]) == set(documented["values"][0])
        assert page["links"]["next"] == "/v1/roles?offset=3&size=3"
        missing = await client.get("/jsm/ops/api/wrong/v1/teams")
        assert_valid(schema("ops", "components", "schemas", "ErrorResponses"), missing.json())
        denied = await client.get(f"{ops}/teams", headers={"Authorization": "Basic bm9wZQ=="})
        assert denied.status_code == 401
        assert_valid(schema("ops", "components", "schemas", "UnauthorizedErrorResponse"), denied.json())


# --- credentials per API ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_each_api_takes_only_its_own_credential(client, world):
    org = f"/admin/v1/orgs/{world.jsm.org_id}"
    bearer = {"Authorization": f"Bearer {world.jsm.org_key}"}
    async with client:
        assert (await client.get(f"{org}/users")).status_code == 401  # Basic is refused by the org API
        users = await client.get(f"{org}/users", headers=bearer)
        assert users.status_code == 200 and users.json()["meta"]["total"] == len(world.jsm.org)
        assert (
            await client.get("/rest/api/3/myself", headers=bearer)
        ).status_code == 401  # the key is refused elsewhere
        ops = f"/jsm/ops/api/{world.jsm.cloud_id}/v1/teams"
        assert (await client.get(ops, headers=bearer)).status_code == 401
        wrong = base64.b64encode(f"someone@acme.com:{TOKEN}".encode()).decode()
        assert (await client.get("/rest/api/3/myself", headers={"Authorization": f"Basic {wrong}"})).status_code == 401
        assert (await client.get("/_edge/tenant_info", headers={"Authorization": ""})).status_code == 200


@pytest.mark.anyio
async def test_org_users_page_by_cursor_and_know_hidden_emails(world):
    app = build_app("jsm", world, SimOptions(token=TOKEN, page_size_max=4))
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="https://api.atlassian.com",
        headers={"Authorization": f"Bearer {world.jsm.org_key}"},
    )
    seen: list[dict[str, Any]] = []
    cursor = None
    async with http:
        while True:
            page = (
                await http.get(f"/admin/v1/orgs/{world.jsm.org_id}/users", params={"cursor": cursor} if cursor else {})
            ).json()
            seen += page["data"]
            cursor = page["links"].get("next")
            if not cursor:
                break
    assert [a["account_id"] for a in seen] == list(world.jsm.org)
    hidden = [u for u, r in world.jsm.users.items() if r["accountType"] == "atlassian" and "emailAddress" not in r]
    assert hidden and all(world.jsm.org[u]["email"] for u in hidden)


# --- the world -------------------------------------------------------------------------------------


def test_the_site_is_migrated_from_the_worlds_opsgenie():
    world = build_world(seed=1, people=60)
    site = world.jsm
    on_call = {p.email: p for p in world.people if "opsgenie" in p.accounts}
    assert set(site.migrated) < set(on_call)  # most people came over, some are not migrated yet
    assert len(site.migrated) >= 0.75 * len(on_call) and len(on_call) - len(site.migrated) >= 3
    for email, uid in site.migrated.items():
        assert site.emails[uid].casefold() == email and site.users[uid]["accountType"] == "atlassian"
    recased = [e for e, u in site.migrated.items() if site.emails[u] != on_call[e].provider_emails["opsgenie"]]
    assert len(recased) >= 3
    persons = [u for u, r in site.users.items() if r["accountType"] == "atlassian"]
    assert sum("emailAddress" not in site.users[u] for u in persons) >= 5
    assert sum(site.org[u]["account_status"] != "active" for u in persons) == 2
    assert sum(site.users[u]["active"] is False for u in persons) == 1
    kinds = [r["accountType"] for r in site.users.values()]
    assert kinds.count("app") == 3 and kinds.count("customer") == 4
    waiting = {e for e in on_call if e not in site.migrated}
    customers = {r["emailAddress"].casefold() for r in site.users.values() if r["accountType"] == "customer"}
    assert customers & waiting  # someone not migrated yet has only a customer account
    assert all("jsm" not in p.accounts for p in world.people)  # the people stay the native providers'
    ops = [t for t in site.teams.values() if t["ops"]]
    assert len(ops) == 5 and len(site.teams) == 7


def test_adding_a_migrated_simulator_leaves_the_others_records_as_they_were(monkeypatch):
    with_jsm = build_world(seed=2, people=50)
    native = {name: s for name, s in sim_registry.SIMULATORS.items() if name in NATIVE}
    monkeypatch.setattr(sim_registry, "SIMULATORS", native)
    monkeypatch.setattr(sim_registry, "PROVIDERS", tuple(native))
    without = build_world(seed=2, people=50)
    assert "jsm" not in without.directories
    assert with_jsm.people == without.people
    for name in NATIVE:
        assert with_jsm.directories[name] == without.directories[name], name


@pytest.mark.parametrize("people", [1, 2, 3])
def test_tiny_worlds_still_build(people):
    world = build_world(seed=4, people=people)
    assert world.jsm.me_id in world.jsm.users and world.jsm.teams
