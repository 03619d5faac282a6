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
