"""The general pieces JSM needed, each tested without JSM: a paginator for bare arrays, an
ApiClient with its own authorization header and API root, POST reads resent like GETs, secrets
derived from settings, an operation a configuration cannot do (`Adapter.unable`), the proxy's
routes, and the "suspended" meaning of deactivate."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import httpx2 as httpx
import pytest

from mcp_directory.config import Settings
from mcp_directory.directory import Directory
from mcp_directory.errors import InvalidArgument, Unsupported
from mcp_directory.http import ApiClient
from mcp_directory.options import ClientOptions
from mcp_directory.paging import Chunk, Listing, every, take
from mcp_directory.providers import PROVIDERS, Adapter, Provider
from mcp_directory.retry import RetryPolicy
from mcp_directory.spec import ProviderConfig, Setting, UntilEmpty
from mcp_directory.tools.admin import deactivation_plan
from mcp_directory.tools.schema import placeholders

from .test_toy_provider import TOY

# --- UntilEmpty ----------------------------------------------------------------------------------


def bare_array(total: int, cap: int) -> tuple[Listing[int], list[dict[str, Any]]]:
    """A list served as bare arrays by a provider that caps its pages at `cap`, whatever was asked."""
    paginator = UntilEmpty("startAt", "maxResults", max_size=1000)
    asked: list[dict[str, Any]] = []

    async def fetch(state: Any) -> Chunk[int]:
        params = paginator.params(state)
        asked.append(params)
        start, size = params["startAt"], min(params["maxResults"], cap)
        rows = list(range(start, min(start + size, total)))
        return Chunk(rows, paginator.follow(state, rows, len(rows)))

    return Listing(fetch, paginator, 100), asked


@pytest.mark.anyio
@pytest.mark.parametrize("total,cap", [(0, 10), (7, 10), (95, 10), (100, 100), (250, 33)])
async def test_until_empty_reads_everything_even_when_pages_come_back_short(total, cap):
    listing, asked = bare_array(total, cap)
    assert [i async for i in every("x", listing)] == list(range(total))
    assert asked[-1]["startAt"] == total  # only an empty page ends it


@pytest.mark.anyio
async def test_until_empty_resumes_a_page_by_skipping_into_it():
    listing, _ = bare_array(40, 10)
    first = await take("x", listing, None, 15)
    assert first.items == list(range(15)) and first.next is not None
    rest = await take("x", listing, first.next, 100)
    assert rest.items == list(range(15, 40)) and rest.next is None


# --- ApiClient: several APIs, several credentials ---------------------------------------------------


SPEC = TOY.spec


def recording(status: int = 200, body: Any = None) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body if body is not None else {"data": []})

    return httpx.MockTransport(handle), seen


@pytest.mark.anyio
async def test_an_api_client_takes_its_own_authorization_and_root():
    transport, seen = recording()
    default = ApiClient(SPEC, "https://toy.example", "tok-1234", transport=transport)
    other = ApiClient(
        SPEC, "https://api.example", "key-5678", transport=transport, authorization="Bearer key-5678", api_root="/admin"
    )
    await default.get("/users")
    await other.get("/v1/orgs")
    assert [str(r.url) for r in seen] == ["https://toy.example/api/users", "https://api.example/admin/v1/orgs"]
    assert [r.headers["authorization"] for r in seen] == ["Token tok-1234", "Bearer key-5678"]
    shared = ApiClient(SPEC, "https://x.example", "k", transport=transport, throttle=default.throttle)
    assert shared.throttle is default.throttle


@pytest.mark.anyio
async def test_an_explicit_authorization_is_redacted_from_upstream_errors():
    secret = "ZW1haWw6dG9rZW4tc2VjcmV0LXZhbHVl"
    transport, _ = recording(401, {"error": f"bad credential Basic {secret}"})
    client = ApiClient(
        replace(SPEC, error_text=lambda d: d["error"]),
        "https://s",
        "t",
        transport=transport,
        authorization=f"Basic {secret}",
    )
    with pytest.raises(Exception) as caught:
        await client.get("/x")
    assert secret not in str(caught.value) and "[redacted]" in str(caught.value)


@pytest.mark.anyio
async def test_a_post_that_only_reads_is_resent_like_a_get():
    calls: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(503 if len(calls) == 1 else 200, json={"ok": True})

    options = ClientOptions(retry=RetryPolicy(base_delay=0.0))
    client = ApiClient(SPEC, "https://s", "t", transport=httpx.MockTransport(handle), options=options)
    assert await client.call("POST", "/members", json_body={"first": 50}, idempotent=True) == {"ok": True}
    assert calls == ["POST", "POST"]
    calls.clear()
    with pytest.raises(Exception, match="503"):
        await client.call("POST", "/members", json_body={})  # a write is never sent twice
    assert calls == ["POST"]


# --- settings, capabilities, proxy, deactivation vocabulary -------------------------------------------


DERIVED = Provider(
    replace(
        SPEC,
        name="derived",
        settings=(
            *SPEC.settings[:1],
            Setting("base_url", "DERIVED_URL", "url", "https://d.example", url=True),
            Setting("user", "DERIVED_USER", "login"),
            Setting("key", "DERIVED_KEY", "key", required=False, secret=True),
        ),
        derived_secrets=lambda values: (f"{values['user']}+{values['credential']}",),
    ),
    TOY.adapter,
)


def test_derived_and_optional_secrets_are_redacted_settings():
    env = {"TOY_TOKEN": "tok-abcdef123", "DERIVED_USER": "me", "DERIVED_KEY": "key-999888777"}
    settings = Settings.from_env(env, providers=[DERIVED])
    assert {"tok-abcdef123", "key-999888777", "me+tok-abcdef123"} <= set(settings.secrets)


class Picky(TOY.adapter):  # type: ignore[name-defined,misc]
    """Has deactivate_user, but only when its optional setting is present."""

    async def deactivate_user(self, user_id: str) -> Any:
        raise AssertionError("never called without the setting")

    def unable(self, operation: str) -> str | None:
        if operation == "deactivate_user" and not self.config.get("key"):
            return "deactivating needs PICKY_KEY"
        return None


@pytest.mark.anyio
async def test_an_operation_the_configuration_cannot_do_is_unsupported_before_anything_is_sent():
    picky = Provider(replace(SPEC, name="picky"), Picky)
    transport, seen = recording()
    settings = Settings(providers={"picky": ProviderConfig("picky", "tok", "https://p.example")}, allow_writes=True)
    directory = Directory(settings, transports={"picky": transport}, providers=[*PROVIDERS, picky])
    with pytest.raises(Unsupported, match="PICKY_KEY"):
        directory.adapter("picky", "deactivate_user")
    assert directory.adapter("picky", "users") is directory.adapters["picky"]
    settings = Settings(providers={"picky": ProviderConfig("picky", "tok", "https://p.example", {"key": "k"})})
    able = Directory(settings, transports={"picky": transport}, providers=[*PROVIDERS, picky])
    assert able.adapter("picky", "deactivate_user") is able.adapters["picky"]
    assert seen == []


@pytest.mark.anyio
async def test_the_default_proxy_route_is_the_one_client_below_the_prefix():
    adapter: Adapter = TOY.connect(ProviderConfig("toy", "tok", "https://toy.example"))
    client, path = await adapter.proxy_route("/users/1")
    assert client is adapter.http and path == "/users/1"
    with pytest.raises(InvalidArgument):
        await adapter.proxy_route("//evil.example/x")


def test_descriptions_name_every_proxy_root_and_the_suspended_meaning():
    several = Provider(
        replace(SPEC, name="multi", title="Multi", proxy_prefix="/a/", proxy_roots=("/b/",), user_delete="suspended"),
        Picky,
    )
    text = placeholders("roots: $PROXY_ROOTS; deactivation: $DEACTIVATION", [several])
    assert "Multi /a/... or /b/... (below /api)" in text
    assert "in Multi the account's access is suspended, not deleted" in text
    plan = deactivation_plan(several.spec, "u1")
    assert "access is suspended, not deleted" in plan and "deleted" not in plan.replace("not deleted", "")
    assert json.dumps(plan)
