"""The simulated Retool API — write side: create, update (JSON Patch) and disable users; add and
remove group members.

Wire quirks reproduced (spec and the recorded TestAccUser exchange): `POST /users` answers 200
(not 201) `{"success": true, "data": user}` with a new `user_…` id and the next `legacy_id`;
`PATCH /users/{id}` takes `{"operations": [{"op", "path", "value"}]}`; `DELETE /users/{id}` answers
204 with an empty body and only disables the user, who still lists with `active: false`. Bodies
are `additionalProperties: false` where the spec says so; errors are `{"success": false, "message"}`
with 400 for invalid bodies. A taken email is a 409 (our choice: the spec declares 409 for
"… already exists" conflicts elsewhere; neither spec nor recordings show this case). Group member
writes answer 200 with the whole updated group; an existing member only has its admin flag updated.
A new user joins the "All Users" group, as every user of a Retool org is in it.

Every write mutates the `RetoolDirectory` and bumps its `version`, so later reads show it.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from mcp_directory.sim.common import SimError, json_body
from mcp_directory.sim.retool_seed import RetoolDirectory
from mcp_directory.sim.world import iso_z

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CREATE_FIELDS = {"email", "first_name", "last_name", "active", "metadata", "user_type"}
USER_TYPES = ("default", "mobile", "embed")
# Paths a user PATCH may touch, and the check each value must pass.
PATCHABLE = {
    "email": lambda v: isinstance(v, str) and bool(EMAIL.match(v)),
    "first_name": lambda v: v is None or (isinstance(v, str) and 1 <= len(v) <= 36),
    "last_name": lambda v: v is None or (isinstance(v, str) and 1 <= len(v) <= 36),
    "active": lambda v: isinstance(v, bool),
    "is_admin": lambda v: isinstance(v, bool),
    "metadata": lambda v: isinstance(v, dict),
    "user_type": lambda v: v in USER_TYPES,
}


def bad(message: str) -> SimError:
    return SimError(400, message)


def now_stamp() -> str:
    return iso_z(datetime.now(UTC))


class Reads(Protocol):
    """What the writes need of the read API (`retool.RetoolApi`, which builds them): typed here,
    so the read module imports this one and not the other way round."""

    dir: RetoolDirectory

    def find_user(self, user_id: str) -> dict[str, Any]: ...


class RetoolWrites:
    """Write handlers over the read API's directory (`api.dir`)."""

    def __init__(self, api: Reads, ok: Callable[[Any], Response]) -> None:
        self.api = api
        self.ok = ok
        self.dir: RetoolDirectory = api.dir

    def changed(self) -> None:
        self.dir.version += 1

    def email_taken(self, email: str, self_id: str | None = None) -> None:
        if any(u["email"].lower() == email.lower() and u["id"] != self_id for u in self.dir.users.values()):
            raise SimError(409, f"User with email {email} already exists")

    # --- users ----------------------------------------------------------------------------------

    async def create_user(self, request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict):
            raise bad("Body must be a JSON object")
        unknown = sorted(set(body) - CREATE_FIELDS)
        if unknown:
            raise bad(f"Unrecognized key(s) in object: {', '.join(unknown)}")
        for name in ("email", "first_name", "last_name"):
            if not isinstance(body.get(name), str) or not body[name]:
                raise bad(f"{name} is required")
        if not PATCHABLE["email"](body["email"]):
            raise bad(f"Invalid email: {body['email']}")
        for name in ("active", "metadata", "user_type"):
            if name in body and not PATCHABLE[name](body[name]):
                raise bad(f"Invalid {name}")
        self.email_taken(body["email"])
        user_id = f"user_{uuid.uuid4().hex}"
        legacy_id = max((u["legacy_id"] for u in self.dir.users.values()), default=0) + 1
        user = {  # the recorded key order
            "id": user_id,
            "legacy_id": legacy_id,
            "first_name": body["first_name"],
            "last_name": body["last_name"],
            "created_at": now_stamp(),
            "last_active": None,
            "email": body["email"],
            "active": body.get("active", True),
            "metadata": body.get("metadata", {}),
            "is_admin": False,
            "two_factor_auth_enabled": False,
            "user_type": body.get("user_type", "default"),
        }
        self.dir.users[user_id] = user
        for group in self.dir.groups.values():
            if group["name"] == "All Users":
                group["members"].append({"id": user_id, "email": user["email"], "is_group_admin": False})
        self.changed()
        return self.ok(user)

    async def update_user(self, request: Request) -> Response:
        user = self.api.find_user(request.path_params["user_id"])
        body = await json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("operations"), list) or set(body) - {"operations"}:
            raise bad('Body must be {"operations": [...]}')
        patched = copy.deepcopy(user)
        for operation in body["operations"]:
            self.apply(patched, operation)
        if patched["email"] != user["email"]:
            self.email_taken(patched["email"], user["id"])
            for group in self.dir.groups.values():
                for member in group["members"]:
                    if member["id"] == user["id"]:
                        member["email"] = patched["email"]
        user.update(patched)
        self.changed()
        return self.ok(user)

    @staticmethod
    def apply(user: dict[str, Any], operation: Any) -> None:
        """One RFC 6902 add/remove/replace on a user's top-level field or a metadata key."""
        if not isinstance(operation, dict) or operation.get("op") not in ("add", "remove", "replace"):
            raise bad("Each operation needs op add, remove or replace")
        path = operation.get("path")
        parts = path.split("/")[1:] if isinstance(path, str) and path.startswith("/") else []
        if not parts or parts[0] not in PATCHABLE or len(parts) > (2 if parts[0] == "metadata" else 1):
            raise bad(f"Cannot patch path {path!r}")
        op = operation["op"]
        if op != "remove" and "value" not in operation:
            raise bad(f"Operation {op} on {path} needs a value")
        if len(parts) == 2:  # /metadata/<key>
            if op == "remove":
                user["metadata"].pop(parts[1], None)
            else:
                user["metadata"][parts[1]] = operation["value"]
            return
        field = parts[0]
        value = None if op == "remove" else operation["value"]
        if op == "remove" and field == "metadata":
            value = {}
        if not PATCHABLE[field](value):
            raise bad(f"Invalid value for {field}")
        user[field] = value

    async def delete_user(self, request: Request) -> Response:
        user = self.api.find_user(request.path_params["user_id"])
        if user["active"]:
            user["active"] = False  # Retool's DELETE disables; the user still lists
            self.changed()
        return Response(status_code=204)

    # --- group members --------------------------------------------------------------------------

    def group(self, request: Request) -> dict[str, Any]:
        raw = request.path_params["group_id"]
        group = self.dir.groups.get(int(raw)) if raw.isdigit() else None
        if group is None:
            raise SimError(404, f"Group {raw} not found")
        return group

    async def add_members(self, request: Request) -> Response:
        group = self.group(request)
        body = await json_body(request)
        members = body.get("members") if isinstance(body, dict) else None
        if not isinstance(members, list) or not members:
            raise bad("members is required and must be a non-empty array")
        wanted: list[tuple[dict[str, Any], bool]] = []
        for entry in members:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                raise bad("Each member needs an id")
            admin = entry.get("is_group_admin", False)  # spec default false
            if not isinstance(admin, bool):
                raise bad("is_group_admin must be a boolean")
            wanted.append((self.api.find_user(entry["id"]), admin))
        current = {m["id"]: m for m in group["members"]}
        for user, admin in wanted:
            if user["id"] in current:  # existing member: only the admin flag changes
                current[user["id"]]["is_group_admin"] = admin
            else:
                current[user["id"]] = {"id": user["id"], "email": user["email"], "is_group_admin": admin}
                group["members"].append(current[user["id"]])
        group["updated_at"] = now_stamp()
        self.changed()
        return self.ok(group)

    async def remove_member(self, request: Request) -> Response:
        group = self.group(request)
        user_id = request.path_params["user_id"]
        kept = [m for m in group["members"] if m["id"] != user_id]
        if len(kept) == len(group["members"]):
            raise SimError(404, f"User {user_id} is not a member of group {group['id']}")
        group["members"] = kept
        group["updated_at"] = now_stamp()
        self.changed()
        return self.ok(group)
