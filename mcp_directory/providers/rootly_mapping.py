"""Rootly's pure functions: its JSON:API documents to the normalized models, and the
membership and incident-role rules the Rootly adapter (rootly.py) applies. No I/O here."""

from __future__ import annotations

from typing import Any, Literal

from ..errors import InvalidArgument, NotFound
from ..models import Group, IncidentRole, Member, Role, RoleRef, Seen, SeenGroup, User

ADMIN_ROLE_SLUGS = frozenset({"owner", "admin"})


class Included:
    """A document's `included` resources by (type, id), and which included teams each user is in.
    Built once per document: a page of users shares one index (teams can have thousands of members)."""

    def __init__(self, resources: list[dict[str, Any]], users: list[str] | None = None) -> None:
        self.by_key = {(r["type"], str(r["id"])): r for r in resources if "type" in r and "id" in r}
        self.groups_by_user: dict[str, list[str]] = {}
        wanted = {int(u) for u in users or [] if is_number(u)}  # user_ids are integers
        for (kind, gid), group in self.by_key.items():
            if kind == "groups":
                members = (group.get("attributes") or {}).get("user_ids") or []
                for member in wanted.intersection(members) if users is not None else members:
                    self.groups_by_user.setdefault(str(member), []).append(gid)

    def get(self, key: tuple[str, str | None]) -> dict[str, Any] | None:
        return self.by_key.get(key)  # type: ignore[arg-type]


def index_included(document: dict[str, Any]) -> Included:
    data = document.get("data")
    users = (
        [str(r["id"]) for r in data] if isinstance(data, list) else [str(data["id"])] if isinstance(data, dict) else []
    )
    return Included(document.get("included") or [], users)


def _related_id(resource: dict[str, Any], name: str) -> str | None:
    data = ((resource.get("relationships") or {}).get(name) or {}).get("data")
    return str(data["id"]) if isinstance(data, dict) and data.get("id") is not None else None


def full_name(attributes: dict[str, Any]) -> str | None:
    a = attributes
    full = a.get("full_name") or a.get("name") or " ".join(p for p in (a.get("first_name"), a.get("last_name")) if p)
    return full or None


def _role(resource: dict[str, Any], included: Included) -> tuple[str | None, dict[str, Any] | None, dict[str, Any]]:
    """The user's role: its id, its included resource and that resource's attributes."""
    role_id = _related_id(resource, "role")
    role = included.get(("roles", role_id)) if role_id else None
    return role_id, role, (role or {}).get("attributes") or {}


def seen_user(resource: dict[str, Any], included: Included) -> Seen:
    """What `map_user` says of the user that a whole-directory reader keeps, without the model."""
    a = resource.get("attributes") or {}
    _, role, role_attrs = _role(resource, included)
    is_admin = (role_attrs.get("slug") in ADMIN_ROLE_SLUGS) if role else None
    return (str(resource["id"]), a.get("email"), full_name(a), "active", is_admin, None)


def map_user(resource: dict[str, Any], included: Included, *, with_groups: bool) -> User:
    a = resource.get("attributes") or {}
    uid = str(resource["id"])
    role_id, role, role_attrs = _role(resource, included)
    roles = [RoleRef(id=role_id, name=role_attrs["name"])] if role_id and role_attrs.get("name") else []
    return User(
        id=uid,
        provider="rootly",
        email=a.get("email"),
        name=full_name(a),
        first_name=a.get("first_name"),
        last_name=a.get("last_name"),
        username=None,
        status="active",
        is_admin=(role_attrs.get("slug") in ADMIN_ROLE_SLUGS) if role else None,
        roles=roles,
        group_ids=list(included.groups_by_user.get(uid, [])) if with_groups else None,
        time_zone=a.get("time_zone"),
        created_at=a.get("created_at"),
        updated_at=a.get("updated_at"),
        last_active_at=None,
    )


def seen_team(resource: dict[str, Any]) -> SeenGroup:
    """What `map_team` says of a team's members that a whole-directory reader keeps: their ids
    are the team's own `user_ids`, whatever the document includes."""
    a = resource.get("attributes") or {}
    return (str(resource["id"]), a.get("name") or "", [str(u) for u in a.get("user_ids") or []])


def map_team(resource: dict[str, Any], *, with_members: bool, included: Included | None = None) -> Group:
    """A team; its members' emails and names come from the users resources in `included`
    (`include=users`), and are null for a member the document does not include."""
    a = resource.get("attributes") or {}
    user_ids = [str(u) for u in a.get("user_ids") or []]
    admins = {str(u) for u in a.get("admin_ids") or []}
    members = []
    for u in user_ids if with_members else ():  # a listed team says how many, not who
        user = (included.get(("users", u)) if included else None) or {}
        attrs = user.get("attributes") or {}
        role: Literal["admin", "member"] = "admin" if u in admins else "member"
        members.append(Member(user_id=u, role=role, email=attrs.get("email"), name=full_name(attrs)))
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
    kind: Literal["on_call", "account"] = "on_call" if resource.get("type") == "on_call_roles" else "account"
    return Role(
        id=str(resource["id"]), provider="rootly", name=a.get("name") or "", description=a.get("description"), kind=kind
    )


def map_incident_role(resource: dict[str, Any]) -> IncidentRole:
    a = resource.get("attributes") or {}
    return IncidentRole(
        id=str(resource["id"]),
        name=a.get("name") or "",
        slug=a.get("slug"),
        description=a.get("description"),  # never Rootly's `summary`: unknown is null (SPEC §4)
        enabled=a.get("enabled"),
    )


def team_members(resource: dict[str, Any]) -> tuple[list[int], list[int]]:
    a = resource.get("attributes") or {}
    return [int(u) for u in a.get("user_ids") or []], [int(u) for u in a.get("admin_ids") or []]


def with_member(user_ids: list[int], admin_ids: list[int], user: int, role: str) -> tuple[list[int], list[int]]:
    """Membership after adding `user` as `role`; admins must also be in user_ids."""
    users = user_ids if user in user_ids else [*user_ids, user]
    admins = [a for a in admin_ids if a != user] + ([user] if role == "admin" else [])
    return users, admins


def pick_incident_role(roles: list[IncidentRole], ref: str) -> IncidentRole:
    """The incident role an agent meant by an id, slug or name; unknown or ambiguous fails listing the choices."""
    exact = [r for r in roles if r.id == ref]
    matches = exact or [r for r in roles if ref.casefold() in {(r.slug or "").casefold(), r.name.casefold()}]
    choices = ", ".join(f"{r.name} (slug {r.slug}, id {r.id})" for r in roles)
    if not matches:
        raise NotFound(f"no Rootly incident role is {ref!r}; choose one of: {choices}", provider="rootly")
    if len(matches) > 1:
        listed = ", ".join(f"{r.name} (id {r.id})" for r in matches)
        raise InvalidArgument(f"{ref!r} matches several incident roles: {listed}; pass an id", provider="rootly")
    return matches[0]


def is_number(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also accepts "²" (which int() rejects) and Arabic-Indic
    digits (which int() silently converts into some other id)."""
    return text.isascii() and text.isdigit()


def numeric_user_id(user_id: str) -> int:
    if not is_number(user_id):
        raise InvalidArgument(
            f"Rootly user ids are numbers; {user_id!r} is not one (use list_users)", provider="rootly"
        )
    return int(user_id)
