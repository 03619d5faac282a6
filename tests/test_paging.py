"""The paging loop and cursors, over fetch functions with known contents (no I/O)."""

from dataclasses import dataclass, field

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_directory.errors import InvalidArgument, UpstreamError
from mcp_directory.paging import Chunk, CursorCodec, Listing, PageCache, Position, every, filtered, take
from mcp_directory.spec import Offset, PageNumber, Step


@dataclass(frozen=True)
class Counted(Listing):
    calls: list = field(default_factory=list)  # the (page number, size) of every fetch


def numbered(total: int, size: int, *, ahead: bool = False, delays: tuple[float, ...] = (0,)):
    """A page-number upstream of `total` items, `size` per page by default, like Rootly's:
    Rootly's own paginator over it, so a page can be asked for in other sizes. With `ahead`,
    it announces every later page (as Rootly does once total_pages is known) and answers each
    page after its own delay, so concurrent answers arrive out of order."""
    paginator = PageNumber(
        "n", "s", next_page=lambda d: d["next"], page_count=lambda d: d["pages"] if ahead else None, max_size=size
    )
    calls = []

    async def fetch(state):
        number, per_page = state
        calls.append((number, per_page))
        if delays != (0,):
            await anyio.sleep(delays[number % len(delays)])
        items = list(range((number - 1) * per_page, min(number * per_page, total)))
        document = {"next": number + 1 if number * per_page < total else None, "pages": -(-total // per_page)}
        return Chunk(items, paginator.follow(state, document, len(items)))

    return Counted(fetch, paginator, size, calls=calls)


async def walk(listing, limit, codec=None):
    codec = codec or CursorCodec("k")
    scope = {"tool": "t", "provider": "p", "filters": {}}
    pages, cursor = [], None
    while True:
        start = codec.decode(cursor, scope) if cursor else None
        served = await take("p", listing, start, limit)
        pages.append(served.items)
        if served.next is None:
            return pages
        cursor = codec.encode(scope, served.next)


@pytest.mark.anyio
@settings(max_examples=60, deadline=None)
@given(total=st.integers(0, 120), size=st.integers(1, 30), limit=st.integers(1, 70))
async def test_every_item_once_in_order_whatever_the_sizes(total, size, limit):
    pages = await walk(numbered(total, size), limit)
    assert [i for page in pages for i in page] == list(range(total))
    assert all(len(p) == limit for p in pages[:-1])  # only the last page may be short


@pytest.mark.anyio
async def test_limit_above_upstream_page_size_spans_pages():
    listing = numbered(45, 10)
    served = await take("p", listing, None, 25)
    assert served.items == list(range(25))
    assert served.next == Position([3, 10], 5)
    assert listing.calls == [(1, 10), (2, 10), (3, 10)]


@pytest.mark.anyio
async def test_a_first_page_asks_only_for_what_it_returns_and_a_walk_reads_full_pages():
    listing = numbered(45, 10)
    first = await take("p", listing, None, 3)
    assert first.items == [0, 1, 2] and listing.calls == [(1, 3)]  # three records asked for, not ten
    second = await take("p", listing, first.next, 4)
    assert second.items == [3, 4, 5, 6]
    assert listing.calls[1:] == [(1, 10)]  # the walk re-reads from the same position in full pages
    third = await take("p", listing, second.next, 4)
    assert third.items == [7, 8, 9, 10] and listing.calls[2:] == [(1, 10), (2, 10)]


@pytest.mark.anyio
async def test_chunks_map_only_the_records_they_serve():
    mapped = []

    async def fetch(state):
        def record_to_item(record):
            mapped.append(record)
            return record * 10

        return Chunk(list(range(100)), Step(None, 100), record_to_item)

    served = await take("p", Listing(fetch), None, 5)
    assert served.items == [0, 10, 20, 30, 40] and mapped == [0, 1, 2, 3, 4]


@pytest.mark.anyio
async def test_loop_is_detected():
    async def fetch(state):
        return Chunk([1, 2], Step(1))  # "next" is always page 1

    with pytest.raises(UpstreamError, match="loop"):
        await take("p", Listing(fetch), None, 10)
    with pytest.raises(UpstreamError, match="loop"):
        [x async for x in every("p", Listing(fetch))]


@pytest.mark.anyio
async def test_empty_upstream_pages_are_skipped_not_ended():
    async def fetch(state):
        n = state or 0
        return Chunk([] if n % 2 == 0 else [n], Step(n + 1 if n < 6 else None))

    served = await take("p", Listing(fetch), None, 10)
    assert served.items == [1, 3, 5] and served.next is None


def test_cursor_tamper_and_scope():
    codec = CursorCodec("secret")
    scope = {"tool": "list_users", "provider": "rootly", "filters": {"search": None}}
    cursor = codec.encode(scope, Position(3, 4))
    assert codec.decode(cursor, scope) == Position(3, 4)
    flipped = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    for bad in (flipped, cursor[:-1], "", "not a cursor", cursor + "x"):
        with pytest.raises(InvalidArgument, match="cursor"):
            codec.decode(bad, scope)
    with pytest.raises(InvalidArgument, match="another tool"):
        codec.decode(cursor, {**scope, "provider": "retool"})
    with pytest.raises(InvalidArgument):
        CursorCodec("other-secret").decode(cursor, scope)


async def walk_with(listing, limit, concurrency):
    cache = PageCache()  # shared across the calls of one traversal, as a Directory's is
    codec = CursorCodec("k")
    scope = {"tool": "t", "provider": "p", "filters": {}}
    pages, cursor = [], None
    while True:
        start = codec.decode(cursor, scope) if cursor else None
        served = await take("p", listing, start, limit, concurrency=concurrency, cache=cache, scope="p:t")
        pages.append(served.items)
        if served.next is None:
            return pages
        cursor = codec.encode(scope, served.next)


@pytest.mark.anyio
@settings(max_examples=40, deadline=None)
@given(
    total=st.integers(0, 150),
    size=st.integers(1, 25),
    limit=st.integers(1, 200),
    concurrency=st.integers(2, 6),
    delays=st.lists(st.sampled_from([0, 0.001, 0.002]), min_size=1, max_size=4),
)
async def test_concurrent_paging_equals_one_by_one(total, size, limit, concurrency, delays):
    sequential_fetch = numbered(total, size, ahead=True, delays=tuple(delays))
    one_by_one = await walk_with(sequential_fetch, limit, 1)
    concurrent_fetch = numbered(total, size, ahead=True, delays=tuple(delays))
    concurrent = await walk_with(concurrent_fetch, limit, concurrency)
    assert concurrent == one_by_one
    assert [i for page in concurrent for i in page] == list(range(total))
    # the same pages, and each fetched once: read-ahead lands in the cache the next call uses
    assert sorted(set(concurrent_fetch.calls)) == sorted(set(sequential_fetch.calls))
    assert len(concurrent_fetch.calls) == len(set(concurrent_fetch.calls))


@pytest.mark.anyio
async def test_prefetch_reads_one_round_ahead_during_a_walk_only():
    first_call = numbered(1000, 10, ahead=True)
    served = await take("p", first_call, None, 35, concurrency=4)
    assert served.items == list(range(35))
    assert sorted(first_call.calls) == [(1, 10), (2, 10), (3, 10), (4, 10)]  # what it serves, at once
    walking = numbered(1000, 10, ahead=True)
    served = await take("p", walking, Position([1, 10], 0), 35, concurrency=4)
    assert served.items == list(range(35))
    assert sorted(walking.calls) == [(n, 10) for n in range(1, 6)]  # page 1, then one round of four


@pytest.mark.anyio
async def test_progress_is_reported_per_page():
    seen = []

    async def progress(done, total):
        seen.append((done, total))

    await take("p", numbered(100, 10), None, 35, progress=progress)
    assert seen == [(10, 35), (20, 35), (30, 35), (35, 35)]


def offsets(total: int, size: int) -> Listing:
    """An offset-paged upstream of `total` items, like Opsgenie's."""
    paginator = Offset("offset", "limit", next_offset=lambda d: d["next"], total=lambda d: total, max_size=size)

    async def fetch(state):
        offset, per_page = state
        items = list(range(offset, min(offset + per_page, total)))
        return Chunk(
            items, paginator.follow(state, {"next": offset + per_page if offset + per_page < total else None}, 0)
        )

    return Listing(fetch, paginator, size)


@pytest.mark.anyio
@pytest.mark.parametrize("upstream", [numbered, offsets])
@pytest.mark.parametrize("limit", [1, 2, 3, 7])
async def test_a_filtered_list_resumes_where_it_was(upstream, limit):
    """Its positions count kept items: resuming by record arithmetic would skip or repeat some."""
    listing = filtered(upstream(60, 10), lambda n: n % 3 == 0)
    pages = await walk(listing, limit)
    assert [i for page in pages for i in page] == list(range(0, 60, 3))
    assert all(len(p) == limit for p in pages[:-1])
