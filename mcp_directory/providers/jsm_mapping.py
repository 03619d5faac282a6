"""Jira Service Management Operations: the pure functions from its four APIs' JSON to our models.

Shapes (SPEC §11, provider_specs/jsm/FACTS.md):
- Jira users (`/rest/api/3/...`) come as bare arrays of `{accountId, accountType, emailAddress?,
  displayName, active, timeZone}`; `emailAddress` is absent where the profile hides it, and app
  and customer accounts are mixed in (only `accountType: "atlassian"` is a person);
- the org admin API (`/admin/v1/orgs/{orgId}/users`) knows the email, the account's status
  (`account_status`: anything but "active" means its access is off, though Jira still says
  `active: true`) and `last_active`;
- Ops teams are `{teamId, teamName}`, the id sometimes an ARI (`ari:cloud:identity::team/<uuid>`);
- application roles carry the seats (`numberOfSeats`, `userCount`, `remainingSeats`,
  `hasUnlimitedSeats`);
- errors: Jira `{errorMessages, errors: {field: message}}`, Ops `{errors: [{title, code}]}`,
  Teams and org `{code, message}`.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..models import Group, License, Member, Role, RoleRef, User
from ..spec import whole_number

PERSON = "atlassian"  # accountType of a person; "app" and "customer" accounts are not


def basic_authorization(email: str, token: str) -> str:
    """The Basic credential of an Atlassian account's API token (site and Ops APIs)."""
    return base64.b64encode(f"{email}:{token}".encode()).decode()


def is_person(record: Any) -> bool:
    return isinstance(record, dict) and record.get("accountType") == PERSON and isinstance(record.get("accountId"), str)


def team_id(value: str) -> str:
    """A team's id as a UUID: Ops sometimes answers with its ARI (`ari:cloud:identity::team/<uuid>`)."""
    return value.rsplit("team/", 1)[-1] if value.startswith("ari:") else value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def org_status_off(account: Mapping[str, Any] | None) -> bool:
    """Whether the org API says the account's access is off (suspended, deactivated, closed)."""
    return account is not None and account.get("account_status") not in (None, "active")


def map_user(
    record: dict[str, Any],
    account: Mapping[str, Any] | None,
    *,
    roles: list[RoleRef] | None = None,
    is_admin: bool | None = None,
    group_ids: list[str] | None = None,
) -> User:
    """A Jira user, completed by its org account where the org API key is set (`account`)."""
    inactive = record.get("active") is False or org_status_off(account)
    return User(
        id=record["accountId"],
        provider="jsm",
        email=_text(record.get("emailAddress")) or _text((account or {}).get("email")),
        name=_text(record.get("displayName")),
        first_name=None,
        last_name=None,
        username=None,
        status="inactive" if inactive else "active",
        is_admin=is_admin,
        roles=roles,
        group_ids=group_ids,
        time_zone=_text(record.get("timeZone")),
        created_at=None,
        updated_at=None,
        last_active_at=_text((account or {}).get("last_active")),
    )


def application_roles(record: dict[str, Any]) -> list[RoleRef]:
    """A user's application roles (`expand=applicationRoles`: `{size, items: [ApplicationRole]}`)."""
    items = (record.get("applicationRoles") or {}).get("items") or []
    return [RoleRef(id=r["key"], name=r.get("name") or r["key"]) for r in items if isinstance(r, dict) and r.get("key")]


def map_member(account_id: str, record: dict[str, Any] | None, account: Mapping[str, Any] | None) -> Member:
    """A team member: the Teams API gives only the account id; email and name come from the users
    (and the org API where the profile hides the email). No public API reads a team admin."""
    email = _text((record or {}).get("emailAddress")) or _text((account or {}).get("email"))
    return Member(user_id=account_id, role="member", email=email, name=_text((record or {}).get("displayName")))


def map_team(record: dict[str, Any]) -> Group:
    """An Ops-enabled team as `GET {ops}/v1/teams` lists it (no description, no members)."""
    return Group(
        id=team_id(str(record["teamId"])),
        provider="jsm",
        name=record.get("teamName") or "",
        description=None,
        member_count=None,
        members=None,
        created_at=None,
        updated_at=None,
    )


def map_team_details(record: dict[str, Any], members: list[Member]) -> Group:
    """A team as the Teams API answers it (`displayName`, `description`), with its members."""
    return Group(
        id=team_id(str(record["teamId"])),
        provider="jsm",
        name=record.get("displayName") or "",
        description=_text(record.get("description")),
        member_count=len(members),
        members=members,
        created_at=None,
        updated_at=None,
    )


def map_application_role(record: dict[str, Any]) -> Role:
    return Role(
        id=record["key"], provider="jsm", name=record.get("name") or record["key"], description=None, kind="account"
    )


def map_custom_role(record: dict[str, Any]) -> Role:
    """An Ops custom user role (`{id, name}`)."""
    return Role(id=str(record["id"]), provider="jsm", name=record.get("name") or "", description=None, kind="custom")


def map_license(record: dict[str, Any]) -> License:
    """An application role as a license; unlimited seats have no total and none available."""
    unlimited = record.get("hasUnlimitedSeats") is True
    return License(
        id=record["key"],
        provider="jsm",
        name=record.get("name") or record["key"],
        total_seats=None if unlimited else whole_number(record.get("numberOfSeats")),
        used_seats=whole_number(record.get("userCount")),
        available_seats=None if unlimited else whole_number(record.get("remainingSeats")),
    )


def error_text(data: dict[str, Any]) -> str | None:
    """The message of whichever of the four APIs answered."""
    errors, messages = data.get("errors"), data.get("errorMessages")
    if isinstance(errors, list):  # Ops: [{title, code}]
        parts = [" ".join(str(e[k]) for k in ("title", "code") if e.get(k)) for e in errors if isinstance(e, dict)]
        return "; ".join(p for p in parts if p) or None
    if isinstance(messages, list) or isinstance(errors, dict):  # Jira: {errorMessages, errors}
        parts = [str(m) for m in messages or []]
        parts += [f"{k}: {v}" for k, v in (errors or {}).items()] if isinstance(errors, dict) else []
        return "; ".join(parts) or None
    message = data.get("message")
    if isinstance(message, str):  # Teams and org: {code, message}
        code = data.get("code")
        return f"{message} ({code})" if code not in (None, "") else message
    return None


def reset_wait(headers: Mapping[str, str], now: float) -> float | None:
    """`X-RateLimit-Reset` is an ISO 8601 time (not an epoch second): the wait until then."""
    value = headers.get("x-ratelimit-reset")
    if not value:
        return None
    try:
        reset = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if reset.tzinfo is None:
        return None
    return max(0.0, round(reset.timestamp() - now, 3))


def cursor_of(link: Any) -> str | None:
    """The org API's `links.next`: a cursor, or a URL carrying one as `cursor=`."""
    if not isinstance(link, str) or not link:
        return None
    if "cursor=" in link:
        values = parse_qs(urlsplit(link).query).get("cursor")
        return values[0] if values else None
    return link


def offset_of(link: Any) -> int | None:
    """The `offset` in an Ops `links.next` (`/v1/roles?offset=20&size=20`), absent on the last page."""
    if not isinstance(link, str) or not link:
        return None
    values = parse_qs(urlsplit(link).query).get("offset")
    try:
        return int(values[0]) if values else None
    except ValueError:
        return None
