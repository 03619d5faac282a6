"""Every write tool end to end through an MCP client against the simulators, checking the
simulator's own state afterwards; dry runs send nothing; every write is audited."""

from __future__ import annotations

import json
import logging

import pytest
from mcp import Client

from mcp_directory.server import build_server
from mcp_directory.sim import build_world

from .support import TOKENS, fails, ok, sim_directory


@pytest.fixture
def world():
    return build_world(seed=7, people=50)


@pytest.fixture
async def session(world):
    directory, apps = sim_directory(world, allow_writes=True)
    async with Client(build_server(directory)) as c:
        yield c, apps


def request_count(apps):
    return {p: len(a.state.requests) for p, a in apps.items()}


def writes_sent(apps):
    return [(p, r.method, r.path) for p, a in apps.items() for r in a.state.requests if r.method != "GET"]


def audit_lines(caplog):
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "mcp_directory.audit"]


# --- incident roles (Rootly) ---


@pytest.mark.anyio
async def test_assign_by_email_and_role_name_then_read_back(session, world, caplog):
    c, _apps = session
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    person = next(p for p in world.people if "rootly" in p.accounts)
    incident_id = next(iter(world.rootly.incidents))
    commander = next(r for r in world.rootly.incident_roles.values() if r["attributes"]["enabled"])
    role_name = commander["attributes"]["name"]
    data = await ok(
        c,
        "assign_incident_role",
        {"incident_id": incident_id, "user": person.email.upper(), "incident_role": role_name.lower()},
    )
    result = data["result"]
    assert result["action"] == "assigned" and result["user"]["id"] == person.accounts["rootly"]
    assert result["incident_role"]["id"] == commander["id"] and result["incident"]["id"] == incident_id
    assert {"incident_role_id": commander["id"], "user_id": person.accounts["rootly"]} in [
        {k: a[k] for k in ("incident_role_id", "user_id")} for a in world.rootly.assignments[incident_id]
    ]
    # a following read (through the proxy) shows it
    read = await ok(
        c,
        "proxy_request",
        {
            "provider": "rootly",
            "path": f"/v1/incidents/{incident_id}",
            "query": [{"name": "include", "value": "roles"}],
        },
    )
    assert person.accounts["rootly"] in json.dumps(read["body"]["included"])
    # by slug and by id too; assigning again makes no duplicate
    slug = commander["attributes"]["slug"]
    await ok(
        c,
        "assign_incident_role",
        {"incident_id": incident_id, "user": person.accounts["rootly"], "incident_role": slug},
    )
    held = [
        a
        for a in world.rootly.assignments[incident_id]
        if a["user_id"] == person.accounts["rootly"] and a["incident_role_id"] == commander["id"]
    ]
    assert len(held) == 1
    data = await ok(
        c,
        "unassign_incident_role",
        {"incident_id": incident_id, "user": person.email, "incident_role": commander["id"]},
    )
    assert data["result"]["action"] == "unassigned"
    assert not [
        a
        for a in world.rootly.assignments.get(incident_id, [])
        if a["user_id"] == person.accounts["rootly"] and a["incident_role_id"] == commander["id"]
    ]
    lines = audit_lines(caplog)
    assert [line["tool"] for line in lines] == [
        "assign_incident_role",
        "assign_incident_role",
        "unassign_incident_role",
    ]
    assert all(
        line["provider"] == "rootly" and line["outcome"] == "ok" and line["target"]["incident_id"] == incident_id
        for line in lines
    )


@pytest.mark.anyio
async def test_assign_with_unknown_user_or_role_lists_choices(session, world):
    c, apps = session
    incident_id = next(iter(world.rootly.incidents))
    person = next(p for p in world.people if "rootly" in p.accounts)
    err = await fails(
        c,
        "assign_incident_role",
        {"incident_id": incident_id, "user": person.email, "incident_role": "Chief Pizza Officer"},
        "not_found",
    )
    for role in world.rootly.incident_roles.values():
        assert role["attributes"]["name"] in err["message"]
    await fails(
        c,
        "assign_incident_role",
        {"incident_id": incident_id, "user": "nobody@nowhere.example", "incident_role": "commander"},
        "not_found",
    )
    await fails(
        c,
        "assign_incident_role",
        {"incident_id": "no-such-incident", "user": person.email, "incident_role": "commander"},
        "not_found",
    )
    assert not [w for w in writes_sent(apps) if "assign" in w[2] and "no-such" not in w[2]]


# --- group membership ---


def member_roles(world, provider, group_id):
    if provider == "rootly":
        a = world.rootly.teams[group_id]["attributes"]
        return {str(u): "admin" if u in a["admin_ids"] else "member" for u in a["user_ids"]}
    if provider == "opsgenie":
        return {
            m["user"]["id"]: "admin" if m["role"] == "admin" else "member"
            for m in world.opsgenie.teams[group_id]["members"]
        }
    return {
        m["id"]: "admin" if m["is_group_admin"] else "member" for m in world.retool.groups[int(group_id)]["members"]
    }


def stored_email(world, provider, user_id):
    record = getattr(world, provider).users[user_id]
    return {"rootly": lambda: record["attributes"]["email"], "opsgenie": lambda: record["username"]}.get(
        provider, lambda: record["email"]
    )()


def outsider(world, provider, group_id):
    members = member_roles(world, provider, group_id)
    users = getattr(world, provider).users
    return next(str(u) for u in users if str(u) not in members)


@pytest.mark.anyio
@pytest.mark.parametrize("provider", ["rootly", "opsgenie", "retool"])
async def test_add_and_remove_group_member(session, world, provider):
    c, apps = session
    groups = world.retool.groups if provider == "retool" else getattr(world, provider).teams
    group_id = str(next(iter(groups)))
    user_id = outsider(world, provider, group_id)
    data = await ok(c, "add_group_member", {"provider": provider, "group_id": group_id, "user_id": user_id})
    assert member_roles(world, provider, group_id)[user_id] == "member"
    (added,) = [m for m in data["result"]["members"] if m["user_id"] == user_id]
    # the changed group's members carry their emails, from the provider's own answer (SPEC §4)
    assert added["role"] == "member" and added["email"] == stored_email(world, provider, user_id)
    size = len(member_roles(world, provider, group_id))
    await ok(c, "add_group_member", {"provider": provider, "group_id": group_id, "user_id": user_id})
    assert len(member_roles(world, provider, group_id)) == size  # no duplicate
    await ok(c, "add_group_member", {"provider": provider, "group_id": group_id, "user_id": user_id, "role": "admin"})
    assert member_roles(world, provider, group_id)[user_id] == "admin"

    before = request_count(apps)
    plan = await ok(c, "remove_group_member", {"provider": provider, "group_id": group_id, "user_id": user_id})
    assert plan["dry_run"] is True and user_id in plan["plan"] and group_id in plan["plan"] and plan["result"] is None
    assert request_count(apps) == before  # a dry run sends nothing upstream
    assert user_id in member_roles(world, provider, group_id)
    data = await ok(
        c, "remove_group_member", {"provider": provider, "group_id": group_id, "user_id": user_id, "confirm": True}
    )
    assert user_id not in member_roles(world, provider, group_id)
    assert user_id not in [m["user_id"] for m in data["result"]["members"]]


@pytest.mark.anyio
async def test_group_reads_after_writes_are_not_stale(session, world):
    c, _apps = session
    group_id = next(iter(world.opsgenie.teams))
    user_id = outsider(world, "opsgenie", group_id)
    await ok(c, "add_group_member", {"provider": "opsgenie", "group_id": group_id, "user_id": user_id})
    got = await ok(c, "get_group", {"provider": "opsgenie", "group_id": group_id})
    assert user_id in [m["user_id"] for m in got["result"]["members"]]
    user = await ok(c, "get_user", {"provider": "opsgenie", "user_id": user_id})
    assert group_id in user["result"]["group_ids"]


# --- user lifecycle ---


@pytest.mark.anyio
@pytest.mark.parametrize("provider", ["opsgenie", "retool"])
async def test_create_user(session, world, provider):
    c, _ = session
    count = len(getattr(world, provider).users)
    args = {"provider": provider, "email": "Nia.Okafor@acme.com", "first_name": "Nia", "last_name": "Okafor"}
    data = await ok(c, "create_user", args)
    user = data["result"]
    assert user["email"].lower() == "nia.okafor@acme.com" and user["provider"] == provider
    assert len(getattr(world, provider).users) == count + 1 and user["id"] in {
        str(k) for k in getattr(world, provider).users
    }
    found = await ok(c, "find_users", {"query": "nia.okafor@ACME.com"})
    assert any(a["provider"] == provider and a["user_id"] == user["id"] for p in found["result"] for a in p["accounts"])


@pytest.mark.anyio
async def test_create_user_on_rootly_is_unsupported_and_sends_nothing(session):
    c, apps = session
    err = await fails(
        c, "create_user", {"provider": "rootly", "email": "a@b.co", "first_name": "A", "last_name": "B"}, "unsupported"
    )
    assert "opsgenie" in err["message"] and "retool" in err["message"]
    assert writes_sent(apps) == []


@pytest.mark.anyio
@pytest.mark.parametrize("provider,action", [("retool", "deactivated"), ("opsgenie", "deleted"), ("rootly", "deleted")])
async def test_deactivate_user(session, world, provider, action, caplog):
    c, apps = session
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    user_id = str(list(getattr(world, provider).users)[3])
    before = writes_sent(apps)
    plan = await ok(c, "deactivate_user", {"provider": provider, "user_id": user_id})
    assert plan["dry_run"] is True and user_id in plan["plan"]
    assert ("is disabled" in plan["plan"]) == (action == "deactivated")
    assert ("permanently deleted" in plan["plan"]) == (action == "deleted")
    assert writes_sent(apps) == before  # the plan reads (its on-call duties, SPEC §12) and writes nothing
    data = await ok(c, "deactivate_user", {"provider": provider, "user_id": user_id, "confirm": True})
    assert data["result"]["action"] == action and data["result"]["user_id"] == user_id
    users = getattr(world, provider).users
    if action == "deactivated":
        assert users[user_id]["active"] is False and data["result"]["user"]["status"] == "inactive"
    else:
        assert user_id not in {str(k) for k in users}
    assert [line["outcome"] for line in audit_lines(caplog)] == ["dry_run", "ok"]


@pytest.mark.anyio
async def test_failed_write_is_audited_without_credentials(session, caplog):
    c, _ = session
    caplog.set_level(logging.INFO, logger="mcp_directory.audit")
    await fails(c, "deactivate_user", {"provider": "opsgenie", "user_id": "no-such-user", "confirm": True}, "not_found")
    (line,) = audit_lines(caplog)
    assert line["outcome"] == "error" and line["code"] == "not_found" and line["target"]["user_id"] == "no-such-user"
    for secret in TOKENS.values():
        assert secret not in caplog.text


@pytest.mark.anyio
async def test_assign_by_incident_number(session, world):
    c, _ = session
    incident = next(iter(world.rootly.incidents.values()))
    person = next(p for p in world.people if "rootly" in p.accounts)
    number = str(incident["attributes"]["sequential_id"])
    data = await ok(c, "assign_incident_role", {"incident_id": number, "user": person.email, "incident_role": "Scribe"})
    assert data["result"]["incident"]["id"] == incident["id"]
    assert any(a["user_id"] == person.accounts["rootly"] for a in world.rootly.assignments[incident["id"]])
    await fails(
        c,
        "assign_incident_role",
        {"incident_id": "99999", "user": person.email, "incident_role": "Scribe"},
        "not_found",
    )
