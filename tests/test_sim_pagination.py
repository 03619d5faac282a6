"""Pagination of the simulated providers: full traversal by following each provider's own
continuation (links.next, paging.next, next_token) yields every record once, in order."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest

from mcp_directory.sim import SimOptions, build_app, build_world
from tests.support import SimClient, sim_client

pytestmark = pytest.mark.anyio

TOKEN = "t0ken"


@pytest.fixture(scope="module")
def world():
    return build_world(seed=11, people=53)


def client(world, provider: str, **options) -> SimClient:
    return sim_client(build_app(provider, world, SimOptions(token=TOKEN, **options)), provider, TOKEN)


# --- Rootly -----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 7, 10])
async def test_rootly_links_next_visits_every_user_once_in_id_order(world, size):
    total = len(world.rootly.users)
    assert total % size != 0 or size == 1
    seen, pages = [], 0
    async with client(world, "rootly") as c:
        url = f"/v1/users?page[size]={size}"
        while url:
            body = (await c.get(url)).json()
            pages += 1
            assert len(body["data"]) <= size
            assert body["meta"]["total_count"] == total
            assert body["meta"]["current_page"] == pages
            seen += [u["id"] for u in body["data"]]
            url = body["links"]["next"]
    assert seen == sorted(world.rootly.users, key=int)
    assert pages == -(-total // size) == body["meta"]["total_pages"]
    assert (body["meta"]["next_page"] is None and body["links"]["prev"] is not None) or pages == 1


async def test_rootly_links_are_absolute_and_keep_other_params(world):
    async with client(world, "rootly") as c:
        body = (await c.get("/v1/users?filter[search]=a&page[number]=2&page[size]=3")).json()
    links = body["links"]
    assert links["self"].startswith("http://rootly.test/v1/users?")
    assert "page%5Bnumber%5D=2&page%5Bsize%5D=3" in links["self"]
    for key in ("self", "first", "prev", "next", "last"):
        query = parse_qs(urlsplit(links[key]).query)
        assert query["filter[search]"] == ["a"]
        assert query["page[size]"] == ["3"]
    assert parse_qs(urlsplit(links["first"]).query)["page[number]"] == ["1"]
    assert parse_qs(urlsplit(links["prev"]).query)["page[number]"] == ["1"]
    assert body["meta"]["prev_page"] == 1 and body["meta"]["next_page"] == 3


async def test_rootly_first_page_has_null_prev_and_past_the_end_is_empty(world):
    total = len(world.rootly.users)
    async with client(world, "rootly") as c:
        first = (await c.get("/v1/users")).json()
        past = (await c.get("/v1/users?page[number]=99&page[size]=20")).json()
    assert first["links"]["prev"] is None and first["meta"]["prev_page"] is None
    assert len(first["data"]) == 20  # default page size
    assert past["data"] == [] and past["meta"]["total_count"] == total
    assert past["links"]["next"] is None and past["meta"]["current_page"] == 99


async def test_rootly_page_size_above_max_is_400_and_max_is_configurable(world):
    async with client(world, "rootly") as c:
        response = await c.get("/v1/users?page[size]=101")
        assert (await c.get("/v1/users?page[size]=100")).status_code == 200
    assert response.status_code == 400
    assert response.json()["errors"][0]["status"] == "400"
    async with client(world, "rootly", page_size_default=5, page_size_max=8) as c:
        assert len((await c.get("/v1/users")).json()["data"]) == 5
        assert (await c.get("/v1/users?page[size]=9")).status_code == 400


# --- Opsgenie ---------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 6, 10])
async def test_opsgenie_paging_next_visits_every_user_once(world, limit):
    total = len(world.opsgenie.users)
    assert total % limit != 0 or limit == 1
    seen, pages = [], 0
    async with client(world, "opsgenie") as c:
        url = f"/v2/users?limit={limit}&sort=username"
        first = True
        while url:
            body = (await c.get(url)).json()
            pages += 1
            assert 0 < len(body["data"]) <= limit
            assert body["totalCount"] == total
            assert ("prev" in body["paging"]) != first
            assert {"first", "last"} <= set(body["paging"])
            seen += [u["username"].lower() for u in body["data"]]
            url, first = body["paging"].get("next"), False
    assert seen == sorted(u["username"].lower() for u in world.opsgenie.users.values())
    assert pages == -(-total // limit)


async def test_opsgenie_paging_urls_carry_offset_limit_sort_order(world):
    async with client(world, "opsgenie") as c:
        body = (await c.get("/v2/users?limit=4&offset=4&sortField=fullName&order=desc&query=verified:true")).json()
    query = parse_qs(urlsplit(body["paging"]["next"]).query)
    assert body["paging"]["next"].startswith("http://opsgenie.test/v2/users?")
    assert query == {
        "query": ["verified:true"],
        "offset": ["8"],
        "limit": ["4"],
        "sort": ["fullName"],
        "order": ["desc"],
    }
    assert parse_qs(urlsplit(body["paging"]["prev"]).query)["offset"] == ["0"]
    names = [u["fullName"].lower() for u in body["data"]]
    assert names == sorted(names, reverse=True)


async def test_opsgenie_limit_above_max_is_422(world):
    async with client(world, "opsgenie") as c:
        too_big = await c.get("/v2/users?limit=101")
        default = (await c.get("/v2/users")).json()
    assert too_big.status_code == 422
    assert too_big.json()["errors"]["limit"]
    assert len(default["data"]) == min(100, len(world.opsgenie.users))
    assert "next" not in default["paging"]


# --- Retool -----------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 8, 100])
async def test_retool_next_token_visits_every_user_once(world, limit):
    expected = [u["id"] for u in sorted(world.retool.users.values(), key=lambda u: u["legacy_id"])]
    seen, token, pages = [], None, 0
    async with client(world, "retool") as c:
        while True:
            params = {"limit": limit} | ({"next_token": token} if token else {})
            body = (await c.get("/api/v2/users", params=params)).json()
            pages += 1
            assert 0 < len(body["data"]) <= limit
            assert body["total_count"] == len(expected)
            assert body["has_more"] == (body["next_token"] is not None)
            seen += [u["id"] for u in body["data"]]
            token = body["next_token"]
            if not token:
                break
            payload = json.loads(base64.b64decode(token + "=" * (-len(token) % 4)))
            assert set(payload) == {"lastId"}  # opaque base64 JSON like the docs' example
    assert seen == expected
    assert pages == -(-len(expected) // limit)


async def test_retool_without_limit_returns_everyone_and_bad_limits_are_400(world):
    async with client(world, "retool") as c:
        everyone = (await c.get("/api/v2/users")).json()
        statuses = [
            (await c.get("/api/v2/users", params=p)).status_code
            for p in (
                {"limit": 0},
                {"limit": 101},
                {"limit": "x"},
                {"next_token": "eyJsYXN0SWQiOjEyM30"},
                {"limit": 5, "next_token": "%%%"},
            )
        ]
        groups = (await c.get("/api/v2/groups")).json()
    assert len(everyone["data"]) == everyone["total_count"] == len(world.retool.users)
    assert everyone["next_token"] is None and everyone["has_more"] is False
    assert statuses == [400] * 5
    assert len(groups["data"]) == len(world.retool.groups) and groups["has_more"] is False
