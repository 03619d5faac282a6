"""tool_manifests/ and the README's tool table stay in sync with the registry."""

import json
import re

import pytest

from mcp_directory import manifests
from mcp_directory.providers import PROVIDERS
from mcp_directory.tools import full_set


def test_manifests_and_readme_table_are_in_sync():
    assert manifests.problems() == [], "run: python -m mcp_directory.manifests"


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """A copy of the manifests and README in a temporary folder, as the checker's target."""
    folder = tmp_path / "tool_manifests"
    folder.mkdir()
    for path in manifests.MANIFEST_DIR.glob("*.json"):
        (folder / path.name).write_text(path.read_text())
    readme = tmp_path / "README.md"
    readme.write_text(manifests.README.read_text())
    monkeypatch.setattr(manifests, "ROOT", tmp_path)
    monkeypatch.setattr(manifests, "MANIFEST_DIR", folder)
    monkeypatch.setattr(manifests, "README", readme)
    assert manifests.problems() == []
    return tmp_path


def test_drift_missing_and_orphan_are_each_reported(scratch):
    folder = scratch / "tool_manifests"
    data = json.loads((folder / "list_users.json").read_text())
    data["description"] = "changed"
    (folder / "list_users.json").write_text(json.dumps(data))
    (folder / "get_me.json").unlink()
    (folder / "old_tool.json").write_text("{}")
    found = manifests.problems()
    assert any("out of date" in p and "list_users" in p for p in found)
    assert any("missing" in p and "get_me" in p for p in found)
    assert any("orphaned" in p and "old_tool" in p for p in found)
    manifests.write()
    assert manifests.problems() == []


def test_readme_table_drift_is_reported(scratch):
    readme = scratch / "README.md"
    readme.write_text(readme.read_text().replace("`list_users`", "`list_people`"))
    assert any("README" in p for p in manifests.problems())


def test_every_tool_is_fully_described():
    for tool in full_set():
        assert tool.description and tool.title, tool.name
        schema = tool.input_schema(PROVIDERS)
        unfilled = re.compile(r"\$[A-Z_]{3,}")
        assert not unfilled.search(json.dumps(schema) + tool.describe(PROVIDERS)), f"{tool.name}: unfilled placeholder"
        assert "x-provider" not in json.dumps(schema) + json.dumps(tool.output_schema(PROVIDERS)), tool.name
        assert "anyOf" not in schema and "oneOf" not in schema, tool.name
        for name, prop in schema.get("properties", {}).items():
            assert prop.get("description"), f"{tool.name}.{name} has no description"
        annotations = tool.annotations
        for hint in ("read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint"):
            assert getattr(annotations, hint) is not None, f"{tool.name} lacks {hint}"
        assert tool.output_schema(PROVIDERS).get("type") == "object", tool.name


def test_all_tool_schemas_stay_small():
    # Every tools/list costs the agent these bytes (compact, as on the wire) on every conversation.
    # The budget: 3,000 bytes a tool on average (19 tools were 53 KB, the largest 4.6 KB; SPEC §15's
    # nullable optional arguments and typed proxy arguments added 0.6 KB, to 54.9 KB of 57 KB). Then
    # a fifth provider (Okta) in every provider enum and its fields in User, and the on-call and sync
    # tools, whose Duty/Schedule/Step models are rich: 24 tools, 75.4 KB, 3,142 a tool. The budget is
    # 3,200 a tool; most of it is output schemas (the User model alone is 2.2 KB in four tools).
    tools = full_set()
    total = sum(len(json.dumps(manifests.manifest(t), separators=(",", ":"))) for t in tools)
    assert total < 3_200 * len(tools), total


def test_nullable_enums_admit_null():
    """A field that may be null and is an enum lists null among its values (else a client that
    validates results rejects every null it is sent)."""

    def walk(node, where):
        if isinstance(node, dict):
            kinds = node.get("type")
            if "enum" in node and isinstance(kinds, list) and "null" in kinds:
                assert None in node["enum"], where
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, where)

    for tool in full_set():
        walk(tool.output_schema(PROVIDERS), tool.name)
        walk(tool.input_schema(PROVIDERS), tool.name)
