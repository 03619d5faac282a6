"""Reviews in a real Redis that holds what no replica wrote (SPEC §10): a value of the right envelope
but the wrong shape, a zlib bomb, garbage, a key of another type. Each reads as "no longer kept" —
a clean error for the cursor and the export — and the replica keeps serving."""

from __future__ import annotations

import dataclasses
import json
import secrets
import tracemalloc
import zlib

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from mcp_directory.errors import RateLimited
from mcp_directory.redis_client import SharedRedis
from mcp_directory.redis_reviews import FORMAT, RedisReviews, decode, encode
from mcp_directory.review import Snapshot
from mcp_directory.server import build_server
from tests.support import fails, ok
from tests.test_shared_state import SNAPSHOT, shared_directory, sim_apps

pytestmark = pytest.mark.anyio

LIMIT = 4 * 2**20  # the replicas' memory ceiling here: a value larger once decompressed is not kept


def document(*rows: object, snapshot_id: str = "s1") -> bytes:
    return zlib.compress(json.dumps([FORMAT, snapshot_id, "2026-07-01T00:00:00Z", ["rootly"], list(rows), 0]).encode())


def bomb() -> bytes:
    """A valid beginning, then 256 MB of spaces: about 250 KB compressed."""
    squeeze = zlib.compressobj(9)
    parts = [squeeze.compress(f'["{FORMAT}","s1","2026-07-01T00:00:00Z",["rootly"],['.encode())]
    chunk = b" " * 2**20
    parts += [squeeze.compress(chunk) for _ in range(256)]
    return b"".join([*parts, squeeze.compress(b"],0]"), squeeze.flush()])


ACCOUNT = ["rootly", "1", "active", True, None, [["g1", "Ops"]]]
ACCOUNT_TUPLE = ("rootly", "1", "active", True, None, (("g1", "Ops"),))
POISONS = {
    "user id a number": document(["a@x.io", "A", [[*ACCOUNT[:1], 7, *ACCOUNT[2:]]]]),
    "a status no provider has": document(["a@x.io", "A", [[*ACCOUNT[:2], "owner", *ACCOUNT[3:]]]]),
    "a provider not read": document(["a@x.io", "A", [["nope", *ACCOUNT[1:]]]]),
    "a group of one field": document(["a@x.io", "A", [[*ACCOUNT[:5], [["g1"]]]]]),
    "a row of two fields": document(["a@x.io", "A"]),
    "rows not a list": zlib.compress(json.dumps([FORMAT, "s1", "t", ["rootly"], 5, 0]).encode()),
    "an object": zlib.compress(b'{"format": 1}'),
    "deep nesting": zlib.compress(b"[" * 100_000),
    "another format": zlib.compress(json.dumps(["mcp-directory review v9", "s1", "t", [], [], 0]).encode()),
    "not zlib": b"\x00garbage, not zlib",
    "zlib, not JSON": zlib.compress(b"\xff\xfe\x00 garbage"),
    "cut short": document(["a@x.io", "A", [ACCOUNT]])[:-8],
    "empty": b"",
    "a bomb": bomb(),
}


def test_decoding_refuses_every_poison_and_reads_a_bomb_no_further_than_the_cap():
    assert decode(encode(SNAPSHOT), LIMIT) == SNAPSHOT
    assert decode(document(["a@x.io", "A", [ACCOUNT]]), LIMIT) is not None  # the shape the poisons spoil
    for name, poison in POISONS.items():
        assert decode(poison, LIMIT) is None, name
    tracemalloc.start()
    try:
        assert decode(POISONS["a bomb"], LIMIT) is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * LIMIT  # it decompresses to 256 MB: read only up to the cap


async def test_a_review_larger_than_the_ceiling_is_not_stored(redis_url):
    shared = SharedRedis(redis_url)
    try:
        with pytest.raises(RateLimited, match="MCP_DIRECTORY_REVIEW_MEMORY_MB"):
            await RedisReviews(shared, memory=100).put(SNAPSHOT)
        assert await shared.client.keys("mcp-directory:review:*") == []
    finally:
        await shared.aclose()


async def test_every_replica_shares_one_ceiling_and_an_older_review_is_never_dropped(redis_url):
    one, other = SharedRedis(redis_url), SharedRedis(redis_url)
    # A name that does not compress, so that two stored reviews pass a ceiling that one fits in
    # whole (in memory, and as JSON): the ceiling counts what Redis holds.
    name = secrets.token_urlsafe(150_000)
    first = Snapshot("s1", "2026-07-01T00:00:00Z", ["rootly"], [("a@x.io", name, (ACCOUNT_TUPLE,))])
    try:
        memory = first.size + first.size // 5
        size = len(encode(first, memory))
        assert size <= memory < 2 * size
        a, b = (RedisReviews(shared, memory=memory) for shared in (one, other))
        await a.put(first)
        later = dataclasses.replace(first, id="s2")
        with pytest.raises(RateLimited) as caught:
            await b.put(later)
        assert 14 * 60 < (caught.value.retry_after or 0) <= 15 * 60  # when the first one ends
        assert "MCP_DIRECTORY_REVIEW_MEMORY_MB" in caught.value.message
        assert await RedisReviews(other).get("s1") == first  # still kept, and readable anywhere
        assert await other.client.exists("mcp-directory:review:s2") == 0
        await a.put(first)  # the same review kept again takes no more room
        await one.client.zadd("mcp-directory:reviews:kept", {"s1": 0})  # the first one has ended
        await b.admit()
        await b.put(later)
        assert await RedisReviews(one).get("s2") == later
        with pytest.raises(RateLimited):
            await a.put(dataclasses.replace(first, id="s3"))
        with pytest.raises(RateLimited):
            await RedisReviews(one, memory=size).admit()  # no room at all: refused before anything is read
        with pytest.raises(RateLimited, match="larger than"):
            await RedisReviews(one, memory=first.size - 1).put(dataclasses.replace(first, id="s4"))
    finally:
        await one.aclose()
        await other.aclose()


async def test_poisoned_snapshots_and_exports_read_as_no_longer_kept_and_the_replica_serves_on(redis_url):
    apps = sim_apps(30)
    one, other = shared_directory(apps, redis_url), shared_directory(apps, redis_url)
    other.reviews.memory = LIMIT
    assert other.redis is not None
    redis = other.redis.client
    async with Client(build_server(one)) as a, Client(build_server(other)) as b:
        first = await ok(a, "access_review", {"limit": 5})
        (key,) = [k for k in await redis.keys("mcp-directory:review:*") if not k.endswith(b":exports")]
        export_id = first["export"].removeprefix("directory://reviews/").removesuffix(".csv")
        export_key = f"mcp-directory:review-export:{export_id}"
        snapshot_id = key.decode().rsplit(":", 1)[1]
        good = await redis.get(export_key)
        poisons = {**POISONS, "the right shape, another id": document(snapshot_id="other")}
        for name, poison in poisons.items():
            await redis.set(key, poison, px=60_000)
            err = await fails(b, "access_review", {"limit": 5, "cursor": first["next_cursor"]}, "invalid_argument")
            assert "no longer kept" in err["message"], name
            with pytest.raises(MCPError, match="no longer kept"):
                await b.read_resource(first["export"])
        await redis.delete(key)
        await redis.hset(key, "a", "b")  # a key of another type
        await fails(b, "access_review", {"limit": 5, "cursor": first["next_cursor"]}, "invalid_argument")
        records = [
            b"garbage",
            b"[1, 2]",
            json.dumps({"snapshot": 5, "filters": "{}"}).encode(),
            json.dumps({"snapshot": snapshot_id, "filters": '{"present_in": 5}'}).encode(),
            json.dumps({"snapshot": snapshot_id, "filters": '{"admins_only": "yes"}'}).encode(),
            json.dumps({"snapshot": snapshot_id, "filters": "not json"}).encode(),
            json.dumps({"snapshot": snapshot_id}).encode(),
            b"x" * 100_000,
        ]
        for record in records:
            await redis.set(export_key, record, px=60_000)
            with pytest.raises(MCPError, match="no longer kept"):
                await b.read_resource(first["export"])
        await redis.set(export_key, good, px=60_000)
        await fails(b, "access_review", {"limit": 5, "cursor": first["next_cursor"]}, "invalid_argument")
        fresh = await ok(b, "access_review", {"limit": 5})  # the replica still serves
        assert fresh["total"] == first["total"]
        more = await ok(a, "access_review", {"limit": 5, "cursor": fresh["next_cursor"]})
        assert more["as_of"] == fresh["as_of"]
