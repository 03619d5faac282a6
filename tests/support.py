"""Shared test plumbing: a Directory over the simulated providers, and tool-call helpers."""

from __future__ import annotations

import json
import os
from typing import Any

import httpx2 as httpx

from mcp_directory.config import ProviderConfig, Settings
from mcp_directory.directory import Directory
from mcp_directory.sim import build_apps, env_for

TOKENS = {"rootly": "tok-rootly-6f1c9d", "opsgenie": "key-opsgenie-88e2aa", "retool": "tok-retool-41b7c3"}
URLS = {"rootly": "http://rootly.sim", "opsgenie": "http://opsgenie.sim", "retool": "http://retool.sim"}
# Upstream page sizes that divide none of the seeded totals, so pages straddle upstream pages.
PAGE_SIZES = {"rootly": 7, "opsgenie": 9, "retool": 8}


def sim_directory(
    world: Any,
    *,
    providers: tuple[str, ...] = ("rootly", "opsgenie", "retool"),
    credentials: dict[str, str] | None = None,
    allow_writes: bool = False,
    page_sizes: dict[str, int] | None = PAGE_SIZES,
) -> tuple[Directory, dict[str, Any]]:
    apps = build_apps(world, TOKENS)
    creds = {**TOKENS, **(credentials or {})}
    settings = Settings(
        providers={p: ProviderConfig(p, creds[p], URLS[p]) for p in providers},
        allow_writes=allow_writes,
    )
    transports = {p: httpx.ASGITransport(app=apps[p]) for p in providers}
    return Directory(settings, transports=transports, page_sizes=page_sizes), apps


async def call(client: Any, tool: str, args: dict[str, Any] | None = None) -> tuple[dict[str, Any], bool]:
    """Call a tool; return (parsed JSON of its text, is_error), checking text and structured agree."""
    result = await client.call_tool(tool, args or {})
    text = "".join(c.text for c in result.content if getattr(c, "type", "") == "text")
    data = json.loads(text)
    if not result.is_error:
        assert result.structured_content == data
    return data, bool(result.is_error)


async def ok(client: Any, tool: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    data, is_error = await call(client, tool, args)
    assert not is_error, data
    return data


async def fails(client: Any, tool: str, args: dict[str, Any], code: str) -> dict[str, Any]:
    data, is_error = await call(client, tool, args)
    assert is_error, data
    assert set(data) == {"error"} and set(data["error"]) == {"code", "message", "provider", "status", "retry_after"}
    assert data["error"]["code"] == code, data
    return data["error"]


async def traverse(client: Any, tool: str, args: dict[str, Any]) -> list[dict[str, Any]]:
    """Follow next_cursor to the end; every page but the last holds exactly `limit` items."""
    items, cursor, pages = [], None, []
    while True:
        data = await ok(client, tool, {**args, **({"cursor": cursor} if cursor else {})})
        pages.append(len(data["result"]))
        items.extend(data["result"])
        cursor = data["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 10_000
    limit = args.get("limit", 50)
    assert all(n == limit for n in pages[:-1]), pages
    return items


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any provider or mcp-directory setting, plus `extra`."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ROOTLY_", "OPSGENIE_", "RETOOL_", "MCP_DIRECTORY_"))
    }
    return {**env, **extra}


def server_env(urls: dict[str, str], **extra: str) -> dict[str, str]:
    """A clean environment pointing the program at simulators on `urls`, with the test tokens."""
    return clean_env(**{**env_for(urls, TOKENS), **extra})
