"""What replicas share (SPEC §10), one process standing in for several: the budget and hold in
process and through a real Redis, the review store in Redis, failure and recovery, configuration.
Several `SharedRedis` clients on one Redis are several replicas."""

from __future__ import annotations

import zlib

import httpx2 as httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from mcp_directory.cli import main
from mcp_directory.config import ClientOptions, ProviderConfig, Settings
from mcp_directory.directory import Directory
from mcp_directory.errors import RateLimited, UpstreamError
from mcp_directory.redis_budget import RedisBudget
from mcp_directory.redis_client import SharedRedis, describe
from mcp_directory.redis_reviews import RedisReviews, decode
from mcp_directory.review import Filters, Snapshot
from mcp_directory.server import build_server
from mcp_directory.sim import build_apps, build_world
from mcp_directory.throttle import Throttle
from tests.redis_support import CURSOR_SECRET, RedisServer, free_port, require_redis_server
from tests.support import PAGE_SIZES, TOKENS, URLS, fails, ok

pytestmark = pytest.mark.anyio


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


# --- in process ---------------------------------------------------------------------------------


async def test_a_hold_stops_every_request_in_process_and_a_long_one_fails_at_once():
    t = FakeTime()
    throttle = Throttle(None, provider="retool", patience=30, clock=t.clock, sleep=t.sleep)
    assert await throttle.acquire() == 0.0
    await throttle.hold(5)
    assert await throttle.acquire() == pytest.approx(5)  # waited out, then free
    assert await throttle.acquire() == 0.0
    await throttle.hold(90)
    with pytest.raises(RateLimited) as caught:
        await throttle.acquire()
    assert caught.value.provider == "retool" and caught.value.retry_after == 90
    assert t.slept == [5]  # the long hold was not slept through


async def test_a_hold_comes_before_the_bucket():
    t = FakeTime()
    throttle = Throttle(60, burst=1, clock=t.clock, sleep=t.sleep)
    assert await throttle.acquire() == 0.0
    await throttle.hold(3)
    assert await throttle.acquire() == pytest.approx(3)  # the bucket refilled meanwhile


# --- the budget through Redis ----------------------------------------------------------------------


@pytest.fixture
async def two(redis_url):
    """Two replicas' connections to one Redis."""
    a, b = SharedRedis(redis_url), SharedRedis(redis_url)
    yield a, b
    await a.aclose()
    await b.aclose()


async def test_one_budget_for_every_replica(two):
    a, b = (RedisBudget(r, "rootly", 60) for r in two)  # 60 a minute: 10 in any ten seconds
    assert a.burst == 10
    for _ in range(5):
        assert await a._try() is None
        assert await b._try() is None
    wait = await a._try()  # the eleventh, from either replica, waits for the oldest to age
    assert wait is not None and 9 < wait <= 10
    assert 9 < (await b._try() or 0) <= 10
    assert await RedisBudget(two[0], "retool", 60)._try() is None  # another provider, another budget


async def test_the_minute_counts_every_grant_for_a_minute_and_a_second(two):
    a, b = (RedisBudget(r, "rootly", 1) for r in two)
    assert await a._try() is None
    wait = await b._try()
    assert wait is not None and 60 < wait <= 61


async def test_a_hold_on_one_replica_holds_the_other(two):
    a, b = (RedisBudget(r, "retool", 600, patience=30) for r in two)
    await a.hold(3)
    wait = await b._try()
    assert wait is not None and 2.5 < wait <= 3
    await a.hold(1)  # a shorter hold never shortens a longer one
    assert 2 < (await b._try() or 0) <= 3
    await a.hold(120)
    with pytest.raises(RateLimited) as caught:
        await b.acquire()
    assert caught.value.provider == "retool" and 119 <= (caught.value.retry_after or 0) <= 120


async def test_no_budget_still_honours_the_hold(two):
    a, b = (RedisBudget(r, "opsgenie", 0) for r in two)
    for _ in range(50):
        assert await a._try() is None
    await b.hold(2)
    assert (await a._try() or 0) > 1


async def test_unreachable_redis_fails_the_request_naming_redis_and_recovers():
    server = RedisServer(require_redis_server())
    server.start()
    shared = SharedRedis(server.url)
    budget = RedisBudget(shared, "rootly", 600)
    try:
        assert await budget.acquire() == 0.0
        assert await shared.health() == "ok"
        server.stop()
        with pytest.raises(UpstreamError) as caught:
            await budget.acquire()
        assert "Redis at redis://127.0.0.1:" in caught.value.message and caught.value.provider == "rootly"
        assert "nothing was sent to rootly" in caught.value.message
        assert await shared.health() == "unreachable"
        await budget.hold(5)  # recording a hold fails quietly: the next acquire asks again
        server.start()  # same port, empty: the pooled connection is dead, the script unknown
        assert await budget.acquire() == 0.0
        assert await shared.health() == "ok"
    finally:
        await shared.aclose()
        server.stop()


async def test_nothing_listening_is_unreachable():
    shared = SharedRedis(f"redis://127.0.0.1:{free_port()}/0")
    try:
        assert await shared.health() == "unreachable"
        with pytest.raises(UpstreamError, match="Redis"):
            await RedisBudget(shared, "rootly", 0).acquire()
    finally:
        await shared.aclose()


# --- reviews in Redis ------------------------------------------------------------------------------

SNAPSHOT = Snapshot(
    "s1",
    "2026-07-01T00:00:00Z",
    ["rootly", "retool"],
    [
        ("a@x.io", "A", (("rootly", "1", "active", True, None, (("g1", "Ops"),)),)),
        ("b@x.io", None, (("retool", "7", "inactive", False, "2025-01-01T00:00:00Z", ()),)),
    ],
    1,
)


async def test_a_review_kept_by_one_replica_is_read_by_another(two, redis_url):
    a, b = (RedisReviews(r) for r in two)
    await a.put(SNAPSHOT)
    assert await b.get("s1") == SNAPSHOT  # tuples again, equal to the original
    assert await b.get("nope") is None
    admins = Filters(admins_only=True)
    uri = await a.export(SNAPSHOT, admins)
    assert uri == await b.export(SNAPSHOT, admins)  # one URI for every page, whichever replica
    assert uri != await b.export(SNAPSHOT, Filters())
    export_id = uri.removeprefix("directory://reviews/").removesuffix(".csv")
    assert await b.export_rows(export_id) == [SNAPSHOT.rows[0]]
    assert await b.export_rows("unknown") is None
    key = "mcp-directory:review:s1"
    raw, ttl_ms = await two[0].client.get(key), await two[0].client.pttl(key)
    assert decode(raw) == SNAPSHOT and zlib.decompress(raw).startswith(b'["mcp-directory review v1"')
    assert 14 * 60_000 < ttl_ms <= 15 * 60_000  # the review's TTL (SPEC §8: at least 10 minutes)
    assert 0 < await two[0].client.pttl(f"mcp-directory:review-export:{export_id}") <= ttl_ms
    await two[0].client.delete(key)  # expired
    assert await RedisReviews(two[1]).get("s1") is None  # a replica that had not cached it


THREE = ("rootly", "opsgenie", "retool")


def sim_apps(people: int) -> dict:
    apps = build_apps(build_world(seed=3, people=people), TOKENS, record_requests=True)
    return {p: apps[p] for p in THREE}


def shared_directory(apps, redis_url: str) -> Directory:
    """A directory over these simulators (in process) whose budgets and reviews live in `redis_url`."""
    settings = Settings(
        providers={p: ProviderConfig(p, TOKENS[p], URLS[p]) for p in apps},
        redis_url=redis_url,
        cursor_secret=CURSOR_SECRET,
        client=ClientOptions(requests_per_minute={p: 0 for p in apps}),  # only the holds
    )
    transports = {p: httpx.ASGITransport(app=app) for p, app in apps.items()}
    return Directory(settings, transports=transports, page_sizes=PAGE_SIZES)


async def test_two_servers_share_reviews_and_cursors(redis_url):
    apps = sim_apps(60)
    one, other = (build_server(shared_directory(apps, redis_url)) for _ in range(2))
    async with Client(one) as a, Client(other) as b:
        first = await ok(a, "access_review", {"limit": 5})
        second = await ok(b, "access_review", {"limit": 5, "cursor": first["next_cursor"]})
        assert second["as_of"] == first["as_of"] and second["export"] == first["export"]
        assert {r["email"] for r in second["result"]}.isdisjoint(r["email"] for r in first["result"])
        rows = await every_row(b, first)
        assert len(rows) == first["total"]
        csv = (await b.read_resource(first["export"])).contents[0].text
        assert len(csv.strip().splitlines()) - 1 == sum(len(r["accounts"]) for r in rows)


async def every_row(client, first):
    rows, page = list(first["result"]), first
    for _ in range(100):
        if not page["next_cursor"]:
            return rows
        page = await ok(client, "access_review", {"limit": 5, "cursor": page["next_cursor"]})
        rows += page["result"]
    raise AssertionError("more than 100 pages")


async def test_a_review_fails_naming_redis_when_redis_is_away():
    apps = sim_apps(20)
    directory = shared_directory(apps, f"redis://127.0.0.1:{free_port()}/0")
    async with Client(build_server(directory)) as client:
        err = await fails(client, "access_review", {"limit": 5}, "upstream_error")
        assert "Redis at redis://127.0.0.1:" in err["message"]
        assert not any(app.state.requests for app in apps.values())  # nothing reached a provider
        with pytest.raises(MCPError, match="Redis"):
            await client.read_resource("directory://reviews/abc.csv")


# --- configuration -------------------------------------------------------------------------------


def test_the_redis_url_is_checked_and_its_password_redacted():
    settings = Settings.from_env({"MCP_DIRECTORY_REDIS_URL": "redis://:s3cret-password@cache:6380/2"})
    assert settings.redis_url == "redis://:s3cret-password@cache:6380/2"
    assert "s3cret-password" in settings.secrets
    assert describe(settings.redis_url) == "redis://cache:6380/2"
    assert Settings.from_env({}).redis_url is None
    for bad in ("http://cache:6379", "redis://cache:port", "cache:6379"):
        with pytest.raises(ValueError, match="MCP_DIRECTORY_REDIS_URL") as caught:
            Settings.from_env({"MCP_DIRECTORY_REDIS_URL": bad})
        assert bad not in str(caught.value)


def test_serve_refuses_replicas_without_a_shared_cursor_secret(monkeypatch, capsys):
    monkeypatch.setenv("MCP_DIRECTORY_REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.delenv("MCP_DIRECTORY_CURSOR_SECRET", raising=False)
    assert main(["serve", "--transport", "http", "--demo"]) == 2
    assert "MCP_DIRECTORY_CURSOR_SECRET" in capsys.readouterr().err
