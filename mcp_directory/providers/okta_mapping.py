"""Okta's JSON -> the normalized models, and the few readers of its answers (SPEC §14, FACTS.md).

Pure functions: no I/O. The provider value and its adapter are in `okta.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..models import Group, Member, Role, RoleRef, Seen, Status, User
from ..spec import seconds

STATUSES: dict[str, Status] = {
    "ACTIVE": "active",
    "RECOVERY": "active",
    "PASSWORD_EXPIRED": "active",
    "LOCKED_OUT": "active",
    "STAGED": "invited",
    "PROVISIONED": "invited",
    "SUSPENDED": "blocked",
    "DEPROVISIONED": "inactive",
}

# The standard admin role types ([spec] `RoleType`, without CUSTOM) and their labels in the Admin Console.
STANDARD_ROLES: tuple[tuple[str, str, str], ...] = (
    ("SUPER_ADMIN", "Super Administrator", "Full access to the org, including other administrators"),
    ("ORG_ADMIN", "Organization Administrator", "Manages users, groups and apps"),
    ("APP_ADMIN", "Application Administrator", "Manages apps and their assignments"),
    ("USER_ADMIN", "Group Administrator", "Manages users of the groups it is given"),
    ("HELP_DESK_ADMIN", "Help Desk Administrator", "Resets passwords and factors"),
    ("GROUP_MEMBERSHIP_ADMIN", "Group Membership Administrator", "Manages the members of groups"),
    ("READ_ONLY_ADMIN", "Read-only Administrator", "Reads everything, changes nothing"),
    ("REPORT_ADMIN", "Report Administrator", "Reads reports and the system log"),
    ("MOBILE_ADMIN", "Mobile Administrator", "Manages devices"),
    ("API_ACCESS_MANAGEMENT_ADMIN", "API Access Management Administrator", "Manages authorization servers"),
    ("WORKFLOWS_ADMIN", "Workflows Administrator", "Manages Okta Workflows"),
    ("ACCESS_CERTIFICATIONS_ADMIN", "Access Certifications Administrator", "Runs access certification campaigns"),
    ("ACCESS_REQUESTS_ADMIN", "Access Requests Administrator", "Manages access requests"),
)

# Okta's error codes whose meaning the HTTP status alone does not carry the same way (FACTS §7).
ERROR_CODES = {"E0000011": "unauthorized", "E0000006": "forbidden", "E0000007": "not_found", "E0000047": "rate_limited"}
NEEDS_ROLE = (
    "the service app needs an admin role (such as Read-Only Administrator, under Admin roles in its settings) "
    "and the scopes okta.users.read okta.groups.read okta.roles.read granted"
)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _profile(record: dict[str, Any]) -> dict[str, Any]:
    profile = record.get("profile")
    return profile if isinstance(profile, dict) else {}


def _name(profile: dict[str, Any]) -> str | None:
    first, last = _text(profile.get("firstName")), _text(profile.get("lastName"))
    return _text(profile.get("displayName")) or " ".join(p for p in (first, last) if p) or None


def seen_user(record: dict[str, Any], is_admin: bool | None) -> Seen:
    """What `map_user` says of the user that a whole-directory reader keeps, without the model."""
    profile = _profile(record)
    status = STATUSES.get(str(record.get("status")))
    return (
        str(record["id"]),
        _text(profile.get("email")),
        _name(profile),
        status,
        is_admin,
        _text(record.get("lastLogin")),
    )


def map_user(record: dict[str, Any], *, roles: list[RoleRef] | None = None, group_ids: list[str] | None = None) -> User:
    profile = _profile(record)
    first, last = _text(profile.get("firstName")), _text(profile.get("lastName"))
    name = _name(profile)
    return User(
        id=str(record["id"]),
        provider="okta",
        email=_text(profile.get("email")),
        name=name,
        first_name=first,
        last_name=last,
        username=_text(profile.get("login")),
        status=STATUSES.get(str(record.get("status"))),
        is_admin=None if roles is None else bool(roles),
        roles=roles,
        group_ids=group_ids,
        time_zone=_text(profile.get("timezone")),
        created_at=_text(record.get("created")),
        updated_at=_text(record.get("lastUpdated")),
        last_active_at=_text(record.get("lastLogin")),
    )


def map_assigned_role(record: dict[str, Any]) -> RoleRef:
    """A role assignment of `/users/{id}/roles`: a standard one by its type, a custom one by its role id."""
    role_type = str(record.get("type") or "")
    role_id = record.get("role") if role_type == "CUSTOM" else role_type
    return RoleRef(id=str(role_id) if role_id else None, name=_text(record.get("label")) or role_type)


def is_listed_group(record: dict[str, Any]) -> bool:
    """Everyone (`BUILT_IN`) is every user, not a group anyone chose: left out (SPEC §14)."""
    return record.get("type") != "BUILT_IN"


def map_group(record: dict[str, Any], members: list[Member] | None = None) -> Group:
    profile = _profile(record)
    return Group(
        id=str(record["id"]),
        provider="okta",
        name=_text(profile.get("name")) or str(record["id"]),
        description=_text(profile.get("description")),
        member_count=len(members) if members is not None else None,
        members=members,
        created_at=_text(record.get("created")),
        updated_at=_text(record.get("lastUpdated")),
    )


def map_member(record: dict[str, Any]) -> Member:
    """A user of `/groups/{id}/users`: Okta groups have no group admins, so every one is `member`."""
    user = map_user(record)
    return Member(user_id=user.id, role="member", email=user.email, name=user.name)


def standard_roles() -> list[Role]:
    return [Role(id=t, provider="okta", name=n, description=d, kind="account") for t, n, d in STANDARD_ROLES]


def map_custom_role(record: dict[str, Any]) -> Role:
    return Role(
        id=str(record["id"]),
        provider="okta",
        name=_text(record.get("label")) or str(record["id"]),
        description=_text(record.get("description")),
        kind="custom",
    )


LINK = re.compile(r'<([^>]*)>\s*;[^,]*rel="?next"?')


def next_after(link_header: str | None) -> str | None:
    """The `after` cursor of the `Link` header's `rel="next"` URL, taken as Okta gives it."""
    found = LINK.search(link_header or "")
    return after_of(found.group(1)) if found else None


def after_of(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    values = parse_qs(urlsplit(url).query).get("after")
    return values[0] if values else None


def error_text(data: dict[str, Any]) -> str | None:
    """`errorSummary` and its causes (`errorCauses` is sometimes an object, not a list: FACTS §7);
    a refusal says what the service app lacks; the token endpoint's `error_description`."""
    if isinstance(data.get("error_description"), str):
        return f"{data.get('error')}: {data['error_description']}"
    summary = _text(data.get("errorSummary"))
    if summary is None:
        return None
    causes = data.get("errorCauses")
    causes = causes if isinstance(causes, list) else [causes] if isinstance(causes, dict) else []
    said = [c["errorSummary"] for c in causes if isinstance(c, dict) and isinstance(c.get("errorSummary"), str)]
    text = f"{summary} ({'; '.join(said)})" if said else summary
    return f"{text}; {NEEDS_ROLE}" if data.get("errorCode") == "E0000006" else text


def error_code(data: dict[str, Any]) -> str | None:
    if "error" in data and "errorCode" not in data:
        return "unauthorized"  # the token endpoint's {"error", "error_description"} (SPEC §14)
    return ERROR_CODES.get(str(data.get("errorCode")))


def reset_wait(headers: Mapping[str, str], now: float) -> float | None:
    """`X-Rate-Limit-Reset`: when the bucket refills, in epoch seconds."""
    reset = seconds(headers.get("x-rate-limit-reset"))
    return max(0.0, reset - now) if reset is not None else None
