"""The demo's on-call world: who plays which part, chosen from the people alone, so each provider's
seeder (which sees only its own account holders) picks the same persons; and Opsgenie's schedules,
rotations, escalations and overrides (Rootly's are in `rootly_oncall_seed`, JSM's in `jsm_oncall_seed`).

The parts (each provider plants what its accounts allow; `OnCallStore.planted` records it by id):
- `leaver` and `successor`: active people with Rootly and Opsgenie accounts and none at Retool
  (so no older test that deletes a person everywhere meets Opsgenie's refusal): the leaver is on
  call now in a rotation, named directly by an escalation, has a future override and (Rootly) owns
  a schedule; the successor is active in the same providers and named nowhere the leaver is;
- `ghost`: a participant whose account is off (Opsgenie blocked, JSM suspended) or gone (Rootly);
- `departing`: a participant active there whose same email is off in another provider;
- `uncovered`: a rotation whose participants are all ghosts or empty slots (its id); an escalation
  rule or level naming only a ghost is uncovered too (`oncall_truth.uncovered_escalations`).
Opsgenie never names the first five of its users, nor anyone with an account in all three native
providers (older tests delete such people and expect the delete to succeed).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from mcp_directory.sim.oncall_time import anchor, iso
from mcp_directory.sim.world import SeedPerson, seeded_uuid

NATIVES = {"rootly", "opsgenie", "retool"}


@dataclass
class OnCallStore:
    """One provider's on-call records, in the provider's own shapes (see each module)."""

    schedules: dict[str, dict[str, Any]] = field(default_factory=dict)
    escalations: dict[str, dict[str, Any]] = field(default_factory=dict)
    overrides: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # schedule id -> overrides
    planted: dict[str, list[str]] = field(default_factory=dict)  # part -> ids (users, rotations, rules)
    escalation_team: dict[str, str] = field(default_factory=dict)  # JSM: escalation id -> its team's id

    def plant(self, part: str, *ids: str) -> None:
        self.planted.setdefault(part, []).extend(i for i in ids if i not in self.planted.get(part, []))


def leaver_and_successor(people: list[SeedPerson]) -> tuple[SeedPerson | None, SeedPerson | None]:
    """The demo's leaver and successor (the last two fitting people, in the world's order)."""
    fit = [
        p
        for p in people
        if {"rootly", "opsgenie"} <= p.provider_emails.keys() and "retool" not in p.provider_emails and not p.disabled
    ]
    return (fit[-1] if fit else None), (fit[-2] if len(fit) > 1 else None)


def everywhere(person: SeedPerson) -> bool:
    return person.provider_emails.keys() >= NATIVES


def days_back(slot: int, count: int, days_per_shift: int) -> int:
    """Days before today at which a rotation starts so that `slot` holds today's shift."""
    return days_per_shift * (count * 4 + slot)


def start_for(slot: int, count: int, days_per_shift: int, today: datetime) -> datetime:
    return today - timedelta(days=days_back(slot, count, days_per_shift))


def filler_teams(rng: random.Random, pool: list[Any], people: int) -> list[tuple[str, list[Any]]]:
    """Ordinary, fully covered schedules so the number of schedules grows with the world (one per
    15 people, at most 400: a 10x world has 10x schedules): (name, three of `pool`) each."""
    if len(pool) < 3:
        return []
    return [(f"Team {n:03d} on-call", rng.sample(pool, 3)) for n in range(1, min(people // 15, 400) + 1)]


# --- Opsgenie -----------------------------------------------------------------------------------


def _og_user(users: dict[str, dict[str, Any]], uid: str) -> dict[str, Any]:
    return {"type": "user", "id": uid, "username": users[uid]["username"]}


def _og_rule(delay: int, recipient: dict[str, Any]) -> dict[str, Any]:
    return {
        "condition": "if-not-acked",
        "notifyType": "default",
        "delay": {"timeAmount": delay, "timeUnit": "minutes"},
        "recipient": recipient,
    }


REPEAT = {"waitInterval": 0, "count": 0, "resetRecipientStates": False, "closeAlertAfterAll": False}


def seed_opsgenie_oncall(
    rng: random.Random, people: list[SeedPerson], users: dict[str, dict[str, Any]], teams: dict[str, dict[str, Any]]
) -> OnCallStore:
    """Opsgenie's schedules (rotations inline), escalations and overrides (see the module docstring)."""
    out = OnCallStore()
    if not people:
        return out
    today = anchor()
    leaver, successor = leaver_and_successor(people)
    protected = {p.email for p in people[:5]} | {p.email for p in people if everywhere(p)}
    free = [p for p in people if p.email not in protected and p not in (leaver, successor)]
    active = [p.accounts["opsgenie"] for p in free if not p.disabled]
    blocked = [p.accounts["opsgenie"] for p in free if "opsgenie" in p.disabled]
    departing = [p.accounts["opsgenie"] for p in free if p.disabled and "opsgenie" not in p.disabled]
    lead = leaver.accounts["opsgenie"] if leaver else (active.pop() if active else None)
    if lead is None:
        return out
    others = [u for u in active if u not in departing][:5]
    team_list = list(teams.values())
    owner = {t["name"]: {"id": t["id"], "name": t["name"]} for t in team_list}

    def schedule(name: str, team: str | None, enabled: bool = True) -> dict[str, Any]:
        sid = seeded_uuid(rng)
        record: dict[str, Any] = {
            "id": sid,
            "name": name,
            "description": f"{name} on-call",
            "timezone": "Europe/London",
        }
        record |= {"enabled": enabled, "ownerTeam": owner.get(team or "", team_list[0] if team_list else {})}
        record["rotations"] = []
        out.schedules[sid] = record
        out.overrides[sid] = []
        return record

    def rotation(
        where: dict[str, Any], name: str, kind: str, length: int, members: list[dict[str, Any]], slot: int
    ) -> dict[str, Any]:
        days = {"weekly": 7 * length, "daily": length}.get(kind, 1)
        start = start_for(slot, len(members), days, today)
        rot = {"id": seeded_uuid(rng), "name": name, "startDate": iso(start), "type": kind, "length": length}
        rot["participants"] = members
        where["rotations"].append(rot)
        return rot

    primary = schedule("Payments Primary", "payments-oncall")
    main = [_og_user(users, lead), *[_og_user(users, u) for u in others[:2]]]
    if blocked:
        main.insert(2, _og_user(users, blocked[-1]))
        out.plant("ghost", blocked[-1])
    if departing:
        main.append(_og_user(users, departing[-1]))
        out.plant("departing", departing[-1])
    weekly = rotation(primary, "Weekly", "weekly", 1, main, 0)
    out.plant("leaver", lead)
    if successor:
        out.plant("successor", successor.accounts["opsgenie"])
    ops = schedule("Ops Daily", "ops_team")
    day_members = [_og_user(users, u) for u in others[2:4]] or [_og_user(users, lead)]
    if team_list:
        day_members.append({"type": "team", "id": team_list[0]["id"], "name": team_list[0]["name"]})
    rotation(ops, "Daily", "daily", 1, day_members, 0)
    rotation(ops, "Follow the sun", "hourly", 8, [_og_user(users, u) for u in others[:3]] or day_members, 0)
    if blocked:
        legacy = schedule("Legacy Database", "database")
        old = rotation(legacy, "Old rota", "weekly", 1, [_og_user(users, blocked[-1]), {"type": "none"}], 0)
        out.plant("uncovered", old["id"])
        paused = schedule("Platform (paused)", "platform", enabled=False)
        rotation(paused, "Paused rota", "daily", 1, [_og_user(users, blocked[-1])], 0)
    for where, rule_user, name in (
        (primary, lead, "Payments escalation"),
        (ops, blocked[-1] if blocked else None, "Ops escalation"),
    ):
        eid = seeded_uuid(rng)
        rules = [_og_rule(0, {"type": "schedule", "id": where["id"], "name": where["name"]})]
        if rule_user:
            rules.append(_og_rule(10, _og_user(users, rule_user)))
        if team_list:
            rules.append(_og_rule(20, {"type": "team", "id": team_list[0]["id"], "name": team_list[0]["name"]}))
        out.escalations[eid] = {
            "id": eid,
            "name": name,
            "description": f"{name} policy",
            "ownerTeam": where["ownerTeam"],
            "rules": rules,
            "repeat": dict(REPEAT),
        }
    for name, members in filler_teams(rng, active, len(people)):
        rotation(schedule(name, "platform"), "Daily", "daily", 1, [_og_user(users, u) for u in members], 0)
    tomorrow = today + timedelta(days=1)
    out.overrides[primary["id"]].append(
        {
            "alias": seeded_uuid(rng),
            "user": _og_user(users, lead),
            "startDate": iso(tomorrow + timedelta(hours=9)),
            "endDate": iso(tomorrow + timedelta(hours=17)),
            "rotations": [{"id": weekly["id"], "name": weekly["name"]}],
        }
    )
    return out
