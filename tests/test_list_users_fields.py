"""`fields` on list_users (SPEC §3, §8): each item holds `id` and only the fields asked for, the
output schema admits both whole and projected items, and the answer costs far fewer bytes."""

from __future__ import annotations

import json
from typing import get_args

import jsonschema
import pytest
from mcp import Client

from mcp_directory.models import ListedUser, User, UserField
from mcp_directory.providers import PROVIDERS as PROVIDER_VALUES
from mcp_directory.server import build_server
from mcp_directory.sim import build_world
from mcp_directory.tools.directory import get_user, list_users

from .support import fails, ok, sim_directory

PROVIDERS = ("rootly", "opsgenie", "retool")


@pytest.fixture(scope="module")
def world():
    return build_world(seed=1, people=60)


@pytest.fixture(params=["auto", "legacy"])
async def client(request, world):
    directory, _ = sim_directory(world)
    async with Client(build_server(directory), mode=request.param) as c:
        yield c


def test_the_field_names_are_the_user_fields_but_id():
    assert list(get_args(UserField)) == [name for name in User.model_fields if name != "id"]
    schema = list_users.input_schema(PROVIDER_VALUES)["properties"]["fields"]
    listed, null = schema["anyOf"]  # optional: null is how a strict model leaves it out (SPEC §15)
    assert listed["items"]["enum"] == list(get_args(UserField)) and listed["maxItems"] == len(get_args(UserField))
    assert null == {"type": "null"} and schema["default"] is None and schema["description"]


def test_output_items_require_only_id_and_keep_every_description():
    item = list_users.output_schema(PROVIDER_VALUES)["properties"]["result"]["items"]
    assert item["required"] == ["id"] and item["additionalProperties"] is False
    assert set(item["properties"]) == set(User.model_fields)
    assert all(p.get("description") for p in item["properties"].values())
    # other tools keep whole Users, every field required
    whole = get_user.output_schema(PROVIDER_VALUES)["properties"]["result"]
    assert set(whole["required"]) == set(User.model_fields)


def test_a_listed_user_dumps_whole_or_projected():
    user = User(
        id="u1",
        provider="retool",
        email="a@acme.com",
        name="A B",
        first_name="A",
        last_name="B",
        username=None,
        status="active",
        is_admin=False,
        roles=[],
        group_ids=None,
        time_zone=None,
        created_at=None,
        updated_at=None,
        last_active_at=None,
    )
    assert ListedUser.of(user).model_dump(mode="json") == user.model_dump(mode="json")
    assert ListedUser.of(user, ["status", "email"]).model_dump(mode="json") == {
        "id": "u1",
        "email": "a@acme.com",
        "status": "active",
    }
    assert ListedUser.of(user, []).model_dump(mode="json") == {"id": "u1"}


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_fields_project_every_item(client, provider):
    whole = await ok(client, "list_users", {"provider": provider, "limit": 20})
    some = await ok(client, "list_users", {"provider": provider, "limit": 20, "fields": ["email", "status"]})
    assert [set(u) for u in some["result"]] == [{"id", "email", "status"}] * 20
    assert some["result"] == [{k: u[k] for k in ("id", "email", "status")} for u in whole["result"]]
    assert (some["provider"], some["total"]) == (whole["provider"], whole["total"])
    # An empty list is how a strict model fills an argument it means to leave out: never read as
    # "ids only" (a silent wrong answer), it is refused, saying to pass null (SPEC §15).
    err = await fails(client, "list_users", {"provider": provider, "limit": 5, "fields": []}, "invalid_argument")
    assert "'fields'" in err["message"] and "null" in err["message"]
    assert await ok(client, "list_users", {"provider": provider, "limit": 20, "fields": None}) == whole


@pytest.mark.anyio
async def test_both_shapes_validate_against_the_output_schema(client):
    """The SDK client already checks structuredContent against outputSchema; this says so explicitly."""
    tool = next(t for t in (await client.list_tools()).tools if t.name == "list_users")
    for fields in (None, ["is_admin", "roles", "last_active_at"], ["provider"]):
        args = {"provider": "rootly", "limit": 7, **({"fields": fields} if fields is not None else {})}
        jsonschema.validate(await ok(client, "list_users", args), tool.output_schema)


@pytest.mark.anyio
@pytest.mark.parametrize("fields", [["emails"], ["id"], "email", ["email", 3], ["email"] * 15])
async def test_unknown_or_malformed_fields_are_invalid_arguments(client, fields):
    error = await fails(client, "list_users", {"provider": "opsgenie", "fields": fields}, "invalid_argument")
    assert "fields" in error["message"]


@pytest.mark.anyio
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_cursor_may_continue_with_other_fields(client, world, provider):
    """`fields` is not part of the cursor's scope: a walk may change the fields it asks for."""
    full = await ok(client, "list_users", {"provider": provider, "limit": 200})
    seen, cursor, turn = [], None, 0
    choices = (["email"], None, ["status", "name"], ["provider"])
    while True:
        fields = choices[turn % len(choices)]
        args = {"provider": provider, "limit": 11, **({"fields": fields} if fields is not None else {})}
        page = await ok(client, "list_users", {**args, **({"cursor": cursor} if cursor else {})})
        keys = {"id", *(fields if fields is not None else User.model_fields)}
        assert all(set(u) == keys for u in page["result"])
        seen += [u["id"] for u in page["result"]]
        cursor, turn = page["next_cursor"], turn + 1
        if cursor is None:
            break
    assert seen == [u["id"] for u in full["result"]]


@pytest.mark.anyio
async def test_a_projected_page_is_much_smaller(client):
    """What the model pays for: the compact JSON text of the page."""
    sizes = {}
    for key, extra in (("whole", {}), ("some", {"fields": ["email", "status"]})):
        result = await client.call_tool("list_users", {"provider": "rootly", "limit": 50, **extra})
        (text,) = [c.text for c in result.content if c.type == "text"]
        assert not result.is_error and text == json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=False)
        sizes[key] = len(text.encode())
    assert sizes["some"] * 3 < sizes["whole"], sizes
