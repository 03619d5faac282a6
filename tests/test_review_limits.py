"""access_review's limits (SPEC §8), through a real MCP client against the simulated providers: a
review lives its whole time however many others are made, a memory ceiling refuses a new review
(`rate_limited`, saying when) rather than drop an old one, identical first pages in flight share one
read, at most two snapshots are read at once, and the CSV's groups cell splits safely."""

from __future__ import annotations

import csv
import io
import re

import anyio
import pytest
from mcp import Client
from starlette.responses import JSONResponse

from mcp_directory.config import Settings
from mcp_directory.directory import Directory
from mcp_directory.errors import Forbidden
from mcp_directory.review import Snapshot, csv_text
from mcp_directory.review_store import READS_AT_ONCE, Snapshots
from mcp_directory.server import build_server
from mcp_directory.sim import build_world

from .support import fails, ok, sim_directory
from .test_review import unthrottled

pytestmark = pytest.mark.anyio

PROVIDERS = ("rootly", "opsgenie", "retool")


@pytest.fixture
def world():
    return build_world(seed=3, people=40)


class Upstream:
    """A hook on each simulator: counts the requests that reach it, notes which providers have been
    asked, and holds every request while `open` is not set."""

    def __init__(self, apps: dict) -> None:
        self.count = 0
        self.seen: set[str] = set()
        self.open = anyio.Event()
        self.open.set()
        for name, app in apps.items():
            app.state.gate.hooks.append(self.hook(name))

    def hook(self, name: str):
        async def hook(request):
            self.count += 1
            self.seen.add(name)
            await self.open.wait()

        return hook

    def close(self) -> None:
        self.open = anyio.Event()


async def until(condition, what: str) -> None:
    for _ in range(1000):  # up to 10 s
        if condition():
            return
        await anyio.sleep(0.01)
    raise AssertionError(f"never: {what}")


async def test_a_review_outlives_any_number_of_later_reviews(world):
    directory, _ = sim_directory(world)
    unthrottled(directory)
    async with Client(build_server(directory)) as client:
        first = await ok(client, "access_review", {"limit": 5})
        for _ in range(12):  # more than the 8 a process used to keep
            await ok(client, "access_review", {"limit": 1, "providers": ["retool"]})
        second = await ok(client, "access_review", {"limit": 5, "cursor": first["next_cursor"]})
        assert second["as_of"] == first["as_of"] and second["total"] == first["total"]
        csv_lines = (await client.read_resource(first["export"])).contents[0].text.splitlines()
        assert len(csv_lines) > first["total"]  # a header and one line per account


async def test_a_new_review_past_the_memory_ceiling_is_rate_limited_and_the_old_one_lives(world):
    directory, _ = sim_directory(world)
    now = [1000.0]
    directory.reviews.clock = lambda: now[0]
    async with Client(build_server(directory)) as client:
        first = await ok(client, "access_review", {"limit": 5})
        size = directory.reviews.used
        directory.reviews.memory = size + size // 2  # room for one review of this size, not two
        now[0] += 60
        err = await fails(client, "access_review", {"limit": 5}, "rate_limited")
        assert err["retry_after"] == 15 * 60 - 60  # when the first review ends
        assert "MCP_DIRECTORY_REVIEW_MEMORY_MB" in err["message"] and "cursor" in err["message"]
        more = await ok(client, "access_review", {"limit": 5, "cursor": first["next_cursor"]})  # still kept
        assert more["as_of"] == first["as_of"]
        assert (await client.read_resource(first["export"])).contents[0].text
        now[0] += err["retry_after"]
        again = await ok(client, "access_review", {"limit": 5})  # the first ended: room again
        assert again["total"] == first["total"]
        directory.reviews.memory = size // 2  # smaller than one review: retrying would not help
        now[0] += 15 * 60
        err = await fails(client, "access_review", {"limit": 5}, "rate_limited")
        assert err["retry_after"] is None and "larger than" in err["message"]


def test_the_memory_ceiling_is_a_setting():
    assert Settings.from_env({}).review_memory == 256 * 2**20
    assert Settings.from_env({"MCP_DIRECTORY_REVIEW_MEMORY_MB": "64"}).review_memory == 64 * 2**20
    for bad in ("0", "-5", "1.5", "lots", "9" * 30):
        with pytest.raises(ValueError, match="MCP_DIRECTORY_REVIEW_MEMORY_MB"):
            Settings.from_env({"MCP_DIRECTORY_REVIEW_MEMORY_MB": bad})
    assert Directory(Settings(providers={}, review_memory=5 * 2**20)).reviews.memory == 5 * 2**20
    shared = Settings(providers={}, review_memory=7 * 2**20, redis_url="redis://127.0.0.1:1/0")
    assert Directory(shared).reviews.memory == 7 * 2**20  # replicas: the ceiling they share


async def test_identical_first_pages_in_flight_share_one_read(world):
    directory, apps = sim_directory(world)
    upstream = Upstream(apps)
    async with Client(build_server(directory)) as client:
        await ok(client, "access_review", {"limit": 5})
        one_review = upstream.count
        upstream.count = 0
        upstream.close()
        pages: list[dict] = []

        async def first_page(args: dict) -> None:
            pages.append(await ok(client, "access_review", {"limit": 5, **args}))

        callers = [{}] * 7 + [{"admins_only": True}]  # filters differ; the providers read do not
        async with anyio.create_task_group() as tg:
            for args in callers:
                tg.start_soon(first_page, args)
            flights = directory.reviews.flights
            await until(lambda: PROVIDERS in flights and flights[PROVIDERS].waiting == len(callers) - 1, "all wait")
            upstream.open.set()
        assert upstream.count == one_review
        assert len({page["as_of"] for page in pages}) == 1
        assert len({page["export"] for page in pages}) == 2  # one snapshot, two sets of filters
        assert not directory.reviews.flights


async def test_a_shared_read_that_fails_fails_every_caller_and_the_next_reads_again(world):
    directory, apps = sim_directory(world)
    upstream = Upstream(apps)
    upstream.close()

    async def broken(request):
        return JSONResponse({"message": "down", "took": 0, "requestId": "x"}, status_code=403)

    async with Client(build_server(directory)) as client:
        errors: list[dict] = []

        async def first_page() -> None:
            errors.append(await fails(client, "access_review", {"limit": 5}, "forbidden"))

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(first_page)
            flights = directory.reviews.flights
            await until(lambda: PROVIDERS in flights and flights[PROVIDERS].waiting == 3, "all wait")
            apps["opsgenie"].state.gate.hooks.insert(0, broken)
            upstream.open.set()
        assert [e["provider"] for e in errors] == ["opsgenie"] * 4
        apps["opsgenie"].state.gate.hooks.remove(broken)
        assert (await ok(client, "access_review", {"limit": 5}))["total"] > 0


async def test_at_most_two_snapshots_are_read_at_once(world):
    directory, apps = sim_directory(world)
    upstream = Upstream(apps)
    upstream.close()
    assert READS_AT_ONCE == 2
    async with Client(build_server(directory)) as client:
        done: list[str] = []

        async def review(provider: str) -> None:
            await ok(client, "access_review", {"limit": 5, "providers": [provider]})
            done.append(provider)

        async with anyio.create_task_group() as tg:
            for provider in PROVIDERS:  # three different reviews
                tg.start_soon(review, provider)
            await until(lambda: len(upstream.seen) == 2, "two reads start")
            await anyio.sleep(0.3)  # the third has had every chance to start
            assert len(upstream.seen) == 2 and not done
            upstream.open.set()
        assert sorted(done) == sorted(PROVIDERS) and upstream.seen == set(PROVIDERS)


async def test_a_cancelled_read_leaves_its_waiters_to_read_again():
    store = Snapshots()
    release = anyio.Event()
    reads: list[str] = []

    async def read(who: str) -> Snapshot:
        reads.append(who)
        if who == "leader":
            await anyio.sleep_forever()
        await release.wait()
        return Snapshot(who, "2026-07-01T00:00:00Z", ["rootly"], [])

    got: list[Snapshot] = []
    leader = anyio.CancelScope()

    async def lead() -> None:
        with leader:
            await store.fresh(["rootly"], lambda: read("leader"))

    async def wait(name: str) -> None:
        got.append(await store.fresh(["rootly"], lambda: read(name)))

    async with anyio.create_task_group() as tg:
        tg.start_soon(lead)
        await until(lambda: reads == ["leader"], "the leader reads")
        tg.start_soon(wait, "one")
        tg.start_soon(wait, "two")
        await until(lambda: store.flights[("rootly",)].waiting == 2, "both wait")
        leader.cancel()
        await until(lambda: len(reads) == 2, "a waiter reads again")
        release.set()
    assert len(reads) == 2 and len({s.id for s in got}) == 1  # one of the waiters read, for both


async def test_an_error_is_not_shared_as_one_object():
    store = Snapshots()
    gate = anyio.Event()

    async def read() -> Snapshot:
        await gate.wait()
        raise Forbidden("no", provider="rootly")

    caught: list[BaseException] = []

    async def first_page() -> None:
        try:
            await store.fresh(["rootly"], read)
        except Forbidden as exc:
            caught.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(first_page)
        await until(lambda: ("rootly",) in store.flights and store.flights[("rootly",)].waiting == 2, "wait")
        gate.set()
    assert len(caught) == 3 and len({id(e) for e in caught}) == 3
    assert {(e.code, e.provider, str(e)) for e in caught} == {("forbidden", "rootly", "no")}


# --- the CSV's groups cell ------------------------------------------------------------------------

NAMES = ['=HYPERLINK("x")', "ops;oncall", "back\\slash", "@sum", "+1", "-2", "\tTab", "\rcr", "plain", "a\\;b", ""]


def split_groups(cell: str) -> list[str]:
    """What an auditor's script does: split on `;` not escaped, then undo `\\;` and `\\\\`."""
    parts = re.split(r"(?<!\\)((?:\\\\)*);", cell)
    names, buffer = [], ""
    for i, part in enumerate(parts):
        if i % 2:
            buffer += part
            names.append(buffer)
            buffer = ""
        else:
            buffer += part
    names.append(buffer)
    return [re.sub(r"\\(.)", r"\1", name) for name in names]


def test_each_group_name_in_the_csv_is_neutralized_and_escaped():
    groups = tuple((str(i), name) for i, name in enumerate(NAMES))
    text = csv_text([("a@x.io", "A", (("rootly", "1", "active", True, None, groups),))])
    (_, line) = list(csv.reader(io.StringIO(text)))
    cell = line[7]
    split = split_groups(cell)
    assert len(split) == len(NAMES)
    for name, got in zip(NAMES, split, strict=True):
        assert not got[:1] or got[:1] not in "=+-@\t\r"  # no part is a live formula
        assert got == ("'" + name if name[:1] in ("=", "+", "-", "@", "\t", "\r") else name)
    assert cell.startswith("'=HYPERLINK")
    assert "ops\\;oncall" in cell and "back\\\\slash" in cell and "a\\\\\\;b" in cell


async def test_the_export_splits_safely(world):
    team = next(iter(world.opsgenie.teams.values()))
    team["name"] = "-cmd|' /C calc'!A0;x\\y"
    directory, _ = sim_directory(world)
    async with Client(build_server(directory)) as client:
        page = await ok(client, "access_review", {"limit": 1, "providers": ["opsgenie"]})
        text = (await client.read_resource(page["export"])).contents[0].text
    cells = [line[7] for line in csv.reader(io.StringIO(text)) if "-cmd" in line[7]]
    assert cells and all("'-cmd|' /C calc'!A0\\;x\\\\y" in cell for cell in cells)
    assert all("'-cmd|' /C calc'!A0;x\\y" in split_groups(cell) for cell in cells)
