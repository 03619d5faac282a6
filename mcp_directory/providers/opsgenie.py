"""Opsgenie: `/v2`, `GenieKey` auth, offset pagination on users, unpaged teams.

Quirks handled here:
- the username is the email; a user is found by id or username;
- `/v2/teams` has no paging and no filter (search is done here), and carries no
  members: `GET /v2/teams/{id}` does;
- a user's teams are a separate call (`/v2/users/{id}/teams`);
- there is no "me": API keys belong to integrations, not users;
- seats come from `/v2/account` (`userCount` of `plan.maxUserCount`);
- `/v2/roles` lists custom roles only; `admin` and `user` are built in;
- team member roles are "admin" or "user" (ours: admin or member);
- there is no deactivation: DELETE on a user deletes it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qs, urlsplit

from ..aio import gather
from ..errors import Conflict, DirectoryError
from ..http import segment
from ..models import Deactivation, Group, License, Member, Role, RoleRef, Seen, SeenGroup, Status, User
from ..oncall import duty_label
from ..paging import Chunk, Listing
from ..spec import WHOLE, Offset, ProviderSpec, Setting, Step, number_at, seconds
from .base import Adapter, Provider
from .opsgenie_oncall import OpsgenieOnCall


def error_text(data: dict[str, Any]) -> str | None:
    """`{"message", "took", "requestId"}`, with a field -> problem map under `errors` on 422."""
    message = data.get("message")
    if not isinstance(message, str):
        return None
    fields = data.get("errors")
    return message + (f" {json.dumps(fields, ensure_ascii=False)}" if isinstance(fields, dict) else "")


def throttled_wait(headers: Mapping[str, str]) -> float | None:
    """When THROTTLED, X-RateLimit-Period-In-Sec names the full bucket (60: minute, 1: second);
    clients back off for that period."""
    if headers.get("x-ratelimit-state", "").upper() != "THROTTLED":
        return None
    return seconds(headers.get("x-ratelimit-period-in-sec"))


BUILT_IN_ROLES = (
    Role(
        id="admin",
        provider="opsgenie",
        name="admin",
        description="Built-in account role: administrator.",
        kind="account",
    ),
    Role(id="user", provider="opsgenie", name="user", description="Built-in account role: user.", kind="account"),
)
ADMIN_ROLES = frozenset({"admin", "owner"})


def user_status(record: dict[str, Any]) -> Status:
    if record.get("blocked"):
        return "blocked"
    if record.get("verified") is False:  # has not accepted the invitation yet
        return "invited"
    return "active"


def role_name(record: dict[str, Any]) -> Any:
    return (record.get("role") or {}).get("name")


def seen_user(record: dict[str, Any]) -> Seen:
    """What `map_user` says of the user that a whole-directory reader keeps, without the model."""
    name = role_name(record)
    is_admin = (name in ADMIN_ROLES) if name else None
    return (str(record["id"]), record.get("username"), record.get("fullName"), user_status(record), is_admin, None)


def map_user(record: dict[str, Any], group_ids: list[str] | None = None) -> User:
    role = record.get("role") or {}
    name = role_name(record)
    return User(
        id=str(record["id"]),
        provider="opsgenie",
        email=record.get("username"),
        name=record.get("fullName"),
        first_name=None,
        last_name=None,
        username=record.get("username"),
        status=user_status(record),
        is_admin=(name in ADMIN_ROLES) if name else None,
        roles=[RoleRef(id=role.get("id"), name=name)] if name else [],
        group_ids=group_ids,
        time_zone=record.get("timeZone"),
        created_at=record.get("createdAt"),
        updated_at=None,
        last_active_at=None,
    )


def map_member(record: dict[str, Any]) -> Member:
    """`{"user": {"id", "username"}, "role"}`: the username is the email; a team answer has no names."""
    user = record.get("user") or {}
    role: Literal["admin", "member"] = "admin" if record.get("role") == "admin" else "member"
    return Member(user_id=member_id(record), role=role, email=user.get("username"), name=None)


def member_id(record: dict[str, Any]) -> str:
    return str((record.get("user") or {}).get("id"))


def seen_team(record: dict[str, Any]) -> SeenGroup:
    """What `map_team` says of a team's members that a whole-directory reader keeps."""
    return (str(record["id"]), record.get("name") or "", [member_id(m) for m in record.get("members") or []])


def map_team(record: dict[str, Any]) -> Group:
    raw_members = record.get("members")
    members = None
    if raw_members is not None:
        members = [map_member(m) for m in raw_members]
    return Group(
        id=str(record["id"]),
        provider="opsgenie",
        name=record.get("name") or "",
        description=record.get("description"),
        member_count=len(members) if members is not None else None,
        members=members,
        created_at=None,
        updated_at=None,
    )


def map_custom_role(record: dict[str, Any]) -> Role:
    return Role(
        id=str(record["id"]), provider="opsgenie", name=record.get("name") or "", description=None, kind="custom"
    )


def map_account(record: dict[str, Any]) -> License:
    plan = record.get("plan") or {}
    total, used = plan.get("maxUserCount"), record.get("userCount")
    return License(
        id=str(plan.get("name") or record.get("name") or "plan"),
        provider="opsgenie",
        name=plan.get("name") or "",
        total_seats=total,
        used_seats=used,
        available_seats=total - used if isinstance(total, int) and isinstance(used, int) else None,
    )


def next_offset(document: dict[str, Any]) -> int | None:
    """The offset in `paging.next`, which is absent on the last page."""
    link = (document.get("paging") or {}).get("next")
    if not link:
        return None
    values = parse_qs(urlsplit(link).query).get("offset")
    return int(values[0]) if values else None


SPEC = ProviderSpec(
    name="opsgenie",
    title="Opsgenie",
    settings=(
        Setting("credential", "OPSGENIE_API_KEY", "Opsgenie API key (sent as GenieKey)", secret=True),
        Setting(
            "base_url",
            "OPSGENIE_BASE_URL",
            "API base URL (EU: https://api.eu.opsgenie.com); paths /v2/...",
            "https://api.opsgenie.com",
            url=True,
        ),
    ),
    api_root="",
    auth_scheme="GenieKey",
    content_type="application/json",
    # the paging doc says at most 100; the users spec only gives a default of 100
    paginator=Offset(
        offset_param="offset", limit_param="limit", next_offset=next_offset, total=number_at("totalCount"), max_size=100
    ),
    page_size=100,
    rate_limit_headers=("x-ratelimit-state", "x-ratelimit-reason", "x-ratelimit-period-in-sec"),
    requests_per_minute=None,  # per-plan numbers are not published (FACTS §2)
    proxy_prefix="/v2/",
    concurrent_pages=4,  # per-second buckets with unpublished sizes (FACTS §2): stay modest
    user_delete="deleted",
    ping="/v2/account",
    retry_after_from=lambda headers, now: throttled_wait(headers),
    error_text=error_text,
    # 402: the account's plan does not allow the action; 428: a user still named in a schedule or
    # an escalation cannot be deleted (ONCALL.md §2d; Opsgenie's Terraform provider retries on it)
    statuses={402: "forbidden", 428: "conflict"},
)


class Opsgenie(OpsgenieOnCall, Adapter):
    missing: ClassVar[dict[str, str]] = {
        "me": "Opsgenie API keys belong to integrations, not users, so there is no 'me'",
        "incident_roles": "Opsgenie has no incident roles",
        "assign_incident_role": "Opsgenie has no incident roles",
        "unassign_incident_role": "Opsgenie has no incident roles",
    }

    def users(self, *, search: str | None, email: str | None) -> Listing[User]:
        query = f"username:{email}" if email else search
        found = self.listing("/v2/users", {"query": query}, lambda d: map_user, lean=lambda d: seen_user)
        if email:
            found = self.with_email(found, email)
        if email and search:  # one query only: the email upstream, the search here
            needle = search.casefold()
            return self.matching(
                found, lambda u: needle in (u.name or "").casefold() or needle in (u.email or "").casefold()
            )
        return found

    async def user(self, user_id: str) -> User:
        path = f"/v2/users/{segment(user_id)}"
        user, teams = await gather(self.http.get(path), self.http.get(f"{path}/teams"))
        return map_user(self.record(user), [str(t["id"]) for t in self.records(teams)])

    def groups(self, *, search: str | None) -> Listing[Group]:
        # /v2/teams has no paging and no filter: the search is done here
        teams = self.listing("/v2/teams", {}, lambda d: map_team, paginator=WHOLE)
        return self.matching(teams, lambda g: search.casefold() in g.name.casefold()) if search else teams

    async def group(self, group_id: str) -> Group:
        return map_team(await self._team(group_id))

    async def lean_group(self, group_id: str) -> SeenGroup:
        return seen_team(await self._team(group_id))

    async def _team(self, group_id: str) -> dict[str, Any]:
        document = await self.http.get(f"/v2/teams/{segment(group_id)}", {"identifierType": "id"})
        return self.record(document)

    def roles(self) -> Listing[Role]:
        async def fetch(state: Any) -> Chunk[Role]:
            document = await self.http.get("/v2/roles")
            items = [*BUILT_IN_ROLES, *(map_custom_role(r) for r in self.records(document))]
            return Chunk(items, Step(None, len(items)))

        return Listing(fetch)

    async def licenses(self) -> list[License]:
        document = await self.http.get("/v2/account")
        return [map_account(self.record(document))]

    # Writes.
    # Opsgenie's write answers carry no object, so each write reads its object back.

    async def add_group_member(self, group_id: str, user_id: str, role: str) -> Group | None:
        body = {"user": {"id": user_id}, "role": "admin" if role == "admin" else "user"}
        path = f"/v2/teams/{segment(group_id)}/members"
        await self.http.write("POST", path, body, params={"teamIdentifierType": "id"})
        return await self.read_back(lambda: self.group(group_id))

    async def remove_group_member(self, group_id: str, user_id: str) -> Group | None:
        path = f"/v2/teams/{segment(group_id)}/members/{segment(user_id)}"
        await self.http.write("DELETE", path, params={"teamIdentifierType": "id"})
        return await self.read_back(lambda: self.group(group_id))

    async def create_user(self, email: str, first_name: str, last_name: str, role: str | None) -> User | None:
        body = {"username": email, "fullName": f"{first_name} {last_name}".strip(), "role": {"name": role or "user"}}
        created = await self.http.write("POST", "/v2/users", body)

        async def read_created() -> User:
            created_id = self.record(created).get("id")
            if created_id is None:
                raise self.malformed("the new user's id under data")
            return await self.user(str(created_id))

        return await self.read_back(read_created)

    async def deactivate_user(self, user_id: str) -> Deactivation:
        try:
            await self.http.write("DELETE", f"/v2/users/{segment(user_id)}")
        except Conflict as exc:  # 428: still named for on-call duties; say which
            try:
                labels = "; ".join(duty_label(d) for d in await self.duties_of(user_id))
            except DirectoryError:  # the refusal stands; only its detail is missing
                labels = ""
            raise Conflict(
                f"Opsgenie refused to delete user {user_id}: it is still named for on-call duties "
                f"({labels or exc.message}); hand them over first (offboard_user with successor)",
                provider=self.name,
                status=exc.status,
            ) from exc
        return Deactivation(user_id=user_id, action="deleted", user=None)


OPSGENIE = Provider(SPEC, Opsgenie)
