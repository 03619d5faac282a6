"""Shared test plumbing: a Directory over the simulated providers, tool-call helpers, an httpx
client over one simulator app, and the providers' real specs (where they are, and what happens
when they are missing)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import httpx2 as httpx
import jsonschema
import pytest
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4
from starlette.applications import Starlette

from mcp_directory.config import ProviderConfig, Settings
from mcp_directory.directory import Directory
from mcp_directory.providers import PROVIDERS
from mcp_directory.sim import SimOptions, build_app, build_apps, env_for

TOKENS = {
    "rootly": "tok-rootly-6f1c9d",
    "opsgenie": "key-opsgenie-88e2aa",
    "retool": "tok-retool-41b7c3",
    "jsm": "tok-jsm-0c5e7b9a41d2",
}
URLS = {
    "rootly": "http://rootly.sim",
    "opsgenie": "http://opsgenie.sim",
    "retool": "http://retool.sim",
    "jsm": "http://jsm.sim",
}
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
    apps = build_apps(world, TOKENS, record_requests=True)  # the tests read the request logs
    creds = {**TOKENS, **(credentials or {})}
    settings = Settings(
        providers={p: ProviderConfig(p, creds[p], URLS[p]) for p in providers},
        allow_writes=allow_writes,
    )
    transports = {p: httpx.ASGITransport(app=apps[p]) for p in providers}
    return Directory(settings, transports=transports, page_sizes=page_sizes), apps


def migration_directory(world: Any) -> tuple[Directory, dict[str, Any]]:
    """Opsgenie and the JSM site migrated from it (SPEC §11), in process, writes allowed."""
    apps = {p: build_app(p, world, SimOptions(token=TOKENS[p], record_requests=True)) for p in ("opsgenie", "jsm")}
    urls = {"opsgenie": "http://opsgenie.sim", "jsm": "https://acme.atlassian.net"}
    env = {**env_for(urls, TOKENS), "JSM_API_URL": "https://api.atlassian.com"}
    settings = Settings.from_env(env, allow_writes=True)
    assert set(settings.providers) == {"opsgenie", "jsm"}
    return Directory(settings, transports={p: httpx.ASGITransport(app=a) for p, a in apps.items()}), apps


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
    prefixes = (*(f"{p.name.upper()}_" for p in PROVIDERS), "MCP_DIRECTORY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return {**env, **extra}


def server_env(urls: dict[str, str], **extra: str) -> dict[str, str]:
    """A clean environment pointing the program at simulators on `urls`, with the test tokens."""
    return clean_env(**{**env_for(urls, TOKENS), **extra})


# --- one simulator app over httpx, in process ----------------------------------------------------


class SimClient(httpx.AsyncClient):
    """An httpx client over one simulator app in process; `app` is that app (its gate, its request log)."""

    def __init__(self, app: Starlette, base_url: str, headers: Mapping[str, str]) -> None:
        super().__init__(transport=httpx.ASGITransport(app=app), base_url=base_url, headers=dict(headers))
        self.app = app


def sim_client(app: Starlette, provider: str, token: str | None, headers: Mapping[str, str] | None = None) -> SimClient:
    """A client for `app` at http://<provider>.test sending `token` in the app's own auth scheme
    (no Authorization header when `token` is None), plus `headers`. Open it with `async with`."""
    auth = {"Authorization": f"{app.state.gate.dialect.auth_scheme} {token}"} if token is not None else {}
    return SimClient(app, f"http://{provider}.test", {**auth, **(headers or {})})


# --- the providers' real OpenAPI specs -----------------------------------------------------------

# The parts of the specs the tests read whose licence allows it, vendored (tests/specs/SOURCES.md);
# the full documents, and those that may not be vendored, checked out beside the repo
# (../shared/provider_specs, or where PROVIDER_SPECS says).
VENDORED_SPECS = Path(__file__).resolve().parent / "specs"
SHARED_SPECS = Path(
    os.environ.get("PROVIDER_SPECS") or Path(__file__).resolve().parents[2] / "shared" / "provider_specs"
)
SPECS = VENDORED_SPECS if VENDORED_SPECS.is_dir() else SHARED_SPECS
SPEC_FILES = {
    "rootly": "rootly/swagger.json",
    "opsgenie": "opsgenie/swagger.json",
    "retool": "retool/openAPISpec.json",
    "okta": "okta/okta-management-directory.subset.json",
    "okta-oauth": "okta/okta-oauth-token.subset.json",
}


def require_specs(specs: Path = SPECS, env: Mapping[str, str] = os.environ) -> Path:
    """The specs folder. Without it a test that checks against the specs is skipped on a developer's
    machine but fails under CI=true: there a missing folder would silently turn every spec check off."""
    if specs.is_dir():
        return specs
    reason = f"provider specs not checked out beside the repo ({specs})"
    if env.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI=true requires them", pytrace=False)
    pytest.skip(reason)


def spec_file(relative: str) -> Path:
    """A spec document by its path under provider_specs: the vendored copy, else the shared one
    (skipped, or failed under CI=true, as `require_specs` says, when neither is there)."""
    if (VENDORED_SPECS / relative).is_file():
        return VENDORED_SPECS / relative
    return require_specs(SHARED_SPECS) / relative


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@cache
def _registry(provider: str) -> Registry:
    spec = json.loads(spec_file(SPEC_FILES[provider]).read_text())
    return Registry().with_resource(f"urn:{provider}", Resource.from_contents(spec, default_specification=DRAFT4))


def validator(provider: str, *pointer: str) -> Any:
    """A validator for the schema at `pointer` (path tokens, unescaped) in the provider's spec."""
    ref = {"$ref": f"urn:{provider}#/" + "/".join(_escape(t) for t in pointer)}
    if provider == "opsgenie":  # Swagger 2.0: plain draft-4 schemas under `definitions`
        return jsonschema.Draft4Validator(ref, registry=_registry(provider))
    return OAS30Validator(ref, registry=_registry(provider), format_checker=OAS30Validator.FORMAT_CHECKER)


def assert_valid(schema_validator: Any, body: Any) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in schema_validator.iter_errors(body)]
    assert not errors, errors[:5]


# The keys of a Retool user, in the order Retool's recorded answers give them (provider_specs/retool/recordings).
RETOOL_USER_KEYS = [
    "id",
    "legacy_id",
    "first_name",
    "last_name",
    "created_at",
    "last_active",
    "email",
    "active",
    "metadata",
    "is_admin",
    "two_factor_auth_enabled",
    "user_type",
]
