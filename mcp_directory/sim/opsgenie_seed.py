"""Opsgenie's seeded records, shaped like the spec's `User`, `Team`, `CustomUserRole`, `AccountInfo`.

Quirks kept: `username` is the email in Opsgenie's own letter case; `role` is `{id, name}` with
name admin/user/owner or a custom role's name (a custom role's id is its UUID, a built-in role's id
is its name); `blocked` and `verified` are read-only account states.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from mcp_directory.sim.oncall_seed import OnCallStore, seed_opsgenie_oncall
from mcp_directory.sim.world import SeedPerson, instant, iso_z, seeded_uuid

# name, extendedRole, grantedRights, disallowedRights
CUSTOM_ROLES: tuple[tuple[str, str, list[str], list[str]], ...] = (
    ("Incident Manager", "user", ["alert-action", "incident-manage", "schedule-edit"], ["user-management"]),
    ("Read Only Auditor", "observer", ["reports-access", "logs-page-access"], ["alert-action"]),
    ("Escalation Editor", "user", ["escalation-edit", "schedule-edit"], []),
)
TEAMS = (
    ("ops_team", "Operations on-call rotation"),
    ("platform", "Platform engineering"),
    ("payments-oncall", "Payments primary and secondary on-call"),
    ("database", "Database reliability"),
    ("frontline-support", "Customer facing escalations"),
)
TIME_ZONES = ("America/New_York", "Europe/Istanbul", "Europe/London", "Asia/Tokyo", "America/Chicago")
LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "ja_JP")
CITIES = (
    ("US", "CA", "San Francisco", "94105"),
    ("TR", "", "Istanbul", "34000"),
    ("GB", "", "London", "EC1A"),
    ("DE", "BE", "Berlin", "10115"),
)


@dataclass
class OpsgenieDirectory:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    teams: dict[str, dict[str, Any]] = field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    account: dict[str, Any] = field(default_factory=dict)
    contacts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    version: int = 0  # bumped by every write; invalidates the app's cached sorted views
    oncall: OnCallStore = field(default_factory=OnCallStore)  # schedules, escalations, overrides


def _roles(rng: random.Random, out: OpsgenieDirectory) -> None:
    for name, extended, granted, disallowed in CUSTOM_ROLES[: rng.randint(2, 3)]:
        role_id = seeded_uuid(rng)
        out.roles[role_id] = {
            "id": role_id,
            "name": name,
            "extendedRole": extended,
            "grantedRights": list(granted),
            "disallowedRights": list(disallowed),
        }


def _users(rng: random.Random, people: list[SeedPerson], out: OpsgenieDirectory) -> None:
    custom = [{"id": r["id"], "name": r["name"]} for r in out.roles.values()]
    # Blocked: the accounts the world switched off here. The owner is never blocked, and only
    # people switched off nowhere are still invited, so whoever the world left active elsewhere
    # stays so (an invited account would not be active either).
    owner_index = rng.choice([i for i, p in enumerate(people) if "opsgenie" not in p.disabled] or [0])
    untouched = [i for i, p in enumerate(people) if not p.disabled and i != owner_index]
    unverified = set(rng.sample(untouched, min(len(untouched), 3)))
    for index, person in enumerate(people):
        user_id = seeded_uuid(rng)
        person.accounts["opsgenie"] = user_id
        if index == owner_index:
            role = {"id": "owner", "name": "owner"}
        else:
            kind = rng.choices(("admin", "user", "custom"), weights=(2, 10, 3))[0]
            role = dict(rng.choice(custom)) if kind == "custom" and custom else {"id": kind, "name": kind}
        country, state, city, zip_code = rng.choice(CITIES)
        username = person.provider_emails["opsgenie"]
        out.users[user_id] = {
            "id": user_id,
            "username": username,
            "fullName": f"{person.first_name} {person.last_name}",
            "role": role,
            "skypeUsername": "",
            "timeZone": rng.choice(TIME_ZONES),
            "locale": rng.choice(LOCALES),
            "userAddress": {"country": country, "state": state, "city": city, "line": "", "zipCode": zip_code},
            "tags": rng.sample(["oncall", "ITManager", "backend", "frontend"], rng.randint(0, 2)),
            "details": {},
            "blocked": "opsgenie" in person.disabled and index != owner_index,
            "verified": index not in unverified,
            "createdAt": iso_z(instant(rng, span_days=500)),
        }
        out.contacts[user_id] = [
            {"to": username, "id": seeded_uuid(rng), "contactMethod": "email", "disabledReason": "", "enabled": True},
            {
                "to": f"1-555{rng.randrange(1_000_000, 9_999_999)}",
                "id": seeded_uuid(rng),
                "contactMethod": "sms",
                "disabledReason": "",
                "enabled": rng.random() < 0.8,
            },
        ]


def _teams(rng: random.Random, out: OpsgenieDirectory) -> None:
    user_ids = list(out.users)
    for name, description in TEAMS:
        members = rng.sample(user_ids, min(len(user_ids), rng.randint(2, 9)))
        admins = set(members[: rng.randint(1, 2)])
        team_id = seeded_uuid(rng)
        out.teams[team_id] = {
            "id": team_id,
            "name": name,
            "description": description,
            "members": [
                {"user": {"id": u, "username": out.users[u]["username"]}, "role": "admin" if u in admins else "user"}
                for u in members
            ],
        }


def seed_opsgenie(rng: random.Random, people: list[SeedPerson]) -> OpsgenieDirectory:
    out = OpsgenieDirectory()
    _roles(rng, out)
    _users(rng, people, out)
    _teams(rng, out)
    count = len(out.users)
    out.account = {
        "name": "acme",
        "userCount": count,
        "plan": {"maxUserCount": count + rng.randint(5, 40), "name": "Enterprise", "isYearly": True},
    }
    out.oncall = seed_opsgenie_oncall(rng, people, out.users, out.teams)
    return out
