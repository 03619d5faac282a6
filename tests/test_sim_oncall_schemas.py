"""Every simulated on-call response validates against the providers' on-call specs
(`provider_specs/oncall/`): the schema the spec declares for that path, method and status."""

from __future__ import annotations

import base64
import json
from functools import cache
from typing import Any

import jsonschema
import pytest
from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from mcp_directory.sim import DEMO_TOKENS, SimOptions, build_app, build_world
from tests.support import assert_valid, sim_client, spec_file

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("provider_specs")]
FILES = {
    "rootly": "oncall/rootly-oncall.openapi.json",
    "opsgenie": "oncall/opsgenie-oncall.swagger.json",
    "jsm": "oncall/jsm-ops-oncall.v3.EXCERPT.json",
}


@cache
def registry(provider: str) -> Registry:
    spec = json.loads(spec_file(FILES[provider]).read_text())  # vendored, else ../shared (the JSM excerpt)
    return Registry().with_resource(f"urn:{provider}", Resource.from_contents(spec, default_specification=DRAFT4))


def schema(provider: str, *pointer: str) -> Any:
    ref = {"$ref": f"urn:{provider}#/" + "/".join(t.replace("~", "~0").replace("/", "~1") for t in pointer)}
    if provider == "opsgenie":
        return jsonschema.Draft4Validator(ref, registry=registry(provider))
    return OAS30Validator(ref, registry=registry(provider), format_checker=OAS30Validator.FORMAT_CHECKER)


def response(provider: str, path: str, method: str = "get", status: str = "200") -> Any:
    if provider == "opsgenie":
        return schema(provider, "paths", path, method, "responses", status, "schema")
    media = "application/vnd.api+json" if provider == "rootly" else "application/json"
    return schema(provider, "paths", path, method, "responses", status, "content", media, "schema")


@pytest.fixture(scope="module")
def world():
    return build_world(seed=7, people=45)


def client(world, provider: str):
    app = build_app(provider, world, SimOptions(token=DEMO_TOKENS[provider]))
    if provider == "jsm":
        pair = f"{world.jsm.email}:{DEMO_TOKENS['jsm']}".encode()
        return sim_client(app, provider, None, {"Authorization": "Basic " + base64.b64encode(pair).decode()})
    return sim_client(app, provider, DEMO_TOKENS[provider])


async def get(c, path: str, status: int = 200) -> Any:
    answer = await c.get(path)
    assert answer.status_code == status, answer.text
    return answer.json()


async def test_rootly_on_call_reads_match_the_spec(world):
    store = world.rootly.oncall
    async with client(world, "rootly") as c:
        for path, spec in (
            ("/v1/schedules", "/v1/schedules"),
            (
                "/v1/escalation_policies?include=escalation_policy_levels,escalation_policy_paths",
                "/v1/escalation_policies",
            ),
            ("/v1/oncalls?include=user,schedule,escalation_policy", "/v1/oncalls"),
        ):
            body = await get(c, path)
            assert body["data"]
            assert_valid(response("rootly", spec), body)
        for sid in store.schedules:
            assert_valid(response("rootly", "/v1/schedules/{id}"), await get(c, f"/v1/schedules/{sid}"))
            rotations = await get(c, f"/v1/schedules/{sid}/schedule_rotations")
            assert_valid(response("rootly", "/v1/schedules/{schedule_id}/schedule_rotations"), rotations)
            overrides = await get(c, f"/v1/schedules/{sid}/override_shifts")
            assert_valid(response("rootly", "/v1/schedules/{schedule_id}/override_shifts"), overrides)
        for rid in store.rotations:
            assert_valid(
                response("rootly", "/v1/schedule_rotations/{id}"), await get(c, f"/v1/schedule_rotations/{rid}")
            )
            users = await get(c, f"/v1/schedule_rotations/{rid}/schedule_rotation_users")
            assert users["data"]
            assert_valid(
                response("rootly", "/v1/schedule_rotations/{schedule_rotation_id}/schedule_rotation_users"), users
            )
        for uid in list(store.rotation_users)[:3]:
            one = await get(c, f"/v1/schedule_rotation_users/{uid}")
            assert_valid(response("rootly", "/v1/schedule_rotation_users/{id}"), one)
        for pid in store.policies:
            assert_valid(
                response("rootly", "/v1/escalation_policies/{id}"), await get(c, f"/v1/escalation_policies/{pid}")
            )
            paths = await get(c, f"/v1/escalation_policies/{pid}/escalation_paths")
            assert_valid(response("rootly", "/v1/escalation_policies/{escalation_policy_id}/escalation_paths"), paths)
            levels = await get(c, f"/v1/escalation_policies/{pid}/escalation_levels")
            assert_valid(response("rootly", "/v1/escalation_policies/{escalation_policy_id}/escalation_levels"), levels)
            by_path = await get(c, f"/v1/escalation_paths/{paths['data'][0]['id']}/escalation_levels")
            assert by_path["data"] == levels["data"]
        for lid in store.levels:
            assert_valid(response("rootly", "/v1/escalation_levels/{id}"), await get(c, f"/v1/escalation_levels/{lid}"))
        for oid in store.overrides:
            assert_valid(response("rootly", "/v1/override_shifts/{id}"), await get(c, f"/v1/override_shifts/{oid}"))
        missing = await get(c, "/v1/schedules/nope", 404)
        assert_valid(response("rootly", "/v1/schedules/{id}", status="404"), missing)


async def test_opsgenie_on_call_reads_and_the_428_match_the_spec(world):
    store = world.opsgenie.oncall
    async with client(world, "opsgenie") as c:
        listed = await get(c, "/v2/schedules?expand=rotation")
        assert listed["data"][0]["rotations"] and "rotations" not in (await get(c, "/v2/schedules"))["data"][0]
        assert_valid(response("opsgenie", "/v2/schedules"), listed)
        for flat in ("true", "false"):
            assert_valid(
                response("opsgenie", "/v2/schedules/on-calls"), await get(c, f"/v2/schedules/on-calls?flat={flat}")
            )
        for sid, schedule in store.schedules.items():
            assert_valid(response("opsgenie", "/v2/schedules/{identifier}"), await get(c, f"/v2/schedules/{sid}"))
            by_name = await get(c, f"/v2/schedules/{schedule['name']}?identifierType=name")
            assert by_name["data"]["id"] == sid
            for sub in ("rotations", "overrides", "on-calls"):
                body = await get(c, f"/v2/schedules/{sid}/{sub}")
                assert_valid(response("opsgenie", f"/v2/schedules/{{identifier}}/{sub}"), body)
            rotation = schedule["rotations"][0]["id"]
            one = await get(c, f"/v2/schedules/{sid}/rotations/{rotation}")
            assert_valid(response("opsgenie", "/v2/schedules/{identifier}/rotations/{id}"), one)
            for override in store.overrides[sid]:
                one = await get(c, f"/v2/schedules/{sid}/overrides/{override['alias']}")
                assert_valid(response("opsgenie", "/v2/schedules/{identifier}/overrides/{alias}"), one)
        assert_valid(response("opsgenie", "/v2/escalations"), await get(c, "/v2/escalations"))
        for eid in store.escalations:
            assert_valid(response("opsgenie", "/v2/escalations/{identifier}"), await get(c, f"/v2/escalations/{eid}"))
        leaver = store.planted["leaver"][0]
        for sub in ("schedules", "escalations"):
            body = await get(c, f"/v2/users/{leaver}/{sub}")
            assert body["data"]
            assert_valid(response("opsgenie", f"/v2/users/{{identifier}}/{sub}"), body)
        refused = await c.delete(f"/v2/users/{leaver}")
        assert refused.status_code == 428
        # The spec's `default` response (GeneralError) is an ErrorResponse.
        assert_valid(schema("opsgenie", "definitions", "ErrorResponse"), refused.json())


async def test_jsm_on_call_reads_match_the_spec(world):
    store = world.jsm.oncall
    root = f"/jsm/ops/api/{world.jsm.cloud_id}/v1"
    spec = "/api/{cloudId}/v1"
    async with client(world, "jsm") as c:
        listed = await get(c, f"{root}/schedules?expand=rotation")
        assert len(listed["values"]) == len(store.schedules)
        assert_valid(response("jsm", spec + "/schedules"), listed)
        for sid, schedule in store.schedules.items():
            assert_valid(response("jsm", spec + "/schedules/{id}"), await get(c, f"{root}/schedules/{sid}"))
            rotations = await get(c, f"{root}/schedules/{sid}/rotations")
            assert_valid(response("jsm", spec + "/schedules/{scheduleId}/rotations"), rotations)
            one = await get(c, f"{root}/schedules/{sid}/rotations/{schedule['rotations'][0]['id']}")
            assert_valid(response("jsm", spec + "/schedules/{scheduleId}/rotations/{id}"), one)
            overrides = await get(c, f"{root}/schedules/{sid}/overrides")
            assert_valid(response("jsm", spec + "/schedules/{scheduleId}/overrides"), overrides)
            for override in overrides["values"]:
                one = await get(c, f"{root}/schedules/{sid}/overrides/{override['alias']}")
                assert_valid(response("jsm", spec + "/schedules/{scheduleId}/overrides/{alias}"), one)
            # The spec's oneOf of two schemas without required keys matches both: check each branch.
            assert_valid(
                schema("jsm", "components", "schemas", "OnCallParticipants"),
                await get(c, f"{root}/schedules/{sid}/on-calls"),
            )
            flat = await get(c, f"{root}/schedules/{sid}/on-calls?flat=true")
            assert set(flat) == {"onCallUsers"}
            assert_valid(schema("jsm", "components", "schemas", "OnCallUsers"), flat)
        for eid, team in store.escalation_team.items():
            listed = await get(c, f"{root}/teams/{team}/escalations")
            assert [e["id"] for e in listed["values"]] == [eid]
            assert_valid(response("jsm", spec + "/teams/{teamId}/escalations"), listed)
            one = await get(c, f"{root}/teams/{team}/escalations/{eid}")
            assert_valid(response("jsm", spec + "/teams/{teamId}/escalations/{id}"), one)
        missing = await get(c, f"{root}/schedules/nope", 404)
        assert_valid(response("jsm", spec + "/schedules/{id}", status="404"), missing)


async def test_a_broken_on_call_record_is_rejected_by_the_validators(world):
    rotation = json.loads(json.dumps(next(iter(world.rootly.oncall.rotations.values()))))
    rotation["attributes"]["schedule_rotationable_type"] = "Hourly"
    assert list(schema("rootly", "components", "schemas", "schedule_rotation").iter_errors(rotation["attributes"]))
    opsgenie = json.loads(json.dumps(next(iter(world.opsgenie.oncall.schedules.values()))))
    opsgenie["rotations"][0]["type"] = "monthly"
    assert list(schema("opsgenie", "definitions", "Schedule").iter_errors(opsgenie))
    jsm = json.loads(json.dumps(next(iter(world.jsm.oncall.schedules.values()))))
    jsm["rotations"][0]["participants"][0]["type"] = "none"  # JSM says noone
    assert list(schema("jsm", "components", "schemas", "Schedule").iter_errors(jsm))
