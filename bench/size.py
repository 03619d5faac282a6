"""(c) Output bytes per user: our list_users result, both copies (structured content and its
text), against the provider's own JSON for the same users."""

from __future__ import annotations

import json
from typing import Any

import httpx2 as httpx
from mcp import Client

from mcp_directory.config import Settings
from mcp_directory.directory import Directory
from mcp_directory.providers import PROVIDERS
from mcp_directory.server import build_server
from mcp_directory.sim import DEMO_TOKENS

from .common import server_env, simulators

RAW = {
    "rootly": ("/v1/users", {"page[size]": "100", "include": "role,teams"}),
    "opsgenie": ("/v2/users", {"limit": "100"}),
    "retool": ("/users", {"limit": "100"}),
}


async def measure() -> dict[str, Any]:
    out: dict[str, Any] = {}
    with simulators(people=1000) as urls:
        env = server_env(urls)
        async with Client(build_server(Directory(Settings.from_env(env)))) as c:
            for provider, (path, params) in RAW.items():
                spec = next(p.spec for p in PROVIDERS if p.name == provider)
                headers = {"Authorization": f"{spec.auth_scheme} {DEMO_TOKENS[provider]}"}
                async with httpx.AsyncClient(base_url=urls[provider] + spec.api_root, headers=headers) as http:
                    raw = await http.get(path, params=params)
                users = len(raw.json()["data"])
                result = await c.call_tool("list_users", {"provider": provider, "limit": users})
                structured = len(
                    json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False).encode()
                )
                text = sum(len(part.text.encode()) for part in result.content)
                out[provider] = {
                    "raw_bytes_per_user": round(len(raw.content) / users),
                    "ours_bytes_per_user": round((structured + text) / users),
                    "ours_text_bytes_per_user": round(text / users),
                    "ratio": round((structured + text) / len(raw.content), 3),
                }
    return out
