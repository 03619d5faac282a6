"""`everyone()`: every user of a provider as a whole-directory reader wants them: in one request where
the provider can (Retool: `GET /users` without `limit` returns them all, FACTS §3), without what such
a reader takes from elsewhere (Rootly: the teams). A whole-directory reader prefers it to paging users."""

from __future__ import annotations

import pytest

from mcp_directory.paging import every
from mcp_directory.providers import PROVIDERS
from mcp_directory.sim import build_world
from mcp_directory.spec import WHOLE

from .support import sim_directory

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("people", [60, 250])
async def test_retool_everyone_is_one_request_holding_every_user(people):
    world = build_world(seed=1, people=people)
    directory, apps = sim_directory(world, providers=("retool",))
    adapter = directory.adapter("retool")
    listing = adapter.everyone()
    assert listing.paginator is WHOLE
    users = [u async for u in every("retool", listing)]
    (request,) = apps["retool"].state.requests
    assert (request.method, request.path) == ("GET", "/api/v2/users")
    assert "limit" not in request.query and "next_token" not in request.query
    assert [u.id for u in users] == list(world.retool.users)  # more than one upstream page's worth at 250
    assert all(u.provider == "retool" and u.email for u in users)
    assert {u.status for u in users} == {"active", "inactive"}  # disabled users are people of the directory too
    paged = [u async for u in every("retool", adapter.users(search=None, email=None))]
    assert users == paged
    await directory.aclose()


async def test_rootly_everyone_pages_users_without_their_teams():
    """A whole-directory reader takes memberships from the teams' side: the users pages it reads
    leave out the teams (each with every member's id), and say the same of every user otherwise."""
    world = build_world(seed=2, people=120)
    directory, apps = sim_directory(world, providers=("rootly",))
    adapter = directory.adapter("rootly")
    users = [u async for u in every("rootly", adapter.everyone(), concurrency=4)]
    requests = apps["rootly"].state.requests
    assert len(requests) > 1 and all(r.query["include"] == "role" for r in requests)  # paged, no teams
    paged = [u async for u in every("rootly", adapter.users(search=None, email=None))]
    assert [u.id for u in users] == [u.id for u in paged] == list(world.rootly.users)
    assert all(u.group_ids is None for u in users) and any(u.group_ids for u in paged)
    assert [u.model_copy(update={"group_ids": None}) for u in paged] == users
    await directory.aclose()


def test_only_providers_that_can_say_so_have_it():
    # Retool in one answer; Okta marks its admins from one list (tests/test_okta.py); Rootly without
    # the teams a users page includes
    assert {p.name for p in PROVIDERS if p.supports("everyone")} == {"retool", "okta", "rootly"}
