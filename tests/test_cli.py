"""The command line as a user runs it (subprocesses of the real program)."""

from __future__ import annotations

import json
import subprocess
import sys

from mcp_directory.cli import parse_arguments
from mcp_directory.providers import PROVIDERS
from mcp_directory.sim import build_apps, build_world, env_for, serve_on_loopback
from mcp_directory.tools import full_set

from .support import TOKENS, clean_env


def run(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "mcp_directory", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(**(env or {})),
    )


def test_demo_call_prints_normalized_users_of_each_provider():
    for provider in ("rootly", "opsgenie", "retool"):
        proc = run("call", "list_users", "--demo", f"provider={provider}", "limit=3")
        assert proc.returncode == 0, proc.stderr
        page = json.loads(proc.stdout)
        assert page["provider"] == provider and len(page["result"]) == 3 and page["next_cursor"]
        assert all(u["provider"] == provider and "@" in u["email"] for u in page["result"])


def test_call_cursor_works_across_processes():
    first = json.loads(run("call", "list_users", "--demo", "provider=rootly", "limit=2").stdout)
    proc = run(
        "call",
        "list_users",
        "--demo",
        "--json",
        json.dumps({"provider": "rootly", "limit": 2, "cursor": first["next_cursor"]}),
    )
    assert proc.returncode == 0, proc.stderr
    second = json.loads(proc.stdout)
    assert {u["id"] for u in second["result"]}.isdisjoint(u["id"] for u in first["result"])


def test_call_error_goes_to_stderr_with_exit_1():
    proc = run("call", "get_me", "--demo", "provider=opsgenie")
    assert proc.returncode == 1 and proc.stdout == ""
    assert json.loads(proc.stderr.strip().splitlines()[-1])["error"]["code"] == "unsupported"


def test_bad_call_arguments_exit_2():
    assert run("call", "list_users", "--demo", "notapair").returncode == 2
    assert run("call", "list_users", "--demo", "--json", "[1]").returncode == 2


def test_pair_values_are_json_except_where_the_argument_is_a_string():
    """`search=42` stays the string "42" — also for an optional argument, served as
    `anyOf: [string, null]` — while `limit=3` is a number and `fields=[...]` a list."""
    tools = {t.name: t for t in full_set()}
    schema = tools["list_users"].input_schema(PROVIDERS)
    pairs = ["provider=rootly", "search=42", "limit=3", 'fields=["email"]']
    assert parse_arguments(None, pairs, schema) == {
        "provider": "rootly",
        "search": "42",
        "limit": 3,
        "fields": ["email"],
    }
    body = parse_arguments(None, ['body={"a": 1}'], tools["proxy_request"].input_schema(PROVIDERS))
    assert body == {"body": '{"a": 1}'}  # proxy_request's body is the JSON text


def test_tools_lists_name_toolset_and_kind():
    proc = run("tools", "--demo", "--toolsets", "incidents")
    assert proc.returncode == 0
    assert proc.stdout.split() == ["list_incident_roles", "incidents", "read-only"]
    assert run("tools", "--toolsets", "nope").returncode == 2


def test_check_against_simulators_on_loopback():
    world = build_world(seed=2, people=20)
    with serve_on_loopback(build_apps(world, TOKENS)) as urls:
        env = env_for(urls, TOKENS)
        good = run("check", env=env)
        assert good.returncode == 0, good.stdout + good.stderr
        assert good.stdout.count(" ok ") == len(urls) == 5 and urls["retool"] in good.stdout
        assert urls["okta"] in good.stdout  # signed in as the demo's service app, over a real port
        bad = run("check", env={**env, "RETOOL_API_TOKEN": "nope-0b1d"})
        assert bad.returncode == 1
        assert "unauthorized" in bad.stdout and "nope-0b1d" not in bad.stdout + bad.stderr


def test_check_with_nothing_configured_fails():
    proc = run("check")
    assert proc.returncode == 1 and "ROOTLY_API_TOKEN" in proc.stdout


def test_demo_write_assigns_by_incident_number_and_audits_one_json_line():
    from mcp_directory.sim import DEMO_TOKENS, build_world

    world = build_world()
    incident = next(iter(world.rootly.incidents.values()))
    person = next(p for p in world.people if "rootly" in p.accounts)
    number = str(incident["attributes"]["sequential_id"])  # a string argument that looks like a number
    proc = run(
        "call",
        "assign_incident_role",
        "--demo",
        "--allow-writes",
        f"incident_id={number}",
        f"user={person.email.upper()}",
        "incident_role=Commander",
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)["result"]
    assert result["incident"]["id"] == incident["id"] and result["user"]["id"] == person.accounts["rootly"]
    (line,) = [json.loads(x) for x in proc.stderr.splitlines() if x.startswith("{")]
    assert line["event"] == "write" and line["tool"] == "assign_incident_role" and line["outcome"] == "ok"
    assert not any(token in proc.stderr for token in DEMO_TOKENS.values())


def test_write_tool_without_writes_says_how_to_allow_them():
    proc = run("call", "create_user", "--demo", "provider=retool", "email=a@b.co", "first_name=A", "last_name=B")
    assert proc.returncode == 1
    assert json.loads(proc.stderr.strip().splitlines()[-1])["error"]["code"] == "writes_disabled"


def test_a_reader_that_goes_away_gets_no_traceback():
    """`mcp-directory call ... | head`: the pipe closes before the result is written."""
    process = subprocess.Popen(
        [sys.executable, "-m", "mcp_directory", "call", "list_users", "--demo", "provider=rootly"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # before anything was written
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 1
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr
