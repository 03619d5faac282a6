"""A Jira Service Management site migrated from the world's Opsgenie: its seeded records.

The seeder gets the people who hold an Opsgenie account (the registry says this simulator
migrates from Opsgenie) and moves most of them over, as a real migration leaves a site:
- most people have an Atlassian account (`accountType: "atlassian"`), a few in another letter
  case than in Opsgenie, and some are not migrated yet (the migration question's answer);
- about a quarter hide their email in their profile (Jira omits `emailAddress`; the org admin
  API still has it), one is deactivated in Jira (`active: false`), two have their access
  suspended in the org (`account_status: "inactive"`) while Jira still says `active: true`;
- app accounts (integrations) and customer accounts (portal customers, one of them with the
  email of an Opsgenie user who has no Atlassian account) are mixed into the user list;
- the site admin whose API token the provider uses (`EMAIL`) is a person of its own;
- the Opsgenie teams became Ops-enabled Atlassian teams (one listed by Ops with its ARI), and
  two other Atlassian teams are not enabled for Operations.

The world's people are not changed (`SeedPerson.accounts` stays the native providers'):
`JsmDirectory.migrated` maps each migrated person's email to the account id instead.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from mcp_directory.sim.jsm_oncall_seed import seed_jsm_oncall
from mcp_directory.sim.oncall_seed import OnCallStore
from mcp_directory.sim.world import SeedPerson, instant, iso_z, seeded_uuid

EMAIL = "jsm-admin@acme.com"  # the account behind the demo's API token (JSM_EMAIL)
ORG_KEY = "demo-jsm-org-key"  # the demo's org admin API key (JSM_ORG_API_KEY)
ORG_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"  # the demo's organization (JSM_ORG_ID)
OPS_TEAMS = (  # the Opsgenie teams, migrated and enabled for Operations
    ("ops_team", "Operations on-call rotation"),
    ("platform", "Platform engineering"),
    ("payments-oncall", "Payments primary and secondary on-call"),
    ("database", "Database reliability"),
    ("frontline-support", "Customer facing escalations"),
)
OTHER_TEAMS = (("Design guild", "Designers across products"), ("Book club", ""))  # not enabled for Operations
APPS = ("Automation for Jira", "Opsgenie Integration", "Slack")
CUSTOMERS = ("dana.reyes@gmail.com", "support@initech.example", "m.ito@example.org")
APPLICATION_ROLES = (  # key, name, seats (None: unlimited)
    ("jira-servicedesk", "Jira Service Management", 80),
    ("jira-software", "Jira Software", 35),
    ("jira-product-discovery", "Jira Product Discovery", None),
)
CUSTOM_ROLES = ("Incident Manager", "Stakeholder", "On-call Lead", "Escalation Editor")
TIME_ZONES = ("America/New_York", "Europe/London", "Europe/Istanbul", "Asia/Tokyo", "Australia/Sydney")


@dataclass
class JsmDirectory:
    """The site's records. `users` is Jira's own list (people, apps and customers, in its order);
    `emails` the true email of every account (`users` omits the hidden ones); `org` the org
    admin API's managed accounts; `teams` every Atlassian team (`ops`: enabled for Operations)."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    org: dict[str, dict[str, Any]] = field(default_factory=dict)
    products: dict[str, list[str]] = field(default_factory=dict)  # account id -> application role keys
    admins: set[str] = field(default_factory=set)  # the ADMINISTER global permission
    application_roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    teams: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom_roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    migrated: dict[str, str] = field(default_factory=dict)  # the person's (lower-case) email -> account id
    me_id: str = ""
    email: str = EMAIL
    org_key: str = ORG_KEY
    org_id: str = ORG_ID
    cloud_id: str = ""
    version: int = 0  # bumped by every write
    oncall: OnCallStore = field(default_factory=OnCallStore)  # Ops schedules, escalations, overrides


def account_id(rng: random.Random) -> str:
    """An Atlassian account id: `712020:` and a UUID, as accounts created since 2019 have."""
    return f"712020:{seeded_uuid(rng)}"


def _case(email: str, rng: random.Random) -> str:
    local, domain = email.split("@")
    if rng.random() < 0.5:
        return email.upper()
    return ".".join(p[:1].upper() + p[1:] for p in local.split(".")) + "@" + domain


def add_person(out: JsmDirectory, uid: str, email: str, name: str, *, hidden: bool, active: bool, zone: str) -> None:
    record: dict[str, Any] = {"accountId": uid, "accountType": "atlassian"}
    if not hidden:
        record["emailAddress"] = email
    record |= {"displayName": name, "active": active, "timeZone": zone, "locale": "en_US"}
    out.users[uid] = record
    out.emails[uid] = email


def _org_account(out: JsmDirectory, uid: str, *, status: str, seen: str | None) -> None:
    record = out.users[uid]
    out.org[uid] = {
        "account_id": uid,
        "account_type": "atlassian",
        "account_status": status,
        "name": record["displayName"],
        "picture": f"https://avatar-management.example/{uid[-8:]}.png",
        "email": out.emails[uid],
        "access_billable": True,
        "last_active": seen,
        "product_access": [
            {"key": k, "name": out.application_roles[k]["name"], "last_active": seen} for k in out.products.get(uid, [])
        ],
    }


def _people(rng: random.Random, people: list[SeedPerson], out: JsmDirectory) -> list[str]:
    """Most Opsgenie people, migrated; returns their account ids."""
    order = list(range(len(people)))
    rng.shuffle(order)
    waiting = set(order[: max(1, round(len(people) * 0.15))]) if len(people) > 2 else set()  # not migrated yet
    moved = [i for i in range(len(people)) if i not in waiting]
    hidden = set(rng.sample(moved, round(len(moved) * 0.25)))
    recased = set(rng.sample(moved, min(len(moved), 3)))
    deactivated = set(rng.sample(moved, min(len(moved), 1)))
    suspended = set(rng.sample([i for i in moved if i not in deactivated], min(max(len(moved) - 1, 0), 2)))
    ids = []
    for index in moved:
        person = people[index]
        uid = account_id(rng)
        email = person.provider_emails.get("opsgenie", person.email)
        if index in recased:  # another letter case than Opsgenie's
            while (variant := _case(person.email, rng)) == email:
                pass
            email = variant
        name = f"{person.first_name} {person.last_name}"
        add_person(
            out, uid, email, name, hidden=index in hidden, active=index not in deactivated, zone=rng.choice(TIME_ZONES)
        )
        out.products[uid] = ["jira-servicedesk", *(["jira-software"] if rng.random() < 0.4 else [])]
        seen = iso_z(instant(rng, start_days=366, span_days=600)) if rng.random() < 0.9 else None
        _org_account(out, uid, status="inactive" if index in suspended else "active", seen=seen)
        out.migrated[person.email] = uid
        ids.append(uid)
    return ids


def _others(rng: random.Random, people: list[SeedPerson], out: JsmDirectory) -> list[str]:
    """The admin, app accounts and customer accounts; returns the app account ids."""
    out.me_id = account_id(rng)
    add_person(out, out.me_id, EMAIL, "JSM Admin", hidden=False, active=True, zone="Europe/London")
    out.products[out.me_id] = ["jira-servicedesk", "jira-software", "jira-product-discovery"]
    _org_account(out, out.me_id, status="active", seen=iso_z(instant(rng, start_days=700, span_days=20)))
    out.admins.add(out.me_id)
    apps = []
    for name in APPS:
        uid = f"557058:{seeded_uuid(rng)}"
        out.users[uid] = {"accountId": uid, "accountType": "app", "displayName": name, "active": True}
        apps.append(uid)
    waiting = [p for p in people if p.email not in out.migrated]
    customers = [*CUSTOMERS, *([waiting[0].provider_emails.get("opsgenie", waiting[0].email)] if waiting else [])]
    for email in customers:
        uid = f"qm:{seeded_uuid(rng)}:{seeded_uuid(rng)}"
        out.users[uid] = {
            "accountId": uid,
            "accountType": "customer",
            "emailAddress": email,
            "displayName": email.split("@")[0],
            "active": True,
        }
        out.emails[uid] = email
    return apps


def _teams(rng: random.Random, people: list[str], apps: list[str], out: JsmDirectory) -> None:
    for index, (name, description) in enumerate((*OPS_TEAMS, *OTHER_TEAMS)):
        tid = seeded_uuid(rng)
        members = rng.sample(people, min(len(people), rng.randint(2, 9)))
        if index == 0 and apps:
            members.append(apps[0])  # an integration in a team is not a person
        out.teams[tid] = {
            "teamId": tid,
            "displayName": name,
            "description": description,
            "ops": index < len(OPS_TEAMS),
            "ari": index == 1,  # Ops lists this one by its ARI
            "members": members,
        }


def seed_jsm(rng: random.Random, people: list[SeedPerson]) -> JsmDirectory:
    """The site, from the people who hold an Opsgenie account (see the module docstring)."""
    out = JsmDirectory(cloud_id=seeded_uuid(rng))
    for key, name, seats in APPLICATION_ROLES:
        out.application_roles[key] = {"key": key, "name": name, "seats": seats}
    migrated = _people(rng, people, out)
    apps = _others(rng, people, out)
    if len(migrated) > 1:
        out.admins.add(rng.choice(migrated))
    # Jira lists people, apps and customers together, in no particular order.
    listed = list(out.users.items())
    rng.shuffle(listed)
    out.users = dict(listed)
    _teams(rng, migrated, apps, out)
    for name in CUSTOM_ROLES:
        role_id = seeded_uuid(rng)
        out.custom_roles[role_id] = {"id": role_id, "name": name}
    ops_teams = [t["teamId"] for t in out.teams.values() if t["ops"]]
    out.oncall = seed_jsm_oncall(rng, people, out.migrated, out.users, out.org, ops_teams)
    return out
