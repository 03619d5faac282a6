"""The simulated Rootly on-call API — writes, as ONCALL.md §1c reads the spec:

- `PUT /v1/schedule_rotation_users/{id}` `{user_id, position}`: swaps the slot's user in place (the
  position stays unless given); `POST /v1/schedule_rotations/{id}/schedule_rotation_users` adds a
  user (at the end unless `position`); `DELETE /v1/schedule_rotation_users/{id}` answers the
  deleted item;
- `PUT /v1/escalation_levels/{id}`: `notification_target_params` replaces the level's whole list;
- `PUT /v1/override_shifts/{id}` takes only `user_id`; `DELETE /v1/override_shifts/{id}`;
  `POST /v1/schedules/{id}/override_shifts` deletes overlapping overrides and answers 201, or 200
  with the existing one for an identical user/start/end;
- `PUT /v1/schedules/{id}`: `owner_user_id` (and the schedule's other attributes).

A `user_id` that is no account is 422 ("invalid association"); unknown attributes are refused
(the spec marks these bodies `additionalProperties: false`). Every write bumps `version`.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mcp_directory.sim.common import json_body, json_response
from mcp_directory.sim.oncall_time import iso, parse_time
from mcp_directory.sim.rootly_dialect import MEDIA_TYPE
from mcp_directory.sim.rootly_oncall import OnCallReads, RootlyOnCallReads
from mcp_directory.sim.rootly_oncall_seed import resource
from mcp_directory.sim.rootly_writes import document, invalid, now_stamp

TARGET_TYPES = {"team", "user", "schedule", "slack_channel", "microsoft_teams_channel", "service"}
LEVEL_ATTRIBUTES = {
    "delay",
    "position",
    "escalation_policy_path_id",
    "paging_strategy_configuration_strategy",
    "paging_strategy_configuration_schedule_strategy",
    "notification_target_params",
}
SCHEDULE_ATTRIBUTES = {
    "name",
    "description",
    "all_time_coverage",
    "slack_user_group",
    "slack_channel",
    "owner_group_ids",
    "owner_user_id",
    "sync_linear_enabled",
}


class RootlyOnCallWrites:
    def __init__(self, api: OnCallReads, reads: RootlyOnCallReads) -> None:
        self.api = api
        self.reads = reads
        self.store = reads.store

    def changed(self, item: dict[str, Any], status: int = 200) -> Response:
        if "updated_at" in item["attributes"]:
            item["attributes"]["updated_at"] = now_stamp()
        self.api.dir.version += 1
        return json_response({"data": item}, status, MEDIA_TYPE)

    def user_id(self, value: Any, nullable: bool = False) -> int | None:
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise invalid("user_id must be an integer")
        if str(value) not in self.api.dir.users:
            raise invalid(f"User {value} does not exist", "Invalid association")
        return value

    async def update_rotation_user(self, request: Request) -> Response:
        item = self.reads.get(self.store.rotation_users, request.path_params["id"], "ScheduleRotationUser")
        attrs = document(await json_body(request), "schedule_rotation_users", {"user_id", "position"})
        if "user_id" in attrs:
            item["attributes"]["user_id"] = self.user_id(attrs["user_id"])
        if "position" in attrs:
            if isinstance(attrs["position"], bool) or not isinstance(attrs["position"], int):
                raise invalid("position must be an integer")
            item["attributes"]["position"] = attrs["position"]
        return self.changed(item)

    async def add_rotation_user(self, request: Request) -> Response:
        rotation = self.reads.get(self.store.rotations, request.path_params["schedule_rotation_id"], "ScheduleRotation")
        attrs = document(await json_body(request), "schedule_rotation_users", {"user_id", "position"})
        if "user_id" not in attrs:
            raise invalid("user_id is required")
        members = self.reads.members(rotation["id"])
        position = attrs.get("position") or 1 + max((m["attributes"]["position"] for m in members), default=0)
        uid, stamp = str(uuid.uuid4()), now_stamp()
        item = resource(
            "schedule_rotation_users",
            uid,
            schedule_rotation_id=rotation["id"],
            user_id=self.user_id(attrs["user_id"]),
            position=position,
            created_at=stamp,
            updated_at=stamp,
        )
        self.store.rotation_users[uid] = item
        return self.changed(item, 201)

    async def remove_rotation_user(self, request: Request) -> Response:
        item = self.reads.get(self.store.rotation_users, request.path_params["id"], "ScheduleRotationUser")
        del self.store.rotation_users[item["id"]]
        return self.changed(item)

    async def update_level(self, request: Request) -> Response:
        level = self.reads.get(self.store.levels, request.path_params["id"], "EscalationLevel")
        attrs = document(await json_body(request), "escalation_levels", LEVEL_ATTRIBUTES)
        if "notification_target_params" in attrs:
            params = attrs["notification_target_params"]
            if not isinstance(params, list):
                raise invalid("notification_target_params must be an array")
            checked = []
            for target in params:
                if not isinstance(target, dict) or target.get("type") not in TARGET_TYPES or "id" not in target:
                    raise invalid("each notification target needs an id and a type")
                if target["type"] == "user":
                    self.user_id(int(target["id"]) if str(target["id"]).isdigit() else target["id"])
                if target["type"] == "schedule" and target["id"] not in self.store.schedules:
                    raise invalid(f"Schedule {target['id']} does not exist", "Invalid association")
                members = {"team_members": target["team_members"]} if target.get("team_members") else {}
                checked.append({"id": str(target["id"]), "type": target["type"], **members})
            attrs["notification_target_params"] = checked
        level["attributes"].update(attrs)
        return self.changed(level)

    async def update_override(self, request: Request) -> Response:
        item = self.reads.get(self.store.overrides, request.path_params["id"], "Shift")
        attrs = document(await json_body(request), "shifts", {"user_id"})
        if "user_id" not in attrs:
            raise invalid("user_id is required")
        item["attributes"]["user_id"] = self.user_id(attrs["user_id"])
        return self.changed(item)

    async def delete_override(self, request: Request) -> Response:
        item = self.reads.get(self.store.overrides, request.path_params["id"], "Shift")
        del self.store.overrides[item["id"]]
        return self.changed(item)

    async def create_override(self, request: Request) -> Response:
        schedule = self.reads.get(self.store.schedules, request.path_params["schedule_id"], "Schedule")
        attrs = document(await json_body(request), "shifts", {"starts_at", "ends_at", "user_id"})
        if not {"starts_at", "ends_at", "user_id"} <= attrs.keys():
            raise invalid("starts_at, ends_at and user_id are required")
        user = self.user_id(attrs["user_id"])
        starts, ends = parse_time(attrs["starts_at"], "starts_at"), parse_time(attrs["ends_at"], "ends_at")
        if ends <= starts:
            raise invalid("ends_at must be after starts_at")
        mine = [o for o in self.store.overrides.values() if o["attributes"]["schedule_id"] == schedule["id"]]
        for other in mine:
            o = other["attributes"]
            if (o["user_id"], o["starts_at"], o["ends_at"]) == (user, iso(starts), iso(ends)):
                return json_response({"data": other}, 200, MEDIA_TYPE)  # idempotent: the same override
            if parse_time(o["starts_at"], "starts_at") < ends and starts < parse_time(o["ends_at"], "ends_at"):
                del self.store.overrides[other["id"]]  # overlapping overrides are replaced
        oid, stamp = str(uuid.uuid4()), now_stamp()
        creator = self.api.dir.me_id
        item = resource(
            "shifts",
            oid,
            schedule_id=schedule["id"],
            rotation_id=None,
            starts_at=iso(starts),
            ends_at=iso(ends),
            is_override=True,
            shift_override={
                "data": {
                    "id": str(uuid.uuid4()),
                    "type": "shift_override",
                    "attributes": {"shift_id": oid, "created_by_user_id": int(creator) if creator else 0},
                }
            },
            user_id=user,
            created_at=stamp,
            updated_at=stamp,
        )
        self.store.overrides[oid] = item
        return self.changed(item, 201)

    async def update_schedule(self, request: Request) -> Response:
        schedule = self.reads.get(self.store.schedules, request.path_params["id"], "Schedule")
        attrs = document(await json_body(request), "schedules", SCHEDULE_ATTRIBUTES)
        if "owner_user_id" in attrs:
            attrs["owner_user_id"] = self.user_id(attrs["owner_user_id"], nullable=True)
        schedule["attributes"].update(attrs)
        return self.changed(schedule)


def rootly_oncall_routes(gate: Any, api: OnCallReads) -> list[Any]:
    reads = RootlyOnCallReads(api)
    writes = RootlyOnCallWrites(api, reads)
    return [
        gate.route("/v1/schedules", reads.list_schedules),
        gate.route("/v1/schedules/{id}", reads.get_schedule),
        gate.route("/v1/schedules/{id}", writes.update_schedule, ["PUT"]),
        gate.route("/v1/schedules/{schedule_id}/schedule_rotations", reads.list_rotations),
        gate.route("/v1/schedule_rotations/{id}", reads.get_rotation),
        gate.route("/v1/schedule_rotations/{schedule_rotation_id}/schedule_rotation_users", reads.list_rotation_users),
        gate.route(
            "/v1/schedule_rotations/{schedule_rotation_id}/schedule_rotation_users", writes.add_rotation_user, ["POST"]
        ),
        gate.route("/v1/schedule_rotation_users/{id}", reads.get_rotation_user),
        gate.route("/v1/schedule_rotation_users/{id}", writes.update_rotation_user, ["PUT"]),
        gate.route("/v1/schedule_rotation_users/{id}", writes.remove_rotation_user, ["DELETE"]),
        gate.route("/v1/escalation_policies", reads.list_policies),
        gate.route("/v1/escalation_policies/{id}", reads.get_policy),
        gate.route("/v1/escalation_policies/{escalation_policy_id}/escalation_paths", reads.list_paths),
        gate.route("/v1/escalation_policies/{escalation_policy_id}/escalation_levels", reads.policy_levels),
        gate.route("/v1/escalation_paths/{escalation_policy_path_id}/escalation_levels", reads.path_levels),
        gate.route("/v1/escalation_levels/{id}", reads.get_level),
        gate.route("/v1/escalation_levels/{id}", writes.update_level, ["PUT"]),
        gate.route("/v1/schedules/{schedule_id}/override_shifts", reads.list_overrides),
        gate.route("/v1/schedules/{schedule_id}/override_shifts", writes.create_override, ["POST"]),
        gate.route("/v1/override_shifts/{id}", reads.get_override),
        gate.route("/v1/override_shifts/{id}", writes.update_override, ["PUT"]),
        gate.route("/v1/override_shifts/{id}", writes.delete_override, ["DELETE"]),
        gate.route("/v1/oncalls", reads.oncalls),
    ]
