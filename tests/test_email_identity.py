"""SPEC §4 "Email identity": two emails are one person only when they are equal after the ASCII
letters A-Z are lowered. Look-alike emails that Unicode case folding merges (`straße`/`strasse`,
the Kelvin sign, the `ﬀ` ligature) are different people everywhere people are matched by email,
through a real MCP client over the simulated providers; the look-alikes are created through the
providers' own write APIs (`create_user`), or set in a provider's records where its API cannot
create users (Rootly)."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from mcp_directory.models import email_key, same_email
from mcp_directory.server import build_server
from mcp_directory.sim import build_world

from .support import fails, ok, sim_directory
from .test_jsm import jsm_directory

DOMAIN = "lookalike.example"
KELVIN = "\u212a"  # KELVIN SIGN: `str.lower` and `str.casefold` make it `k`
# (plain, look-alike): each pair is two people; the plain ones have Retool accounts, the look-alikes Opsgenie ones
PAIRS = [
    (f"kate@{DOMAIN}", f"{KELVIN}ate@{DOMAIN}"),
    (f"strasse@{DOMAIN}", f"straße@{DOMAIN}"),
    (f"effie@{DOMAIN}", f"e\ufb00ie@{DOMAIN}"),
]


def test_only_ascii_letters_are_folded():
    assert email_key("Kate.Doe@ACME.Example") == "kate.doe@acme.example"
    assert email_key(f"{KELVIN}ate@x") == f"{KELVIN}ate@x"
    assert email_key("STRAẞE@x") == "straẞe@x"  # capital sharp s stays, as does every other non-ASCII letter
    assert email_key("Émile@x") == "Émile@x"
    for plain, lookalike in PAIRS:
        assert not same_email(plain, lookalike) and not same_email(plain.upper(), lookalike)
        assert same_email(plain, plain.upper()) and plain.casefold() == lookalike.casefold()
    assert not same_email(None, None) and not same_email("a@b", None)


@pytest.fixture
async def lookalikes():
    """Three pairs of people whose emails Unicode case folding merges: the plain one in Retool, the
    look-alike in Opsgenie, both created through the providers' APIs."""
    world = build_world(seed=16, people=30)
    directory, apps = sim_directory(world, allow_writes=True)
    async with Client(build_server(directory)) as client:
        ids: dict[str, tuple[str, str]] = {}
        for plain, lookalike in PAIRS:
            for provider, email in (("retool", plain), ("opsgenie", lookalike)):
                made = await ok(
                    client, "create_user", {"provider": provider, "email": email, "first_name": "A", "last_name": "B"}
                )
                ids[email] = (provider, made["result"]["id"])
        yield client, world, ids, apps


def writes(app: Any) -> list[Any]:
    return [r for r in app.state.requests if r.method != "GET"]


def accounts_of(person: dict[str, Any]) -> list[tuple[str, str]]:
    return [(a["provider"], a["user_id"]) for a in person["accounts"]]


@pytest.mark.anyio
async def test_find_users_keeps_look_alikes_apart(lookalikes):
    client, _world, ids, _apps = lookalikes
    for plain, lookalike in PAIRS:
        for email in (plain, plain.upper(), lookalike):
            found = await ok(client, "find_users", {"query": email})
            assert [p["email"] for p in found["result"]] == [email_key(email)], email
            assert accounts_of(found["result"][0]) == [ids[email_key(email)]]
    # a search that finds all six accounts: six people, never three
    found = await ok(client, "find_users", {"query": DOMAIN, "providers": ["opsgenie", "retool"]})
    people = {p["email"]: accounts_of(p) for p in found["result"]}
    assert people == {email: [ids[email]] for pair in PAIRS for email in pair}


@pytest.mark.anyio
async def test_access_review_keeps_look_alikes_apart_and_sorted(lookalikes):
    client, _world, ids, _apps = lookalikes
    review = await ok(client, "access_review", {"providers": ["opsgenie", "retool"], "limit": 200})
    rows = {r["email"]: accounts_of(r) for r in review["result"] if r["email"].endswith(DOMAIN)}
    assert rows == {email: [ids[email]] for pair in PAIRS for email in pair}
    emails = [r["email"] for r in review["result"]]
    assert emails == sorted(emails) and all(e == email_key(e) for e in emails)
    for plain, lookalike in PAIRS:
        for email in (plain.upper(), lookalike):
            one = await ok(client, "access_review", {"providers": ["opsgenie", "retool"], "email": email})
            key = email_key(email)
            assert [(r["email"], accounts_of(r)) for r in one["result"]] == [(key, [ids[key]])]


@pytest.mark.anyio
async def test_offboarding_never_plans_or_touches_another_persons_account(lookalikes):
    client, world, ids, apps = lookalikes
    for plain, lookalike in PAIRS:
        for email in (plain, lookalike):
            plan = await ok(client, "offboard_user", {"email": email})
            assert {(s["provider"], s["user_id"]) for s in plan["steps"]} == {ids[email]}, plan
            assert plan["email"] == email_key(email)
    kate, kelvin_kate = PAIRS[0]
    opsgenie_writes = len(writes(apps["opsgenie"]))
    done = await ok(client, "offboard_user", {"email": kate.upper(), "confirm": True})
    assert done["complete"] is True and {(s["provider"], s["user_id"]) for s in done["steps"]} == {ids[kate]}
    assert world.retool.users[ids[kate][1]]["active"] is False
    opsgenie_id = ids[kelvin_kate][1]
    assert opsgenie_id in world.opsgenie.users and not world.opsgenie.users[opsgenie_id].get("blocked")
    assert len(writes(apps["opsgenie"])) == opsgenie_writes


@pytest.mark.anyio
async def test_a_rootly_user_is_found_by_their_own_email_only(lookalikes):
    """Rootly's `filter[email]` (in its simulator, as `str.lower` compares) answers for a look-alike;
    list_users and an incident role assignment by email must not take that person."""
    client, world, _ids, _apps = lookalikes
    someone = next(iter(world.rootly.users.values()))
    someone["attributes"]["email"] = PAIRS[0][1]  # the Kelvin-sign kate has a Rootly account
    page = await ok(client, "list_users", {"provider": "rootly", "email": PAIRS[0][0]})
    assert page["result"] == []
    page = await ok(client, "list_users", {"provider": "rootly", "email": PAIRS[0][1]})
    assert [u["id"] for u in page["result"]] == [someone["id"]]
    incident = next(iter(world.rootly.incidents))
    err = await fails(
        client,
        "assign_incident_role",
        {"incident_id": incident, "user": PAIRS[0][0].upper(), "incident_role": "commander"},
        "not_found",
    )
    assert PAIRS[0][0] in err["message"].lower()


@pytest.mark.anyio
async def test_jsm_email_lookup_takes_only_that_person():
    """JSM's `user/search` matches by folded substring; by_email must keep only the identity."""
    world = build_world(seed=16, people=30)
    directory, _app = jsm_directory(world, allow_writes=True)
    async with Client(build_server(directory)) as client:
        made = await ok(
            client, "create_user", {"provider": "jsm", "email": PAIRS[0][1], "first_name": "K", "last_name": "B"}
        )
        found = await ok(client, "find_users", {"query": PAIRS[0][0], "providers": ["jsm"]})
        assert found["result"] == []
        found = await ok(client, "find_users", {"query": PAIRS[0][1], "providers": ["jsm"]})
        assert [accounts_of(p) for p in found["result"]] == [[("jsm", made["result"]["id"])]]


@pytest.mark.anyio
async def test_sync_never_adds_a_look_alike(lookalikes):
    """A Retool group of the plain people synced into a Rootly team, where the Kelvin-sign kate has an
    (active) account and plain kate none: Rootly's email filter answers with the look-alike, and
    kate is still no_account; nothing is sent for anyone of the pairs."""
    client, world, ids, _apps = lookalikes
    someone = next(u for u in world.rootly.users.values())
    someone["attributes"]["email"] = PAIRS[0][1]
    groups = [g for g in world.retool.groups.values() if g["name"] not in ("admin", "All Users")]
    group = str(min(groups, key=lambda g: len(g["members"]))["id"])
    for plain, _ in PAIRS:
        await ok(client, "add_group_member", {"provider": "retool", "group_id": group, "user_id": ids[plain][1]})
    team = next(t for t, v in world.rootly.teams.items() if int(someone["id"]) not in v["attributes"]["user_ids"])
    args = {"source": {"provider": "retool", "group_id": group}, "target": {"provider": "rootly", "group_id": team}}
    done = await ok(client, "sync_group_members", {**args, "confirm": True})
    ours = [(s["email"], s["action"], s["outcome"]) for s in done["steps"] if s["email"].endswith(DOMAIN)]
    assert sorted(ours) == sorted((plain, "no_account", "skipped") for plain, _ in PAIRS)
    assert someone["id"] not in {s["user_id"] for s in done["steps"]}
    assert int(someone["id"]) not in world.rootly.teams[team]["attributes"]["user_ids"]
