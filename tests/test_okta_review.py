"""The source of truth (SPEC §14) through the real MCP server: `access_review orphaned=true` against
the seeded truth, the source read whether or not `providers` names it, the missing-source error,
Okta's admins from one short list, the demo's answer, and offboard_user leaving Okta out."""

from __future__ import annotations

import httpx2 as httpx
import pytest
from mcp import Client

from mcp_directory.config import Settings
from mcp_directory.demo import demo_directory
from mcp_directory.directory import Directory
from mcp_directory.server import build_server
from mcp_directory.sim import build_apps, build_world, env_for

from .support import TOKENS, clean_env, fails, ok, traverse

pytestmark = pytest.mark.anyio
TOOLS = ("rootly", "opsgenie", "retool")
URLS = {name: f"https://{name}.example" for name in (*TOOLS, "okta")}


@pytest.fixture(scope="module")
def world():
    return build_world(seed=11, people=80)


def directory_for(world, names=(*TOOLS, "okta"), **extra: str) -> tuple[Directory, dict]:
    apps = build_apps(world, {**TOKENS, "okta": "okta-test-token-77c1"})
    env = env_for({n: URLS[n] for n in names}, {**TOKENS, "okta": "okta-test-token-77c1"})
    env.pop("OKTA_API_TOKEN", None)  # the service app signs in
    settings = Settings.from_env(clean_env(**env, **extra))
    assert set(settings.providers) == set(names), settings.warnings
    transports = {n: httpx.ASGITransport(app=apps[n]) for n in names}
    return Directory(settings, transports=transports), apps


def truth(world) -> set[str]:
    """Who left (deprovisioned or suspended in Okta) or never had an Okta account, yet holds a tool
    account that is not inactive (a disabled Retool user is inactive; Opsgenie's blocked is not)."""
    okta = {u["profile"]["email"].lower(): u["status"] for u in world.okta.users.values()}
    found = set()
    for person in world.people:
        live = [p for p in person.provider_emails if p in TOOLS and not (p == "retool" and p in person.disabled)]
        if live and okta.get(person.email) in (None, "DEPROVISIONED", "SUSPENDED"):
            found.add(person.email)
    return found


async def test_orphaned_is_the_seeded_truth(world):
    directory, _ = directory_for(world)
    async with Client(build_server(directory)) as client:
        rows = await traverse(client, "access_review", {"orphaned": True, "limit": 5})
        everyone = await traverse(client, "access_review", {"limit": 200})
    expected = truth(world)
    assert {r["email"] for r in rows} == expected
    kinds = {r["email"]: {a["provider"]: a["status"] for a in r["accounts"]}.get("okta") for r in rows}
    assert {"inactive", "blocked", None} <= set(kinds.values())  # left, suspended, contractor
    assert len(rows) < len(everyone) and all(r["email"] not in expected for r in everyone if r not in rows)


async def test_the_source_is_read_whether_or_not_providers_names_it_and_combines_by_and(world):
    directory, _ = directory_for(world)
    async with Client(build_server(directory)) as client:
        page = await ok(client, "access_review", {"orphaned": True, "providers": ["retool"], "limit": 200})
        both = await ok(client, "access_review", {"orphaned": True, "present_in": ["rootly"], "limit": 200})
    assert page["providers"] == ["retool", "okta"] and page["result"]
    assert all({a["provider"] for a in r["accounts"]} <= {"retool", "okta"} for r in page["result"])
    assert all(any(a["provider"] == "rootly" for a in r["accounts"]) for r in both["result"])
    assert {r["email"] for r in both["result"]} < truth(world)


async def test_without_a_source_orphaned_is_invalid_argument_naming_the_variable(world):
    directory, _ = directory_for(world, TOOLS)
    async with Client(build_server(directory)) as client:
        error = await fails(client, "access_review", {"orphaned": True}, "invalid_argument")
        assert "MCP_DIRECTORY_SOURCE_OF_TRUTH" in error["message"]
        await fails(client, "access_review", {"orphaned": "true"}, "invalid_argument")
        assert (await ok(client, "access_review", {"limit": 1}))["total"] > 0  # the rest still works
    off, _ = directory_for(world, MCP_DIRECTORY_SOURCE_OF_TRUTH="none")
    async with Client(build_server(off)) as client:
        await fails(client, "access_review", {"orphaned": True}, "invalid_argument")
    with pytest.raises(ValueError, match="MCP_DIRECTORY_SOURCE_OF_TRUTH"):
        Settings.from_env(clean_env(MCP_DIRECTORY_SOURCE_OF_TRUTH="hr-system"))


async def test_another_provider_can_be_named_the_source(world):
    directory, _ = directory_for(world, MCP_DIRECTORY_SOURCE_OF_TRUTH="retool")
    async with Client(build_server(directory)) as client:
        page = await ok(client, "access_review", {"orphaned": True, "providers": ["rootly"], "limit": 200})
    assert page["providers"] == ["rootly", "retool"]
    for row in page["result"]:
        retool = [a for a in row["accounts"] if a["provider"] == "retool"]
        assert not retool or all(a["status"] in ("inactive", "blocked") for a in retool)


async def test_okta_admins_come_from_the_assignees_list_not_a_request_per_user(world):
    directory, apps = directory_for(world)
    async with Client(build_server(directory)) as client:
        rows = await traverse(client, "access_review", {"providers": ["okta"], "limit": 200})
    requests = apps["okta"].state.requests
    paths = [r.path for r in requests]
    assert paths.count("/api/v1/iam/assignees/users") == 1
    assert not [p for p in paths if p.endswith("/roles")]
    admins = {u for u, roles in world.okta.roles.items() if roles}
    flags = {a["user_id"]: a["is_admin"] for r in rows for a in r["accounts"]}
    assert {u for u, admin in flags.items() if admin} == admins and set(flags.values()) == {True, False}


async def test_the_demo_answers_who_left_but_still_has_access():
    directory = demo_directory(Settings(providers={}, allow_writes=True))
    async with Client(build_server(directory)) as client:
        rows = await traverse(client, "access_review", {"orphaned": True, "limit": 50})
        plan = await ok(client, "offboard_user", {"email": rows[0]["email"]})
        staged = await traverse(client, "access_review", {"status": "invited", "providers": ["okta"], "limit": 50})
    okta = [next((a["status"] for a in r["accounts"] if a["provider"] == "okta"), None) for r in rows]
    assert {"inactive", "blocked", None} <= set(okta)
    assert plan["dry_run"] and "Okta is left out: read-only here." in plan["plan"]
    assert all(s["provider"] != "okta" for s in plan["steps"])
    assert len(staged) >= 3  # new hires, staged in Okta before any tool account


async def test_find_users_finds_people_in_okta_by_email_like_everywhere_else(world):
    directory, _ = directory_for(world)
    gone = next(u for u in world.okta.users.values() if u["status"] == "DEPROVISIONED")
    async with Client(build_server(directory)) as client:
        found = await ok(client, "find_users", {"query": gone["profile"]["email"].upper()})
    (person,) = found["result"]
    okta = [a for a in person["accounts"] if a["provider"] == "okta"]
    assert okta == [{"provider": "okta", "user_id": gone["id"], "status": "inactive"}]
    assert len(person["accounts"]) > 1  # and the tool accounts the leaver still holds
