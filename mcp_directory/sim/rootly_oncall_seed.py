"""Rootly's seeded on-call records, as JSON:API resources (`GET /v1/...` items): schedules (their
`owner_user_id` an INTEGER), rotations, rotation users (integer `user_id`, 1-based `position`),
escalation policies with one default path each and its levels (`notification_target_params`
naming a schedule, a user — by string id — or a team), and override shifts.

The parts (oncall_seed's docstring): the leaver owns "Primary On-Call", holds today's shift of its
weekly rotation, is a level's direct target and has tomorrow's override; "Secondary On-Call"'s
daily rotation has the departing person (a Rootly account whose email is off in another provider)
in today's shift and a user id that is no account (a ghost: deleted); "Legacy"'s rotation names
only that id (uncovered), as does a level of the secondary policy.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mcp_directory.sim.oncall_seed import filler_teams, leaver_and_successor, start_for
from mcp_directory.sim.oncall_time import anchor, iso
from mcp_directory.sim.world import SeedPerson, iso_offset, seeded_uuid

HANDOFF_DAYS = "MTWRFSU"  # Monday..Sunday as Rootly's handoff_day letters


@dataclass
class RootlyOnCall:
    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    rotations: dict[str, dict[str, Any]] = field(default_factory=dict)
    rotation_users: dict[str, dict[str, Any]] = field(default_factory=dict)
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)
    paths: dict[str, dict[str, Any]] = field(default_factory=dict)
    levels: dict[str, dict[str, Any]] = field(default_factory=dict)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    planted: dict[str, list[str]] = field(default_factory=dict)
    # False: the policy list ignores `include=escalation_policy_levels` (an answer without them), so a
    # client must read each policy's levels (the fallback ONCALL.md §1b counts as E requests)
    include_levels: bool = True

    def plant(self, part: str, *ids: str) -> None:
        self.planted.setdefault(part, []).extend(ids)


def resource(kind: str, rid: str, **attributes: Any) -> dict[str, Any]:
    return {"id": rid, "type": kind, "attributes": attributes}


class _Builder:
    def __init__(self, rng: random.Random, out: RootlyOnCall, today: datetime) -> None:
        self.rng, self.out, self.today = rng, out, today
        self.stamp = iso_offset(today - timedelta(days=120))

    def schedule(self, name: str, owner: int) -> str:
        sid = seeded_uuid(self.rng)
        self.out.schedules[sid] = resource(
            "schedules",
            sid,
            name=name,
            description=f"{name} schedule",
            all_time_coverage=True,
            owner_group_ids=[],
            owner_user_id=owner,
            created_at=self.stamp,
            updated_at=self.stamp,
        )
        return sid

    def rotation(self, schedule: str, name: str, kind: str, users: list[int], days: int, custom_hours: int = 0) -> str:
        rid = seeded_uuid(self.rng)
        hours = custom_hours * 4 * len(users)  # custom rotations: today's 00:00 starts slot 0's shift
        start = self.today - timedelta(hours=hours) if custom_hours else start_for(0, len(users), days, self.today)
        shape: dict[str, Any] = {"handoff_time": "00:00:00"}
        if kind == "ScheduleWeeklyRotation":
            shape["handoff_day"] = HANDOFF_DAYS[start.weekday()]
        if kind == "ScheduleCustomRotation":
            shape |= {"shift_length": custom_hours, "shift_length_unit": "hours"}
        position = 1 + sum(r["attributes"]["schedule_id"] == schedule for r in self.out.rotations.values())
        self.out.rotations[rid] = resource(
            "schedule_rotations",
            rid,
            schedule_id=schedule,
            name=name,
            position=position,
            schedule_rotationable_type=kind,
            active_all_week=True,
            time_zone="Etc/UTC",
            schedule_rotationable_attributes=shape,
            start_time=iso(start),
            end_time=None,
        )
        for place, user in enumerate(users, start=1):
            uid = seeded_uuid(self.rng)
            self.out.rotation_users[uid] = resource(
                "schedule_rotation_users",
                uid,
                schedule_rotation_id=rid,
                user_id=user,
                position=place,
                created_at=self.stamp,
                updated_at=self.stamp,
            )
        return rid

    def policy(self, name: str, creator: int, targets: list[list[dict[str, Any]]]) -> str:
        pid, path = seeded_uuid(self.rng), seeded_uuid(self.rng)
        self.out.policies[pid] = resource(
            "escalation_policies",
            pid,
            name=name,
            description=f"{name} policy",
            repeat_count=0,
            created_by_user_id=creator,
            last_updated_by_user_id=creator,
            group_ids=[],
            service_ids=[],
            created_at=self.stamp,
            updated_at=self.stamp,
        )
        self.out.paths[path] = resource(
            "escalation_paths",
            path,
            name="Default",
            default=True,
            notification_type="audible",
            path_type="escalation",
            escalation_policy_id=pid,
            position=1,
            repeat=False,
            repeat_count=0,
            initial_delay=0,
            rules=[],
            created_at=self.stamp,
            updated_at=self.stamp,
        )
        for place, params in enumerate(targets, start=1):
            lid = seeded_uuid(self.rng)
            self.out.levels[lid] = resource(
                "escalation_levels",
                lid,
                escalation_policy_id=pid,
                escalation_policy_path_id=path,
                paging_strategy_configuration_strategy="default",
                paging_strategy_configuration_schedule_strategy="on_call_only",
                delay=(place - 1) * 10,
                position=place,
                notification_target_params=params,
                created_at=self.stamp,
                updated_at=self.stamp,
            )
        return pid


def seed_rootly_oncall(
    rng: random.Random, people: list[SeedPerson], users: dict[str, Any], teams: list[str]
) -> RootlyOnCall:
    """Rootly's on-call records for its account holders `people` (see the module docstring)."""
    out = RootlyOnCall()
    if not people:
        return out
    build = _Builder(rng, out, anchor())
    leaver, successor = leaver_and_successor(people)
    lead = int(leaver.accounts["rootly"]) if leaver else int(people[-1].accounts["rootly"])
    away = [p for p in people if p.disabled and p not in (leaver, successor)]
    departing = int(away[-1].accounts["rootly"]) if away else None
    busy = {lead, departing, int(successor.accounts["rootly"]) if successor else None}
    others = [int(p.accounts["rootly"]) for p in people if not p.disabled and int(p.accounts["rootly"]) not in busy]
    others = (others or [lead])[:5]
    gone = max(int(u) for u in users) + 17  # no account has this id: a deleted user
    out.plant("leaver", str(lead))
    if successor:
        out.plant("successor", successor.accounts["rootly"])
    primary = build.schedule("Primary On-Call", lead)
    weekly = build.rotation(primary, "Weekly primary", "ScheduleWeeklyRotation", [lead, *others[:2]], 7)
    secondary = build.schedule("Secondary On-Call", others[0])
    first = departing if departing is not None else others[-1]
    build.rotation(secondary, "Daily secondary", "ScheduleDailyRotation", [first, gone, others[-1]], 1)
    if departing is not None:
        out.plant("departing", str(departing))
    legacy = build.schedule("Legacy", others[-1])
    retired = build.rotation(legacy, "Retired rota", "ScheduleCustomRotation", [gone], 0, custom_hours=12)
    out.plant("ghost", str(gone))
    out.plant("uncovered", retired)

    def target(kind: str, tid: str | int) -> dict[str, Any]:
        return {"id": str(tid), "type": kind, **({"team_members": "all"} if kind == "team" else {})}

    top = [[target("schedule", primary)], [target("user", lead)]]
    if teams:
        top.append([target("team", teams[0])])
    build.policy("Primary EP", lead, top)
    build.policy("Secondary EP", others[0], [[target("schedule", secondary)], [target("user", gone)]])
    build.policy("Legacy EP", others[-1], [[target("schedule", legacy)]])
    pool = [int(p.accounts["rootly"]) for p in people if not p.disabled and int(p.accounts["rootly"]) not in busy]
    for name, members in filler_teams(rng, pool, len(people)):
        team = build.schedule(name, members[0])
        build.rotation(team, "Daily", "ScheduleDailyRotation", members, 1)
        build.policy(f"{name} EP", members[0], [[target("schedule", team)]])
    tomorrow = build.today + timedelta(days=1)
    oid = seeded_uuid(rng)
    out.overrides[oid] = resource(
        "shifts",
        oid,
        schedule_id=primary,
        rotation_id=weekly,
        starts_at=iso(tomorrow + timedelta(hours=9)),
        ends_at=iso(tomorrow + timedelta(hours=17)),
        is_override=True,
        shift_override={
            "data": {
                "id": seeded_uuid(rng),
                "type": "shift_override",
                "attributes": {"shift_id": oid, "created_by_user_id": others[0]},
            }
        },
        user_id=lead,
        created_at=build.stamp,
        updated_at=build.stamp,
    )
    return out
