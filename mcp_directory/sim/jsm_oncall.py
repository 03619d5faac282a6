"""The simulated JSM Operations on-call API (`/jsm/ops/api/{cloudId}/v1/...`): schedules (rotations
inline with `expand=rotation`), rotations, overrides, who is on call per schedule, team escalations;
writes to a rotation (`participants` replaces the whole list), a schedule (`teamId`...), an
escalation (`rules` replaces the whole list) and overrides.

Wire format from `provider_specs/oncall/jsm-ops-oncall.v3.EXCERPT.json`: lists are
`{values, links{next}}` paged by `offset`/`size` (schedules, rotations, overrides 1-50, default 25;
escalations 1-100, default 20), `next` a path relative to the API root and absent on the last page,
no total; the schedule list also carries `_expands`; `query` matches a schedule's name exactly, or
by prefix when it ends with `*`, ignoring case; overrides list only ongoing and future ones;
deletes answer 204; errors `{errors: [{title, code}]}`. On-calls follow oncall_time's rule (`noone`
pages nobody): `flat=true` gives `onCallUsers` (account ids), otherwise `onCallParticipants`.
A team id may be given plain or as its `ari:cloud:identity::team/` form (as `/v1/teams` lists it).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from mcp_directory.sim.common import Gate, SimError, json_body, json_response
from mcp_directory.sim.jsm_seed import JsmDirectory
from mcp_directory.sim.oncall_seed import OnCallStore
from mcp_directory.sim.oncall_time import UNITS, Cover, holders, iso, parse_time

OPS = "/jsm/ops/api/{cloud}/v1"
ARI = "ari:cloud:identity::team/"


def invalid(message: str) -> SimError:
    return SimError(422, message, code="UNPROCESSABLE_ENTITY")


def window(request: Request, default: int, top: int) -> tuple[int, int]:
    try:
        offset = int(request.query_params.get("offset") or 0)
        size = int(request.query_params.get("size") or default)
    except ValueError as exc:
        raise invalid("offset and size must be integers") from exc
    if offset < 0 or not 1 <= size <= top:
        raise invalid(f"offset must be at least 0 and size between 1 and {top}")
    return offset, size


def paged(request: Request, items: list[Any], default: int, top: int, **extra: Any) -> Response:
    offset, size = window(request, default, top)
    links: dict[str, str] = {}
    if offset + size < len(items):
        kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("offset", "size")]
        root = request.url.path.split("/v1", 1)[1]
        links["next"] = f"/v1{root}?" + urlencode([("offset", offset + size), ("size", size), *kept])
    return json_response({"values": items[offset : offset + size], "links": links, **extra})


class Reads(Protocol):
    """What the on-call routes need of the read API (`jsm.JsmApi`, which builds them): typed here,
    so the read module imports this one and not the other way round (as `jsm_writes.Reads`)."""

    dir: JsmDirectory

    def ops(self, request: Request) -> None: ...


class JsmOnCall:
    def __init__(self, api: Reads) -> None:
        self.api = api
        self.store: OnCallStore = api.dir.oncall

    def changed(self) -> None:
        self.api.dir.version += 1

    # --- finding things ---------------------------------------------------------------------

    def schedule(self, request: Request) -> dict[str, Any]:
        self.api.ops(request)
        key = request.path_params.get("scheduleId") or request.path_params["id"]
        if key not in self.store.schedules:
            raise SimError(404, f"Schedule with id [{key}] not found")
        return self.store.schedules[key]

    def rotation(self, request: Request) -> dict[str, Any]:
        rotations: list[dict[str, Any]] = self.schedule(request)["rotations"]
        for rotation in rotations:
            if rotation["id"] == request.path_params["id"]:
                return rotation
        raise SimError(404, f"Rotation with id [{request.path_params['id']}] not found")

    def override(self, request: Request) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        listed = self.store.overrides.setdefault(self.schedule(request)["id"], [])
        for override in listed:
            if override["alias"] == request.path_params["alias"]:
                return listed, override
        raise SimError(404, f"Override with alias [{request.path_params['alias']}] not found")

    def team(self, request: Request) -> str:
        self.api.ops(request)
        team = str(request.path_params["teamId"]).removeprefix(ARI)
        if not self.api.dir.teams.get(team, {}).get("ops"):
            raise SimError(404, f"Team with id [{team}] not found")
        return team

    def escalation(self, request: Request) -> dict[str, Any]:
        team = self.team(request)
        eid = request.path_params["id"]
        if self.store.escalation_team.get(eid) != team:
            raise SimError(404, f"Escalation with id [{eid}] not found")
        return self.store.escalations[eid]

    # --- reads --------------------------------------------------------------------------------

    async def list_schedules(self, request: Request) -> Response:
        self.api.ops(request)
        query = request.query_params.get("query", "").casefold()
        expand = "rotation" in request.query_params.get("expand", "").split(",")
        found = [
            s if expand else {k: v for k, v in s.items() if k != "rotations"}
            for s in self.store.schedules.values()
            if not query
            or (s["name"].casefold().startswith(query[:-1]) if query.endswith("*") else s["name"].casefold() == query)
        ]
        return paged(request, found, 25, 50, _expands=["rotation"])

    async def get_schedule(self, request: Request) -> Response:
        return json_response(self.schedule(request))

    async def list_rotations(self, request: Request) -> Response:
        return paged(request, self.schedule(request)["rotations"], 25, 50)

    async def get_rotation(self, request: Request) -> Response:
        return json_response(self.rotation(request))

    async def list_overrides(self, request: Request) -> Response:
        now = datetime.now(UTC)
        listed = self.store.overrides.get(self.schedule(request)["id"], [])
        return paged(request, [o for o in listed if parse_time(o["endDate"], "endDate") > now], 25, 50)

    async def get_override(self, request: Request) -> Response:
        return json_response(self.override(request)[1])

    async def on_calls(self, request: Request) -> Response:
        schedule = self.schedule(request)
        flat = request.query_params.get("flat", "false").lower()
        if flat not in ("true", "false"):
            raise invalid("flat must be true or false")
        at = parse_time(request.query_params.get("date"), "date", datetime.now(UTC))
        covering = [
            Cover(o["startDate"], o["endDate"], set(o.get("rotationIds") or []), o["responder"])
            for o in self.store.overrides.get(schedule["id"], [])
        ]
        found = holders(schedule["rotations"], covering, at) if schedule["enabled"] else []
        found = [{"id": p["id"], "type": p["type"]} for p in found if p["type"] != "noone"]
        if flat == "true":
            return json_response({"onCallUsers": [p["id"] for p in found if p["type"] == "user"]})
        return json_response({"onCallParticipants": found})

    async def list_escalations(self, request: Request) -> Response:
        team = self.team(request)
        found = [self.store.escalations[e] for e, t in self.store.escalation_team.items() if t == team]
        return paged(request, found, 20, 100)

    async def get_escalation(self, request: Request) -> Response:
        return json_response(self.escalation(request))

    # --- writes -------------------------------------------------------------------------------

    def responder(self, raw: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
        kind = raw.get("type") if isinstance(raw, dict) else None
        if kind not in allowed:
            raise invalid(f"type must be one of {', '.join(allowed)}")
        if kind == "noone":
            return {"type": "noone"}
        rid = raw.get("id")
        known = {
            "user": self.api.dir.users.keys(),
            "team": {t for t, r in self.api.dir.teams.items() if r["ops"]},
            "schedule": self.store.schedules.keys(),
            "escalation": self.store.escalations.keys(),
        }[kind]
        if not isinstance(rid, str) or rid.removeprefix(ARI) not in known:
            raise invalid(f"No {kind} with id [{rid}]")
        return {"type": kind, "id": rid.removeprefix(ARI)}

    async def body(self, request: Request) -> dict[str, Any]:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise invalid("The body must be a JSON object")
        return body

    async def update_rotation(self, request: Request) -> Response:
        rotation = self.rotation(request)
        body = await self.body(request)
        changes: dict[str, Any] = {}
        if "participants" in body:
            if not isinstance(body["participants"], list):
                raise invalid("participants must be a list")
            kinds = ("user", "team", "escalation", "noone")
            changes["participants"] = [self.responder(p, kinds) for p in body["participants"]]
        if "type" in body and body["type"] not in UNITS:
            raise invalid("type must be one of daily, weekly, hourly")
        if "length" in body and (not isinstance(body["length"], int) or body["length"] < 1):
            raise invalid("length must be at least 1")
        changes |= {k: body[k] for k in ("name", "type", "length") if k in body}
        changes |= {k: iso(parse_time(body[k], k)) for k in ("startDate", "endDate") if k in body}
        rotation.update(changes)
        self.changed()
        return json_response(rotation)

    async def update_schedule(self, request: Request) -> Response:
        schedule = self.schedule(request)
        body = await self.body(request)
        if "teamId" in body:
            team = body["teamId"]
            schedule["teamId"] = "" if team == "" else self.responder({"type": "team", "id": team}, ("team",))["id"]
        if "enabled" in body and not isinstance(body["enabled"], bool):
            raise invalid("enabled must be a boolean")
        schedule.update({k: body[k] for k in ("name", "description", "timezone", "enabled") if k in body})
        self.changed()
        return json_response(schedule)

    async def update_escalation(self, request: Request) -> Response:
        escalation = self.escalation(request)
        body = await self.body(request)
        if "rules" in body:
            rules = body["rules"]
            if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
                raise invalid("rules must be a list of rules")
            for rule in rules:
                if not isinstance(rule.get("delay"), int) or rule["delay"] < 1:
                    raise invalid("delay must be an integer of at least 1")
            escalation["rules"] = [
                {
                    "condition": r.get("condition", "if-not-acked"),
                    "notifyType": r.get("notifyType", "default"),
                    "delay": r["delay"],
                    "recipient": self.responder(r.get("recipient"), ("user", "schedule", "team")),
                }
                for r in rules
            ]
        escalation.update({k: body[k] for k in ("name", "description", "enabled") if k in body})
        self.changed()
        return json_response(escalation)

    def override_of(self, schedule: dict[str, Any], body: dict[str, Any], alias: str) -> dict[str, Any]:
        if not all(k in body for k in ("responder", "startDate", "endDate")):
            raise invalid("responder, startDate and endDate are required")
        start, end = parse_time(body["startDate"], "startDate"), parse_time(body["endDate"], "endDate")
        if end <= start:
            raise invalid("endDate must be after startDate")
        ids = body.get("rotationIds")
        if ids is not None and not set(ids) <= {r["id"] for r in schedule["rotations"]}:
            raise invalid("rotationIds names a rotation this schedule does not have")
        responder = self.responder(body["responder"], ("user", "noone"))
        return {
            "alias": alias,
            "responder": responder,
            "startDate": iso(start),
            "endDate": iso(end),
            "rotationIds": ids,
        }

    async def create_override(self, request: Request) -> Response:
        schedule = self.schedule(request)
        override = self.override_of(schedule, await self.body(request), str(uuid.uuid4()))
        self.store.overrides.setdefault(schedule["id"], []).append(override)
        self.changed()
        return json_response(override, 201)

    async def replace_override(self, request: Request) -> Response:
        _, override = self.override(request)
        replaced = self.override_of(self.schedule(request), await self.body(request), override["alias"])
        override.update(replaced)
        self.changed()
        return json_response(override)

    async def delete_override(self, request: Request) -> Response:
        listed, override = self.override(request)
        listed.remove(override)
        self.changed()
        return Response(status_code=204)


def jsm_oncall_routes(gate: Gate, api: Reads) -> list[Any]:
    oncall = JsmOnCall(api)
    schedule, escalations = OPS + "/schedules/{scheduleId}", OPS + "/teams/{teamId}/escalations"
    return [
        gate.route(OPS + "/schedules", oncall.list_schedules),
        gate.route(OPS + "/schedules/{id}", oncall.get_schedule),
        gate.route(OPS + "/schedules/{id}", oncall.update_schedule, ["PATCH"]),
        gate.route(schedule + "/rotations", oncall.list_rotations),
        gate.route(schedule + "/rotations/{id}", oncall.get_rotation),
        gate.route(schedule + "/rotations/{id}", oncall.update_rotation, ["PATCH"]),
        gate.route(schedule + "/overrides", oncall.list_overrides),
        gate.route(schedule + "/overrides", oncall.create_override, ["POST"]),
        gate.route(schedule + "/overrides/{alias}", oncall.get_override),
        gate.route(schedule + "/overrides/{alias}", oncall.replace_override, ["PUT"]),
        gate.route(schedule + "/overrides/{alias}", oncall.delete_override, ["DELETE"]),
        gate.route(schedule + "/on-calls", oncall.on_calls),
        gate.route(escalations, oncall.list_escalations),
        gate.route(escalations + "/{id}", oncall.get_escalation),
        gate.route(escalations + "/{id}", oncall.update_escalation, ["PATCH"]),
    ]
