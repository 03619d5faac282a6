"""Every tool's inputSchema is one that every model API's conversion takes whole (SPEC §15), and
the server reads what a strict model sends the way the schema means it: null as absent, an empty
string or list as a mistake to name, a provider the tool does not support as `unsupported`.

The frameworks themselves are checked in CI, each in its own virtual environment; this is the
part that needs none of them: the rules, a strict conversion done the way strict converters do
it, and the replays of what such models sent, through a real MCP client."""

from __future__ import annotations

import copy
import itertools
import json
import re
from typing import Any

import jsonschema
import pytest
from mcp import Client

from mcp_directory.config import TOOLSETS
from mcp_directory.providers import PROVIDERS
from mcp_directory.server import build_server
from mcp_directory.sim import build_world
from mcp_directory.tools import Tool, full_set

from .support import fails, ok, sim_directory

NULL = {"type": "null"}
NAMES = {p.name for p in PROVIDERS}
SUBSETS = [list(c) for n in range(1, len(PROVIDERS) + 1) for c in itertools.combinations(PROVIDERS, n)]


def nodes(schema: Any, where: str = "") -> Any:
    """Every schema object in `schema`, with where it is."""
    if isinstance(schema, dict):
        yield where, schema
        for key, value in schema.items():
            if key in ("properties",):
                for name, sub in value.items():
                    yield from nodes(sub, f"{where}.{name}")
            elif key in ("items", "additionalProperties"):
                yield from nodes(value, f"{where}[{key}]")
            elif key == "anyOf":
                for i, sub in enumerate(value):
                    yield from nodes(sub, f"{where}|{i}")


def typed(schema: dict[str, Any]) -> bool:
    """A single JSON type, or anyOf of branches that each have one."""
    if "anyOf" in schema:
        return "type" not in schema and all(isinstance(b.get("type"), str) for b in schema["anyOf"])
    return isinstance(schema.get("type"), str)


def supporting(tool: Tool, providers: list[Any]) -> set[str]:
    """The providers that have the tool's operation (every one, for a tool that needs none)."""
    return {p.name for p in providers if not tool.operation or p.supports(tool.operation)}


def violations(tool: Tool, providers: list[Any]) -> list[str]:
    """What in `tool`'s inputSchema, as shown with `providers`, breaks a rule of SPEC §15."""
    schema = tool.input_schema(providers)
    found = []
    text = json.dumps(schema)
    if schema.get("type") != "object" or not isinstance(schema.get("properties"), dict):
        found.append("the top level is not an object with properties")
    if not isinstance(schema.get("required"), list):
        found.append("the top level has no required list")
    for keyword in ("anyOf", "oneOf", "allOf", "not", "if", "$ref", "$defs", "patternProperties"):
        if keyword in schema or (keyword.startswith("$") and f'"{keyword}"' in text):
            found.append(f"{keyword} at the top level or a reference")
    if "x-provider" in text:
        found.append("an unfilled provider marker")
    able = supporting(tool, providers)
    for where, node in nodes(schema):
        if "additionalProperties" in node:  # a boolean crashes google-genai; a schema is a free-form map
            found.append(f"{where}: additionalProperties")
        if node.get("type") == "object" and not isinstance(node.get("properties"), dict):
            found.append(f"{where}: an object without named properties")
        if isinstance(node.get("type"), list):
            found.append(f"{where}: a type list")
        for key in ("oneOf", "allOf"):
            if key in node:
                found.append(f"{where}: {key}")
        if where and not typed(node):
            found.append(f"{where}: untyped")
        if node.get("type") == "array" and not (isinstance(node.get("items"), dict) and typed(node["items"])):
            found.append(f"{where}: untyped items")
        if "anyOf" in node and node["anyOf"].count(NULL) > 1:
            found.append(f"{where}: null twice")
        enum = node.get("enum")
        if enum and set(enum) & NAMES and set(enum) != able:  # only the providers that support the tool
            found.append(f"{where}: provider enum {enum}, but the tool is supported by {sorted(able)}")
        if enum and any(not isinstance(v, str) for v in enum):
            found.append(f"{where}: enum values must be strings")
        properties = node.get("properties")
        if isinstance(properties, dict):
            required = node.get("required", [])
            for name, prop in properties.items():
                if not prop.get("description"):
                    found.append(f"{where}.{name}: no description")
                if name in required:
                    if "default" in prop or NULL in prop.get("anyOf", []):
                        found.append(f"{where}.{name}: required but optional-looking")
                elif not (NULL in prop.get("anyOf", []) and "default" in prop and prop["default"] is None):
                    found.append(f"{where}.{name}: optional without anyOf [..., null] and default null")
    if able:  # a list of providers names each of them at most once
        for where, node in nodes(schema):
            names = set(node.get("items", {}).get("enum", [])) & NAMES
            if node.get("type") == "array" and names and node.get("maxItems") != len(able):
                found.append(f"{where}: maxItems {node.get('maxItems')} for {len(able)} providers")
    jsonschema.Draft202012Validator.check_schema(schema)
    return found


@pytest.mark.parametrize("providers", SUBSETS, ids=["+".join(p.name for p in s) for s in SUBSETS])
def test_every_input_schema_keeps_the_rules_of_every_model_api(providers):
    found = {t.name: v for t in full_set() if (v := violations(t, providers))}
    assert found == {}


def test_the_rules_can_fail():
    """Each rule of the walk catches the shape it is there for (the old shapes among them)."""
    bad = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "provider": {"type": "string", "enum": ["rootly", "opsgenie"], "description": "d"},
            "email": {"type": "string", "default": None, "description": "d"},
            "query": {"type": "object", "additionalProperties": {"type": "string"}, "description": "d"},
            "body": {"anyOf": [{"type": "object"}, {"type": "array", "items": {}}, NULL], "description": "d"},
            "status": {"type": ["string", "null"], "default": None, "description": "d"},
        },
    }
    licenses = next(t for t in full_set() if t.name == "list_licenses")

    class Shown:
        operation = licenses.operation

        def input_schema(self, providers):
            return bad

    found = "\n".join(violations(Shown(), PROVIDERS))  # type: ignore[arg-type]
    for expected in (
        "no required list",
        ": additionalProperties",
        ".provider: provider enum",
        ".email: optional without anyOf",
        ".query: an object without named properties",
        ".body|0: an object without named properties",
        ".body|1: untyped items",
        ".status: a type list",
    ):
        assert expected in found, expected


def test_provider_arguments_offer_only_the_providers_that_support_the_tool():
    tools = {t.name: t for t in full_set()}
    enum = tools["list_licenses"].input_schema(PROVIDERS)["properties"]["provider"]["enum"]
    assert "rootly" not in enum and enum == [p.name for p in PROVIDERS if p.supports("licenses")]
    assert tools["get_me"].input_schema(PROVIDERS)["properties"]["provider"]["enum"] == [
        p.name for p in PROVIDERS if p.supports("me")
    ]
    # With no provider that supports it, the argument is a plain string (an empty enum admits
    # nothing, and some model APIs refuse one); the call says why.
    unable = [p for p in PROVIDERS if not p.supports("licenses")]
    alone = tools["list_licenses"].input_schema(unable)["properties"]["provider"]
    assert unable and "enum" not in alone and alone["type"] == "string"
    assert tools["list_licenses"].describe(unable).endswith("Supported by no configured provider.")


def strict(schema: Any) -> Any:
    """`schema` as OpenAI's strict mode takes it, converted the way the OpenAI Agents SDK and
    Pydantic AI convert it: every object closed and every property required, null defaults
    dropped. Refuses, as those converters do, what strict mode cannot express."""
    if isinstance(schema, list):
        return [strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: strict(v) for k, v in schema.items()}
    if out.get("type") == "object":
        if out.get("additionalProperties"):
            raise ValueError("additionalProperties should not be set for object types")
        out["additionalProperties"] = False
        out["required"] = list(out.get("properties", {}))
    if "default" in out and out["default"] is None:
        del out["default"]
    return out


def example(schema: dict[str, Any]) -> Any:
    """A value `schema` admits (not null, when it can be something else)."""
    if "anyOf" in schema:
        return example(next(b for b in schema["anyOf"] if b != NULL))
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema["type"]
    if kind == "object":
        return {name: example(sub) for name, sub in schema["properties"].items()}
    if kind == "array":
        return [example(schema["items"])]
    if kind == "integer":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    for candidate in ("/v1/users", "ann@acme.com", "x" * schema.get("minLength", 1)):
        if re.search(schema.get("pattern", ""), candidate) and len(candidate) >= schema.get("minLength", 0):
            return candidate
    raise AssertionError(f"no example for {schema}")


@pytest.mark.parametrize("tool", full_set(), ids=lambda t: t.name)
def test_strict_conversion_loses_no_meaning(tool):
    """Made strict, every optional argument still admits null, null is read exactly as leaving
    the argument out, and what the schema admits the server reads (and the other way round)."""
    schema = tool.input_schema(PROVIDERS)
    converted = strict(copy.deepcopy(schema))
    optional = [name for name in schema["properties"] if name not in schema["required"]]
    given = example(schema)  # every argument, optional ones too
    nulls = {name: (None if name in optional else value) for name, value in given.items()}
    for instance in (given, nulls):
        jsonschema.validate(instance, converted)
    absent = {name: value for name, value in nulls.items() if name not in optional}
    assert tool.args.model_validate(nulls) == tool.args.model_validate(absent)
    tool.args.model_validate(given)
    for name in optional:  # and each one alone
        assert tool.args.model_validate({**absent, name: None}) == tool.args.model_validate(absent), name
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**given, "bogus": 1}, converted)


def test_non_null_defaults_are_said_in_the_description():
    """null stands for an argument's default; where that is not null, the model reads which it is."""
    for tool in full_set():
        properties = tool.input_schema(PROVIDERS)["properties"]
        for name, field in tool.args.model_fields.items():
            if not field.is_required() and field.default is not None:
                said = json.dumps(field.default).strip('"')
                assert said in properties[name]["description"], f"{tool.name}.{name}: default {said} not said"


# Replays of what strict models sent (issue 18), through a real MCP client.


@pytest.fixture(scope="module")
def world():
    return build_world(seed=5, people=40)


@pytest.fixture
async def client(world):
    directory, _ = sim_directory(world, allow_writes=True)
    async with Client(build_server(directory)) as c:
        yield c


def test_the_server_serves_exactly_these_schemas(world):
    directory, _ = sim_directory(world, allow_writes=True)
    server = build_server(directory)
    assert set(directory.settings.toolsets) == set(TOOLSETS)
    served = {t.name: t.input_schema for t in server.listed}
    assert served == {t.name: t.input_schema(list(directory.providers.values())) for t in full_set()}


@pytest.mark.anyio
async def test_null_is_absent_and_empty_is_a_named_mistake(client, world):
    every = len(world.retool.users)
    absent = await ok(client, "list_users", {"provider": "retool", "limit": 200})
    assert len(absent["result"]) == every > 0
    nulls = {"search": None, "email": None, "fields": None, "cursor": None}
    assert await ok(client, "list_users", {"provider": "retool", "limit": 200, **nulls}) == absent
    assert await ok(client, "list_users", {"provider": "retool", "limit": None}) == await ok(
        client, "list_users", {"provider": "retool"}
    )
    for empty in ({"email": ""}, {"email": "  "}, {"search": ""}, {"fields": []}, {"cursor": ""}):
        (name,) = empty
        err = await fails(client, "list_users", {"provider": "retool", **empty}, "invalid_argument")
        assert repr(name) in err["message"] and "null" in err["message"], err
    err = await fails(client, "list_users", {"provider": "retool", "email": "", "fields": []}, "invalid_argument")
    assert "'email' and 'fields' are empty" in err["message"]
    # a required argument is never null, nor empty
    await fails(client, "list_users", {"provider": None}, "invalid_argument")
    err = await fails(client, "get_user", {"provider": "retool", "user_id": ""}, "invalid_argument")
    assert "'user_id'" in err["message"] and "give a value" in err["message"]


@pytest.mark.anyio
async def test_an_unknown_argument_is_refused_even_as_null(client):
    for bogus in ({"emails": None}, {"emails": "ann@acme.com"}, {"additionalProperties": True}):
        err = await fails(client, "list_users", {"provider": "retool", **bogus}, "invalid_argument")
        assert next(iter(bogus)) in err["message"]


@pytest.mark.anyio
async def test_access_review_status_null_is_no_filter(client):
    absent = await ok(client, "access_review", {"limit": 200})
    nulls = {k: None for k in ("status", "email", "providers", "present_in", "absent_from", "inactive_since")}
    nulled = await ok(client, "access_review", {"limit": 200, "mixed_status": None, "admins_only": None, **nulls})
    assert nulled["result"] == absent["result"] and nulled["total"] == absent["total"] > 0
    active = await ok(client, "access_review", {"limit": 200, "status": "active"})
    assert active["total"] < absent["total"]  # the filter itself still filters
    for empty in ({"status": ""}, {"present_in": []}, {"providers": []}):
        err = await fails(client, "access_review", empty, "invalid_argument")
        assert repr(next(iter(empty))) in err["message"]


@pytest.mark.anyio
async def test_confirm_stays_a_json_boolean_and_null_changes_nothing(client, world):
    group_id, team = next(iter(world.opsgenie.teams.items()))
    member = team["members"][0]["user"]["id"]
    args = {"provider": "opsgenie", "group_id": group_id, "user_id": member}
    for wrong in ("true", 1, "yes", ""):
        await fails(client, "remove_group_member", {**args, "confirm": wrong}, "invalid_argument")
    plan = await ok(client, "remove_group_member", {**args, "confirm": None})
    assert plan["dry_run"] is True and plan == await ok(client, "remove_group_member", args)
    assert member in [m["user"]["id"] for m in world.opsgenie.teams[group_id]["members"]]


@pytest.mark.anyio
async def test_a_provider_the_tool_does_not_offer_is_unsupported_not_a_schema_error(client):
    tools = {t.name: t for t in (await client.list_tools()).tools}
    assert "rootly" not in tools["list_licenses"].input_schema["properties"]["provider"]["enum"]
    err = await fails(client, "list_licenses", {"provider": "rootly"}, "unsupported")
    assert err["provider"] == "rootly" and "opsgenie" in err["message"]
    err = await fails(client, "get_me", {"provider": "opsgenie"}, "unsupported")
    assert "rootly" in err["message"]
