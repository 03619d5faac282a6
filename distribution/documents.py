"""server.json (the MCP registry) and manifest.json (Claude Desktop's MCPB), generated from the
inputs, checked against the schemas vendored in `schemas/` (see schemas/README.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # no stubs in the test extra

from .inputs import ROOT, Option, Project, options, project, tools

HERE = Path(__file__).resolve().parent
SCHEMAS = HERE / "schemas"
SERVER_SCHEMA = SCHEMAS / "server.schema.json"
MCPB_SCHEMA = SCHEMAS / "mcpb-manifest-v0.4.schema.json"
SERVER_JSON = ROOT / "server.json"
MANIFEST_JSON = ROOT / "manifest.json"
README = ROOT / "README.md"

# The bundle's entry point and how Claude Desktop starts it; bundle.py stages the files they name.
ENTRY_POINT = "server/main.py"
MCP_COMMAND = ("uv", "run", "--directory", "${__dirname}", "--frozen", ENTRY_POINT)


def _schema(path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


def server_json(proj: Project, opts: Sequence[Option]) -> dict[str, Any]:
    """The registry entry: one PyPI package, run as `uvx <name> serve` over stdio."""
    env = []
    for o in opts:
        variable: dict[str, Any] = {"name": o.env, "description": o.description}
        if o.kind != "string":
            variable["format"] = o.kind
        if o.secret:
            variable["isSecret"] = True
        if o.default:
            variable["default"] = o.default
        if o.example:
            variable["placeholder"] = o.example
        env.append(variable)
    return {
        "$schema": _schema(SERVER_SCHEMA)["$id"],
        "name": proj.registry_name,
        "description": proj.description,
        "version": proj.version,
        "repository": {"url": proj.repository, "source": "github"},
        "websiteUrl": proj.urls["Homepage"],
        "packages": [
            {
                "registryType": "pypi",
                "registryBaseUrl": "https://pypi.org",
                "identifier": proj.name,
                "version": proj.version,
                "runtimeHint": "uvx",
                "transport": {"type": "stdio"},
                "packageArguments": [{"type": "positional", "value": "serve"}],
                "environmentVariables": env,
            }
        ],
    }


def mcpb_manifest(proj: Project, opts: Sequence[Option], tool_list: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The bundle's manifest: a `uv` server (the host installs the bundled wheel and its locked
    dependencies for its own platform; see bundle.py), every option asked for and passed as its
    environment variable, every tool listed."""
    user_config: dict[str, dict[str, Any]] = {}
    for o in opts:
        entry: dict[str, Any] = {"type": o.kind, "title": o.title, "description": o.description, "required": False}
        if o.secret:
            entry["sensitive"] = True
        # A default for every field, so that an untouched one reaches the server as "" (unset)
        # rather than as an unsubstituted ${user_config...}.
        entry["default"] = o.default == "true" if o.kind == "boolean" else (o.default or "")
        user_config[o.key] = entry
    return {
        "manifest_version": "0.4",
        "name": proj.name,
        "version": proj.version,
        "description": proj.description,
        "long_description": (
            f"{proj.description}: users, groups, roles, licenses, access reviews and offboarding through "
            "one normalized set of tools. Read-only unless you allow writes. Fill in the credentials of the "
            "providers you use (the others stay off), or turn Demo on to try it against simulated providers."
        ),
        "author": {"name": "the mcp-directory authors", "url": proj.repository},
        "repository": {"type": "git", "url": proj.repository},
        "homepage": proj.urls["Homepage"],
        "documentation": proj.urls["Documentation"],
        "support": proj.urls["Issues"],
        "icon": "icon.png",
        "server": {
            "type": "uv",
            "entry_point": ENTRY_POINT,
            "mcp_config": {
                "command": MCP_COMMAND[0],
                "args": list(MCP_COMMAND[1:]),
                "env": {o.env: f"${{user_config.{o.key}}}" for o in opts},
            },
        },
        "tools": [{"name": name, "description": summary} for name, summary in tool_list],
        "keywords": list(proj.keywords),
        "license": proj.license,
        "compatibility": {
            "platforms": ["darwin", "win32", "linux"],
            "runtimes": {"python": proj.requires_python},
        },
        "user_config": user_config,
    }


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def expected() -> dict[Path, str]:
    proj, opts = project(), options()
    return {
        SERVER_JSON: render(server_json(proj, opts)),
        MANIFEST_JSON: render(mcpb_manifest(proj, opts, tools())),
    }


def schema_errors(document: Any, schema_path: Path) -> list[str]:
    """What the schema says is wrong with the document, one line per error."""
    schema = _schema(schema_path)
    validator_class = jsonschema.validators.validator_for(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors]


def marker(proj: Project) -> str:
    """The line the registry looks for in the package's README (PyPI's description) to trust that
    whoever publishes server.json owns the PyPI package."""
    return f"<!-- mcp-name: {proj.registry_name} -->"


def problems() -> list[str]:
    """What is out of date, invalid or missing; empty when all is in order."""
    found = []
    for path, text in expected().items():
        name = path.relative_to(ROOT)
        if not path.exists():
            found.append(f"missing: {name}")
            continue
        if path.read_text(encoding="utf-8") != text:
            found.append(f"out of date: {name}")
        schema = SERVER_SCHEMA if path == SERVER_JSON else MCPB_SCHEMA
        found += [f"{name}: {error}" for error in schema_errors(json.loads(path.read_text("utf-8")), schema)]
    line = marker(project())
    if line not in README.read_text(encoding="utf-8").splitlines():
        found.append(f"README.md lacks the line {line}")
    return found


def write() -> None:
    for path, text in expected().items():
        path.write_text(text, encoding="utf-8")
