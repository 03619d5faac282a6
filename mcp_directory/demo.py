"""`--demo`: all three providers, simulated in process over a seeded directory.

The simulators are the same HTTP apps the tests use; requests reach them through
`httpx2.ASGITransport`, so the demo exercises the real adapters and HTTP path with no
network and no credentials. Writes (with --allow-writes) change only this memory.
"""

from __future__ import annotations

import dataclasses

import httpx2 as httpx

from .config import ProviderConfig, Settings
from .directory import Directory
from .sim import DEMO_TOKENS, build_apps, build_world


def demo_directory(settings: Settings, *, seed: int = 1, people: int = 60) -> Directory:
    world = build_world(seed=seed, people=people)
    apps = build_apps(world, DEMO_TOKENS)
    providers = {name: ProviderConfig(name, DEMO_TOKENS[name], f"http://{name}.demo") for name in apps}
    # No client-side throttle: the simulators are in process and unlimited.
    client = dataclasses.replace(settings.client, requests_per_minute={name: 0 for name in providers})
    settings = dataclasses.replace(settings, providers=providers, demo=True, warnings=(), client=client)
    transports = {name: httpx.ASGITransport(app=app) for name, app in apps.items()}
    directory = Directory(settings, transports=transports)
    return directory
