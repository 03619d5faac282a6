"""`whole_list.every_lean`: a whole list read once, its announced pages fetched back to back
(`concurrency` at a time, each page mapped in order as soon as it is at hand), over fetch
functions with known contents (no I/O)."""

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_directory.errors import UpstreamError
from mcp_directory.paging import Chunk, Listing
from mcp_directory.spec import PageNumber
from mcp_directory.whole_list import every_lean

from .test_paging import numbered

pytestmark = pytest.mark.anyio


@settings(max_examples=40, deadline=None)
@given(
    total=st.integers(0, 90),
    size=st.integers(1, 12),
    concurrency=st.integers(1, 5),
    delays=st.sampled_from([(0,), (0.003, 0, 0.001), (0, 0.002)]),
    max_items=st.integers(1, 100),
)
async def test_every_item_once_in_order_whatever_the_pages_and_arrivals(total, size, concurrency, delays, max_items):
    listing = numbered(total, size, ahead=True, delays=delays)
    items = await every_lean("p", listing, lambda i: i, max_items=max_items, concurrency=concurrency)
    assert items == list(range(min(total, max_items)))
    numbers = [n for n, _ in listing.calls]
    assert len(numbers) == len(set(numbers))  # no page twice
    if max_items >= total:
        assert len(numbers) == max(1, -(-total // size))  # every page, and no page past the end


async def test_at_most_concurrency_requests_at_once_and_the_lean_mapping_used():
    in_flight = most = 0
    paginator = PageNumber("n", "s", next_page=lambda d: d["next"], page_count=lambda d: d["pages"], max_size=10)

    async def fetch(state):
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await anyio.sleep(0.001 * (state[0] % 3))
        in_flight -= 1
        number = state[0]
        document = {"next": number + 1 if number < 30 else None, "pages": 30}
        items = list(range((number - 1) * 10, number * 10))
        return Chunk(items, paginator.follow(state, document, 10), map=lambda r: -1, lean=lambda r: r * 2)

    items = await every_lean("p", Listing(fetch, paginator, 10), lambda i: i, max_items=10_000, concurrency=4)
    assert items == [i * 2 for i in range(300)]
    assert 2 <= most <= 4


async def test_a_list_shorter_than_announced_ends_where_its_pages_say():
    """The first page announced ten pages; the third says it is the last: nothing after it is
    taken, and the requests still on their way are cancelled, not awaited."""
    paginator = PageNumber("n", "s", next_page=lambda d: d["next"], page_count=lambda d: d["pages"], max_size=5)

    async def fetch(state):
        number = state[0]
        if number > 3:
            await anyio.sleep(30)  # would hold the read for good if it were awaited
        document = {"next": number + 1 if number < 3 else None, "pages": 10}
        return Chunk(list(range((number - 1) * 5, number * 5)), paginator.follow(state, document, 5))

    with anyio.fail_after(5):
        items = await every_lean("p", Listing(fetch, paginator, 5), lambda i: i, concurrency=3)
    assert items == list(range(15))


async def test_a_failing_page_fails_the_read_as_itself():
    paginator = PageNumber("n", "s", next_page=lambda d: d["next"], page_count=lambda d: d["pages"], max_size=5)

    async def fetch(state):
        if state[0] == 4:
            raise UpstreamError("page 4 failed", provider="p")
        document = {"next": state[0] + 1 if state[0] < 8 else None, "pages": 8}
        return Chunk([state[0]] * 5, paginator.follow(state, document, 5))

    with pytest.raises(UpstreamError, match="page 4 failed"):
        await every_lean("p", Listing(fetch, paginator, 5), lambda i: i, concurrency=3)


async def test_a_pagination_loop_is_an_upstream_error():
    paginator = PageNumber("n", "s", next_page=lambda d: d["next"], page_count=lambda d: None, max_size=5)

    async def fetch(state):
        return Chunk([1], paginator.follow(state, {"next": 1 if state[0] == 2 else 2}, 1))

    with pytest.raises(UpstreamError, match="loop"):
        await every_lean("p", Listing(fetch, paginator, 5), lambda i: i, concurrency=3)
