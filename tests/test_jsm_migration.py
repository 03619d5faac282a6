"""JSM beside Opsgenie, as a migration needs it: the cross-provider tools work across both without
knowing either (access_review answers "who in Opsgenie has no JSM account yet?", on the demo as
the README shows it; offboard_user suspends the JSM account after taking it out of its teams)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client

from mcp_directory.server import build_server
from mcp_directory.sim import build_world

from .support import clean_env, migration_directory, ok

REPO = Path(__file__).resolve().parents[1]


def not_migrated(world) -> list[str]:
    """The truth: people with an Opsgenie account and no Atlassian account on the JSM site."""
    return sorted(p.email for p in world.people if "opsgenie" in p.accounts and p.email not in world.jsm.migrated)


def test_the_demo_answers_the_migration_question():
    args = ['providers=["opsgenie","jsm"]', 'present_in=["opsgenie"]', 'absent_from=["jsm"]', "limit=200"]
    proc = subprocess.run(
        [sys.executable, "-m", "mcp_directory", "call", "access_review", "--demo", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean_env(), "PYTHONPATH": str(REPO)},
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    world = build_world()  # the demo's world
    assert [row["email"] for row in data["result"]] == not_migrated(world) and data["total"] >= 3
    assert all([a["provider"] for a in row["accounts"]] == ["opsgenie"] for row in data["result"])
    # A person who kept only a customer account on the site is still waiting to be migrated.
    customers = {r["emailAddress"].casefold() for r in world.jsm.users.values() if r["accountType"] == "customer"}
    assert customers & set(not_migrated(world))


@pytest.fixture
async def both():
    world = build_world(seed=6, people=50)
    directory, apps = migration_directory(world)
    async with Client(build_server(directory)) as client:
        yield client, apps, world


@pytest.mark.anyio
async def test_a_review_over_both_matches_account_for_account(both):
    client, _, world = both
    page = await ok(client, "access_review", {"present_in": ["opsgenie", "jsm"], "limit": 200})
    assert {row["email"] for row in page["result"]} == set(world.jsm.migrated)
    for row in page["result"]:
        jsm = next(a for a in row["accounts"] if a["provider"] == "jsm")
        assert jsm["user_id"] == world.jsm.migrated[row["email"]]
        assert jsm["last_active_at"] == world.jsm.org[jsm["user_id"]]["last_active"]
        teams = {t["teamId"] for t in world.jsm.teams.values() if t["ops"] and jsm["user_id"] in t["members"]}
        assert {g["id"] for g in jsm["groups"]} == teams
    suspended = [
        u for u, a in world.jsm.org.items() if a["account_status"] != "active" and u in world.jsm.migrated.values()
    ]
    mixed = await ok(client, "access_review", {"providers": ["jsm"], "status": "inactive", "limit": 200})
    assert set(suspended) <= {a["user_id"] for row in mixed["result"] for a in row["accounts"]}


@pytest.mark.anyio
async def test_offboarding_takes_the_person_out_of_teams_then_suspends_in_jsm(both):
    client, apps, world = both
    before = len(apps["opsgenie"].state.requests)
    email, uid = next(
        (e, u)
        for e, u in world.jsm.migrated.items()
        if world.jsm.users[u]["active"]
        and world.jsm.org[u]["account_status"] == "active"
        and any(u in t["members"] for t in world.jsm.teams.values() if t["ops"])
    )
    plan = await ok(client, "offboard_user", {"email": email.upper(), "providers": ["jsm"]})
    assert "access is suspended, not deleted" in plan["plan"] and "permanently deleted" not in plan["plan"]
    steps = plan["steps"]
    teams = [t["teamId"] for t in world.jsm.teams.values() if t["ops"] and uid in t["members"]]
    assert [s["group_id"] for s in steps[:-1]] == teams and steps[-1]["action"] == "deactivate_user"
    done = await ok(client, "offboard_user", {"email": email, "providers": ["jsm"], "confirm": True})
    assert done["complete"] is True and all(s["outcome"] == "done" for s in done["steps"])
    assert not any(uid in t["members"] for t in world.jsm.teams.values())
    assert world.jsm.org[uid]["account_status"] == "inactive" and world.jsm.users[uid]["active"] is True
    again = await ok(client, "offboard_user", {"email": email, "providers": ["jsm"]})
    assert again["steps"] == [] and "Nothing left to do" in again["plan"]  # suspended: inactive, done
    assert len(apps["opsgenie"].state.requests) == before  # providers=["jsm"]: Opsgenie untouched
