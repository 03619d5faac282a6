"""Rootly's seeded records: JSON:API resource objects exactly as `GET /v1/...` returns one item.

Quirks kept from the real API: user ids are numeric strings (e.g. "97487"); teams are type
"groups" and hold membership as INTEGER `user_ids`/`admin_ids`; other ids are UUIDs; timestamps
carry the account's zone offset ("2025-04-01T12:10:36.179-07:00").
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from mcp_directory.sim.rootly_oncall_seed import RootlyOnCall, seed_rootly_oncall
from mcp_directory.sim.world import SeedPerson, instant, iso_offset, seeded_uuid

CRUD = ["create", "read", "update", "delete"]
# Role permission attributes (spec `role`) and the values each admits when not plain CRUD.
ROLE_PERMISSIONS = (
    "alerts",
    "api_keys",
    "audits",
    "billing",
    "environments",
    "form_fields",
    "functionalities",
    "groups",
    "incident_causes",
    "incident_feedbacks",
    "incident_roles",
    "incident_types",
    "incidents",
    "integrations",
    "invitations",
    "playbooks",
    "private_incidents",
    "pulses",
    "retrospective",
    "roles",
    "secrets",
    "services",
    "severities",
    "status_pages",
    "webhooks",
    "workflows",
)
PERMISSION_VALUES = {"alerts": ["create", "read"], "pulses": ["create", "read", "update"]}
ON_CALL_PERMISSIONS = ("schedules", "escalation_policies", "alerts", "heartbeats", "services")

ROLES = (  # name, slug, deletable/editable, permission level
    ("Owner", "owner", False, "all"),
    ("Admin", "admin", False, "all"),
    ("User", "user", False, "member"),
    ("Observer", "observer", True, "read"),
)
ON_CALL_ROLES = (  # name, slug, system_role
    ("Admin", "admin", "admin"),
    ("User", "user", "user"),
    ("Observer", "observer", "observer"),
    ("No Access", "no-access", "no_access"),
    ("Responder", "responder", "custom"),
)
TEAMS = (
    ("Platform", "#1E88E5", "Core infrastructure and developer platform"),
    ("Payments", "#43A047", "Billing, invoicing and payment rails"),
    ("SRE", "#E53935", "Site reliability and incident response"),
    ("Mobile", "#8E24AA", "iOS and Android apps"),
    ("Data", "#FB8C00", "Pipelines, warehouse and analytics"),
    ("Security", "#3949AB", "Application and cloud security"),
    ("Customer Support", "#00897B", "Tier 2 support and escalations"),
)
INCIDENT_ROLES = (  # name, summary, optional, enabled, multi
    ("Commander", "Leads the response and makes the calls", False, True, False),
    ("Communications Lead", "Keeps stakeholders and the status page informed", True, True, False),
    ("Scribe", "Records the timeline and decisions", True, True, True),
    ("Technical Lead", "Drives the technical investigation", True, False, True),
)
INCIDENTS = (  # title, status
    ("Checkout API returning 502s", "resolved"),
    ("Elevated latency on search", "mitigated"),
    ("Login failures for SSO users", "started"),
    ("Delayed webhook deliveries", "resolved"),
)
TIME_ZONES = ("America/Los_Angeles", "America/New_York", "Europe/London", "Europe/Berlin", "Asia/Tokyo", None)


@dataclass
class RootlyDirectory:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    teams: dict[str, dict[str, Any]] = field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    on_call_roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    incident_roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)
    me_id: str = ""
    # incident id -> [{"incident_role_id", "user_id"}]: who holds which incident role (writes only).
    assignments: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    version: int = 0  # bumped by every write; invalidates the app's cached sorted views
    oncall: RootlyOnCall = field(default_factory=RootlyOnCall)  # schedules, escalation policies, overrides


def slugify(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")


def _stamps(rng: random.Random) -> tuple[str, str]:
    created = instant(rng, span_days=200)
    return iso_offset(created), iso_offset(instant(rng, start_days=200, span_days=150))


def _role_permissions(level: str) -> dict[str, list[str]]:
    perms = {}
    for name in ROLE_PERMISSIONS:
        allowed = PERMISSION_VALUES.get(name, CRUD)
        if level == "all":
            values = list(allowed)
        elif level == "member":
            values = [v for v in allowed if v != "delete"] if name in ("incidents", "pulses") else ["read"]
        else:
            values = ["read"]
        if name in ("billing", "api_keys", "secrets") and level != "all":
            values = []
        perms[f"{name}_permissions"] = values
    return perms


def _roles(rng: random.Random, out: RootlyDirectory) -> None:
    for name, slug, deletable, level in ROLES:
        created, updated = _stamps(rng)
        attrs: dict[str, Any] = {
            "name": name,
            "slug": slug,
            "incident_permission_set_id": None,
            "is_deletable": deletable,
            "is_editable": slug != "owner",
            **_role_permissions(level),
            "created_at": created,
            "updated_at": updated,
        }
        role_id = seeded_uuid(rng)
        out.roles[role_id] = {"id": role_id, "type": "roles", "attributes": attrs}
    for name, slug, system_role in ON_CALL_ROLES:
        created, updated = _stamps(rng)
        values = {"admin": CRUD, "user": ["read", "update"], "custom": ["read", "update"]}.get(system_role, ["read"])
        values = [] if system_role == "no_access" else values
        attrs = {
            "name": name,
            "slug": slug,
            "system_role": system_role,
            **{f"{p}_permissions": list(values) for p in ON_CALL_PERMISSIONS},
            "created_at": created,
            "updated_at": updated,
        }
        role_id = seeded_uuid(rng)
        out.on_call_roles[role_id] = {"id": role_id, "type": "on_call_roles", "attributes": attrs}
    for position, (name, summary, optional, enabled, multi) in enumerate(INCIDENT_ROLES, start=1):
        created, updated = _stamps(rng)
        attrs = {
            "name": name,
            "slug": slugify(name),
            "summary": summary,
            "description": f"The {name} during an incident. {summary}.",
            "position": position,
            "optional": optional,
            "enabled": enabled,
            "allow_multi_user_assignment": multi,
            "created_at": created,
            "updated_at": updated,
        }
        role_id = seeded_uuid(rng)
        out.incident_roles[role_id] = {"id": role_id, "type": "incident_roles", "attributes": attrs}


def _users(rng: random.Random, people: list[SeedPerson], out: RootlyDirectory) -> None:
    role_ids = {r["attributes"]["slug"]: r_id for r_id, r in out.roles.items()}
    on_call_ids = {r["attributes"]["system_role"]: r_id for r_id, r in out.on_call_roles.items()}
    next_id = rng.randrange(90_000, 98_000)
    owner_index = rng.randrange(len(people))
    nameless = set(rng.sample(range(len(people)), min(2, max(len(people) - 1, 0))))
    for index, person in enumerate(people):
        user_id = str(next_id)
        next_id += rng.randint(1, 40)
        person.accounts["rootly"] = user_id
        last = None if index in nameless else person.last_name
        full = f"{person.first_name} {last}" if last else person.first_name
        if index == owner_index:
            role = "owner"
        else:
            role = rng.choices(("admin", "user", "observer"), weights=(2, 12, 2))[0]
        on_call = rng.choices(("admin", "user", "observer", "custom", None), weights=(2, 10, 2, 2, 1))[0]
        created, updated = _stamps(rng)
        attrs = {
            "name": full,
            "email": person.provider_emails["rootly"],
            "first_name": person.first_name,
            "last_name": last,
            "full_name": full,
            "full_name_with_team": full,
            "phone": None,
            "phone_2": None,
            "slack_id": None,
            "time_zone": rng.choice(TIME_ZONES),
            "created_at": created,
            "updated_at": updated,
        }
        relationships = {
            "role": {"data": {"id": role_ids[role], "type": "roles"}},
            "on_call_role": {"data": {"id": on_call_ids[on_call], "type": "on_call_roles"} if on_call else None},
        }
        out.users[user_id] = {"id": user_id, "type": "users", "attributes": attrs, "relationships": relationships}
        if role == "owner":
            out.me_id = user_id


def _teams(rng: random.Random, out: RootlyDirectory) -> None:
    user_ids = list(out.users)
    chosen = TEAMS[: rng.randint(6, len(TEAMS))]
    memberships: dict[str, list[int]] = {name: [] for name, _, _ in chosen}
    for user_id in user_ids:
        for name in rng.sample([t[0] for t in chosen], rng.choice((0, 1, 1, 1, 2))):
            memberships[name].append(int(user_id))
    for position, (name, color, description) in enumerate(chosen, start=1):
        members = sorted(memberships[name])
        admins = sorted(rng.sample(members, min(len(members), rng.randint(1, 2)))) if members else []
        created, updated = _stamps(rng)
        slug = slugify(name)
        attrs = {
            "name": name,
            "slug": slug,
            "managed_by": rng.choice(("web", "web", "api", "terraform")),
            "description": description,
            "notify_emails": [],
            "color": color,
            "position": position,
            "backstage_id": None,
            "external_id": None,
            "pagerduty_id": None,
            "pagerduty_service_id": None,
            "opsgenie_id": None,
            "victor_ops_id": None,
            "pagertree_id": None,
            "cortex_id": None,
            "service_now_ci_sys_id": None,
            "user_ids": members,
            "admin_ids": admins,
            "alerts_email_enabled": False,
            "alerts_email_address": f"team-{slug}@alerts.rootly.com",
            "alert_urgency_id": None,
            "slack_channels": [{"id": f"C0{position:08d}", "name": f"team-{slug}"}],
            "slack_aliases": [],
            "alert_broadcast_enabled": False,
            "alert_broadcast_channel": None,
            "incident_broadcast_enabled": False,
            "incident_broadcast_channel": None,
            "auto_add_members_when_attached": False,
            "properties": [],
            "created_at": created,
            "updated_at": updated,
        }
        team_id = seeded_uuid(rng)
        out.teams[team_id] = {"id": team_id, "type": "groups", "attributes": attrs}
        for member_id in members:  # Rootly shows the first team in full_name_with_team
            user_attrs = out.users[str(member_id)]["attributes"]
            if user_attrs["full_name_with_team"] == user_attrs["full_name"]:
                user_attrs["full_name_with_team"] = f"[{name}] {user_attrs['full_name']}"


def _severities(rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for position, (level, color) in enumerate((("critical", "#D32F2F"), ("high", "#F57C00"), ("medium", "#FBC02D")), 1):
        created, updated = _stamps(rng)
        attrs = {
            "name": f"SEV{position}",
            "slug": f"sev{position}",
            "description": f"{level.title()} impact",
            "severity": level,
            "color": color,
            "position": position,
            "notify_emails": [],
            "slack_channels": [],
            "slack_aliases": [],
            "created_at": created,
            "updated_at": updated,
        }
        out.append({"data": {"id": seeded_uuid(rng), "type": "severities", "attributes": attrs}})
    return out


def _incidents(rng: random.Random, out: RootlyDirectory) -> None:
    user_ids = list(out.users)
    severities = _severities(rng)
    for sequential_id, (title, status) in enumerate(INCIDENTS, start=1):
        incident_id = seeded_uuid(rng)
        slug = slugify(title)
        creator = out.users[rng.choice(user_ids)]
        started = instant(rng, start_days=300, span_days=60)
        created = iso_offset(started)
        user_ref = {
            "data": {
                "id": creator["id"],
                "type": "users",
                "attributes": {"name": creator["attributes"]["full_name"], "email": creator["attributes"]["email"]},
            }
        }
        attrs = {
            "id": incident_id,
            "sequential_id": sequential_id,
            "title": title,
            "kind": "normal",
            "slug": slug,
            "parent_incident_id": None,
            "duplicate_incident_id": None,
            "summary": f"{title}.",
            "private": False,
            "source": "web",
            "status": status,
            "url": f"https://rootly.com/account/incidents/{sequential_id}-{slug}",
            "short_url": f"https://root.ly/{slug[:6]}{sequential_id}",
            "public_title": title,
            "user": user_ref,
            "severity": rng.choice(severities),
            "environments": [],
            "incident_types": [],
            "services": [],
            "functionalities": [],
            "groups": [],
            "labels": {},
            "started_by": user_ref,
            "started_at": created,
            "detected_at": created,
            "acknowledged_at": created,
            "mitigated_at": created if status in ("mitigated", "resolved") else None,
            "resolved_at": created if status == "resolved" else None,
            "created_at": created,
            "updated_at": created,
        }
        out.incidents[incident_id] = {"id": incident_id, "type": "incidents", "attributes": attrs}


def seed_rootly(rng: random.Random, people: list[SeedPerson]) -> RootlyDirectory:
    out = RootlyDirectory()
    _roles(rng, out)
    _users(rng, people, out)
    _teams(rng, out)
    _incidents(rng, out)
    out.oncall = seed_rootly_oncall(rng, people, out.users, list(out.teams))
    return out
