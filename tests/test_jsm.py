"""Jira Service Management (`jsm`) through the real MCP server against its simulator: four APIs as
one provider (SPEC §11). Users without app and customer accounts, hidden emails and suspended
access from the org API, groups as Ops-enabled teams with members paged by POST reads, roles,
licenses, writes decided by the `errors` list, suspension as deactivation (only with the org key),
the credentials kept apart, Atlassian's 429s, the cloudId read once, and the proxy's routes."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import httpx2 as httpx
import pytest
from mcp import Client

from mcp_directory.config import Settings
from mcp_directory.directory import Directory
from mcp_directory.errors import Unauthorized
from mcp_directory.server import build_server
from mcp_directory.sim import FaultPlan, SimOptions, build_app, build_world, env_for
from mcp_directory.sim.jsm_seed import EMAIL

from .support import fails, ok, traverse

SITE = "https://acme.atlassian.net"
API = "https://api.atlassian.com"
TOKEN = "jsm-api-token-4b1f9a7c2e"
ORG_KEY = "jsm-org-key-8d3e5a1b7f60"


@pytest.fixture(scope="module")
def world():
    return build_world(seed=5, people=60)


def jsm_env(world, *, org_key: bool = True, cloud_id: str | None = None) -> dict[str, str]:
    """The product's own variables for the simulated site (site and api.atlassian.com on one app)."""
    env = {**env_for({"jsm": SITE}, {"jsm": TOKEN}), "JSM_API_URL": API}
    env["JSM_ORG_API_KEY"] = ORG_KEY
    if not org_key:
        del env["JSM_ORG_API_KEY"]
    if cloud_id:
        env["JSM_CLOUD_ID"] = cloud_id
    return env


def jsm_directory(world, *, org_key=True, allow_writes=False, cloud_id=None, page_size_max=None, options=None):
    world.jsm.org_key = ORG_KEY
    app = build_app("jsm", world, options or SimOptions(token=TOKEN, page_size_max=page_size_max, record_requests=True))
    settings = Settings.from_env(jsm_env(world, org_key=org_key, cloud_id=cloud_id), allow_writes=allow_writes)
    assert set(settings.providers) == {"jsm"} and not settings.warnings
    return Directory(settings, transports={"jsm": httpx.ASGITransport(app=app)}), app


@pytest.fixture
async def session(world):
    directory, app = jsm_directory(world)
    async with Client(build_server(directory)) as client:
        yield client, app


def people(world) -> dict[str, dict[str, Any]]:
    return {u: r for u, r in world.jsm.users.items() if r["accountType"] == "atlassian"}


def audit_lines(caplog) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "mcp_directory.audit"]


# --- users -------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_users_are_the_people_with_org_emails_status_and_activity(session, world):
    client, app = session
    users = await traverse(client, "list_users", {"provider": "jsm", "limit": 7})
    site = world.jsm
    assert [u["id"] for u in users] == list(people(world))  # no app or customer account, in Jira's order
    hidden = [u for u in users if "emailAddress" not in site.users[u["id"]]]
    assert hidden and all(u["email"] == site.emails[u["id"]] for u in users)  # the org API fills them in
    suspended = [u for u in users if site.org[u["id"]]["account_status"] != "active"]
    assert suspended and all(site.users[u["id"]]["active"] is True for u in suspended)  # Jira still says active
    assert all(u["status"] == "inactive" for u in suspended)
    off = [u for u in users if site.users[u["id"]]["active"] is False]
    assert off and all(u["status"] == "inactive" for u in off)
    assert {u["status"] for u in users if u not in suspended and u not in off} == {"active"}
    assert all(u["last_active_at"] == site.org[u["id"]]["last_active"] for u in users)
    assert any(u["last_active_at"] for u in users)
    assert all(u["roles"] is None and u["is_admin"] is None and u["group_ids"] is None for u in users)
    assert (await ok(client, "list_users", {"provider": "jsm", "limit": 3}))["total"] is None
    # Bare arrays without a total: paged on until an empty page.
    pages = [r for r in app.state.requests if r.path == "/rest/api/3/users/search"]
    assert pages[0].query == {"startAt": "0", "maxResults": "100"}
    assert max(int(r.query["startAt"]) for r in pages) == len(site.users)


@pytest.mark.anyio
async def test_without_the_org_key_hidden_emails_and_activity_are_unknown(world):
    directory, app = jsm_directory(world, org_key=False)
    async with Client(build_server(directory)) as client:
        users = await traverse(client, "list_users", {"provider": "jsm", "limit": 50})
        by_id = {u["id"]: u for u in users}
        for uid, record in people(world).items():
            assert by_id[uid]["email"] == record.get("emailAddress")
            assert by_id[uid]["last_active_at"] is None
            assert by_id[uid]["status"] == ("active" if record["active"] else "inactive")
        assert not any(r.path.startswith("/admin/") for r in app.state.requests)


@pytest.mark.anyio
async def test_email_and_search_filters(session, world):
    client, _ = session
    hidden_id = next(u for u, r in people(world).items() if "emailAddress" not in r and r["active"])
    email = world.jsm.emails[hidden_id]
    data = await ok(client, "list_users", {"provider": "jsm", "email": email.swapcase()})
    assert [u["id"] for u in data["result"]] == [hidden_id] and data["result"][0]["email"] == email
    name = world.jsm.users[hidden_id]["displayName"].split()[-1]
    found = await ok(client, "list_users", {"provider": "jsm", "search": name.lower(), "limit": 200})
    assert hidden_id in [u["id"] for u in found["result"]]
    customer = next(r for r in world.jsm.users.values() if r["accountType"] == "customer")
    none = await ok(client, "list_users", {"provider": "jsm", "email": customer["emailAddress"]})
    assert none["result"] == []  # a customer account is not a person of the directory
    # user/search finds active accounts only; the org API knows the one Jira deactivated.
    off = next(u for u, r in people(world).items() if r["active"] is False)
    data = await ok(client, "list_users", {"provider": "jsm", "email": world.jsm.emails[off]})
    assert [(u["id"], u["status"]) for u in data["result"]] == [(off, "inactive")]
    both = await ok(client, "list_users", {"provider": "jsm", "email": email, "search": "no-such-name"})
    assert both["result"] == []  # an email and a search: both must match


@pytest.mark.anyio
async def test_get_user_and_me_fill_roles_admin_and_teams(session, world):
    client, _ = session
    site = world.jsm
    admin = next(u for u in site.admins if u != site.me_id)
    user = (await ok(client, "get_user", {"provider": "jsm", "user_id": admin}))["result"]
    assert user["is_admin"] is True
    assert [r["id"] for r in user["roles"]] == site.products[admin]
    assert sorted(user["group_ids"]) == sorted(
        t["teamId"] for t in site.teams.values() if t["ops"] and admin in t["members"]
    )
    busy = next(u for u in people(world) if any(u in t["members"] for t in site.teams.values() if t["ops"]))
    teams = (await ok(client, "get_user", {"provider": "jsm", "user_id": busy}))["result"]["group_ids"]
    assert teams == [t["teamId"] for t in site.teams.values() if t["ops"] and busy in t["members"]]
    assert not any(t["teamId"] in teams for t in site.teams.values() if not t["ops"])
    plain = next(u for u in people(world) if u not in site.admins)
    assert (await ok(client, "get_user", {"provider": "jsm", "user_id": plain}))["result"]["is_admin"] is False
    me = (await ok(client, "get_me", {"provider": "jsm"}))["result"]
    assert me["id"] == site.me_id and me["email"] == site.email and me["is_admin"] is True
    app_id = next(u for u, r in site.users.items() if r["accountType"] == "app")
    err = await fails(client, "get_user", {"provider": "jsm", "user_id": app_id}, "not_found")
    assert "not a person" in err["message"]
    await fails(client, "get_user", {"provider": "jsm", "user_id": "712020:nobody"}, "not_found")


@pytest.mark.anyio
async def test_find_users_knows_jsm(session, world):
    client, _ = session
    uid = next(u for u, r in people(world).items() if "emailAddress" not in r and r["active"])
    found = await ok(client, "find_users", {"query": world.jsm.emails[uid].upper()})
    (person,) = found["result"]
    assert person["accounts"] == [{"provider": "jsm", "user_id": uid, "status": "active"}]


# --- groups ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_groups_are_the_ops_enabled_teams(session, world):
    client, _ = session
    groups = await traverse(client, "list_groups", {"provider": "jsm", "limit": 2})
    ops = [t for t in world.jsm.teams.values() if t["ops"]]
    assert [g["id"] for g in groups] == [t["teamId"] for t in ops]  # ARIs made UUIDs, other teams left out
    assert any(t["ari"] for t in ops) and all(not g["id"].startswith("ari:") for g in groups)
    assert [g["name"] for g in groups] == [t["displayName"] for t in ops]
    searched = await ok(client, "list_groups", {"provider": "jsm", "search": ops[2]["displayName"][:4].upper()})
    assert ops[2]["teamId"] in [g["id"] for g in searched["result"]]


@pytest.mark.anyio
async def test_group_members_are_paged_by_post_reads_allowed_read_only_and_not_audited(world, caplog):
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    directory, app = jsm_directory(world, page_size_max=3)  # read-only; Teams answers three members a page
    assert directory.settings.allow_writes is False
    team = next(t for t in world.jsm.teams.values() if t["ops"] and len(t["members"]) > 7)
    async with Client(build_server(directory)) as client:
        group = (await ok(client, "get_group", {"provider": "jsm", "group_id": team["teamId"]}))["result"]
    apps = {u for u, r in world.jsm.users.items() if r["accountType"] != "atlassian"}
    want = [m for m in team["members"] if m not in apps]
    assert [m["user_id"] for m in group["members"]] == want and group["member_count"] == len(want)
    assert group["description"] == team["description"] and group["name"] == team["displayName"]
    for member in group["members"]:
        assert member["role"] == "member"
        assert member["email"] == world.jsm.emails[member["user_id"]]  # hidden ones from the org API
        assert member["name"] == world.jsm.users[member["user_id"]]["displayName"]
    posts = [r for r in app.state.requests if r.method == "POST"]
    assert len(posts) >= 3 and all(r.path.endswith("/members") for r in posts)
    assert posts[0].body == {"first": 50} and "after" in posts[1].body
    assert audit_lines(caplog) == []


@pytest.mark.anyio
async def test_a_members_read_is_resent_after_a_429_like_a_get(world):
    plan = FaultPlan(error_rate=1.0, statuses=(429,), paths="/members$", max_faults=1, retry_after_s=0)
    directory, app = jsm_directory(world, options=SimOptions(token=TOKEN, faults=plan, record_requests=True))
    team = next(t for t in world.jsm.teams.values() if t["ops"])
    async with Client(build_server(directory)) as client:
        group = (await ok(client, "get_group", {"provider": "jsm", "group_id": team["teamId"]}))["result"]
    assert group["members"]
    faults = [r.fault for r in app.state.requests if r.path.endswith("/members")]
    assert faults[0] == "429" and faults[1] is None


# --- roles and licenses ------------------------------------------------------------------------


@pytest.mark.anyio
async def test_roles_are_application_roles_then_ops_custom_roles(world):
    directory, app = jsm_directory(world, page_size_max=2)
    async with Client(build_server(directory)) as client:
        roles = await traverse(client, "list_roles", {"provider": "jsm", "limit": 3})
    keys = list(world.jsm.application_roles)
    assert [r["id"] for r in roles] == [*keys, *world.jsm.custom_roles]
    assert [r["kind"] for r in roles] == ["account"] * len(keys) + ["custom"] * len(world.jsm.custom_roles)
    offsets = [r.query.get("offset") for r in app.state.requests if r.path.endswith("/v1/roles")]
    assert offsets[:2] == ["0", "2"]  # Ops pages by offset/size, following links.next


@pytest.mark.anyio
async def test_licenses_are_application_roles_with_seats(session, world):
    client, _ = session
    licenses = (await ok(client, "list_licenses", {"provider": "jsm"}))["result"]
    by_id = {lic["id"]: lic for lic in licenses}
    assert list(by_id) == list(world.jsm.application_roles)
    desk = by_id["jira-servicedesk"]
    assert desk["total_seats"] == 80 and desk["used_seats"] + desk["available_seats"] == 80
    unlimited = by_id["jira-product-discovery"]
    assert unlimited["total_seats"] is None and unlimited["available_seats"] is None and unlimited["used_seats"] >= 1


# --- writes ------------------------------------------------------------------------------------


@pytest.fixture
async def writer():
    world = build_world(seed=8, people=40)  # its own: these tests change it
    directory, app = jsm_directory(world, allow_writes=True)
    async with Client(build_server(directory)) as client:
        yield client, app, world


@pytest.mark.anyio
async def test_team_writes_read_the_errors_list(writer, caplog):
    client, app, world = writer
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    team = next(t for t in world.jsm.teams.values() if t["ops"])
    outsider = next(u for u in people(world) if u not in team["members"])
    args = {"provider": "jsm", "group_id": team["teamId"], "user_id": outsider}
    added = (await ok(client, "add_group_member", args))["result"]
    assert outsider in [m["user_id"] for m in added["members"]] and outsider in team["members"]
    again = (await ok(client, "add_group_member", args))["result"]  # 200 with ALREADY_A_MEMBER: success
    assert [m["user_id"] for m in again["members"]].count(outsider) == 1
    removed = (await ok(client, "remove_group_member", {**args, "confirm": True}))["result"]
    assert outsider not in [m["user_id"] for m in removed["members"]]
    await ok(client, "remove_group_member", {**args, "confirm": True})  # 200 with NOT_A_MEMBER: success
    app_account = next(u for u, r in world.jsm.users.items() if r["accountType"] == "app")
    err = await fails(client, "add_group_member", {**args, "user_id": app_account}, "conflict")
    assert "INVALID_ACCOUNT_TYPE" in err["message"] or "Only Atlassian accounts" in err["message"]
    await fails(client, "add_group_member", {**args, "user_id": "712020:ghost"}, "not_found")
    err = await fails(client, "add_group_member", {**args, "role": "admin"}, "unsupported")
    assert "team admin" in err["message"]
    outcomes = [(line["tool"], line["outcome"]) for line in audit_lines(caplog)]
    assert outcomes[:4] == [("add_group_member", "ok"), ("add_group_member", "ok"),
                            ("remove_group_member", "ok"), ("remove_group_member", "ok")]  # fmt: skip
    sent = [r for r in app.state.requests if r.path.endswith(("/members/add", "/members/remove"))]
    assert all(r.body == {"members": [{"accountId": r.body["members"][0]["accountId"]}]} for r in sent)


@pytest.mark.anyio
async def test_create_user_says_the_names_cannot_be_set(writer):
    client, _, world = writer
    args = {"provider": "jsm", "email": "new.hire@acme.com", "first_name": "New", "last_name": "Hire"}
    data = await ok(client, "create_user", args)
    assert data["result"]["email"] == "new.hire@acme.com" and data["result"]["status"] == "active"
    assert "cannot set names" in data["note"]
    assert world.jsm.users[data["result"]["id"]]["accountType"] == "atlassian"
    await fails(client, "create_user", {**args, "role": "admin"}, "invalid_argument")


@pytest.mark.anyio
async def test_deactivate_suspends_through_the_org_api(writer, caplog):
    client, app, world = writer
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    uid = next(u for u, r in people(world).items() if r["active"] and world.jsm.org[u]["account_status"] == "active")
    plan = await ok(client, "deactivate_user", {"provider": "jsm", "user_id": uid})
    assert plan["dry_run"] is True and "access is suspended, not deleted" in plan["plan"]
    assert not any(r.path.endswith("/suspend") for r in app.state.requests)
    done = (await ok(client, "deactivate_user", {"provider": "jsm", "user_id": uid, "confirm": True}))["result"]
    assert done["action"] == "suspended" and done["user"]["status"] == "inactive"
    assert world.jsm.users[uid]["active"] is True and world.jsm.org[uid]["account_status"] == "inactive"
    (suspend,) = [r for r in app.state.requests if r.path.endswith("/suspend")]
    assert suspend.path == f"/admin/v2/orgs/{world.jsm.org_id}/directories/-/users/{uid}/suspend"
    assert suspend.headers["authorization"] == f"Bearer {ORG_KEY}" and suspend.headers["host"] == "api.atlassian.com"
    assert [line["outcome"] for line in audit_lines(caplog)] == ["dry_run", "ok"]


@pytest.mark.anyio
async def test_without_the_org_key_deactivation_is_unsupported_naming_the_variable(world):
    directory, app = jsm_directory(world, org_key=False, allow_writes=True)
    uid = next(iter(people(world)))
    async with Client(build_server(directory)) as client:
        for args in ({"provider": "jsm", "user_id": uid}, {"provider": "jsm", "user_id": uid, "confirm": True}):
            err = await fails(client, "deactivate_user", args, "unsupported")
            assert "JSM_ORG_API_KEY" in err["message"] and err["provider"] == "jsm"
        (info,) = (await ok(client, "list_providers"))["result"]
        assert "deactivate_user" not in info["write_tools"] and "add_group_member" in info["write_tools"]
    assert not any(r.path.startswith("/admin/") for r in app.state.requests)
    directory, _ = jsm_directory(world, allow_writes=True)
    async with Client(build_server(directory)) as client:
        (info,) = (await ok(client, "list_providers"))["result"]
        assert "deactivate_user" in info["write_tools"]


# --- credentials, cloudId, rate limits, proxy, check --------------------------------------------


def basic() -> str:
    """The Basic credential the site and Ops API must get: base64(JSM_EMAIL:JSM_API_TOKEN)."""
    return base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()


@pytest.mark.anyio
async def test_each_credential_reaches_only_its_own_api(writer):
    client, app, world = writer
    await traverse(client, "list_users", {"provider": "jsm", "limit": 100})
    team = next(t for t in world.jsm.teams.values() if t["ops"])
    await ok(client, "get_group", {"provider": "jsm", "group_id": team["teamId"]})
    await ok(client, "list_roles", {"provider": "jsm"})
    uid = next(u for u, r in people(world).items() if r["active"])
    await ok(client, "deactivate_user", {"provider": "jsm", "user_id": uid, "confirm": True, "leave_gaps": True})
    seen = {("org" if r.path.startswith("/admin/") else "site-or-ops") for r in app.state.requests}
    assert seen == {"org", "site-or-ops"}
    for r in app.state.requests:
        sent = r.headers.get("authorization", "")
        if r.path.startswith("/admin/"):
            assert sent == f"Bearer {ORG_KEY}" and r.headers["host"] == "api.atlassian.com"
        else:
            assert sent == f"Basic {basic()}" and ORG_KEY not in json.dumps(r.headers)
            want = "api.atlassian.com" if r.path.startswith("/jsm/ops/") else "acme.atlassian.net"
            assert r.headers["host"] == want, r.path


def test_every_credential_form_is_a_secret(world):
    settings = Settings.from_env(jsm_env(world))
    assert {TOKEN, ORG_KEY, basic()} <= set(settings.secrets)
    assert "JSM_ORG_API_KEY" not in repr(settings) and ORG_KEY not in repr(settings.providers["jsm"])


@pytest.mark.anyio
async def test_the_cloud_id_is_read_once_unless_configured(world):
    directory, app = jsm_directory(world)
    async with Client(build_server(directory)) as client:
        await ok(client, "list_groups", {"provider": "jsm"})
        await ok(client, "list_roles", {"provider": "jsm"})
    assert [r.path for r in app.state.requests].count("/_edge/tenant_info") == 1
    tenant = next(r for r in app.state.requests if r.path == "/_edge/tenant_info")
    assert tenant.headers["host"] == "acme.atlassian.net"
    directory, app = jsm_directory(world, cloud_id=world.jsm.cloud_id)
    async with Client(build_server(directory)) as client:
        await ok(client, "list_groups", {"provider": "jsm"})
    assert "/_edge/tenant_info" not in [r.path for r in app.state.requests]
    directory, _ = jsm_directory(world, cloud_id="another-cloud")
    async with Client(build_server(directory)) as client:
        await fails(client, "list_groups", {"provider": "jsm"}, "not_found")


@pytest.mark.anyio
async def test_atlassian_429s_are_waited_out_then_reported(world):
    plan = FaultPlan(error_rate=1.0, statuses=(429,), paths="/users/search$", retry_after_s=0, max_faults=2)
    directory, app = jsm_directory(world, options=SimOptions(token=TOKEN, faults=plan, record_requests=True))
    async with Client(build_server(directory)) as client:
        data = await ok(client, "list_users", {"provider": "jsm", "limit": 5})
        assert len(data["result"]) == 5
    injected = next(r for r in app.state.requests if r.fault == "429")
    assert injected.path == "/rest/api/3/users/search"
    plan = FaultPlan(error_rate=1.0, statuses=(429,), paths="/users/search$", retry_after_s=60)
    directory, app = jsm_directory(world, options=SimOptions(token=TOKEN, faults=plan, record_requests=True))
    async with Client(build_server(directory)) as client:
        err = await fails(client, "list_users", {"provider": "jsm"}, "rate_limited")
    assert err["retry_after"] == 60 and "Rate limit exceeded" in err["message"]
    assert len([r for r in app.state.requests if r.fault]) == 1  # asked to wait past the cap: not resent


def test_the_429_headers_say_when():
    from mcp_directory.providers.jsm import SPEC

    assert SPEC.retry_after({"retry-after": "7", "x-ratelimit-reset": "2030-01-01T00:00:00Z"}, now=0) == 7
    reset = {"x-ratelimit-reset": "2026-03-01T10:00:30Z"}
    assert SPEC.retry_after(reset, now=1772359200.0) == 30.0  # 2026-03-01T10:00:00Z
    assert SPEC.retry_after(reset, now=1772359200.0, status=503) is None  # its own header counts on 429 only
    assert SPEC.retry_after({"x-ratelimit-reset": "soon"}, now=0) is None


@pytest.mark.anyio
async def test_proxy_routes_site_and_ops_paths_and_nothing_else(world):
    directory, app = jsm_directory(world, allow_writes=False)
    async with Client(build_server(directory)) as client:
        me = await ok(client, "proxy_request", {"provider": "jsm", "path": "/rest/api/3/myself"})
        assert me["status"] == 200 and me["body"]["accountId"] == world.jsm.me_id
        team = next(iter(world.jsm.teams))
        org = world.jsm.org_id
        got = await ok(
            client, "proxy_request", {"provider": "jsm", "path": f"/gateway/api/public/teams/v1/org/{org}/teams/{team}"}
        )
        assert got["status"] == 200 and got["body"]["teamId"] == team
        ops = await ok(client, "proxy_request", {"provider": "jsm", "path": "/v1/teams"})
        assert ops["status"] == 200 and "platformTeams" in ops["body"]
        for path in (f"/admin/v1/orgs/{org}/users", "/jsm/ops/api/x/v1/teams", "/_edge/tenant_info", "/wiki/rest/api"):
            err = await fails(client, "proxy_request", {"provider": "jsm", "path": path}, "invalid_argument")
            assert "org admin API is not reachable" in err["message"] or "refused" in err["message"]
        await fails(client, "proxy_request", {"provider": "jsm", "path": "/v1/../admin/x"}, "invalid_argument")
        await fails(
            client, "proxy_request", {"provider": "jsm", "method": "POST", "path": "/v1/teams"}, "writes_disabled"
        )
        tools = {t.name: t for t in (await client.list_tools()).tools}
        described = tools["proxy_request"].input_schema["properties"]["path"]["description"]
        assert "Jira Service Management /rest/api/3/... or /gateway/api/public/teams/... or /v1/..." in described
    proxied = [r for r in app.state.requests if r.path.endswith(("/myself", f"/teams/{team}", "/v1/teams"))]
    assert not any(r.path.startswith("/admin/") for r in app.state.requests)
    assert [r.headers["host"] for r in proxied] == ["acme.atlassian.net", "acme.atlassian.net", "api.atlassian.com"]
    assert proxied[-1].path == f"/jsm/ops/api/{world.jsm.cloud_id}/v1/teams"


@pytest.mark.anyio
async def test_check_makes_one_cheap_request_per_api(world):
    directory, app = jsm_directory(world)
    await directory.adapters["jsm"].ping()
    paths = [r.path for r in app.state.requests]
    org = world.jsm.org_id
    assert sorted(paths) == sorted([
        "/rest/api/3/myself", f"/gateway/api/public/teams/v1/org/{org}/teams", "/_edge/tenant_info",
        f"/jsm/ops/api/{world.jsm.cloud_id}/v1/roles", f"/admin/v1/orgs/{org}",
    ])  # fmt: skip
    directory, app = jsm_directory(world, org_key=False)
    await directory.adapters["jsm"].ping()
    assert not any(r.path.startswith("/admin/") for r in app.state.requests)
    directory, app = jsm_directory(world)
    world.jsm.org_key = "rotated-" + ORG_KEY  # the org API no longer takes ours: check says so
    try:
        with pytest.raises(Unauthorized, match="401"):
            await directory.adapters["jsm"].ping()
    finally:
        world.jsm.org_key = ORG_KEY
