"""The paging loop and cursors, over fetch functions with known contents (no I/O)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_directory.cursor import CursorCodec, Position
from mcp_directory.errors import InvalidArgument, UpstreamError
from mcp_directory.paging import Chunk, every, take


def numbered(total: int, size: int):
    """A page-number upstream of `total` items, `size` per page, like Rootly's."""
    calls = []

    async def fetch(state):
        number = state or 1
        calls.append(number)
        items = list(range((number - 1) * size, min(number * size, total)))
        return Chunk(items, number + 1 if number * size < total else None, total)

    fetch.calls = calls
    return fetch


async def walk(fetch, limit, codec=None):
    codec = codec or CursorCodec("k")
    scope = {"tool": "t", "provider": "p", "filters": {}}
    pages, cursor = [], None
    while True:
        start = codec.decode(cursor, scope) if cursor else Position()
        served = await take("p", fetch, start, limit)
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
    fetch = numbered(45, 10)
    served = await take("p", fetch, Position(), 25)
    assert served.items == list(range(25))
    assert served.next == Position(3, 5)
    assert fetch.calls == [1, 2, 3]


@pytest.mark.anyio
async def test_loop_is_detected():
    async def fetch(state):
        return Chunk([1, 2], 1, None)  # "next" is always page 1

    with pytest.raises(UpstreamError, match="loop"):
        await take("p", fetch, Position(), 10)
    with pytest.raises(UpstreamError, match="loop"):
        [x async for x in every("p", fetch)]


@pytest.mark.anyio
async def test_empty_upstream_pages_are_skipped_not_ended():
    async def fetch(state):
        n = state or 0
        return Chunk([] if n % 2 == 0 else [n], n + 1 if n < 6 else None, None)

    served = await take("p", fetch, Position(), 10)
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


def numbered_ahead(total: int, size: int, delays: list[float]):
    """Like `numbered`, but announces every later page (as Rootly does once total_pages is
    known) and answers each page after its own delay, so concurrent answers arrive out of order."""
    import anyio

    calls = []

    async def fetch(state):
        number = state or 1
        calls.append(number)
        await anyio.sleep(delays[number % len(delays)])
        items = list(range((number - 1) * size, min(number * size, total)))
        pages = -(-total // size)
        more = number * size < total
        return Chunk(items, number + 1 if more else None, total, list(range(number + 1, pages + 1)) if more else None)

    fetch.calls = calls
    return fetch


async def walk_with(fetch, limit, concurrency):
    from mcp_directory.paging import PageCache

    cache = PageCache()  # shared across the calls of one traversal, as a Directory's is
    codec = CursorCodec("k")
    scope = {"tool": "t", "provider": "p", "filters": {}}
    pages, cursor = [], None
    while True:
        start = codec.decode(cursor, scope) if cursor else Position()
        served = await take("p", fetch, start, limit, concurrency=concurrency, cache=cache, scope="p:t")
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
    sequential_fetch = numbered_ahead(total, size, delays)
    one_by_one = await walk_with(sequential_fetch, limit, 1)
    concurrent_fetch = numbered_ahead(total, size, delays)
    concurrent = await walk_with(concurrent_fetch, limit, concurrency)
    assert concurrent == one_by_one
    assert [i for page in concurrent for i in page] == list(range(total))
    # the same pages, and each fetched once: read-ahead lands in the cache the next call uses
    assert sorted(set(concurrent_fetch.calls)) == sorted(set(sequential_fetch.calls))
    assert len(concurrent_fetch.calls) == len(set(concurrent_fetch.calls))


@pytest.mark.anyio
async def test_prefetch_reads_one_round_ahead():
    fetch = numbered_ahead(1000, 10, [0])
    served = await take("p", fetch, Position(), 35, concurrency=4)
    assert served.items == list(range(35))
    assert sorted(fetch.calls) == [1, 2, 3, 4, 5]  # page 1, then one round of four


@pytest.mark.anyio
async def test_progress_is_reported_per_page():
    seen = []

    async def progress(done, total):
        seen.append((done, total))

    await take("p", numbered(100, 10), Position(), 35, progress=progress)
    assert seen == [(10, 35), (20, 35), (30, 35), (35, 35)]
