"""sync_group_members (SPEC §13) end to end through a real MCP client against the simulated providers:
an Opsgenie team into its JSM team (the migration), same-provider pairs with admins, a target write
failing mid-way and the retry that plans only what is left, the dry run sending nothing, the human
declining the removals, bad input, and one audit line per step."""

from __future__ import annotations

import json
import logging
import random
import re
import shlex
from pathlib import Path

import anyio
import httpx2 as httpx
import pytest
from mcp import Client
from mcp.types import ElicitResult

from mcp_directory.cli import main
from mcp_directory.config import Settings
from mcp_directory.directory import Directory
from mcp_directory.providers import PROVIDERS, Provider
from mcp_directory.server import build_server
from mcp_directory.sim import build_world, env_for
from mcp_directory.sim.faults import FaultPlan

from .support import TOKENS, URLS, fails, migration_directory, ok, sim_directory, traverse
from .test_toy_provider import TOKEN as TOY_TOKEN
from .test_toy_provider import TOY, Toy, toy_api


def writes(apps) -> list[tuple[str, str, str]]:
    """Requests that change something (JSM's Teams API reads a team's members with a POST)."""
    sent = [(p, r.method, r.path) for p, a in apps.items() for r in a.state.requests if r.method != "GET"]
    return [w for w in sent if not (w[0] == "jsm" and w[2].endswith("/members"))]


def audit(caplog) -> list[dict]:
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "mcp_directory.audit"]
    return [line for line in lines if line.get("via") == "sync_group_members"]


def ref(provider: str, group_id: object) -> dict[str, str]:
    return {"provider": provider, "group_id": str(group_id)}


def world_members(world, provider: str, group_id: str) -> dict[str, str]:
    """The truth: the group's members in the simulator's records, user id -> role."""
    if provider == "opsgenie":
        team = world.opsgenie.teams[group_id]
        return {m["user"]["id"]: "admin" if m["role"] == "admin" else "member" for m in team["members"]}
    if provider == "rootly":
        attrs = world.rootly.teams[group_id]["attributes"]
        return {str(u): "admin" if u in attrs["admin_ids"] else "member" for u in attrs["user_ids"]}
    if provider == "retool":
        group = world.retool.groups[int(group_id)]
        return {m["id"]: "admin" if m["is_group_admin"] else "member" for m in group["members"]}
    return {u: "member" for u in world.jsm.teams[group_id]["members"]}


def nth_write_fails(n: int, path: str) -> FaultPlan:
    """A fault plan letting the first n-1 matching writes through and failing the n-th with a 403 (then
    no more): its seed is one whose draws (FaultInjector: one `random()` a request, below `error_rate`
    an error) fall so."""
    for seed in range(1000):
        rng = random.Random(seed)
        if all(rng.random() >= 0.5 for _ in range(n - 1)) and rng.random() < 0.5:
            return FaultPlan(
                error_rate=0.5, statuses=(403,), seed=seed, max_faults=1, methods=frozenset({"POST"}), paths=path
            )
    raise AssertionError("no seed fails exactly the n-th write")


# --- the migration: an Opsgenie team into its JSM team ------------------------------------------------


@pytest.fixture
async def migration():
    world = build_world(seed=6, people=50)
    directory, apps = migration_directory(world)
    async with Client(build_server(directory)) as client:
        yield client, apps, world


def migration_truth(world, team_name: str):
    """The Opsgenie team and the JSM team of that name, and who of the Opsgenie team has an active JSM
    account (email -> account id) and who has none."""
    og_id = next(t for t, team in world.opsgenie.teams.items() if team["name"] == team_name)
    jsm_id = next(t for t, team in world.jsm.teams.items() if team["displayName"] == team_name and team["ops"])
    active, missing = {}, []
    for user_id in world_members(world, "opsgenie", og_id):
        email = world.opsgenie.users[user_id]["username"].lower()
        uid = world.jsm.migrated.get(email)
        if uid and world.jsm.users[uid]["active"] and world.jsm.org[uid]["account_status"] == "active":
            active[email] = uid
        else:
            missing.append(email)
    return og_id, jsm_id, active, missing


@pytest.mark.anyio
async def test_an_opsgenie_team_into_its_jsm_team(migration):
    client, apps, world = migration
    og_id, jsm_id, active, missing = migration_truth(world, "ops_team")
    before = set(world.jsm.teams[jsm_id]["members"])
    apps_in_team = {u for u in before if world.jsm.users[u]["accountType"] == "app"}  # not people
    emails = {u: world.opsgenie.users[u]["username"].lower() for u in world_members(world, "opsgenie", og_id)}
    admins = {active.get(emails[u]) for u, role in world_members(world, "opsgenie", og_id).items() if role == "admin"}
    args = {"source": ref("opsgenie", og_id), "target": ref("jsm", jsm_id)}
    assert missing and apps_in_team and (admins - {None}) - before  # the seed has each kind: an admin to add

    plan = await ok(client, "sync_group_members", args)
    assert plan["dry_run"] is True and not writes(apps)
    assert plan["source"] == {**ref("opsgenie", og_id), "name": "ops_team"}
    assert plan["target"] == {**ref("jsm", jsm_id), "name": "ops_team"}
    adds = {s["user_id"]: s for s in plan["steps"] if s["action"] == "add_group_member"}
    assert set(adds) == set(active.values()) - before
    assert {s["role"] for s in adds.values()} == {"member"} and (admins - {None}) - before <= set(adds)  # JSM has
    # no team admins: an Opsgenie admin is added as a member
    assert all(s["outcome"] is None and s["error"] is None for s in adds.values())
    skipped = [s for s in plan["steps"] if s["action"] == "no_account"]
    assert sorted(s["email"].lower() for s in skipped) == sorted(missing)
    assert {(s["user_id"], s["outcome"]) for s in skipped} == {(None, "skipped")}
    assert not any(s["action"] == "remove_group_member" for s in plan["steps"])  # no remove_extra
    assert "has no group admins" in plan["plan"] and "remove_extra=true would remove" in plan["plan"]

    done = await ok(client, "sync_group_members", {**args, "confirm": True})
    assert done["dry_run"] is False and done["complete"] is True and done["plan"] is None
    assert {s["outcome"] for s in done["steps"] if s["action"] == "add_group_member"} == {"done"}
    assert set(world.jsm.teams[jsm_id]["members"]) == before | set(active.values())  # nobody removed

    again = await ok(client, "sync_group_members", args)  # only what is left: the people without an account
    assert {s["action"] for s in again["steps"]} == {"no_account"} and "Nothing to send" in again["plan"]

    extra = before - set(active.values()) - apps_in_team
    keep = {u for u in extra if world.jsm.emails[u].lower() in missing}  # in the source, account not active
    full = await ok(client, "sync_group_members", {**args, "remove_extra": True, "confirm": True})
    removed = {s["user_id"] for s in full["steps"] if s["action"] == "remove_group_member"}
    assert removed == extra - keep and full["complete"] is True
    assert set(world.jsm.teams[jsm_id]["members"]) == set(active.values()) | keep | apps_in_team


@pytest.mark.anyio
async def test_a_write_failing_mid_way_and_the_retry(migration, caplog):
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    client, apps, world = migration
    og_id, jsm_id, active, _ = migration_truth(world, "payments-oncall")
    args = {"source": ref("opsgenie", og_id), "target": ref("jsm", jsm_id), "remove_extra": True, "confirm": True}
    apps["jsm"].state.gate.faults = nth_write_fails(2, r"/members/(add|remove)$")

    first = await ok(client, "sync_group_members", args)
    sent = [s for s in first["steps"] if s["action"] != "no_account"]
    assert len(sent) >= 4 and [s["action"] for s in sent[:2]] == ["add_group_member"] * 2
    assert [s["outcome"] for s in sent] == ["done", "failed", *["done"] * (len(sent) - 2)]  # the others still go
    assert sent[1]["error"]["code"] == "forbidden" and sent[1]["error"]["provider"] == "jsm"
    assert first["complete"] is False and sent[1]["user_id"] not in world.jsm.teams[jsm_id]["members"]
    lines = audit(caplog)
    assert [(line["tool"], line["provider"], line["target"]["user_id"], line["outcome"]) for line in lines] == [
        (s["action"], "jsm", s["user_id"], "ok" if s["outcome"] == "done" else "error") for s in sent
    ]
    assert lines[1]["code"] == "forbidden" and lines[1]["status"] == 403
    assert lines[0]["target"] == {"group_id": jsm_id, "user_id": sent[0]["user_id"], "role": "member"}
    assert lines[-1]["target"] == {"group_id": jsm_id, "user_id": sent[-1]["user_id"]}

    retry = await ok(client, "sync_group_members", args)  # the fault was spent
    redone = [s for s in retry["steps"] if s["action"] != "no_account"]
    assert [(s["action"], s["user_id"], s["outcome"]) for s in redone] == [
        ("add_group_member", sent[1]["user_id"], "done")
    ]
    assert retry["complete"] is True and set(active.values()) <= set(world.jsm.teams[jsm_id]["members"])
    assert len(audit(caplog)) == len(sent) + 1


@pytest.mark.anyio
async def test_the_human_declining_removals_sends_nothing():
    world = build_world(seed=6, people=50)
    og_id, jsm_id, _, _ = migration_truth(world, "payments-oncall")
    before = list(world.jsm.teams[jsm_id]["members"])
    args = {"source": ref("opsgenie", og_id), "target": ref("jsm", jsm_id), "remove_extra": True}
    answers = [
        ElicitResult(action="decline"),
        ElicitResult(action="cancel"),
        ElicitResult(action="accept", content={"confirm": False}),
        ElicitResult(action="accept", content={"confirm": True}),
    ]
    asked = []

    async def human(context, params):
        asked.append(params.message)
        return answers[len(asked) - 1]

    directory, apps = migration_directory(world)
    async with Client(build_server(directory), elicitation_callback=human) as client:
        plan = await ok(client, "sync_group_members", args)
        removals = [s for s in plan["steps"] if s["action"] == "remove_group_member"]
        assert removals and not asked  # a dry run asks nobody
        for _ in range(3):
            await fails(client, "sync_group_members", {**args, "confirm": True}, "cancelled")
        assert asked == [plan["plan"]] * 3  # the question is the plan, removals named
        assert all(s["email"] in asked[0] for s in removals)
        assert not writes(apps) and world.jsm.teams[jsm_id]["members"] == before  # not even the adds

        # Adds alone are not destructive: confirm=true is enough, the human is not asked.
        added = await ok(client, "sync_group_members", {**args, "remove_extra": False, "confirm": True})
        assert added["complete"] is True and len(asked) == 3
        assert set(before) < set(world.jsm.teams[jsm_id]["members"])
        done = await ok(client, "sync_group_members", {**args, "confirm": True})  # the human says yes
        assert done["complete"] is True and len(asked) == 4
        assert [s["user_id"] for s in done["steps"] if s["action"] == "remove_group_member"] == [
            s["user_id"] for s in removals
        ]
        assert not {s["user_id"] for s in removals} & set(world.jsm.teams[jsm_id]["members"])


@pytest.mark.anyio
async def test_a_cancelled_sync_audits_the_write_that_may_have_reached_the_provider(caplog):
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    world = build_world(seed=4, people=60)
    directory, apps = sim_directory(world, allow_writes=True)
    source, target = pick_pair(world, "retool", {u for u, r in world.retool.users.items() if r["active"]})
    # Retool applies the add at once and answers much later; the client gives up first.
    apps["retool"].state.gate.faults = FaultPlan(
        latency_s=30, methods=frozenset({"POST"}), latency_when="after_handler"
    )
    args = {"source": ref("retool", source), "target": ref("retool", target), "confirm": True}
    async with Client(build_server(directory)) as client:
        async with anyio.create_task_group() as tg:
            tg.start_soon(client.call_tool, "sync_group_members", args)
            for _ in range(500):
                if writes(apps):
                    break
                await anyio.sleep(0.01)
            assert writes(apps)
            tg.cancel_scope.cancel()
        for _ in range(500):
            if audit(caplog):
                break
            await anyio.sleep(0.01)
    steps = audit(caplog)
    assert [(line["tool"], line["provider"], line["outcome"]) for line in steps] == [
        ("add_group_member", "retool", "cancelled")
    ]
    assert steps[0]["target"]["group_id"] == target and steps[0]["target"]["user_id"] in world.retool.users


# --- same provider, with group admins ------------------------------------------------------------


def pick_pair(world, provider: str, active: set[str]) -> tuple[str, str]:
    """A source group with an active admin who is not in the target group (both small), where the
    sync adds and removes."""
    groups = {
        "opsgenie": list(world.opsgenie.teams),
        "rootly": list(world.rootly.teams),
        "retool": [str(g) for g in world.retool.groups],
    }[provider]
    members = {g: world_members(world, provider, g) for g in groups}
    small = [g for g in groups if 2 <= len(members[g]) <= 12]
    for source in small:
        admins = {u for u, role in members[source].items() if role == "admin" and u in active}
        for target in (g for g in small if g != source):
            if admins - set(members[target]) and set(members[target]) - set(members[source]):
                return source, target
    raise AssertionError(f"no pair of {provider} groups to sync in this world")


@pytest.mark.anyio
@pytest.mark.parametrize("provider", ["opsgenie", "rootly", "retool"])
async def test_same_provider_admins_stay_admins(provider):
    world = build_world(seed=4, people=60)
    directory, apps = sim_directory(world, allow_writes=True)
    async with Client(build_server(directory)) as client:
        users = await traverse(client, "list_users", {"provider": provider, "limit": 200})
        status = {u["id"]: u["status"] for u in users}
        source, target = pick_pair(world, provider, {u for u, s in status.items() if s == "active"})
        wanted = world_members(world, provider, source)
        expected = {u: role for u, role in wanted.items() if status[u] == "active"}
        args = {"source": ref(provider, source), "target": ref(provider, target), "remove_extra": True}
        plan = await ok(client, "sync_group_members", args)
        assert not writes(apps)
        assert {s["user_id"] for s in plan["steps"] if s["action"] == "no_account"} <= {None}
        assert len([s for s in plan["steps"] if s["action"] == "no_account"]) == len(wanted) - len(expected)
        done = await ok(client, "sync_group_members", {**args, "confirm": True})
        assert done["complete"] is True
        after = world_members(world, provider, target)
        assert set(after) == set(expected)  # members already in both keep the role they have there
        added = {s["user_id"]: s["role"] for s in done["steps"] if s["action"] == "add_group_member"}
        assert "admin" in added.values() and all(after[u] == role == expected[u] for u, role in added.items())
        left = await ok(client, "sync_group_members", args)
        assert not [s for s in left["steps"] if s["action"] != "no_account"]


@pytest.mark.anyio
async def test_parallel_syncs_into_one_rootly_team_both_finish():
    world = build_world(seed=4, people=60)
    directory, _ = sim_directory(world, allow_writes=True)
    source, target = pick_pair(world, "rootly", {str(u) for u in world.rootly.users})  # all active
    args = {"source": ref("rootly", source), "target": ref("rootly", target), "remove_extra": True, "confirm": True}
    results = []
    async with Client(build_server(directory)) as client:

        async def run() -> None:
            results.append(await ok(client, "sync_group_members", args))

        async with anyio.create_task_group() as tg:
            tg.start_soon(run)
            tg.start_soon(run)
    assert [r["complete"] for r in results] == [True, True]  # whole-list writes under the team's lock
    assert set(world_members(world, "rootly", target)) == set(world_members(world, "rootly", source))


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_bad_input_is_refused_and_sends_nothing():
    world = build_world(seed=4, people=60)
    directory, apps = sim_directory(world, allow_writes=True)
    team = next(iter(world.opsgenie.teams))
    good = {"source": ref("opsgenie", team), "target": ref("rootly", next(iter(world.rootly.teams)))}
    async with Client(build_server(directory)) as client:
        await fails(client, "sync_group_members", {**good, "target": ref("rootly", "no-such-team")}, "not_found")
        await fails(client, "sync_group_members", {**good, "source": ref("opsgenie", "nope")}, "not_found")
        same = await fails(client, "sync_group_members", {**good, "target": ref("opsgenie", team)}, "invalid_argument")
        assert "same" in same["message"]
        for bad in (
            {**good, "confirm": "true"},
            {**good, "remove_extra": "yes"},
            {**good, "confirm": 1},
            {**good, "source": {"provider": "opsgenie"}},
            {**good, "source": {**good["source"], "extra": 1}},
            {**good, "source": f"opsgenie/{team}"},
            {**good, "target": ref("nowhere", "1")},
            {**good, "target": ref("rootly", "")},
            {"source": good["source"]},
        ):
            await fails(client, "sync_group_members", bad, "invalid_argument")
        await fails(client, "sync_group_members", {**good, "target": ref("jsm", "t")}, "not_configured")
        assert (await ok(client, "list_providers"))["result"]  # still serving
    assert not writes(apps)


class Groupless(Toy):
    group = None  # a provider without groups


@pytest.mark.anyio
@pytest.mark.parametrize("toy", [TOY, Provider(TOY.spec, Groupless)])
async def test_a_provider_without_group_writes_or_groups_is_unsupported(toy):
    world = build_world(seed=4, people=60)
    toy_app, _ = toy_api()
    _, apps = sim_directory(world)
    everyone = [*PROVIDERS, toy]
    env = {"TOY_TOKEN": TOY_TOKEN, **env_for({"opsgenie": URLS["opsgenie"]}, TOKENS)}
    settings = Settings.from_env(env, providers=everyone, allow_writes=True)
    transports = {"toy": httpx.ASGITransport(app=toy_app), "opsgenie": httpx.ASGITransport(app=apps["opsgenie"])}
    directory = Directory(settings, transports=transports, providers=everyone)
    team = next(iter(world.opsgenie.teams))
    async with Client(build_server(directory)) as client:
        err = await fails(
            client, "sync_group_members", {"source": ref("opsgenie", team), "target": ref("toy", "g2")}, "unsupported"
        )
        assert "opsgenie" in err["message"]  # says which providers can
        into = {"source": ref("toy", "g1"), "target": ref("opsgenie", team)}
        if toy is TOY:  # it has groups to read: its people have no Opsgenie account, which is no error
            plan = await ok(client, "sync_group_members", into)
            assert [s["action"] for s in plan["steps"]] == ["no_account"] * 3
        else:
            await fails(client, "sync_group_members", into, "unsupported")
    assert not writes(apps)


# --- the README's migration recipe, on the demo --------------------------------------------------


def test_the_readme_recipe_runs_on_the_demo(capsys):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = readme.split("**The migration, team by team.**", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line.startswith("mcp-directory call sync_group_members")]
    comment = " ".join(line.lstrip("#").strip() for line in block.splitlines() if line.startswith("#")).strip('"')
    assert len(lines) == 2 and "confirm=true" in lines[1]
    assert main(shlex.split(lines[0])[1:]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["dry_run"] is True and plan["target"]["provider"] == "jsm"
    for said in filter(None, (part.strip() for part in re.split(r"\(\.\.\.\)|\.\.\.", comment))):
        assert said in plan["plan"], said  # what the README quotes is what the demo says
    assert main(shlex.split(lines[1])[1:]) == 0
    done = json.loads(capsys.readouterr().out)
    assert done["complete"] is True and [s["outcome"] for s in done["steps"]] == [
        "done" if s["action"] == "add_group_member" else "skipped" for s in plan["steps"]
    ]
