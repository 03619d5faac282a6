"""Group members carry their emails (SPEC §4): from the provider's own group answer, in the one
request `get_group` sends, never one request per member."""

from __future__ import annotations

import pytest
from mcp import Client

from mcp_directory.providers import opsgenie, retool, rootly
from mcp_directory.server import build_server
from mcp_directory.sim import DEMO_TOKENS, SimOptions, build_app, build_world

from .support import assert_valid, ok, sim_client, sim_directory, validator

PROVIDERS = ("rootly", "opsgenie", "retool")

# GET /v1/teams/{id}?include=users: the team (type "groups", integer user_ids) and its users as
# JSON:API resources in `included`, shaped like Rootly's spec (user_response) and ConductorOne's
# fixtures. User 12 is not included (say, deleted meanwhile): its email is unknown, so null.
ROOTLY_TEAM = {
    "data": {
        "id": "1c9f6e52-9d0b-4d65-9d8c-5b1d2f8e3a10",
        "type": "groups",
        "attributes": {
            "name": "Payments",
            "slug": "payments",
            "description": "Billing rails",
            "user_ids": [97487, 97501, 12],
            "admin_ids": [97487],
            "created_at": "2025-04-01T12:10:36.179-07:00",
            "updated_at": "2025-06-02T08:00:00.000-07:00",
        },
    },
    "included": [
        {
            "id": "97487",
            "type": "users",
            "attributes": {
                "email": "Ana.Souza@acme.com",
                "first_name": "Ana",
                "last_name": "Souza",
                "full_name": "Ana Souza",
                "full_name_with_team": "[Payments] Ana Souza",
                "created_at": "2025-04-01T12:10:36.179-07:00",
                "updated_at": "2025-04-01T12:10:36.179-07:00",
            },
        },
        {
            "id": "97501",
            "type": "users",
            "attributes": {
                "email": "raj@acme.com",
                "first_name": "Raj",
                "last_name": None,
                "full_name": None,
                "created_at": "2025-04-01T12:10:36.179-07:00",
                "updated_at": "2025-04-01T12:10:36.179-07:00",
            },
        },
        {"id": "s-1", "type": "schedules", "attributes": {"name": "Primary on-call"}},
    ],
}


def members(group):
    return [(m.user_id, m.role, m.email, m.name) for m in group.members]


def test_rootly_members_from_included_users():
    group = rootly.map_team(ROOTLY_TEAM["data"], with_members=True, included=rootly.index_included(ROOTLY_TEAM))
    assert members(group) == [
        ("97487", "admin", "Ana.Souza@acme.com", "Ana Souza"),
        ("97501", "member", "raj@acme.com", "Raj"),
        ("12", "member", None, None),
    ]
    # a team read without include=users: members known, their emails not
    bare = rootly.map_team(ROOTLY_TEAM["data"], with_members=True)
    assert [(m.user_id, m.email, m.name) for m in bare.members] == [
        ("97487", None, None),
        ("97501", None, None),
        ("12", None, None),
    ]


def test_opsgenie_members_email_is_the_username():
    # GET /v2/teams/{id}: TeamMember = {user: UserMeta {id, username}, role} (no names)
    team = opsgenie.map_team(
        {
            "id": "d4a8c7f2-0f1e-4b43-9a77-3b2c1a0e9f55",
            "name": "ops_team",
            "description": "",
            "members": [
                {
                    "user": {"id": "b5b92115-bfe7-43eb-8c2a-e467f2e5ddc4", "username": "John.Doe@opsgenie.com"},
                    "role": "admin",
                },
                {
                    "user": {"id": "e07c63f0-dd8c-4ad4-983e-4ee7dc600463", "username": "jane@opsgenie.com"},
                    "role": "user",
                },
            ],
        }
    )
    assert members(team) == [
        ("b5b92115-bfe7-43eb-8c2a-e467f2e5ddc4", "admin", "John.Doe@opsgenie.com", None),
        ("e07c63f0-dd8c-4ad4-983e-4ee7dc600463", "member", "jane@opsgenie.com", None),
    ]


def test_retool_members_email_from_the_group():
    # the recorded GET /groups answer (terraform-provider-retool recordings): {id, email, is_group_admin}
    record = {
        "id": 1,
        "legacy_id": 1,
        "name": "admin",
        "members": [
            {"id": "user_37eb84a07b57447cb1dad0c17842b5d7", "email": "lukew@retool.com", "is_group_admin": False},
            {"id": "user_0f3c", "email": "Ops@Retool.com", "is_group_admin": True},
        ],
        "updated_at": "2025-11-06T17:00:11.467Z",
        "created_at": "2025-11-06T17:00:11.467Z",
    }
    assert members(retool.map_group(record, with_members=True)) == [
        ("user_37eb84a07b57447cb1dad0c17842b5d7", "member", "lukew@retool.com", None),
        ("user_0f3c", "admin", "Ops@Retool.com", None),
    ]


# --- against the seeded world, through the MCP client -------------------------------------------


@pytest.fixture(scope="module")
def world():
    return build_world(seed=1, people=60)


def expected_members(world, provider, group_id):
    """(user_id, role, email, name) of each member, in the provider's order, from the seeded records."""
    if provider == "rootly":
        team = world.rootly.teams[group_id]["attributes"]
        users = world.rootly.users
        return [
            (
                str(u),
                "admin" if u in team["admin_ids"] else "member",
                users[str(u)]["attributes"]["email"],
                users[str(u)]["attributes"]["full_name"],
            )
            for u in team["user_ids"]
        ]
    if provider == "opsgenie":
        return [
            (
                m["user"]["id"],
                "admin" if m["role"] == "admin" else "member",
                world.opsgenie.users[m["user"]["id"]]["username"],
                None,
            )
            for m in world.opsgenie.teams[group_id]["members"]
        ]
    return [
        (m["id"], "admin" if m["is_group_admin"] else "member", world.retool.users[m["id"]]["email"], None)
        for m in world.retool.groups[int(group_id)]["members"]
    ]


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_get_group_members_carry_their_emails_in_one_request(world, provider):
    directory, apps = sim_directory(world)
    groups = world.retool.groups if provider == "retool" else getattr(world, provider).teams
    async with Client(build_server(directory)) as client:
        for group_id in map(str, groups):
            before = len(apps[provider].state.requests)
            data = await ok(client, "get_group", {"provider": provider, "group_id": group_id})
            assert len(apps[provider].state.requests) == before + 1  # one request, whatever the size
            got = [(m["user_id"], m["role"], m["email"], m["name"]) for m in data["result"]["members"]]
            assert got == expected_members(world, provider, group_id)
    assert any(expected_members(world, provider, str(g)) for g in groups)


@pytest.mark.anyio
async def test_some_member_emails_keep_the_providers_letter_case(world):
    """The email is the provider's own (find_users lower-cases; a group answer does not)."""
    directory, _ = sim_directory(world)
    seen = []
    async with Client(build_server(directory)) as client:
        for provider in PROVIDERS:
            groups = world.retool.groups if provider == "retool" else getattr(world, provider).teams
            for group_id in map(str, groups):
                data = await ok(client, "get_group", {"provider": provider, "group_id": group_id})
                seen += [m["email"] for m in data["result"]["members"]]
    assert all(seen) and any(e != e.lower() for e in seen)


@pytest.mark.anyio
@pytest.mark.usefixtures("provider_specs")
async def test_rootly_sim_team_with_included_users_matches_the_spec(world):
    app = build_app("rootly", world, SimOptions(token=DEMO_TOKENS["rootly"]))
    schema = validator(
        "rootly", "paths", "/v1/teams/{id}", "get", "responses", "200", "content", "application/vnd.api+json", "schema"
    )
    async with sim_client(app, "rootly", DEMO_TOKENS["rootly"]) as client:
        for team_id, team in world.rootly.teams.items():
            body = (await client.get(f"/v1/teams/{team_id}", params={"include": "users"})).json()
            assert_valid(schema, body)
            assert [r["type"] for r in body["included"]] == ["users"] * len(team["attributes"]["user_ids"])
            assert {r["id"] for r in body["included"]} == {str(u) for u in team["attributes"]["user_ids"]}
