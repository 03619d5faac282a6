"""proxy_request refuses, before sending anything: oversized or malformed queries, path
segments that Java servers read as '.' or '..' once a ';' matrix parameter is stripped
(Opsgenie runs on Java), and C1 controls or Unicode line separators anywhere in the request."""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx2 as httpx
import pytest
from mcp import Client

from mcp_directory.config import ProviderConfig, Settings
from mcp_directory.directory import Directory
from mcp_directory.server import build_server
from mcp_directory.sim import build_apps, build_world

from .support import PAGE_SIZES, TOKENS, URLS, fails, ok


class Counting:
    """An ASGI app in front of a simulated provider, counting the HTTP requests that reach it."""

    def __init__(self, app) -> None:
        self.app = app
        self.seen: list[str] = []
        self.queries: list[list[tuple[str, str]]] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            self.seen.append(scope.get("raw_path", b"").decode("latin-1"))
            self.queries.append(parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True))
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def world():
    return build_world(seed=7, people=20)


@pytest.fixture
async def proxied(world):
    """A read-only server over the Rootly and Opsgenie simulators, each behind a counter."""
    apps = build_apps(world, TOKENS)
    counters = {p: Counting(apps[p]) for p in ("rootly", "opsgenie")}
    settings = Settings(providers={p: ProviderConfig(p, TOKENS[p], URLS[p]) for p in counters})
    transports = {p: httpx.ASGITransport(app=counters[p]) for p in counters}
    directory = Directory(settings, transports=transports, page_sizes=PAGE_SIZES)
    async with Client(build_server(directory)) as c:
        yield c, counters


def pairs(query: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in query.items()]


REFUSED_QUERIES = {
    "70 KB value": pairs({"filter[search]": "x" * 70_000}),
    "over 8 KiB encoded": pairs({f"k{i}": "é" * 100 for i in range(20)}),
    "over 8 KiB, one name repeated": [{"name": "k", "value": "é" * 100}] * 20,
    "51 parameters": pairs({f"p{i}": "1" for i in range(51)}),
    "51 parameters, one name": [{"name": "p", "value": "1"}] * 51,
    "empty key": pairs({"": "1"}),
    "C1 control in value": pairs({"filter[search]": "a\x85b"}),
    "C1 control in key": pairs({"a\x9fb": "1"}),
    "line separator in value": pairs({"filter[search]": "a\u2028b"}),
    "paragraph separator in key": pairs({"a\u2029": "1"}),
}


@pytest.mark.anyio
@pytest.mark.parametrize("query", REFUSED_QUERIES.values(), ids=REFUSED_QUERIES.keys())
async def test_bad_queries_are_refused_before_sending(proxied, query):
    c, counters = proxied
    err = await fails(
        c, "proxy_request", {"provider": "rootly", "path": "/v1/users", "query": query}, "invalid_argument"
    )
    assert err["message"] and "internal error" not in err["message"]
    assert counters["rootly"].seen == []


REFUSED_PATHS = [
    "/v2/users/..;/teams",
    "/v2/..;/v2/users",
    "/v2/users/..;jsessionid=1/x",
    "/v2/users/.;/x",
    "/v2/users/;../x",
    "/v2/users/x;/..;/y",
    "/v2/users/%2e%2e;/x",
    "/v2/users/..%3b/x",
    "/v2/users/..%3Bfoo/x",
    "/v2/users/%252e%252e%253b/x",
    "/v2/users/.%2e;a=b/x",
    "/v2/users\x85",
    "/v2/users/a%C2%85b",
    "/v2/users/\u2028",
    "/v2/users/%E2%80%A9x",
    "/v2/users\x9f",
]


@pytest.mark.anyio
@pytest.mark.parametrize("path", REFUSED_PATHS)
async def test_matrix_traversals_and_separators_in_paths_are_refused(proxied, path):
    c, counters = proxied
    err = await fails(c, "proxy_request", {"provider": "opsgenie", "path": path}, "invalid_argument")
    assert err["message"]
    assert counters["opsgenie"].seen == []


@pytest.mark.anyio
async def test_ordinary_requests_still_pass(proxied, world):
    c, counters = proxied
    query = pairs({f"p{i}": "v" for i in range(49)} | {"page[size]": "2"})
    data = await ok(c, "proxy_request", {"provider": "rootly", "path": "/v1/users", "query": query})
    assert data["status"] == 200 and len(data["body"]["data"]) == 2
    user = next(iter(world.opsgenie.users.values()))
    data = await ok(c, "proxy_request", {"provider": "opsgenie", "path": f"/v2/users/{user['id']}"})
    assert data["status"] == 200
    # A ';' that is not around a dot segment is an ordinary character of an id.
    data = await ok(c, "proxy_request", {"provider": "opsgenie", "path": "/v2/users/a;b"})
    assert data["status"] == 404
    assert len(counters["rootly"].seen) == 1 and len(counters["opsgenie"].seen) == 2


@pytest.mark.anyio
async def test_query_pairs_arrive_in_order_with_repeated_names(proxied):
    """`query` is a list of name/value pairs (SPEC §5): sent in order, a name may repeat, and an
    empty value is a value."""
    c, counters = proxied
    sent = [("filter[b]", "2"), ("a", "x y&z=1"), ("filter[b]", "1"), ("flag", "")]
    query = [{"name": n, "value": v} for n, v in sent]
    data = await ok(c, "proxy_request", {"provider": "rootly", "path": "/v1/users", "query": query})
    assert data["status"] == 200
    assert counters["rootly"].queries == [sent]
    data = await ok(c, "proxy_request", {"provider": "rootly", "path": "/v1/users", "query": None})
    assert data["status"] == 200 and counters["rootly"].queries[-1] == []
