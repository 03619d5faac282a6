"""The simulated Jira Service Management site: four Atlassian APIs in one app (reads here, writes in
`jsm_writes`), told apart by path as the real hosts are by host and root:

- Jira `/rest/api/3/...` and Teams `/gateway/api/public/teams/v1/org/{orgId}/...` (the site) and
  Ops `/jsm/ops/api/{cloudId}/v1/...` (api.atlassian.com) take `Basic base64(email:token)`;
- the org admin API `/admin/...` takes `Bearer <org key>` and nothing else, and the Basic
  credential is refused there (and the org key everywhere else);
- `/_edge/tenant_info` answers the cloudId without authentication.

Wire quirks reproduced: Jira lists are bare arrays (no total, no next link) with app and customer
accounts mixed in and `emailAddress` absent where the profile hides it; `user/search` finds
active users only (its query also matches hidden emails: an assumption, Atlassian does not say);
Teams member lists are POST reads paged by `after`; Ops wraps lists in `values` with a relative
`links.next`, and its teams in `platformTeams`; errors are Jira `{errorMessages, errors}`, Ops
`{errors: [{title, code}]}` (401 `{code, message}`), Teams and org `{code, message}`; a 429 carries
`Retry-After` (seconds) and `X-RateLimit-Reset` (an ISO time).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mcp_directory.sim.common import (
    Gate,
    LimitState,
    SimError,
    SimOptions,
    assemble,
    base_url,
    json_response,
)
from mcp_directory.sim.faults import SimApp
from mcp_directory.sim.jsm_oncall import jsm_oncall_routes
from mcp_directory.sim.jsm_platform import MEMBERS_MAX, ORG_PAGE, ROLES_MAX, PlatformReads, bounded
from mcp_directory.sim.jsm_seed import JsmDirectory
from mcp_directory.sim.jsm_writes import JsmWrites

USERS_MAX = 1000  # /users/search and /user/search
BULK_MAX = 200
TEAMS = "/gateway/api/public/teams/v1/org/{org}/teams"
OPS = "/jsm/ops/api/{cloud}/v1"
CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    409: "CONFLICT",
    429: "TOO_MANY_REQUESTS",
}


def api_of(path: str) -> str:
    if path.startswith("/admin/"):
        return "org"
    if path.startswith("/jsm/ops/"):
        return "ops"
    if path.startswith("/gateway/api/public/teams/"):
        return "teams"
    return "jira"


class JsmDialect:
    auth_scheme = "Basic"  # site and Ops; the org admin API is Bearer (JsmGate)
    default_rate_limit = 1000

    def error(self, request: Request, status: int, message: str, **extra: Any) -> Response:
        api, code = api_of(request.url.path), extra.get("code") or CODES.get(status, "INTERNAL_SERVER_ERROR")
        if api == "ops":
            body: Any = (
                {"code": status, "message": message}
                if status == 401
                else {"errors": [{"title": message, "code": code}]}
            )
        elif api in ("org", "teams"):
            body = {"code": code, "message": message}
        else:
            body = {"errorMessages": [message], "errors": extra.get("errors", {})}
        return json_response(body, status)

    def unauthorized(self, request: Request) -> Response:
        return self.error(request, 401, "Client must be authenticated to access this resource.")

    def too_many_requests(self, request: Request, state: LimitState) -> Response:
        response = self.error(request, 429, "Rate limit exceeded.")
        reset = datetime.fromtimestamp(state.reset_epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        response.headers["Retry-After"] = str(state.retry_after_s)
        response.headers["X-RateLimit-Reset"] = reset
        response.headers["X-RateLimit-Limit"] = str(state.limit)
        response.headers["X-RateLimit-Remaining"] = "0"
        response.headers["RateLimit-Reason"] = "jira-burst-based"
        return response

    def decorate(self, request: Request, response: Response, state: LimitState) -> None:
        return None

    def bucket(self, method: str) -> str:
        return "site"


class JsmGate(Gate):
    """The gate with Atlassian's credentials: which one depends on the API the path belongs to."""

    directory: JsmDirectory | None = None

    def authorized(self, request: Request) -> bool:
        sent = request.headers.get("authorization", "").strip()
        assert self.directory is not None
        path = request.url.path
        if path == "/_edge/tenant_info":
            return True
        if api_of(path) == "org":
            return sent == f"Bearer {self.directory.org_key}"
        pair = f"{self.directory.email}:{self.options.token}".encode()
        return sent == f"Basic {base64.b64encode(pair).decode()}"


class JsmApi(PlatformReads):
    """Read handlers over one `JsmDirectory` (read live, so later writes show up)."""

    def __init__(self, directory: JsmDirectory, options: SimOptions) -> None:
        self.dir = directory
        cap = options.page_size_max
        self.users_max, self.members_max = min(cap or USERS_MAX, USERS_MAX), min(cap or MEMBERS_MAX, MEMBERS_MAX)
        self.roles_max, self.org_page = min(cap or ROLES_MAX, ROLES_MAX), min(cap or ORG_PAGE, ORG_PAGE)

    # --- Jira ---------------------------------------------------------------------------------

    def user_json(self, request: Request, uid: str, expand: str = "") -> dict[str, Any]:
        record = dict(self.dir.users[uid])
        record["self"] = f"{base_url(request)}/rest/api/3/user?accountId={uid}"
        if "applicationRoles" in expand:
            keys = self.dir.products.get(uid, [])
            record["applicationRoles"] = {"size": len(keys), "items": [self.role_json(k) for k in keys]}
        if "groups" in expand:
            record["groups"] = {"size": 1, "items": [{"name": "jira-servicedesk-users", "groupId": self.dir.org_id}]}
        return record

    def find(self, uid: str | None) -> str:
        if not uid:
            raise SimError(400, "The query parameter 'accountId' is required.")
        if uid not in self.dir.users:
            raise SimError(404, f"Specified user does not exist or you do not have required permissions: {uid}")
        return uid

    async def users_search(self, request: Request) -> Response:
        start = bounded(request, "startAt", 0, 10**9)
        size = bounded(request, "maxResults", 50, self.users_max)
        page = list(self.dir.users)[start : start + size]
        return json_response([self.user_json(request, uid) for uid in page])

    async def user_search(self, request: Request) -> Response:
        query = (request.query_params.get("query") or "").casefold()
        if not query and not request.query_params.get("accountId"):
            raise SimError(400, "One of 'query' or 'accountId' query parameters must be provided.")
        wanted = request.query_params.get("accountId")
        start = bounded(request, "startAt", 0, 10**9)
        size = bounded(request, "maxResults", 50, self.users_max)
        found = [
            uid
            for uid, r in self.dir.users.items()
            if r["active"]
            and (uid == wanted if wanted else query in f"{r['displayName']} {self.dir.emails.get(uid, '')}".casefold())
        ][:1000]  # up to the thousandth user
        return json_response([self.user_json(request, uid) for uid in found[start : start + size]])

    async def get_user(self, request: Request) -> Response:
        uid = self.find(request.query_params.get("accountId"))
        return json_response(self.user_json(request, uid, request.query_params.get("expand", "")))

    async def myself(self, request: Request) -> Response:
        return json_response(self.user_json(request, self.dir.me_id, request.query_params.get("expand", "")))

    async def bulk(self, request: Request) -> Response:
        ids = request.query_params.getlist("accountId")
        if not ids:
            raise SimError(400, "The query parameter 'accountId' is required.")
        start = bounded(request, "startAt", 0, 10**9)
        size = bounded(request, "maxResults", 10, BULK_MAX)
        known = [uid for uid in dict.fromkeys(ids) if uid in self.dir.users]
        page = known[start : start + size]
        body: dict[str, Any] = {
            "self": str(request.url),
            "maxResults": size,
            "startAt": start,
            "total": len(known),
            "isLast": start + size >= len(known),
            "values": [self.user_json(request, uid) for uid in page],
        }
        return json_response(body)

    async def permissions_check(self, request: Request) -> Response:
        body = await request.json() if await request.body() else {}
        uid = body.get("accountId") or self.dir.me_id
        if uid not in self.dir.users:
            raise SimError(400, "Unrecognized account", errors={"accountId": "The account ID is not valid."})
        asked = [p for p in body.get("globalPermissions") or [] if p]
        granted = [p for p in asked if p == "ADMINISTER" and uid in self.dir.admins]
        return json_response({"globalPermissions": granted, "projectPermissions": []})

    def role_json(self, key: str) -> dict[str, Any]:
        role = self.dir.application_roles[key]
        holders = sum(1 for uid, keys in self.dir.products.items() if key in keys and self.dir.users[uid]["active"])
        seats = role["seats"]
        return {
            "key": key,
            "groups": [f"{key}-users"],
            "groupDetails": [{"name": f"{key}-users", "groupId": f"{key}-group"}],
            "name": role["name"],
            "defaultGroups": [f"{key}-users"],
            "defaultGroupsDetails": [{"name": f"{key}-users", "groupId": f"{key}-group"}],
            "selectedByDefault": key == "jira-servicedesk",
            "defined": False,
            "numberOfSeats": seats if seats is not None else 0,
            "remainingSeats": seats - holders if seats is not None else 0,
            "userCount": holders,
            "userCountDescription": f"{holders} agents",
            "hasUnlimitedSeats": seats is None,
            "platform": False,
        }

    async def application_roles(self, request: Request) -> Response:
        return json_response([self.role_json(k) for k in self.dir.application_roles])

    async def tenant_info(self, request: Request) -> Response:
        return json_response({"cloudId": self.dir.cloud_id})


def build_jsm_app(directory: JsmDirectory, options: SimOptions) -> SimApp:
    gate = JsmGate(options, JsmDialect())
    gate.directory = directory
    api = JsmApi(directory, options)
    writes = JsmWrites(api)
    team = TEAMS + "/{team}"
    routes = [
        gate.route("/_edge/tenant_info", api.tenant_info),
        gate.route("/rest/api/3/users/search", api.users_search),
        gate.route("/rest/api/3/user/search", api.user_search),
        gate.route("/rest/api/3/user", api.get_user),
        gate.route("/rest/api/3/user", writes.create_user, ["POST"]),
        gate.route("/rest/api/3/user/bulk", api.bulk),
        gate.route("/rest/api/3/myself", api.myself),
        gate.route("/rest/api/3/permissions/check", api.permissions_check, ["POST"]),
        gate.route("/rest/api/3/applicationrole", api.application_roles),
        gate.route(TEAMS, api.list_teams),
        gate.route(team, api.get_team),
        gate.route(team + "/members", api.team_members, ["POST"]),
        gate.route(team + "/members/add", writes.add_members, ["POST"]),
        gate.route(team + "/members/remove", writes.remove_members, ["POST"]),
        gate.route(OPS + "/teams", api.ops_teams),
        gate.route(OPS + "/roles", api.ops_roles),
        gate.route("/admin/v1/orgs/{org}", api.get_org),
        gate.route("/admin/v1/orgs/{org}/users", api.org_users),
        gate.route("/admin/v2/orgs/{org}/directories/{directory}/users/{account}/suspend", writes.suspend, ["POST"]),
        *jsm_oncall_routes(gate, api),
    ]
    return assemble(gate, routes, api=api, writes=writes)
