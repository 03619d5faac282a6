"""Retool: `/api/v2` below the instance URL, bearer token, `next_token` pagination.

Quirks handled here:
- `GET /users` returns *every* user when no `limit` is sent: pages send one, and `everyone()`
  sends none, reading the whole directory in one request;
- `next_token` is the only way forward (no page numbers), so paging is sequential;
- there is no name search: `email` is filtered upstream, a search term here;
- `DELETE /users/{id}` disables rather than deletes, so inactive users still list;
- groups come whole, with members, from `GET /groups`;
- there is neither "me" nor a seat count in the v2 API;
- users have no role at creation (access comes from groups);
- adding members to a group also updates the admin flag of existing members.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from ..errors import InvalidArgument
from ..http import segment
from ..models import Deactivation, Group, Member, Role, Seen, SeenGroup, Status, User
from ..paging import Listing
from ..spec import WHOLE, ProviderSpec, Setting, Token, number_at
from .base import Adapter, Provider


def _full_name(first: str | None, last: str | None) -> str | None:
    return " ".join(p for p in (first, last) if p) or None


def user_status(record: dict[str, Any]) -> Status:
    return "inactive" if record.get("active") is False else "active"


def seen_user(record: dict[str, Any]) -> Seen:
    """What `map_user` says of the user that a whole-directory reader keeps, without the model."""
    name = _full_name(record.get("first_name"), record.get("last_name"))
    status = user_status(record)
    return (str(record["id"]), record.get("email"), name, status, record.get("is_admin"), record.get("last_active"))


def map_user(record: dict[str, Any]) -> User:
    groups = record.get("groups")
    return User(
        id=str(record["id"]),
        provider="retool",
        email=record.get("email"),
        name=_full_name(record.get("first_name"), record.get("last_name")),
        first_name=record.get("first_name"),
        last_name=record.get("last_name"),
        username=None,
        status=user_status(record),
        is_admin=record.get("is_admin"),
        roles=[],
        group_ids=[str(g["id"]) for g in groups] if isinstance(groups, list) else None,
        time_zone=None,
        created_at=record.get("created_at"),
        updated_at=None,
        last_active_at=record.get("last_active"),
    )


def map_member(record: dict[str, Any]) -> Member:
    """`{"id", "email", "is_group_admin"}`: a group answer carries no member names."""
    role: Literal["admin", "member"] = "admin" if record.get("is_group_admin") else "member"
    return Member(user_id=str(record["id"]), role=role, email=record.get("email"), name=None)


def seen_group(record: dict[str, Any]) -> SeenGroup:
    """What `map_group` says of a group's members that a whole-directory reader keeps."""
    return (str(record["id"]), record.get("name") or "", [str(m["id"]) for m in record.get("members") or []])


def map_group(record: dict[str, Any], *, with_members: bool) -> Group:
    raw = record.get("members")
    members = [map_member(m) for m in raw] if with_members and isinstance(raw, list) else None
    return Group(
        id=str(record["id"]),
        provider="retool",
        name=record.get("name") or "",
        description=None,
        member_count=len(raw) if isinstance(raw, list) else None,
        members=members,
        created_at=record.get("created_at"),
        updated_at=record.get("updated_at"),
    )


def map_role(record: dict[str, Any]) -> Role:
    built_in = record.get("is_default_role") or record.get("is_legacy_role")
    return Role(
        id=str(record["id"]),
        provider="retool",
        name=record.get("name") or "",
        description=record.get("description") or None,
        kind="account" if built_in else "custom",
    )


def next_token(document: dict[str, Any]) -> str | None:
    # The spec and recordings say `next_token`; the docs' guide says `next`.
    token = document.get("next_token") or document.get("next")
    return token if token and document.get("has_more", True) else None


def _matches(user: User, needle: str) -> bool:
    return any(needle in (v or "").casefold() for v in (user.name, user.email))


SPEC = ProviderSpec(
    name="retool",
    title="Retool",
    settings=(
        Setting("credential", "RETOOL_API_TOKEN", "Retool API token", secret=True),
        Setting(
            "base_url", "RETOOL_BASE_URL", "the instance, e.g. https://acme.retool.com; paths /api/v2/...", url=True
        ),
    ),
    api_root="/api/v2",
    auth_scheme="Bearer",
    content_type="application/json",
    # `GET /users` returns every user when no limit is sent; next_token is valid only with a limit
    paginator=Token(
        token_param="next_token",
        limit_param="limit",
        next_token=next_token,
        total=number_at("total_count"),
        max_size=100,
    ),
    page_size=100,
    rate_limit_headers=("retry-after",),
    requests_per_minute=300,  # self-hosted default API_CALLS_PER_MIN; Cloud publishes none
    proxy_prefix="/",
    concurrent_pages=1,  # next_token paging is sequential anyway
    user_delete="deactivated",
    ping="/users?limit=1",
    error_text=lambda data: data.get("message") if isinstance(data.get("message"), str) else None,  # {success, message}
)


class Retool(Adapter):
    missing: ClassVar[dict[str, str]] = {
        "me": "Retool's v2 API has no 'me' endpoint",
        "licenses": "Retool's v2 API exposes no seat or license counts",
        "incident_roles": "Retool has no incident roles",
        "schedules": "Retool has no on-call schedules, rotations or escalations",
        "assign_incident_role": "Retool has no incident roles",
        "unassign_incident_role": "Retool has no incident roles",
    }

    def users(self, *, search: str | None, email: str | None) -> Listing[User]:
        found = self.listing("/users", {"email": email}, lambda d: map_user, lean=lambda d: seen_user)
        found = self.with_email(found, email) if email else found
        # there is no name search: `email` is filtered upstream, a search term here
        return self.matching(found, lambda u: _matches(u, search.casefold())) if search else found

    def everyone(self) -> Listing[User]:
        """Every user in one request: without `limit`, `GET /users` returns them all (FACTS §3)."""
        return self.listing("/users", {}, lambda d: map_user, paginator=WHOLE, lean=lambda d: seen_user)

    async def user(self, user_id: str) -> User:
        document = await self.http.get(f"/users/{segment(user_id)}", {"includeGroups": "true"})
        return map_user(self.record(document))

    def groups(self, *, search: str | None) -> Listing[Group]:
        groups = self.listing("/groups", {}, lambda d: lambda r: map_group(r, with_members=False), paginator=WHOLE)
        return self.matching(groups, lambda g: search.casefold() in g.name.casefold()) if search else groups

    async def group(self, group_id: str) -> Group:
        return map_group(await self._group(group_id), with_members=True)

    async def lean_group(self, group_id: str) -> SeenGroup:
        return seen_group(await self._group(group_id))

    async def _group(self, group_id: str) -> dict[str, Any]:
        return self.record(await self.http.get(f"/groups/{segment(group_id)}"))

    def roles(self) -> Listing[Role]:
        # no limit or next_token on this endpoint (FACTS §3): one answer holds every role
        return self.listing("/role_permissions/roles", {}, lambda d: map_role, paginator=WHOLE)

    # Writes.

    async def add_group_member(self, group_id: str, user_id: str, role: str) -> Group | None:
        body = {"members": [{"id": user_id, "is_group_admin": role == "admin"}]}
        document = await self.http.write("POST", f"/groups/{segment(group_id)}/members", body)
        return await self.read_back(lambda: map_group(self.record(document), with_members=True))

    async def remove_group_member(self, group_id: str, user_id: str) -> Group | None:
        document = await self.http.write("DELETE", f"/groups/{segment(group_id)}/members/{segment(user_id)}")
        return await self.read_back(lambda: map_group(self.record(document), with_members=True))

    async def create_user(self, email: str, first_name: str, last_name: str, role: str | None) -> User | None:
        if role:
            raise InvalidArgument(
                "Retool users take no role when created; omit role, then add the user to a group", provider="retool"
            )
        body = {"email": email, "first_name": first_name, "last_name": last_name, "active": True}
        document = await self.http.write("POST", "/users", body)
        return await self.read_back(lambda: map_user(self.record(document)))

    async def deactivate_user(self, user_id: str) -> Deactivation:
        await self.http.write("DELETE", f"/users/{segment(user_id)}")  # 204: Retool disables the user
        return Deactivation(
            user_id=user_id, action="deactivated", user=await self.read_back(lambda: self.user(user_id))
        )


RETOOL = Provider(SPEC, Retool)
