#!/usr/bin/env bash
# The three ways people install mcp-directory (the distribution `mcp-user-directory`), built into
# $MCP_DIRECTORY_DIST (default dist/):
# the wheel and the sdist (python -m build), server.json and manifest.json checked against the code
# and the vendored schemas, and the Claude Desktop bundle validated and packed by the official MCPB
# CLI. tests/test_distribution.py then installs and runs each one (skipped without these files
# locally, failed without them under CI=true).
#
# Run by .ci/run with the project's virtualenv active. Every tool is pinned: build and uv from PyPI
# (uv's wheel carries the binary), @anthropic-ai/mcpb from npm (it runs on CI's Node 20) into a
# temporary prefix.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD_PKG=build==1.6.1
UV_PKG=uv==0.13.9
MCPB_PKG=@anthropic-ai/mcpb@2.1.2

dist="${MCP_DIRECTORY_DIST:-$PWD/dist}"
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT

python -m pip install --quiet "$BUILD_PKG" "$UV_PKG"
npm install --prefix "$tools" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$MCPB_PKG"
mcpb="$tools/node_modules/.bin/mcpb"
echo "distribution: $(python -m build --version | cut -d' ' -f1-2), $(uv --version), mcpb $("$mcpb" --version)"

# server.json and manifest.json: what `python -m distribution` makes of the code, valid against the
# registry's and MCPB's schemas, and the README's mcp-name line.
python -m distribution --check

# The sdist, and the wheel built from it.
rm -rf "$dist"
python -m build --outdir "$dist" . >"$tools/build.log" 2>&1 || { cat "$tools/build.log" >&2; exit 1; }
# Named after the distribution (pyproject.toml: mcp-user-directory -> mcp_user_directory-<version>-...).
stem="$(python -c 'from distribution.inputs import project; print(project().file_stem)')"
wheel="$(ls "$dist/$stem"-*-py3-none-any.whl)"

# The bundle: the official CLI validates the manifest (icon included) and packs it with the wheel.
python -m distribution.bundle "$wheel" --out "$dist" --mcpb "$mcpb"
ls -l "$dist"
