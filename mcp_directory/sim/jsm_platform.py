"""The simulated JSM site's reads beyond Jira: the Teams public API (a team, its members by POST
reads paged with the opaque cursor `after`), the Ops API (`platformTeams`, custom roles paged by
offset/size with a relative `links.next`) and the org admin API (the org, its managed accounts paged
by cursor). `JsmApi` (jsm.py) inherits these handlers; the routes are built there.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mcp_directory.sim.common import SimError, base_url, json_response
from mcp_directory.sim.jsm_seed import JsmDirectory

MEMBERS_MAX = 50  # Teams member pages
ROLES_MAX = 100  # Ops /v1/roles
ORG_PAGE = 100  # org admin API user pages


def bounded(request: Request, name: str, default: int, top: int) -> int:
    """A non-negative integer query parameter, at most `top`; 400 otherwise."""
    raw = request.query_params.get(name)
    try:
        value = default if raw in (None, "") else int(raw)
    except ValueError as exc:
        raise SimError(400, f"'{name}' must be an integer") from exc
    if value < 0:
        raise SimError(400, f"'{name}' must not be negative")
    return min(value, top)


def position(cursor: str | None) -> int:
    """Where an opaque cursor (base64 of an offset) points; 400 for one that is not ours."""
    if not cursor:
        return 0
    try:
        return int(base64.b64decode(cursor, validate=True).decode())
    except (binascii.Error, ValueError) as exc:
        raise SimError(400, "Invalid cursor") from exc


def cursor_at(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode()


class PlatformReads:
    """Teams, Ops and org admin read handlers over one `JsmDirectory`."""

    dir: JsmDirectory
    members_max: int
    roles_max: int
    org_page: int

    # --- Teams --------------------------------------------------------------------------------

    def team(self, request: Request) -> dict[str, Any]:
        if request.path_params["org"] != self.dir.org_id:
            raise SimError(403, "You do not have access to this organization.")
        team = self.dir.teams.get(request.path_params["team"])
        if team is None:
            raise SimError(404, f"Team {request.path_params['team']} was not found.")
        return team

    def team_json(self, team: dict[str, Any]) -> dict[str, Any]:
        return {
            "teamId": team["teamId"],
            "displayName": team["displayName"],
            "description": team["description"],
            "organizationId": self.dir.org_id,
            "state": "ACTIVE",
            "teamType": "OPEN",
            "creatorId": self.dir.me_id,
        }

    async def list_teams(self, request: Request) -> Response:
        if request.path_params["org"] != self.dir.org_id:
            raise SimError(403, "You do not have access to this organization.")
        size = bounded(request, "size", 50, 300)
        return json_response({"entities": [self.team_json(t) for t in list(self.dir.teams.values())[:size]]})

    async def get_team(self, request: Request) -> Response:
        perms = {"ADD_MEMBERS": True, "REMOVE_MEMBERS": True, "UPDATE_TEAM": True, "DELETE_TEAM": True}
        return json_response({**self.team_json(self.team(request)), "userPermissions": perms})

    async def team_members(self, request: Request) -> Response:
        members = self.team(request)["members"]
        body = await request.json() if await request.body() else {}
        first = body.get("first", 50)
        if not isinstance(first, int) or not 1 <= first <= 50:
            raise SimError(400, "first must be between 1 and 50")
        start = position(body.get("after"))
        size = min(first, self.members_max)
        page = members[start : start + size]
        more = start + size < len(members)
        info = {
            "hasNextPage": more,
            **({"endCursor": base64.b64encode(str(start + size).encode()).decode()} if more else {}),
        }
        return json_response({"results": [{"accountId": a} for a in page], "pageInfo": info})

    # --- Ops ----------------------------------------------------------------------------------

    def ops(self, request: Request) -> None:
        if request.path_params["cloud"] != self.dir.cloud_id:
            raise SimError(404, "No site with this cloud id")

    async def ops_teams(self, request: Request) -> Response:
        self.ops(request)
        teams = [
            {
                "teamId": f"ari:cloud:identity::team/{t['teamId']}" if t["ari"] else t["teamId"],
                "teamName": t["displayName"],
            }
            for t in self.dir.teams.values()
            if t["ops"]
        ]
        return json_response({"platformTeams": teams})

    async def ops_roles(self, request: Request) -> Response:
        self.ops(request)
        offset = bounded(request, "offset", 0, 10**9)
        size = bounded(request, "size", 20, self.roles_max) or 1
        roles = list(self.dir.custom_roles.values())
        links: dict[str, str] = {"last": f"/v1/roles?offset={max(len(roles) - 1, 0) // size * size}&size={size}"}
        if offset + size < len(roles):
            links["next"] = f"/v1/roles?offset={offset + size}&size={size}"
        return json_response({"values": roles[offset : offset + size], "links": links})

    # --- the org admin API --------------------------------------------------------------------

    def org(self, request: Request) -> None:
        if request.path_params["org"] != self.dir.org_id:
            raise SimError(404, "Organization not found")

    async def get_org(self, request: Request) -> Response:
        self.org(request)
        return json_response({"data": {"id": self.dir.org_id, "type": "orgs", "attributes": {"name": "acme"}}})

    async def org_users(self, request: Request) -> Response:
        self.org(request)
        cursor = request.query_params.get("cursor")
        start = position(cursor)
        accounts = list(self.dir.org.values())
        page = accounts[start : start + self.org_page]
        here = f"{base_url(request)}{request.url.path}"
        links = {"self": here + (f"?cursor={cursor}" if cursor else "")}
        if start + self.org_page < len(accounts):
            links["next"] = cursor_at(start + self.org_page)
        return json_response({"data": page, "meta": {"total": len(accounts)}, "links": links})
