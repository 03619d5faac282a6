"""Writes that replace a whole list upstream hold a lock named by the object's canonical id (SPEC
§10, §12, issue 16): concurrent Rootly membership changes naming one team by id and by slug, in one
process and from two replicas over one real Redis (with the simulator in a process of its own,
answering team reads late), lose no update; and the Redis lock itself: mutual exclusion between
replicas, a holder outliving its TTL, a dead holder's lock freeing itself, a holder whose lock ran
out freeing nobody else's, a bounded wait, a cancelled holder, and Redis unreachable."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx2 as httpx
import pytest
from mcp import Client

from mcp_directory.errors import Conflict, UpstreamError
from mcp_directory.locks import LocalLocks, replace_whole_list
from mcp_directory.redis_client import SharedRedis
from mcp_directory.redis_locks import RedisLocks
from mcp_directory.server import build_server
from mcp_directory.sim import build_world
from mcp_directory.sim.faults import FaultPlan
from tests.redis_support import CURSOR_SECRET, ROOT, free_port, replicas
from tests.support import call, clean_env, sim_directory

pytestmark = pytest.mark.anyio


def slow_team_reads(seconds: float) -> dict[str, Any]:
    """A team read answers `seconds` late but reads the team at once (as a slow network would), so
    a writer's read-back can come back before another writer's PUT lands after it."""
    return {"latency_s": seconds, "methods": ["GET"], "paths": r"^/v1/teams/", "latency_when": "after_handler"}


def outcome(data: dict[str, Any], is_error: bool) -> str:
    return data["error"]["code"] if is_error else "ok"


def lost_updates(outcomes: dict[tuple[str, int], str], user_ids: list[int]) -> list[tuple[str, int]]:
    """The changes reported done that the team does not show."""
    return [
        (tool, user)
        for (tool, user), result in outcomes.items()
        if result == "ok" and (user in user_ids) != (tool == "add_group_member")
    ]


# --- one process, one team named two ways ---


async def test_concurrent_changes_naming_one_rootly_team_by_id_and_by_slug_lose_nothing():
    world = build_world(seed=5, people=60)
    directory, apps = sim_directory(world, allow_writes=True)
    team = next(t for t in world.rootly.teams.values() if len(t["attributes"]["user_ids"]) >= 4)
    members = list(team["attributes"]["user_ids"])[:4]
    outsiders = [int(u) for u in world.rootly.users if int(u) not in team["attributes"]["user_ids"]][:4]
    changes = [c for pair in zip(members, outsiders, strict=True) for c in (("remove", pair[0]), ("add", pair[1]))]
    spellings = [team["id"], team["attributes"]["slug"]]  # alternately
    apps["rootly"].state.gate.faults = FaultPlan(**slow_team_reads(0.1))
    outcomes: dict[tuple[str, int], str] = {}

    async with Client(build_server(directory)) as c:

        async def change(i: int, verb: str, user: int) -> None:
            await anyio.sleep(i * 0.03)  # each starts while the one before is between its read and its write
            args: dict[str, Any] = {"provider": "rootly", "group_id": spellings[i % 2], "user_id": str(user)}
            tool = f"{verb}_group_member"
            outcomes[(tool, user)] = outcome(
                *await call(c, tool, {**args, "confirm": True} if verb == "remove" else args)
            )

        async with anyio.create_task_group() as tg:
            for i, (verb, user) in enumerate(changes):
                tg.start_soon(change, i, verb, user)

    assert not lost_updates(outcomes, world.rootly.teams[team["id"]]["attributes"]["user_ids"]), outcomes
    # No writer outside this server: the lock serializes them, so none even needs to say conflict.
    assert list(outcomes.values()) == ["ok"] * len(changes), outcomes
    puts = {r.path for r in apps["rootly"].state.requests if r.method == "PUT"}
    assert puts == {f"/v1/teams/{team['id']}"}  # written by its id, whatever the call named it by


# --- two replicas over one Redis, the simulator in a process of its own ---


@contextmanager
def simulator_process(faults: dict[str, Any]) -> Iterator[dict[str, str]]:
    """`python -m mcp_directory.sim --faults ...`; yields the environment it prints."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_directory.sim", "--seed", "5", "--faults", json.dumps(faults)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    give_up = threading.Timer(30, proc.kill)  # a simulator that never prints ends the readline below
    give_up.start()
    try:
        env: dict[str, str] = {}
        assert proc.stdout is not None
        while "ROOTLY_BASE_URL" not in env:
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"the simulator printed no environment (exit {proc.poll()})")
            env.update(pair.split("=", 1) for pair in line.split()[1:])  # export K=V K=V
        give_up.cancel()
        yield env
    finally:
        give_up.cancel()
        proc.terminate()
        proc.wait(timeout=10)


async def test_two_replicas_removing_two_members_of_one_rootly_team_both_hold(redis_url):
    with simulator_process(slow_team_reads(0.5)) as sim:
        env = clean_env(
            ROOTLY_BASE_URL=sim["ROOTLY_BASE_URL"],
            ROOTLY_API_TOKEN=sim["ROOTLY_API_TOKEN"],
            MCP_DIRECTORY_REDIS_URL=redis_url,
            MCP_DIRECTORY_CURSOR_SECRET=CURSOR_SECRET,
            MCP_DIRECTORY_ALLOW_WRITES="true",
        )
        headers = {"Authorization": f"Bearer {sim['ROOTLY_API_TOKEN']}"}
        async with httpx.AsyncClient(base_url=sim["ROOTLY_BASE_URL"], headers=headers) as rootly:
            teams = (await rootly.get("/v1/teams", params={"page[size]": 100})).json()["data"]
            team = next(t for t in teams if len(t["attributes"]["user_ids"]) >= 3)
            first, second = team["attributes"]["user_ids"][:2]
            outcomes: dict[tuple[str, int], str] = {}
            with replicas(2, env) as (one, other):
                async with Client(f"{one}/mcp") as a, Client(f"{other}/mcp") as b:

                    async def remove(client: Client, after: float, group_id: str, user: int) -> None:
                        await anyio.sleep(after)
                        args = {"provider": "rootly", "group_id": group_id, "user_id": str(user), "confirm": True}
                        outcomes[("remove_group_member", user)] = outcome(
                            *await call(client, "remove_group_member", args)
                        )

                    async with anyio.create_task_group() as tg:
                        # The second reads the team after the first read it, before the first's PUT.
                        tg.start_soon(remove, a, 0.0, team["id"], first)
                        tg.start_soon(remove, b, 0.2, team["attributes"]["slug"], second)
            after = (await rootly.get(f"/v1/teams/{team['id']}")).json()["data"]["attributes"]
    assert not lost_updates(outcomes, after["user_ids"]), (outcomes, after["user_ids"])
    assert list(outcomes.values()) == ["ok", "ok"], outcomes  # one waited for the other's lock


# --- the Redis lock itself ---


def shared(url: str, **options: float) -> tuple[SharedRedis, RedisLocks]:
    redis = SharedRedis(url)
    return redis, RedisLocks(redis, **options)


async def test_two_replicas_never_hold_one_lock_at_once(redis_url):
    (r1, one), (r2, other) = shared(redis_url), shared(redis_url)
    holding, most, counter = 0, 0, {"n": 0}

    async def increment(locks: RedisLocks) -> None:
        nonlocal holding, most
        async with locks.hold("rootly:team:t1", what="team t1"):
            holding += 1
            most = max(most, holding)
            seen = counter["n"]
            await anyio.sleep(0.01)  # read, then write: a lost update without the lock
            counter["n"] = seen + 1
            holding -= 1

    try:
        async with anyio.create_task_group() as tg:
            for i in range(12):
                tg.start_soon(increment, (one, other)[i % 2])
        assert (most, counter["n"]) == (1, 12)
        async with one.hold("rootly:team:t1", what="team t1"), other.hold("rootly:team:t2", what="team t2"):
            pass  # other names do not wait for each other
    finally:
        await r1.aclose()
        await r2.aclose()


async def test_a_live_holder_keeps_its_lock_past_its_ttl_and_a_waiter_gives_up_with_conflict(redis_url):
    (r1, one), (r2, other) = shared(redis_url, ttl_s=0.3), shared(redis_url, wait_s=0.5)
    try:
        async with one.hold("rootly:team:t1", what="Rootly team t1", provider="rootly"):
            await anyio.sleep(0.6)  # twice the TTL: extended while held
            with pytest.raises(Conflict) as caught:
                async with other.hold("rootly:team:t1", what="Rootly team t1", provider="rootly"):
                    raise AssertionError("held by two")
        assert "Rootly team t1 is being changed by another call" in caught.value.message
        assert caught.value.provider == "rootly" and "nothing was sent" in caught.value.message
        async with other.hold("rootly:team:t1", what="Rootly team t1"):
            pass  # given back
    finally:
        await r1.aclose()
        await r2.aclose()


async def test_the_lock_of_a_holder_that_died_frees_itself_after_its_ttl(redis_url, redis_server):
    redis, locks = shared(redis_url, wait_s=5.0)
    key = "mcp-directory:lock:rootly:team:t1"
    try:
        assert redis_server.command("SET", key, "a-replica-that-died", "PX", "400") == "+OK"
        started = anyio.current_time()
        async with locks.hold("rootly:team:t1", what="team t1"):
            assert anyio.current_time() - started >= 0.3  # not before the dead holder's TTL ran out
            assert await redis.client.get(key) != b"a-replica-that-died"
        assert redis_server.command("EXISTS", key) == ":0"
    finally:
        await redis.aclose()


async def test_a_holder_whose_lock_ran_out_neither_frees_nor_extends_the_next_holders(redis_url, redis_server):
    (r1, stale), (r2, next_) = shared(redis_url, ttl_s=0.4), shared(redis_url, ttl_s=5.0)
    key = "mcp-directory:lock:rootly:team:t1"
    ran_out, taken, left = anyio.Event(), anyio.Event(), anyio.Event()

    async def first_holder() -> None:
        async with stale.hold("rootly:team:t1", what="team t1"):
            assert redis_server.command("DEL", key) == ":1"  # as if it ran out (a stall, a Redis restarted)
            ran_out.set()
            await taken.wait()
            await anyio.sleep(0.3)  # its keeper tries to extend the lock meanwhile (every 0.1 s)
        left.set()  # and it gave back what it thought was its lock

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(first_holder)
            await ran_out.wait()
            async with next_.hold("rootly:team:t1", what="team t1"):
                taken.set()
                await left.wait()
                assert redis_server.command("EXISTS", key) == ":1"  # still the next holder's
                assert 4000 < int(await r2.client.pttl(key)) <= 5000  # its own TTL, not the stale one's
        assert redis_server.command("EXISTS", key) == ":0"
    finally:
        await r1.aclose()
        await r2.aclose()


async def test_a_cancelled_holder_gives_its_lock_back(redis_url, redis_server):
    redis, locks = shared(redis_url)
    try:
        with anyio.move_on_after(0.2):
            async with locks.hold("rootly:team:t1", what="team t1"):
                await anyio.sleep(10)
        assert redis_server.command("EXISTS", "mcp-directory:lock:rootly:team:t1") == ":0"
    finally:
        await redis.aclose()


async def test_an_error_inside_the_lock_comes_out_as_itself_and_the_lock_is_given_back(redis_url, redis_server):
    redis, locks = shared(redis_url)
    try:
        with pytest.raises(Conflict, match="read-back"):
            async with locks.hold("rootly:team:t1", what="team t1"):
                raise Conflict("read-back", provider="rootly")
        assert redis_server.command("EXISTS", "mcp-directory:lock:rootly:team:t1") == ":0"
    finally:
        await redis.aclose()


async def test_an_unreachable_redis_fails_the_lock_with_upstream_error_naming_it():
    redis, locks = shared(f"redis://127.0.0.1:{free_port()}/0")
    entered = False
    try:
        with pytest.raises(UpstreamError) as caught:
            async with locks.hold("rootly:team:t1", what="Rootly team t1", provider="rootly"):
                entered = True
        assert caught.value.code == "upstream_error" and caught.value.provider == "rootly"
        assert "Redis at redis://127.0.0.1:" in caught.value.message and "nothing was sent" in caught.value.message
        assert not entered
    finally:
        await redis.aclose()


async def test_local_locks_wait_a_bounded_time_and_keep_no_lock_nobody_holds():
    locks = LocalLocks(wait_s=0.2)
    failed: list[Conflict] = []

    async def second() -> None:
        with pytest.raises(Conflict) as caught:
            async with locks.hold("rootly:team:t1", what="Rootly team t1", provider="rootly"):
                raise AssertionError("held by two")
        failed.append(caught.value)

    async with locks.hold("rootly:team:t1", what="Rootly team t1", provider="rootly"), anyio.create_task_group() as tg:
        tg.start_soon(second)
    assert "Rootly team t1 is being changed by another call" in failed[0].message
    for i in range(50):  # made-up ids
        async with locks.hold(f"rootly:team:made-up-{i}", what="x"):
            pass
    assert locks._entries == {}


async def test_replace_whole_list_writes_only_a_change_and_says_conflict_when_the_read_back_lacks_it():
    stored: list[int] = [1, 2, 3]
    writes: list[list[int]] = []

    async def read() -> list[int]:
        return list(stored)

    async def write(new: list[int]) -> None:
        writes.append(new)
        stored[:] = new

    def without(member: int) -> dict[str, Any]:
        def change(entries: list[int]) -> list[int] | None:
            return [e for e in entries if e != member] if member in entries else None

        return {"change": change, "holds": lambda entries: member not in entries}

    cycle = {"what": "toy list 1", "read": read, "write": write, "conflict": "undone", "provider": "toy"}
    assert await replace_whole_list(LocalLocks(), "toy:list:1", **cycle, **without(9)) == [1, 2, 3]
    assert writes == []  # already as asked: nothing written
    assert await replace_whole_list(LocalLocks(), "toy:list:1", **cycle, **without(2)) == [1, 3]

    async def undone_by_someone_else(new: list[int]) -> None:
        await write(new)
        stored.append(3)  # a writer that takes no lock of ours puts it back before the read-back

    with pytest.raises(Conflict, match="undone") as caught:
        await replace_whole_list(LocalLocks(), "toy:list:1", **{**cycle, "write": undone_by_someone_else}, **without(3))
    assert caught.value.provider == "toy" and writes == [[1, 3], [1]]
