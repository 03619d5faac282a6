"""The Claude Desktop bundle (MCPB), built from the wheel:

    python -m distribution.bundle dist/mcp_user_directory-<version>-py3-none-any.whl --out dist [--mcpb CMD] [--uv CMD]

Why the `uv` server type. A `python` bundle carries its dependencies in `server/lib`, built for
one platform and one Python: pydantic-core (under pydantic, under the MCP SDK) is compiled, so a
bundle packed on Linux would not start on the macOS and Windows machines Claude Desktop runs on,
and it would also need a matching Python there. A `uv` bundle (manifest 0.4) carries a
pyproject.toml instead; the host's uv installs the right wheels for its platform, and a Python if
there is none. Ours pins what CI tested: the project depends on the bundled wheel itself (a path
source, so nothing is built on the user's machine) and `uv.lock`, resolved here for every
platform, fixes each dependency's version and hashes; `.python-version` asks for the CPython CI
runs. The bundle is about 240 kB, most of it the wheel and the lock.

Staged layout (what `mcpb pack` zips):

    manifest.json      the top-level manifest.json, byte for byte
    icon.png           mcpb/icon.png
    server/main.py     mcpb/server/main.py: `mcp-directory serve`
    server/<wheel>     the wheel
    pyproject.toml     a virtual project depending on the wheel
    uv.lock            `uv lock`, universal
    .python-version    the Python CI tests with
    LICENSE
"""

from __future__ import annotations

import argparse
import hashlib
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from .documents import ENTRY_POINT, MANIFEST_JSON
from .inputs import ROOT, project

TEMPLATE = Path(__file__).resolve().parent / "mcpb"
PYTHON = "3.11"  # the Python CI runs (.ci/run); the bundle's .python-version


def bundle_pyproject(wheel_name: str, version: str, requires_python: str) -> str:
    name = project().name
    return f"""\
# The bundle's environment: uv installs the wheel beside it and its locked dependencies.
[project]
name = "{name}-bundle"
version = "{version}"
requires-python = "{requires_python}"
dependencies = ["{name}=={version}"]

[tool.uv]
package = false

[tool.uv.sources]
{name} = {{ path = "server/{wheel_name}" }}
"""


def stage(wheel: Path, into: Path, uv: list[str]) -> None:
    """The bundle's files in `into`, locked."""
    proj = project()
    if not wheel.name.startswith(f"{proj.file_stem}-{proj.version}-"):
        raise SystemExit(f"{wheel.name} is not {proj.name} {proj.version} (pyproject.toml, mcp_directory.__version__)")
    shutil.copytree(TEMPLATE, into, dirs_exist_ok=True)
    if not (into / ENTRY_POINT).is_file():
        raise SystemExit(f"the template lacks the entry point {ENTRY_POINT}")
    shutil.copy2(MANIFEST_JSON, into / "manifest.json")
    shutil.copy2(ROOT / "LICENSE", into / "LICENSE")
    shutil.copy2(wheel, into / "server" / wheel.name)
    (into / "pyproject.toml").write_text(bundle_pyproject(wheel.name, proj.version, proj.requires_python))
    (into / ".python-version").write_text(f"{PYTHON}\n")
    subprocess.run([*uv, "lock", "--quiet", "--directory", str(into)], check=True)


def pack(staged: Path, out: Path, mcpb: list[str]) -> Path:
    """Validate the manifest with the official CLI and pack; the path of the .mcpb."""
    proj = project()
    target = out / f"{proj.name}-{proj.version}.mcpb"
    subprocess.run([*mcpb, "validate", str(staged / "manifest.json")], check=True)
    subprocess.run([*mcpb, "pack", str(staged), str(target)], check=True, stdout=subprocess.DEVNULL)
    return target


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m distribution.bundle", description=__doc__.split("\n\n")[0])
    parser.add_argument("wheel", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="where the .mcpb goes (default: dist)")
    parser.add_argument("--mcpb", default="mcpb", help="how to run the MCPB CLI (@anthropic-ai/mcpb)")
    parser.add_argument("--uv", default="uv", help="how to run uv")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        staged = Path(tmp) / "bundle"
        stage(args.wheel.resolve(), staged, shlex.split(args.uv))
        target = pack(staged, args.out.resolve(), shlex.split(args.mcpb))
    digest = hashlib.sha256(target.read_bytes()).hexdigest()
    print(f"{target} ({target.stat().st_size // 1024} kB, sha256 {digest})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
