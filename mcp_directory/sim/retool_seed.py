"""Retool's seeded records, with the keys in the order the recorded real responses use.

Quirks kept: user ids are "user_" + 32 hex with an integer `legacy_id`; group ids are integers
equal to `legacy_id`; the default groups admin/editor/viewer/All Users exist in every org.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from mcp_directory.sim.world import SeedPerson, instant, iso_z, seeded_uuid

ACCESS = (
    "universal_app_access",
    "universal_resource_access",
    "universal_workflow_access",
    "universal_query_library_access",
)
FLAGS = (
    "user_list_access",
    "audit_log_access",
    "unpublished_release_access",
    "usage_analytics_access",
    "theme_access",
    "account_details_access",
)
# name, (app, resource, workflow, query library), flags set
GROUPS: tuple[tuple[str, tuple[str, str, str, str], set[str]], ...] = (
    ("admin", ("own", "own", "own", "edit"), set(FLAGS)),
    ("editor", ("edit", "own", "edit", "edit"), {"user_list_access", "unpublished_release_access"}),
    ("viewer", ("use", "use", "use", "use"), {"user_list_access", "account_details_access"}),
    ("All Users", ("edit", "own", "edit", "edit"), set()),
    ("Support", ("use", "use", "none", "use"), {"user_list_access"}),
    ("Finance Ops", ("use", "none", "use", "none"), {"usage_analytics_access"}),
    ("Engineering", ("edit", "edit", "edit", "edit"), {"unpublished_release_access", "theme_access"}),
)
# name, description, default, legacy, object scopes, organization scopes
ROLES: tuple[tuple[str, str, bool, bool, list[str], list[str]], ...] = (
    (
        "Admin",
        "Full access to the organization",
        False,
        True,
        ["apps:own", "resources:own", "workflows:own"],
        ["users:manage", "groups:manage", "settings:manage"],
    ),
    ("Editor", "Build and edit apps and workflows", False, True, ["apps:edit", "resources:use", "workflows:edit"], []),
    ("Viewer", "Use published apps", True, True, ["apps:use"], []),
    (
        "Support Agent",
        "Use support tools and read the user list",
        False,
        False,
        ["apps:use", "resources:use"],
        ["users:read"],
    ),
)


@dataclass
class RetoolDirectory:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[int, dict[str, Any]] = field(default_factory=dict)
    roles: dict[str, dict[str, Any]] = field(default_factory=dict)
    organization_id: str = ""
    version: int = 0  # bumped by every write; invalidates the app's cached sorted views


def _users(rng: random.Random, people: list[SeedPerson], out: RetoolDirectory) -> None:
    legacy_id = rng.randint(3, 30)
    admins = set(rng.sample(range(len(people)), min(len(people), 3)))
    for index, person in enumerate(people):
        user_id = f"user_{rng.getrandbits(128):032x}"
        person.accounts["retool"] = user_id
        active = "retool" not in person.disabled  # DELETE /users/{id} disables: the user stays, inactive
        created = instant(rng, span_days=365)  # during 2024
        # Last seen during 2025-2026 (the disabled ones before 2025-09), or never.
        seen = instant(rng, start_days=366, span_days=698 if active else 240)
        last_active = None if rng.random() < 0.2 else iso_z(seen)
        out.users[user_id] = {
            "id": user_id,
            "legacy_id": legacy_id,
            "first_name": person.first_name,
            "last_name": person.last_name,
            "created_at": iso_z(created),
            "last_active": last_active,
            "email": person.provider_emails["retool"],
            "active": active,
            "metadata": rng.choice(({}, {}, {"department": "engineering"}, {"department": "support"})),
            "is_admin": index in admins,
            "two_factor_auth_enabled": rng.random() < 0.3,
            "user_type": rng.choices(("default", "mobile", "embed"), weights=(18, 1, 1))[0],
        }
        legacy_id += rng.randint(1, 3)


def _member(user: dict[str, Any], admin: bool) -> dict[str, Any]:
    return {"id": user["id"], "email": user["email"], "is_group_admin": admin}


def _groups(rng: random.Random, out: RetoolDirectory) -> None:
    users = list(out.users.values())
    created = iso_z(instant(rng, span_days=10))
    for group_id, (name, levels, flags) in enumerate(GROUPS, start=1):
        if name == "admin":
            members = [_member(u, False) for u in users if u["is_admin"]]
        elif name == "All Users":
            members = [_member(u, False) for u in users]
        else:
            chosen = rng.sample(users, min(len(users), rng.randint(0, 8)))
            members = [_member(u, rng.random() < 0.2) for u in chosen]
        group = {"id": group_id, "legacy_id": group_id, "name": name, "members": members}
        group.update(zip(ACCESS, levels, strict=True))
        group["user_invites"] = []
        group.update({flag: flag in flags for flag in FLAGS})
        group["landing_page_app_id"] = None
        group["updated_at"] = created if group_id <= 4 else iso_z(instant(rng, start_days=10, span_days=300))
        group["created_at"] = created
        out.groups[group_id] = group


def _roles(rng: random.Random, out: RetoolDirectory) -> None:
    for name, description, default, legacy, object_scopes, org_scopes in ROLES:
        role_id = seeded_uuid(rng)
        stamp = iso_z(instant(rng, span_days=300))
        out.roles[role_id] = {
            "id": role_id,
            "organization_id": out.organization_id,
            "name": name,
            "description": description,
            "is_default_role": default,
            "is_legacy_role": legacy,
            "object_scopes": list(object_scopes),
            "organization_scopes": list(org_scopes),
            "added_dependent_scopes": ["apps:use"] if "apps:edit" in object_scopes else [],
            "created_at": stamp,
            "updated_at": stamp,
        }


def seed_retool(rng: random.Random, people: list[SeedPerson]) -> RetoolDirectory:
    out = RetoolDirectory(organization_id=seeded_uuid(rng))
    _users(rng, people, out)
    _groups(rng, out)
    _roles(rng, out)
    return out
