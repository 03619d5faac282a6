"""Opsgenie's on-call side (SPEC §12; provider_specs/ONCALL.md §2): mapping and reads.

The whole configuration at the fewest requests Opsgenie allows (ONCALL.md §2b): every schedule
with its rotations and participants in one request (`GET /v2/schedules?expand=rotation`, unpaged),
every escalation in one (`GET /v2/escalations`, unpaged), the overrides of each schedule (S), each
team a rotation or rule names (T, for whether it has an active member), and the users (paged).

Quirks handled here:
- a recipient is `{type, id}` plus `username` (the email) for a user or `name` for a team,
  escalation or schedule; `none` is an empty slot; `all` and `group` are not people and are
  left out (`group` is no longer accepted upstream);
- who is on call for every schedule is one request (`GET /v2/schedules/on-calls`); a team or
  escalation participant carries the people it resolved to under `onCallParticipants`.
"""

from __future__ import annotations

from datetime import UTC, datetime
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
    duties,
    participant,
)
from .oncall_writes import Entry, swap_entries

KINDS: dict[str, ParticipantType] = {
    "user": "user",
    "team": "team",
    "escalation": "escalation",
    "schedule": "schedule",
    "none": "none",
}


def map_recipient(record: Any, accounts: dict[str, Account]) -> Participant | None:
    """A rotation participant, rule recipient or override user; None for what pages no one here."""
    if not isinstance(record, dict) or record.get("type") not in KINDS:
        return None
    kind = KINDS[record["type"]]
    pid = record.get("id")
    name = record.get("username") if kind == "user" else record.get("name")
    return participant(kind, str(pid) if pid is not None and kind != "none" else None, accounts, name)


def map_schedule(record: dict[str, Any], accounts: dict[str, Account]) -> Schedule:
    team = record.get("ownerTeam")
    return Schedule(
        id=str(record["id"]),
        provider="opsgenie",
        name=record.get("name") or "",
        time_zone=record.get("timezone"),
        enabled=record.get("enabled") if isinstance(record.get("enabled"), bool) else None,
        team=Ref(id=str(team["id"]), name=team.get("name")) if isinstance(team, dict) and team.get("id") else None,
        owner=None,
        rotations=[
            Rotation(
                id=str(r["id"]),
                name=r.get("name"),
                participants=[p for p in (map_recipient(x, accounts) for x in r.get("participants") or []) if p],
            )
            for r in record.get("rotations") or []
        ],
    )


def map_escalation(record: dict[str, Any], accounts: dict[str, Account]) -> Escalation:
    levels = []
    for position, rule in enumerate(record.get("rules") or []):
        target = map_recipient((rule or {}).get("recipient"), accounts)
        levels.append(Level(position=position, targets=[target] if target else []))
    return Escalation(id=str(record["id"]), name=record.get("name"), levels=levels)


def map_override(record: dict[str, Any], schedule: Schedule, accounts: dict[str, Account]) -> Override | None:
    user = map_recipient(record.get("user"), accounts)
    if user is None:
        return None
    rotations = record.get("rotations") or []
    first = rotations[0] if len(rotations) == 1 and isinstance(rotations[0], dict) else None
    return Override(
        id=str(record.get("alias")),
        schedule=Ref(id=schedule.id, name=schedule.name),
        rotation=Ref(id=str(first.get("id")), name=first.get("name")) if first else None,
        user=user,
        starts_at=record.get("startDate"),
        ends_at=record.get("endDate"),
    )


def on_call_users(participants: Any) -> list[dict[str, Any]]:
    """The users among on-call participants, those a team or escalation resolved to included."""
    found: list[dict[str, Any]] = []
    for p in participants if isinstance(participants, list) else []:
        if not isinstance(p, dict):
            continue
        if p.get("type") == "user" and p.get("id"):
            found.append(p)
        found += on_call_users(p.get("onCallParticipants"))
    return found


def map_on_calls(record: dict[str, Any], accounts: dict[str, Account]) -> list[OnCall]:
    """One schedule's on-call answer: `{_parent{id,name}, onCallParticipants[...]}`."""
    parent = record.get("_parent") or {}
    schedule = Ref(id=str(parent.get("id")), name=parent.get("name")) if parent.get("id") else None
    calls: list[OnCall] = []
    seen: set[str] = set()
    for p in on_call_users(record.get("onCallParticipants")):
        uid = str(p["id"])
        if uid in seen:
            continue
        seen.add(uid)
        account = accounts.get(uid)
        calls.append(
            OnCall(
                provider="opsgenie",
                schedule=schedule,
                escalation=None,
                level=None,
                user_id=uid,
                email=account.email if account else p.get("name"),
                name=account.name if account else None,
                status=account.status if account else None,
                starts_at=None,
                ends_at=None,
            )
        )
    return calls


def named_teams(schedules: list[Schedule], escalations: list[Escalation]) -> set[str]:
    ids = {p.id for s in schedules for r in s.rotations for p in r.participants if p.type == "team" and p.id}
    return ids | {t.id for e in escalations for lv in e.levels for t in lv.targets if t.type == "team" and t.id}


class OpsgenieOnCall:
    """The on-call operations, mixed into the Opsgenie adapter."""

    async def schedules(self: Any) -> Book:
        listed, escalated, accounts = await gather(
            self.http.get("/v2/schedules", {"expand": "rotation"}),
            self.http.get("/v2/escalations"),
            self.account_book(),
        )
        schedules = [map_schedule(r, accounts) for r in self.records(listed)]
        escalations = [map_escalation(r, accounts) for r in self.records(escalated)]
        teams = sorted(named_teams(schedules, escalations))

        def overrides_of(schedule: Schedule) -> Any:
            return lambda: self.http.get(
                f"/v2/schedules/{segment(schedule.id)}/overrides", {"scheduleIdentifierType": "id"}
            )

        def team(team_id: str) -> Any:
            return lambda: self.http.get(f"/v2/teams/{segment(team_id)}", {"identifierType": "id"})

        answers = await self.each([overrides_of(s) for s in schedules] + [team(t) for t in teams])
        overrides = [
            o
            for schedule, document in zip(schedules, answers, strict=False)
            for o in (map_override(r, schedule, accounts) for r in self.records(document))
            if o is not None
        ]
        covering = set()
        for team_id, document in zip(teams, answers[len(schedules) :], strict=True):
            members = self.record(document).get("members") or []
            ids = [str((m.get("user") or {}).get("id")) for m in members if isinstance(m, dict)]
            if any(accounts.get(i) is not None and accounts[i].status == "active" for i in ids):
                covering.add(team_id)
        return Book("opsgenie", schedules, escalations, overrides, accounts, covering)

    async def on_calls(self: Any, at: str, schedule_id: str | None) -> list[OnCall]:
        params = {"flat": "false", "date": at}
        if schedule_id:
            path = f"/v2/schedules/{segment(schedule_id)}/on-calls"
            document, accounts = await gather(
                self.http.get(path, {**params, "scheduleIdentifierType": "id"}), self.account_book()
            )
            return map_on_calls(self.record(document), accounts)
        document, accounts = await gather(self.http.get("/v2/schedules/on-calls", params), self.account_book())
        return [c for record in self.records(document) for c in map_on_calls(record, accounts)]

    async def duties_of(self: Any, user_id: str) -> list[Duty]:
        """Everything the account is named for now."""
        return duties(await self.schedules(), user_id, datetime.now(UTC))

    # Writes (SPEC §12): a rotation's participants and an escalation's rules are whole lists.

    async def change_duty(self: Any, duty: Duty, successor: str | None) -> None:
        """Hand `duty` to the account `successor` in place, or (None) take the leaver out of it."""
        leaver = duty.user_id
        user = {"type": "user", "id": successor}

        def named(recipient: Any) -> bool:
            return (
                isinstance(recipient, dict) and recipient.get("type") == "user" and str(recipient.get("id")) == leaver
            )

        def is_successor(recipient: Any) -> bool:
            return isinstance(recipient, dict) and recipient.get("type") == "user" and recipient.get("id") == successor

        if duty.kind == "rotation" and duty.schedule and duty.rotation:
            path = f"/v2/schedules/{segment(duty.schedule.id)}/rotations/{segment(duty.rotation.id)}"
            params = {"scheduleIdentifierType": "id"}

            async def participants() -> list[Entry]:
                return list(self.record(await self.http.get(path, params)).get("participants") or [])

            await swap_entries(
                self, "rotation", duty.rotation.id, what=f"Opsgenie rotation {duty.rotation.name or duty.rotation.id}",
                read=participants,
                write=lambda entries: self.http.write("PATCH", path, {"participants": entries}, params),
                names=named, replace=(lambda e: dict(user)) if successor else None, successor_in=is_successor,
            )  # fmt: skip
        elif duty.kind == "escalation" and duty.escalation:
            path, params = f"/v2/escalations/{segment(duty.escalation.id)}", {"identifierType": "id"}

            async def rules() -> list[Entry]:
                return list(self.record(await self.http.get(path, params)).get("rules") or [])

            await swap_entries(
                self, "escalation", duty.escalation.id, what=f"Opsgenie escalation {duty.escalation.name}",
                read=rules,
                write=lambda entries: self.http.write("PATCH", path, {"rules": entries}, params),
                names=lambda rule: named(rule.get("recipient")),
                replace=(lambda rule: {**rule, "recipient": dict(user)}) if successor else None,
                successor_in=lambda rule: is_successor(rule.get("recipient")),
            )  # fmt: skip
        elif duty.kind == "override" and duty.schedule:
            base = f"/v2/schedules/{segment(duty.schedule.id)}/overrides"
            params = {"scheduleIdentifierType": "id"}
            found = [
                o
                for o in self.records(await self.http.get(base, params))
                if named(o.get("user")) and o.get("startDate") == duty.starts_at and o.get("endDate") == duty.ends_at
            ]
            if not found:
                raise NotFound(f"the override of {leaver} is no longer there", provider=self.name)
            alias = segment(str(found[0].get("alias")))
            if successor is None:
                await self.http.write("DELETE", f"{base}/{alias}", None, params)
                return
            body = {
                "user": user,
                "startDate": duty.starts_at,
                "endDate": duty.ends_at,
                "rotations": [{"id": r.get("id")} for r in found[0].get("rotations") or [] if isinstance(r, dict)],
            }
            await self.http.write("PUT", f"{base}/{alias}", body, params)
        else:
            raise NotFound(f"Opsgenie has no {duty.kind} duty to change", provider=self.name)
