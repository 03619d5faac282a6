"""`everyone()`: every user of a provider in one request, where the provider can (Retool: `GET /users`
without `limit` returns them all, FACTS §3). A whole-directory reader prefers it to paging users."""

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


def test_only_providers_that_can_say_so_have_it():
    # Retool in one answer; Okta marks its admins from one list (tests/test_okta.py)
    assert {p.name for p in PROVIDERS if p.supports("everyone")} == {"retool", "okta"}
