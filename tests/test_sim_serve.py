"""Serving the simulators on real loopback ports, and the `python -m mcp_directory.sim` entry."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest

from mcp_directory.sim import DEMO_TOKENS, build_apps, build_world, serve_on_loopback
from mcp_directory.sim.__main__ import export_lines, main

PATHS = {
    "rootly": "/v1/users/me",
    "opsgenie": "/v2/account",
    "retool": "/api/v2/groups",
    "jsm": "/_edge/tenant_info",
    "okta": "/api/v1/users/me",
}
SCHEMES = {"rootly": "Bearer", "opsgenie": "GenieKey", "retool": "Bearer", "jsm": "Basic", "okta": "SSWS"}


def test_serve_on_loopback_answers_real_http_and_stops():
    world = build_world(seed=2, people=15)
    with serve_on_loopback(build_apps(world)) as urls:
        assert set(urls) == {"rootly", "opsgenie", "retool", "jsm", "okta"}
        assert len(set(urls.values())) == 5
        for provider, url in urls.items():
            assert url.startswith("http://127.0.0.1:")
            response = httpx2.get(
                url + PATHS[provider], headers={"Authorization": f"{SCHEMES[provider]} {DEMO_TOKENS[provider]}"}
            )
            assert response.status_code == 200, response.text
        me = httpx2.get(urls["rootly"] + "/v1/users/me", headers={"Authorization": "Bearer demo-rootly-token"}).json()
        assert me["data"]["id"] == world.rootly.me_id
        users = httpx2.get(
            urls["rootly"] + "/v1/users?page[size]=2", headers={"Authorization": "Bearer demo-rootly-token"}
        ).json()
        assert users["links"]["next"].startswith(urls["rootly"] + "/v1/users?")
    with pytest.raises(httpx2.TransportError):
        httpx2.get(urls["rootly"] + "/v1/users/me", timeout=2)


def test_refuses_non_loopback_hosts():
    with pytest.raises(ValueError), serve_on_loopback({}, host="0.0.0.0"):
        pass


def test_export_lines():
    lines = export_lines(
        {"rootly": "http://127.0.0.1:1", "opsgenie": "http://127.0.0.1:2", "retool": "http://127.0.0.1:3"}, DEMO_TOKENS
    )
    assert lines == [
        "export ROOTLY_BASE_URL=http://127.0.0.1:1 ROOTLY_API_TOKEN=demo-rootly-token",
        "export OPSGENIE_BASE_URL=http://127.0.0.1:2 OPSGENIE_API_KEY=demo-opsgenie-key",
        "export RETOOL_BASE_URL=http://127.0.0.1:3 RETOOL_API_TOKEN=demo-retool-token",
    ]


def test_module_entry_point_prints_exports_and_serves():
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mcp_directory.sim", "--seed", "3", "--people", "10"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=repo,
    )
    try:
        lines = [proc.stdout.readline().strip() for _ in range(3)]
        assert [line.split("=")[0] for line in lines] == [
            "export ROOTLY_BASE_URL",
            "export OPSGENIE_BASE_URL",
            "export RETOOL_BASE_URL",
        ]
        url = lines[1].split()[1].split("=", 1)[1]
        response = httpx2.get(url + "/v2/account", headers={"Authorization": "GenieKey demo-opsgenie-key"})
        assert response.status_code == 200 and response.json()["data"]["userCount"] > 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_module_entry_point_rejects_public_host():
    repo = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-m", "mcp_directory.sim", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(repo)},
        cwd=repo,
        timeout=30,
    )
    assert result.returncode != 0 and "loopback" in result.stderr


@pytest.mark.parametrize(
    "faults,says",
    [('{"latency": 1}', "unexpected keyword"), ('{"latency_s": -1', "delimiter"), ("[1]", "mapping")],
)
def test_module_entry_point_rejects_a_fault_plan_it_cannot_read(faults, says, capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--faults", faults])
    assert exited.value.code == 2 and says in capsys.readouterr().err
