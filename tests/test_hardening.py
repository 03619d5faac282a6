"""Regressions from the adversarial review (issue 8) that are not about HTTP or redaction:
strict argument types, parallel and cancelled writes, writes whose read-back fails, find_users'
cap, retried 500s, and answers without the provider's documented shape. Each goes through a
real MCP client in process against the simulated providers."""

from __future__ import annotations

import json
import logging

import anyio
import pytest
from mcp import Client
from starlette.responses import JSONResponse, RedirectResponse

from mcp_directory.cli import run_check
from mcp_directory.server import build_server
from mcp_directory.sim import build_world
from mcp_directory.sim.faults import FaultPlan

from .support import fails, ok, sim_directory, traverse
from .test_resilience import directory_with, listing_order
from .test_writes import audit_lines


@pytest.fixture
def world():
    return build_world(seed=5, people=60)


def sent(apps, provider, method):
    return [r for r in apps[provider].state.requests if r.method == method]


def rootly_team_with_members(world, count=2):
    return next(t for t in world.rootly.teams.values() if len(t["attributes"]["user_ids"]) > count)


# --- 3: only the JSON boolean true confirms; wrong JSON types are invalid_argument ---


@pytest.mark.anyio
@pytest.mark.parametrize("confirm", ["true", "True", 1, "yes", "on", "1", [True], {"value": True}])
async def test_confirm_is_only_the_json_boolean_true(world, confirm):
    directory, apps = sim_directory(world, allow_writes=True)
    user_id = next(iter(world.opsgenie.users))
    async with Client(build_server(directory)) as c:
        err = await fails(
            c, "deactivate_user", {"provider": "opsgenie", "user_id": user_id, "confirm": confirm}, "invalid_argument"
        )
        assert "confirm" in err["message"]
        team = next(iter(world.opsgenie.teams.values()))
        member = team["members"][0]["user"]["id"]
        await fails(
            c,
            "remove_group_member",
            {"provider": "opsgenie", "group_id": team["id"], "user_id": member, "confirm": confirm},
            "invalid_argument",
        )
    assert user_id in world.opsgenie.users
    assert not sent(apps, "opsgenie", "DELETE")


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("tool", "args"),
    [
        ("list_users", {"provider": "rootly", "limit": True}),
        ("list_users", {"provider": "rootly", "limit": "5"}),
        ("list_users", {"provider": "rootly", "limit": 5.0}),
        ("list_users", {"provider": "rootly", "search": 42}),
        ("find_users", {"query": "alice", "providers": "rootly"}),
        ("get_user", {"provider": "rootly", "user_id": 7}),
        ("proxy_request", {"provider": "rootly", "path": "/v1/users", "query": [{"name": "page[size]", "value": 1}]}),
    ],
)
async def test_arguments_of_the_wrong_json_type_are_invalid(world, tool, args):
    directory, apps = sim_directory(world)
    async with Client(build_server(directory)) as c:
        await fails(c, tool, args, "invalid_argument")
        # and the server keeps serving
        assert (await ok(c, "list_users", {"provider": "rootly", "limit": 2}))["result"]
    assert sum(len(a.state.requests) for a in apps.values()) == 1


# --- 2: parallel Rootly membership writes on one team lose nothing ---


@pytest.mark.anyio
async def test_parallel_rootly_removals_on_one_team_both_hold(world):
    directory, apps = sim_directory(world, allow_writes=True)
    team = rootly_team_with_members(world, 3)
    first, second = [str(u) for u in team["attributes"]["user_ids"][:2]]
    # Slow reads, so both calls read the team before either writes (as agents' parallel calls do).
    apps["rootly"].state.gate.faults = FaultPlan(
        latency_s=0.05, methods=frozenset({"GET"}), paths=r"^/v1/teams/", latency_when="after_handler"
    )
    results = {}
    async with Client(build_server(directory)) as c:

        async def remove(user_id: str) -> None:
            results[user_id] = await ok(
                c,
                "remove_group_member",
                {"provider": "rootly", "group_id": team["id"], "user_id": user_id, "confirm": True},
            )

        async with anyio.create_task_group() as tg:
            tg.start_soon(remove, first)
            tg.start_soon(remove, second)
    members = world.rootly.teams[team["id"]]["attributes"]["user_ids"]
    assert int(first) not in members and int(second) not in members
    assert all(first not in [m["user_id"] for m in r["result"]["members"]] for r in results.values() if r["result"])


@pytest.mark.anyio
@pytest.mark.parametrize("role", ["member", "admin"])
async def test_parallel_rootly_adds_on_one_team_both_hold(world, role):
    directory, apps = sim_directory(world, allow_writes=True)
    team = rootly_team_with_members(world)
    outsiders = [u for u in world.rootly.users if int(u) not in team["attributes"]["user_ids"]][:3]
    apps["rootly"].state.gate.faults = FaultPlan(
        latency_s=0.05, methods=frozenset({"GET"}), paths=r"^/v1/teams/", latency_when="after_handler"
    )
    async with Client(build_server(directory)) as c, anyio.create_task_group() as tg:
        for user_id in outsiders:
            tg.start_soon(
                ok,
                c,
                "add_group_member",
                {"provider": "rootly", "group_id": team["id"], "user_id": str(user_id), "role": role},
            )
    attributes = world.rootly.teams[team["id"]]["attributes"]
    assert all(int(u) in attributes["user_ids"] for u in outsiders)
    assert all((int(u) in attributes["admin_ids"]) == (role == "admin") for u in outsiders)


@pytest.mark.anyio
async def test_rootly_membership_changed_elsewhere_in_between_is_a_conflict(world):
    """Another writer (another process) puts the user back right after our PUT: the read-back
    sees it, and the call says conflict and to retry instead of reporting success."""
    directory, apps = sim_directory(world, allow_writes=True)
    team = rootly_team_with_members(world)
    user = team["attributes"]["user_ids"][0]
    path = f"/v1/teams/{team['id']}"

    async def other_writer(request):
        if (
            request.method == "GET"
            and request.url.path == path
            and any(r.method == "PUT" for r in apps["rootly"].state.requests)
        ):
            attributes = world.rootly.teams[team["id"]]["attributes"]
            if user not in attributes["user_ids"]:
                attributes["user_ids"] = [*attributes["user_ids"], user]
        return None

    apps["rootly"].state.gate.hooks.append(other_writer)
    async with Client(build_server(directory)) as c:
        err = await fails(
            c,
            "remove_group_member",
            {"provider": "rootly", "group_id": team["id"], "user_id": str(user), "confirm": True},
            "conflict",
        )
    assert "retry" in err["message"] and err["provider"] == "rootly"


@pytest.mark.anyio
@pytest.mark.parametrize("user_id", ["²", "٣", "1٣", "１２"])
async def test_rootly_ids_are_ascii_digits(world, user_id):
    directory, apps = sim_directory(world, allow_writes=True)
    team = rootly_team_with_members(world)
    before = json.dumps(team)
    async with Client(build_server(directory)) as c:
        for tool in ("add_group_member", "remove_group_member"):
            args = {"provider": "rootly", "group_id": team["id"], "user_id": user_id}
            err = await fails(
                c, tool, {**args, **({"confirm": True} if tool.startswith("remove") else {})}, "invalid_argument"
            )
            assert "numbers" in err["message"]
    assert json.dumps(world.rootly.teams[team["id"]]) == before
    assert not sent(apps, "rootly", "PUT")


# --- 5: a cancelled write is audited ---


@pytest.mark.anyio
async def test_a_cancelled_write_that_reached_the_provider_is_audited(world, caplog):
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    directory, apps = sim_directory(world, allow_writes=True)
    team = next(t for t in world.opsgenie.teams.values() if t["members"])
    member = team["members"][0]["user"]["id"]
    # The DELETE is applied at once; its answer comes only much later, and the client gives up first.
    apps["opsgenie"].state.gate.faults = FaultPlan(
        latency_s=30, methods=frozenset({"DELETE"}), latency_when="after_handler"
    )
    async with Client(build_server(directory)) as c:
        async with anyio.create_task_group() as tg:
            args = {"provider": "opsgenie", "group_id": team["id"], "user_id": member, "confirm": True}
            tg.start_soon(c.call_tool, "remove_group_member", args)
            for _ in range(500):
                if sent(apps, "opsgenie", "DELETE"):
                    break
                await anyio.sleep(0.01)
            assert sent(apps, "opsgenie", "DELETE")
            tg.cancel_scope.cancel()  # the client sends notifications/cancelled
        for _ in range(500):
            if audit_lines(caplog):
                break
            await anyio.sleep(0.01)
        assert (await ok(c, "list_users", {"provider": "rootly", "limit": 1}))["result"]  # still serving
    (line,) = audit_lines(caplog)
    assert line["tool"] == "remove_group_member" and line["outcome"] == "cancelled"
    assert line["target"]["user_id"] == member
    assert member not in [m["user"]["id"] for m in world.opsgenie.teams[team["id"]]["members"]]


# --- 7: a write that happened is reported as applied even when reading it back fails ---


@pytest.mark.anyio
async def test_opsgenie_add_member_applied_but_unreadable_is_not_an_error(world, caplog):
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    directory, apps = directory_with(world, allow_writes=True)
    team = next(iter(world.opsgenie.teams.values()))
    outsider = next(u for u in world.opsgenie.users if u not in [m["user"]["id"] for m in team["members"]])

    async def team_reads_fail_after_the_write(request):
        if request.method == "GET" and sent(apps, "opsgenie", "POST"):
            return JSONResponse({"message": "Internal error", "took": 0.0, "requestId": "x"}, status_code=500)
        return None

    apps["opsgenie"].state.gate.hooks.append(team_reads_fail_after_the_write)
    async with Client(build_server(directory)) as c:
        data = await ok(c, "add_group_member", {"provider": "opsgenie", "group_id": team["id"], "user_id": outsider})
    assert data["result"] is None and "applied" in data["note"] and "get_group" in data["note"]
    assert outsider in [m["user"]["id"] for m in world.opsgenie.teams[team["id"]]["members"]]
    assert len(sent(apps, "opsgenie", "POST")) == 1
    assert [line["outcome"] for line in audit_lines(caplog)] == ["ok"]


@pytest.mark.anyio
async def test_retool_deactivation_applied_but_unreadable_is_not_an_error(world):
    directory, apps = directory_with(world, allow_writes=True)
    user = next(u for u in world.retool.users.values() if u["active"])

    async def reads_fail_after_the_delete(request):
        if request.method == "GET" and sent(apps, "retool", "DELETE"):
            return JSONResponse({"success": False, "message": "boom"}, status_code=503)
        return None

    apps["retool"].state.gate.hooks.append(reads_fail_after_the_delete)
    async with Client(build_server(directory)) as c:
        data = await ok(c, "deactivate_user", {"provider": "retool", "user_id": user["id"], "confirm": True})
    assert data["result"]["action"] == "deactivated" and data["result"]["user"] is None
    assert world.retool.users[user["id"]]["active"] is False


# --- 6: find_users returns every match or says it was cut ---


@pytest.mark.anyio
async def test_find_users_says_when_a_query_matches_too_many(monkeypatch):
    big = build_world(seed=8, people=2600)
    directory, _apps = sim_directory(big, providers=("rootly",), page_sizes=None)
    matching = [u for u in big.rootly.users.values() if "acme" in u["attributes"]["email"].lower()]
    assert len(matching) > 1000
    async with Client(build_server(directory)) as c:
        vague = await ok(c, "find_users", {"query": "acme"})
        one = matching[0]["attributes"]["email"]
        exact = await ok(c, "find_users", {"query": one})
    assert vague["truncated"] is True and "narrow" in vague["message"]
    assert sum(len(p["accounts"]) for p in vague["result"]) == 1000
    assert exact["truncated"] is False and exact["message"] is None
    assert [p["email"] for p in exact["result"]] == [one.lower()]


@pytest.mark.anyio
@pytest.mark.parametrize("query", ["  a  ", " ", "\t\nb\n"])
async def test_find_users_padding_does_not_pass_the_minimum_length(world, query):
    directory, apps = sim_directory(world)
    async with Client(build_server(directory)) as c:
        err = await fails(c, "find_users", {"query": query}, "invalid_argument")
    assert "query" in err["message"]
    assert not any(a.state.requests for a in apps.values())


# --- 8: a 500 on a read is retried ---


@pytest.mark.anyio
@pytest.mark.parametrize("provider", ["rootly", "opsgenie", "retool"])
async def test_full_traversal_under_faults_that_include_500(provider):
    world = build_world(seed=11, people=200)
    directory, apps = directory_with(world)
    apps[provider].state.gate.faults = FaultPlan(error_rate=0.25, statuses=(500, 502), seed=3, retry_after_s=0)
    async with Client(build_server(directory)) as c:
        users = await traverse(c, "list_users", {"provider": provider, "limit": 23})
    assert [u["id"] for u in users] == listing_order(world, provider)
    assert any(
        r.fault == "error:500" or r.fault == "500" or "500" in str(r.fault) for r in apps[provider].state.requests
    )


# --- low: redirects and answers without the documented envelope ---


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("provider", "tool", "args", "path"),
    [
        ("opsgenie", "list_groups", {"provider": "opsgenie"}, "/v2/teams"),
        ("retool", "list_groups", {"provider": "retool"}, "/api/v2/groups"),
        ("rootly", "list_users", {"provider": "rootly"}, "/v1/users"),
        ("rootly", "get_group", {"provider": "rootly", "group_id": "x"}, "/v1/teams/x"),
        ("opsgenie", "list_roles", {"provider": "opsgenie"}, "/v2/roles"),
    ],
)
@pytest.mark.parametrize(
    "answer", [{"unexpected": True}, {"data": {"not": "a list"}}, {"data": [1, 2]}, [], {"data": None}]
)
async def test_an_answer_without_the_documented_envelope_is_an_upstream_error(
    world, provider, tool, args, path, answer
):
    directory, apps = directory_with(world)

    async def odd(request):
        return JSONResponse(answer) if request.url.path == path else None

    apps[provider].state.gate.hooks.append(odd)
    async with Client(build_server(directory)) as c:
        data, is_error = await _call(c, tool, args)
    assert is_error, data
    if tool == "get_group" and answer == {"data": {"not": "a list"}}:
        return  # a record after all; its missing id is still an upstream error
    assert data["error"]["code"] == "upstream_error" and "documented shape" in data["error"]["message"]


async def _call(c, tool, args):
    result = await c.call_tool(tool, args)
    data = json.loads(result.content[0].text)
    if result.is_error:
        assert data["error"]["code"] == "upstream_error", data
    return data, result.is_error


@pytest.mark.anyio
@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirect_is_an_upstream_error_never_followed(world, status):
    directory, apps = directory_with(world)
    followed = []

    async def elsewhere(request):
        if request.url.path == "/v2/teams":
            return RedirectResponse("http://opsgenie.sim/v2/elsewhere", status_code=status)
        if request.url.path == "/v2/elsewhere":
            followed.append(request)
        return None

    apps["opsgenie"].state.gate.hooks.append(elsewhere)
    async with Client(build_server(directory)) as c:
        err = await fails(c, "list_groups", {"provider": "opsgenie"}, "upstream_error")
    assert err["status"] == status and "redirect" in err["message"]
    assert not followed


@pytest.mark.anyio
async def test_check_does_not_call_a_provider_ok_when_its_answer_is_off(world, capsys):
    directory, apps = directory_with(world)

    async def odd(request):
        return JSONResponse({"unexpected": True})

    apps["rootly"].state.gate.hooks.append(odd)
    assert await run_check(directory) == 1
    table = capsys.readouterr().out
    rootly_row = next(line for line in table.splitlines() if line.startswith("rootly"))
    assert "error: upstream_error" in rootly_row
    assert all(
        " ok " in line or line.rstrip().endswith("ok") or " ok" in line
        for line in table.splitlines()[1:]
        if not line.startswith("rootly")
    )
