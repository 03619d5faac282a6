"""The simulated Okta org: users, groups, admin roles and the org authorization server.

Wire quirks reproduced (FACTS.md, the management spec subset):
- lists are bare JSON arrays; the next page is the `Link` header's `rel="next"` URL (an `after`
  cursor: the last id served), beside `rel="self"`; `limit` at most 200 for users (a larger one
  gets 200), groups up to 10000, group members up to 1000;
- `GET /api/v1/users` leaves DEPROVISIONED users out, while `search` and `filter` include them;
  `q` is a prefix match on names and email, unpaged, default 10, deprovisioned left out;
- `/api/v1/iam/assignees/users` pages in the body: `{"value": [...], "_links": {"next": {"href"}}}`;
- `/api/v1/iam/roles` answers `{"roles": [...], "_links": {...}}` (custom roles; not in the
  spec subset: shaped as Okta's docs show it);
- `Authorization: SSWS <token>` (the admin `/users/me` names) or `Bearer <access token>` from
  `/oauth2/v1/token` (okta_oauth.py), whose scopes each endpoint checks, and whose app needs an
  admin role (else 403 E0000006);
- errors `{"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}`; every answer
  carries `X-Rate-Limit-Limit`, `-Remaining` and `-Reset` (epoch seconds); a 429 is E0000047.
"""

from __future__ import annotations

import bisect
import uuid
from collections.abc import Callable
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
    json_response,
    page_url,
)
from mcp_directory.sim.faults import SimApp
from mcp_directory.sim.okta_oauth import TokenEndpoint
from mcp_directory.sim.okta_search import parse
from mcp_directory.sim.okta_seed import OktaDirectory

USERS_MAX, GROUPS_MAX, MEMBERS_MAX, ASSIGNEES_MAX = 200, 10_000, 1000, 100
CODES = {400: "E0000001", 401: "E0000011", 403: "E0000006", 404: "E0000007", 405: "E0000022", 429: "E0000047"}
SUMMARIES = {
    401: "Invalid token provided",
    403: "You do not have permission to perform the requested action",
    429: "API call exceeded rate limit due to too many requests.",
}


class OktaDialect:
    auth_scheme = "SSWS"
    default_rate_limit = 600  # the users bucket, per minute (FACTS §6)

    def error(self, request: Request, status: int, message: str, **extra: Any) -> Response:
        if "oauth" in extra or request.url.path.startswith("/oauth2/"):
            return json_response({"error": extra.get("oauth", "server_error"), "error_description": message}, status)
        code = extra.get("code") or CODES.get(status, "E0000009")
        causes = [{"errorSummary": extra["cause"]}] if extra.get("cause") else []
        body = {
            "errorCode": code,
            "errorSummary": message,
            "errorLink": code,
            "errorId": f"oae{uuid.uuid4().hex[:22]}",
            "errorCauses": causes,
        }
        return json_response(body, status)

    def unauthorized(self, request: Request) -> Response:
        return self.error(request, 401, SUMMARIES[401])

    def too_many_requests(self, request: Request, state: LimitState) -> Response:
        response = self.error(request, 429, SUMMARIES[429])
        self.decorate(request, response, state)
        return response

    def decorate(self, request: Request, response: Response, state: LimitState) -> None:
        response.headers["X-Rate-Limit-Limit"] = str(state.limit)
        response.headers["X-Rate-Limit-Remaining"] = str(0 if not state.allowed else state.remaining)
        response.headers["X-Rate-Limit-Reset"] = str(state.reset_epoch)

    def bucket(self, method: str) -> str:
        return "api"


class OktaGate(Gate):
    """The gate with Okta's two sign-ins; it notes who asked on `request.state.principal`:
    `("ssws", ())`, or `(client id, scopes)` for an access token."""

    oauth: TokenEndpoint | None = None

    def authorized(self, request: Request) -> bool:
        if request.url.path == "/oauth2/v1/token":
            return True  # the client assertion is the credential there
        scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
        assert self.oauth is not None
        if scheme == "SSWS" and value == self.options.token:
            request.state.principal = ("ssws", ())
            return True
        found = self.oauth.principal(value) if scheme == "Bearer" and value else None
        request.state.principal = found
        return found is not None


def scope_of(path: str) -> str | None:
    """The scope an endpoint needs (FACTS §1: `/users/{id}/groups` is a users scope)."""
    if path.startswith("/api/v1/iam/") or path.endswith("/roles"):
        return "okta.roles.read"
    if path.startswith("/api/v1/groups"):
        return "okta.groups.read"
    if path.startswith("/api/v1/users"):
        return "okta.users.read"
    return None


def bare_list(request: Request, items: list[dict[str, Any]], next_after: str | None) -> Response:
    response = json_response(items)
    links = [f'<{page_url(request, {"after"}, [])}>; rel="self"']
    if next_after is not None:
        links.append(f'<{page_url(request, {"after"}, [("after", next_after)])}>; rel="next"')
    response.headers["Link"] = ", ".join(links)
    return response


def limit_of(request: Request, default: int, cap: int) -> int:
    raw = request.query_params.get("limit")
    if raw in (None, ""):
        return default
    try:
        limit = int(raw)
    except ValueError:
        raise SimError(400, "Api validation failed: limit", cause="limit: must be an integer") from None
    if limit < 1:
        raise SimError(400, "Api validation failed: limit", cause="limit: must be greater than 0")
    return min(limit, cap)


def after_page(request: Request, records: list[dict[str, Any]], limit: int) -> Response:
    """A page of records (sorted by id) after the `after` cursor, with its Link header."""
    after = request.query_params.get("after")
    start = bisect.bisect_right(records, after, key=lambda r: r["id"]) if after else 0
    page = records[start : start + limit]
    more = start + limit < len(records)
    return bare_list(request, page, page[-1]["id"] if more and page else None)


class OktaApi:
    """Route handlers over one `OktaDirectory` (read live)."""

    def __init__(self, directory: OktaDirectory, options: SimOptions) -> None:
        self.dir = directory
        self.users_max = min(options.page_size_max or USERS_MAX, USERS_MAX)
        self.by_id = SortedView(lambda u: u["id"])
        # the default list (without the deprovisioned), by the sorted list it was made from
        self.default: tuple[list[dict[str, Any]], list[dict[str, Any]]] = ([], [])

    async def check_scope(self, request: Request) -> Response | None:
        """A Gate hook: an access token must carry the endpoint's scope, and its app an admin role."""
        principal = getattr(request.state, "principal", None)
        if principal is None or principal[0] == "ssws":
            return None
        client = self.dir.clients[principal[0]]
        needed = scope_of(request.url.path)
        if needed is not None and needed not in principal[1]:
            cause = f"The access token provided does not contain the required scopes: {needed}"
            return OktaDialect().error(request, 403, SUMMARIES[403], cause=cause)
        if not client.admin_role:
            return OktaDialect().error(request, 403, SUMMARIES[403], cause="The service app has no admin role assigned")
        return None

    def sorted_users(self) -> list[dict[str, Any]]:
        return self.by_id.get(self.dir.users, self.dir.version)  # shared: never mutate

    def find_user(self, key: str, request: Request) -> dict[str, Any]:
        if key == "me":
            principal = getattr(request.state, "principal", None)
            if principal and principal[0] == "ssws":
                return self.dir.users[self.dir.me_id]
        found = self.dir.users.get(key) or next(
            (u for u in self.dir.users.values() if u["profile"]["login"].casefold() == key.casefold()), None
        )
        if found is None:
            raise SimError(404, f"Not found: Resource not found: {key} (User)")
        return found

    async def list_users(self, request: Request) -> Response:
        q = request.query_params
        users = self.sorted_users()
        if q.get("search") or q.get("filter"):
            keep = parse(q["search"]) if q.get("search") else parse(q["filter"], only_eq=True)
            return after_page(request, [u for u in users if keep(u)], limit_of(request, USERS_MAX, self.users_max))
        if self.default[0] is not users:  # the table changed
            self.default = (users, [u for u in users if u["status"] != "DEPROVISIONED"])
        users = self.default[1]
        if q.get("q"):  # startsWith on names and email; one answer, no paging
            needle = q["q"].casefold()
            fields = ("firstName", "lastName", "email")
            hits = [
                u for u in users if any(str(u["profile"].get(f) or "").casefold().startswith(needle) for f in fields)
            ]
            return json_response(hits[: limit_of(request, 10, self.users_max)])
        return after_page(request, users, limit_of(request, USERS_MAX, self.users_max))

    async def get_user(self, request: Request) -> Response:
        return json_response(self.find_user(request.path_params["id"], request))

    async def user_groups(self, request: Request) -> Response:
        uid = self.find_user(request.path_params["id"], request)["id"]
        return json_response([g for gid, g in self.dir.groups.items() if uid in self.dir.members[gid]])

    async def user_roles(self, request: Request) -> Response:
        uid = self.find_user(request.path_params["userId"], request)["id"]
        return json_response(self.dir.roles.get(uid, []))

    def find_group(self, key: str) -> dict[str, Any]:
        if key not in self.dir.groups:
            raise SimError(404, f"Not found: Resource not found: {key} (UserGroup)")
        return self.dir.groups[key]

    async def list_groups(self, request: Request) -> Response:
        q = request.query_params
        groups = sorted(self.dir.groups.values(), key=lambda g: g["id"])
        keep: Callable[[dict[str, Any]], bool] = lambda g: True  # noqa: E731
        if q.get("search"):
            keep = parse(q["search"])
        elif q.get("filter"):
            keep = parse(q["filter"], only_eq=True)
        elif q.get("q"):  # a name prefix; not pageable
            needle = q["q"].casefold()
            return json_response([g for g in groups if g["profile"]["name"].casefold().startswith(needle)])
        return after_page(request, [g for g in groups if keep(g)], limit_of(request, GROUPS_MAX, GROUPS_MAX))

    async def get_group(self, request: Request) -> Response:
        return json_response(self.find_group(request.path_params["groupId"]))

    async def group_users(self, request: Request) -> Response:
        gid = self.find_group(request.path_params["groupId"])["id"]
        members = sorted(
            (self.dir.users[u] for u in self.dir.members[gid] if u in self.dir.users), key=lambda u: u["id"]
        )
        return after_page(request, members, limit_of(request, MEMBERS_MAX, MEMBERS_MAX))

    async def iam_roles(self, request: Request) -> Response:
        return json_response({"roles": list(self.dir.custom_roles.values()), "_links": {}})

    async def assignees(self, request: Request) -> Response:
        """Users holding a role, paged in the body by `_links.next.href`."""
        limit = limit_of(request, ASSIGNEES_MAX, ASSIGNEES_MAX)
        after = request.query_params.get("after")
        ids = sorted(u for u, roles in self.dir.roles.items() if roles and (after is None or u > after))
        page, more = ids[:limit], len(ids) > limit
        root = page_url(request, {"after", "limit"}, []).split("/api/v1/")[0]
        value = [
            {
                "id": u,
                "orn": f"orn:okta:00o1demo0org:users:{u}",
                "_links": {
                    "self": {"href": f"{root}/api/v1/users/{u}"},
                    "roles": {"href": f"{root}/api/v1/users/{u}/roles"},
                },
            }
            for u in page
        ]
        links = {"next": {"href": page_url(request, {"after"}, [("after", page[-1])])}} if more else {}
        return json_response({"value": value, "_links": links})


def build_okta_app(directory: OktaDirectory, options: SimOptions) -> SimApp:
    gate = OktaGate(options, OktaDialect())
    gate.oauth = TokenEndpoint(directory)
    api = OktaApi(directory, options)
    gate.hooks.append(api.check_scope)
    routes = [
        gate.route("/oauth2/v1/token", gate.oauth.token, ["POST"]),
        gate.route("/api/v1/users", api.list_users),
        gate.route("/api/v1/users/{id}", api.get_user),
        gate.route("/api/v1/users/{id}/groups", api.user_groups),
        gate.route("/api/v1/users/{userId}/roles", api.user_roles),
        gate.route("/api/v1/groups", api.list_groups),
        gate.route("/api/v1/groups/{groupId}", api.get_group),
        gate.route("/api/v1/groups/{groupId}/users", api.group_users),
        gate.route("/api/v1/iam/roles", api.iam_roles),
        gate.route("/api/v1/iam/assignees/users", api.assignees),
    ]
    return assemble(gate, routes, api=api, writes=None)
