"""Incident tools (toolset `incidents`): Rootly's incident roles."""

from __future__ import annotations

from ..models import IncidentRole, Page
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
    """List Rootly's incident roles (e.g. Commander, Scribe) with id, slug and whether each is
    enabled; these are what assign_incident_role accepts."""
    adapter = call.directory.adapter("rootly")
    return await call.directory.page(
        "list_incident_roles", "rootly", adapter.incident_roles, limit=args.limit, cursor=args.cursor
    )
