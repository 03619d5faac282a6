"""The simulated Opsgenie API — write side: create, update and delete users; add and remove team
members.

Wire quirks reproduced: create answers 201 `{"result": "Created", "data": {"id", "name"}}` (the
name is the username); update/delete/add/remove answer 200 with `result` "Updated", "Deleted",
"Added", "Removed"; validation failures are 422 with an `errors` map keyed by field; a taken
username (compared case-insensitively, as logins are) is a 409 conflict. Deleting a user still
named in a schedule rotation or an escalation rule answers 428 (what Opsgenie's Terraform provider
retries on); deleting one that is not removes it from every team and drops its overrides;
`GET /v2/account`'s `userCount` follows because it counts live users. The members endpoints
address the team with `teamIdentifierType` (id|name), a member by id or username.

Every write mutates the `OpsgenieDirectory` and bumps its `version`, so later reads show it.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mcp_directory.sim.common import SimError, json_body
from mcp_directory.sim.opsgenie_oncall import Reads, references, rename
from mcp_directory.sim.opsgenie_seed import OpsgenieDirectory
from mcp_directory.sim.world import iso_z

UNPROCESSABLE = "Request body is not processable. Please check the errors."
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
BUILT_IN_ROLES = ("owner", "admin", "user")
TEAM_MEMBER_ROLES = ("user", "admin")  # the simulator defines no custom team roles
ADDRESS_KEYS = ("country", "state", "city", "line", "zipCode")


def unprocessable(errors: dict[str, str]) -> SimError:
    return SimError(422, UNPROCESSABLE, errors=errors)


class OpsgenieWrites:
    """Write handlers over the read API's directory (`api.dir`), answering with `api.ok`."""

    def __init__(self, api: Reads) -> None:
        self.api = api
        self.dir: OpsgenieDirectory = api.dir

    def changed(self) -> None:
        self.dir.version += 1

    def done(self, request: Request, result: str, data: dict[str, Any] | None = None, status: int = 200) -> Response:
        response = self.api.ok(request, {"result": result, **({"data": data} if data is not None else {})})
        response.status_code = status
        return response

    # --- users ----------------------------------------------------------------------------------

    def role_of(self, raw: Any, errors: dict[str, str]) -> dict[str, Any] | None:
        name = raw.get("name") if isinstance(raw, dict) else None
        if not isinstance(name, str) or not name.strip():
            errors["role"] = "Role name may not be blank"
            return None
        if name.lower() in BUILT_IN_ROLES:
            return {"id": name.lower(), "name": name.lower()}
        for role in self.dir.roles.values():
            if role["name"].lower() == name.lower():
                return {"id": role["id"], "name": role["name"]}
        errors["role"] = f"Role [{name}] does not exist"
        return None

    def checked(self, body: Any, *, creating: bool, self_id: str | None = None) -> dict[str, Any]:
        """The body's user fields, validated; 422 with every problem, 409 for a taken username."""
        if not isinstance(body, dict):
            raise unprocessable({"body": "must be a JSON object"})
        errors: dict[str, str] = {}
        fields: dict[str, Any] = {}
        if "username" in body or creating:
            username = body.get("username")
            if not isinstance(username, str) or not username.strip():
                errors["username"] = "may not be blank"
            elif len(username) > 100 or not EMAIL.match(username):
                errors["username"] = "must be a well-formed email address of at most 100 characters"
            else:
                fields["username"] = username
        if "fullName" in body or creating:
            full_name = body.get("fullName")
            if not isinstance(full_name, str) or not full_name.strip():
                errors["fullName"] = "may not be blank"
            elif len(full_name) > 512:
                errors["fullName"] = "size must be at most 512"
            else:
                fields["fullName"] = full_name
        if "role" in body or creating:
            role = self.role_of(body.get("role"), errors)
            if role is not None:
                fields["role"] = role
        for name, kind in (
            ("skypeUsername", str),
            ("timeZone", str),
            ("locale", str),
            ("tags", list),
            ("details", dict),
            ("userAddress", dict),
        ):
            if name in body:
                if not isinstance(body[name], kind):
                    errors[name] = f"must be a{'n' if kind is list else ''} {kind.__name__}"
                else:
                    fields[name] = body[name]
        if errors:
            raise unprocessable(errors)
        taken = fields.get("username", "").lower()
        if taken and any(u["username"].lower() == taken and u["id"] != self_id for u in self.dir.users.values()):
            raise SimError(409, f"User with username [{fields['username']}] already exists.")
        return fields

    async def create_user(self, request: Request) -> Response:
        fields = self.checked(await json_body(request), creating=True)
        user_id = str(uuid.uuid4())
        address = {key: "" for key in ADDRESS_KEYS} | fields.get("userAddress", {})
        self.dir.users[user_id] = {
            "id": user_id,
            "username": fields["username"],
            "fullName": fields["fullName"],
            "role": fields["role"],
            "skypeUsername": fields.get("skypeUsername", ""),
            "timeZone": fields.get("timeZone", "America/New_York"),
            "locale": fields.get("locale", "en_US"),
            "userAddress": address,
            "tags": fields.get("tags", []),
            "details": fields.get("details", {}),
            "blocked": False,
            "verified": False,
            "createdAt": iso_z(datetime.now(UTC)),
        }
        self.dir.contacts[user_id] = [
            {
                "to": fields["username"],
                "id": str(uuid.uuid4()),
                "contactMethod": "email",
                "disabledReason": "",
                "enabled": True,
            }
        ]
        self.changed()
        return self.done(request, "Created", {"id": user_id, "name": fields["username"]}, 201)

    async def update_user(self, request: Request) -> Response:
        user = self.api.find_user(request.path_params["identifier"])
        fields = self.checked(await json_body(request), creating=False, self_id=user["id"])
        if "userAddress" in fields:
            fields["userAddress"] = user["userAddress"] | fields["userAddress"]
        user.update(fields)
        if "username" in fields:  # teams show the member's username
            for team in self.dir.teams.values():
                for member in team["members"]:
                    if member["user"]["id"] == user["id"]:
                        member["user"]["username"] = user["username"]
            rename(self.dir.oncall, user["id"], user["username"])
        self.changed()
        return self.done(request, "Updated", {"id": user["id"], "name": user["username"]})

    async def delete_user(self, request: Request) -> Response:
        user = self.api.find_user(request.path_params["identifier"])
        named = references(self.dir.oncall, user["id"])
        if named:  # Opsgenie refuses while the user is in a schedule or an escalation (ONCALL.md §2d)
            raise SimError(428, f"User [{user['username']}] cannot be deleted: still used in {'; '.join(named)}")
        del self.dir.users[user["id"]]
        for schedule_id, listed in self.dir.oncall.overrides.items():  # its overrides go with it
            self.dir.oncall.overrides[schedule_id] = [o for o in listed if o["user"].get("id") != user["id"]]
        self.dir.contacts.pop(user["id"], None)
        for team in self.dir.teams.values():
            team["members"] = [m for m in team["members"] if m["user"]["id"] != user["id"]]
        self.changed()
        return self.done(request, "Deleted")

    # --- team members ---------------------------------------------------------------------------

    def team(self, request: Request) -> dict[str, Any]:
        identifier = request.path_params["identifier"]
        kind = request.query_params.get("teamIdentifierType", "id")
        if kind not in ("id", "name"):
            raise unprocessable({"teamIdentifierType": f"Invalid teamIdentifierType '{kind}'"})
        for team in self.dir.teams.values():
            if team[kind] == identifier:
                return team
        raise SimError(404, f"No team exists with {kind} [{identifier}].")

    async def add_member(self, request: Request) -> Response:
        team = self.team(request)
        body = await json_body(request)
        ref: Any = body.get("user") if isinstance(body, dict) else None
        key = next((k for k in ("id", "username") if isinstance(ref, dict) and isinstance(ref.get(k), str)), None)
        if key is None:
            raise unprocessable({"user": "Member user must have an id or a username"})
        role = body.get("role", "user")
        if role not in TEAM_MEMBER_ROLES:
            raise unprocessable({"role": f"Team role [{role}] does not exist"})
        user = self.api.find_user(ref[key])
        member = next((m for m in team["members"] if m["user"]["id"] == user["id"]), None)
        if member is None:
            team["members"].append({"user": {"id": user["id"], "username": user["username"]}, "role": role})
        else:  # already a member: no duplicate, the role is updated
            member["role"] = role
        self.changed()
        return self.done(request, "Added", {"id": team["id"], "name": team["name"]})

    async def remove_member(self, request: Request) -> Response:
        team = self.team(request)
        wanted = request.path_params["member"].lower()
        kept = [
            m for m in team["members"] if m["user"]["id"].lower() != wanted and m["user"]["username"].lower() != wanted
        ]
        if len(kept) == len(team["members"]):
            raise SimError(
                404, f"No member exists with identifier [{request.path_params['member']}] in team [{team['name']}]."
            )
        team["members"] = kept
        self.changed()
        return self.done(request, "Removed", {"id": team["id"], "name": team["name"]})
