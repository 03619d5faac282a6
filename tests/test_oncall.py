"""The on-call read tools (SPEC §12) through a real MCP client against the simulated providers:
schedules against the simulators' own records, participants' statuses against list_users, who is
on call and a person's duties against the world's planted parts, coverage_review's findings exactly
against the truth read the long way (list_schedules, list_users, get_group), its paging, snapshot
and export; failures and bad arguments."""

from __future__ import annotations

import csv
import dataclasses
import io

import httpx2 as httpx
import pytest
from mcp import Client

from mcp_directory.config import Settings, read_provider
from mcp_directory.directory import Directory
from mcp_directory.providers import PROVIDERS
from mcp_directory.server import build_server
from mcp_directory.sim import DEMO_TOKENS, FaultPlan, build_apps, build_world, env_for

from .support import call, fails, ok, traverse

ON_CALL = ("rootly", "opsgenie", "jsm")


@pytest.fixture(scope="module")
def world():
    return build_world(seed=3, people=120)


def directory_over(world):
    """Every provider over `world`, configured from its variables as an operator would, unthrottled."""
    apps = build_apps(world, DEMO_TOKENS)
    env = env_for({name: f"http://{name}.sim" for name in apps}, DEMO_TOKENS)
    providers = {p.name: read_provider(p, env)[0] for p in PROVIDERS if p.name in apps}
    settings = Settings(providers={n: c for n, c in providers.items() if c is not None})
    client = dataclasses.replace(settings.client, requests_per_minute={name: 0 for name in settings.providers})
    settings = dataclasses.replace(settings, client=client)
    transports = {name: httpx.ASGITransport(app=app) for name, app in apps.items()}
    return Directory(settings, transports=transports), apps


@pytest.fixture
async def session(world):
    directory, apps = directory_over(world)
    async with Client(build_server(directory)) as client:
        yield client, apps


def email_key(email):
    return email.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))


async def users_of(client, provider):
    return {u["id"]: u for u in await traverse(client, "list_users", {"provider": provider, "limit": 200})}


# --- list_schedules ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_list_schedules_holds_every_schedule_with_participants_as_the_accounts_say(session, world):
    client, _ = session
    for provider in ON_CALL:
        schedules = await traverse(client, "list_schedules", {"provider": provider, "limit": 1})
        assert {s["id"] for s in schedules} == set(getattr(world, provider).oncall.schedules)
        users = await users_of(client, provider)
        for schedule in schedules:
            assert schedule["provider"] == provider and schedule["rotations"], schedule
            for rotation in schedule["rotations"]:
                for p in rotation["participants"]:
                    if p["type"] == "user":
                        known = users.get(p["id"])
                        assert p["status"] == (known["status"] if known else None), p
                        assert p["email"] == (known["email"] if known else None), p
    # the planted ghost of Rootly is a deleted user id: named, but no account (status null)
    rootly = await traverse(client, "list_schedules", {"provider": "rootly", "limit": 50})
    (ghost,) = world.rootly.oncall.planted["ghost"]
    named = [p for s in rootly for r in s["rotations"] for p in r["participants"] if p["id"] == ghost]
    assert named and all(p["status"] is None and p["email"] is None for p in named)


@pytest.mark.anyio
async def test_list_schedules_searches_by_name_any_case(session):
    client, _ = session
    every = await traverse(client, "list_schedules", {"provider": "opsgenie", "limit": 50})
    word = every[0]["name"].split()[0]
    found = await traverse(client, "list_schedules", {"provider": "opsgenie", "search": word.upper(), "limit": 50})
    assert found and {s["id"] for s in found} == {s["id"] for s in every if word.casefold() in s["name"].casefold()}


@pytest.mark.anyio
async def test_a_provider_without_on_call_is_unsupported_from_one_place(session):
    client, _ = session
    for tool, args in [
        ("list_schedules", {"provider": "retool"}),
        ("who_is_on_call", {"providers": ["rootly", "retool"]}),
        ("get_duties", {"email": "a@b.test", "providers": ["retool"]}),
        ("coverage_review", {"providers": ["retool"]}),
    ]:
        error = await fails(client, tool, args, "unsupported")
        assert error["provider"] == "retool" and "rootly, opsgenie, jsm" in error["message"], error


# --- who_is_on_call ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_who_is_on_call_names_the_leaver_now_everywhere(session, world):
    client, _ = session
    data = await ok(client, "who_is_on_call")
    assert data["errors"] == [] and data["at"].endswith("Z")
    on_call = {(c["provider"], c["user_id"]) for c in data["result"]}
    for provider in ON_CALL:
        (leaver,) = getattr(world, provider).oncall.planted["leaver"]
        assert (provider, leaver) in on_call, provider
    for entry in data["result"]:
        assert entry["provider"] in ON_CALL


@pytest.mark.anyio
async def test_who_is_on_call_for_one_schedule_and_at_a_time(session):
    client, _ = session
    schedules = await traverse(client, "list_schedules", {"provider": "jsm", "limit": 50})
    target = schedules[0]["id"]
    data = await ok(
        client, "who_is_on_call", {"providers": ["jsm"], "schedule_id": target, "at": "2026-12-06T09:00:00+01:00"}
    )
    assert data["at"] == "2026-12-06T08:00:00Z"
    assert all(c["schedule"]["id"] == target for c in data["result"])


@pytest.mark.anyio
async def test_who_is_on_call_bad_arguments(session):
    client, _ = session
    await fails(client, "who_is_on_call", {"schedule_id": "s1"}, "invalid_argument")
    await fails(client, "who_is_on_call", {"providers": ["rootly", "jsm"], "schedule_id": "s1"}, "invalid_argument")
    for at in ("yesterday", "2026-13-01T00:00:00Z", ""):
        error = await fails(client, "who_is_on_call", {"at": at}, "invalid_argument")
        assert "ISO 8601" in error["message"] or at == ""
    await fails(client, "who_is_on_call", {"providers": ["nope"]}, "invalid_argument")


@pytest.mark.anyio
async def test_a_failing_provider_is_an_errors_entry_and_the_others_answer(world):
    directory, apps = directory_over(world)
    apps["opsgenie"].state.gate.faults = FaultPlan(error_rate=1.0, statuses=(403,), paths=r"^/v2/schedules")
    async with Client(build_server(directory)) as client:
        data = await ok(client, "who_is_on_call")
        assert [e["provider"] for e in data["errors"]] == ["opsgenie"] and data["errors"][0]["code"] == "forbidden"
        assert {c["provider"] for c in data["result"]} == {"rootly", "jsm"}
        # coverage_review never leaves a provider out: the call fails
        await fails(client, "coverage_review", {}, "forbidden")


# --- get_duties -------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_get_duties_of_the_leaver_in_any_letter_case(session, world):
    client, _ = session
    (leaver,) = world.rootly.oncall.planted["leaver"]
    email = (await ok(client, "get_user", {"provider": "rootly", "user_id": leaver}))["result"]["email"]
    data = await ok(client, "get_duties", {"email": email.upper()})
    assert data["email"] == email.upper() and data["errors"] == []
    kinds = {(d["provider"], d["kind"]) for d in data["result"]}
    assert {
        ("rootly", "rotation"),
        ("rootly", "escalation"),
        ("rootly", "override"),
        ("rootly", "schedule_owner"),
    } <= kinds
    assert {("opsgenie", "rotation"), ("opsgenie", "escalation"), ("opsgenie", "override")} <= kinds
    assert data["on_call_now"] is True
    for duty in data["result"]:
        assert duty["user_id"] in getattr(world, duty["provider"]).oncall.planted["leaver"]
        if duty["kind"] == "rotation":  # its position is where the schedule lists them
            schedules = await traverse(client, "list_schedules", {"provider": duty["provider"], "limit": 50})
            (rotation,) = [r for s in schedules for r in s["rotations"] if r["id"] == duty["rotation"]["id"]]
            assert rotation["participants"][duty["position"]]["id"] == duty["user_id"]


@pytest.mark.anyio
async def test_get_duties_bad_arguments(session):
    client, _ = session
    await fails(client, "get_duties", {"email": "nobody-at-all@nowhere.test"}, "not_found")
    await fails(client, "get_duties", {"email": "not-an-email"}, "invalid_argument")
    await fails(client, "get_duties", {"email": 42}, "invalid_argument")


# --- coverage_review --------------------------------------------------------------------------------


async def truth(client):
    """The rotation findings read the long way: every schedule, every account, each named team's members."""
    users = {p: await users_of(client, p) for p in ON_CALL}
    off = {}
    for provider, accounts in users.items():
        for u in accounts.values():
            if u["email"] and u["status"] in ("inactive", "blocked"):
                off.setdefault(email_key(u["email"]), set()).add(provider)
    found = set()
    for provider in ON_CALL:
        for schedule in await traverse(client, "list_schedules", {"provider": provider, "limit": 50}):
            for rotation in schedule["rotations"]:
                where = (provider, schedule["id"], rotation["id"])
                covered = False
                for p in rotation["participants"]:
                    if p["type"] == "user":
                        if p["status"] != "active":
                            found.add((*where, "ghost", p["id"], ()))
                        else:
                            covered = True
                            elsewhere = tuple(sorted(off.get(email_key(p["email"]), set()) - {provider}))
                            if elsewhere:
                                found.add((*where, "departing", p["id"], elsewhere))
                    elif p["type"] == "team":
                        group = await ok(client, "get_group", {"provider": provider, "group_id": p["id"]})
                        members = group["result"]["members"] or []
                        covered |= any(users[provider].get(m["user_id"], {}).get("status") == "active" for m in members)
                    elif p["type"] in ("escalation", "schedule"):
                        covered = True
                if not covered and schedule["enabled"] is not False:
                    found.add((*where, "uncovered", None, ()))
    return found


def rotation_findings(findings):
    return {
        (
            f["provider"],
            f["schedule"]["id"],
            f["rotation"]["id"],
            f["problem"],
            f["user_id"],
            tuple(f["inactive_elsewhere"]),
        )
        for f in findings
        if f["rotation"] is not None and f["escalation"] is None and "override" not in f["detail"]
    }


@pytest.mark.anyio
async def test_coverage_review_finds_exactly_the_truth(session, world):
    client, _ = session
    first = await ok(client, "coverage_review", {"limit": 200})
    findings = first["result"]
    assert first["next_cursor"] is None and first["total"] == len(findings) and first["provider"] is None
    assert first["providers"] == list(ON_CALL)
    assert rotation_findings(findings) == await truth(client)
    # every part the world planted is found as what it is
    by_problem = {}
    for f in findings:
        by_problem.setdefault((f["provider"], f["problem"]), set()).update(
            i for i in (f["user_id"], (f["rotation"] or {}).get("id"), (f["escalation"] or {}).get("id")) if i
        )
    for provider in ON_CALL:
        planted = getattr(world, provider).oncall.planted
        for problem in ("ghost", "departing", "uncovered"):
            for planted_id in planted.get(problem, []):
                assert planted_id in by_problem.get((provider, problem), set()), (provider, problem, planted_id)

    # sorted by provider, schedule name, rotation name, email
    def key(f):
        return (
            f["provider"],
            (f["schedule"] or {}).get("name") or "",
            (f["rotation"] or {}).get("name") or "",
            email_key(f["email"] or ""),
        )

    assert [key(f) for f in findings] == sorted(key(f) for f in findings)
    assert all(f["detail"] and isinstance(f["inactive_elsewhere"], list) for f in findings)


@pytest.mark.anyio
async def test_coverage_review_pages_one_snapshot_and_exports_it(session, world):
    client, _ = session
    whole = await ok(client, "coverage_review", {"limit": 200})
    pages = []
    data = await ok(client, "coverage_review", {"limit": 3})
    export = data["export"]
    while True:
        pages.append(data)
        assert data["export"] == export and data["as_of"] == pages[0]["as_of"] and data["total"] == whole["total"]
        if data["next_cursor"] is None:
            break
        data = await ok(client, "coverage_review", {"limit": 3, "cursor": data["next_cursor"]})
        assert len(pages) < 100
    served = [f for page in pages for f in page["result"]]
    assert served == whole["result"] and all(len(p["result"]) == 3 for p in pages[:-1])
    assert export.startswith("directory://reviews/") and export.endswith(".csv")
    text = (await client.read_resource(export)).contents[0].text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == [
        "provider",
        "problem",
        "schedule",
        "rotation",
        "escalation",
        "user_id",
        "email",
        "status",
        "inactive_elsewhere",
        "detail",
    ]
    assert len(rows) == whole["total"] + 1
    assert [(r[0], r[1], r[5]) for r in rows[1:]] == [(f["provider"], f["problem"], f["user_id"] or "") for f in served]


@pytest.mark.anyio
async def test_coverage_review_problems_filter_and_cursor_scope(session):
    client, _ = session
    whole = await ok(client, "coverage_review", {"limit": 200})
    ghosts = await ok(client, "coverage_review", {"problems": ["ghost"], "limit": 200})
    assert ghosts["result"] == [f for f in whole["result"] if f["problem"] == "ghost"] and ghosts["total"] > 0
    page = await ok(client, "coverage_review", {"problems": ["ghost"], "limit": 1})
    # a cursor of one review is not a cursor of another, nor of access_review
    await fails(client, "coverage_review", {"limit": 1, "cursor": page["next_cursor"]}, "invalid_argument")
    await fails(client, "access_review", {"cursor": page["next_cursor"]}, "invalid_argument")
    await fails(client, "coverage_review", {"cursor": "garbage"}, "invalid_argument")
    await fails(client, "coverage_review", {"problems": ["haunted"]}, "invalid_argument")
    _, is_error = await call(client, "coverage_review", {"limit": 0})
    assert is_error


# --- cost and sharing -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_coverage_review_reads_at_the_fewest_requests_each_provider_allows(world):
    directory, apps = directory_over(world)
    async with Client(build_server(directory)) as client:
        await ok(client, "coverage_review", {})
    seen = {p: [(r.method, r.path) for r in apps[p].state.requests] for p in ON_CALL}
    # Opsgenie (ONCALL.md §2b): every rotation in one request, every escalation in one; then each
    # schedule's overrides, and each named team once; never a schedule's rotations one by one.
    og = seen["opsgenie"]
    schedules = len(world.opsgenie.oncall.schedules)
    assert og.count(("GET", "/v2/schedules")) == 1 and og.count(("GET", "/v2/escalations")) == 1
    assert sum(1 for m, p in og if p.endswith("/overrides")) == schedules
    assert not any(p.endswith("/rotations") or "/on-calls" in p for m, p in og)
    assert all(m == "GET" for m, _ in og)
    # JSM (§3b): ⌈S/50⌉ schedule pages with their rotations, one request per team's escalations
    jsm = seen["jsm"]
    assert sum(1 for m, p in jsm if p.endswith("/v1/schedules")) == 1
    assert not any(p.endswith("/rotations") for _, p in jsm)
    # Rootly (§1b): 1 + S + R (+ overrides S, levels E): each rotation's users once
    rootly = seen["rootly"]
    rotations = [p for _, p in rootly if p.endswith("/schedule_rotation_users")]
    assert len(rotations) == len(set(rotations)) == len(world.rootly.oncall.rotations)
    # the levels come included with the policies (ONCALL.md §1b): none is read policy by policy
    assert not any(p.endswith("/escalation_levels") for _, p in rootly)


@pytest.mark.anyio
async def test_two_replicas_share_a_coverage_review(world, redis_url):
    from .redis_support import CURSOR_SECRET

    def replica():
        directory, apps = directory_over(world)
        settings = dataclasses.replace(directory.settings, redis_url=redis_url, cursor_secret=CURSOR_SECRET)
        transports = {name: httpx.ASGITransport(app=app) for name, app in apps.items()}
        return build_server(Directory(settings, transports=transports))

    async with Client(replica()) as a, Client(replica()) as b:
        first = await ok(a, "coverage_review", {"limit": 2})
        second = await ok(b, "coverage_review", {"limit": 2, "cursor": first["next_cursor"]})
        assert second["as_of"] == first["as_of"] and second["export"] == first["export"]
        assert second["total"] == first["total"] and second["result"] != first["result"]
        text = (await b.read_resource(first["export"])).contents[0].text
        assert len(text.strip().splitlines()) == first["total"] + 1 and text.startswith("provider,problem,")
        # an access review's cursor names another kind of snapshot: refused, not misread
        access = await ok(a, "access_review", {"limit": 1})
        await fails(b, "coverage_review", {"cursor": access["next_cursor"]}, "invalid_argument")


@pytest.mark.anyio
async def test_coverage_review_matches_the_seeded_truth_escalations_and_overrides_too(session, world):
    from mcp_directory.sim import oncall_truth as truth_of

    client, _ = session
    findings = (await ok(client, "coverage_review", {"limit": 200}))["result"]

    def kind(f):
        return "escalation" if f["escalation"] else "override" if "override" in f["detail"] else "rotation"

    def where(f):  # the rotation, or the schedule of an override; escalations by user (Rootly names levels)
        k = kind(f)
        return f["rotation"]["id"] if k == "rotation" else f["schedule"]["id"] if k == "override" else None

    def expected(named):
        return {(n.provider, n.kind, n.holder if n.kind == "rotation" else n.schedule, n.user_id) for n in named}

    got = {
        problem: {(f["provider"], kind(f), where(f), f["user_id"]) for f in findings if f["problem"] == problem}
        for problem in ("ghost", "departing")
    }
    # SPEC §12: a ghost's account is not active; Opsgenie's unverified users are `invited` (SPEC §4
    # mapping), which the simulator's truth counts as active: they are ghosts here, never departing
    invited = {(p, u) for p in ON_CALL for u, r in (await users_of(client, p)).items() if r["status"] == "invited"}
    named = [n for p in ON_CALL for n in truth_of.named(world, p)]
    assert got["ghost"] == expected(truth_of.ghosts(world)) | expected(
        n for n in named if (n.provider, n.user_id) in invited
    )
    assert got["departing"] == expected(n for n in truth_of.departing(world) if (n.provider, n.user_id) not in invited)
    for f in findings:
        if f["problem"] == "departing":
            assert f["inactive_elsewhere"] == truth_of.off_elsewhere(world, f["provider"], f["user_id"])
    uncovered = [f for f in findings if f["problem"] == "uncovered"]
    assert {(f["provider"], f["rotation"]["id"]) for f in uncovered if f["rotation"]} == set(truth_of.uncovered(world))
    escalations = {(p, holder) for p, holder, _ in truth_of.uncovered_escalations(world) if p != "rootly"}
    assert {
        (f["provider"], f["escalation"]["id"]) for f in uncovered if f["escalation"] and f["provider"] != "rootly"
    } == escalations
    rootly_levels = [x for x in truth_of.uncovered_escalations(world) if x[0] == "rootly"]
    assert len([f for f in uncovered if f["escalation"] and f["provider"] == "rootly"]) == len(rootly_levels)


@pytest.mark.anyio
async def test_get_duties_reads_each_providers_accounts_once(world):
    directory, apps = directory_over(world)
    async with Client(build_server(directory)) as client:
        (leaver,) = world.opsgenie.oncall.planted["leaver"]
        email = (await ok(client, "get_user", {"provider": "opsgenie", "user_id": leaver}))["result"]["email"]
        before = len(apps["opsgenie"].state.requests)
        await ok(client, "get_duties", {"email": email, "providers": ["opsgenie"]})
        paths = [r.path for r in apps["opsgenie"].state.requests[before:]]
    pages = -(-len(world.opsgenie.users) // 100)  # the user list, 100 a page
    assert paths.count("/v2/users") == pages and paths.count("/v2/schedules/on-calls") == 1
