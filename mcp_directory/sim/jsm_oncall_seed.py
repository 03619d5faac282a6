"""JSM Operations' seeded on-call records, from the site's migrated accounts, in the Ops API's own
shapes: schedules with rotations inline (participants `{type, id}`, `noone` an empty slot, ids
Atlassian account ids), overrides (`responder`, `rotationIds`), and escalations kept per Ops team
(`OnCallStore.escalation_team`), their rules' `delay` in minutes (at least 1, as the spec says).

The parts (oncall_seed's docstring): the leaver (the world's, when that person was migrated to an
active account; otherwise another active account) holds today's shift of "Support Primary", is an
escalation rule's recipient and has tomorrow's override; a suspended or deactivated account sits
in that rotation (a ghost) and alone with a `noone` slot in "Legacy Support" (uncovered); a person
active here but blocked in Opsgenie is in the rotation too (departing).
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from mcp_directory.sim.oncall_seed import OnCallStore, filler_teams, leaver_and_successor, start_for
from mcp_directory.sim.oncall_time import anchor, iso
from mcp_directory.sim.world import SeedPerson, seeded_uuid


def _jsm_rule(delay: int, kind: str, rid: str) -> dict[str, Any]:
    return {
        "condition": "if-not-acked",
        "notifyType": "default",
        "delay": delay,
        "recipient": {"id": rid, "type": kind},
    }


def seed_jsm_oncall(
    rng: random.Random,
    people: list[SeedPerson],
    migrated: dict[str, str],
    users: dict[str, Any],
    org: dict[str, Any],
    teams: list[str],
) -> OnCallStore:
    """JSM's schedules, overrides and team escalations, from the migrated accounts: `users` Jira's
    records, `org` the org admin API's (suspended: inactive), `teams` the Ops teams' ids."""
    out = OnCallStore()
    today = anchor()

    def on(uid: str) -> bool:
        return bool(users[uid]["active"]) and org.get(uid, {}).get("account_status") == "active"

    leaver, successor = leaver_and_successor(people)
    ids = {p.email: migrated[p.email] for p in people if p.email in migrated}
    lead = ids.get(leaver.email) if leaver else None
    if lead is not None and not on(lead):
        lead = None
    active = [ids[p.email] for p in people if p.email in ids and on(ids[p.email]) and p is not leaver]
    active = [u for u in active if not successor or u != ids.get(successor.email)]
    off = [u for u in ids.values() if not on(u)]
    departing = [ids[p.email] for p in people if p.email in ids and on(ids[p.email]) and "opsgenie" in p.disabled]
    lead = lead or (active.pop() if active else None)
    if lead is None:
        return out
    others = [u for u in active if u not in departing and u != lead][:5]
    out.plant("leaver", lead)
    if successor and ids.get(successor.email) and on(ids[successor.email]):
        out.plant("successor", ids[successor.email])
    teams = teams or [seeded_uuid(rng)]

    def schedule(name: str, team: str) -> dict[str, Any]:
        sid = seeded_uuid(rng)
        out.schedules[sid] = {
            "id": sid,
            "name": name,
            "description": f"{name} on-call",
            "timezone": "America/New_York",
            "enabled": True,
            "teamId": team,
            "rotations": [],
        }
        out.overrides[sid] = []
        return out.schedules[sid]

    def rotation(where: dict[str, Any], name: str, kind: str, members: list[dict[str, Any]]) -> dict[str, Any]:
        start = start_for(0, len(members), 7 if kind == "weekly" else 1, today)
        rot = {"id": seeded_uuid(rng), "name": name, "startDate": iso(start), "type": kind, "length": 1}
        rot["participants"] = members
        where["rotations"].append(rot)
        return rot

    def user(uid: str) -> dict[str, Any]:
        return {"type": "user", "id": uid}

    support = schedule("Support Primary", teams[0])
    members = [user(lead), *[user(u) for u in others[:2]]]
    if off:
        members.insert(2, user(off[0]))
        out.plant("ghost", off[0])
    if departing:
        members.append(user(departing[-1]))
        out.plant("departing", departing[-1])
    weekly = rotation(support, "Weekly", "weekly", members)
    rotation(schedule("Support Nights", teams[-1]), "Nightly", "daily", [user(u) for u in others[2:5]] or [user(lead)])
    if off:
        legacy = schedule("Legacy Support", teams[-1])
        old = rotation(legacy, "Retired", "weekly", [user(off[-1]), {"type": "noone"}])
        out.plant("uncovered", old["id"])
        out.plant("ghost", off[-1])
    rules = [_jsm_rule(1, "schedule", support["id"]), _jsm_rule(10, "user", lead)]
    if off:
        rules.append(_jsm_rule(20, "user", off[0]))
    eid = seeded_uuid(rng)
    escalation: dict[str, Any] = {
        "id": eid,
        "name": "Support escalation",
        "description": "Support Primary, then its lead",
    }
    escalation |= {"rules": rules, "enabled": True, "repeat": {"waitInterval": 0, "count": 1}}
    out.escalations[eid] = escalation
    out.escalation_team[eid] = teams[0]
    for name, crew in filler_teams(rng, [u for u in active if u not in departing], len(people)):
        rotation(schedule(name, teams[-1]), "Daily", "daily", [user(u) for u in crew])
    tomorrow = today + timedelta(days=1)
    out.overrides[support["id"]].append(
        {
            "alias": seeded_uuid(rng),
            "responder": user(lead),
            "startDate": iso(tomorrow + timedelta(hours=9)),
            "endDate": iso(tomorrow + timedelta(hours=17)),
            "rotationIds": [weekly["id"]],
        }
    )
    return out
