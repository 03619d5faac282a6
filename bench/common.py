"""Plumbing shared by the benchmarks: simulators in their own process, our server as a
subprocess, percentiles, RSS."""

from __future__ import annotations

import os
import re
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2 as httpx

from mcp_directory.providers import PROVIDERS
from mcp_directory.sim import env_for


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": round(statistics.median(values) * 1000, 3),
        "p99_ms": round(percentile(values, 99) * 1000, 3),
        "n": len(values),
    }


@contextmanager
def simulators(people: int, latency_ms: float = 0.0, seed: int = 1) -> Iterator[dict[str, str]]:
    """The three simulated providers in a process of their own (so they do not share our
    process's CPU or memory), on loopback ports. Yields provider -> base URL."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mcp_directory.sim",
            "--people",
            str(people),
            "--seed",
            str(seed),
            "--latency-ms",
            str(latency_ms),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        urls: dict[str, str] = {}
        assert proc.stdout is not None
        while len(urls) < len(PROVIDERS):
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("the simulators did not start")
            for provider in PROVIDERS:
                if m := re.search(rf"{provider.spec.setting('base_url').env}=(\S+)", line):
                    urls[provider.name] = m.group(1)
        yield urls
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def server_env(urls: dict[str, str], **extra: str) -> dict[str, str]:
    prefixes = (*(f"{p.name.upper()}_" for p in PROVIDERS), "MCP_DIRECTORY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    return {**env, **env_for(urls), **extra}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy")


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the peak resident set size of a process, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


async def traverse_users(client: Any, provider: str, limit: int = 200) -> int:
    """Follow list_users to the end through an MCP client; the number of users seen."""
    count, cursor = 0, None
    while True:
        args = {"provider": provider, "limit": limit, **({"cursor": cursor} if cursor else {})}
        result = await client.call_tool("list_users", args)
        assert not result.is_error, result.content
        count += len(result.structured_content["result"])
        cursor = result.structured_content["next_cursor"]
        if not cursor:
            return count
