"""Where access_review snapshots live between pages (SPEC §8, §10).

`ReviewStore` is the interface the tool and the CSV resource use, with two implementations chosen
at start-up (`Directory`): `Snapshots` below, in this process, and `redis_reviews.RedisReviews`,
shared by every replica. A store keeps each snapshot for `TTL` seconds, and an export (a snapshot
read through filters) under its own unguessable id for as long as its snapshot lives. Views (the
rows that filters keep) are computed where they are needed and cached in the process: they follow
from the snapshot.
"""

from __future__ import annotations

import secrets
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Any

from .review import EXPORT_SCHEME, MAX_SNAPSHOTS, TTL, Filters, Row, Snapshot


class ReviewStore(ABC):
    """Snapshots by id, exports by id. Every method but `view` may go to another process, so the
    shared implementation raises `upstream_error` (naming Redis) when it cannot."""

    def __init__(self, max_views: int = 4 * MAX_SNAPSHOTS) -> None:
        self._views: OrderedDict[tuple[str, Filters], list[int]] = OrderedDict()
        self._max_views = max_views

    @abstractmethod
    async def put(self, snapshot: Snapshot) -> None:
        """Keep `snapshot` for the store's TTL."""

    @abstractmethod
    async def get(self, snapshot_id: str) -> Snapshot | None:
        """The snapshot, or None when it was never kept or is no longer kept."""

    @abstractmethod
    async def export(self, snapshot: Snapshot, filters: Filters) -> str:
        """The URI of the CSV of this review (a kept snapshot); the same for every page of it."""

    @abstractmethod
    async def export_target(self, export_id: str) -> tuple[str, Filters] | None:
        """The snapshot id and filters an export reads, while it lives."""

    def view(self, snapshot: Snapshot, filters: Filters) -> list[int]:
        """The indices of the rows `filters` keeps (computed once per review and filters)."""
        key = (snapshot.id, filters)
        if key in self._views:
            self._views.move_to_end(key)
        else:
            self._views[key] = [i for i, row in enumerate(snapshot.rows) if filters.keep(row)]
            while len(self._views) > self._max_views:
                self._views.popitem(last=False)
        return self._views[key]

    def forget_views(self, keep: set[str]) -> None:
        for key in [k for k in self._views if k[0] not in keep]:
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


class Snapshots(ReviewStore):
    """Reviews kept in this process for `ttl` seconds (at most `max_snapshots`, the oldest goes
    first). `RedisReviews` uses one as its cache of decoded snapshots, through `keep` and `held`."""

    def __init__(self, ttl: float = TTL, max_snapshots: int = MAX_SNAPSHOTS, clock: Any = time.monotonic) -> None:
        super().__init__(4 * max_snapshots)
        self.ttl = ttl
        self.max_snapshots = max_snapshots
        self.clock = clock
        self._snapshots: OrderedDict[str, tuple[float, Snapshot]] = OrderedDict()
        self._exports: dict[str, tuple[float, str, Filters]] = {}

    def keep(self, snapshot: Snapshot, ttl: float | None = None) -> None:
        self._expire()
        self._snapshots[snapshot.id] = (self.clock() + (self.ttl if ttl is None else ttl), snapshot)
        self._snapshots.move_to_end(snapshot.id)
        while len(self._snapshots) > self.max_snapshots:
            self._snapshots.popitem(last=False)

    def held(self, snapshot_id: str) -> Snapshot | None:
        self._expire()
        held = self._snapshots.get(snapshot_id)
        return held[1] if held else None

    async def put(self, snapshot: Snapshot) -> None:
        self.keep(snapshot)

    async def get(self, snapshot_id: str) -> Snapshot | None:
        return self.held(snapshot_id)

    async def export(self, snapshot: Snapshot, filters: Filters) -> str:
        for export_id, (_, snapshot_id, kept) in self._exports.items():
            if snapshot_id == snapshot.id and kept == filters:
                return export_uri(export_id)
        export_id = secrets.token_urlsafe(16)
        expires = self._snapshots[snapshot.id][0] if snapshot.id in self._snapshots else self.clock() + self.ttl
        self._exports[export_id] = (expires, snapshot.id, filters)
        return export_uri(export_id)

    async def export_target(self, export_id: str) -> tuple[str, Filters] | None:
        self._expire()
        held = self._exports.get(export_id)
        return (held[1], held[2]) if held else None

    def _expire(self) -> None:
        now = self.clock()
        for key in [k for k, (expires, _) in self._snapshots.items() if expires <= now]:
            del self._snapshots[key]
        for key in [k for k, (expires, *_) in self._exports.items() if expires <= now]:
            del self._exports[key]
        self.forget_views(set(self._snapshots))
