"""The simulated Opsgenie API: `/v2/users`, teams, custom roles and account — read side, and the
app with every route (writes are in `opsgenie_writes`).

Wire quirks reproduced: `Authorization: GenieKey <key>`; every body carries `took` and
`requestId` (also sent as `X-Request-ID`); list users is offset paginated with absolute `paging`
URLs (`prev` absent on the first page, `next` absent on the last); the sort field is accepted as
`sortField` (spec) or `sort` (Go SDK); `X-RateLimit-State` is on every response.
"""

from __future__ import annotations

import shlex
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mcp_directory.sim.common import (
    Gate,
    LimitState,
    SimError,
    SimOptions,
    SortedView,
    assemble,
    elapsed_s,
    int_param,
    json_response,
    page_url,
)
from mcp_directory.sim.faults import SimApp
from mcp_directory.sim.opsgenie_oncall import OpsgenieOnCallReads
from mcp_directory.sim.opsgenie_oncall_writes import OpsgenieOnCallWrites
from mcp_directory.sim.opsgenie_seed import OpsgenieDirectory
from mcp_directory.sim.opsgenie_writes import OpsgenieWrites

PAGE_SIZE_DEFAULT = 100
PAGE_SIZE_MAX = 100
UNPROCESSABLE = "Request body is not processable. Please check the errors."
SORT_FIELDS = {
    "username": "username",
    "fullName": "fullName",
    "fullName.raw": "fullName",
    "insertedAt": "createdAt",
    "createdAt": "createdAt",
    "role": "role",
    "verified": "verified",
    "blocked": "blocked",
}
PAGING_PARAMS = {"offset", "limit", "sort", "sortField", "order"}


def _took(request: Request) -> float:
    return round(max(elapsed_s(request), 0.001), 3)


class OpsgenieDialect:
    auth_scheme = "GenieKey"
    default_rate_limit = 3000

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s

    def body(self, request: Request, payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "took": _took(request), "requestId": request.state.request_id}

    def error(self, request: Request, status: int, message: str, **extra: Any) -> Response:
        payload: dict[str, Any] = {"message": message}
        if "errors" in extra:
            payload["errors"] = extra["errors"]
        if "code" in extra:
            payload["code"] = extra["code"]
        return json_response(self.body(request, payload), status)

    def unauthorized(self, request: Request) -> Response:
        # Documented meaning of 401: "apiKey is invalid or integration is disabled".
        return self.error(request, 401, "Could not authenticate: apiKey is invalid or integration is disabled")

    def too_many_requests(self, request: Request, state: LimitState) -> Response:
        return self.error(request, 429, "TooManyRequests")

    def decorate(self, request: Request, response: Response, state: LimitState) -> None:
        response.headers["X-Request-ID"] = request.state.request_id
        response.headers["X-Response-Time"] = f"{_took(request):.3f}"
        response.headers["X-RateLimit-State"] = "THROTTLED" if response.status_code == 429 else "OK"
        if response.status_code == 429:
            response.headers["X-RateLimit-Reason"] = "ACCOUNT"
            response.headers["X-RateLimit-Period-In-Sec"] = str(state.period_s)

    def bucket(self, method: str) -> str:
        return "account"


def _unprocessable(field: str, problem: str) -> SimError:
    return SimError(422, UNPROCESSABLE, errors={field: problem})


def _bool_text(value: Any) -> str:
    return str(value).lower()


def query_terms(query: str) -> list[str]:
    try:
        return [t for t in shlex.split(query) if t.upper() != "AND"]
    except ValueError as exc:
        raise _unprocessable("query", f"Invalid query: {exc}") from exc


def user_matches(user: dict[str, Any], query: str | list[str]) -> bool:
    """Opsgenie's user `query`: `field:value` terms and bare terms, all of which must match."""
    for term in query_terms(query) if isinstance(query, str) else query:
        field, sep, value = term.partition(":")
        value = value.lower()
        if not sep:  # a bare term: substring of username or full name
            ok = term.lower() in user["username"].lower() or term.lower() in user["fullName"].lower()
        elif field == "username":
            ok = user["username"].lower() == value
        elif field == "fullName":
            ok = value in user["fullName"].lower()
        elif field in ("blocked", "verified"):
            ok = _bool_text(user[field]) == value
        elif field == "role":
            ok = user["role"]["name"].lower() == value
        elif field in ("locale", "timeZone", "createdAt"):
            ok = str(user.get(field, "")).lower().startswith(value)
        elif field == "userAddress":
            ok = value in " ".join(user.get("userAddress", {}).values()).lower()
        else:
            raise _unprocessable("query", f"Field '{field}' is not searchable")
        if not ok:
            return False
    return True


class OpsgenieApi:
    """Route handlers over one `OpsgenieDirectory` (read live, so later writes show up)."""

    def __init__(self, directory: OpsgenieDirectory, options: SimOptions, dialect: OpsgenieDialect) -> None:
        self.dir = directory
        self.dialect = dialect
        self.size_default = options.page_size_default or PAGE_SIZE_DEFAULT
        self.size_max = options.page_size_max or PAGE_SIZE_MAX
        self.views: dict[str, SortedView] = {}

    def sorted_users(self, key: str) -> list[dict[str, Any]]:
        """All users ascending by `key` then id, cached until the next write (never mutate it)."""
        if key not in self.views:
            self.views[key] = SortedView(lambda u: (str(u[key]["name"] if key == "role" else u[key]).lower(), u["id"]))
        return self.views[key].get(self.dir.users, self.dir.version)

    def ok(self, request: Request, payload: dict[str, Any]) -> Response:
        return json_response(self.dialect.body(request, payload))

    def find_user(self, identifier: str) -> dict[str, Any]:
        if identifier in self.dir.users:
            return self.dir.users[identifier]
        for user in self.dir.users.values():
            if user["username"].lower() == identifier.lower():
                return user
        raise SimError(404, f"No user exists with identifier [{identifier}].")

    async def list_users(self, request: Request) -> Response:
        q = request.query_params
        try:
            limit = int_param(request, "limit", self.size_default)
        except ValueError as exc:
            raise _unprocessable("limit", "must be an integer") from exc
        try:
            offset = int_param(request, "offset", 0)
        except ValueError as exc:
            raise _unprocessable("offset", "must be an integer") from exc
        if not 1 <= limit <= self.size_max:
            raise _unprocessable("limit", f"must be between 1 and {self.size_max}")
        if offset < 0:
            raise _unprocessable("offset", "must be greater than or equal to 0")
        sort = q.get("sort") or q.get("sortField") or "username"
        order = q.get("order", "asc")
        if sort not in SORT_FIELDS:
            raise _unprocessable("sort", f"Invalid sort field '{sort}'")
        if order not in ("asc", "desc"):
            raise _unprocessable("order", f"Invalid order '{order}'")
        key = SORT_FIELDS[sort]
        users = self.sorted_users(key)
        terms = query_terms(q.get("query", ""))
        if terms:
            users = [u for u in users if user_matches(u, terms)]
        if order == "desc":  # keys are unique (id breaks ties), so this is the descending sort
            users = users[::-1]
        total = len(users)

        def link(at: int) -> str:
            return page_url(
                request, PAGING_PARAMS, [("offset", at), ("limit", limit), ("sort", sort), ("order", order)]
            )

        paging = {}
        if offset > 0:
            paging["prev"] = link(max(offset - limit, 0))
        if offset + limit < total:
            paging["next"] = link(offset + limit)
        paging["first"] = link(0)
        paging["last"] = link(((total - 1) // limit) * limit if total else 0)
        return self.ok(request, {"totalCount": total, "data": users[offset : offset + limit], "paging": paging})

    async def get_user(self, request: Request) -> Response:
        user = dict(self.find_user(request.path_params["identifier"]))
        expand = {e.strip() for e in request.query_params.get("expand", "").split(",") if e.strip()}
        if "contact" in expand:
            user["userContacts"] = self.dir.contacts.get(user["id"], [])
        return self.ok(request, {"data": user, "expandable": ["contact"]})

    async def get_user_teams(self, request: Request) -> Response:
        user = self.find_user(request.path_params["identifier"])
        teams = [
            {"id": t["id"], "name": t["name"]}
            for t in self.dir.teams.values()
            if any(m["user"]["id"] == user["id"] for m in t["members"])
        ]
        return self.ok(request, {"data": teams})

    async def list_teams(self, request: Request) -> Response:
        teams = [{"id": t["id"], "name": t["name"], "description": t["description"]} for t in self.dir.teams.values()]
        return self.ok(request, {"data": teams, "expandable": ["member"]})

    async def get_team(self, request: Request) -> Response:
        identifier = request.path_params["identifier"]
        kind = request.query_params.get("identifierType", "id")
        if kind not in ("id", "name"):
            raise _unprocessable("identifierType", f"Invalid identifierType '{kind}'")
        for team in self.dir.teams.values():
            if (kind == "id" and team["id"] == identifier) or (kind == "name" and team["name"] == identifier):
                return self.ok(request, {"data": team})
        raise SimError(404, f"No team exists with {kind} [{identifier}].")

    async def list_roles(self, request: Request) -> Response:
        return self.ok(request, {"data": list(self.dir.roles.values())})

    async def get_account(self, request: Request) -> Response:
        account = {**self.dir.account, "userCount": len(self.dir.users)}
        return self.ok(request, {"data": account})


def build_opsgenie_app(directory: OpsgenieDirectory, options: SimOptions) -> SimApp:
    dialect = OpsgenieDialect(options.rate_window_s)
    gate = Gate(options, dialect)
    api = OpsgenieApi(directory, options, dialect)
    writes = OpsgenieWrites(api)
    routes = [
        gate.route("/v2/users", api.list_users),
        gate.route("/v2/users/{identifier}", api.get_user),
        gate.route("/v2/users/{identifier}/teams", api.get_user_teams),
        gate.route("/v2/teams", api.list_teams),
        gate.route("/v2/teams/{identifier}", api.get_team),
        gate.route("/v2/roles", api.list_roles),
        gate.route("/v2/account", api.get_account),
        gate.route("/v2/users", writes.create_user, ["POST"]),
        gate.route("/v2/users/{identifier}", writes.update_user, ["PATCH"]),
        gate.route("/v2/users/{identifier}", writes.delete_user, ["DELETE"]),
        gate.route("/v2/teams/{identifier}/members", writes.add_member, ["POST"]),
        gate.route("/v2/teams/{identifier}/members/{member}", writes.remove_member, ["DELETE"]),
        *oncall_routes(gate, api),
    ]
    return assemble(gate, routes, api=api, writes=writes)


def oncall_routes(gate: Gate, api: OpsgenieApi) -> list[Any]:
    """Schedules, rotations, overrides, escalations and on-calls (opsgenie_oncall*)."""
    reads = OpsgenieOnCallReads(api)
    writes = OpsgenieOnCallWrites(api, reads)
    schedule = "/v2/schedules/{identifier}"
    return [
        gate.route("/v2/schedules", reads.list_schedules),
        gate.route("/v2/schedules/on-calls", reads.all_on_calls),
        gate.route(schedule, reads.get_schedule),
        gate.route(schedule, writes.update_schedule, ["PATCH"]),
        gate.route(schedule + "/on-calls", reads.schedule_on_calls),
        gate.route(schedule + "/rotations", reads.list_rotations),
        gate.route(schedule + "/rotations/{id}", reads.get_rotation),
        gate.route(schedule + "/rotations/{id}", writes.update_rotation, ["PATCH"]),
        gate.route(schedule + "/overrides", reads.list_overrides),
        gate.route(schedule + "/overrides", writes.create_override, ["POST"]),
        gate.route(schedule + "/overrides/{alias}", reads.get_override),
        gate.route(schedule + "/overrides/{alias}", writes.replace_override, ["PUT"]),
        gate.route(schedule + "/overrides/{alias}", writes.delete_override, ["DELETE"]),
        gate.route("/v2/escalations", reads.list_escalations),
        gate.route("/v2/escalations/{identifier}", reads.get_escalation),
        gate.route("/v2/escalations/{identifier}", writes.update_escalation, ["PATCH"]),
        gate.route("/v2/users/{identifier}/schedules", reads.user_schedules),
        gate.route("/v2/users/{identifier}/escalations", reads.user_escalations),
    ]
