"""The pure parts of on-call (SPEC §12), without I/O: each provider's documents to the normalized
objects, a person's duties, coverage_review's findings rule by rule, its CSV, and its snapshot's
round trip through the shared store's encoding."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from mcp_directory import redis_reviews
from mcp_directory.errors import InvalidArgument
from mcp_directory.models import email_key
from mcp_directory.oncall import (
    Account,
    Book,
    Escalation,
    Level,
    Override,
    Ref,
    Rotation,
    Schedule,
    duties,
    parse_time,
    participant,
)
from mcp_directory.oncall_review import CSV_HEADER, coverage_csv, findings
from mcp_directory.providers import jsm_oncall, opsgenie_oncall, rootly_oncall
from mcp_directory.review import Snapshot

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
ACCOUNTS = {
    "u1": Account("Ann@Acme.test", "Ann", "active"),
    "u2": Account("bob@acme.test", "Bob", "blocked"),
    "u3": Account("cy@acme.test", "Cy", "active"),
}


# --- provider documents -------------------------------------------------------------------------


def test_opsgenie_schedule_rotation_participants_in_order_with_empty_slots():
    record = {
        "id": "s1",
        "name": "Payments",
        "timezone": "Europe/Berlin",
        "enabled": True,
        "ownerTeam": {"id": "t1", "name": "Pay"},
        "rotations": [
            {
                "id": "r1",
                "name": "Day",
                "participants": [
                    {"type": "user", "id": "u2", "username": "bob@acme.test"},
                    {"type": "none"},
                    {"type": "team", "id": "t1", "name": "Pay"},
                    {"type": "user", "id": "gone", "username": "old@acme.test"},
                    {"type": "group", "id": "g"},
                ],
            }
        ],
    }
    schedule = opsgenie_oncall.map_schedule(record, ACCOUNTS)
    assert schedule.team == Ref(id="t1", name="Pay") and schedule.time_zone == "Europe/Berlin"
    got = [(p.type, p.id, p.email, p.status) for p in schedule.rotations[0].participants]
    assert got == [
        ("user", "u2", "bob@acme.test", "blocked"),
        ("none", None, None, None),
        ("team", "t1", None, None),
        ("user", "gone", None, None),  # no longer an account: status null
    ]


def test_opsgenie_on_calls_resolve_teams_and_escalations_to_people_once():
    record = {
        "_parent": {"id": "s1", "name": "Payments"},
        "onCallParticipants": [
            {"id": "u1", "type": "user", "name": "ann@acme.test"},
            {
                "id": "t1",
                "type": "team",
                "onCallParticipants": [{"id": "u3", "type": "user"}, {"id": "u1", "type": "user"}],
            },
        ],
    }
    calls = opsgenie_oncall.map_on_calls(record, ACCOUNTS)
    assert [(c.user_id, c.email, c.schedule.id if c.schedule else None) for c in calls] == [
        ("u1", "Ann@Acme.test", "s1"),
        ("u3", "cy@acme.test", "s1"),
    ]


def test_rootly_rotation_users_by_position_and_levels_counted_from_zero_per_path():
    users = [
        {"attributes": {"user_id": 3, "position": 2}},
        {"attributes": {"user_id": 1, "position": 1}},
    ]
    accounts = {"1": Account("a@x.test", "A", "active")}
    rotation = rootly_oncall.map_rotation({"id": "r1", "attributes": {"name": "Week"}}, users, accounts)
    assert [(p.id, p.status) for p in rotation.participants] == [("1", "active"), ("3", None)]
    levels = [
        {
            "id": "l2",
            "attributes": {
                "escalation_policy_path_id": "p1",
                "position": 2,
                "notification_target_params": [{"id": "1", "type": "user"}, {"id": "C1", "type": "slack_channel"}],
            },
        },
        {
            "id": "l1",
            "attributes": {
                "escalation_policy_path_id": "p1",
                "position": 1,
                "notification_target_params": [{"id": "sch", "type": "schedule"}],
            },
        },
    ]
    escalation = rootly_oncall.map_escalation({"id": "e1", "attributes": {"name": "EP"}}, levels, accounts)
    assert [(lv.id, lv.position, [t.type for t in lv.targets]) for lv in escalation.levels] == [
        ("l1", 0, ["schedule"]),
        ("l2", 1, ["user"]),
    ]
    owned = rootly_oncall.map_schedule({"id": "s1", "attributes": {"name": "S", "owner_user_id": 1}}, [], accounts)
    assert owned.owner is not None and (owned.owner.user_id, owned.owner.email) == ("1", "a@x.test")


def test_jsm_noone_overrides_and_on_calls():
    schedule = jsm_oncall.map_schedule(
        {
            "id": "s1",
            "name": "Support",
            "enabled": False,
            "teamId": "t1",
            "rotations": [{"id": "r1", "name": "R", "participants": [{"type": "noone"}, {"type": "user", "id": "u1"}]}],
        },
        {"t1": "Support team"},
        ACCOUNTS,
    )
    assert schedule.enabled is False and schedule.team == Ref(id="t1", name="Support team")
    assert [p.type for p in schedule.rotations[0].participants] == ["none", "user"]
    override = jsm_oncall.map_override(
        {
            "alias": "o1",
            "responder": {"type": "user", "id": "u2"},
            "startDate": "a",
            "endDate": "b",
            "rotationIds": ["r1"],
        },
        schedule,
        ACCOUNTS,
    )
    assert override is not None and override.rotation == Ref(id="r1", name="R") and override.user.status == "blocked"
    calls = jsm_oncall.map_on_calls({"onCallUsers": ["u1", "u1"]}, Ref(id="s1", name="Support"), ACCOUNTS)
    assert [c.user_id for c in calls] == ["u1"]


# --- duties, times, identity --------------------------------------------------------------------


def book(**parts) -> Book:
    return Book(
        parts.get("provider", "opsgenie"),
        parts.get("schedules", []),
        parts.get("escalations", []),
        parts.get("overrides", []),
        parts.get("accounts", ACCOUNTS),
        parts.get("covering", set()),
    )


def schedule(*rotations: Rotation, enabled: bool | None = True, sid: str = "s1") -> Schedule:
    return Schedule(
        id=sid,
        provider="opsgenie",
        name=f"Sched {sid}",
        time_zone=None,
        enabled=enabled,
        team=None,
        owner=None,
        rotations=list(rotations),
    )


def rotation(rid: str, *members: tuple[str, str | None]) -> Rotation:
    return Rotation(id=rid, name=f"Rot {rid}", participants=[participant(k, i, ACCOUNTS) for k, i in members])  # type: ignore[arg-type]


def override(user: str, starts: str, ends: str) -> Override:
    return Override("o", Ref(id="s1", name="Sched s1"), None, participant("user", user, ACCOUNTS), starts, ends)


def test_duties_list_positions_levels_and_only_pending_overrides():
    b = book(
        schedules=[schedule(rotation("r1", ("user", "u3"), ("user", "u1")))],
        escalations=[
            Escalation(
                "e1",
                "EP",
                [Level(0, [participant("team", "t", ACCOUNTS)]), Level(1, [participant("user", "u1", ACCOUNTS)])],
            )
        ],
        overrides=[
            override("u1", "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"),
            override("u1", "2026-12-06T10:00:00Z", "2026-12-06T14:00:00Z"),
        ],
    )
    found = duties(b, "u1", NOW)
    assert [(d.kind, d.position, d.on_call_now) for d in found] == [
        ("rotation", 1, None),
        ("escalation", 1, None),
        ("override", None, True),  # the one that ended is no duty
    ]


def test_times_and_email_identity():
    assert parse_time("2026-12-06T09:00:00+01:00") == datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    assert parse_time("2026-12-06") == datetime(2026, 12, 6, tzinfo=UTC)
    for bad in ("soon", "", "2026-02-30T00:00:00Z"):
        with pytest.raises(InvalidArgument):
            parse_time(bad)
    assert email_key("Ann@ACME.test") == "ann@acme.test"
    assert email_key("\u212a@x.test") != "k@x.test" and email_key("STRASSE@x") != email_key("straße@x")


# --- findings -----------------------------------------------------------------------------------


def test_findings_rule_by_rule():
    ops = book(
        schedules=[
            schedule(rotation("r1", ("user", "u1"), ("user", "u2"), ("user", "zz"))),  # u2 blocked, zz gone
            schedule(rotation("r2", ("none", None), ("user", "u2")), sid="s2"),  # pages nobody
            schedule(rotation("r3", ("team", "t1")), rotation("r4", ("team", "t2")), sid="s3"),  # t1 covers
            schedule(rotation("r5", ("user", "u2")), enabled=False, sid="s4"),  # disabled: a ghost, not uncovered
        ],
        escalations=[Escalation("e1", "EP", [Level(0, [participant("schedule", "s1", ACCOUNTS)]), Level(1, [])])],
        overrides=[
            override("u2", "2026-12-07T00:00:00Z", "2026-12-08T00:00:00Z"),
            override("u2", "2026-01-01", "2026-01-02"),
        ],
        covering={"t1"},
    )
    # u1's email (any letter case) is inactive at jsm: departing where they are named
    other = book(provider="jsm", accounts={"x": Account("ann@acme.test", "Ann", "inactive")})
    rows = findings([ops, other], NOW)
    got = [(r[1], (r[2] or ("", ""))[0], (r[3] or ("", ""))[0], (r[4] or ("", ""))[0], r[5], r[7], r[8]) for r in rows]
    assert got == [
        ("uncovered", "", "", "e1", None, None, ()),  # level 2 names nobody; no schedule: first
        ("ghost", "s1", "", "", "u2", "blocked", ()),  # the future override (no rotation); the past one is gone
        ("ghost", "s1", "r1", "", "zz", None, ()),  # no email: first in its rotation
        ("departing", "s1", "r1", "", "u1", "active", ("jsm",)),
        ("ghost", "s1", "r1", "", "u2", "blocked", ()),
        ("uncovered", "s2", "r2", "", None, None, ()),
        ("ghost", "s2", "r2", "", "u2", "blocked", ()),
        ("uncovered", "s3", "r4", "", None, None, ()),  # r3's team has an active member
        ("ghost", "s4", "r5", "", "u2", "blocked", ()),  # disabled: named there, yet not uncovered
    ]


def test_coverage_csv_header_and_formula_cells():
    row = ("opsgenie", "ghost", ("s1", "=cmd"), None, None, "u2", "-bob@x", "blocked", ("jsm", "rootly"), "+detail")
    lines = list(csv.reader(io.StringIO(coverage_csv([row]))))
    assert tuple(lines[0]) == CSV_HEADER
    assert lines[1] == ["opsgenie", "ghost", "'=cmd", "", "", "u2", "'-bob@x", "blocked", "jsm;rootly", "'+detail"]


def test_a_coverage_snapshot_round_trips_through_the_shared_encoding():
    rows = findings([book(schedules=[schedule(rotation("r1", ("user", "u2")))])], NOW)
    kept = Snapshot("id1", "2026-12-06T12:00:00Z", ["opsgenie"], rows, kind="coverage")  # type: ignore[arg-type]
    back = redis_reviews.decode(redis_reviews.encode(kept))
    assert back is not None and back.kind == "coverage" and back.rows == rows
    access = Snapshot("id2", "t", ["rootly"], [("a@x", "A", (("rootly", "1", "active", None, None, ()),))])
    again = redis_reviews.decode(redis_reviews.encode(access))
    assert again is not None and again.kind == "access" and again.rows == access.rows


def test_a_coverage_snapshot_of_another_shape_reads_as_no_longer_kept():
    import zlib

    import pydantic_core

    document = [redis_reviews.FORMAT, "id", "t", ["opsgenie"], [["not", "a", "finding"]], 0, "coverage"]
    assert redis_reviews.decode(zlib.compress(pydantic_core.to_json(document))) is None
    unknown = [redis_reviews.FORMAT, "id", "t", ["opsgenie"], [], 0, "no-such-kind"]
    assert redis_reviews.decode(zlib.compress(pydantic_core.to_json(unknown))) is None
    rows = findings([book(schedules=[schedule(rotation("r1", ("user", "u2")))])], NOW)
    from mcp_directory.review import KINDS

    assert KINDS["coverage"].footprint(rows) > KINDS["coverage"].footprint([]) > 0
