"""The simulated Rootly API — write side: team membership, user deletion, incident role assignment.

Rootly has no member sub-resources: membership is the team's INTEGER `user_ids`/`admin_ids`,
replaced with `PUT /v1/teams/{id}` (admins must also be in `user_ids`). `DELETE /v1/users/{id}`
really deletes (there is no deactivate). Incident roles are assigned with
`POST .../assign_role_to_user` and removed with a `DELETE .../unassign_role_from_user` that
carries a JSON:API body. Bodies with unknown attributes are refused: the spec marks them
`additionalProperties: false`. There is no `POST /v1/users`: it stays a 404.

Every write mutates the `RootlyDirectory` and bumps its `version`, so later reads show it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from mcp_directory.sim.common import SimError, json_body
from mcp_directory.sim.rootly_seed import RootlyDirectory
from mcp_directory.sim.world import iso_offset

# Attributes of the spec's `update_team` (additionalProperties false).
TEAM_ATTRIBUTES = {
    "name",
    "description",
    "notify_emails",
    "color",
    "position",
    "backstage_id",
    "external_id",
    "pagerduty_id",
    "pagerduty_service_id",
    "opsgenie_id",
    "victor_ops_id",
    "pagertree_id",
    "cortex_id",
    "service_now_ci_sys_id",
    "user_ids",
    "admin_ids",
    "alerts_email_enabled",
    "alert_urgency_id",
    "slack_channels",
    "slack_aliases",
    "alert_broadcast_enabled",
    "alert_broadcast_channel",
    "incident_broadcast_enabled",
    "incident_broadcast_channel",
    "auto_add_members_when_attached",
    "auto_add_members_scope",
    "properties",
}
ASSIGN_ATTRIBUTES = {"user_id", "incident_role_id"}
# The JSON:API type of an assignment in `GET /v1/incidents/{id}?include=roles`. ASSUMPTION: the
# spec does not define this shape (`included` items are free-form `jsonapi_included_resource`).
ASSIGNMENT_TYPE = "incident_role_assignments"


def now_stamp() -> str:
    return iso_offset(datetime.now(UTC))


def invalid(detail: str, title: str = "Invalid request") -> SimError:
    """Rootly's 422 (errors_list); the spec names "invalid association" and "invalid request"."""
    return SimError(422, detail, title=title)


def document(raw: Any, kind: str, allowed: set[str]) -> dict[str, Any]:
    """The `data.attributes` of a JSON:API write body of `type` kind, refusing unknown attributes."""
    data = raw.get("data") if isinstance(raw, dict) else None
    if not isinstance(data, dict) or not isinstance(data.get("attributes"), dict):
        raise invalid('The body must be {"data": {"type": ..., "attributes": {...}}}')
    if data.get("type") != kind:
        raise invalid(f"data.type must be {kind!r}, not {data.get('type')!r}")
    attributes: dict[str, Any] = data["attributes"]
    unknown = sorted(set(attributes) - allowed)
    if unknown:
        raise invalid(f"Unknown attributes: {', '.join(unknown)}")
    return attributes


def int_ids(value: Any, name: str) -> list[int] | None:
    if value is None:
        return None
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise invalid(f"{name} must be an array of integers")
    return list(dict.fromkeys(value))  # duplicates collapse, first position kept


def assignment_id(incident_id: str, assignment: dict[str, str]) -> str:
    key = f"{incident_id}:{assignment['incident_role_id']}:{assignment['user_id']}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, key))


def assignment_resources(directory: RootlyDirectory, incident_id: str) -> list[dict[str, Any]]:
    """The incident's role assignments as JSON:API resources (our shape; see ASSIGNMENT_TYPE)."""
    out = []
    for held in directory.assignments.get(incident_id, []):
        role = directory.incident_roles.get(held["incident_role_id"])
        user = directory.users.get(held["user_id"])
        out.append(
            {
                "id": assignment_id(incident_id, held),
                "type": ASSIGNMENT_TYPE,
                "attributes": {
                    "incident_role_id": held["incident_role_id"],
                    "incident_role_name": role["attributes"]["name"] if role else None,
                    "user_id": held["user_id"],
                    "user_email": user["attributes"]["email"] if user else None,
                },
                "relationships": {
                    "incident": {"data": {"id": incident_id, "type": "incidents"}},
                    "incident_role": {"data": {"id": held["incident_role_id"], "type": "incident_roles"}},
                    "user": {"data": {"id": held["user_id"], "type": "users"}},
                },
            }
        )
    return out


class Reads(Protocol):
    """What the writes need of the read API (`rootly.RootlyApi`, which builds them): typed here,
    so the read module imports this one and not the other way round."""

    dir: RootlyDirectory

    def one(self, resource: dict[str, Any], included: list[dict[str, Any]] | None = None) -> Response: ...

    def find(self, table: dict[str, dict[str, Any]], key: str, kind: str) -> dict[str, Any]: ...


class RootlyWrites:
    """Write handlers over the read API's directory (`api.dir`), answering with `api.one`."""

    def __init__(self, api: Reads) -> None:
        self.api = api
        self.dir: RootlyDirectory = api.dir

    def changed(self) -> None:
        self.dir.version += 1

    # --- teams ----------------------------------------------------------------------------------

    async def update_team(self, request: Request) -> Response:
        team = self.api.find(self.dir.teams, request.path_params["id"], "Team")
        attributes = document(await json_body(request), "groups", TEAM_ATTRIBUTES)
        current = team["attributes"]
        users = int_ids(attributes.get("user_ids"), "user_ids")
        admins = int_ids(attributes.get("admin_ids"), "admin_ids")
        unknown = [i for i in (users or []) + (admins or []) if str(i) not in self.dir.users]
        if unknown:
            raise invalid(
                f"User ids not found: {', '.join(map(str, dict.fromkeys(unknown)))}", title="invalid association"
            )
        members = users if users is not None else list(current["user_ids"] or [])
        if admins is None:  # members removed by this PUT stop being admins
            admins = [a for a in current["admin_ids"] or [] if a in members]
        strays = [a for a in admins if a not in members]
        if strays:
            raise invalid(f"admin_ids must also be present in user_ids: {', '.join(map(str, strays))}")
        if "name" in attributes and (not isinstance(attributes["name"], str) or not attributes["name"].strip()):
            raise invalid("name can't be blank")
        current.update({k: v for k, v in attributes.items() if k not in ("user_ids", "admin_ids")})
        current["user_ids"], current["admin_ids"] = members, admins
        current["updated_at"] = now_stamp()
        self.changed()
        return self.api.one(team)

    # --- users ----------------------------------------------------------------------------------

    async def delete_user(self, request: Request) -> Response:
        user_id = request.path_params["id"]
        if user_id not in self.dir.users:
            raise SimError(404, f"Couldn't find User with id {user_id}", title="Record not found")
        user = self.dir.users.pop(user_id)
        for team in self.dir.teams.values():
            attrs = team["attributes"]
            if int(user_id) in (attrs["user_ids"] or []) or int(user_id) in (attrs["admin_ids"] or []):
                attrs["user_ids"] = [u for u in attrs["user_ids"] or [] if u != int(user_id)]
                attrs["admin_ids"] = [a for a in attrs["admin_ids"] or [] if a != int(user_id)]
                attrs["updated_at"] = now_stamp()
        for incident_id, held in self.dir.assignments.items():
            self.dir.assignments[incident_id] = [a for a in held if a["user_id"] != user_id]
        self.changed()
        return self.api.one(user)

    # --- incident roles -------------------------------------------------------------------------

    async def _assignment(self, request: Request) -> tuple[dict[str, Any], dict[str, str]]:
        incident = self.api.find(self.dir.incidents, request.path_params["id"], "Incident")
        attributes = document(await json_body(request), "incidents", ASSIGN_ATTRIBUTES)
        for name in sorted(ASSIGN_ATTRIBUTES):
            if not isinstance(attributes.get(name), str) or not attributes[name]:
                raise invalid(f"{name} is required and must be a string")
        user_id, role_id = attributes["user_id"], attributes["incident_role_id"]
        if user_id not in self.dir.users:
            raise SimError(404, f"Couldn't find User with id {user_id}", title="Record not found")
        if role_id not in self.dir.incident_roles:
            raise SimError(404, f"Couldn't find IncidentRole with id {role_id}", title="Record not found")
        return incident, {"incident_role_id": role_id, "user_id": user_id}

    async def assign_role(self, request: Request) -> Response:
        incident, pair = await self._assignment(request)
        held = self.dir.assignments.setdefault(incident["id"], [])
        if pair not in held:  # assigning an existing pair is a no-op, never a duplicate
            role = self.dir.incident_roles[pair["incident_role_id"]]
            if not role["attributes"]["allow_multi_user_assignment"]:  # the new holder replaces the old
                held[:] = [a for a in held if a["incident_role_id"] != pair["incident_role_id"]]
            held.append(pair)
            incident["attributes"]["updated_at"] = now_stamp()
            self.changed()
        return self.api.one(incident)

    async def unassign_role(self, request: Request) -> Response:
        incident, pair = await self._assignment(request)
        held = self.dir.assignments.get(incident["id"], [])
        if pair not in held:
            # Our choice: 404, the only error the spec declares for this operation (Rootly looks
            # the assignment up and finds none).
            raise SimError(
                404,
                f"User {pair['user_id']} does not hold incident role {pair['incident_role_id']} on this incident",
                title="Record not found",
            )
        held.remove(pair)
        incident["attributes"]["updated_at"] = now_stamp()
        self.changed()
        return self.api.one(incident)
