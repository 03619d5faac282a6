"""access_review through a real MCP client against the simulated providers: every filter against
the truth read the long way (list_users and get_group to the end), paging with exact totals, the
snapshot, the CSV export, failures and bad arguments."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from starlette.responses import JSONResponse

from mcp_directory.review import normalized
from mcp_directory.server import build_server
from mcp_directory.sim import build_world
from mcp_directory.throttle import Throttle

from .support import fails, ok, sim_directory, traverse

PROVIDERS = ("rootly", "opsgenie", "retool")


@pytest.fixture(scope="module")
def world():
    return build_world(seed=3, people=120)


def unthrottled(directory):
    """No client-side request budget: the simulators have none, and the truth is read the long way."""
    for adapter in directory.adapters.values():
        adapter.http.throttle = Throttle(0)
    return directory


@pytest.fixture
async def session(world):
    directory, apps = sim_directory(world)
    unthrottled(directory)
    async with Client(build_server(directory)) as client:
        yield client, apps, directory


async def truth(client) -> dict[str, list[dict]]:
    """Every person's accounts, read the long way: every user, every group's members."""
    people: dict[str, list[dict]] = defaultdict(list)
    for provider in PROVIDERS:
        memberships = defaultdict(list)
        for group in await traverse(client, "list_groups", {"provider": provider, "limit": 50}):
            full = (await ok(client, "get_group", {"provider": provider, "group_id": group["id"]}))["result"]
            for member in full["members"]:
                memberships[member["user_id"]].append({"id": full["id"], "name": full["name"]})
        for user in await traverse(client, "list_users", {"provider": provider, "limit": 100}):
            people[user["email"].casefold()].append(
                {
                    "provider": provider,
                    "user_id": user["id"],
                    "status": user["status"],
                    "is_admin": user["is_admin"],
                    "last_active_at": user["last_active_at"],
                    "groups": memberships[user["id"]],
                }
            )
    return dict(people)


async def review(client, **args) -> tuple[list[dict], list[dict]]:
    """Every row of a review, following cursors, and its pages."""
    pages, cursor = [], None
    for _ in range(1000):
        page = await ok(client, "access_review", {**args, **({"cursor": cursor} if cursor else {})})
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            break
    rows = [row for page in pages for row in page["result"]]
    assert "cursor" in args or all(page["total"] == len(rows) for page in pages)
    assert len({page["as_of"] for page in pages}) == 1 and len({page["export"] for page in pages}) == 1
    return rows, pages


def expected(people: dict[str, list[dict]], keep) -> list[str]:
    return sorted(email for email, accounts in people.items() if keep({a["provider"]: a for a in accounts}, accounts))


@pytest.mark.anyio
async def test_every_filter_matches_the_truth(session):
    client, _, _ = session
    people = await truth(client)
    rows, pages = await review(client, limit=7)
    assert [r["email"] for r in rows] == sorted(people)
    for row in rows:
        by_provider = {a["provider"]: a for a in row["accounts"]}
        want = {a["provider"]: a for a in people[row["email"]]}
        assert by_provider.keys() == want.keys()
        for provider, account in by_provider.items():
            assert {**account, "groups": sorted(g["id"] for g in account["groups"])} == {
                **want[provider],
                "groups": sorted(g["id"] for g in want[provider]["groups"]),
            }
    assert pages[0]["providers"] == list(PROVIDERS) and pages[0]["provider"] is None
    cases = {
        "present_in": ({"present_in": ["retool", "opsgenie"]}, lambda by, a: {"retool", "opsgenie"} <= by.keys()),
        "absent_from": ({"absent_from": ["opsgenie"]}, lambda by, a: "opsgenie" not in by),
        "status": ({"status": "inactive"}, lambda by, a: any(x["status"] == "inactive" for x in a)),
        "admins": ({"admins_only": True}, lambda by, a: any(x["is_admin"] is True for x in a)),
        "mixed": (
            {"mixed_status": True},
            lambda by, a: bool(
                {x["provider"] for x in a if x["status"] == "active"}
                and {x["provider"] for x in a if x["status"] in ("inactive", "blocked")}
            ),
        ),
        "since": (
            {"inactive_since": "2025-06-01"},
            lambda by, a: any(
                x["last_active_at"] and normalized(x["last_active_at"]) < "2025-06-01T00:00:00.000+00:00" for x in a
            ),
        ),
        "combined": (
            {"present_in": ["retool"], "absent_from": ["rootly"], "status": "active"},
            lambda by, a: "retool" in by and "rootly" not in by and any(x["status"] == "active" for x in a),
        ),
    }
    for name, (args, keep) in cases.items():
        got, _ = await review(client, limit=9, **args)
        want = expected(people, keep)
        assert [r["email"] for r in got] == want, name
        assert want, f"{name}: the seeded world should hold someone for this filter"


@pytest.mark.anyio
async def test_one_person_by_email_in_any_letter_case(session, world):
    client, _, _ = session
    variant = next(p for p in world.people if len({e for e in p.provider_emails.values()}) > 1)
    rows, _ = await review(client, email=variant.email.upper())
    assert [r["email"] for r in rows] == [variant.email]
    assert {a["provider"] for a in rows[0]["accounts"]} == set(variant.provider_emails)


@pytest.mark.anyio
async def test_pages_come_from_one_snapshot(session, world):
    client, apps, _ = session
    first = await ok(client, "access_review", {"limit": 5})
    before = first["total"]
    requests = sum(len(a.state.requests) for a in apps.values())
    new = {"email": "zz.newcomer@acme.com", "first_name": "Zz", "last_name": "Newcomer"}
    world.retool.users["user_new"] = {
        "id": "user_new", "legacy_id": 99999, **new, "created_at": "2026-01-01T00:00:00.000Z",
        "last_active": None, "active": True, "metadata": {}, "is_admin": False,
        "two_factor_auth_enabled": False, "user_type": "default",
    }  # fmt: skip
    try:
        rest, _ = await review(client, limit=200, cursor=first["next_cursor"])
        assert "zz.newcomer@acme.com" not in [r["email"] for r in rest]
        assert len(first["result"]) + len(rest) == before
        assert sum(len(a.state.requests) for a in apps.values()) == requests  # served from the snapshot
        fresh, _ = await review(client, limit=200)
        assert "zz.newcomer@acme.com" in [r["email"] for r in fresh] and len(fresh) == before + 1
    finally:
        del world.retool.users["user_new"]


@pytest.mark.anyio
async def test_the_export_holds_the_whole_review_as_csv(session):
    client, _, _ = session
    rows, pages = await review(client, limit=10, present_in=["retool"])
    result = await client.call_tool("access_review", {"limit": 10, "present_in": ["retool"]})
    # The content is the JSON text and nothing else (SPEC §15): no resource_link block, on which
    # agent frameworks fail; the export's URI is in the JSON.
    (text,) = result.content
    assert text.type == "text" and json.loads(text.text) == result.structured_content
    assert result.structured_content["export"].startswith("directory://reviews/")
    read = await client.read_resource(pages[0]["export"])
    (content,) = read.contents
    assert content.mime_type == "text/csv"
    lines = list(csv.reader(io.StringIO(content.text)))
    assert lines[0] == ["email", "name", "provider", "user_id", "status", "is_admin", "last_active_at", "groups"]
    accounts = [(r["email"], a["provider"], a["user_id"]) for r in rows for a in r["accounts"]]
    assert [(line[0], line[2], line[3]) for line in lines[1:]] == accounts
    some = next(line for line in lines[1:] if line[7])
    row = next(r for r in rows if r["email"] == some[0])
    account = next(a for a in row["accounts"] if a["user_id"] == some[3])
    assert some[7] == ";".join(g["name"] for g in account["groups"])
    assert content.text.endswith("\r\n")


@pytest.mark.anyio
async def test_a_failing_provider_fails_the_review(world):
    directory, apps = sim_directory(world)

    async def broken(request):
        return JSONResponse({"message": "down", "took": 0, "requestId": "x"}, status_code=403)

    apps["opsgenie"].state.gate.hooks.append(broken)
    async with Client(build_server(directory)) as client:
        err = await fails(client, "access_review", {}, "forbidden")
        assert err["provider"] == "opsgenie"
        data = await ok(client, "access_review", {"providers": ["rootly", "retool"], "limit": 1})
        assert data["providers"] == ["rootly", "retool"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "args",
    [
        {"inactive_since": "last june"},
        {"inactive_since": "2026-13-01"},
        {"providers": ["rootly", "pagerduty"]},
        {"present_in": ["nope"]},
        {"providers": ["rootly"], "absent_from": ["retool"]},
        {"mixed_status": "true"},
        {"status": "gone"},
        {"limit": 0},
    ],
)
async def test_bad_arguments_are_invalid(session, args):
    client, _, _ = session
    await fails(client, "access_review", args, "invalid_argument")


@pytest.mark.anyio
async def test_a_cursor_from_another_review_or_tool_is_invalid(session):
    client, _, _ = session
    admins = await ok(client, "access_review", {"admins_only": True, "limit": 1})
    users = await ok(client, "list_users", {"provider": "rootly", "limit": 1})
    await fails(client, "access_review", {"limit": 1, "cursor": admins["next_cursor"]}, "invalid_argument")
    await fails(client, "access_review", {"limit": 1, "cursor": users["next_cursor"]}, "invalid_argument")
    await fails(client, "list_users", {"provider": "rootly", "cursor": admins["next_cursor"]}, "invalid_argument")


@pytest.mark.anyio
async def test_an_expired_review_says_to_start_again(session):
    client, _, directory = session
    first = await ok(client, "access_review", {"limit": 1})
    directory.reviews.clock = lambda: 10**12  # long after
    err = await fails(client, "access_review", {"limit": 1, "cursor": first["next_cursor"]}, "invalid_argument")
    assert "again without cursor" in err["message"]
    with pytest.raises(MCPError, match="no longer kept"):
        await client.read_resource(first["export"])
    assert (await ok(client, "access_review", {"limit": 1}))["total"] == first["total"]  # still serving
