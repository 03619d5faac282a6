"""The three ways people install mcp-directory (issue 13), each proved.

Always: server.json (the MCP registry) and manifest.json (the Claude Desktop bundle) are what
`python -m distribution` makes of the code — every provider's settings, the tool registry, the one
version — and valid against the schemas vendored in distribution/schemas/.

From the built artifacts ($MCP_DIRECTORY_DIST, which .ci/distribution.sh fills; skipped without it
locally, failed without it under CI=true): the wheel's metadata; the wheel installed into a fresh
environment outside the checkout runs the demo, with pip and with `uv tool run`; the bundle,
unpacked, starts the way Claude Desktop starts it and lists its tools to a real MCP client.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest
from mcp import Client, StdioServerParameters

import mcp_directory
from distribution import documents
from distribution.inputs import ROOT, SERVER_OPTIONS, options, project
from mcp_directory.config import Settings
from mcp_directory.providers import PROVIDERS, Provider
from mcp_directory.providers.rootly import ROOTLY
from mcp_directory.spec import Setting
from mcp_directory.tools import full_set

T = TypeVar("T")
VERSION = mcp_directory.__version__
# The built files' names (`mcp_user_directory-<version>-py3-none-any.whl`), from pyproject.toml's name.
STEM = project().file_stem
# The published schemas, byte for byte (distribution/schemas/README.md says where they come from).
SCHEMA_SHA256 = {
    "server.schema.json": "3fba09590c99f61735d234822279f4223fab9e300c0a81e81c91ab62a4114de0",
    "mcpb-manifest-v0.4.schema.json": "068557824c651d6d49b86ad132adeafe62ca788d918b3e1e2b224bf0f91320fd",
}


def require(thing: T | None, reason: str) -> T:
    """`thing`, or a skip on a developer's machine and a failure under CI=true, where a missing tool
    or artifact would silently leave a channel unproved (the rule of tests.support.require_specs)."""
    if thing is not None:
        return thing
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI=true requires it", pytrace=False)
    pytest.skip(reason)


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


# --- the documents, from the code --------------------------------------------------------------------


def test_server_json_and_manifest_json_are_generated_from_the_code():
    found = documents.problems()
    assert not found, "\n".join([*found, "run: python -m distribution"])


def test_vendored_schemas_are_the_published_ones():
    for name, digest in SCHEMA_SHA256.items():
        assert hashlib.sha256((documents.SCHEMAS / name).read_bytes()).hexdigest() == digest, name
    assert load(documents.SERVER_JSON)["$schema"] == load(documents.SERVER_SCHEMA)["$id"]
    assert load(documents.SERVER_SCHEMA)["$id"].endswith("/2025-12-11/server.schema.json")


def test_the_schemas_catch_what_the_registry_and_claude_desktop_refuse():
    server = load(documents.SERVER_JSON)
    assert documents.schema_errors(server, documents.SERVER_SCHEMA) == []
    too_long = {**server, "description": "x" * 101}
    assert documents.schema_errors(too_long, documents.SERVER_SCHEMA)
    assert documents.schema_errors({**server, "name": "mcp-directory"}, documents.SERVER_SCHEMA)  # not reverse-DNS
    manifest = load(documents.MANIFEST_JSON)
    assert documents.schema_errors(manifest, documents.MCPB_SCHEMA) == []
    loose = {**manifest, "user_config": {"x": {"type": "secret", "title": "x", "description": "x"}}}
    assert documents.schema_errors(loose, documents.MCPB_SCHEMA)


def test_every_provider_setting_is_asked_for_in_both_documents_secrets_marked():
    server_env = {v["name"]: v for v in load(documents.SERVER_JSON)["packages"][0]["environmentVariables"]}
    manifest = load(documents.MANIFEST_JSON)
    user_config, mcp_env = manifest["user_config"], manifest["server"]["mcp_config"]["env"]
    settings = [s for p in PROVIDERS for s in p.spec.settings]
    assert {p.name for p in PROVIDERS} >= {"rootly", "opsgenie", "retool"}
    for s in settings:
        variable = server_env[s.env]
        assert variable.get("isSecret", False) is s.secret, s.env
        assert "default" not in variable and variable.get("placeholder") == s.default, s.env
        key = s.env.lower()
        assert mcp_env[s.env] == f"${{user_config.{key}}}"
        assert user_config[key].get("sensitive", False) is s.secret, s.env
        assert user_config[key]["default"] == "", s.env
    # and nothing else than those and the server-wide switches
    expected = [s.env for s in settings] + [o.env for o in SERVER_OPTIONS]
    assert list(server_env) == expected == list(mcp_env)


def test_a_provider_added_later_shows_up_in_both_documents():
    toy = Provider(
        dataclasses.replace(
            ROOTLY.spec,
            name="toy",
            title="Toy",
            settings=(
                Setting("credential", "TOY_TOKEN", "Toy token", secret=True),
                Setting("base_url", "TOY_URL", "the instance", url=True),
            ),
        ),
        ROOTLY.adapter,
    )
    proj, opts = project(), options([*PROVIDERS, toy])
    server_env = documents.server_json(proj, opts)["packages"][0]["environmentVariables"]
    description = "Toy token. Setting it turns Toy on (with TOY_URL); empty leaves it off."
    assert {"name": "TOY_TOKEN", "description": description, "isSecret": True} in server_env
    manifest = documents.mcpb_manifest(proj, opts, [])
    assert manifest["user_config"]["toy_url"]["title"] == "Toy: TOY_URL"
    assert manifest["server"]["mcp_config"]["env"]["TOY_TOKEN"] == "${user_config.toy_token}"


def test_each_server_switch_changes_what_the_server_reads():
    plain = Settings.from_env({})
    for option in SERVER_OPTIONS:
        value = "true" if option.kind == "boolean" else "directory"
        assert Settings.from_env({option.env: value}) != plain, option.env


def test_untouched_bundle_settings_leave_every_provider_off():
    """What Claude Desktop passes when the user fills in nothing: each field's default."""
    manifest = load(documents.MANIFEST_JSON)
    env = bundle_env(manifest, {}, Path("/extension"))
    settings = Settings.from_env(env)
    assert (settings.providers, settings.warnings, settings.demo, settings.allow_writes) == ({}, (), False, False)


def test_manifest_lists_the_registry_tools():
    listed = [t["name"] for t in load(documents.MANIFEST_JSON)["tools"]]
    assert listed == [t.name for t in full_set()]


def test_one_version_everywhere():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in meta["project"] and "version" in meta["project"]["dynamic"]
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "mcp_directory.__version__"}
    server, manifest = load(documents.SERVER_JSON), load(documents.MANIFEST_JSON)
    assert server["version"] == server["packages"][0]["version"] == manifest["version"] == VERSION


def test_the_description_names_every_provider_and_the_readme_the_package():
    proj = project()
    assert [p.spec.title for p in PROVIDERS if p.spec.title not in proj.description] == []
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"uvx {proj.name} serve" in readme
    assert documents.marker(proj) in readme.splitlines()


def test_the_distribution_is_mcp_user_directory_with_both_commands():
    """SPEC §1: on PyPI `mcp-directory` is someone else's package, so ours is `mcp-user-directory`,
    which `uvx mcp-user-directory` runs as the command of the same name; `mcp-directory` stays."""
    proj = project()
    assert (proj.name, STEM) == ("mcp-user-directory", "mcp_user_directory")
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts == {"mcp-user-directory": "mcp_directory.cli:main", "mcp-directory": "mcp_directory.cli:main"}
    package = load(documents.SERVER_JSON)["packages"][0]
    assert (package["registryType"], package["identifier"], package["runtimeHint"]) == ("pypi", proj.name, "uvx")
    assert load(documents.SERVER_JSON)["name"] == "io.github.mcp-directory/mcp-user-directory"
    assert load(documents.MANIFEST_JSON)["name"] == proj.name
    # no install line anywhere runs the unrelated package
    for path in (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))):
        assert not re.search(r"uvx\s+mcp-directory\b", path.read_text(encoding="utf-8")), path


# --- the built artifacts ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dist() -> Path:
    where = os.environ.get("MCP_DIRECTORY_DIST")
    found = Path(where) if where and Path(where).is_dir() else None
    return require(found, "no built distribution: run `bash .ci/distribution.sh`, then MCP_DIRECTORY_DIST=dist")


def only(dist: Path, pattern: str) -> Path:
    found = sorted(dist.glob(pattern))
    assert len(found) == 1, f"{pattern} in {dist}: {found}"
    return found[0]


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    return only(dist, f"{STEM}-{VERSION}-py3-none-any.whl")


def uv() -> str:
    return require(shutil.which("uv"), "uv is not installed (pip install uv)")


DEMO = ("call", "list_users", "--demo", "provider=rootly", "limit=3")


def run_outside(command: list[str], cwd: Path) -> str:
    """Run `command` in `cwd` (outside the checkout) with nothing in its environment pointing into
    the checkout's environment; its stdout."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def demo_users(output: str) -> list[dict[str, Any]]:
    data = json.loads(output)
    assert data["provider"] == "rootly"
    users: list[dict[str, Any]] = data["result"]
    return users


def test_wheel_metadata_is_complete(wheel: Path):
    proj = project()
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        info = f"{STEM}-{VERSION}.dist-info"
        metadata = Parser().parsestr(z.read(f"{info}/METADATA").decode())
        assert z.read(f"{info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
        entry_points = z.read(f"{info}/entry_points.txt").decode().splitlines()
    assert [n for n in names if not n.startswith(("mcp_directory/", f"{info}/"))] == []
    # both commands, one of them named as the package, so that `uvx <package>` finds it
    assert {f"{proj.name} = mcp_directory.cli:main", "mcp-directory = mcp_directory.cli:main"} <= set(entry_points)
    assert (metadata["Name"], metadata["Version"], metadata["Summary"]) == (proj.name, VERSION, proj.description)
    assert (metadata["License-Expression"], metadata["License-File"]) == ("MIT", "LICENSE")
    assert metadata["Requires-Python"] == proj.requires_python
    assert {u.split(",")[0] for u in metadata.get_all("Project-URL")} >= {"Homepage", "Repository", "Issues"}
    assert "Programming Language :: Python :: 3.11" in metadata.get_all("Classifier")
    assert metadata["Description-Content-Type"] == "text/markdown"
    # PyPI shows the README, where the registry looks for the package's server name
    assert documents.marker(proj) in metadata.get_payload().splitlines()


def test_sdist_holds_the_package_source(dist: Path, wheel: Path):
    with tarfile.open(only(dist, f"{STEM}-{VERSION}.tar.gz")) as tar:
        names = {n.partition("/")[2] for n in tar.getnames()}
    assert {"pyproject.toml", "README.md", "LICENSE", "PKG-INFO"} <= names
    with zipfile.ZipFile(wheel) as z:
        modules = {n for n in z.namelist() if n.endswith(".py")}
    assert modules == {n for n in names if n.startswith("mcp_directory/") and n.endswith(".py")}


def test_wheel_in_a_fresh_environment_runs_the_demo(wheel: Path, tmp_path: Path):
    venv = tmp_path / "venv"
    run_outside([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp_path)
    python = venv / "bin" / "python"
    # this environment's pip installs into the new one (--python): no copy of pip to set up there
    run_outside([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", str(wheel)], tmp_path)
    where = run_outside([str(python), "-c", "import mcp_directory; print(mcp_directory.__file__)"], tmp_path)
    assert Path(where.strip()).is_relative_to(venv)
    for command in ("mcp-user-directory", "mcp-directory"):  # the distribution's name and the product's
        demo = run_outside([str(venv / "bin" / command), *DEMO], tmp_path)
        assert len(demo_users(demo)) == 3, command


def test_uv_tool_run_from_the_wheel_runs_the_demo(wheel: Path, tmp_path: Path):
    """What `uvx mcp-user-directory ...` runs once PyPI serves this wheel: the command named as the package."""
    command = load(documents.SERVER_JSON)["packages"][0]["identifier"]
    demo = run_outside([uv(), "tool", "run", "--from", str(wheel), command, *DEMO], tmp_path)
    assert len(demo_users(demo)) == 3


def bundle_env(manifest: dict[str, Any], answers: dict[str, Any], root: Path) -> dict[str, str]:
    """mcp_config.env as Claude Desktop fills it in: each ${user_config.KEY} is the user's answer or
    the field's default (booleans as true/false), ${__dirname} the unpacked bundle."""
    values = {key: answers.get(key, field.get("default", "")) for key, field in manifest["user_config"].items()}

    def text(value: Any) -> str:
        return str(value).lower() if isinstance(value, bool) else str(value)

    def fill(template: str) -> str:
        template = template.replace("${__dirname}", str(root))
        return re.sub(r"\$\{user_config\.(\w+)\}", lambda m: text(values[m.group(1)]), template)

    return {name: fill(template) for name, template in manifest["server"]["mcp_config"]["env"].items()}


# What the host machine lends the uv it starts to reach PyPI (certificates, proxies, uv's cache).
NETWORK_ENV = re.compile(r"SSL_CERT_(FILE|DIR)|(HTTPS?|ALL|NO)_PROXY|UV_\w+", re.IGNORECASE)


@pytest.mark.anyio
async def test_bundle_starts_as_claude_desktop_starts_it_and_lists_its_tools(dist: Path, tmp_path: Path):
    uv_binary = uv()
    root = tmp_path / "extension"
    with zipfile.ZipFile(only(dist, f"{project().name}-{VERSION}.mcpb")) as z:
        z.extractall(root)
    manifest = load(root / "manifest.json")
    assert manifest == load(documents.MANIFEST_JSON)
    assert manifest["server"]["type"] == "uv" and (root / manifest["server"]["entry_point"]).is_file()
    assert (root / "server" / f"{STEM}-{VERSION}-py3-none-any.whl").is_file()

    config = manifest["server"]["mcp_config"]
    answers = {"mcp_directory_demo": True, "mcp_directory_allow_writes": True}
    env = bundle_env(manifest, answers, root) | {k: v for k, v in os.environ.items() if NETWORK_ENV.fullmatch(k)}
    args = [a.replace("${__dirname}", str(root)) for a in config["args"]]
    command = uv_binary if config["command"] == "uv" else config["command"]
    server = StdioServerParameters(command=command, args=args, env=env, cwd=str(tmp_path))
    with anyio.fail_after(300):  # the first start installs the locked dependencies
        async with Client(server) as client:
            listed = [t.name for t in (await client.list_tools()).tools]
            result = await client.call_tool("list_users", {"provider": "rootly", "limit": 3})
    assert sorted(listed) == sorted(t["name"] for t in manifest["tools"])
    assert not result.is_error and len(result.structured_content["result"]) == 3
