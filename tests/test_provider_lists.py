"""Arguments that name several providers (`find_users.providers`, `access_review.providers`,
`present_in`, `absent_from`, `offboard_user.providers`) name each provider at most once: the server
refuses a repeated name (`invalid_argument`), so no list is longer than its schema's `maxItems`."""

from __future__ import annotations

import pytest
from mcp import Client

from mcp_directory.providers import PROVIDERS
from mcp_directory.server import build_server
from mcp_directory.sim import build_world

from .support import fails, ok, sim_directory

EVERY = [p.name for p in PROVIDERS]
# (tool, the argument, the rest of a call that is otherwise fine)
LISTS = [
    ("find_users", "providers", {"query": "ann"}),
    ("access_review", "providers", {}),
    ("access_review", "present_in", {}),
    ("access_review", "absent_from", {}),
    ("offboard_user", "providers", {"email": "someone@acme.example"}),
]


@pytest.fixture
async def client():
    directory, _apps = sim_directory(build_world(seed=2, people=20), allow_writes=True)
    async with Client(build_server(directory)) as c:
        yield c


@pytest.mark.anyio
async def test_the_schemas_say_each_provider_at_most_once(client):
    tools = {t.name: t for t in (await client.list_tools()).tools}
    for tool, argument, _ in LISTS:
        served = tools[tool].input_schema["properties"][argument]
        (schema,) = [branch for branch in served["anyOf"] if branch["type"] == "array"]  # SPEC §15: [list, null]
        # as many as the providers the tool supports (SPEC §15: offboard_user leaves read-only Okta out)
        assert (
            schema["maxItems"] == len(schema["items"]["enum"])
            and set(schema["items"]["enum"]) <= set(EVERY)
            and schema["uniqueItems"] is True
        ), (tool, argument)


@pytest.mark.anyio
@pytest.mark.parametrize(("tool", "argument", "rest"), LISTS)
async def test_a_repeated_provider_is_invalid_argument(client, tool, argument, rest):
    long = [f"{'x' * 5000}{i}" for i in range(40)]  # each name twice: the message stays short
    for names in (["rootly", "rootly"], [*EVERY, "rootly"], [*EVERY, *EVERY], ["retool"] * 50, long + long):
        err = await fails(client, tool, {**rest, argument: names}, "invalid_argument")
        assert argument in err["message"] and "at most once" in err["message"], err
        assert len(err["message"]) < 600
    # a list of distinct providers still goes through (one past the list is a name that is not a provider)
    await fails(client, tool, {**rest, argument: [*EVERY, "nowhere"]}, "invalid_argument")
    if tool != "offboard_user":  # the person does not exist: not_found, past argument checking
        await ok(client, tool, {**rest, argument: ["rootly", "retool"]})
    else:
        await fails(client, tool, {**rest, argument: ["rootly", "retool"]}, "not_found")
