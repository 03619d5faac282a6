"""`python -m mcp_directory.sim`: serve the simulated providers on loopback until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import json
import shlex
import sys
import threading

from mcp_directory.sim.faults import FaultPlan
from mcp_directory.sim.registry import build_world
from mcp_directory.sim.serve import (
    DEMO_TOKENS,
    build_apps,
    ensure_loopback,
    env_for,
    serve_on_loopback,
)


def export_lines(urls: dict[str, str], tokens: dict[str, str]) -> list[str]:
    """Shell lines an operator can paste to point the product at the simulators, one per provider
    (a PEM key's newlines written `\\n`, which the product reads back)."""
    return [
        "export "
        + " ".join(f"{k}={shlex.quote(v.replace(chr(10), chr(92) + 'n'))}" for k, v in env_for({p: u}, tokens).items())
        for p, u in urls.items()
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mcp_directory.sim", description=__doc__)
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulated directory")
    parser.add_argument("--people", type=int, default=60, help="number of people in the directory")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added latency per request (benchmarks)")
    parser.add_argument(
        "--faults",
        metavar="JSON",
        help='a FaultPlan (sim/faults.py) for every provider, e.g. \'{"latency_s": 0.3, "methods": ["GET"], '
        '"paths": "^/v1/teams/", "latency_when": "after_handler"}\' (tests); replaces --latency-ms',
    )
    args = parser.parse_args(argv)
    try:
        ensure_loopback(args.host)
        plan = FaultPlan(**json.loads(args.faults)) if args.faults else None
    except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
        parser.error(str(exc))
    world = build_world(seed=args.seed, people=args.people)
    apps = build_apps(world)
    if plan or args.latency_ms:
        for app in apps.values():
            app.state.gate.faults = plan or FaultPlan(latency_s=args.latency_ms / 1000)
    with serve_on_loopback(apps, host=args.host) as urls:
        for line in export_lines(urls, DEMO_TOKENS):
            print(line)
        print("# serving; Ctrl-C to stop", file=sys.stderr, flush=True)
        sys.stdout.flush()
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
