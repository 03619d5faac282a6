"""The simulated Opsgenie on-call API — reads: schedules (rotations inline with `expand=rotation`),
rotations, overrides, escalations, a user's schedules and escalations, and who is on call.

Wire format from `provider_specs/oncall/opsgenie-oncall.swagger.json`: `{data, took, requestId}`
(plus `expandable` on the schedule list and a schedule); none of these lists is paged (the spec
has no offset or limit for them); a schedule is addressed by id or name (`identifierType` on the
schedule itself, `scheduleIdentifierType` below it); `date` is an ISO 8601 time (422 otherwise).
On-calls: each rotation's current participant (oncall_time's rule), an override covering the time
in place of the rotations it names (all when it names none); a `none` participant or override
pages nobody; a disabled schedule has nobody on call. `flat=true` answers `onCallRecipients`
(usernames of the user participants; the spec does not say how a team expands, so it is left out),
otherwise `onCallParticipants` `{id, name, type}`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from mcp_directory.sim.common import SimError
from mcp_directory.sim.oncall_seed import OnCallStore
from mcp_directory.sim.oncall_time import Cover, holders, parse_time
from mcp_directory.sim.opsgenie_seed import OpsgenieDirectory

UNPROCESSABLE = "Request body is not processable. Please check the errors."


def unprocessable(field: str, problem: str) -> SimError:
    return SimError(422, UNPROCESSABLE, errors={field: problem})


def flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise unprocessable(name, "must be true or false")
    return raw == "true"


def moment(request: Request) -> datetime:
    try:
        return parse_time(request.query_params.get("date"), "date", datetime.now(UTC))
    except SimError as exc:
        raise unprocessable("date", exc.message) from exc


def on_call(schedule: dict[str, Any], overrides: list[dict[str, Any]], at: datetime) -> list[dict[str, Any]]:
    """The recipients on call in `schedule` at `at`, in rotation order, each once (overrides win)."""
    if not schedule.get("enabled", True):
        return []
    covering = [
        Cover(
            o["startDate"],
            o["endDate"],
            {n for r in o.get("rotations") or [] for n in (r.get("id"), r.get("name"))},
            o["user"],
        )
        for o in overrides
    ]
    return [p for p in holders(schedule["rotations"], covering, at) if p["type"] != "none"]


def references(store: OnCallStore, user_id: str) -> list[str]:
    """Where a user is named: "schedule <name>" per rotation's schedule, "escalation <name>"."""
    out = [
        f"schedule {s['name']}"
        for s in store.schedules.values()
        if any(p.get("id") == user_id for r in s["rotations"] for p in r["participants"])
    ]
    out += [
        f"escalation {e['name']}"
        for e in store.escalations.values()
        if any(r["recipient"].get("id") == user_id for r in e["rules"])
    ]
    return out


def rename(store: OnCallStore, user_id: str, username: str) -> None:
    """A user's new username, wherever a participant, recipient or override shows it."""
    shown = [p for s in store.schedules.values() for r in s["rotations"] for p in r["participants"]]
    shown += [r["recipient"] for e in store.escalations.values() for r in e["rules"]]
    shown += [o["user"] for listed in store.overrides.values() for o in listed]
    for recipient in shown:
        if recipient.get("type") == "user" and recipient.get("id") == user_id:
            recipient["username"] = username


class Reads(Protocol):
    """What the writes and the on-call routes need of the read API (`opsgenie.OpsgenieApi`, which
    builds them): typed here, so the read module imports these and not the other way round."""

    dir: OpsgenieDirectory

    def ok(self, request: Request, payload: dict[str, Any]) -> Response: ...

    def find_user(self, identifier: str) -> dict[str, Any]: ...


class OpsgenieOnCallReads:
    """Read handlers over the directory's `oncall` store, answering with the read API's envelope."""

    def __init__(self, api: Reads) -> None:
        self.api = api
        self.store: OnCallStore = api.dir.oncall

    def schedule(self, request: Request, param: str = "scheduleIdentifierType") -> dict[str, Any]:
        identifier = request.path_params["identifier"]
        kind = request.query_params.get(param, "id")
        if kind not in ("id", "name"):
            raise unprocessable(param, f"Invalid {param} '{kind}'")
        for schedule in self.store.schedules.values():
            if schedule[kind] == identifier:
                return schedule
        raise SimError(404, f"No schedule exists with {kind} [{identifier}]")

    def rotation(self, request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
        schedule = self.schedule(request)
        for rotation in schedule["rotations"]:
            if rotation["id"] == request.path_params["id"]:
                return schedule, rotation
        raise SimError(404, f"No rotation exists with id [{request.path_params['id']}]")

    def override(self, request: Request) -> tuple[dict[str, Any], dict[str, Any]]:
        schedule = self.schedule(request)
        for override in self.store.overrides.get(schedule["id"], []):
            if override["alias"] == request.path_params["alias"]:
                return schedule, override
        raise SimError(404, f"No override exists with alias [{request.path_params['alias']}]")

    def escalation(self, request: Request) -> dict[str, Any]:
        identifier = request.path_params["identifier"]
        kind = request.query_params.get("identifierType", "id")
        if kind not in ("id", "name"):
            raise unprocessable("identifierType", f"Invalid identifierType '{kind}'")
        for escalation in self.store.escalations.values():
            if escalation[kind] == identifier:
                return escalation
        raise SimError(404, f"No escalation exists with {kind} [{identifier}]")

    @staticmethod
    def meta(schedule: dict[str, Any]) -> dict[str, Any]:
        return {"id": schedule["id"], "name": schedule["name"], "enabled": schedule["enabled"]}

    async def list_schedules(self, request: Request) -> Response:
        expand = {e.strip() for e in request.query_params.get("expand", "").split(",") if e.strip()}
        data = [
            s if "rotation" in expand else {k: v for k, v in s.items() if k != "rotations"}
            for s in self.store.schedules.values()
        ]
        return self.api.ok(request, {"data": data, "expandable": ["rotation"]})

    async def get_schedule(self, request: Request) -> Response:
        return self.api.ok(request, {"data": self.schedule(request, "identifierType"), "expandable": ["rotation"]})

    async def list_rotations(self, request: Request) -> Response:
        return self.api.ok(request, {"data": self.schedule(request)["rotations"]})

    async def get_rotation(self, request: Request) -> Response:
        schedule, rotation = self.rotation(request)
        return self.api.ok(request, {"data": {**rotation, "_parent": self.meta(schedule)}})

    async def list_overrides(self, request: Request) -> Response:
        schedule = self.schedule(request)
        data = [{"_parent": self.meta(schedule), **o} for o in self.store.overrides.get(schedule["id"], [])]
        return self.api.ok(request, {"data": data})

    async def get_override(self, request: Request) -> Response:
        schedule, override = self.override(request)
        return self.api.ok(request, {"data": {"_parent": self.meta(schedule), **override}})

    async def list_escalations(self, request: Request) -> Response:
        return self.api.ok(request, {"data": list(self.store.escalations.values())})

    async def get_escalation(self, request: Request) -> Response:
        return self.api.ok(request, {"data": self.escalation(request)})

    async def user_schedules(self, request: Request) -> Response:
        uid = self.api.find_user(request.path_params["identifier"])["id"]
        data = [
            self.meta(s)
            for s in self.store.schedules.values()
            if any(p.get("id") == uid for r in s["rotations"] for p in r["participants"])
        ]
        return self.api.ok(request, {"data": data})

    async def user_escalations(self, request: Request) -> Response:
        uid = self.api.find_user(request.path_params["identifier"])["id"]
        data = [e for e in self.store.escalations.values() if any(r["recipient"].get("id") == uid for r in e["rules"])]
        return self.api.ok(request, {"data": data})

    def on_call_of(self, schedule: dict[str, Any], at: datetime, flat: bool) -> dict[str, Any]:
        found = on_call(schedule, self.store.overrides.get(schedule["id"], []), at)
        if flat:
            names = [p["username"] for p in found if p["type"] == "user" and p.get("username")]
            return {"_parent": self.meta(schedule), "onCallRecipients": names}
        people = [{"id": p["id"], "name": p.get("username") or p.get("name", ""), "type": p["type"]} for p in found]
        return {"_parent": self.meta(schedule), "onCallParticipants": people}

    async def schedule_on_calls(self, request: Request) -> Response:
        schedule = self.schedule(request)
        return self.api.ok(request, {"data": self.on_call_of(schedule, moment(request), flag(request, "flat"))})

    async def all_on_calls(self, request: Request) -> Response:
        at, flat = moment(request), flag(request, "flat")
        data = [self.on_call_of(s, at, flat) for s in self.store.schedules.values()]
        return self.api.ok(request, {"data": data})
