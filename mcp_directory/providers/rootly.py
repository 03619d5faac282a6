"""Rootly: JSON:API over `/v1`, page-number pagination, teams are type "groups".

Quirks handled here:
- teams are JSON:API type "groups"; membership is the integer arrays `user_ids` and
  `admin_ids` on the team (admins are also in `user_ids`), not a sub-resource;
- a user's teams come back as included "groups" resources (`include=teams`), so the
  user's group ids are the included groups whose `user_ids` hold the user's id;
- the user's role is a relationship resolved through `included` (`include=role`);
- there is no user status: an account that lists is a member (Rootly deletes, never
  deactivates), so it is "active";
- no licenses or seats anywhere in the API.
"""

from __future__ import annotations

from typing import Any

from ..models import Group, IncidentRole, Member, Role, RoleRef, User
from ..paging import Chunk
from ..http import segment
from .base import Adapter, ProviderSpec, reset_epoch_seconds

SPEC = ProviderSpec(
    name="rootly",
    title="Rootly",
    api_root="",
    auth_scheme="Bearer",
    content_type="application/vnd.api+json",
    pagination="page_number",
    page_size=100,
    max_page_size=100,  # Rootly's MCP server: larger values are rejected (FACTS §1)
    rate_limit_headers=("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset"),
    requests_per_minute=3000,
    retry_after_from=reset_epoch_seconds("x-ratelimit-reset"),
)

ADMIN_ROLE_SLUGS = frozenset({"owner", "admin"})

Index = dict[tuple[str, str], dict[str, Any]]


def index_included(document: dict[str, Any]) -> Index:
    return {(r["type"], str(r["id"])): r for r in document.get("included") or [] if "type" in r and "id" in r}


def _related_id(resource: dict[str, Any], name: str) -> str | None:
    data = ((resource.get("relationships") or {}).get(name) or {}).get("data")
    return str(data["id"]) if isinstance(data, dict) and data.get("id") is not None else None


def _group_ids_of(user_id: str, included: Index) -> list[str]:
    ids = []
    for (kind, gid), group in included.items():
        if kind == "groups":
            members = (group.get("attributes") or {}).get("user_ids") or []
            if any(str(m) == user_id for m in members):
                ids.append(gid)
    return ids


def map_user(resource: dict[str, Any], included: Index, *, with_groups: bool) -> User:
    a = resource.get("attributes") or {}
    uid = str(resource["id"])
    role_id = _related_id(resource, "role")
    role = included.get(("roles", role_id)) if role_id else None
    role_attrs = (role or {}).get("attributes") or {}
    roles = [RoleRef(id=role_id, name=role_attrs["name"])] if role_id and role_attrs.get("name") else []
    full = a.get("full_name") or a.get("name") or " ".join(p for p in (a.get("first_name"), a.get("last_name")) if p)
    return User(
        id=uid,
        provider="rootly",
        email=a.get("email"),
        name=full or None,
        first_name=a.get("first_name"),
        last_name=a.get("last_name"),
        username=None,
        status="active",
        is_admin=(role_attrs.get("slug") in ADMIN_ROLE_SLUGS) if role else None,
        roles=roles,
        group_ids=_group_ids_of(uid, included) if with_groups else None,
        time_zone=a.get("time_zone"),
        created_at=a.get("created_at"),
        updated_at=a.get("updated_at"),
        last_active_at=None,
    )


def map_team(resource: dict[str, Any], *, with_members: bool) -> Group:
    a = resource.get("attributes") or {}
    user_ids = [str(u) for u in a.get("user_ids") or []]
    admins = {str(u) for u in a.get("admin_ids") or []}
    members = [Member(user_id=u, role="admin" if u in admins else "member") for u in user_ids]
    return Group(
        id=str(resource["id"]),
        provider="rootly",
        name=a.get("name") or "",
        description=a.get("description"),
        member_count=len(user_ids) if "user_ids" in a else None,
        members=members if with_members else None,
        created_at=a.get("created_at"),
        updated_at=a.get("updated_at"),
    )


def map_role(resource: dict[str, Any]) -> Role:
    a = resource.get("attributes") or {}
    kind = "on_call" if resource.get("type") == "on_call_roles" else "account"
    return Role(id=str(resource["id"]), provider="rootly", name=a.get("name") or "", description=a.get("description"), kind=kind)


def map_incident_role(resource: dict[str, Any]) -> IncidentRole:
    a = resource.get("attributes") or {}
    return IncidentRole(
        id=str(resource["id"]),
        name=a.get("name") or "",
        slug=a.get("slug"),
        description=a.get("description") or a.get("summary"),
        enabled=a.get("enabled"),
    )


# The role lists: account roles, then on-call roles, paged one after the other.
ROLE_LISTS = ("/v1/roles", "/v1/on_call_roles")


class Rootly(Adapter):
    spec = SPEC
    missing = {
        "licenses": "Rootly's API has no licenses or seats",
    }

    async def _page(self, path: str, number: int | None, params: dict[str, Any]) -> tuple[dict[str, Any], Any]:
        number = number or 1
        document = await self.http.get(path, {"page[number]": number, "page[size]": self.spec.page_size, **params})
        meta = document.get("meta") or {}
        return document, meta.get("next_page")

    async def users(self, state: Any, *, search: str | None, email: str | None) -> Chunk[User]:
        params = {"include": "role,teams", "filter[search]": search, "filter[email]": email}
        document, nxt = await self._page("/v1/users", state, params)
        included = index_included(document)
        items = [map_user(r, included, with_groups=True) for r in document.get("data") or []]
        return Chunk(items, nxt, (document.get("meta") or {}).get("total_count"))

    async def user(self, user_id: str) -> User:
        document = await self.http.get(f"/v1/users/{segment(user_id)}", {"include": "role,teams"})
        return map_user(document["data"], index_included(document), with_groups=True)

    async def me(self) -> User:
        document = await self.http.get("/v1/users/me", {"include": "role,teams"})
        return map_user(document["data"], index_included(document), with_groups=True)

    async def groups(self, state: Any, *, search: str | None) -> Chunk[Group]:
        document, nxt = await self._page("/v1/teams", state, {"filter[search]": search})
        items = [map_team(r, with_members=False) for r in document.get("data") or []]
        return Chunk(items, nxt, (document.get("meta") or {}).get("total_count"))

    async def group(self, group_id: str) -> Group:
        document = await self.http.get(f"/v1/teams/{segment(group_id)}")
        return map_team(document["data"], with_members=True)

    async def roles(self, state: Any) -> Chunk[Role]:
        which, number = state or [0, 1]
        document, nxt = await self._page(ROLE_LISTS[which], number, {})
        items = [map_role(r) for r in document.get("data") or []]
        if nxt is not None:
            following: Any = [which, nxt]
        else:
            following = [which + 1, 1] if which + 1 < len(ROLE_LISTS) else None
        return Chunk(items, following, None)

    async def incident_roles(self, state: Any) -> Chunk[IncidentRole]:
        document, nxt = await self._page("/v1/incident_roles", state, {})
        items = [map_incident_role(r) for r in document.get("data") or []]
        return Chunk(items, nxt, (document.get("meta") or {}).get("total_count"))

    async def ping(self) -> None:
        await self.http.get("/v1/users/me")
