#!/usr/bin/env bash
# The agent frameworks of SPEC §15, each in its own virtual environment (their mcp pins differ from
# ours), into $MCP_DIRECTORY_FRAMEWORKS (default .ci/fw/): one venv per tests/frameworks/requirements-*.txt.
# tests/test_frameworks.py then runs each framework's check script with that venv's python against our
# server (skipped without the venvs locally, failed without them under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."

root="${MCP_DIRECTORY_FRAMEWORKS:-$PWD/.ci/fw}"
mkdir -p "$root"
for requirements in tests/frameworks/requirements-*.txt; do
    name="$(basename "$requirements" .txt)"
    name="${name#requirements-}"
    if [ ! -x "$root/$name/bin/python" ]; then
        python3 -m venv "$root/$name"
    fi
    "$root/$name/bin/python" -m pip install --quiet --upgrade pip
    "$root/$name/bin/python" -m pip install --quiet -r "$requirements"
    echo "frameworks: $name: $("$root/$name/bin/python" -m pip freeze | grep -i -E '^(mcp|openai-agents|anthropic|langchain-mcp-adapters|google-genai)==' | tr '\n' ' ')"
done
