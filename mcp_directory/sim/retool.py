"""The simulated Retool API: `/api/v2/users`, groups and roles — read side, and the app
with every route (writes are in `retool_writes`).

Wire quirks reproduced: `application/json; charset=utf-8`; success bodies `{"success": true,
"data": ...}` and lists `{..., "total_count", "next_token", "has_more"}`; `GET /users` returns
EVERY user when `limit` is absent and pages with an opaque base64-JSON `next_token` (like the
docs' `eyJsYXN0SWQiOjEyM30`) when it is present; errors are `{"success": false, "message"}`.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
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
    int_param,
    json_response,
)
from mcp_directory.sim.faults import SimApp
from mcp_directory.sim.retool_seed import RetoolDirectory
from mcp_directory.sim.retool_writes import RetoolWrites

MEDIA_TYPE = "application/json; charset=utf-8"
PAGE_SIZE_MAX = 100


class RetoolDialect:
    auth_scheme = "Bearer"
    default_rate_limit = 300  # self-hosted API_CALLS_PER_MIN default

    def error(self, request: Request, status: int, message: str, **extra: Any) -> Response:
        return json_response({"success": False, "message": message}, status, MEDIA_TYPE)

    def unauthorized(self, request: Request) -> Response:
        return self.error(request, 401, "Invalid or expired API token")

    def too_many_requests(self, request: Request, state: LimitState) -> Response:
        # ASSUMPTION: Retool documents no 429 body or headers; we send the API error shape plus a
        # Retry-After header (seconds until the window frees a slot).
        response = self.error(request, 429, "Rate limit exceeded. Please retry later.")
        response.headers["Retry-After"] = str(state.retry_after_s)
        return response

    def decorate(self, request: Request, response: Response, state: LimitState) -> None:
        return None

    def bucket(self, method: str) -> str:
        return "api"


def encode_token(last_id: int) -> str:
    raw = json.dumps({"lastId": last_id}, separators=(",", ":")).encode()
    return base64.b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> int:
    try:
        payload = json.loads(base64.b64decode(token + "=" * (-len(token) % 4), validate=True))
        return int(payload["lastId"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise SimError(400, "Invalid next_token") from exc


def ok(payload: Any) -> Response:
    return json_response({"success": True, "data": payload}, 200, MEDIA_TYPE)


def listing(items: list[Any], next_token: str | None = None, total: int | None = None) -> Response:
    body = {
        "success": True,
        "data": items,
        "total_count": len(items) if total is None else total,
        "next_token": next_token,
        "has_more": next_token is not None,
    }
    return json_response(body, 200, MEDIA_TYPE)


class RetoolApi:
    """Route handlers over one `RetoolDirectory` (read live, so later writes show up)."""

    def __init__(self, directory: RetoolDirectory, options: SimOptions) -> None:
        self.dir = directory
        self.size_max = options.page_size_max or PAGE_SIZE_MAX
        self.by_legacy_id = SortedView(lambda u: u["legacy_id"])

    async def list_users(self, request: Request) -> Response:
        q = request.query_params
        try:
            limit = int_param(request, "limit", None)
        except ValueError as exc:
            raise SimError(400, "limit must be an integer") from exc
        token = q.get("next_token") or q.get("next")  # the usage guide calls it `next`
        if limit is not None and not 1 <= limit <= self.size_max:
            raise SimError(400, f"limit must be between 1 and {self.size_max}")
        if token and limit is None:
            raise SimError(400, "next_token is only valid when limit is also provided")
        users = self.by_legacy_id.get(self.dir.users, self.dir.version)  # shared: never mutate
        filters = [f for f in ("email", "first_name", "last_name") if q.get(f) is not None]
        if filters:
            users = [u for u in users if all((u[f] or "").lower() == q[f].lower() for f in filters)]
        total = len(users)
        if limit is None:
            return listing(users)
        start = bisect.bisect_right(users, decode_token(token), key=lambda u: u["legacy_id"]) if token else 0
        page = users[start : start + limit]
        more = total - start > limit
        return listing(page, encode_token(page[-1]["legacy_id"]) if more else None, total)

    def find_user(self, user_id: str) -> dict[str, Any]:
        if user_id not in self.dir.users:
            raise SimError(404, f"User {user_id} not found")
        return self.dir.users[user_id]

    async def get_user(self, request: Request) -> Response:
        user = dict(self.find_user(request.path_params["user_id"]))
        if request.query_params.get("includeGroups", "").lower() == "true":
            user["groups"] = [
                {"id": g["id"], "legacy_id": g["legacy_id"], "name": g["name"]}
                for g in self.dir.groups.values()
                if any(m["id"] == user["id"] for m in g["members"])
            ]
        return ok(user)

    async def list_groups(self, request: Request) -> Response:
        return listing(list(self.dir.groups.values()))

    async def get_group(self, request: Request) -> Response:
        raw = request.path_params["group_id"]
        group = self.dir.groups.get(int(raw)) if raw.isdigit() else None
        if group is None:
            raise SimError(404, f"Group {raw} not found")
        if request.query_params.get("excludeDisabledUsers", "").lower() == "true":
            active = {u["id"] for u in self.dir.users.values() if u["active"]}
            group = {**group, "members": [m for m in group["members"] if m["id"] in active]}
        return ok(group)

    async def list_roles(self, request: Request) -> Response:
        return listing(list(self.dir.roles.values()))


def build_retool_app(directory: RetoolDirectory, options: SimOptions) -> SimApp:
    gate = Gate(options, RetoolDialect())
    api = RetoolApi(directory, options)
    writes = RetoolWrites(api, ok)
    routes = [
        gate.route("/api/v2/users", api.list_users),
        gate.route("/api/v2/users/{user_id}", api.get_user),
        gate.route("/api/v2/groups", api.list_groups),
        gate.route("/api/v2/groups/{group_id}", api.get_group),
        gate.route("/api/v2/role_permissions/roles", api.list_roles),
        gate.route("/api/v2/users", writes.create_user, ["POST"]),
        gate.route("/api/v2/users/{user_id}", writes.update_user, ["PATCH"]),
        gate.route("/api/v2/users/{user_id}", writes.delete_user, ["DELETE"]),
        gate.route("/api/v2/groups/{group_id}/members", writes.add_members, ["POST"]),
        gate.route("/api/v2/groups/{group_id}/members/{user_id}", writes.remove_member, ["DELETE"]),
    ]
    return assemble(gate, routes, api=api, writes=writes)
