"""Which simulator serves which provider: the one place that knows, keyed by the provider's name.

A `Simulator` is a provider's simulated side as one value: how to seed its records from the
world's people, how to build its HTTP app over them, the demo token its app accepts, and any
other settings the product needs to reach it. Every provider in
`mcp_directory.providers.PROVIDERS` has one (a test checks).

A simulator may migrate from another provider (`migrates_from`): the world does not hand its
accounts out to people; its seeder gets the people with an account at the source instead, and
decides who came over. The native providers' records do not change when one is added.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette

from mcp_directory.sim.common import SimOptions
from mcp_directory.sim.jsm import build_jsm_app
from mcp_directory.sim.jsm_seed import EMAIL, ORG_ID, ORG_KEY, seed_jsm
from mcp_directory.sim.okta import build_okta_app
from mcp_directory.sim.okta_seed import CLIENT_ID, DEMO_KEY, private_pem, seed_okta
from mcp_directory.sim.opsgenie import build_opsgenie_app
from mcp_directory.sim.opsgenie_seed import seed_opsgenie
from mcp_directory.sim.retool import build_retool_app
from mcp_directory.sim.retool_seed import seed_retool
from mcp_directory.sim.rootly import build_rootly_app
from mcp_directory.sim.rootly_seed import seed_rootly
from mcp_directory.sim.world import PROVIDERS, SeedPerson, World, assign_accounts, disable_accounts, make_people


@dataclass(frozen=True)
class Simulator:
    name: str
    seed: Callable[[random.Random, list[SeedPerson]], Any]  # the people with an account -> its records
    app: Callable[[Any, SimOptions], Starlette]  # its records -> its API
    demo_token: str
    # Whether its accounts can be switched off (inactive, blocked) rather than only deleted: the
    # world then switches some off there (`SeedPerson.disabled`), and its seeder says so its own way.
    can_disable: bool = False
    # The provider whose people it seeds from (a site migrated from it), or None: its own share.
    migrates_from: str | None = None
    # Setting values (by setting key) besides the credential and base URL, for the app served at a URL.
    settings: Callable[[str], dict[str, str]] = lambda url: {}
    # The identity provider (SPEC §14): its seeder gets every person, and decides who left, who
    # is a contractor without an account there and who was just hired; it hands out no tool accounts.
    identity: bool = False


def jsm_settings(url: str) -> dict[str, str]:
    """The site and api.atlassian.com are one simulated app (the cloudId comes from its tenant_info)."""
    return {"email": EMAIL, "org_id": ORG_ID, "api_url": url, "org_key": ORG_KEY}


def okta_settings(url: str) -> dict[str, str]:
    """The demo's service app: its client id and private key (the org also takes the API token)."""
    return {"client_id": CLIENT_ID, "private_key": private_pem(DEMO_KEY)}


SIMULATORS: dict[str, Simulator] = {
    s.name: s
    for s in (
        Simulator("rootly", seed_rootly, build_rootly_app, "demo-rootly-token"),
        Simulator("opsgenie", seed_opsgenie, build_opsgenie_app, "demo-opsgenie-key", can_disable=True),
        Simulator("retool", seed_retool, build_retool_app, "demo-retool-token", can_disable=True),
        Simulator("jsm", seed_jsm, build_jsm_app, "demo-jsm-token", migrates_from="opsgenie", settings=jsm_settings),
        Simulator("okta", seed_okta, build_okta_app, "demo-okta-token", settings=okta_settings, identity=True),
    )
}


# The providers whose accounts the world hands out to people (the others migrate from one of them).
NATIVE: tuple[str, ...] = tuple(
    name for name in PROVIDERS if SIMULATORS[name].migrates_from is None and not SIMULATORS[name].identity
)


def build_world(seed: int = 1, people: int = 60) -> World:
    """The deterministic directory for (seed, people): the people, then each provider's records
    of those who hold an account with it (with its source, for a migrated one), seeded by its
    simulator."""
    if people < 1:
        raise ValueError("people must be at least 1")
    rng = random.Random(f"people:{seed}")
    persons = make_people(rng, people)
    assign_accounts(rng, persons, NATIVE)
    disable_accounts(rng, persons, [name for name in NATIVE if SIMULATORS[name].can_disable])

    def members(provider: str) -> list[SeedPerson]:
        if SIMULATORS[provider].identity:
            return list(persons)
        return [p for p in persons if provider in p.provider_emails]

    directories = {
        name: SIMULATORS[name].seed(random.Random(f"{name}:{seed}"), members(SIMULATORS[name].migrates_from or name))
        for name in PROVIDERS
    }
    return World(seed=seed, people=persons, directories=directories)
