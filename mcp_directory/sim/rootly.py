"""The simulated Rootly API (JSON:API): `/v1/users`, teams, roles, on-call roles, incident roles,
incidents — read side, and the app with every route (writes are in `rootly_writes`).

Wire quirks reproduced: every response, errors included, is `application/vnd.api+json`; lists are
page-number paginated with absolute `links` built from the request's own URL and a `meta` block;
the 429 body is NOT JSON:API (`{"error": ...}`); `X-RateLimit-*` headers on every response.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mcp_directory.sim.common import (
    Gate,
    SimError,
    SimOptions,
    SortedView,
    assemble,
    int_param,
    json_response,
    page_url,
)
from mcp_directory.sim.faults import SimApp
from mcp_directory.sim.rootly_dialect import MEDIA_TYPE, RootlyDialect
from mcp_directory.sim.rootly_oncall_writes import rootly_oncall_routes
from mcp_directory.sim.rootly_seed import RootlyDirectory
from mcp_directory.sim.rootly_writes import RootlyWrites, assignment_resources

IncludeFn = Callable[[list[dict[str, Any]]], list[dict[str, Any]] | None]
PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100
USER_INCLUDES = {
    "email_addresses",
    "phone_numbers",
    "devices",
    "role",
    "on_call_role",
    "teams",
    "schedules",
    "notification_rules",
}
TEAM_INCLUDES = {"users", "schedules", "escalation_policies"}
INCIDENT_INCLUDES = {
    "sub_statuses",
    "causes",
    "subscribers",
    "roles",
    "slack_messages",
    "environments",
    "incident_types",
    "services",
    "functionalities",
    "groups",
    "events",
    "action_items",
    "custom_field_selections",
    "feedbacks",
    "incident_post_mortem",
    "alerts",
}
PAGE_PARAMS = {"page[number]", "page[size]"}


def _contains(needle: str | None, *haystacks: Any) -> bool:
    return needle is None or any(needle.lower() in str(h or "").lower() for h in haystacks)


def _equals(wanted: str | None, value: Any) -> bool:
    return wanted is None or wanted.lower() == str(value if value is not None else "").lower()


def _includes(request: Request, allowed: set[str]) -> list[str] | None:
    raw = request.query_params.get("include")
    if raw is None:
        return None
    names = [n.strip() for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise SimError(400, f"Invalid include: {', '.join(unknown)}", title="Invalid include")
    return names


class RootlyApi:
    """Route handlers over one `RootlyDirectory` (read live, so later writes show up)."""

    def __init__(self, directory: RootlyDirectory, options: SimOptions) -> None:
        self.dir = directory
        self.size_default = options.page_size_default or PAGE_SIZE_DEFAULT
        self.size_max = options.page_size_max or PAGE_SIZE_MAX
        self.users_by_id = SortedView(lambda u: int(u["id"]))
        self._team_index: tuple[int, dict[int, list[str]]] | None = None

    def teams_of(self) -> dict[int, list[str]]:
        """user id -> ids of the teams listing it, rebuilt only after a write."""
        if self._team_index is None or self._team_index[0] != self.dir.version:
            index: dict[int, list[str]] = {}
            for team in self.dir.teams.values():
                for member in team["attributes"]["user_ids"] or []:
                    index.setdefault(member, []).append(team["id"])
            self._team_index = (self.dir.version, index)
        return self._team_index[1]

    # --- shared pieces --------------------------------------------------------------------------

    def page(self, request: Request, items: list[dict[str, Any]], included: IncludeFn | None = None) -> Response:
        """One page of `items`; `included(page_items)` fills `included` when the client asked."""
        try:
            size = int_param(request, "page[size]", self.size_default)
            number = int_param(request, "page[number]", 1)
        except ValueError as exc:
            raise SimError(400, "page[number] and page[size] must be integers", title="Bad Request") from exc
        if not 1 <= size <= self.size_max:
            raise SimError(400, f"page[size] must be between 1 and {self.size_max}", title="Invalid page size")
        if number < 1:
            raise SimError(400, "page[number] must be at least 1", title="Invalid page number")
        total = len(items)
        pages = math.ceil(total / size)
        chunk = items[(number - 1) * size : number * size]

        def link(n: int) -> str:
            return page_url(request, PAGE_PARAMS, [("page[number]", n), ("page[size]", size)])

        body: dict[str, Any] = {
            "data": chunk,
            "links": {
                "self": link(number),
                "first": link(1),
                "prev": link(number - 1) if number > 1 else None,
                "next": link(number + 1) if number < pages else None,
                "last": link(max(pages, 1)),
            },
            "meta": {
                "current_page": number,
                "next_page": number + 1 if number < pages else None,
                "prev_page": number - 1 if number > 1 else None,
                "total_count": total,
                "total_pages": pages,
            },
        }
        if included is not None:
            body["included"] = included(chunk)
        return json_response(body, 200, MEDIA_TYPE)

    @staticmethod
    def one(resource: dict[str, Any], included: list[dict[str, Any]] | None = None) -> Response:
        body: dict[str, Any] = {"data": resource}
        if included is not None:
            body["included"] = included
        return json_response(body, 200, MEDIA_TYPE)

    @staticmethod
    def find(table: dict[str, dict[str, Any]], key: str, kind: str) -> dict[str, Any]:
        """By id, or by slug where the resource has one (Rootly path ids are id or slug)."""
        if key in table:
            return table[key]
        for resource in table.values():
            if resource["attributes"].get("slug") == key:
                return resource
        raise SimError(404, f"Couldn't find {kind} with id {key}", title="Record not found")

    # --- users ----------------------------------------------------------------------------------

    def user_included(self, users: list[dict[str, Any]], names: list[str] | None) -> list[dict[str, Any]] | None:
        if names is None:
            return None
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for user in users:
            rels = user.get("relationships", {})
            for name, table in (("role", self.dir.roles), ("on_call_role", self.dir.on_call_roles)):
                ref = rels.get(name, {}).get("data")
                if name in names and ref and ref["id"] in table:
                    out[(ref["type"], ref["id"])] = table[ref["id"]]
            if "teams" in names:
                for team_id in self.teams_of().get(int(user["id"]), []):
                    out[("groups", team_id)] = self.dir.teams[team_id]
        return list(out.values())

    async def list_users(self, request: Request) -> Response:
        q = request.query_params
        names = _includes(request, USER_INCLUDES)
        users = self.users_by_id.get(self.dir.users, self.dir.version)  # shared: never mutate
        sort = q.get("sort")
        if sort:
            field = sort.lstrip("-")
            if field not in ("created_at", "updated_at"):
                raise SimError(400, f"Invalid sort: {sort}", title="Invalid sort")
            users = sorted(users, key=lambda u: u["attributes"][field], reverse=sort.startswith("-"))
        if q.get("filter[search]") is not None or q.get("filter[email]") is not None:
            users = [
                u
                for u in users
                if _contains(q.get("filter[search]"), u["attributes"]["full_name"], u["attributes"]["email"])
                and _equals(q.get("filter[email]"), u["attributes"]["email"])
            ]
        return self.page(request, users, None if names is None else (lambda chunk: self.user_included(chunk, names)))

    async def get_me(self, request: Request) -> Response:
        return self.one(self.dir.users[self.dir.me_id])

    async def get_user(self, request: Request) -> Response:
        names = _includes(request, USER_INCLUDES)
        user_id = request.path_params["id"]
        if user_id not in self.dir.users:
            raise SimError(404, f"Couldn't find User with id {user_id}", title="Record not found")
        user = self.dir.users[user_id]
        return self.one(user, self.user_included([user], names))

    # --- teams ----------------------------------------------------------------------------------

    def team_included(self, teams: list[dict[str, Any]], names: list[str] | None) -> list[dict[str, Any]] | None:
        if names is None:
            return None
        out: dict[str, dict[str, Any]] = {}
        if "users" in names:
            for team in teams:
                for user_id in team["attributes"]["user_ids"] or []:
                    if str(user_id) in self.dir.users:
                        out[str(user_id)] = self.dir.users[str(user_id)]
        return list(out.values())

    async def list_teams(self, request: Request) -> Response:
        q = request.query_params
        names = _includes(request, TEAM_INCLUDES)
        teams = [
            t
            for t in self.dir.teams.values()
            if _contains(
                q.get("filter[search]"),
                t["attributes"]["name"],
                t["attributes"]["slug"],
                t["attributes"]["description"],
            )
            and _equals(q.get("filter[name]"), t["attributes"]["name"])
            and _equals(q.get("filter[slug]"), t["attributes"]["slug"])
        ]
        return self.page(request, teams, None if names is None else (lambda chunk: self.team_included(chunk, names)))

    async def get_team(self, request: Request) -> Response:
        names = _includes(request, TEAM_INCLUDES)
        team = self.find(self.dir.teams, request.path_params["id"], "Team")
        return self.one(team, self.team_included([team], names))

    # --- roles, on-call roles, incident roles, incidents ----------------------------------------

    def simple_list(self, request: Request, table: dict[str, dict[str, Any]], *, enabled: bool = False) -> Response:
        q = request.query_params
        items = [
            r
            for r in table.values()
            if _contains(q.get("filter[search]"), r["attributes"]["name"], r["attributes"].get("slug"))
            and _equals(q.get("filter[name]"), r["attributes"]["name"])
            and _equals(q.get("filter[slug]"), r["attributes"].get("slug"))
            and (not enabled or _equals(q.get("filter[enabled]"), str(r["attributes"]["enabled"]).lower()))
        ]
        return self.page(request, items)

    async def list_roles(self, request: Request) -> Response:
        return self.simple_list(request, self.dir.roles)

    async def get_role(self, request: Request) -> Response:
        return self.one(self.find(self.dir.roles, request.path_params["id"], "Role"))

    async def list_on_call_roles(self, request: Request) -> Response:
        return self.simple_list(request, self.dir.on_call_roles)

    async def get_on_call_role(self, request: Request) -> Response:
        return self.one(self.find(self.dir.on_call_roles, request.path_params["id"], "OnCallRole"))

    async def list_incident_roles(self, request: Request) -> Response:
        return self.simple_list(request, self.dir.incident_roles, enabled=True)

    async def get_incident_role(self, request: Request) -> Response:
        return self.one(self.find(self.dir.incident_roles, request.path_params["id"], "IncidentRole"))

    async def list_incidents(self, request: Request) -> Response:
        items = sorted(self.dir.incidents.values(), key=lambda i: -i["attributes"]["sequential_id"])
        wanted = request.query_params.get("filter[sequential_id]")  # the number people call an incident by
        if wanted is not None:
            items = [i for i in items if str(i["attributes"]["sequential_id"]) == wanted]
        return self.page(request, items)

    async def get_incident(self, request: Request) -> Response:
        names = _includes(request, INCIDENT_INCLUDES)
        incident = self.find(self.dir.incidents, request.path_params["id"], "Incident")
        # Only `roles` has anything to include: the role assignments the write endpoints made.
        if names is None:
            return self.one(incident)
        return self.one(incident, assignment_resources(self.dir, incident["id"]) if "roles" in names else [])


def build_rootly_app(directory: RootlyDirectory, options: SimOptions) -> SimApp:
    gate = Gate(options, RootlyDialect(options.rate_window_s))
    api = RootlyApi(directory, options)
    writes = RootlyWrites(api)
    routes = [
        gate.route("/v1/users", api.list_users),
        gate.route("/v1/users/me", api.get_me),
        gate.route("/v1/users/{id}", api.get_user),
        gate.route("/v1/teams", api.list_teams),
        gate.route("/v1/teams/{id}", api.get_team),
        gate.route("/v1/roles", api.list_roles),
        gate.route("/v1/roles/{id}", api.get_role),
        gate.route("/v1/on_call_roles", api.list_on_call_roles),
        gate.route("/v1/on_call_roles/{id}", api.get_on_call_role),
        gate.route("/v1/incident_roles", api.list_incident_roles),
        gate.route("/v1/incident_roles/{id}", api.get_incident_role),
        gate.route("/v1/incidents", api.list_incidents),
        gate.route("/v1/incidents/{id}", api.get_incident),
        gate.route("/v1/users/{id}", writes.delete_user, ["DELETE"]),
        gate.route("/v1/teams/{id}", writes.update_team, ["PUT"]),
        gate.route("/v1/incidents/{id}/assign_role_to_user", writes.assign_role, ["POST"]),
        gate.route("/v1/incidents/{id}/unassign_role_from_user", writes.unassign_role, ["DELETE"]),
        *rootly_oncall_routes(gate, api),
    ]
    return assemble(gate, routes, api=api, writes=writes)
