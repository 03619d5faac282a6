"""Incident tools (toolset `incidents`): incident roles, at the provider that has incidents."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..models import Assignment, IncidentRole, Page, Written
from .base import Args, Call, CursorArg, LimitArg, tool


class ListIncidentRolesArgs(Args):
    limit: LimitArg = 50
    cursor: CursorArg = None


@tool(
    title="List incident roles",
    toolset="incidents",
    args=ListIncidentRolesArgs,
    result=Page[IncidentRole],
    operation="incident_roles",
)
async def list_incident_roles(call: Call, args: ListIncidentRolesArgs) -> Page[IncidentRole]:
    """List the incident roles (e.g. Commander, Scribe) with id, slug and whether each is
    enabled; these are what assign_incident_role accepts."""
    adapter = call.sole_adapter()
    return await call.page(adapter.name, adapter.incident_roles(), limit=args.limit, cursor=args.cursor)


class AssignArgs(Args):
    incident_id: Annotated[
        str, Field(min_length=1, max_length=200, description="Incident id, slug, or number (e.g. 42).")
    ]
    user: Annotated[
        str,
        Field(min_length=1, max_length=320, description="The user: a user id at the provider, or an email address."),
    ]
    incident_role: Annotated[
        str,
        Field(min_length=1, max_length=200, description="The incident role: id, slug or name, e.g. Commander."),
    ]


@tool(
    title="Assign incident role",
    toolset="incidents",
    args=AssignArgs,
    result=Written[Assignment],
    operation="assign_incident_role",
    read_only=False,
    idempotent=True,
)
async def assign_incident_role(call: Call, args: AssignArgs) -> Written[Assignment]:
    """Put a user in an incident role on an incident, e.g. make bob@acme.com the Commander of
    incident 42. Takes the user by id or email and the role by id, slug or name."""
    adapter = call.sole_adapter()
    done = await adapter.assign_incident_role(args.incident_id, args.user, args.incident_role)
    return Written[Assignment](provider=adapter.name, result=done)


@tool(
    title="Unassign incident role",
    toolset="incidents",
    args=AssignArgs,
    result=Written[Assignment],
    operation="unassign_incident_role",
    read_only=False,
    destructive=True,
    idempotent=True,
)
async def unassign_incident_role(call: Call, args: AssignArgs) -> Written[Assignment]:
    """Take a user out of an incident role on an incident. Same arguments as
    assign_incident_role."""
    adapter = call.sole_adapter()
    done = await adapter.unassign_incident_role(args.incident_id, args.user, args.incident_role)
    return Written[Assignment](provider=adapter.name, result=done)
