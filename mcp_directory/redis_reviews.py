"""access_review snapshots in Redis (SPEC §10), so any replica continues any review and serves any
export.

A snapshot is stored once, as zlib-compressed compact JSON, under its id with the review's TTL;
Redis drops it when the review ends. An export is a small record (snapshot id and filters) under its
own unguessable id, created by a script that also indexes it by snapshot and filters, so that two
replicas serving pages of one review hand out the same URI, and that expires with its snapshot.
Snapshots do not change, so each replica keeps the last few it decoded (until their Redis expiry)
and a review's next page costs one lookup, not a download.
"""

from __future__ import annotations

import contextlib
import gc
import json
import secrets
import zlib
from collections.abc import Iterator
from typing import Any

import anyio
import pydantic_core

from .redis_client import SharedRedis
from .review import KINDS, TTL, Account, Filters, Row, Snapshot
from .review_store import ReviewStore, Snapshots, export_uri

FORMAT = "mcp-directory review v1"  # another format (a newer replica's) reads as "no longer kept"
CACHED = 2  # decoded snapshots kept per replica
LEVEL = 6  # zlib: a 100,000-account review compresses about tenfold

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


def encode(snapshot: Snapshot) -> bytes:
    document = [FORMAT, snapshot.id, snapshot.as_of, snapshot.providers, snapshot.rows, snapshot.left_out]
    if snapshot.kind != "access":
        document.append(snapshot.kind)  # another answer's rows (review.KINDS)
    return zlib.compress(pydantic_core.to_json(document), LEVEL)


def decode(blob: bytes) -> Snapshot | None:
    with paused_gc():
        try:
            document = pydantic_core.from_json(zlib.decompress(blob))
        except (zlib.error, ValueError):
            return None
        if not isinstance(document, list) or len(document) not in (6, 7) or document[0] != FORMAT:
            return None
        _, snapshot_id, as_of, providers, rows, left_out, *kinds = document
        kind = kinds[0] if kinds else "access"
        if kind != "access" and kind not in KINDS:
            return None
        row = _row if kind == "access" else KINDS[kind].decode
        try:
            return Snapshot(snapshot_id, as_of, providers, [row(r) for r in rows], left_out, kind)
        except (ValueError, TypeError):  # not what a replica wrote: no longer kept
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


def _row(raw: list[Any]) -> Row:
    email, name, accounts = raw
    return (email, name, tuple(_account(a) for a in accounts))


def _account(raw: list[Any]) -> Account:
    provider, user_id, status, is_admin, last_active_at, groups = raw
    return (provider, user_id, status, is_admin, last_active_at, tuple((g[0], g[1]) for g in groups))


def filters_text(filters: Filters) -> str:
    return json.dumps(filters.key(), sort_keys=True, separators=(",", ":"))


def filters_of(text: str) -> Filters:
    fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(text).items()}
    return Filters(**fields)


class RedisReviews(ReviewStore):
    def __init__(self, redis: SharedRedis, ttl: float = TTL) -> None:
        super().__init__()
        self.redis = redis
        self.ttl = ttl
        self.local = Snapshots(ttl, max_snapshots=CACHED)
        self._export = redis.script(EXPORT)

    def _key(self, snapshot_id: str) -> str:
        return self.redis.key("review", snapshot_id)

    async def put(self, snapshot: Snapshot) -> None:
        blob = await anyio.to_thread.run_sync(encode, snapshot)  # a large review: off the event loop
        command = self.redis.client.set(self._key(snapshot.id), blob, px=int(self.ttl * 1000))
        await self.redis.run("keep this review for its next pages and its export", command)
        self.local.keep(snapshot)

    async def get(self, snapshot_id: str) -> Snapshot | None:
        held = self.local.held(snapshot_id)
        if held is not None:
            return held
        pipe = self.redis.client.pipeline(transaction=False)
        pipe.get(self._key(snapshot_id))
        pipe.pttl(self._key(snapshot_id))
        blob, ttl_ms = await self.redis.run("read this review", pipe.execute())
        if blob is None or ttl_ms <= 0:
            return None
        snapshot = await anyio.to_thread.run_sync(decode, blob)
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
        if found is None:  # the snapshot expired between its read and now
            return export_uri(fresh)  # a URI that reads as "no longer kept", as the review is
        return export_uri(found.decode() if isinstance(found, bytes) else str(found))

    async def export_target(self, export_id: str) -> tuple[str, Filters] | None:
        if len(export_id) > 64:  # ours are 22 characters; a longer one was never handed out
            return None
        raw = await self.redis.run(
            "read this export", self.redis.client.get(self.redis.key("review-export", export_id))
        )
        if raw is None:
            return None
        record = json.loads(raw)
        return record["snapshot"], filters_of(record["filters"])
