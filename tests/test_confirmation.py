"""SPEC §9: before a destructive write sends anything, the human is asked through MCP elicitation,
in both protocol eras, through real MCP clients over the simulated providers.

`mode="legacy"` is the 2025-11-25 handshake (the server sends `elicitation/create` mid-call);
the default `mode="auto"` lands on 2026-07-28, where the call ends with an `InputRequiredResult`
and the client calls again with the answer and the sealed `request_state`."""

from __future__ import annotations

import dataclasses
import json
import logging
from types import SimpleNamespace
from typing import Any

import anyio
import httpx2 as httpx
import pytest
from mcp import Client, ClientSession
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.types import (
    ClientCapabilities,
    ElicitationCapability,
    ElicitRequestFormParams,
    ElicitResult,
    InputRequiredResult,
    UrlElicitationCapability,
)

from mcp_directory.config import Settings
from mcp_directory.errors import Cancelled
from mcp_directory.server import build_server
from mcp_directory.sim import build_apps, build_world, serve_on_loopback
from mcp_directory.tools import TOOLS
from mcp_directory.tools.base import Call

from .support import TOKENS, fails, ok, server_env, sim_directory
from .test_http import running

ERAS = ["legacy", "auto"]
YES = ElicitResult(action="accept", content={"confirm": True})
NOES = {
    "decline": ElicitResult(action="decline"),
    "cancel": ElicitResult(action="cancel"),
    "accept-false": ElicitResult(action="accept", content={"confirm": False}),
    "accept-not-a-boolean": ElicitResult(action="accept", content={"confirm": "yes"}),
}


class Human:
    """An elicitation callback: gives the same answer to every question and keeps the questions."""

    def __init__(self, answer: ElicitResult) -> None:
        self.answer = answer
        self.asked: list[ElicitRequestFormParams] = []

    async def __call__(self, context: Any, params: Any) -> ElicitResult:
        assert isinstance(params, ElicitRequestFormParams)
        self.asked.append(params)
        return self.answer


@pytest.fixture
def world():
    return build_world(seed=7, people=50)


def sent(apps: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Every request that reached a simulated provider, reads included."""
    return [(p, r.method, r.path) for p, a in apps.items() for r in a.state.requests]


def audit_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "mcp_directory.audit"]


def team_member(world: Any) -> tuple[str, str]:
    team = next(iter(world.opsgenie.teams.values()))
    return team["id"], team["members"][0]["user"]["id"]


def members(world: Any, team_id: str) -> list[str]:
    return [m["user"]["id"] for m in world.opsgenie.teams[team_id]["members"]]


def retool_user(world: Any) -> str:
    return str(list(world.retool.users)[3])


def assert_the_form(question: ElicitRequestFormParams, plan: str) -> None:
    assert question.message == plan
    schema = question.requested_schema
    assert schema["type"] == "object" and schema["required"] == ["confirm"]
    assert list(schema["properties"]) == ["confirm"] and schema["properties"]["confirm"]["type"] == "boolean"


# --- the admin tools, both eras -------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_confirmed_removal_asks_the_plan_once_then_removes(world, mode, caplog):
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    directory, apps = sim_directory(world, allow_writes=True)
    human = Human(YES)
    team_id, user_id = team_member(world)
    args = {"provider": "opsgenie", "group_id": team_id, "user_id": user_id}
    async with Client(build_server(directory), mode=mode, elicitation_callback=human) as c:
        dry = await ok(c, "remove_group_member", args)
        assert dry["dry_run"] is True and human.asked == []  # a dry run asks nothing
        assert sent(apps) == []
        data = await ok(c, "remove_group_member", {**args, "confirm": True})
    (question,) = human.asked
    assert_the_form(question, dry["plan"])
    assert user_id not in members(world, team_id)
    assert user_id not in [m["user_id"] for m in data["result"]["members"]]
    assert ("opsgenie", "DELETE", f"/v2/teams/{team_id}/members/{user_id}") in sent(apps)
    assert [line["outcome"] for line in audit_lines(caplog)] == ["dry_run", "ok"]


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_confirmed_deactivation_asks_the_plan_once_then_deactivates(world, mode):
    directory, apps = sim_directory(world, allow_writes=True)
    human = Human(YES)
    user_id = retool_user(world)
    args = {"provider": "retool", "user_id": user_id}
    async with Client(build_server(directory), mode=mode, elicitation_callback=human) as c:
        dry = await ok(c, "deactivate_user", args)
        assert human.asked == []
        data = await ok(c, "deactivate_user", {**args, "confirm": True})
    (question,) = human.asked
    assert_the_form(question, dry["plan"])
    assert "the account is disabled" in question.message and user_id in question.message
    assert data["result"]["action"] == "deactivated" and world.retool.users[user_id]["active"] is False
    assert ("retool", "DELETE", f"/api/v2/users/{user_id}") in sent(apps)


@pytest.mark.anyio
@pytest.mark.parametrize("answer", list(NOES))
@pytest.mark.parametrize("mode", ERAS)
@pytest.mark.parametrize("tool", ["remove_group_member", "deactivate_user"])
async def test_anything_but_yes_sends_nothing_and_fails_cancelled(world, mode, answer, tool, caplog):
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    directory, apps = sim_directory(world, allow_writes=True)
    human = Human(NOES[answer])
    team_id, member = team_member(world)
    user_id = retool_user(world)
    if tool == "remove_group_member":
        args = {"provider": "opsgenie", "group_id": team_id, "user_id": member, "confirm": True}
    else:
        args = {"provider": "retool", "user_id": user_id, "confirm": True}
    async with Client(build_server(directory), mode=mode, elicitation_callback=human) as c:
        err = await fails(c, tool, args, "cancelled")
    assert "declined" in err["message"] and "nothing was sent" in err["message"]
    assert len(human.asked) == 1
    assert sent(apps) == []  # not a write, not even a read: nothing reached any provider
    assert member in members(world, team_id) and world.retool.users[user_id]["active"] is True
    (line,) = audit_lines(caplog)
    assert line["tool"] == tool and line["outcome"] == "error" and line["code"] == "cancelled"


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_a_client_without_elicitation_is_not_asked(world, mode):
    directory, _apps = sim_directory(world, allow_writes=True)
    user_id = retool_user(world)
    async with Client(build_server(directory), mode=mode) as c:
        data = await ok(c, "deactivate_user", {"provider": "retool", "user_id": user_id, "confirm": True})
    assert data["result"]["action"] == "deactivated"


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_elicit_never_asks_no_one(world, mode):
    directory, _apps = sim_directory(world, allow_writes=True)
    directory.settings = dataclasses.replace(directory.settings, elicit=False)
    human = Human(NOES["decline"])
    team_id, member = team_member(world)
    args = {"provider": "opsgenie", "group_id": team_id, "user_id": member, "confirm": True}
    async with Client(build_server(directory), mode=mode, elicitation_callback=human) as c:
        await ok(c, "remove_group_member", args)
    assert human.asked == [] and member not in members(world, team_id)


def test_elicit_setting_reads_auto_or_never():
    assert Settings.from_env({}).elicit is True
    assert Settings.from_env({"MCP_DIRECTORY_ELICIT": "auto"}).elicit is True
    assert Settings.from_env({"MCP_DIRECTORY_ELICIT": " Never "}).elicit is False
    with pytest.raises(ValueError, match="MCP_DIRECTORY_ELICIT"):
        Settings.from_env({"MCP_DIRECTORY_ELICIT": "off"})


# --- proxy_request ----------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_proxied_write_asks_and_a_get_does_not(world, mode):
    directory, apps = sim_directory(world, allow_writes=True)
    human = Human(YES)
    team_id = next(iter(world.opsgenie.teams))
    outsider = next(u for u in world.opsgenie.users if u not in members(world, team_id))
    path = f"/v2/teams/{team_id}/members"
    async with Client(build_server(directory), mode=mode, elicitation_callback=human) as c:
        await ok(c, "proxy_request", {"provider": "opsgenie", "path": f"/v2/teams/{team_id}"})
        assert human.asked == []  # GET: no question
        data = await ok(
            c,
            "proxy_request",
            {"provider": "opsgenie", "method": "POST", "path": path, "body": json.dumps({"user": {"id": outsider}})},
        )
    (question,) = human.asked
    assert question.message.startswith(f"Would send POST {path} to Opsgenie")
    assert data["status"] == 200 and outsider in members(world, team_id)
    assert ("opsgenie", "POST", path) in sent(apps)


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ERAS)
async def test_declined_proxied_delete_sends_nothing(world, mode, caplog):
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    directory, apps = sim_directory(world, allow_writes=True)
    human = Human(NOES["decline"])
    team_id, member = team_member(world)
    path = f"/v2/teams/{team_id}/members/{member}"
    async with Client(build_server(directory), mode=mode, elicitation_callback=human) as c:
        await fails(c, "proxy_request", {"provider": "opsgenie", "method": "DELETE", "path": path}, "cancelled")
        # a path that would be refused anyway is refused before anyone is asked
        await fails(
            c, "proxy_request", {"provider": "opsgenie", "method": "DELETE", "path": "/v2/../x"}, "invalid_argument"
        )
    (question,) = human.asked
    assert "DELETE" in question.message and path in question.message and "Opsgenie" in question.message
    assert sent(apps) == [] and member in members(world, team_id)
    assert [(line["outcome"], line.get("code")) for line in audit_lines(caplog)] == [
        ("error", "cancelled"),
        ("error", "invalid_argument"),
    ]


# --- 2026-07-28: the question cannot be skipped with a made-up answer or state -----------------------


@pytest.fixture
async def driven(world):
    """A 2026-07-28 client driven by hand (the SDK's loop off), and the round-one question."""
    directory, apps = sim_directory(world, allow_writes=True)
    server = build_server(directory)
    async with Client(server, elicitation_callback=Human(NOES["decline"])) as c:
        yield SimpleNamespace(client=c, apps=apps, server=server, directory=directory)


def assert_stale(result: Any) -> None:
    """A state the SDK's boundary refused: `cancelled`, as a tool error (SPEC §9), not a JSON-RPC error."""
    assert not isinstance(result, InputRequiredResult) and result.is_error
    error = json.loads(result.content[0].text)["error"]
    assert error["code"] == "cancelled" and "nothing was sent" in error["message"], error


async def round_one(c: Client, args: dict[str, Any]) -> InputRequiredResult:
    first = await c.session.call_tool("deactivate_user", args, allow_input_required=True)
    assert isinstance(first, InputRequiredResult) and first.input_requests and first.request_state
    return first


@pytest.mark.anyio
async def test_an_answer_without_the_state_is_asked_again(world, driven):
    user_id = retool_user(world)
    args = {"provider": "retool", "user_id": user_id, "confirm": True}
    first = await round_one(driven.client, args)
    yes = {key: YES for key in first.input_requests}
    again = await driven.client.session.call_tool(
        "deactivate_user", args, input_responses=yes, allow_input_required=True
    )
    assert isinstance(again, InputRequiredResult) and again.input_requests
    assert sent(driven.apps) == []
    # the state the server sealed, with the human's yes, does go through
    done = await driven.client.session.call_tool(
        "deactivate_user", args, input_responses=yes, request_state=first.request_state, allow_input_required=True
    )
    assert not isinstance(done, InputRequiredResult) and not done.is_error
    assert world.retool.users[user_id]["active"] is False


@pytest.mark.anyio
async def test_forged_or_foreign_state_is_refused_and_sends_nothing(world, driven, caplog):
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    users = [str(u) for u in list(world.retool.users)[3:5]]
    args = {"provider": "retool", "user_id": users[0], "confirm": True}
    first = await round_one(driven.client, args)
    key = next(iter(first.input_requests))
    yes = {key: YES}
    # what the SDK's resolver would read, had the state not been sealed: an accepted answer
    unsealed = json.dumps({"v": 3, "outcomes": {key: {"action": "accept", "data": {"confirm": True}}}, "asked": {}})
    tampered = first.request_state[:-4] + ("AAAA" if not first.request_state.endswith("AAAA") else "BBBB")
    async with Client(build_server(driven.directory), elicitation_callback=Human(YES)) as other:
        foreign_server = (await round_one(other, args)).request_state  # same call, another server's key
    attempts = [
        (args, unsealed),
        (args, tampered),
        (args, foreign_server),
        ({**args, "user_id": users[1]}, first.request_state),  # sealed for another target
    ]
    for attempt_args, state in attempts:
        refused = await driven.client.session.call_tool(
            "deactivate_user", attempt_args, input_responses=yes, request_state=state, allow_input_required=True
        )
        assert_stale(refused)
    refused = await driven.client.session.call_tool(  # sealed for this tool's arguments, not another tool's
        "remove_group_member",
        {"provider": "retool", "group_id": "1", "user_id": users[0], "confirm": True},
        input_responses=yes,
        request_state=first.request_state,
        allow_input_required=True,
    )
    assert_stale(refused)
    assert sent(driven.apps) == []
    assert all(world.retool.users[u]["active"] is True for u in users)
    assert audit_lines(caplog) == []  # refused before any tool ran


@pytest.mark.anyio
async def test_a_yes_after_the_question_lapsed_is_cancelled_and_sends_nothing(world):
    """SPEC §9: not answered within the deadline (10 minutes; here one second) is `cancelled`."""
    directory, apps = sim_directory(world, allow_writes=True)
    directory.settings = dataclasses.replace(directory.settings, elicit_deadline=1.0)
    user_id = retool_user(world)
    args = {"provider": "retool", "user_id": user_id, "confirm": True}
    async with Client(build_server(directory), elicitation_callback=Human(YES)) as c:
        first = await round_one(c, args)
        await anyio.sleep(2.5)  # past the seal's lifetime
        late = await c.session.call_tool(
            "deactivate_user",
            args,
            input_responses={key: YES for key in first.input_requests},
            request_state=first.request_state,
            allow_input_required=True,
        )
        assert_stale(late)
        await ok(c, "list_users", {"provider": "retool", "limit": 1})  # the server keeps serving
    assert [r for r in sent(apps) if r[1] != "GET"] == [] and world.retool.users[user_id]["active"] is True


@pytest.mark.anyio
async def test_replicas_sharing_the_cursor_secret_take_each_others_answers(world):
    """SPEC §10: any replica may get the second round; the state is sealed under a key derived from
    MCP_DIRECTORY_CURSOR_SECRET, so a replica with another secret refuses it."""

    def replica(secret: str) -> tuple[Any, dict[str, Any]]:
        directory, apps = sim_directory(world, allow_writes=True)
        directory.settings = dataclasses.replace(directory.settings, cursor_secret=secret)
        return build_server(directory), apps

    (first_replica, _), (second_replica, apps), (stranger, strangers_apps) = (
        replica("shared-7f2c"),
        replica("shared-7f2c"),
        replica("other-91ab"),
    )
    user_id = retool_user(world)
    args = {"provider": "retool", "user_id": user_id, "confirm": True}
    async with Client(first_replica, elicitation_callback=Human(YES)) as c:
        first = await round_one(c, args)
    yes = {key: YES for key in first.input_requests}
    async with Client(stranger, elicitation_callback=Human(YES)) as c:
        refused = await c.session.call_tool(
            "deactivate_user", args, input_responses=yes, request_state=first.request_state, allow_input_required=True
        )
        assert_stale(refused)
    assert sent(strangers_apps) == []
    async with Client(second_replica, elicitation_callback=Human(YES)) as c:
        done = await c.session.call_tool(
            "deactivate_user", args, input_responses=yes, request_state=first.request_state, allow_input_required=True
        )
    assert not isinstance(done, InputRequiredResult) and not done.is_error
    assert world.retool.users[user_id]["active"] is False and sent(apps)


# --- Call.confirm itself ----------------------------------------------------------------------------


def bare_call(world: Any, *, version: str, capabilities: ClientCapabilities | None, back_channel: bool) -> Call:
    directory, _apps = sim_directory(world, allow_writes=True)
    context = SimpleNamespace(
        protocol_version=version,
        client_capabilities=capabilities,
        session=SimpleNamespace(can_send_request=back_channel),
    )
    tool = next(t for t in TOOLS if t.name == "deactivate_user")
    return Call(directory, tool, context)  # type: ignore[arg-type]


FORMS = ClientCapabilities(elicitation=ElicitationCapability())


@pytest.mark.anyio
async def test_a_handshake_connection_that_cannot_carry_the_question_sends_nothing(world):
    call = bare_call(world, version="2025-11-25", capabilities=FORMS, back_channel=False)
    with pytest.raises(Cancelled, match="cannot carry the question"):
        await call.confirm("Would do it.")


@pytest.mark.anyio
async def test_a_url_only_client_cannot_show_the_form_so_is_not_asked(world):
    url_only = ClientCapabilities(elicitation=ElicitationCapability(url=UrlElicitationCapability()))
    call = bare_call(world, version="2025-11-25", capabilities=url_only, back_channel=False)
    await call.confirm("Would do it.")  # returns: confirm=true was enough, as without elicitation


@pytest.mark.anyio
async def test_one_question_per_call(world):
    call = bare_call(world, version="2025-11-25", capabilities=FORMS, back_channel=False)
    with pytest.raises(Cancelled):
        await call.confirm("Would do it.")
    with pytest.raises(RuntimeError, match="twice"):
        await call.confirm("Would do it again.")


# --- a real server process over HTTP ----------------------------------------------------------------


@pytest.mark.anyio
async def test_over_http_in_both_eras_and_over_sse():
    """`serve --transport http --allow-writes` in a subprocess, simulators on loopback ports in this
    process (so their request logs show what reached them): a no sends nothing, a yes deactivates."""
    world = build_world(seed=7, people=50)
    apps = build_apps(world, TOKENS, record_requests=True)
    users = iter(str(u) for u in list(world.retool.users)[3:12])
    with (
        serve_on_loopback(apps) as urls,
        running("--transport", "http", "--allow-writes", env=server_env(urls)) as server,
    ):
        for mode in ERAS:
            for answer, done in ((NOES["decline"], False), (YES, True)):
                human = Human(answer)
                user_id = next(users)
                before = sent(apps)
                async with (
                    httpx.AsyncClient(timeout=30) as http,
                    Client(
                        streamable_http_client(f"{server.url}/mcp", http_client=http),
                        mode=mode,
                        elicitation_callback=human,
                    ) as client,
                ):
                    args = {"provider": "retool", "user_id": user_id, "confirm": True}
                    if done:
                        await ok(client, "deactivate_user", args)
                    else:
                        await fails(client, "deactivate_user", args, "cancelled")
                    expected_version = "2025-11-25" if mode == "legacy" else "2026-07-28"
                    assert client.session.protocol_version == expected_version
                (question,) = human.asked
                assert user_id in question.message
                assert world.retool.users[user_id]["active"] is (not done)
                if done:
                    assert ("retool", "DELETE", f"/api/v2/users/{user_id}") in sent(apps)
                else:
                    assert sent(apps) == before

        for answer, done in ((NOES["cancel"], False), (YES, True)):  # legacy SSE: mid-call elicitation
            human = Human(answer)
            user_id = next(users)
            before = sent(apps)
            async with (
                sse_client(f"{server.url}/sse") as (read, write),
                ClientSession(read, write, elicitation_callback=human) as session,
            ):
                await session.initialize()
                args = {"provider": "retool", "user_id": user_id, "confirm": True}
                if done:
                    await ok(session, "deactivate_user", args)
                else:
                    await fails(session, "deactivate_user", args, "cancelled")
            assert len(human.asked) == 1
            assert world.retool.users[user_id]["active"] is (not done)
            if not done:
                assert sent(apps) == before
