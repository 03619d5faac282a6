"""Every simulated response validates against the provider's real published schema.

Schemas are taken from the real spec files by JSON pointer (the same response object the spec
declares for that path and status), with `$ref`s resolved over the whole spec document.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcp_directory.sim import DEMO_TOKENS, SimOptions, build_app, build_world
from tests.support import RETOOL_USER_KEYS, assert_valid, require_specs, sim_client, validator

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("provider_specs")]


def rootly_schema(path: str, status: str = "200"):
    return validator(
        "rootly", "paths", path, "get", "responses", status, "content", "application/vnd.api+json", "schema"
    )


def opsgenie_schema(path: str, status: str = "200"):
    return validator("opsgenie", "paths", path, "get", "responses", status, "schema")


def retool_schema(path: str, status: str = "200"):
    return validator("retool", "paths", path, "get", "responses", status, "content", "application/json", "schema")


@pytest.fixture(scope="module")
def world():
    return build_world(seed=7, people=45)


async def _get(world, provider: str, path: str, *, token: str | None = None, status: int = 200):
    app = build_app(provider, world, SimOptions(token=DEMO_TOKENS[provider]))
    async with sim_client(app, provider, token or DEMO_TOKENS[provider]) as client:
        response = await client.get(path)
    assert response.status_code == status, response.text
    return response.json()


def test_missing_specs_skip_locally_and_fail_under_ci(tmp_path: Path):
    missing = tmp_path / "provider_specs"
    with pytest.raises(pytest.skip.Exception):
        require_specs(missing, {})
    with pytest.raises(pytest.skip.Exception):
        require_specs(missing, {"CI": "false"})
    with pytest.raises(pytest.fail.Exception, match="CI=true requires them"):
        require_specs(missing, {"CI": "true"})
    missing.mkdir()
    assert require_specs(missing, {"CI": "true"}) == missing


# --- Rootly -----------------------------------------------------------------------------------


async def test_rootly_user_list_and_single_match_spec(world):
    body = await _get(world, "rootly", "/v1/users?page[size]=100&include=role,on_call_role,teams")
    assert len(body["data"]) == len(world.rootly.users)
    assert {r["type"] for r in body["included"]} == {"roles", "on_call_roles", "groups"}
    assert_valid(rootly_schema("/v1/users"), body)
    for user_id in [*list(world.rootly.users)[:5], world.rootly.me_id]:
        single = await _get(world, "rootly", f"/v1/users/{user_id}?include=role,teams")
        assert_valid(rootly_schema("/v1/users/{id}"), single)
    assert_valid(rootly_schema("/v1/users/me"), await _get(world, "rootly", "/v1/users/me"))


async def test_rootly_every_seeded_user_validates_including_null_last_names(world):
    schema = validator("rootly", "components", "schemas", "user_response")
    nulls = 0
    for user in world.rootly.users.values():
        assert_valid(schema, {"data": user})
        nulls += user["attributes"]["last_name"] is None
    assert 1 <= nulls <= 2


async def test_rootly_teams_roles_incident_roles_incidents_match_spec(world):
    assert_valid(rootly_schema("/v1/teams"), await _get(world, "rootly", "/v1/teams?include=users"))
    for team_id in world.rootly.teams:
        assert_valid(rootly_schema("/v1/teams/{id}"), await _get(world, "rootly", f"/v1/teams/{team_id}"))
    assert_valid(rootly_schema("/v1/roles"), await _get(world, "rootly", "/v1/roles"))
    for role_id in world.rootly.roles:
        assert_valid(rootly_schema("/v1/roles/{id}"), await _get(world, "rootly", f"/v1/roles/{role_id}"))
    assert_valid(rootly_schema("/v1/on_call_roles"), await _get(world, "rootly", "/v1/on_call_roles"))
    assert_valid(rootly_schema("/v1/incident_roles"), await _get(world, "rootly", "/v1/incident_roles"))
    for role_id in world.rootly.incident_roles:
        single = await _get(world, "rootly", f"/v1/incident_roles/{role_id}")
        assert_valid(rootly_schema("/v1/incident_roles/{id}"), single)
    for incident_id in world.rootly.incidents:
        single = await _get(world, "rootly", f"/v1/incidents/{incident_id}")
        assert_valid(rootly_schema("/v1/incidents/{id}"), single)


async def test_rootly_error_bodies_match_errors_list(world):
    not_found = await _get(world, "rootly", "/v1/users/1", status=404)
    assert_valid(rootly_schema("/v1/users/{id}", "404"), not_found)
    assert not_found["errors"][0]["status"] == "404"
    unauthorized = await _get(world, "rootly", "/v1/users/me", token="wrong", status=401)
    assert_valid(rootly_schema("/v1/users/me", "401"), unauthorized)
    too_big = await _get(world, "rootly", "/v1/users?page[size]=101", status=400)
    assert_valid(validator("rootly", "components", "schemas", "errors_list"), too_big)
    assert too_big["errors"][0]["status"] == "400"


# --- Opsgenie ---------------------------------------------------------------------------------


async def test_opsgenie_users_match_spec(world):
    body = await _get(world, "opsgenie", "/v2/users?limit=10")
    assert_valid(opsgenie_schema("/v2/users"), body)
    for user_id in list(world.opsgenie.users)[:5]:
        single = await _get(world, "opsgenie", f"/v2/users/{user_id}?expand=contact")
        assert single["data"]["userContacts"]
        assert_valid(opsgenie_schema("/v2/users/{identifier}"), single)
        teams = await _get(world, "opsgenie", f"/v2/users/{user_id}/teams")
        assert_valid(opsgenie_schema("/v2/users/{identifier}/teams"), teams)


async def test_opsgenie_teams_roles_account_match_spec(world):
    assert_valid(opsgenie_schema("/v2/teams"), await _get(world, "opsgenie", "/v2/teams"))
    for team_id in world.opsgenie.teams:
        assert_valid(opsgenie_schema("/v2/teams/{identifier}"), await _get(world, "opsgenie", f"/v2/teams/{team_id}"))
    roles = await _get(world, "opsgenie", "/v2/roles")
    assert len(roles["data"]) == len(world.opsgenie.roles) >= 2
    assert_valid(opsgenie_schema("/v2/roles"), roles)
    account = await _get(world, "opsgenie", "/v2/account")
    assert_valid(opsgenie_schema("/v2/account"), account)
    assert account["data"]["userCount"] == len(world.opsgenie.users) < account["data"]["plan"]["maxUserCount"]


async def test_opsgenie_error_bodies_match_spec(world):
    for path, status, token in (
        ("/v2/users/nobody@nowhere.test", 404, None),
        ("/v2/users", 401, "wrong"),
        ("/v2/users?limit=101", 422, None),
    ):
        body = await _get(world, "opsgenie", path, token=token, status=status)
        assert_valid(validator("opsgenie", "definitions", "ErrorResponse"), body)
        assert isinstance(body["message"], str) and body["message"]
    assert "limit" in body["errors"]


# --- Retool -----------------------------------------------------------------------------------


async def test_retool_users_match_spec_and_recorded_key_order(world):
    body = await _get(world, "retool", "/api/v2/users")
    assert_valid(retool_schema("/users"), body)
    assert all(list(user) == RETOOL_USER_KEYS for user in body["data"])
    for user_id in list(world.retool.users)[:5]:
        plain = await _get(world, "retool", f"/api/v2/users/{user_id}")
        with_groups = await _get(world, "retool", f"/api/v2/users/{user_id}?includeGroups=true")
        assert "groups" not in plain["data"] and "groups" in with_groups["data"]
        assert_valid(retool_schema("/users/{userId}"), plain)
        assert_valid(retool_schema("/users/{userId}"), with_groups)


async def test_retool_groups_and_roles_match_spec(world):
    assert_valid(retool_schema("/groups"), await _get(world, "retool", "/api/v2/groups"))
    for group_id in world.retool.groups:
        assert_valid(retool_schema("/groups/{groupId}"), await _get(world, "retool", f"/api/v2/groups/{group_id}"))
    roles = await _get(world, "retool", "/api/v2/role_permissions/roles")
    assert len(roles["data"]) == len(world.retool.roles)
    assert_valid(retool_schema("/role_permissions/roles"), roles)


async def test_retool_error_bodies_match_api_error_response(world):
    error_schema = retool_schema("/role_permissions/roles", "401")
    for path, status, token in (
        ("/api/v2/users/user_0000", 404, None),
        ("/api/v2/groups/99999", 404, None),
        ("/api/v2/users", 401, "wrong"),
        ("/api/v2/users?limit=101", 400, None),
    ):
        body = await _get(world, "retool", path, token=token, status=status)
        assert_valid(error_schema, body)
        assert body["success"] is False


async def test_a_broken_record_is_rejected_by_the_validators(world):
    """The validators above can fail: a wrong type in each provider's user is reported."""
    rootly_user = json.loads(json.dumps(next(iter(world.rootly.users.values()))))
    rootly_user["attributes"]["created_at"] = 5
    assert list(validator("rootly", "components", "schemas", "user_response").iter_errors({"data": rootly_user}))
    ops_user = dict(next(iter(world.opsgenie.users.values())), blocked="no")
    assert list(validator("opsgenie", "definitions", "User").iter_errors(ops_user))
    retool_user = dict(next(iter(world.retool.users.values())), extra=1)
    assert list(
        retool_schema("/users").iter_errors(
            {"success": True, "data": [retool_user], "total_count": 1, "next_token": None, "has_more": False}
        )
    )
