"""`--demo`: every provider, simulated in process over a seeded directory.

The simulators are the same HTTP apps the tests use; requests reach them through
`httpx2.ASGITransport`, so the demo exercises the real adapters and HTTP path with no
network and no credentials. Writes (with --allow-writes) change only this memory.
"""

from __future__ import annotations

import dataclasses

import httpx2 as httpx

from .config import Settings, read_provider
from .directory import Directory
from .providers import PROVIDERS
from .sim import DEMO_TOKENS, build_apps, build_world, env_for


def demo_directory(settings: Settings, *, seed: int = 1, people: int = 60) -> Directory:
    world = build_world(seed=seed, people=people)
    apps = build_apps(world, DEMO_TOKENS)
    # Configured as an operator would be, from the variables that point at the simulators.
    env = env_for({name: f"http://{name}.demo" for name in apps}, DEMO_TOKENS)
    configs = {p.name: read_provider(p, env)[0] for p in PROVIDERS if p.name in apps}
    providers = {name: config for name, config in configs.items() if config is not None}
    # No client-side throttle: the simulators are in process and unlimited.
    client = dataclasses.replace(settings.client, requests_per_minute={name: 0 for name in providers})
    settings = dataclasses.replace(settings, providers=providers, demo=True, warnings=(), client=client)
    transports = {name: httpx.ASGITransport(app=app) for name, app in apps.items()}
    directory = Directory(settings, transports=transports)
    return directory
