"""access_review snapshots in Redis (SPEC §10), so any replica continues any review and serves any
export.

A snapshot is stored once, as zlib-compressed compact JSON, under its id with the review's TTL;
Redis drops it when the review ends. The reviews of every replica share one memory ceiling, counted
in the bytes Redis holds (a ledger of sizes and expiries beside them). What a replica reads back is
checked: not zlib, larger than the ceiling once decompressed, or of another shape, it is "no longer
kept", never a crash. An export is a small record (snapshot id and filters) under its
own unguessable id, created by a script that also indexes it by snapshot and filters, so that two
replicas serving pages of one review hand out the same URI, and that expires with its snapshot.
Snapshots do not change, so each replica keeps the last few it decoded (until their Redis expiry)
and a review's next page costs one lookup, not a download.
"""

from __future__ import annotations

import contextlib
import gc
import json
import re
import secrets
import zlib
from collections.abc import Iterator
from typing import Any, Literal

import anyio
import pydantic
import pydantic_core
from pydantic import TypeAdapter

from .redis_client import SharedRedis
from .review import KINDS, TTL, Filters, Row, Snapshot
from .review_store import MEMORY, ReviewStore, Snapshots, export_uri, too_many

FORMAT = "mcp-directory review v1"  # another format (a newer replica's) reads as "no longer kept"
CACHED = 2  # decoded snapshots kept per replica
LEVEL = 6  # zlib: a 100,000-account review compresses about tenfold
RECORD_LIMIT = 4096  # bytes: an export record is a snapshot id and a few filters
EXPORT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # ours are 22 characters (secrets.token_urlsafe(16))

# Every replica's reviews share one ceiling, counted in the bytes Redis holds for them.
# KEYS: the kept reviews (sorted set: id -> expiry, ms), their sizes (hash: id -> bytes), the snapshot.
# ARGV: the id, the stored form, its TTL (ms), its size, the ceiling. Returns 0 when kept, else the
# milliseconds until enough kept reviews end for it to fit. An empty stored form only asks.
PUT = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
for _, ended in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  redis.call('HDEL', KEYS[2], ended)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local size, ceiling, used = tonumber(ARGV[4]), tonumber(ARGV[5]), 0
for _, bytes in ipairs(redis.call('HVALS', KEYS[2])) do used = used + (tonumber(bytes) or 0) end
used = used - (tonumber(redis.call('HGET', KEYS[2], ARGV[1])) or 0)  -- kept again: replaced
if used + size > ceiling then
  local kept = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  for i = 1, #kept, 2 do
    used = used - (tonumber(redis.call('HGET', KEYS[2], kept[i])) or 0)
    if used + size <= ceiling then return math.max(1, tonumber(kept[i + 1]) - now) end
  end
  return 1
end
if ARGV[2] == '' then return 0 end
redis.call('SET', KEYS[3], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], size)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 0
"""

# KEYS: the snapshot's exports (hash: filters -> id), the new export, the snapshot.
# ARGV: the filters, the new export's id, its record. Returns the export's id (None: no snapshot).
EXPORT = """
local ttl = redis.call('PTTL', KEYS[3])
if ttl <= 0 then return false end
local have = redis.call('HGET', KEYS[1], ARGV[1])
if have then return have end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('SET', KEYS[2], ARGV[3], 'PX', ttl)
return ARGV[2]
"""


def encode(snapshot: Snapshot, limit: int = MEMORY) -> bytes:
    """The stored form; `rate_limited` when the review is larger than `limit` bytes in memory or
    before compression (so a replica never refuses to decompress one that a replica wrote)."""
    fields: list[Any] = [FORMAT, snapshot.id, snapshot.as_of, snapshot.providers, snapshot.rows, snapshot.left_out]
    if snapshot.kind != "access":
        fields.append(snapshot.kind)  # another answer's rows (review.KINDS)
    document = pydantic_core.to_json(fields)
    if max(snapshot.size, len(document)) > limit:
        raise too_many(limit, max(snapshot.size, len(document)), 0)
    return zlib.compress(document, LEVEL)


# What a replica wrote, checked field by field (in pydantic-core, faster than building the tuples
# by hand): anything else in Redis, whatever put it there, reads as "no longer kept".
Document = tuple[Literal["mcp-directory review v1"], str, str, list[str], list[Row], int]
DOCUMENT: TypeAdapter[Document] = TypeAdapter(Document)
# Another answer's snapshot: the same envelope, its kind last, its rows checked by the kind.
Other = tuple[Literal["mcp-directory review v1"], str, str, list[str], list[Any], int, str]
OTHER: TypeAdapter[Other] = TypeAdapter(Other)
FILTERS: TypeAdapter[Filters] = TypeAdapter(Filters)


def decode(blob: Any, limit: int = MEMORY) -> Snapshot | None:
    """The snapshot in `blob`, or None when it is not one that a replica wrote: not zlib, more than
    `limit` bytes once decompressed (read no further than that), or of another shape."""
    if not isinstance(blob, bytes):
        return None
    inflate = zlib.decompressobj()
    try:
        document = inflate.decompress(blob, limit)
    except zlib.error:
        return None
    if inflate.unconsumed_tail or not inflate.eof:  # too large, or cut short
        return None
    with paused_gc():
        try:
            _, snapshot_id, as_of, providers, rows, left_out = DOCUMENT.validate_json(document, strict=True)
        except pydantic.ValidationError:
            return decode_other(document)
        if any(account[0] not in providers for row in rows for account in row[2]):
            return None
        return Snapshot(snapshot_id, as_of, providers, rows, left_out)


def decode_other(document: bytes) -> Snapshot | None:
    """Another answer's snapshot (review.KINDS, e.g. coverage_review's findings), each row checked
    by its kind; None when it is not one a replica wrote."""
    try:
        _, snapshot_id, as_of, providers, rows, left_out, kind = OTHER.validate_json(document, strict=True)
        return Snapshot(snapshot_id, as_of, providers, [KINDS[kind].decode(r) for r in rows], left_out, kind=kind)
    except (pydantic.ValidationError, KeyError, ValueError, TypeError):
        return None


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cycle collection while millions of acyclic objects are built: otherwise the collector runs
    over them again and again (decoding a 100,000-account review took seven times as long)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def filters_text(filters: Filters) -> str:
    return json.dumps(filters.key(), sort_keys=True, separators=(",", ":"))


def export_record(raw: Any) -> tuple[str, Filters] | None:
    """The snapshot id and filters of an export record, or None when it is not one a replica wrote."""
    try:
        record = json.loads(raw) if isinstance(raw, bytes) and len(raw) <= RECORD_LIMIT else None
        if not (isinstance(record, dict) and record.keys() == {"snapshot", "filters"}):
            return None
        snapshot_id, text = record["snapshot"], record["filters"]
        if not (isinstance(snapshot_id, str) and isinstance(text, str)):
            return None
        return snapshot_id, FILTERS.validate_json(text, strict=True)
    except (ValueError, RecursionError):  # not JSON (pydantic's ValidationError is a ValueError)
        return None


class RedisReviews(ReviewStore):
    def __init__(self, redis: SharedRedis, ttl: float = TTL, memory: int = MEMORY) -> None:
        super().__init__(memory)
        self.redis = redis
        self.ttl = ttl
        self.local = Snapshots(ttl, memory, cache=CACHED)
        self._export = redis.script(EXPORT)
        self._put = redis.script(PUT)

    def _key(self, snapshot_id: str) -> str:
        return self.redis.key("review", snapshot_id)

    async def put(self, snapshot: Snapshot) -> None:
        blob = await anyio.to_thread.run_sync(encode, snapshot, self.memory)  # a large review: off the event loop
        await self._keep(snapshot.id, blob, len(blob))
        self.local.keep(snapshot)

    async def _keep(self, snapshot_id: str, blob: bytes, size: int) -> None:
        """Store `blob` within the ceiling all replicas share (an empty one: only ask for `size` bytes)."""
        keys = [self.redis.key("reviews", "kept"), self.redis.key("reviews", "sizes"), self._key(snapshot_id)]
        command = self._put(keys, [snapshot_id, blob, int(self.ttl * 1000), size, self.memory])
        wait_ms = await self.redis.run("keep this review for its next pages and its export", command)
        if wait_ms:
            raise too_many(self.memory, size, int(wait_ms) / 1000)

    async def admit(self) -> None:
        await self._keep("", b"", 1)  # no room left at all: fail before reading

    async def get(self, snapshot_id: str) -> Snapshot | None:
        held = self.local.held(snapshot_id)
        if held is not None:
            return held
        pipe = self.redis.client.pipeline(transaction=False)
        pipe.get(self._key(snapshot_id))
        pipe.pttl(self._key(snapshot_id))
        # A key of another type answers an error, not a value: that review is not kept either.
        blob, ttl_ms = await self.redis.run("read this review", pipe.execute(raise_on_error=False))
        if not isinstance(ttl_ms, int) or ttl_ms <= 0:
            return None
        snapshot = await anyio.to_thread.run_sync(decode, blob, self.memory)
        if snapshot is None or snapshot.id != snapshot_id:
            return None
        self.local.keep(snapshot, ttl=ttl_ms / 1000)
        return snapshot

    async def export(self, snapshot: Snapshot, filters: Filters) -> str:
        text = filters_text(filters)
        fresh = secrets.token_urlsafe(16)
        record = json.dumps({"snapshot": snapshot.id, "filters": text})
        keys = [self._key(snapshot.id) + ":exports", self.redis.key("review-export", fresh), self._key(snapshot.id)]
        found = await self.redis.run("name this review's export", self._export(keys, [text, fresh, record]))
        name = found.decode(errors="replace") if isinstance(found, bytes) else None
        if name is None or not EXPORT_ID.fullmatch(name):  # the snapshot ended meanwhile, or a stranger's value
            return export_uri(fresh)  # a URI that reads as "no longer kept", as the review is
        return export_uri(name)

    async def export_target(self, export_id: str) -> tuple[str, Filters] | None:
        if not EXPORT_ID.fullmatch(export_id):  # ours are 22 URL-safe characters; never handed out
            return None
        pipe = self.redis.client.pipeline(transaction=False)
        pipe.get(self.redis.key("review-export", export_id))
        (raw,) = await self.redis.run("read this export", pipe.execute(raise_on_error=False))
        return export_record(raw)
