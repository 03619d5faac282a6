"""The seeded directory: deterministic, cross-provider consistent, and varied where it matters."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from mcp_directory.sim import NATIVE, build_world


@pytest.fixture(scope="module")
def world():
    return build_world()


def test_same_seed_same_world_and_different_seed_different_world():
    assert build_world(seed=3, people=40) == build_world(seed=3, people=40)
    assert build_world(seed=3, people=40) != build_world(seed=4, people=40)
    assert [p.email for p in build_world(seed=3, people=40).people] != [
        p.email for p in build_world(seed=4, people=40).people
    ]


def test_defaults_are_seed_1_with_60_people(world):
    assert world == build_world(seed=1, people=60)
    assert len(world.people) == 60


@pytest.mark.parametrize("seed", [1, 2, 9])
def test_account_spread_across_providers(seed):
    world = build_world(seed=seed, people=60)
    spread = Counter(len(p.accounts) for p in world.people)
    assert spread[3] >= 18 and spread[2] >= 12 and spread[1] >= 6
    for provider in NATIVE:  # a migrated provider (jsm) follows its source: tests/test_jsm_sim.py
        share = sum(provider in p.accounts for p in world.people) / 60
        assert 0.6 <= share <= 0.8, (provider, share)


def test_person_accounts_point_at_records_with_the_same_email(world):
    tables = {"rootly": world.rootly.users, "opsgenie": world.opsgenie.users, "retool": world.retool.users}
    for person in world.people:
        assert person.email == person.email.lower()
        for provider, user_id in person.accounts.items():
            record = tables[provider][user_id]
            email = {
                "rootly": lambda r: r["attributes"]["email"],
                "opsgenie": lambda r: r["username"],
                "retool": lambda r: r["email"],
            }[provider](record)
            assert email.lower() == person.email
    for provider, table in tables.items():
        assert len(table) == sum(provider in p.accounts for p in world.people)


def test_some_emails_differ_in_letter_case_between_providers(world):
    variants = [p for p in world.people if len(set(p.provider_emails.values())) > 1]
    assert len(variants) >= 3
    for person in variants:
        assert {e.lower() for e in person.provider_emails.values()} == {person.email}


def test_non_ascii_names_exist_everywhere(world):
    odd = [p for p in world.people if not (p.first_name + p.last_name).isascii()]
    assert len(odd) >= 3
    assert any(not u["fullName"].isascii() for u in world.opsgenie.users.values())
    assert any(not u["attributes"]["full_name"].isascii() for u in world.rootly.users.values())
    assert any(not (u["first_name"] + u["last_name"]).isascii() for u in world.retool.users.values())


def test_status_variety(world):
    ops = list(world.opsgenie.users.values())
    assert any(u["blocked"] for u in ops) and any(not u["verified"] for u in ops)
    roles = Counter(u["role"]["name"] for u in ops)
    assert roles["owner"] == 1 and roles["user"] and set(roles) - {"owner", "admin", "user"}
    retool = list(world.retool.users.values())
    assert any(not u["active"] for u in retool) and any(u["is_admin"] for u in retool)
    assert world.opsgenie.account["userCount"] == len(ops) < world.opsgenie.account["plan"]["maxUserCount"]


def test_rootly_shapes(world):
    ids = list(world.rootly.users)
    assert all(i.isdigit() for i in ids) and [int(i) for i in ids] == sorted(int(i) for i in ids)
    assert world.rootly.me_id in world.rootly.users
    assert 6 <= len(world.rootly.teams) <= 8
    role_slugs = {r["attributes"]["slug"] for r in world.rootly.roles.values()}
    assert {"owner", "admin", "user", "observer"} <= role_slugs
    for user in world.rootly.users.values():
        assert user["relationships"]["role"]["data"]["id"] in world.rootly.roles
    for team in world.rootly.teams.values():
        attrs = team["attributes"]
        assert team["type"] == "groups"
        assert all(isinstance(i, int) and str(i) in world.rootly.users for i in attrs["user_ids"])
        assert set(attrs["admin_ids"]) <= set(attrs["user_ids"])
    names = {r["attributes"]["name"]: r["attributes"]["enabled"] for r in world.rootly.incident_roles.values()}
    assert set(names) == {"Commander", "Communications Lead", "Scribe", "Technical Lead"}
    assert list(names.values()).count(False) == 1
    assert world.rootly.incidents


def test_opsgenie_and_retool_shapes(world):
    uuid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    assert all(uuid.match(i) for i in world.opsgenie.users)
    assert 2 <= len(world.opsgenie.roles) <= 3 and len(world.opsgenie.teams) >= 5
    for team in world.opsgenie.teams.values():
        assert all(m["user"]["id"] in world.opsgenie.users and m["role"] in ("admin", "user") for m in team["members"])
    assert all(re.fullmatch(r"user_[0-9a-f]{32}", i) for i in world.retool.users)
    assert len({u["legacy_id"] for u in world.retool.users.values()}) == len(world.retool.users)
    for group_id, group in world.retool.groups.items():
        assert group["id"] == group["legacy_id"] == group_id
        assert all(m["id"] in world.retool.users for m in group["members"])
    assert all(uuid.match(i) for i in world.retool.roles)


@pytest.mark.parametrize("people", [1, 2, 5])
def test_tiny_worlds_still_have_someone_everywhere(people):
    world = build_world(seed=2, people=people)
    assert world.rootly.me_id and world.opsgenie.users and world.retool.users


def account_statuses(world, person):
    """provider -> the status its record says (Rootly has none: an account that lists is active)."""
    out = {}
    for provider, user_id in person.accounts.items():
        record = getattr(world, provider).users[user_id]
        if provider == "opsgenie":
            out[provider] = "blocked" if record["blocked"] else "active" if record["verified"] else "invited"
        elif provider == "retool":
            out[provider] = "active" if record["active"] else "inactive"
        else:
            out[provider] = "active"
    return out


@pytest.mark.parametrize("seed", [1, 2, 9])
def test_people_active_in_one_provider_and_off_in_another(seed):
    """What `access_review mixed_status=true` shows in the demo: at least four such people, one of
    them with emails that differ in letter case, switched off in each provider that can do it."""
    world = build_world(seed=seed, people=60)
    mixed = []
    for person in world.people:
        statuses = account_statuses(world, person)
        if "active" in statuses.values() and {"inactive", "blocked"} & set(statuses.values()):
            mixed.append((person, statuses))
    assert len(mixed) >= 4
    assert all(len(person.accounts) >= 2 for person, _ in mixed)
    assert any(len(set(person.provider_emails.values())) > 1 for person, _ in mixed)
    off = {status for _, statuses in mixed for status in statuses.values()}
    assert {"inactive", "blocked"} <= off
    for person in world.people:  # the world's plan is what the providers' records say
        statuses = account_statuses(world, person)
        assert {p for p, s in statuses.items() if s in ("inactive", "blocked")} == person.disabled


def test_retool_activity_spreads_over_2025_and_2026_and_admins_exist(world):
    users = list(world.retool.users.values())
    seen = sorted(u["last_active"] for u in users if u["last_active"])
    assert {s[:4] for s in seen} == {"2025", "2026"} and len({s[:7] for s in seen}) >= 12
    assert all(u["created_at"] < u["last_active"] for u in users if u["last_active"])
    assert sum(u["is_admin"] for u in users) >= 2
    assert sum(not u["active"] for u in users) >= 2
