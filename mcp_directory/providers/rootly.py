"""Rootly: JSON:API over `/v1`, page-number pagination, teams are type "groups".

Quirks handled here:
- teams are JSON:API type "groups"; membership is the integer arrays `user_ids` and
  `admin_ids` on the team (admins are also in `user_ids`), not a sub-resource;
- a user's teams come back as included "groups" resources (`include=teams`), so the
  user's group ids are the included groups whose `user_ids` hold the user's id;
- the user's role is a relationship resolved through `included` (`include=role`);
- there is no user status: an account that lists is a member (Rootly deletes, never
  deactivates), so it is "active";
- no licenses or seats anywhere in the API;
- no user creation, and DELETE on a user deletes it (there is no deactivation);
- membership writes replace the team's whole `user_ids`/`admin_ids` (read, change, PUT), so
  two of them on one team at once would lose one update: they run as `locks.replace_whole_list`
  under the lock `rootly:team:<team id>` (in Redis when replicas share one). A team named by
  slug is first resolved to its id (its UUID; a path takes either), so both spellings take one
  lock; the PUT and the reads under the lock go to the id;
- incident role (un)assignment takes ids only; users are resolved here by email
  (`filter[email]`) and roles by id, slug or name against `/v1/incident_roles`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

from ..aio import gather
from ..errors import InvalidArgument, NotFound
from ..http import segment
from ..locks import replace_whole_list
from ..models import (
    Assignment,
    Deactivation,
    Group,
    IncidentRef,
    IncidentRole,
    Role,
    SeenGroup,
    User,
    UserRef,
)
from ..paging import Listing, chained, every
from ..spec import PageNumber, ProviderSpec, Setting, seconds, whole_number
from .base import Adapter, Provider
from .rootly_mapping import (
    Included,
    index_included,
    is_number,
    map_incident_role,
    map_role,
    map_team,
    map_user,
    numeric_user_id,
    pick_incident_role,
    seen_team,
    seen_user,
    team_members,
    with_member,
)
from .rootly_oncall import RootlyOnCall


def error_text(data: dict[str, Any]) -> str | None:
    """JSON:API `errors_list` (title, detail); the 429 body is `{"error": "..."}` instead."""
    errors = data.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return " - ".join(str(v) for v in (errors[0].get("title"), errors[0].get("detail")) if v) or None
    return data.get("error") if isinstance(data.get("error"), str) else None


def reset_wait(headers: Mapping[str, str], now: float) -> float | None:
    """Rootly sends no Retry-After; X-RateLimit-Reset is the UTC epoch second the window resets."""
    reset = seconds(headers.get("x-ratelimit-reset"))
    return None if reset is None else max(0.0, round(reset - now, 3))


def is_team_id(ref: str) -> bool:
    """A team id as Rootly writes them: a UUID in its one spelling (lowercase, with dashes)."""
    try:
        return str(uuid.UUID(ref)) == ref
    except ValueError:
        return False


def _meta(document: Any) -> dict[str, Any]:
    meta = document.get("meta") if isinstance(document, dict) else None
    return meta if isinstance(meta, dict) else {}


SPEC = ProviderSpec(
    name="rootly",
    title="Rootly",
    settings=(
        Setting("credential", "ROOTLY_API_TOKEN", "Rootly API token", secret=True),
        Setting(
            "base_url",
            "ROOTLY_BASE_URL",
            "API base URL; paths are /v1/... below it",
            "https://api.rootly.com",
            url=True,
        ),
    ),
    api_root="",
    auth_scheme="Bearer",
    content_type="application/vnd.api+json",
    paginator=PageNumber(
        number_param="page[number]",
        size_param="page[size]",
        next_page=lambda document: whole_number(_meta(document).get("next_page")),
        page_count=lambda document: whole_number(_meta(document).get("total_pages")),
        total=lambda document: whole_number(_meta(document).get("total_count")),
        max_size=100,  # Rootly's MCP server: larger values are rejected (FACTS §1)
    ),
    page_size=100,
    rate_limit_headers=("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-used", "x-ratelimit-reset"),
    requests_per_minute=3000,
    proxy_prefix="/v1/",
    concurrent_pages=8,  # 3000 requests a minute (FACTS §1): eight at a time stays far below
    user_delete="deleted",
    ping="/v1/users/me",
    retry_after_from=reset_wait,
    error_text=error_text,
)


Members = tuple[list[int], list[int]]  # a team's user_ids and admin_ids
Change = Callable[[list[int], list[int]], Members | None]  # None: already as asked
Holds = Callable[[list[int], list[int]], bool]

# The role lists: account roles, then on-call roles, paged one after the other.
ROLE_LISTS = ("/v1/roles", "/v1/on_call_roles")


class Rootly(RootlyOnCall, Adapter):
    spec = SPEC
    missing: ClassVar[dict[str, str]] = {
        "licenses": "Rootly's API has no licenses or seats",
        "create_user": "Rootly's API cannot create users (there is no POST /v1/users); invite them in Rootly's web app",
    }

    def users(self, *, search: str | None, email: str | None) -> Listing[User]:
        params = {"include": "role,teams", "filter[search]": search, "filter[email]": email}
        found = self._people(params, with_groups=True)
        return self.with_email(found, email) if email else found

    def everyone(self) -> Listing[User]:
        """Every user, without their teams (group_ids null): a reader of the whole directory takes
        memberships from the teams' side, and the teams a users page includes (each with every
        member's id) make the page five times as long (bench h)."""
        return self._people({"include": "role"}, with_groups=False)

    def _people(self, params: dict[str, Any], *, with_groups: bool) -> Listing[User]:
        def users(document: Any) -> Any:
            included = index_included(document)  # once a page
            return lambda record: map_user(record, included, with_groups=with_groups)

        def lean(document: Any) -> Any:
            # Its own index of the page: the page holds only the users' roles (`include=role`).
            included = index_included(document)
            return lambda record: seen_user(record, included)

        return self.listing("/v1/users", params, users, lean=None if with_groups else lean)

    async def user(self, user_id: str) -> User:
        document = await self.http.get(f"/v1/users/{segment(user_id)}", {"include": "role,teams"})
        return map_user(self.record(document), index_included(document), with_groups=True)

    async def me(self) -> User:
        document = await self.http.get("/v1/users/me", {"include": "role,teams"})
        return map_user(self.record(document), index_included(document), with_groups=True)

    def groups(self, *, search: str | None) -> Listing[Group]:
        return self.listing(
            "/v1/teams", {"filter[search]": search}, lambda d: lambda r: map_team(r, with_members=False)
        )

    async def group(self, group_id: str) -> Group:
        team, included = await self._team(group_id)
        return map_team(team, with_members=True, included=included)

    async def lean_group(self, group_id: str) -> SeenGroup:
        """Without the members' user resources (`include=users`): their ids are the team's own."""
        return seen_team(self.record(await self.http.get(f"/v1/teams/{segment(group_id)}")))

    def roles(self) -> Listing[Role]:
        """Account roles, then on-call roles, one list after the other."""
        return chained(*(self.listing(path, {}, lambda d: map_role) for path in ROLE_LISTS))

    def incident_roles(self) -> Listing[IncidentRole]:
        return self.listing("/v1/incident_roles", {}, lambda d: map_incident_role)

    # Writes.

    async def _team(self, group_id: str) -> tuple[dict[str, Any], Included]:
        """A team and its members' user resources (`include=users`: their emails, in the same request)."""
        document = await self.http.get(f"/v1/teams/{segment(group_id)}", {"include": "users"})
        team = self.record(document)
        included = document.get("included") or []
        if not isinstance(included, list) or not all(isinstance(r, dict) for r in included):
            raise self.malformed("a list of resources under included")
        return team, Included(included)

    async def _team_id(self, ref: str) -> str:
        """The id of the team `ref` names: `ref` itself when it is a team id as Rootly writes them
        (a lowercase UUID), else (a slug) the id Rootly answers for it, read without its users."""
        if is_team_id(ref):
            return ref
        return str(self.record(await self.http.get(f"/v1/teams/{segment(ref)}"))["id"])

    async def _change_members(self, ref: str, user: int, change: Change, holds: Holds) -> Group:
        """Read the team, PUT `change(users, admins)` (None: nothing to change), read it back,
        under the team's lock; `conflict` if `holds(users, admins)` is false after."""
        team_id = await self._team_id(ref)
        named = team_id if ref == team_id else f"{ref} ({team_id})"

        async def read() -> tuple[dict[str, Any], Included]:
            team, included = await self._team(team_id)
            if str(team.get("id")) != team_id:  # the lock's name would not be this team's
                raise InvalidArgument(
                    f"Rootly answered team {team.get('id')} for {ref!r}; pass that id", provider="rootly"
                )
            return team, included

        async def write(members: Members) -> None:
            users, admins = members
            body = {"data": {"type": "groups", "attributes": {"user_ids": users, "admin_ids": admins}}}
            await self.http.write("PUT", f"/v1/teams/{segment(team_id)}", body)

        team, included = await replace_whole_list(
            self.locks,
            f"rootly:team:{team_id}",
            what=f"Rootly team {named}",
            read=read,
            change=lambda team: change(*team_members(team[0])),
            write=write,
            holds=lambda team: holds(*team_members(team[0])),
            conflict=f"Rootly team {named} was changed by someone else at the same time, and user {user}'s "
            "membership is not as asked; read the team with get_group and retry",
            provider="rootly",
        )
        return map_team(team, with_members=True, included=included)

    async def add_group_member(self, group_id: str, user_id: str, role: str) -> Group:
        user = numeric_user_id(user_id)

        def change(users: list[int], admins: list[int]) -> Members | None:
            new_users, new_admins = with_member(users, admins, user, role)
            return None if (new_users, sorted(new_admins)) == (users, sorted(admins)) else (new_users, new_admins)

        def holds(users: list[int], admins: list[int]) -> bool:
            return user in users and (user in admins) == (role == "admin")

        return await self._change_members(group_id, user, change, holds)

    async def remove_group_member(self, group_id: str, user_id: str) -> Group:
        user = numeric_user_id(user_id)

        def change(users: list[int], admins: list[int]) -> Members:
            if user not in users:
                raise NotFound(f"user {user_id} is not a member of Rootly team {group_id}", provider="rootly")
            return [u for u in users if u != user], [a for a in admins if a != user]

        def holds(users: list[int], admins: list[int]) -> bool:
            return user not in users and user not in admins

        return await self._change_members(group_id, user, change, holds)

    async def deactivate_user(self, user_id: str) -> Deactivation:
        document = await self.http.write("DELETE", f"/v1/users/{segment(user_id)}")
        user = map_user(self.record(document), Included([]), with_groups=False) if document else None
        return Deactivation(user_id=user_id, action="deleted", user=user)

    async def resolve_user(self, ref: str) -> User:
        """A Rootly user from an id or an email address."""
        if "@" not in ref:
            return await self.user(ref)
        found = [u async for u in every(self.name, self.users(search=None, email=ref), max_items=5)]
        if not found:
            raise NotFound(f"no Rootly user has the email {ref!r}; check it with find_users", provider="rootly")
        if len(found) > 1:
            ids = ", ".join(u.id for u in found)
            raise InvalidArgument(
                f"several Rootly users have the email {ref!r} (ids {ids}); pass an id", provider="rootly"
            )
        return found[0]

    async def resolve_incident_role(self, ref: str) -> IncidentRole:
        roles = [r async for r in every(self.name, self.incident_roles())]
        return pick_incident_role(roles, ref)

    async def resolve_incident(self, ref: str) -> str:
        """An incident's id from its id, slug, or the number people call it by ("incident 42")."""
        if not is_number(ref):
            return ref
        document = await self.http.get("/v1/incidents", {"filter[sequential_id]": ref, "page[size]": 1})
        found = self.records(document)
        if not found:
            raise NotFound(
                f"Rootly has no incident number {ref}; check the number or pass the incident id", provider="rootly"
            )
        return str(found[0]["id"])

    async def _assignment(
        self, method: str, action: Literal["assigned", "unassigned"], incident_ref: str, user_ref: str, role_ref: str
    ) -> Assignment:
        incident_id, user, role = await gather(
            self.resolve_incident(incident_ref), self.resolve_user(user_ref), self.resolve_incident_role(role_ref)
        )
        verb = "assign_role_to_user" if action == "assigned" else "unassign_role_from_user"
        body = {"data": {"type": "incidents", "attributes": {"user_id": user.id, "incident_role_id": role.id}}}
        document = await self.http.write(method, f"/v1/incidents/{segment(incident_id)}/{verb}", body)
        incident = (document or {}).get("data") or {"id": incident_id}
        return Assignment(
            action=action,
            incident=IncidentRef(id=str(incident["id"]), title=(incident.get("attributes") or {}).get("title")),
            user=UserRef(id=user.id, email=user.email, name=user.name),
            incident_role=role,
        )

    async def assign_incident_role(self, incident_id: str, user: str, incident_role: str) -> Assignment:
        return await self._assignment("POST", "assigned", incident_id, user, incident_role)

    async def unassign_incident_role(self, incident_id: str, user: str, incident_role: str) -> Assignment:
        return await self._assignment("DELETE", "unassigned", incident_id, user, incident_role)


ROOTLY = Provider(SPEC, Rootly)
