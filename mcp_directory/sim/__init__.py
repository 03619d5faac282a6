"""Simulated provider APIs (Rootly, Opsgenie, Retool, and a JSM site migrated from Opsgenie) over a
deterministic seeded directory.

Used by the product's `--demo` mode (in process) and by the tests (in process or on loopback).
One shared layer (`common`: options, request log, rate limiter, the gate every endpoint passes)
and one module per provider for its records (`*_seed`) and its wire format.
"""

from mcp_directory.sim.common import RequestRecord, SimError, SimOptions
from mcp_directory.sim.faults import FaultPlan
from mcp_directory.sim.registry import NATIVE, SIMULATORS, Simulator, build_world
from mcp_directory.sim.serve import (
    DEMO_TOKENS,
    build_app,
    build_apps,
    env_for,
    serve_on_loopback,
)
from mcp_directory.sim.world import PROVIDERS, SeedPerson, World

__all__ = [
    "DEMO_TOKENS",
    "NATIVE",
    "PROVIDERS",
    "SIMULATORS",
    "FaultPlan",
    "RequestRecord",
    "SeedPerson",
    "SimError",
    "SimOptions",
    "Simulator",
    "World",
    "build_app",
    "build_apps",
    "build_world",
    "env_for",
    "serve_on_loopback",
]
