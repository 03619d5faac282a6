"""Every read tool end to end through a real MCP client, in process, against the simulators."""

from __future__ import annotations

import pytest
from mcp import Client

from mcp_directory.server import build_server
from mcp_directory.sim import build_world

from .support import TOKENS, fails, ok, sim_directory, traverse

PROVIDERS = ("rootly", "opsgenie", "retool")


@pytest.fixture(scope="module")
def world():
    return build_world(seed=1, people=60)


@pytest.fixture(params=["auto", "legacy"])
async def client(request, world):
    directory, _ = sim_directory(world)
    async with Client(build_server(directory), mode=request.param) as c:
        yield c


def user_ids(world, provider):
    """User ids in the provider's own listing order (Opsgenie sorts by username by default)."""
    users = getattr(world, provider).users
    if provider == "opsgenie":
        return [u["id"] for u in sorted(users.values(), key=lambda u: (u["username"].lower(), u["id"]))]
    return [str(k) for k in users]


def groups_of(world, provider, uid):
    if provider == "rootly":
        return {t for t, r in world.rootly.teams.items() if int(uid) in r["attributes"]["user_ids"]}
    if provider == "opsgenie":
        return {t for t, r in world.opsgenie.teams.items() if any(m["user"]["id"] == uid for m in r["members"])}
    return {str(g) for g, r in world.retool.groups.items() if any(m["id"] == uid for m in r["members"])}


def members_of(world, provider, gid):
    if provider == "rootly":
        a = world.rootly.teams[gid]["attributes"]
        return {(str(u), "admin" if u in a["admin_ids"] else "member") for u in a["user_ids"]}
    if provider == "opsgenie":
        return {
            (m["user"]["id"], "admin" if m["role"] == "admin" else "member")
            for m in world.opsgenie.teams[gid]["members"]
        }
    return {(m["id"], "admin" if m["is_group_admin"] else "member") for m in world.retool.groups[int(gid)]["members"]}


@pytest.mark.anyio
async def test_lists_every_read_tool_with_annotations(client):
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == {
        "list_providers",
        "list_users",
        "get_user",
        "get_me",
        "list_groups",
        "get_group",
        "list_roles",
        "list_licenses",
        "find_users",
        "access_review",
        "list_schedules",
        "who_is_on_call",
        "get_duties",
        "coverage_review",
        "list_incident_roles",
        "proxy_request",
    }
    for t in tools.values():
        assert t.annotations.read_only_hint is True and t.annotations.destructive_hint is False
        assert t.output_schema and t.description


@pytest.mark.anyio
async def test_list_providers(client):
    data = await ok(client, "list_providers")
    by_name = {p["provider"]: p for p in data["result"]}
    assert set(by_name) == set(PROVIDERS)
    assert "get_me" in by_name["rootly"]["resources"] and "get_me" not in by_name["opsgenie"]["resources"]
    assert "list_licenses" in by_name["opsgenie"]["resources"] and "list_licenses" not in by_name["retool"]["resources"]
    assert by_name["rootly"]["write_tools"] == []


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("limit", [13, 200])
async def test_full_user_traversal_equals_the_directory(client, world, provider, limit):
    users = await traverse(client, "list_users", {"provider": provider, "limit": limit})
    assert [u["id"] for u in users] == user_ids(world, provider)
    assert all(u["provider"] == provider and u["email"] for u in users)


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_get_user_has_group_ids(client, world, provider):
    for uid in user_ids(world, provider)[:4]:
        data = await ok(client, "get_user", {"provider": provider, "user_id": uid})
        assert data["provider"] == provider and data["result"]["id"] == uid
        assert set(data["result"]["group_ids"]) == groups_of(world, provider, uid)


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_groups_traversal_and_members(client, world, provider):
    groups = await traverse(client, "list_groups", {"provider": provider, "limit": 2})
    assert [g["id"] for g in groups] == [
        str(k) for k in getattr(world, provider).__dict__["teams" if provider != "retool" else "groups"]
    ]
    for g in groups[:3]:
        data = await ok(client, "get_group", {"provider": provider, "group_id": g["id"]})
        got = {(m["user_id"], m["role"]) for m in data["result"]["members"]}
        assert got == members_of(world, provider, g["id"])
        assert data["result"]["member_count"] == len(got)


@pytest.mark.anyio
async def test_group_search_filters_by_name(client, world):
    name = next(iter(world.opsgenie.teams.values()))["name"]
    data = await ok(client, "list_groups", {"provider": "opsgenie", "search": name[1:4].upper()})
    assert name in [g["name"] for g in data["result"]]
    assert all(name[1:4].lower() in g["name"].lower() for g in data["result"])


@pytest.mark.anyio
async def test_get_me(client, world):
    data = await ok(client, "get_me", {"provider": "rootly"})
    assert data["result"]["id"] == world.rootly.me_id
    for provider in ("opsgenie", "retool"):
        err = await fails(client, "get_me", {"provider": provider}, "unsupported")
        assert "rootly" in err["message"] and err["provider"] == provider


@pytest.mark.anyio
async def test_roles(client, world):
    rootly = await traverse(client, "list_roles", {"provider": "rootly", "limit": 3})
    assert {r["id"] for r in rootly if r["kind"] == "account"} == set(world.rootly.roles)
    assert {r["id"] for r in rootly if r["kind"] == "on_call"} == set(world.rootly.on_call_roles)
    opsgenie = (await ok(client, "list_roles", {"provider": "opsgenie"}))["result"]
    assert {r["id"] for r in opsgenie if r["kind"] == "custom"} == set(world.opsgenie.roles)
    retool = await traverse(client, "list_roles", {"provider": "retool", "limit": 2})
    assert {r["id"] for r in retool} == set(world.retool.roles)


@pytest.mark.anyio
async def test_licenses(client, world):
    data = await ok(client, "list_licenses", {"provider": "opsgenie"})
    (lic,) = data["result"]
    account = world.opsgenie.account
    assert lic["used_seats"] == account["userCount"] == len(world.opsgenie.users)
    assert lic["total_seats"] == account["plan"]["maxUserCount"]
    assert lic["available_seats"] == lic["total_seats"] - lic["used_seats"]
    for provider in ("rootly", "retool"):
        err = await fails(client, "list_licenses", {"provider": provider}, "unsupported")
        assert "opsgenie" in err["message"]


@pytest.mark.anyio
async def test_incident_roles(client, world):
    roles = await traverse(client, "list_incident_roles", {"limit": 3})
    assert [r["id"] for r in roles] == list(world.rootly.incident_roles)
    assert any(r["enabled"] is False for r in roles)


@pytest.mark.anyio
async def test_find_users_merges_accounts_by_email_across_letter_case(client, world):
    person = next(p for p in world.people if len(p.accounts) == 3)
    data = await ok(client, "find_users", {"query": person.email.upper()})
    assert data["errors"] == []
    (found,) = [p for p in data["result"] if p["email"] == person.email]
    assert {(a["provider"], a["user_id"]) for a in found["accounts"]} == set(person.accounts.items())


@pytest.mark.anyio
async def test_find_users_by_name_part(client, world):
    person = next(p for p in world.people if len(p.accounts) >= 2 and p.last_name and len(p.last_name) >= 4)
    data = await ok(client, "find_users", {"query": person.last_name.lower()})
    emails = {p["email"]: p for p in data["result"]}
    assert person.email in emails
    assert {a["provider"] for a in emails[person.email]["accounts"]} == set(person.accounts)


@pytest.mark.anyio
async def test_search_and_email_filters(client, world):
    person = next(p for p in world.people if "retool" in p.accounts and "rootly" in p.accounts)
    for provider in ("rootly", "opsgenie", "retool"):
        if provider not in person.accounts:
            continue
        data = await ok(client, "list_users", {"provider": provider, "email": person.email.upper()})
        assert [u["id"] for u in data["result"]] == [person.accounts[provider]]
        data = await ok(client, "list_users", {"provider": provider, "search": person.first_name.lower(), "limit": 200})
        assert person.accounts[provider] in [u["id"] for u in data["result"]]


@pytest.mark.anyio
async def test_error_paths_and_the_server_keeps_answering(client):
    await fails(client, "list_users", {"provider": "pagerduty"}, "invalid_argument")
    await fails(client, "list_users", {"provider": "rootly", "limit": 0}, "invalid_argument")
    err = await fails(client, "list_users", {"provider": "rootly", "limit": 201}, "invalid_argument")
    assert "limit" in err["message"]
    await fails(client, "list_users", {"provider": "rootly", "bogus": 1}, "invalid_argument")
    await fails(client, "no_such_tool", {}, "invalid_argument")
    err = await fails(client, "get_user", {"provider": "rootly", "user_id": "999999999"}, "not_found")
    assert err["status"] == 404 and err["provider"] == "rootly"
    await fails(client, "get_group", {"provider": "retool", "group_id": "987654"}, "not_found")
    await fails(client, "get_user", {"provider": "opsgenie", "user_id": ".."}, "invalid_argument")
    page = await ok(client, "list_users", {"provider": "rootly", "limit": 5})
    cursor = page["next_cursor"]
    tampered = cursor[:10] + ("x" if cursor[10] != "x" else "y") + cursor[11:]
    await fails(client, "list_users", {"provider": "rootly", "limit": 5, "cursor": tampered}, "invalid_argument")
    await fails(client, "list_users", {"provider": "retool", "limit": 5, "cursor": cursor}, "invalid_argument")
    await fails(client, "list_groups", {"provider": "rootly", "limit": 5, "cursor": cursor}, "invalid_argument")
    await fails(
        client, "list_users", {"provider": "rootly", "limit": 5, "search": "a", "cursor": cursor}, "invalid_argument"
    )
    # still serving, and the good cursor still works
    nxt = await ok(client, "list_users", {"provider": "rootly", "limit": 5, "cursor": cursor})
    assert nxt["result"] and nxt["result"][0]["id"] != page["result"][0]["id"]


@pytest.mark.anyio
async def test_unconfigured_provider_says_which_variable(world):
    directory, _ = sim_directory(world, providers=("rootly",))
    async with Client(build_server(directory)) as c:
        err = await fails(c, "list_users", {"provider": "retool"}, "not_configured")
        assert "RETOOL_API_TOKEN" in err["message"] and "RETOOL_BASE_URL" in err["message"]
        err = await fails(c, "list_groups", {"provider": "opsgenie"}, "not_configured")
        assert "OPSGENIE_API_KEY" in err["message"]
        data = await ok(c, "find_users", {"query": "acme"})
        assert all(len(p["accounts"]) == 1 and p["accounts"][0]["provider"] == "rootly" for p in data["result"])


@pytest.mark.anyio
async def test_bad_credential_is_unauthorized_and_find_users_reports_it(world):
    wrong = {"retool": "wrong-retool-token-zz9"}
    directory, _ = sim_directory(world, credentials=wrong)
    async with Client(build_server(directory)) as c:
        err = await fails(c, "list_users", {"provider": "retool"}, "unauthorized")
        assert err["status"] == 401 and "wrong-retool-token-zz9" not in err["message"]
        data = await ok(c, "find_users", {"query": "acme.com"})
        assert [e["provider"] for e in data["errors"]] == ["retool"]
        assert data["errors"][0]["code"] == "unauthorized"
        assert data["result"] and all(a["provider"] != "retool" for p in data["result"] for a in p["accounts"])


@pytest.mark.anyio
async def test_no_credential_in_any_result_or_error(world, caplog):
    directory, _ = sim_directory(world, credentials={"opsgenie": "bad-" + TOKENS["opsgenie"]})
    secrets = [*TOKENS.values(), "bad-" + TOKENS["opsgenie"]]
    texts = []
    async with Client(build_server(directory)) as c:
        for provider in PROVIDERS:
            for tool, args in [
                ("list_users", {"limit": 200}),
                ("get_me", {}),
                ("list_groups", {}),
                ("list_roles", {}),
                ("list_licenses", {}),
                ("get_user", {"user_id": "nope"}),
            ]:
                result = await c.call_tool(tool, {"provider": provider, **args})
                texts.extend(getattr(x, "text", "") for x in result.content)
        result = await c.call_tool("find_users", {"query": "acme"})
        texts.extend(getattr(x, "text", "") for x in result.content)
        result = await c.call_tool("list_providers", {})
        texts.extend(getattr(x, "text", "") for x in result.content)
    blob = "\n".join(texts) + caplog.text
    assert len(texts) > 15 and '"unauthorized"' in blob
    for secret in secrets:
        assert secret not in blob


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_progress_notifications_during_multi_page_fetch(world, mode):
    directory, _ = sim_directory(world)  # upstream pages of 7: a page of 30 takes 5 of them
    received = []

    async def on_progress(progress, total, message):
        received.append((progress, total))

    async with Client(build_server(directory), mode=mode) as c:
        result = await c.call_tool("list_users", {"provider": "rootly", "limit": 30}, progress_callback=on_progress)
    assert not result.is_error and len(result.structured_content["result"]) == 30
    assert len(received) == 5 and received[-1] == (30, 30)
    assert [p for p, _ in received] == sorted(p for p, _ in received)


@pytest.mark.anyio
@pytest.mark.parametrize("provider", ["rootly", "opsgenie"])
async def test_concurrent_upstream_paging_matches_sequential(world, provider):
    import dataclasses

    results = {}
    for concurrency in (1, 4):
        directory, _apps = sim_directory(world)
        directory.settings = dataclasses.replace(
            directory.settings, client=dataclasses.replace(directory.settings.client, max_concurrent_pages=concurrency)
        )
        async with Client(build_server(directory)) as c:
            results[concurrency] = await traverse(c, "list_users", {"provider": provider, "limit": 23})
    assert results[4] == results[1]
    assert [u["id"] for u in results[4]] == user_ids(world, provider)
