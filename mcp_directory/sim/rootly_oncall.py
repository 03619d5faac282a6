"""The simulated Rootly on-call API — reads (JSON:API, page-number paged like every Rootly list):
schedules, a schedule's rotations, a rotation's users, escalation policies (`include=
escalation_policy_levels|escalation_policy_paths`), their paths and levels, a schedule's override
shifts, and `GET /v1/oncalls` (writes in `rootly_oncall_writes`).

`/v1/oncalls` (spec: "on-call entries grouped by escalation policy level", no links, no meta):
for each level of each policy's path, each target — a schedule gives, per rotation, whoever holds
its shifts overlapping [since, until] (an override shift covering the time wins, for its rotation
or, with no rotation, for the whole schedule); a user is named directly (`schedule_id` null,
`starts_at`/`ends_at` the asked window: the spec does not say what Rootly puts there); teams are
not expanded. `filter[*_ids]` are comma-separated; `earliest=true` keeps the first entry per path
and level; `include` adds users, schedules, policies. Shift lengths (not in the spec):
Daily 1 day, Weekly 7, Biweekly 14, Monthly 30, Custom `shift_length` `shift_length_unit`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from mcp_directory.sim.common import SimError, json_response
from mcp_directory.sim.oncall_time import covers, iso, parse_time, shifts_between
from mcp_directory.sim.rootly_dialect import MEDIA_TYPE
from mcp_directory.sim.rootly_oncall_seed import RootlyOnCall
from mcp_directory.sim.rootly_writes import Reads

DAYS = {
    "ScheduleDailyRotation": 1,
    "ScheduleWeeklyRotation": 7,
    "ScheduleBiweeklyRotation": 14,
    "ScheduleMonthlyRotation": 30,
}
UNITS = {"hours": timedelta(hours=1), "days": timedelta(days=1), "weeks": timedelta(weeks=1)}
POLICY_INCLUDES = {"escalation_policy_levels", "escalation_policy_paths", "groups", "services"}
ONCALL_INCLUDES = {"user", "schedule", "escalation_policy"}


def shift_length(rotation: dict[str, Any]) -> timedelta:
    attrs = rotation["attributes"]
    kind = attrs["schedule_rotationable_type"]
    if kind in DAYS:
        return timedelta(days=DAYS[kind])
    shape = attrs["schedule_rotationable_attributes"]
    return UNITS[shape["shift_length_unit"]] * int(shape["shift_length"])


def names(raw: str | None, allowed: set[str] | None = None) -> list[str]:
    found = [n.strip() for n in (raw or "").split(",") if n.strip()]
    if allowed is not None and set(found) - allowed:
        raise SimError(400, f"Invalid include: {', '.join(sorted(set(found) - allowed))}", title="Invalid include")
    return found


class OnCallReads(Reads, Protocol):
    """What the on-call routes need of the read API (`rootly.RootlyApi`, which builds them): the
    writes' `Reads` and its pages, typed here so the read module imports this one, not back."""

    def page(
        self,
        request: Request,
        items: list[dict[str, Any]],
        included: Callable[[list[dict[str, Any]]], list[dict[str, Any]] | None] | None = None,
    ) -> Response: ...


class RootlyOnCallReads:
    def __init__(self, api: OnCallReads) -> None:
        self.api = api
        self.store: RootlyOnCall = api.dir.oncall

    def get(self, table: dict[str, dict[str, Any]], key: str, kind: str) -> dict[str, Any]:
        return self.api.find(table, key, kind)

    def members(self, rotation_id: str) -> list[dict[str, Any]]:
        users = [
            u for u in self.store.rotation_users.values() if u["attributes"]["schedule_rotation_id"] == rotation_id
        ]
        return sorted(users, key=lambda u: u["attributes"]["position"])

    def rotations_of(self, schedule_id: str) -> list[dict[str, Any]]:
        found = [r for r in self.store.rotations.values() if r["attributes"]["schedule_id"] == schedule_id]
        return sorted(found, key=lambda r: r["attributes"]["position"])

    def levels_of(self, key: str, value: str) -> list[dict[str, Any]]:
        found = [lv for lv in self.store.levels.values() if lv["attributes"][key] == value]
        return sorted(found, key=lambda lv: lv["attributes"]["position"])

    # --- plain lists and items --------------------------------------------------------------

    async def list_schedules(self, request: Request) -> Response:
        q = request.query_params
        search, name = (q.get("filter[search]") or "").lower(), q.get("filter[name]")
        found = [
            s
            for s in self.store.schedules.values()
            if search in s["attributes"]["name"].lower() and (name is None or s["attributes"]["name"] == name)
        ]
        return self.api.page(request, found)

    async def get_schedule(self, request: Request) -> Response:
        return self.api.one(self.get(self.store.schedules, request.path_params["id"], "Schedule"))

    async def list_rotations(self, request: Request) -> Response:
        schedule = self.get(self.store.schedules, request.path_params["schedule_id"], "Schedule")
        return self.api.page(request, self.rotations_of(schedule["id"]))

    async def get_rotation(self, request: Request) -> Response:
        return self.api.one(self.get(self.store.rotations, request.path_params["id"], "ScheduleRotation"))

    async def list_rotation_users(self, request: Request) -> Response:
        rotation = self.get(self.store.rotations, request.path_params["schedule_rotation_id"], "ScheduleRotation")
        return self.api.page(request, self.members(rotation["id"]))

    async def get_rotation_user(self, request: Request) -> Response:
        return self.api.one(self.get(self.store.rotation_users, request.path_params["id"], "ScheduleRotationUser"))

    def policy_included(self, policies: list[dict[str, Any]], wanted: list[str]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for policy in policies:
            if "escalation_policy_paths" in wanted:
                out += [p for p in self.store.paths.values() if p["attributes"]["escalation_policy_id"] == policy["id"]]
            if "escalation_policy_levels" in wanted:
                out += self.levels_of("escalation_policy_id", policy["id"])
        return out

    def policy_includes(self, request: Request) -> list[str]:
        wanted = names(request.query_params.get("include"), POLICY_INCLUDES)
        return [w for w in wanted if w != "escalation_policy_levels" or self.store.include_levels]

    async def list_policies(self, request: Request) -> Response:
        wanted = self.policy_includes(request)
        search = (request.query_params.get("filter[search]") or "").lower()
        found = [p for p in self.store.policies.values() if search in p["attributes"]["name"].lower()]
        return self.api.page(request, found, (lambda chunk: self.policy_included(chunk, wanted)) if wanted else None)

    async def get_policy(self, request: Request) -> Response:
        wanted = self.policy_includes(request)
        policy = self.get(self.store.policies, request.path_params["id"], "EscalationPolicy")
        return self.api.one(policy, self.policy_included([policy], wanted) if wanted else None)

    async def list_paths(self, request: Request) -> Response:
        policy = self.get(self.store.policies, request.path_params["escalation_policy_id"], "EscalationPolicy")
        kind = request.query_params.get("filter[path_type]")
        found = [
            p
            for p in self.store.paths.values()
            if p["attributes"]["escalation_policy_id"] == policy["id"] and kind in (None, p["attributes"]["path_type"])
        ]
        return self.api.page(request, found)

    async def policy_levels(self, request: Request) -> Response:
        policy = self.get(self.store.policies, request.path_params["escalation_policy_id"], "EscalationPolicy")
        return self.api.page(request, self.levels_of("escalation_policy_id", policy["id"]))

    async def path_levels(self, request: Request) -> Response:
        path = self.get(self.store.paths, request.path_params["escalation_policy_path_id"], "EscalationPath")
        return self.api.page(request, self.levels_of("escalation_policy_path_id", path["id"]))

    async def get_level(self, request: Request) -> Response:
        return self.api.one(self.get(self.store.levels, request.path_params["id"], "EscalationLevel"))

    async def list_overrides(self, request: Request) -> Response:
        schedule = self.get(self.store.schedules, request.path_params["schedule_id"], "Schedule")
        found = [o for o in self.store.overrides.values() if o["attributes"]["schedule_id"] == schedule["id"]]
        return self.api.page(request, sorted(found, key=lambda o: o["attributes"]["starts_at"]))

    async def get_override(self, request: Request) -> Response:
        return self.api.one(self.get(self.store.overrides, request.path_params["id"], "Shift"))

    # --- who is on call ---------------------------------------------------------------------

    def schedule_shifts(self, schedule_id: str, since: datetime, until: datetime) -> list[tuple[int, str, str]]:
        """(user id, starts_at, ends_at) of each shift of the schedule overlapping [since, until]."""
        out: list[tuple[int, str, str]] = []
        overrides = [
            o["attributes"] for o in self.store.overrides.values() if o["attributes"]["schedule_id"] == schedule_id
        ]
        for rotation in self.rotations_of(schedule_id):
            attrs, members = rotation["attributes"], self.members(rotation["id"])
            start = parse_time(attrs["start_time"], "start_time")
            end = parse_time(attrs["end_time"], "end_time") if attrs.get("end_time") else None
            for shift in shifts_between(start, shift_length(rotation), len(members), since, until, end):
                user, starts, ends = members[shift.slot]["attributes"]["user_id"], shift.starts, shift.ends
                for o in overrides:
                    o_start, o_end = parse_time(o["starts_at"], "starts_at"), parse_time(o["ends_at"], "ends_at")
                    if o["rotation_id"] in (None, rotation["id"]) and covers(o_start, o_end, max(starts, since)):
                        user, starts, ends = o["user_id"], o_start, o_end
                if (user, iso(starts), iso(ends)) not in out:
                    out.append((user, iso(starts), iso(ends)))
        return out

    async def oncalls(self, request: Request) -> Response:
        q = request.query_params
        since = parse_time(q.get("since"), "since", datetime.now(UTC))
        until = parse_time(q.get("until"), "until", since)
        if until < since:
            raise SimError(400, "until must not be before since", title="Bad Request")
        wanted = names(q.get("include"), ONCALL_INCLUDES)
        only = {k: set(names(q.get(f"filter[{k}]"))) for k in ("escalation_policy_ids", "schedule_ids", "user_ids")}
        earliest = (q.get("earliest") or "false").lower() == "true"
        data: list[dict[str, Any]] = []
        for policy in self.store.policies.values():
            if only["escalation_policy_ids"] and policy["id"] not in only["escalation_policy_ids"]:
                continue
            for level in self.levels_of("escalation_policy_id", policy["id"]):
                data += self.level_entries(policy, level, since, until, only, earliest)
        body: dict[str, Any] = {"data": data}
        if wanted:
            body["included"] = self.oncall_included(data, wanted)
        return json_response(body, 200, MEDIA_TYPE)

    def level_entries(
        self, policy: dict[str, Any], level: dict[str, Any], since: datetime, until: datetime, only: Any, earliest: bool
    ) -> list[dict[str, Any]]:
        attrs = level["attributes"]
        path = self.store.paths.get(attrs["escalation_policy_path_id"] or "")
        found: list[dict[str, Any]] = []
        shifts: list[tuple[dict[str, Any] | None, int, str, str]]
        for target in attrs["notification_target_params"] or []:
            if target["type"] == "schedule" and target["id"] in self.store.schedules:
                named = self.store.schedules[target["id"]]
                shifts = [(named, *s) for s in self.schedule_shifts(named["id"], since, until)]
            elif target["type"] == "user":
                shifts = [(None, int(target["id"]), iso(since), iso(until))]
            else:
                continue
            for schedule, user, starts, ends in shifts:
                if (only["schedule_ids"] and (schedule is None or schedule["id"] not in only["schedule_ids"])) or (
                    only["user_ids"] and str(user) not in only["user_ids"]
                ):
                    continue
                entry = {
                    "escalation_policy_id": policy["id"],
                    "escalation_policy_name": policy["attributes"]["name"],
                    "escalation_policy_path_id": path["id"] if path else None,
                    "escalation_policy_path_name": path["attributes"]["name"] if path else None,
                    "notification_type": path["attributes"]["notification_type"] if path else None,
                    "is_default_path": path["attributes"]["default"] if path else None,
                    "escalation_level": attrs["position"],
                    "schedule_id": schedule["id"] if schedule else None,
                    "schedule_name": schedule["attributes"]["name"] if schedule else None,
                    "user_id": user,
                    "starts_at": starts,
                    "ends_at": ends,
                }
                rid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{level['id']}/{user}/{starts}/{entry['schedule_id']}"))
                relationships = {
                    "user": {"data": {"id": str(user), "type": "users"}},
                    "schedule": {"data": {"id": schedule["id"], "type": "schedules"} if schedule else None},
                    "escalation_policy": {"data": {"id": policy["id"], "type": "escalation_policies"}},
                }
                found.append(
                    {"id": rid, "type": "on_call_resources", "attributes": entry, "relationships": relationships}
                )
        return found[:1] if earliest else found

    def oncall_included(self, data: list[dict[str, Any]], wanted: list[str]) -> list[dict[str, Any]]:
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for entry in data:
            a = entry["attributes"]
            if "user" in wanted and str(a["user_id"]) in self.api.dir.users:
                out[("users", str(a["user_id"]))] = self.api.dir.users[str(a["user_id"])]
            if "schedule" in wanted and a["schedule_id"]:
                out[("schedules", a["schedule_id"])] = self.store.schedules[a["schedule_id"]]
            if "escalation_policy" in wanted:
                out[("escalation_policies", a["escalation_policy_id"])] = self.store.policies[a["escalation_policy_id"]]
        return list(out.values())
