"""JSM Operations' on-call side (SPEC §12; provider_specs/ONCALL.md §3): mapping and reads.

The whole configuration at the fewest requests JSM allows (ONCALL.md §3b): the schedules with
rotations and participants, 50 a page (`GET /v1/schedules?expand=rotation`), the Ops teams (1)
and each team's escalations (escalations exist only per team), each schedule's overrides (S), the
members of each team a rotation or rule names, and the users.

Quirks handled here:
- Ops lists are `{values[], links{next}}` paged by `offset`/`size`, without a total;
- a participant is `{type user|team|escalation|noone, id}` (`noone`: an empty slot, no id);
  a rule's recipient is `{type user|schedule|team, id}`; an override's responder `{type user|noone, id}`;
- who is on call exists per schedule only (`GET /v1/schedules/{id}/on-calls?flat=true`: the
  account ids), so S requests.
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
    Participant,
    ParticipantType,
    Ref,
    Rotation,
    Schedule,
    participant,
)
from ..paging import every
from ..spec import Offset
from .jsm_mapping import offset_of
from .oncall_writes import Entry, swap_entries

KINDS: dict[str, ParticipantType] = {
    "user": "user",
    "team": "team",
    "escalation": "escalation",
    "schedule": "schedule",
    "noone": "none",
}


def ops_pages(size: int) -> Offset:
    """Ops lists: `offset`/`size`, the next page's offset in `links.next`."""
    return Offset(
        offset_param="offset",
        limit_param="size",
        next_offset=lambda document: offset_of((document.get("links") or {}).get("next")),
        max_size=size,
    )


SCHEDULE_PAGES = ops_pages(50)
ESCALATION_PAGES = ops_pages(100)
OVERRIDE_PAGES = ops_pages(50)


def map_responder(record: Any, accounts: dict[str, Account]) -> Participant | None:
    if not isinstance(record, dict) or record.get("type") not in KINDS:
        return None
    kind = KINDS[record["type"]]
    pid = record.get("id")
    return participant(kind, str(pid) if pid is not None and kind != "none" else None, accounts)


def map_schedule(record: dict[str, Any], teams: dict[str, str], accounts: dict[str, Account]) -> Schedule:
    team = record.get("teamId")
    return Schedule(
        id=str(record["id"]),
        provider="jsm",
        name=record.get("name") or "",
        time_zone=record.get("timezone"),
        enabled=record.get("enabled") if isinstance(record.get("enabled"), bool) else None,
        team=Ref(id=str(team), name=teams.get(str(team))) if team else None,
        owner=None,
        rotations=[
            Rotation(
                id=str(r["id"]),
                name=r.get("name"),
                participants=[p for p in (map_responder(x, accounts) for x in r.get("participants") or []) if p],
            )
            for r in record.get("rotations") or []
        ],
    )


def map_escalation(record: dict[str, Any], accounts: dict[str, Account]) -> Escalation:
    levels = []
    for position, rule in enumerate(record.get("rules") or []):
        target = map_responder((rule or {}).get("recipient"), accounts)
        levels.append(Level(position=position, targets=[target] if target else []))
    return Escalation(id=str(record["id"]), name=record.get("name"), levels=levels)


def map_override(record: dict[str, Any], schedule: Schedule, accounts: dict[str, Account]) -> Override | None:
    user = map_responder(record.get("responder"), accounts)
    if user is None:
        return None
    ids = record.get("rotationIds") or []
    names = {r.id: r.name for r in schedule.rotations}
    return Override(
        id=str(record.get("alias")),
        schedule=Ref(id=schedule.id, name=schedule.name),
        rotation=Ref(id=str(ids[0]), name=names.get(str(ids[0]))) if len(ids) == 1 else None,
        user=user,
        starts_at=record.get("startDate"),
        ends_at=record.get("endDate"),
    )


def map_on_calls(document: Any, schedule: Ref, accounts: dict[str, Account]) -> list[OnCall]:
    """`{onCallUsers: [accountId]}` (flat=true) for one schedule."""
    ids = document.get("onCallUsers") if isinstance(document, dict) else None
    calls = []
    for uid in dict.fromkeys(str(i) for i in ids or [] if i):
        account = accounts.get(uid)
        calls.append(
            OnCall(
                provider="jsm",
                schedule=schedule,
                escalation=None,
                level=None,
                user_id=uid,
                email=account.email if account else None,
                name=account.name if account else None,
                status=account.status if account else None,
                starts_at=None,
                ends_at=None,
            )
        )
    return calls


class JsmOnCall:
    """The on-call operations, mixed into the JSM adapter."""

    async def _ops_all(self: Any, path: str, params: dict[str, Any], pages: Offset) -> list[dict[str, Any]]:
        async def where() -> str:
            return str(await self.ops_path(path))

        listing = self.listed(self.ops, where, params, lambda d: lambda r: r, pages, "values")
        return [r async for r in every(self.name, listing, max_items=1_000_000)]

    async def schedules(self: Any) -> Book:
        raw, teams, accounts = await gather(
            self._ops_all("/v1/schedules", {"expand": "rotation"}, SCHEDULE_PAGES),
            self.ops_teams(),
            self.account_book(),
        )
        names = {t.id: t.name for t in teams}
        schedules = [map_schedule(r, names, accounts) for r in raw]

        def escalations_of(team: str) -> Any:
            return lambda: self._ops_all(f"/v1/teams/{segment(team)}/escalations", {}, ESCALATION_PAGES)

        def overrides_of(schedule: Schedule) -> Any:
            return lambda: self._ops_all(f"/v1/schedules/{segment(schedule.id)}/overrides", {}, OVERRIDE_PAGES)

        answers = await self.each([escalations_of(t.id) for t in teams] + [overrides_of(s) for s in schedules])
        escalations = [map_escalation(e, accounts) for found in answers[: len(teams)] for e in found]
        overrides = [
            o
            for schedule, found in zip(schedules, answers[len(teams) :], strict=True)
            for o in (map_override(r, schedule, accounts) for r in found)
            if o is not None
        ]
        named = {p.id for s in schedules for r in s.rotations for p in r.participants if p.type == "team" and p.id}
        named |= {t.id for e in escalations for lv in e.levels for t in lv.targets if t.type == "team" and t.id}
        ordered = sorted(named)
        members = await self.each([(lambda t=t: self.member_ids(t)) for t in ordered])
        covering = {
            team
            for team, ids in zip(ordered, members, strict=True)
            if any(accounts.get(i) is not None and accounts[i].status == "active" for i in ids)
        }
        return Book("jsm", schedules, escalations, overrides, accounts, covering)

    async def on_calls(self: Any, at: str, schedule_id: str | None) -> list[OnCall]:
        if schedule_id:
            found = self.record(await self.ops.get(await self.ops_path(f"/v1/schedules/{segment(schedule_id)}")))
            raw = [found]
        else:
            raw = await self._ops_all("/v1/schedules", {}, SCHEDULE_PAGES)
        refs = [Ref(id=str(r["id"]), name=r.get("name")) for r in raw if r.get("id")]

        def asked(ref: Ref) -> Any:
            async def read() -> Any:
                path = await self.ops_path(f"/v1/schedules/{segment(ref.id)}/on-calls")
                return await self.ops.get(path, {"flat": "true", "date": at})

            return read

        answers, accounts = await gather(self.each([asked(r) for r in refs]), self.account_book())
        return [c for ref, document in zip(refs, answers, strict=True) for c in map_on_calls(document, ref, accounts)]

    # Writes (SPEC §12): a rotation's participants and an escalation's rules are whole lists (PATCH).

    async def change_duty(self: Any, duty: Duty, successor: str | None) -> None:
        """Hand `duty` to the account `successor` in place, or (None) take the leaver out of it."""
        leaver = duty.user_id
        user = {"type": "user", "id": successor}

        def named(responder: Any) -> bool:
            return isinstance(responder, dict) and responder.get("type") == "user" and responder.get("id") == leaver

        def is_successor(responder: Any) -> bool:
            return isinstance(responder, dict) and responder.get("type") == "user" and responder.get("id") == successor

        async def whole(path: str, key: str, kind: str, object_id: str, what: str, inner: str | None) -> None:
            where = await self.ops_path(path)

            async def read() -> list[Entry]:
                return list(self.record(await self.ops.get(where)).get(key) or [])

            def pick(entry: Entry) -> Any:
                return entry.get(inner) if inner else entry

            await swap_entries(
                self, kind, object_id, what=what, read=read,
                write=lambda entries: self.ops.write("PATCH", where, {key: entries}),
                names=lambda e: named(pick(e)),
                replace=(lambda e: {**e, inner: dict(user)} if inner else dict(user)) if successor else None,
                successor_in=lambda e: is_successor(pick(e)),
            )  # fmt: skip

        if duty.kind == "rotation" and duty.schedule and duty.rotation:
            path = f"/v1/schedules/{segment(duty.schedule.id)}/rotations/{segment(duty.rotation.id)}"
            what = f"Jira Service Management rotation {duty.rotation.name or duty.rotation.id}"
            await whole(path, "participants", "rotation", duty.rotation.id, what, None)
        elif duty.kind == "escalation" and duty.escalation:
            team = await self._team_of(duty.escalation.id)
            path = f"/v1/teams/{segment(team)}/escalations/{segment(duty.escalation.id)}"
            what = f"Jira Service Management escalation {duty.escalation.name or duty.escalation.id}"
            await whole(path, "rules", "escalation", duty.escalation.id, what, "recipient")
        elif duty.kind == "override" and duty.schedule:
            base = f"/v1/schedules/{segment(duty.schedule.id)}/overrides"
            found = [
                o
                for o in await self._ops_all(base, {}, OVERRIDE_PAGES)
                if named(o.get("responder")) and o.get("startDate") == duty.starts_at
            ]
            if not found:
                raise NotFound(f"the override of {leaver} is no longer there", provider=self.name)
            where = await self.ops_path(f"{base}/{segment(str(found[0].get('alias')))}")
            if successor is None:
                await self.ops.write("DELETE", where)
                return
            body = {"responder": user, "startDate": duty.starts_at, "endDate": duty.ends_at}
            if found[0].get("rotationIds"):
                body["rotationIds"] = found[0]["rotationIds"]
            await self.ops.write("PUT", where, body)
        else:
            raise NotFound(f"Jira Service Management has no {duty.kind} duty to change", provider=self.name)

    async def _team_of(self: Any, escalation_id: str) -> str:
        """The team an escalation belongs to (escalations exist only per team)."""
        for team in await self.ops_teams():
            found = await self._ops_all(f"/v1/teams/{segment(team.id)}/escalations", {}, ESCALATION_PAGES)
            if any(str(e.get("id")) == escalation_id for e in found):
                return str(team.id)
        raise NotFound(f"escalation {escalation_id} is no longer there", provider=self.name)
