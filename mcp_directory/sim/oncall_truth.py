"""The seeded on-call truth, for tests to compute expectations from: who each provider's rotations,
escalations and overrides name directly, each account's status there, and from those the ghosts,
the departing and the uncovered rotations (SPEC §12's definitions), read from the live records
(so they follow writes). `planted(world)` says what the seeders put there on purpose.

`Named` is one direct mention: `kind` rotation | escalation | override, `schedule` the schedule id
(None for an escalation), `holder` the rotation, escalation or level id (the override's id or
alias for an override), `position` 0-based, `user_id` the provider's id as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ON_CALL = ("rootly", "opsgenie", "jsm")


@dataclass(frozen=True)
class Named:
    provider: str
    kind: str
    schedule: str | None
    holder: str
    position: int
    user_id: str


def status(world: Any, provider: str, user_id: str) -> str | None:
    """ "active", "inactive", "blocked", or None (no such account there)."""
    directory = world.directories[provider]
    record = directory.users.get(user_id)
    if record is None:
        return None
    if provider == "opsgenie":
        return "blocked" if record["blocked"] else "active"
    if provider == "retool":
        return "active" if record["active"] else "inactive"
    if provider == "jsm":
        org = directory.org.get(user_id, {}).get("account_status", "active")
        return "active" if record["active"] and org == "active" else "inactive"
    return "active"  # Rootly has no account status


def email(world: Any, provider: str, user_id: str) -> str | None:
    directory = world.directories[provider]
    record = directory.users.get(user_id)
    if record is None:
        return None
    found = {
        "rootly": lambda: record["attributes"]["email"],
        "opsgenie": lambda: record["username"],
        "retool": lambda: record["email"],
        "jsm": lambda: directory.emails.get(user_id),
    }[provider]()
    return str(found).lower() if found else None


def named(world: Any, provider: str) -> list[Named]:
    """Every user a provider's on-call records name directly."""
    store = world.directories[provider].oncall
    out: list[Named] = []
    if provider == "rootly":
        for rotation in store.rotations.values():
            users = [
                u for u in store.rotation_users.values() if u["attributes"]["schedule_rotation_id"] == rotation["id"]
            ]
            users.sort(key=lambda u: u["attributes"]["position"])
            schedule = rotation["attributes"]["schedule_id"]
            for place, user in enumerate(users):
                out.append(
                    Named(provider, "rotation", schedule, rotation["id"], place, str(user["attributes"]["user_id"]))
                )
        for level in store.levels.values():
            for target in level["attributes"]["notification_target_params"] or []:
                if target["type"] == "user":
                    place = level["attributes"]["position"] - 1
                    out.append(Named(provider, "escalation", None, level["id"], place, str(target["id"])))
        for override in store.overrides.values():
            a = override["attributes"]
            out.append(Named(provider, "override", a["schedule_id"], override["id"], 0, str(a["user_id"])))
        return out
    for schedule in store.schedules.values():
        for rotation in schedule["rotations"]:
            for place, p in enumerate(rotation["participants"]):
                if p["type"] == "user":
                    out.append(Named(provider, "rotation", schedule["id"], rotation["id"], place, p["id"]))
    for escalation in store.escalations.values():
        for place, rule in enumerate(escalation["rules"]):
            if rule["recipient"].get("type") == "user":
                out.append(Named(provider, "escalation", None, escalation["id"], place, rule["recipient"]["id"]))
    for schedule_id, overrides in store.overrides.items():
        for o in overrides:
            who = o.get("user") or o.get("responder") or {}
            if who.get("type") == "user":
                out.append(Named(provider, "override", schedule_id, o["alias"], 0, who["id"]))
    return out


def ghosts(world: Any) -> list[Named]:
    """Mentions of an account that is not active there (or no longer exists)."""
    return [n for p in ON_CALL for n in named(world, p) if status(world, p, n.user_id) != "active"]


def off_elsewhere(world: Any, provider: str, user_id: str) -> list[str]:
    """The other providers where the same email's account is inactive or blocked."""
    mail = email(world, provider, user_id)
    out = []
    for other, directory in world.directories.items():
        if other == provider or mail is None:
            continue
        for uid in directory.users:
            if email(world, other, uid) == mail and status(world, other, uid) in ("inactive", "blocked"):
                out.append(other)
                break
    return sorted(out)


def departing(world: Any) -> list[Named]:
    """Mentions of an account active there whose email is inactive or blocked in another provider."""
    return [
        n
        for p in ON_CALL
        for n in named(world, p)
        if status(world, p, n.user_id) == "active" and off_elsewhere(world, p, n.user_id)
    ]


def uncovered(world: Any) -> list[tuple[str, str]]:
    """(provider, rotation id) of each enabled schedule's rotation with no active user and no team
    with an active member among its participants (escalation and schedule participants cover)."""
    out = []
    for provider in ON_CALL:
        directory = world.directories[provider]
        rotations: list[tuple[str, list[dict[str, Any]] | None]]
        if provider == "rootly":
            rotations = [(r["id"], None) for r in directory.oncall.rotations.values()]
        else:
            rotations = [
                (r["id"], r["participants"])
                for s in directory.oncall.schedules.values()
                if s["enabled"]
                for r in s["rotations"]
            ]
        users = {(n.holder, n.user_id) for n in named(world, provider) if n.kind == "rotation"}
        for rotation_id, participants in rotations:
            mine = [u for h, u in users if h == rotation_id]
            covered = any(status(world, provider, u) == "active" for u in mine) or any(
                p["type"] in ("team", "escalation", "schedule") for p in participants or []
            )
            if not covered:
                out.append((provider, rotation_id))
    return out


def uncovered_escalations(world: Any) -> list[tuple[str, str, int]]:
    """(provider, escalation or level id, 0-based rule or level place) of each escalation rule (Opsgenie,
    JSM) or Rootly level whose targets are all users and none of them an active account."""
    out = []
    for provider in ON_CALL:
        store = world.directories[provider].oncall
        if provider == "rootly":
            steps = [
                (lv["id"], lv["attributes"]["position"] - 1, lv["attributes"]["notification_target_params"] or [])
                for lv in store.levels.values()
            ]
        else:
            steps = [
                (e["id"], i, [r["recipient"]]) for e in store.escalations.values() for i, r in enumerate(e["rules"])
            ]
        for holder, place, targets in steps:
            if all(t.get("type") == "user" for t in targets) and not any(
                status(world, provider, str(t["id"])) == "active" for t in targets
            ):
                out.append((provider, holder, place))
    return out


def planted(world: Any) -> dict[str, dict[str, list[str]]]:
    """What each on-call provider's seeder planted: part (leaver, successor, ghost, departing,
    uncovered) -> user ids (rotation ids for uncovered)."""
    return {p: dict(world.directories[p].oncall.planted) for p in ON_CALL}
