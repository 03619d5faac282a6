"""The tool registry: every tool, and the one place that decides which are registered.

Read-only mode is a filter over each tool's own `read_only` flag, and toolsets a filter
over its `toolset`, so there is no second list that could drift.
"""

from __future__ import annotations

from ..config import Settings
from . import admin, coverage, directory, incidents, offboard, oncall, proxy, review, sync
from .base import Call, Tool

TOOLS: tuple[Tool, ...] = (
    directory.list_providers,
    directory.list_users,
    directory.get_user,
    directory.get_me,
    directory.list_groups,
    directory.get_group,
    directory.list_roles,
    directory.list_licenses,
    directory.find_users,
    review.access_review,
    oncall.list_schedules,
    oncall.who_is_on_call,
    oncall.get_duties,
    coverage.coverage_review,
    incidents.list_incident_roles,
    incidents.assign_incident_role,
    incidents.unassign_incident_role,
    admin.add_group_member,
    admin.remove_group_member,
    admin.create_user,
    admin.deactivate_user,
    offboard.offboard_user,
    sync.sync_group_members,
    proxy.proxy_request,
)


def select(settings: Settings) -> list[Tool]:
    """The tools this server registers: chosen toolsets, and writes only when allowed."""
    chosen = (t.under(settings.allow_writes) for t in TOOLS if t.toolset in settings.toolsets)
    return [t for t in chosen if t is not None]


def full_set() -> list[Tool]:
    """Every tool as registered with writes allowed: what tool_manifests/ snapshots."""
    return [t for t in (t.under(True) for t in TOOLS) if t is not None]


__all__ = ["TOOLS", "Call", "Tool", "full_set", "select"]
