"""The test of "a provider is one value": a fourth provider defined entirely in this file (its
value and a tiny simulated API on an ASGI transport) runs through the real MCP server, with no
other module changed."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx2 as httpx
import pytest
from mcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcp_directory.config import Settings
from mcp_directory.directory import Directory
from mcp_directory.models import Group, Member, User
from mcp_directory.oncall import Book, OnCall, Ref, Rotation, Schedule, participant
from mcp_directory.paging import Listing
from mcp_directory.providers import PROVIDERS, Adapter, Provider
from mcp_directory.server import build_server
from mcp_directory.spec import Offset, ProviderConfig, ProviderSpec, Setting

from .support import fails, ok, traverse

# --- the provider: one value --------------------------------------------------------------------


def map_user(record: dict[str, Any]) -> User:
    return User(
        id=record["uid"],
        provider="toy",
        email=record["mail"],
        name=record["name"],
        first_name=None,
        last_name=None,
        username=None,
        status="active" if record["enabled"] else "inactive",
        is_admin=record["admin"],
        roles=[],
        group_ids=None,
        time_zone=None,
        created_at=None,
        updated_at=None,
        last_active_at=None,
    )


def map_group(record: dict[str, Any], *, with_members: bool) -> Group:
    members = [Member(user_id=m["uid"], role="member", email=m["mail"], name=None) for m in record["members"]]
    return Group(
        id=record["gid"],
        provider="toy",
        name=record["title"],
        description=None,
        member_count=len(members),
        members=members if with_members else None,
        created_at=None,
        updated_at=None,
    )


class Toy(Adapter):
    missing: ClassVar[dict[str, str]] = {"licenses": "Toy sells no seats"}

    def users(self, *, search: str | None, email: str | None) -> Listing[User]:
        return self.listing("/users", {"q": search or email}, lambda document: map_user)

    def groups(self, *, search: str | None) -> Listing[Group]:
        return self.listing("/groups", {}, lambda document: lambda r: map_group(r, with_members=False))

    async def group(self, group_id: str) -> Group:
        return map_group(self.record(await self.http.get(f"/groups/{group_id}")), with_members=True)

    # On-call: the toy has it, so it has these two operations (oncall.py); nothing else changes.

    async def schedules(self) -> Book:
        accounts = await self.account_book()
        schedules = [
            Schedule(
                id=r["sid"],
                provider="toy",
                name=r["title"],
                time_zone=None,
                enabled=True,
                team=None,
                owner=None,
                rotations=[
                    Rotation(id=rid, name=rid, participants=[participant("user", u, accounts) for u in uids])
                    for rid, uids in r["rotations"].items()
                ],
            )
            for r in self.records(await self.http.get("/schedules"))
        ]
        return Book("toy", schedules, [], [], accounts)

    async def on_calls(self, at: str, schedule_id: str | None) -> list[OnCall]:
        accounts = await self.account_book()
        rows = self.records(await self.http.get("/oncall", {"at": at}))
        return [
            OnCall(
                provider="toy",
                schedule=Ref(id=r["sid"], name=None),
                escalation=None,
                level=None,
                user_id=r["uid"],
                email=accounts[r["uid"]].email,
                name=accounts[r["uid"]].name,
                status=accounts[r["uid"]].status,
                starts_at=None,
                ends_at=None,
            )
            for r in rows
            if schedule_id in (None, r["sid"])
        ]


TOY = Provider(
    ProviderSpec(
        name="toy",
        title="Toy",
        settings=(
            Setting("credential", "TOY_TOKEN", "Toy API token", secret=True),
            Setting("base_url", "TOY_URL", "Toy base URL", "https://toy.example", url=True),
        ),
        api_root="/api",
        auth_scheme="Token",
        content_type="application/json",
        paginator=Offset("start", "count", next_offset=lambda d: d.get("next"), total=lambda d: d.get("total")),
        page_size=4,
        rate_limit_headers=(),
        requests_per_minute=None,
        proxy_prefix="/",
        concurrent_pages=2,
        user_delete="deactivated",
        ping="/users?count=1",
    ),
    Toy,
)

# --- its simulated API -------------------------------------------------------------------------

TOKEN = "toy-secret-token-31f2"
USERS = [
    {"uid": f"u{i}", "mail": f"person{i}@toy.test", "name": f"Person {i}", "enabled": i % 3 != 0, "admin": i == 1}
    for i in range(1, 12)
]
# u3 and u6 are disabled, u99 is no account: Night pages nobody.
SCHEDULES = [{"sid": "s1", "title": "Toy primary", "rotations": {"Day": ["u1", "u3", "u99"], "Night": ["u6"]}}]
GROUPS = [
    {"gid": "g1", "title": "Payments", "members": [{"uid": f"u{i}", "mail": f"person{i}@toy.test"} for i in (1, 2, 5)]},
    {"gid": "g2", "title": "Ops", "members": []},
]


def toy_api() -> tuple[Starlette, list[str]]:
    seen: list[str] = []

    def authorized(request: Request) -> bool:
        seen.append(f"{request.url.path}?{request.url.query}")
        return request.headers.get("authorization") == f"Token {TOKEN}"

    async def users(request: Request) -> JSONResponse:
        if not authorized(request):
            return JSONResponse({"error": "no"}, status_code=401)
        q = request.query_params.get("q") or ""
        rows = [u for u in USERS if q.lower() in (u["mail"] + u["name"]).lower()]
        start, count = int(request.query_params.get("start", 0)), int(request.query_params.get("count", 4))
        following = start + count if start + count < len(rows) else None
        return JSONResponse({"data": rows[start : start + count], "total": len(rows), "next": following})

    async def groups(request: Request) -> JSONResponse:
        if not authorized(request):
            return JSONResponse({"error": "no"}, status_code=401)
        return JSONResponse({"data": GROUPS, "total": len(GROUPS), "next": None})

    async def group(request: Request) -> JSONResponse:
        if not authorized(request):
            return JSONResponse({"error": "no"}, status_code=401)
        found = [g for g in GROUPS if g["gid"] == request.path_params["gid"]]
        return JSONResponse({"data": found[0]}) if found else JSONResponse({"error": "not found"}, status_code=404)

    async def schedules(request: Request) -> JSONResponse:
        return JSONResponse({"data": SCHEDULES}) if authorized(request) else JSONResponse({}, status_code=401)

    async def oncall(request: Request) -> JSONResponse:
        return JSONResponse({"data": [{"sid": "s1", "uid": "u1"}]}) if authorized(request) else JSONResponse({}, 401)

    routes = [
        Route("/api/users", users),
        Route("/api/groups", groups),
        Route("/api/groups/{gid}", group),
        Route("/api/schedules", schedules),
        Route("/api/oncall", oncall),
    ]
    return Starlette(routes=routes), seen


@pytest.fixture
async def toy_client():
    app, seen = toy_api()
    everyone = [*PROVIDERS, TOY]
    settings = Settings.from_env({"TOY_TOKEN": TOKEN}, providers=everyone)
    directory = Directory(settings, transports={"toy": httpx.ASGITransport(app=app)}, providers=everyone)
    async with Client(build_server(directory)) as client:
        yield client, seen


# --- through the real server -------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_toy_provider_is_configured_and_listed(toy_client):
    client, _ = toy_client
    data = await ok(client, "list_providers")
    (toy,) = data["result"]
    assert toy["provider"] == "toy" and toy["base_url"] == "https://toy.example"
    assert {"list_users", "list_groups", "get_group", "find_users"} <= set(toy["resources"])
    assert "list_licenses" not in toy["resources"] and "get_me" not in toy["resources"]
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert tools["list_users"].input_schema["properties"]["provider"]["enum"][-1] == "toy"
    (providers, _null) = tools["find_users"].input_schema["properties"]["providers"]["anyOf"]
    assert providers["maxItems"] == len(PROVIDERS) + 1 and providers["items"]["enum"][-1] == "toy"
    assert "toy" not in tools["list_licenses"].input_schema["properties"]["provider"]["enum"]  # it has none
    assert "Toy" not in tools["get_me"].description.split("Supported by")[-1]


@pytest.mark.anyio
async def test_list_users_to_the_end(toy_client):
    client, seen = toy_client
    users = await traverse(client, "list_users", {"provider": "toy", "limit": 3})
    assert [u["id"] for u in users] == [u["uid"] for u in USERS]
    assert [u["status"] for u in users][:3] == ["active", "active", "inactive"]
    assert seen[0].endswith("start=0&count=3")  # the first page asks for what it returns


@pytest.mark.anyio
async def test_get_group_and_find_users(toy_client):
    client, _ = toy_client
    group = (await ok(client, "get_group", {"provider": "toy", "group_id": "g1"}))["result"]
    assert group["name"] == "Payments" and [m["user_id"] for m in group["members"]] == ["u1", "u2", "u5"]
    assert [m["email"] for m in group["members"]] == ["person1@toy.test", "person2@toy.test", "person5@toy.test"]
    found = await ok(client, "find_users", {"query": "person1", "providers": ["toy"]})
    assert [p["email"] for p in found["result"]] == ["person10@toy.test", "person11@toy.test", "person1@toy.test"]
    assert found["errors"] == [] and found["truncated"] is False


@pytest.mark.anyio
async def test_what_the_toy_lacks_is_unsupported_and_unknown_names_are_invalid(toy_client):
    client, _ = toy_client
    err = await fails(client, "list_licenses", {"provider": "toy"}, "unsupported")
    assert "Toy sells no seats" in err["message"] and "opsgenie" in err["message"]
    await fails(client, "list_users", {"provider": "toys"}, "invalid_argument")
    await fails(client, "list_users", {"provider": "rootly"}, "not_configured")


@pytest.mark.anyio
async def test_the_toys_schedule_is_on_call_and_reviewed(toy_client):
    client, _ = toy_client
    now = await ok(client, "who_is_on_call")
    assert [(c["provider"], c["user_id"], c["email"]) for c in now["result"]] == [("toy", "u1", "person1@toy.test")]
    review = await ok(client, "coverage_review", {})
    found = [(f["problem"], f["rotation"]["name"], f["user_id"], f["status"]) for f in review["result"]]
    assert found == [
        ("ghost", "Day", "u99", None),  # no email: first
        ("ghost", "Day", "u3", "inactive"),
        ("uncovered", "Night", None, None),
        ("ghost", "Night", "u6", "inactive"),
    ]
    assert review["providers"] == ["toy"] and review["total"] == 4
    duties = await ok(client, "get_duties", {"email": "PERSON3@toy.test"})
    assert [(d["kind"], d["position"]) for d in duties["result"]] == [("rotation", 1)]


def test_settings_come_from_the_toys_own_variables():
    everyone = [*PROVIDERS, TOY]
    assert "toy" not in Settings.from_env({"TOY_URL": "https://toy.example"}, providers=everyone).providers
    warned = Settings.from_env({"TOY_URL": "https://elsewhere.example"}, providers=everyone).warnings
    assert warned == ("toy is not configured: TOY_URL is set but TOY_TOKEN is missing",)
    config = Settings.from_env({"TOY_TOKEN": TOKEN}, providers=everyone).providers["toy"]
    assert config == ProviderConfig("toy", TOKEN, "https://toy.example")
    with pytest.raises(ValueError, match="TOY_URL"):
        Settings.from_env({"TOY_TOKEN": TOKEN, "TOY_URL": "https://u:p@toy.example"}, providers=everyone)
