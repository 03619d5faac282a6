"""The tool registry: every tool, and the one place that decides which are registered.

Read-only mode is a filter over each tool's own `read_only` flag, and toolsets a filter
over its `toolset`, so there is no second list that could drift.
"""

from __future__ import annotations

from ..config import Settings
from ..providers import Adapter
from . import directory, incidents
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
    incidents.list_incident_roles,
)


def select(settings: Settings) -> list[Tool]:
    """The tools this server registers: chosen toolsets, and writes only when allowed."""
    return [t for t in TOOLS if t.toolset in settings.toolsets and (t.read_only or settings.allow_writes)]


def supported_tools(provider: str, settings: Settings) -> dict[str, list[str]]:
    """The registered tools a provider can serve, split into read and write tools."""
    adapter = Adapter.registry[provider]
    usable = [t for t in select(settings) if t.operation and adapter.supports(t.operation)]
    return {
        "resources": [t.name for t in usable if t.read_only],
        "write_tools": [t.name for t in usable if not t.read_only],
    }


__all__ = ["TOOLS", "Call", "Tool", "select", "supported_tools"]
