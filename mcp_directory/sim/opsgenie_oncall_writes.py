"""The simulated Opsgenie on-call API — writes: a rotation (its `participants` replace the whole
list, as Opsgenie's Terraform provider relies on), an escalation (its `rules` replace the whole
list), a schedule (`ownerTeam`, name, enabled), overrides (create, replace, delete).

Each answers `SuccessResponse` (`{result, data{id, name}}`, an override `{data{alias}}`), 422 with an
`errors` map for a body it cannot take (a participant or recipient that names no user, team,
schedule or escalation; an unknown type). A user participant may be given by `id` or `username`
and is stored with both. Every write bumps the directory's `version`.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mcp_directory.sim.common import SimError, json_body
from mcp_directory.sim.oncall_time import UNITS, iso, parse_time
from mcp_directory.sim.opsgenie_oncall import OpsgenieOnCallReads, Reads, unprocessable

ROTATION_TYPES = ("user", "team", "escalation", "none")
RULE_TYPES = ("user", "team", "schedule", "escalation")
OVERRIDE_TYPES = ("user", "none")


class OpsgenieOnCallWrites:
    def __init__(self, api: Reads, reads: OpsgenieOnCallReads) -> None:
        self.api = api
        self.reads = reads
        self.store = reads.store

    def done(self, request: Request, result: str, data: dict[str, Any], status: int = 200) -> Response:
        self.api.dir.version += 1
        response = self.api.ok(request, {"result": result, "data": data})
        response.status_code = status
        return response

    def recipient(self, raw: Any, allowed: tuple[str, ...], field: str) -> dict[str, Any]:
        """A participant/recipient as Opsgenie stores it, resolved against the directory."""
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind not in allowed:
            raise unprocessable(field, f"type must be one of {', '.join(allowed)}")
        if kind == "none":
            return {"type": "none"}
        if kind == "user":
            key = raw.get("id") or raw.get("username")
            try:
                user = self.api.find_user(str(key)) if key else None
            except SimError:
                user = None
            if user is None:
                raise unprocessable(field, f"No user exists with identifier [{key}]")
            return {"type": "user", "id": user["id"], "username": user["username"]}
        tables = {"team": self.api.dir.teams, "schedule": self.store.schedules, "escalation": self.store.escalations}
        for record in tables[kind].values():
            if record["id"] == raw.get("id") or record["name"] == raw.get("name"):
                return {"type": kind, "id": record["id"], "name": record["name"]}
        raise unprocessable(field, f"No {kind} exists with identifier [{raw.get('id') or raw.get('name')}]")

    async def body(self, request: Request) -> dict[str, Any]:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise unprocessable("body", "must be a JSON object")
        return body

    async def update_rotation(self, request: Request) -> Response:
        _, rotation = self.reads.rotation(request)
        body = await self.body(request)
        changes: dict[str, Any] = {}
        if "participants" in body:
            if not isinstance(body["participants"], list):
                raise unprocessable("participants", "must be a list")
            changes["participants"] = [self.recipient(p, ROTATION_TYPES, "participants") for p in body["participants"]]
        if "type" in body:
            if body["type"] not in UNITS:
                raise unprocessable("type", "must be one of daily, weekly, hourly")
            changes["type"] = body["type"]
        if "length" in body:
            if not isinstance(body["length"], int) or isinstance(body["length"], bool) or body["length"] < 1:
                raise unprocessable("length", "must be a positive integer")
            changes["length"] = body["length"]
        for name in ("startDate", "endDate"):
            if name in body:
                try:
                    changes[name] = iso(parse_time(body[name], name))
                except SimError as exc:
                    raise unprocessable(name, exc.message) from exc
        if "name" in body:
            if not isinstance(body["name"], str) or not body["name"].strip():
                raise unprocessable("name", "may not be blank")
            changes["name"] = body["name"]
        rotation.update(changes)
        return self.done(request, "Updated", {"id": rotation["id"], "name": rotation["name"]})

    async def update_escalation(self, request: Request) -> Response:
        escalation = self.reads.escalation(request)
        body = await self.body(request)
        changes: dict[str, Any] = {}
        if "rules" in body:
            rules = body["rules"]
            if not isinstance(rules, list) or not rules:
                raise unprocessable("rules", "must be a non-empty list")
            out = []
            for rule in rules:
                if not isinstance(rule, dict) or not isinstance(rule.get("delay"), dict):
                    raise unprocessable("rules", "each rule needs condition, notifyType, delay and recipient")
                out.append(
                    {
                        "condition": rule.get("condition", "if-not-acked"),
                        "notifyType": rule.get("notifyType", "default"),
                        "delay": {
                            "timeAmount": int(rule["delay"].get("timeAmount", 0)),
                            "timeUnit": rule["delay"].get("timeUnit", "minutes"),
                        },
                        "recipient": self.recipient(rule.get("recipient"), RULE_TYPES, "rules.recipient"),
                    }
                )
            changes["rules"] = out
        for name in ("name", "description"):
            if name in body:
                changes[name] = str(body[name])
        escalation.update(changes)
        return self.done(request, "Updated", {"id": escalation["id"], "name": escalation["name"]})

    async def update_schedule(self, request: Request) -> Response:
        schedule = self.reads.schedule(request, "identifierType")
        body = await self.body(request)
        if "ownerTeam" in body:
            team = self.recipient({**(body["ownerTeam"] or {}), "type": "team"}, ("team",), "ownerTeam")
            schedule["ownerTeam"] = {"id": team["id"], "name": team["name"]}
        if "enabled" in body:
            if not isinstance(body["enabled"], bool):
                raise unprocessable("enabled", "must be a boolean")
            schedule["enabled"] = body["enabled"]
        for name in ("name", "description", "timezone"):
            if name in body:
                schedule[name] = str(body[name])
        return self.done(request, "Updated", self.reads.meta(schedule))

    def override_of(self, schedule: dict[str, Any], body: dict[str, Any], alias: str) -> dict[str, Any]:
        for name in ("user", "startDate", "endDate"):
            if name not in body:
                raise unprocessable(name, "may not be null")
        try:
            start, end = parse_time(body["startDate"], "startDate"), parse_time(body["endDate"], "endDate")
        except SimError as exc:
            raise unprocessable("startDate", exc.message) from exc
        if end <= start:
            raise unprocessable("endDate", "must be after startDate")
        rotations = []
        for ref in body.get("rotations") or []:
            rot = next(
                (r for r in schedule["rotations"] if ref.get("id") in (r["id"],) or ref.get("name") == r["name"]), None
            )
            if rot is None:
                raise unprocessable(
                    "rotations", f"No rotation exists with identifier [{ref.get('id') or ref.get('name')}]"
                )
            rotations.append({"id": rot["id"], "name": rot["name"]})
        user = self.recipient(body["user"], OVERRIDE_TYPES, "user")
        return {"alias": alias, "user": user, "startDate": iso(start), "endDate": iso(end), "rotations": rotations}

    async def create_override(self, request: Request) -> Response:
        schedule = self.reads.schedule(request)
        body = await self.body(request)
        alias = str(body.get("alias") or uuid.uuid4())
        listed = self.store.overrides.setdefault(schedule["id"], [])
        if any(o["alias"] == alias for o in listed):
            raise SimError(409, f"Override with alias [{alias}] already exists")
        listed.append(self.override_of(schedule, body, alias))
        self.api.dir.version += 1
        response = self.api.ok(request, {"result": "Created", "data": {"alias": alias}})
        response.status_code = 201
        return response

    async def replace_override(self, request: Request) -> Response:
        schedule, override = self.reads.override(request)
        replaced = self.override_of(schedule, await self.body(request), override["alias"])
        override.clear()
        override.update(replaced)
        self.api.dir.version += 1
        return self.api.ok(request, {"result": "Updated", "data": {"alias": replaced["alias"]}})

    async def delete_override(self, request: Request) -> Response:
        schedule, override = self.reads.override(request)
        self.store.overrides[schedule["id"]].remove(override)
        self.api.dir.version += 1
        return self.api.ok(request, {"result": "Deleted"})
