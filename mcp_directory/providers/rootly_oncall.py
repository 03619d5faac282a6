"""Rootly's on-call side (SPEC §12; provider_specs/ONCALL.md §1): mapping and reads.

Rootly embeds nothing, so its whole configuration costs what ONCALL.md §1b counts: the schedules
(paged), each schedule's rotations (S) and overrides (S), each rotation's users (R), the
escalation policies (paged) and each policy's levels (E), the teams when a level names one (for
whether it has a member), and the users (paged).

Quirks handled here:
- rotation participants are a sub-resource, `schedule_rotation_users` `{user_id (integer),
  position}`: users only, ordered by `position`;
- escalation level targets are `notification_target_params[{id (a string), type}]`; Slack and
  Teams channels and services page no person and are left out;
- a level's position counts within its escalation path, so two paths of one policy repeat it: a
  level keeps its own id, its duties carry it (`Duty.level_id`), and a hand-over writes that level;
- a schedule's owner is `owner_user_id`, its owning teams `owner_group_ids`;
- Rootly has no account status: an account that exists is active (SPEC §4), one that does not
  is a deleted user;
- who is on call is one request, `GET /v1/oncalls` (per escalation level), unpaged.
"""

from __future__ import annotations

from typing import Any

from ..aio import gather
from ..errors import NotFound
from ..http import segment
from ..oncall import (
    Account,
    Book,
    Duty,
    Escalation,
    Level,
    OnCall,
    Override,
    Owner,
    Participant,
    ParticipantType,
    Ref,
    Rotation,
    Schedule,
    participant,
)
from ..paging import every
from .oncall_writes import Entry, swap_entries

TARGETS: dict[str, ParticipantType] = {"user": "user", "team": "team", "schedule": "schedule"}


def attributes(resource: dict[str, Any]) -> dict[str, Any]:
    found = resource.get("attributes")
    return found if isinstance(found, dict) else {}


def text(value: Any) -> str | None:
    return None if value is None else str(value)


def map_rotation(resource: dict[str, Any], users: list[dict[str, Any]], accounts: dict[str, Account]) -> Rotation:
    ordered = sorted(users, key=lambda u: attributes(u).get("position") or 0)
    return Rotation(
        id=str(resource["id"]),
        name=attributes(resource).get("name"),
        participants=[participant("user", text(attributes(u).get("user_id")), accounts) for u in ordered],
    )


def map_schedule(resource: dict[str, Any], rotations: list[Rotation], accounts: dict[str, Account]) -> Schedule:
    a = attributes(resource)
    owner = text(a.get("owner_user_id"))
    groups = a.get("owner_group_ids") or []
    return Schedule(
        id=str(resource["id"]),
        provider="rootly",
        name=a.get("name") or "",
        time_zone=None,
        enabled=None,
        team=Ref(id=str(groups[0]), name=None) if groups else None,
        owner=Owner(user_id=owner, email=accounts[owner].email if owner in accounts else None) if owner else None,
        rotations=rotations,
    )


def map_target(record: Any, accounts: dict[str, Account]) -> Participant | None:
    if not isinstance(record, dict) or record.get("type") not in TARGETS:
        return None
    return participant(TARGETS[record["type"]], text(record.get("id")), accounts)


def map_escalation(resource: dict[str, Any], levels: list[dict[str, Any]], accounts: dict[str, Account]) -> Escalation:
    """Levels in order of path, then position; each level's place counted from 0 within its path."""
    by_path: dict[str, list[dict[str, Any]]] = {}
    for level in levels:
        by_path.setdefault(str(attributes(level).get("escalation_policy_path_id")), []).append(level)
    mapped = []
    for path_levels in by_path.values():
        path_levels.sort(key=lambda lv: attributes(lv).get("position") or 0)
        for position, level in enumerate(path_levels):
            targets = [map_target(t, accounts) for t in attributes(level).get("notification_target_params") or []]
            mapped.append(Level(position=position, targets=[t for t in targets if t], id=str(level["id"])))
    return Escalation(id=str(resource["id"]), name=attributes(resource).get("name"), levels=mapped)


def map_override(resource: dict[str, Any], schedule: Schedule, accounts: dict[str, Account]) -> Override:
    a = attributes(resource)
    rotation = text(a.get("rotation_id"))
    names = {r.id: r.name for r in schedule.rotations}
    return Override(
        id=str(resource["id"]),
        schedule=Ref(id=schedule.id, name=schedule.name),
        rotation=Ref(id=rotation, name=names.get(rotation)) if rotation else None,
        user=participant("user", text(a.get("user_id")), accounts),
        starts_at=a.get("starts_at"),
        ends_at=a.get("ends_at"),
    )


def map_on_call(resource: dict[str, Any], people: dict[str, dict[str, Any]]) -> OnCall:
    """One `on_call_resources` entry; the person from the included users (absent: a deleted user)."""
    a = attributes(resource)
    uid = str(a.get("user_id"))
    person = attributes(people[uid]) if uid in people else None
    schedule, policy = text(a.get("schedule_id")), text(a.get("escalation_policy_id"))
    level = a.get("escalation_level")
    return OnCall(
        provider="rootly",
        schedule=Ref(id=schedule, name=a.get("schedule_name")) if schedule else None,
        escalation=Ref(id=policy, name=a.get("escalation_policy_name")) if policy else None,
        level=level if isinstance(level, int) and not isinstance(level, bool) else None,
        user_id=uid,
        email=person.get("email") if person else None,
        name=(person.get("full_name") or person.get("name")) if person else None,
        status="active" if person is not None else None,
        starts_at=a.get("starts_at"),
        ends_at=a.get("ends_at"),
    )


class RootlyOnCall:
    """The on-call operations, mixed into the Rootly adapter."""

    async def _all(self: Any, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        listing = self.listing(path, params or {}, lambda d: lambda r: r)
        return [r async for r in every(self.name, listing, max_items=1_000_000, concurrency=self.spec.concurrent_pages)]

    async def _policies(self: Any) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]] | None]:
        """The escalation policies, and their levels by policy id where the answer includes them
        (`include=escalation_policy_levels`, ONCALL.md §1b: E requests fewer); None where it does not."""
        levels: dict[str, list[dict[str, Any]]] = {}
        included = False

        def mapper(document: Any) -> Any:
            nonlocal included
            found = document.get("included") if isinstance(document, dict) else None
            if isinstance(found, list):
                included = True
                for r in found:
                    if isinstance(r, dict) and r.get("type") == "escalation_levels":
                        levels.setdefault(str(attributes(r).get("escalation_policy_id")), []).append(r)
            return lambda record: record

        listing = self.listing("/v1/escalation_policies", {"include": "escalation_policy_levels"}, mapper)
        policies = [
            r async for r in every(self.name, listing, max_items=1_000_000, concurrency=self.spec.concurrent_pages)
        ]
        return policies, (levels if included else None)

    async def schedules(self: Any) -> Book:
        raw_schedules, (raw_policies, included_levels), accounts = await gather(
            self._all("/v1/schedules"), self._policies(), self.account_book()
        )

        def read(path: str) -> Any:
            return lambda: self._all(path)

        def under(kind: str, record: dict[str, Any], rest: str) -> str:
            return f"/v1/{kind}/{segment(str(record['id']))}/{rest}"

        per_schedule = await self.each(
            [read(under("schedules", s, "schedule_rotations")) for s in raw_schedules]
            + [read(under("schedules", s, "override_shifts")) for s in raw_schedules]
            + [
                read(under("escalation_policies", p, "escalation_levels"))
                for p in raw_policies
                if included_levels is None
            ]
        )
        count = len(raw_schedules)
        rotations_of, overrides_of = per_schedule[:count], per_schedule[count : 2 * count]
        levels_of = per_schedule[2 * count :] or [(included_levels or {}).get(str(p["id"]), []) for p in raw_policies]
        flat = [r for rotations in rotations_of for r in rotations]
        users = await self.each([read(under("schedule_rotations", r, "schedule_rotation_users")) for r in flat])
        users_of = {str(r["id"]): u for r, u in zip(flat, users, strict=True)}
        schedules = []
        for resource, rotations in zip(raw_schedules, rotations_of, strict=True):
            rotations.sort(key=lambda r: attributes(r).get("position") or 0)
            mapped = [map_rotation(r, users_of[str(r["id"])], accounts) for r in rotations]
            schedules.append(map_schedule(resource, mapped, accounts))
        escalations = [map_escalation(p, lv, accounts) for p, lv in zip(raw_policies, levels_of, strict=True)]
        overrides = [
            map_override(o, schedule, accounts)
            for schedule, found in zip(schedules, overrides_of, strict=True)
            for o in found
        ]
        covering: set[str] = set()
        if any(t.type == "team" for e in escalations for lv in e.levels for t in lv.targets):
            for team in await self._all("/v1/teams"):
                if any(str(u) in accounts for u in attributes(team).get("user_ids") or []):
                    covering.add(str(team["id"]))
        return Book("rootly", schedules, escalations, overrides, accounts, covering)

    async def on_calls(self: Any, at: str, schedule_id: str | None) -> list[OnCall]:
        params = {"since": at, "until": at, "include": "user", "filter[schedule_ids]": schedule_id}
        document = await self.http.get("/v1/oncalls", params)
        entries = self.records(document)
        included = document.get("included") if isinstance(document, dict) else None
        people = {
            str(r["id"]): r for r in included or [] if isinstance(r, dict) and r.get("type") == "users" and "id" in r
        }
        return [map_on_call(e, people) for e in entries]

    # Writes (SPEC §12): a rotation slot, an override and a schedule's owner are one resource each
    # (changed in place by PUT); an escalation level's targets are a whole list.

    async def change_duty(self: Any, duty: Duty, successor: str | None) -> None:
        """Hand `duty` to the account `successor` in place, or (None) take the leaver out of it."""
        leaver, new = duty.user_id, int(successor) if successor and successor.isdigit() else successor

        def body(kind: str, **attributes: Any) -> dict[str, Any]:
            return {"data": {"type": kind, "attributes": attributes}}

        if duty.kind == "rotation" and duty.rotation:
            slots = await self._all(f"/v1/schedule_rotations/{segment(duty.rotation.id)}/schedule_rotation_users")
            mine = [u for u in slots if str(attributes(u).get("user_id")) == leaver]
            for slot in mine:  # the slot keeps its position: only its user changes
                path = f"/v1/schedule_rotation_users/{segment(str(slot['id']))}"
                if new is None:
                    await self.http.write("DELETE", path)
                else:
                    await self.http.write("PUT", path, body("schedule_rotation_users", user_id=new))
        elif duty.kind == "escalation" and duty.level_id:  # the exact level the read saw them in
            await self._swap_level(duty.level_id, leaver, None if new is None else str(new))
        elif duty.kind == "override" and duty.schedule:
            found = [
                o
                for o in await self._all(f"/v1/schedules/{segment(duty.schedule.id)}/override_shifts")
                if str(attributes(o).get("user_id")) == leaver and attributes(o).get("starts_at") == duty.starts_at
            ]
            if not found:
                raise NotFound(f"the override of {leaver} is no longer there", provider=self.name)
            path = f"/v1/override_shifts/{segment(str(found[0]['id']))}"
            if new is None:
                await self.http.write("DELETE", path)
            else:
                await self.http.write("PUT", path, body("shifts", user_id=new))
        elif duty.kind == "schedule_owner" and duty.schedule and new is not None:
            await self.http.write(
                "PUT", f"/v1/schedules/{segment(duty.schedule.id)}", body("schedules", owner_user_id=new)
            )
        else:
            raise NotFound(f"this {duty.kind} duty cannot be changed at Rootly that way", provider=self.name)

    async def _swap_level(self: Any, level_id: str, leaver: str, successor: str | None) -> None:
        path = f"/v1/escalation_levels/{segment(level_id)}"

        async def targets() -> list[Entry]:
            return list(attributes(self.record(await self.http.get(path))).get("notification_target_params") or [])

        def write(entries: list[Entry]) -> Any:
            body = {"data": {"type": "escalation_levels", "attributes": {"notification_target_params": entries}}}
            return self.http.write("PUT", path, body)

        def named(target: Entry) -> bool:
            return target.get("type") == "user" and str(target.get("id")) == leaver

        await swap_entries(
            self, "escalation_level", level_id,
            what=f"Rootly escalation level {level_id}",
            read=targets, write=write, names=named,
            replace=(lambda t: {**t, "id": successor}) if successor else None,
            successor_in=lambda t: t.get("type") == "user" and str(t.get("id")) == successor,
        )  # fmt: skip
