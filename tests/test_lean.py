"""Lean mappings (`seen_user`, `Chunk.lean`): a whole-directory reader (access_review's snapshot,
the on-call account book) takes each user straight from its record as a `Seen` tuple, with no
model built. The tuple must say exactly what the full mapping's `User` says: for every record of
a seeded simulated world, and for records with the odd shapes a provider may send."""

from __future__ import annotations

from typing import Any

import pytest

from mcp_directory.models import seen, seen_group
from mcp_directory.paging import every
from mcp_directory.providers import opsgenie, retool, rootly_mapping
from mcp_directory.review import SNAPSHOT_BYTES, footprint, read_provider, read_snapshot
from mcp_directory.sim import build_world
from mcp_directory.whole_list import every_lean

from .support import sim_directory
from .test_okta import okta_directory

pytestmark = pytest.mark.anyio

LEAN = ("rootly", "opsgenie", "retool")


def whole(adapter: Any) -> Any:
    return adapter.everyone() if hasattr(adapter, "everyone") else adapter.users(search=None, email=None)


@pytest.mark.parametrize("provider", LEAN)
@pytest.mark.parametrize("seed", [1, 7])
async def test_lean_tuples_equal_the_full_mapping_for_every_record(provider, seed):
    world = build_world(seed=seed, people=180)
    directory, _ = sim_directory(world, providers=(provider,))
    adapter = directory.adapter(provider)
    listing = whole(adapter)
    first = await listing.fetch(listing.first(None))
    assert first.lean is not None  # the provider maps its users lean: no fallback to the model
    lean = await every_lean(provider, listing, seen, concurrency=3)
    full = [seen(u) async for u in every(provider, listing, concurrency=3)]
    assert lean == full
    assert len(lean) == len(getattr(world, provider).users) > 100
    # the world has what the rules tell apart: more than one status, admins and not
    assert len({u[3] for u in lean}) > 1 or provider == "rootly"
    assert {u[4] for u in lean} >= {True, False}
    await directory.aclose()


@pytest.mark.parametrize("provider", LEAN)
async def test_lean_groups_equal_the_full_mapping_for_every_group(provider):
    world = build_world(seed=5, people=180)
    directory, _ = sim_directory(world, providers=(provider,))
    adapter = directory.adapter(provider)
    groups = [g async for g in every(provider, adapter.groups(search=None))]
    assert len(groups) > 2
    for group in groups:
        lean = await adapter.lean_group(group.id)
        assert lean == seen_group(await adapter.group(group.id))
        assert lean[2]  # members, so the comparison says something
    await directory.aclose()


async def test_a_list_without_a_lean_mapping_falls_back_to_the_full_one():
    """A filtered list maps its items as it filters: its whole read takes them from the models."""
    world = build_world(seed=3, people=60)
    directory, _ = sim_directory(world, providers=("retool",))
    listing = directory.adapter("retool").users(search="a", email=None)  # a search Retool lacks: filtered here
    first = await listing.fetch(listing.first(None))
    assert first.lean is None
    lean = await every_lean("retool", listing, seen)
    assert lean == [seen(u) async for u in every("retool", listing)] and lean
    await directory.aclose()


async def test_a_review_reads_what_the_models_say():
    world = build_world(seed=4, people=120)
    directory, _ = sim_directory(world)
    for provider in LEAN:
        users, _ = await read_provider(directory, provider)
        assert users == [seen(u) async for u in every(provider, whole(directory.adapter(provider)))]
    await directory.aclose()


# Records with what a provider may leave out or set oddly: the two mappings agree on each.

OPSGENIE = [
    {"id": "u1", "username": "a@x.io", "fullName": "A", "role": {"id": "r", "name": "owner"}},
    {"id": "u2", "username": "b@x.io", "blocked": True, "verified": False, "role": {"name": "user"}},
    {"id": "u3", "username": "c@x.io", "verified": False, "role": {}},
    {"id": 4, "role": None, "fullName": None},
    {"id": "u5", "username": None, "role": {"name": ""}, "verified": True, "blocked": False},
]
RETOOL = [
    {"id": 1, "email": "a@x.io", "first_name": "A", "last_name": "B", "active": True, "is_admin": True},
    {"id": "2", "email": "b@x.io", "first_name": None, "last_name": "B", "active": False, "is_admin": False},
    {"id": "3", "first_name": "", "last_name": "", "last_active": "2026-01-02T03:04:05Z"},
    {"id": "4", "email": None, "active": None, "groups": [{"id": 9}]},
]
ROOTLY_INCLUDED = [
    {"id": "r-admin", "type": "roles", "attributes": {"name": "Admin", "slug": "admin"}},
    {"id": "r-user", "type": "roles", "attributes": {"name": "User", "slug": "user"}},
    {"id": "r-bare", "type": "roles"},
]
ROOTLY = [
    {
        "id": "1",
        "attributes": {"email": "a@x.io", "full_name": "A B"},
        "relationships": {"role": {"data": {"id": "r-admin"}}},
    },
    {"id": 2, "attributes": {"name": "Bee", "first_name": "B"}, "relationships": {"role": {"data": {"id": "r-user"}}}},
    {
        "id": "3",
        "attributes": {"first_name": "C", "last_name": "D"},
        "relationships": {"role": {"data": {"id": "r-gone"}}},
    },
    {"id": "4", "attributes": {"first_name": None, "last_name": None}, "relationships": {"role": {"data": None}}},
    {"id": "5", "relationships": {"role": {"data": {"id": "r-bare"}}}},
    {"id": "6", "attributes": None, "relationships": None},
]


@pytest.mark.parametrize("record", OPSGENIE)
def test_opsgenie_odd_records(record):
    assert opsgenie.seen_user(record) == seen(opsgenie.map_user(record))


@pytest.mark.parametrize("record", RETOOL)
def test_retool_odd_records(record):
    assert retool.seen_user(record) == seen(retool.map_user(record))


@pytest.mark.parametrize("record", ROOTLY)
def test_rootly_odd_records(record):
    included = rootly_mapping.Included(ROOTLY_INCLUDED, [])
    full = rootly_mapping.map_user(record, included, with_groups=False)
    assert rootly_mapping.seen_user(record, included) == seen(full)


TEAMS = [
    (
        "opsgenie",
        {"id": "t1", "name": "Ops", "members": [{"user": {"id": "u1", "username": "a"}, "role": "admin"}, {}]},
    ),
    ("opsgenie", {"id": 2, "name": None, "members": None}),
    ("retool", {"id": 3, "name": "Eng", "members": [{"id": 1, "email": "a", "is_group_admin": True}]}),
    ("retool", {"id": "4", "members": None}),
    ("rootly", {"id": "t5", "attributes": {"name": "SRE", "user_ids": [1, 2], "admin_ids": [2]}}),
    ("rootly", {"id": "t6", "attributes": None}),
]


@pytest.mark.parametrize(("provider", "record"), TEAMS)
def test_odd_teams(provider, record):
    lean, full = {
        "opsgenie": (opsgenie.seen_team, opsgenie.map_team),
        "retool": (retool.seen_group, lambda r: retool.map_group(r, with_members=True)),
        "rootly": (rootly_mapping.seen_team, lambda r: rootly_mapping.map_team(r, with_members=True)),
    }[provider]
    assert lean(record) == seen_group(full(record))


async def test_a_snapshot_counts_its_footprint_as_it_is_made():
    """Each provider's accounts are made as soon as it is read; the snapshot's estimated size,
    counted along the way, is `footprint` of its rows, and its rows are in the providers' order."""
    world = build_world(seed=6, people=150)
    directory, _ = sim_directory(world)
    snapshot = await read_snapshot(directory, ["retool", "rootly", "opsgenie"])
    assert snapshot.size == footprint(snapshot.rows) > SNAPSHOT_BYTES
    order = {"retool": 0, "rootly": 1, "opsgenie": 2}
    assert any(len(accounts) > 1 for _, _, accounts in snapshot.rows)
    for _, _, accounts in snapshot.rows:
        assert [order[a[0]] for a in accounts] == sorted(order[a[0]] for a in accounts)
    await directory.aclose()


@pytest.mark.parametrize("seed", [5, 8])
async def test_okta_everyone_lean_equals_its_models(seed):
    """Okta's whole read marks admins from one list: the lean tuple says so as its model does."""
    directory, _, _ = okta_directory(build_world(seed=seed, people=120))
    listing = directory.adapter("okta").everyone()
    lean = await every_lean("okta", listing, seen, concurrency=2)
    assert lean == [seen(u) async for u in every("okta", listing, concurrency=2)]
    first = await listing.fetch(listing.first(None))
    assert first.lean is not None and len(lean) > 100
    assert {u[4] for u in lean} == {True, False} and len({u[3] for u in lean}) > 1
    await directory.aclose()
