"""Where access_review snapshots live between pages (SPEC §8, §10).

`ReviewStore` is the interface the tool and the CSV resource use, with two implementations chosen
at start-up (`Directory`): `Snapshots` below, in this process, and `redis_reviews.RedisReviews`,
shared by every replica. A store keeps each snapshot for `TTL` seconds whatever else happens, and
an export (a snapshot read through filters) under its own unguessable id for as long as its
snapshot lives. Memory for kept snapshots has a ceiling (`MEMORY`, set by
MCP_DIRECTORY_REVIEW_MEMORY_MB): a new review that would pass it fails with `rate_limited`, saying
when enough of the older ones end; an older review is never dropped early.

`fresh` reads new snapshots: at most `READS_AT_ONCE` at once in a process, and a first page asking
for providers that are already being read waits for that read and shares its snapshot. Views (the
rows that filters keep) follow from the snapshot, so they are a cache: recomputed when dropped.
"""

from __future__ import annotations

import copy
import heapq
import math
import secrets
import time
from abc import ABC, abstractmethod
from array import array
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from .errors import DirectoryError, RateLimited
from .review import EXPORT_SCHEME, SNAPSHOT_BYTES, TTL, Filters, Row, Snapshot

MEMORY = 256 * 2**20  # bytes of kept snapshots (as `review.footprint` estimates them), per process
READS_AT_ONCE = 2  # snapshots being read at once, per process
VIEWS = 32  # cached views, the least recently used goes first (4 bytes a row each)


@dataclass
class Flight:
    """A snapshot being read; calls asking for the same providers wait for it and share it."""

    done: anyio.Event = field(default_factory=anyio.Event)
    snapshot: Snapshot | None = None
    error: DirectoryError | None = None
    waiting: int = 0


class ReviewStore(ABC):
    """Snapshots by id, exports by id. Every method but `view` may go to another process, so the
    shared implementation raises `upstream_error` (naming Redis) when it cannot."""

    def __init__(self, memory: int = MEMORY, reads_at_once: int = READS_AT_ONCE) -> None:
        self.memory = memory
        self._views: OrderedDict[tuple[str, Filters], array[int]] = OrderedDict()
        self._reading = anyio.Semaphore(reads_at_once)
        self.flights: dict[tuple[str, ...], Flight] = {}

    @abstractmethod
    async def put(self, snapshot: Snapshot) -> None:
        """Keep `snapshot` for the store's TTL; `rate_limited` when that would pass the ceiling."""

    @abstractmethod
    async def get(self, snapshot_id: str) -> Snapshot | None:
        """The snapshot, or None when it was never kept or is no longer kept."""

    @abstractmethod
    async def export(self, snapshot: Snapshot, filters: Filters) -> str:
        """The URI of the CSV of this review (a kept snapshot); the same for every page of it."""

    @abstractmethod
    async def export_target(self, export_id: str) -> tuple[str, Filters] | None:
        """The snapshot id and filters an export reads, while it lives."""

    @abstractmethod
    async def admit(self) -> None:
        """Fail with `rate_limited` when no new review can be kept now (before it is read)."""

    async def fresh(
        self, providers: Sequence[str], read: Callable[[], Awaitable[Snapshot]], *, kind: str = "access", of: str = ""
    ) -> Snapshot:
        """A new snapshot of `providers`, kept. At most `READS_AT_ONCE` are read at once; a call that
        finds the same review being read (the same kind of answer, `of` the same question, over the
        same providers) waits for that read and shares its snapshot (or its error). If that read was
        cancelled, the waiters read again."""
        key = tuple(providers) if kind == "access" else (*providers, f"{kind}:{of}")
        for _ in range(1000):  # each turn waits for one read to end
            flight = self.flights.get(key)
            if flight is None:
                break
            flight.waiting += 1
            try:
                await flight.done.wait()
            finally:
                flight.waiting -= 1
            if flight.snapshot is not None:
                return flight.snapshot
            if flight.error is not None:
                raise copy.copy(flight.error)
        flight = self.flights[key] = Flight()
        try:
            async with self._reading:
                await self.admit()
                snapshot = await read()
                await self.put(snapshot)
            flight.snapshot = snapshot
            return snapshot
        except DirectoryError as exc:
            flight.error = exc
            raise
        finally:
            if self.flights.get(key) is flight:
                del self.flights[key]
            flight.done.set()

    def view(self, snapshot: Snapshot, filters: Filters) -> Sequence[int]:
        """The indices of the rows `filters` keeps (computed once per review and filters, while cached)."""
        key = (snapshot.id, filters)
        if key in self._views:
            self._views.move_to_end(key)
        else:
            self._views[key] = array("I", (i for i, row in enumerate(snapshot.rows) if filters.keep(row)))
            while len(self._views) > VIEWS:
                self._views.popitem(last=False)
        return self._views[key]

    def forget_views(self, snapshot_id: str) -> None:
        for key in [k for k in self._views if k[0] == snapshot_id]:
            del self._views[key]

    async def export_rows(self, export_id: str) -> list[Row] | None:
        """Every row of an export, or None when it is unknown or no longer kept."""
        found = await self.export_of(export_id)
        return found[1] if found else None

    async def export_of(self, export_id: str) -> tuple[str, list[Any]] | None:
        """The kind of review an export holds (Snapshot.kind) and every row of it, or None."""
        target = await self.export_target(export_id)
        snapshot = await self.get(target[0]) if target else None
        if target is None or snapshot is None:
            return None
        return snapshot.kind, [snapshot.rows[i] for i in self.view(snapshot, target[1])]


def export_uri(export_id: str) -> str:
    return f"{EXPORT_SCHEME}{export_id}.csv"


def megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def too_many(memory: int, size: int, wait: float) -> RateLimited:
    """A new review of `size` bytes does not fit in `memory` now; it will in `wait` seconds, when
    enough of the kept ones end (a review larger than `memory` never will)."""
    setting = f"{megabytes(memory)}, MCP_DIRECTORY_REVIEW_MEMORY_MB"
    if size > memory:
        return RateLimited(
            f"this review (about {megabytes(size)}) is larger than the memory set aside for reviews "
            f"({setting}); read fewer providers, or ask the operator to raise it"
        )
    seconds = max(1, math.ceil(wait))
    return RateLimited(
        f"the reviews being kept for their cursors fill the memory set aside for them ({setting}); "
        f"retry in {seconds} s, when enough of them end, or continue an existing review with its cursor",
        retry_after=seconds,
    )


@dataclass
class Kept:
    expires: float
    snapshot: Snapshot
    exports: dict[Filters, str] = field(default_factory=dict)


class Snapshots(ReviewStore):
    """Reviews kept in this process for `ttl` seconds, within `memory` bytes. With `cache` set it is
    a cache of snapshots kept elsewhere (`RedisReviews`, through `keep` and `held`): then it holds
    at most `cache` of them and drops the oldest to make room, instead of refusing."""

    def __init__(
        self,
        ttl: float = TTL,
        memory: int = MEMORY,
        clock: Callable[[], float] = time.monotonic,
        *,
        cache: int | None = None,
        reads_at_once: int = READS_AT_ONCE,
    ) -> None:
        super().__init__(memory, reads_at_once)
        self.ttl = ttl
        self.clock = clock
        self.cache = cache
        self.used = 0  # bytes of the snapshots kept, as their `size` says
        self._kept: dict[str, Kept] = {}  # in the order they were kept
        self._expiry: list[tuple[float, str]] = []  # a heap; entries of dropped snapshots are skipped
        self._exports: dict[str, tuple[str, Filters]] = {}  # export id -> snapshot id, filters

    def keep(self, snapshot: Snapshot, ttl: float | None = None) -> None:
        self._expire()
        if snapshot.id in self._kept:
            self._drop(snapshot.id)
        size = snapshot.size
        if self.cache is not None:
            if size > self.memory:
                return  # too large to cache: read from where it is kept each time
            while self._kept and (len(self._kept) >= self.cache or self.used + size > self.memory):
                self._drop(next(iter(self._kept)))
        elif self.used + size > self.memory:
            raise self.full(size)
        expires = self.clock() + (self.ttl if ttl is None else ttl)
        self._kept[snapshot.id] = Kept(expires, snapshot)
        self.used += size
        heapq.heappush(self._expiry, (expires, snapshot.id))
        if len(self._expiry) > 2 * len(self._kept) + 16:  # many dropped early (a cache): rebuild
            self._expiry = [(k.expires, i) for i, k in self._kept.items()]
            heapq.heapify(self._expiry)

    def held(self, snapshot_id: str) -> Snapshot | None:
        self._expire()
        kept = self._kept.get(snapshot_id)
        return kept.snapshot if kept else None

    def full(self, size: int) -> RateLimited:
        """The error for a new review of `size` bytes that does not fit, saying when it would."""
        now, left, wait = self.clock(), self.used, 0.0
        for kept in sorted(self._kept.values(), key=lambda k: k.expires):
            left -= kept.snapshot.size
            if left + size <= self.memory:
                wait = kept.expires - now
                break
        return too_many(self.memory, size, wait)

    async def admit(self) -> None:
        self._expire()
        if self.cache is None and self.used + SNAPSHOT_BYTES > self.memory:
            raise self.full(SNAPSHOT_BYTES)

    async def put(self, snapshot: Snapshot) -> None:
        self.keep(snapshot)

    async def get(self, snapshot_id: str) -> Snapshot | None:
        return self.held(snapshot_id)

    async def export(self, snapshot: Snapshot, filters: Filters) -> str:
        self._expire()
        kept = self._kept.get(snapshot.id)
        if kept is None:  # the snapshot ended between its read and now
            return export_uri(secrets.token_urlsafe(16))  # a URI that reads as "no longer kept", as the review is
        if filters not in kept.exports:
            kept.exports[filters] = export_id = secrets.token_urlsafe(16)
            self._exports[export_id] = (snapshot.id, filters)
        return export_uri(kept.exports[filters])

    async def export_target(self, export_id: str) -> tuple[str, Filters] | None:
        self._expire()
        return self._exports.get(export_id)

    def _drop(self, snapshot_id: str) -> None:
        kept = self._kept.pop(snapshot_id)
        self.used -= kept.snapshot.size
        for export_id in kept.exports.values():
            del self._exports[export_id]
        self.forget_views(snapshot_id)

    def _expire(self) -> None:
        now = self.clock()
        while self._expiry and self._expiry[0][0] <= now:
            expires, snapshot_id = heapq.heappop(self._expiry)
            kept = self._kept.get(snapshot_id)
            if kept is not None and kept.expires == expires:
                self._drop(snapshot_id)
