"""The cycle collector pauses while whole-directory reads run, and comes back after the last."""

from __future__ import annotations

import gc

import anyio
import pytest

from mcp_directory import collector


@pytest.fixture(autouse=True)
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_for_the_block_then_on_again_even_after_an_error():
    with pytest.raises(RuntimeError), collector.paused():
        assert not gc.isenabled()
        raise RuntimeError("a failed read")
    assert gc.isenabled()


def test_overlapping_reads_share_one_pause_and_the_last_one_ends_it():
    outer = collector.paused()
    outer.__enter__()
    with collector.paused():
        assert not gc.isenabled()
    assert not gc.isenabled()  # the first read is still under way
    outer.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    with collector.paused():
        pass
    assert not gc.isenabled()


@pytest.mark.anyio
async def test_concurrent_tasks_in_and_out_of_order():
    seen: list[bool] = []

    async def read(seconds: float) -> None:
        with collector.paused():
            await anyio.sleep(seconds)
            seen.append(gc.isenabled())

    async with anyio.create_task_group() as tg:
        tg.start_soon(read, 0.05)
        tg.start_soon(read, 0.01)
    assert seen == [False, False] and gc.isenabled()


@pytest.mark.anyio
async def test_a_review_reads_with_the_collector_paused():
    from mcp_directory.review import read_snapshot
    from mcp_directory.sim import build_world

    from .support import sim_directory

    directory, apps = sim_directory(build_world(seed=3, people=20))
    during: list[bool] = []

    async def note(request: object) -> None:
        during.append(gc.isenabled())

    for app in apps.values():
        app.state.gate.hooks.append(note)
    snapshot = await read_snapshot(directory, ["rootly", "opsgenie", "retool"])
    await directory.aclose()
    assert snapshot.rows and during and not any(during)
    assert gc.isenabled()


def test_reads_that_overlap_without_end_still_collect(monkeypatch):
    collections: list[int] = []
    monkeypatch.setattr(collector, "LONGEST_PAUSE_S", 0.0)
    monkeypatch.setattr(collector.gc, "collect", lambda generation=2: collections.append(generation) or 0)
    first = collector.paused()
    first.__enter__()
    with collector.paused():
        pass  # ends while the first read goes on, after the (zero-second) longest pause
    assert collections == [2] and not gc.isenabled()
    first.__exit__(None, None, None)
    assert collections == [2, 1] and gc.isenabled()
