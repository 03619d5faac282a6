"""The registry's invariants: one tool, one value; read-only decided in one place."""

from mcp_directory.config import Settings
from mcp_directory.providers import PROVIDERS
from mcp_directory.tools import TOOLS, full_set, select


def test_names_are_unique_and_every_operation_has_a_provider():
    assert len({t.name for t in TOOLS}) == len(TOOLS)
    for tool in TOOLS:
        if tool.operation:
            assert any(p.supports(tool.operation) for p in PROVIDERS), (
                f"{tool.name}: no provider implements {tool.operation}"
            )


def test_destructive_admin_tools_default_to_a_dry_run():
    for tool in full_set():
        fields = tool.args.model_fields
        if tool.destructive and "confirm" in fields:
            assert fields["confirm"].default is False, tool.name
        if tool.toolset == "admin" and tool.destructive:
            assert "confirm" in fields, f"{tool.name} is destructive and takes no confirm"


def test_read_only_mode_is_one_filter_over_each_tools_flag():
    read_only = select(Settings(providers={}))
    assert all(t.read_only for t in read_only)
    assert {t.name for t in read_only} == {t.name for t in TOOLS if t.read_only}
    writable = {t.name: t for t in select(Settings(providers={}, allow_writes=True))}
    assert set(writable) == {t.name for t in TOOLS}
    assert writable["proxy_request"].read_only is False and writable["proxy_request"].destructive is True


def test_toolsets_filter():
    only = select(Settings(providers={}, toolsets=("incidents",), allow_writes=True))
    assert {t.toolset for t in only} == {"incidents"} and len(only) == 3
