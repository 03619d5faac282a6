"""Okta (`okta`) through the real MCP server against its simulator (SPEC §14): both sign-ins, the two
passes of the user list, every mapping, read-only, Okta's errors and rate limits, and secrets that
never show."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import anyio
import httpx2 as httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from mcp import Client

from mcp_directory.config import Settings
from mcp_directory.directory import Directory
from mcp_directory.errors import Redactor
from mcp_directory.logs import RedactingFormatter
from mcp_directory.providers.okta_mapping import STANDARD_ROLES
from mcp_directory.server import build_server
from mcp_directory.sim import SimOptions, build_app, build_world, env_for
from mcp_directory.sim.okta_seed import CLIENT_ID, DEMO_KEY, private_pem

from .support import call, clean_env, fails, ok, traverse

pytestmark = pytest.mark.anyio
ORG = "https://acme.okta.com"
TOKEN = "okta-ssws-token-5c1e8f2a9b"
STATUSES = {
    "ACTIVE": "active",
    "RECOVERY": "active",
    "PASSWORD_EXPIRED": "active",
    "LOCKED_OUT": "active",
    "STAGED": "invited",
    "PROVISIONED": "invited",
    "SUSPENDED": "blocked",
    "DEPROVISIONED": "inactive",
}


@pytest.fixture
def world():
    return build_world(seed=5, people=60)


def okta_env(way: str, key: str | None = None, **extra: str) -> dict[str, str]:
    """The product's own variables: `ssws` (OKTA_API_TOKEN) or `app` (the service app)."""
    env = env_for({"okta": ORG}, {"okta": TOKEN})
    if way == "ssws":
        del env["OKTA_CLIENT_ID"], env["OKTA_PRIVATE_KEY"]
    else:
        del env["OKTA_API_TOKEN"]
        env["OKTA_PRIVATE_KEY"] = key or private_pem(DEMO_KEY)
    return clean_env(**env, **extra)


def okta_directory(world, way: str = "ssws", *, key: str | None = None, options=None, allow_writes=False, **extra):
    app = build_app("okta", world, options or SimOptions(token=TOKEN, record_requests=True))
    settings = Settings.from_env(okta_env(way, key, **extra), allow_writes=allow_writes)
    assert set(settings.providers) == {"okta"}
    return Directory(settings, transports={"okta": httpx.ASGITransport(app=app)}), app, settings


@pytest.fixture(params=["ssws", "app"])
async def session(world, request):
    directory, app, _ = okta_directory(world, request.param)
    async with Client(build_server(directory)) as client:
        yield client, app, request.param


def asked(app, path: str) -> list[Any]:
    return [r for r in app.state.requests if r.path == path]


# --- configuration and sign-in ----------------------------------------------------------------


def test_configured_with_the_org_and_one_way_to_sign_in():
    assert Settings.from_env(clean_env(OKTA_ORG_URL=ORG)).providers == {}
    (warning,) = Settings.from_env(clean_env(OKTA_ORG_URL=ORG)).warnings
    assert "OKTA_CLIENT_ID and OKTA_PRIVATE_KEY (or OKTA_API_TOKEN)" in warning
    half = Settings.from_env(clean_env(OKTA_ORG_URL=ORG, OKTA_CLIENT_ID="0oa1"))
    assert half.providers == {} and "missing" in half.warnings[0]
    app = Settings.from_env(clean_env(OKTA_ORG_URL=ORG, OKTA_CLIENT_ID="0oa1", OKTA_PRIVATE_KEY="k" * 40))
    assert set(app.providers) == {"okta"} and app.warnings == ()
    assert app.providers["okta"].get("scopes") == "okta.users.read okta.groups.read okta.roles.read"
    token = Settings.from_env(clean_env(OKTA_ORG_URL=ORG, OKTA_API_TOKEN=TOKEN))
    (caution,) = token.warnings
    assert "deactivated" in caution and "OKTA_CLIENT_ID" in caution and TOKEN not in caution


async def test_the_service_app_asks_for_a_token_once_and_reuses_it(world):
    directory, app, _ = okta_directory(world, "app")
    async with Client(build_server(directory)) as client:
        for _ in range(3):
            await ok(client, "list_groups", {"provider": "okta"})
    (token,) = asked(app, "/oauth2/v1/token")
    form = dict(kv.split("=", 1) for kv in token.raw_body.decode().split("&"))
    assert form["grant_type"] == "client_credentials" and "okta.roles.read" in form["scope"].replace("+", " ")
    assert all(r.headers["authorization"].startswith("Bearer ") for r in asked(app, "/api/v1/groups"))
    assert "authorization" not in token.headers


async def test_a_token_is_renewed_a_minute_before_it_expires_and_a_401_asks_again_once(world):
    directory, app, _ = okta_directory(world, "app")
    async with Client(build_server(directory)) as client:
        world.okta.token_lifetime = 50  # under a minute: every request asks again
        await ok(client, "list_groups", {"provider": "okta"})
        await ok(client, "list_groups", {"provider": "okta"})
        assert len(asked(app, "/oauth2/v1/token")) == 2
        world.okta.token_lifetime = 3600
        await ok(client, "list_groups", {"provider": "okta"})
        world.okta.access_tokens.clear()  # revoked upstream: the next call gets a 401, asks again once
        await ok(client, "list_groups", {"provider": "okta"})
        assert len(asked(app, "/oauth2/v1/token")) == 4
        world.okta.token_lifetime = 0  # every new token is dead on arrival: one renewal, then the error
        world.okta.access_tokens.clear()
        error = await fails(client, "list_groups", {"provider": "okta"}, "unauthorized")
        assert len(asked(app, "/oauth2/v1/token")) == 5 and error["status"] == 401
        assert "Invalid token provided" in error["message"]


async def test_a_bad_key_and_a_key_that_is_not_pem_are_unauthorized_and_never_shown(world, caplog):
    other = private_pem(ec.generate_private_key(ec.SECP256R1()))
    for key, said in ((other, "signature is invalid"), ("-----BEGIN PRIVATE KEY-----\nnotakey\n", "OKTA_PRIVATE_KEY")):
        directory, _, _ = okta_directory(world, "app", key=key)
        async with Client(build_server(directory)) as client:
            error = await fails(client, "list_users", {"provider": "okta"}, "unauthorized")
        assert said in error["message"]
        lines = [line for line in key.splitlines() if len(line) > 12 and not line.startswith("-----")]
        assert not any(line in error["message"] for line in lines)
        assert not any(line in r.getMessage() for r in caplog.records for line in lines)


async def test_an_app_without_an_admin_role_is_forbidden_with_a_message_saying_so(world):
    directory, _, _ = okta_directory(world, "app")
    world.okta.clients[CLIENT_ID].admin_role = False
    async with Client(build_server(directory)) as client:
        error = await fails(client, "list_users", {"provider": "okta"}, "forbidden")
    assert "Read-Only Administrator" in error["message"] and error["status"] == 403


async def test_secrets_never_show_even_when_okta_echoes_them(world, caplog):
    caplog.set_level(logging.DEBUG)
    directory, app, settings = okta_directory(world, "app")
    async with Client(build_server(directory)) as client:
        await ok(client, "list_groups", {"provider": "okta"})
        access = next(iter(world.okta.access_tokens))
        assertion = next(r.raw_body.decode() for r in asked(app, "/oauth2/v1/token")).split("client_assertion=")[1]
        key_line = private_pem(DEMO_KEY).splitlines()[1]
        signature = assertion.split("&")[0].rsplit(".", 1)[1]
        shown = []
        for secret in (access, signature, key_line):
            # Okta's 404 repeats the id it was given: the echo must come back redacted
            data, is_error = await call(client, "get_user", {"provider": "okta", "user_id": secret})
            assert is_error and "[redacted]" in data["error"]["message"]
            shown.append(str(data))
        for secret in (access, assertion.split("&")[0], key_line):
            proxied = await ok(client, "proxy_request", {"provider": "okta", "path": f"/api/v1/users/{secret}"})
            assert proxied["status"] == 404 and "[redacted]" in str(proxied["body"])
            shown.append(str(proxied))
    # the logs as the server writes them (cli.RedactingFormatter), the tokens learned at run time included
    formatter = RedactingFormatter(Redactor(settings.secrets))
    text = "".join(shown) + "".join(formatter.format(r) for r in caplog.records)
    assert access in "".join(r.getMessage() for r in caplog.records)  # httpx2 logs the URL it was given
    assert access not in text and signature not in text and key_line not in text


# --- users -------------------------------------------------------------------------------------


async def test_users_are_two_passes_under_one_cursor(session, world):
    client, app, _ = session
    users = await traverse(client, "list_users", {"provider": "okta", "limit": 7})
    assert sorted(u["id"] for u in users) == sorted(world.okta.users) and len(users) == len(world.okta.users)
    gone = sum(r["status"] == "DEPROVISIONED" for r in world.okta.users.values())
    assert gone >= 2 and [u["status"] for u in users[-gone:]] == ["inactive"] * gone  # the second pass
    assert "inactive" not in [u["status"] for u in users[:-gone]]
    searches = [r.query.get("search") for r in asked(app, "/api/v1/users")]
    assert searches[0] is None and 'status eq "DEPROVISIONED"' in searches


async def test_every_user_field_and_status_is_mapped(session, world):
    client, _, _ = session
    users = {u["id"]: u for u in await traverse(client, "list_users", {"provider": "okta", "limit": 200})}
    assert set(Counter(r["status"] for r in world.okta.users.values())) == set(STATUSES)
    for uid, record in world.okta.users.items():
        user, profile = users[uid], record["profile"]
        assert user["status"] == STATUSES[record["status"]]
        assert (user["email"], user["username"]) == (profile["email"], profile["login"])
        name = profile["displayName"] or f"{profile['firstName']} {profile['lastName']}"
        assert (user["name"], user["first_name"], user["last_name"]) == (
            name,
            profile["firstName"],
            profile["lastName"],
        )
        assert (user["created_at"], user["updated_at"]) == (record["created"], record["lastUpdated"])
        assert (user["last_active_at"], user["time_zone"]) == (record["lastLogin"], profile["timezone"])
        assert user["roles"] is None and user["is_admin"] is None and user["group_ids"] is None


async def test_email_and_search_include_the_deprovisioned(session, world):
    client, _, _ = session
    gone = next(u for u in world.okta.users.values() if u["status"] == "DEPROVISIONED")
    found = await ok(client, "list_users", {"provider": "okta", "email": gone["profile"]["email"].upper()})
    assert [u["id"] for u in found["result"]] == [gone["id"]] and found["total"] is None
    first = gone["profile"]["firstName"]
    named = await traverse(client, "list_users", {"provider": "okta", "search": first})
    assert gone["id"] in {u["id"] for u in named}
    quote = await ok(client, "list_users", {"provider": "okta", "search": 'a"b\\ or status eq "ACTIVE'})
    assert quote["result"] == []  # quoted as a value, never read as an expression


async def test_get_user_fills_roles_admin_and_groups_without_everyone(session, world):
    client, _, _ = session
    everyone = world.okta.everyone_id()
    for uid in [*list(world.okta.users)[:12], *world.okta.roles]:
        user = (await ok(client, "get_user", {"provider": "okta", "user_id": uid}))["result"]
        assignments = world.okta.roles.get(uid, [])
        expected = [{"id": a["role"] if a["type"] == "CUSTOM" else a["type"], "name": a["label"]} for a in assignments]
        assert user["roles"] == expected and user["is_admin"] is bool(assignments)
        groups = {g for g, members in world.okta.members.items() if uid in members and g != everyone}
        assert set(user["group_ids"]) == groups and everyone not in user["group_ids"]
    custom = [u for u, r in world.okta.roles.items() if r[0]["type"] == "CUSTOM"]
    assert custom, "the world holds a custom role assignment"


async def test_get_me_with_an_api_token_and_unsupported_with_a_service_app(session, world):
    client, _, way = session
    if way == "ssws":
        me = (await ok(client, "get_me", {"provider": "okta"}))["result"]
        assert me["id"] == world.okta.me_id and me["is_admin"] is True
    else:
        error = await fails(client, "get_me", {"provider": "okta"}, "unsupported")
        assert "OKTA_API_TOKEN" in error["message"]


# --- groups, roles, read-only --------------------------------------------------------------------


async def test_groups_leave_everyone_out_and_members_have_emails(session, world):
    client, _, _ = session
    groups = await traverse(client, "list_groups", {"provider": "okta", "limit": 2})
    expected = {g for g, r in world.okta.groups.items() if r["type"] != "BUILT_IN"}
    assert {g["id"] for g in groups} == expected
    for group in groups:
        full = (await ok(client, "get_group", {"provider": "okta", "group_id": group["id"]}))["result"]
        members = world.okta.members[group["id"]]
        assert sorted(m["user_id"] for m in full["members"]) == sorted(members) and full["member_count"] == len(members)
        for member in full["members"]:
            profile = world.okta.users[member["user_id"]]["profile"]
            assert member["role"] == "member" and member["email"] == profile["email"]
    found = await ok(client, "list_groups", {"provider": "okta", "search": "eng"})
    assert [g["name"] for g in found["result"]] == ["Engineering"]


async def test_roles_are_the_standard_types_then_the_custom_roles(session, world):
    client, _, _ = session
    roles = await traverse(client, "list_roles", {"provider": "okta", "limit": 5})
    standard = [r for r in roles if r["kind"] == "account"]
    assert [r["id"] for r in standard] == [t for t, _, _ in STANDARD_ROLES]
    assert roles[len(standard) :] == [
        {"id": i, "provider": "okta", "name": r["label"], "description": r["description"], "kind": "custom"}
        for i, r in world.okta.custom_roles.items()
    ]


async def test_read_only_licenses_writes_and_proxy(world):
    directory, app, _ = okta_directory(world, "ssws", allow_writes=True)
    uid = next(iter(world.okta.users))
    async with Client(build_server(directory)) as client:
        await fails(client, "list_licenses", {"provider": "okta"}, "unsupported")
        for tool, args in (
            ("deactivate_user", {"user_id": uid, "confirm": True}),
            ("create_user", {"email": "a@b.co", "first_name": "A", "last_name": "B"}),
            ("add_group_member", {"group_id": "00g1", "user_id": uid}),
        ):
            error = await fails(client, tool, {"provider": "okta", **args}, "unsupported")
            assert "read-only" in error["message"]
        error = await fails(
            client, "proxy_request", {"provider": "okta", "method": "POST", "path": "/api/v1/users"}, "unsupported"
        )
        assert "GET only" in error["message"]
        got = await ok(client, "proxy_request", {"provider": "okta", "path": "/api/v1/groups"})
        assert got["status"] == 200 and {"x-rate-limit-remaining"} <= set(got["headers"])
    assert all(r.method == "GET" for r in app.state.requests)


async def test_bad_input(session, world):
    client, _, _ = session
    for user_id in ("", "..", "me"):
        await fails(client, "get_user", {"provider": "okta", "user_id": user_id}, "invalid_argument")
    await fails(client, "get_user", {"provider": "okta", "user_id": "00unobody"}, "not_found")
    await fails(client, "list_users", {"provider": "okta", "limit": 0}, "invalid_argument")
    await fails(client, "list_users", {"provider": "okta", "limit": "7"}, "invalid_argument")
    await fails(client, "list_groups", {"provider": "okta", "cursor": "tampered"}, "invalid_argument")


async def test_a_429_is_waited_out_until_x_rate_limit_reset(world):
    options = SimOptions(token=TOKEN, rate_limit=4, rate_window_s=1.0, record_requests=True)
    directory, app, _ = okta_directory(world, "ssws", options=options, OKTA_REQUESTS_PER_MINUTE="0")
    ids = list(world.okta.users)[:3]
    async with Client(build_server(directory)) as client:
        users = [(await ok(client, "get_user", {"provider": "okta", "user_id": uid}))["result"] for uid in ids]
    assert [u["id"] for u in users] == ids
    # three reads per user, some refused with E0000047 and sent again once X-Rate-Limit-Reset passed
    assert len(app.state.requests) > 3 * len(ids)


async def test_parallel_calls_share_one_token_request(world):

    directory, app, _ = okta_directory(world, "app")
    async with Client(build_server(directory)) as client, anyio.create_task_group() as group:
        for _ in range(8):
            group.start_soon(ok, client, "list_groups", {"provider": "okta"})
    # one token for all eight; the identical group reads in flight at once may share requests (inflight.py)
    assert len(asked(app, "/oauth2/v1/token")) == 1 and 1 <= len(asked(app, "/api/v1/groups")) <= 8
