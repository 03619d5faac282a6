"""The simulated Jira Service Management site — write side: team membership (Teams API), user
creation (Jira) and suspending access (org admin API v2).

Wire quirks reproduced: `members/add` and `members/remove` answer 200 even when they fail for a
member, listing each failure in `errors` (`{accountId, code, message}`; the codes are this
simulator's own, Atlassian does not publish them: ALREADY_A_MEMBER, NOT_A_MEMBER, USER_NOT_FOUND,
INVALID_ACCOUNT_TYPE); `POST /rest/api/3/user` answers 201 with the user, also for an email
that already has an account with Jira access, and gives the account the email's local part as
its name; suspending access answers 200 and leaves Jira's `active: true` as it was, while the
org admin API's `account_status` turns "inactive".

Every write mutates the `JsmDirectory` and bumps its `version`.
"""

from __future__ import annotations

import random
import re
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

from mcp_directory.sim.common import SimError, json_body, json_response
from mcp_directory.sim.jsm_seed import JsmDirectory, account_id, add_person

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PRODUCTS = ("jira-core", "jira-servicedesk", "jira-product-discovery", "jira-software")


class Reads(Protocol):
    """What the writes need of the read API (`jsm.JsmApi`, which builds them): typed here, so
    the read module imports this one and not the other way round."""

    dir: JsmDirectory

    def team(self, request: Request) -> dict[str, Any]: ...

    def user_json(self, request: Request, uid: str, expand: str = "") -> dict[str, Any]: ...

    def org(self, request: Request) -> None: ...


class JsmWrites:
    def __init__(self, api: Reads) -> None:
        self.api = api
        self.dir = api.dir
        self.rng = random.Random(f"jsm-writes:{self.dir.org_id}")

    def changed(self) -> None:
        self.dir.version += 1

    # --- Teams --------------------------------------------------------------------------------

    async def members_of(self, request: Request) -> tuple[dict[str, Any], list[str]]:
        team = self.api.team(request)
        body = await json_body(request)
        members = body.get("members") if isinstance(body, dict) else None
        if not isinstance(members, list) or not 1 <= len(members) <= 50:
            raise SimError(400, "members must hold between 1 and 50 accounts")
        ids = [m.get("accountId") for m in members if isinstance(m, dict)]
        valid = [i for i in ids if isinstance(i, str) and i]
        if len(valid) != len(members):
            raise SimError(400, "every member needs an accountId")
        return team, list(dict.fromkeys(valid))

    async def add_members(self, request: Request) -> Response:
        team, ids = await self.members_of(request)
        added, errors = [], []
        for uid in ids:
            record = self.dir.users.get(uid)
            if record is None:
                errors.append({"accountId": uid, "code": "USER_NOT_FOUND", "message": "The user does not exist"})
            elif record["accountType"] != "atlassian":
                errors.append(
                    {
                        "accountId": uid,
                        "code": "INVALID_ACCOUNT_TYPE",
                        "message": "Only Atlassian accounts can join a team",
                    }
                )
            elif uid in team["members"]:
                errors.append({"accountId": uid, "code": "ALREADY_A_MEMBER", "message": "The user is already a member"})
            else:
                team["members"].append(uid)
                added.append({"accountId": uid})
        self.changed()
        return json_response({"members": added, "errors": errors})

    async def remove_members(self, request: Request) -> Response:
        team, ids = await self.members_of(request)
        errors = []
        for uid in ids:
            if uid in team["members"]:
                team["members"].remove(uid)
            else:
                errors.append({"accountId": uid, "code": "NOT_A_MEMBER", "message": "The user is not a member"})
        self.changed()
        return json_response({"errors": errors})

    # --- Jira ---------------------------------------------------------------------------------

    async def create_user(self, request: Request) -> Response:
        body = await json_body(request)
        email = body.get("emailAddress") if isinstance(body, dict) else None
        products = body.get("products") if isinstance(body, dict) else None
        if not isinstance(email, str) or not EMAIL.match(email):
            raise SimError(400, "Invalid email address", errors={"emailAddress": "Enter a valid email address."})
        if not isinstance(products, list) or any(p not in PRODUCTS for p in products):
            raise SimError(400, "Invalid products", errors={"products": f"Valid products are: {', '.join(PRODUCTS)}"})
        existing = next((u for u, e in self.dir.emails.items() if e.casefold() == email.casefold()), None)
        if existing is not None:
            if self.dir.users[existing]["accountType"] != "atlassian" or not self.dir.products.get(existing):
                raise SimError(400, "The user exists but does not have access to Jira")
            return json_response(self.api.user_json(request, existing), 201)
        uid = account_id(self.rng)
        add_person(self.dir, uid, email, email.split("@")[0], hidden=False, active=True, zone="UTC")
        self.dir.products[uid] = [p for p in products if p in self.dir.application_roles]
        self.dir.org[uid] = {
            "account_id": uid,
            "account_type": "atlassian",
            "account_status": "active",
            "name": email.split("@")[0],
            "email": email,
            "access_billable": True,
            "last_active": None,
            "product_access": [],
        }
        self.changed()
        return json_response(self.api.user_json(request, uid), 201)

    # --- the org admin API --------------------------------------------------------------------

    async def suspend(self, request: Request) -> Response:
        self.api.org(request)
        if request.path_params["directory"] not in ("-", self.dir.org_id):
            raise SimError(404, "Directory not found")
        account = self.dir.org.get(request.path_params["account"])
        if account is None:
            raise SimError(404, "User not found in this organization's directories")
        account["account_status"] = "inactive"  # Jira's `active` stays as it was
        self.changed()
        return json_response({"message": "User access suspended"})
