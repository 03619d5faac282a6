"""On-call duties (SPEC §12): the normalized objects, and what a provider's on-call answers are.

On-call is a capability a provider has, like paging or licenses: an adapter that has it defines
two operations, and `Provider.supports("schedules")` says which do (a provider without them is
turned away as `unsupported` by `Directory.adapter`, the one place that does so):

- `schedules() -> Book`: the provider's whole on-call configuration, read at the fewest requests
  it allows (provider_specs/ONCALL.md §1b/§2b/§3b): schedules with rotations and participants,
  escalations with their levels or rules, ongoing and future overrides, and its accounts (for each
  named user's email, name and status);
- `on_calls(at, schedule_id) -> list[OnCall]`: who is on call at `at`, as its own on-call API says.

Everything above the adapters (the tools, `oncall_review`) reads a `Book` with the pure functions
here and never asks which provider it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from pydantic import Field, PrivateAttr

from .errors import InvalidArgument
from .models import ProviderName, Status, Strict, email_key

ParticipantType = Literal["user", "team", "escalation", "schedule", "none"]
DutyKind = Literal["rotation", "escalation", "override", "schedule_owner"]

# --- what the tools show -------------------------------------------------------------------------


class Ref(Strict):
    """An object at the provider: its id and name."""

    id: str
    name: str | None


class Participant(Strict):
    type: ParticipantType = Field(description="none: an empty slot.")
    id: str | None
    email: str | None
    name: str | None
    status: Status | None = Field(description="A user's; null: no account.")


class Rotation(Strict):
    id: str
    name: str | None
    participants: list[Participant] = Field(description="In the provider's order.")


class Owner(Strict):
    user_id: str
    email: str | None


class Schedule(Strict):
    id: str
    provider: ProviderName
    name: str
    time_zone: str | None
    enabled: bool | None = Field(description="Enabled; null: unknown.")
    team: Ref | None = Field(description="Owning team.")
    owner: Owner | None = Field(description="Owning user.")
    rotations: list[Rotation] = Field(description="Rotations, in order.")


class Duty(Strict):
    provider: ProviderName
    kind: DutyKind = Field(description="What they are named for.")
    user_id: str
    schedule: Ref | None
    rotation: Ref | None
    escalation: Ref | None
    position: int | None = Field(description="0-based place.")
    starts_at: str | None
    ends_at: str | None
    on_call_now: bool | None = Field(description="On call now by it.")
    # Not shown: the provider's own id of the escalation level named, where positions alone are
    # ambiguous (Rootly counts them within each escalation path), so a write addresses that level.
    _level_id: str | None = PrivateAttr(None)

    @property
    def level_id(self) -> str | None:
        return self._level_id

    def at_level(self, level_id: str | None) -> Duty:
        self._level_id = level_id
        return self


class OnCall(Strict):
    provider: ProviderName
    schedule: Ref | None
    escalation: Ref | None
    level: int | None
    user_id: str
    email: str | None
    name: str | None
    status: Status | None = Field(description="null: no account.")
    starts_at: str | None
    ends_at: str | None


# --- what an adapter reads -----------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    """A provider's account as on-call answers need it."""

    email: str | None
    name: str | None
    status: Status | None


@dataclass(frozen=True)
class Level:
    """One escalation rule (Opsgenie, JSM) or level (Rootly), with its targets."""

    position: int  # 0-based, whatever numbering the provider uses
    targets: list[Participant]
    id: str | None = None  # the level's own id where the position alone does not say which (Rootly)


@dataclass(frozen=True)
class Escalation:
    id: str
    name: str | None
    levels: list[Level]


@dataclass(frozen=True)
class Override:
    id: str  # the override's id or alias
    schedule: Ref
    rotation: Ref | None  # null: every rotation of the schedule
    user: Participant
    starts_at: str | None
    ends_at: str | None


@dataclass
class Book:
    """One provider's whole on-call configuration, participants resolved against its accounts.

    `covering_teams` holds the teams named as participants that have an active member (a team
    can then page someone)."""

    provider: str
    schedules: list[Schedule]
    escalations: list[Escalation]
    overrides: list[Override]
    accounts: dict[str, Account]
    covering_teams: set[str] = field(default_factory=set)


def participant(
    kind: ParticipantType, pid: str | None, accounts: dict[str, Account], name: str | None = None
) -> Participant:
    """A participant, a user's email, name and status taken from the provider's accounts."""
    if kind == "user" and pid is not None:
        account = accounts.get(pid)
        if account is None:
            return Participant(type="user", id=pid, email=None, name=name, status=None)
        return Participant(type="user", id=pid, email=account.email, name=account.name or name, status=account.status)
    return Participant(type=kind, id=pid, email=None, name=name, status=None)


# --- times ----------------------------------------------------------------------------------------


def parse_time(value: str, argument: str = "at") -> datetime:
    """An ISO 8601 date-time (a bare date is its midnight), as an aware UTC time."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(
            f"{argument} must be an ISO 8601 time like 2026-12-06T09:00:00Z, not {value[:40]!r}"
        ) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def instant(value: str | None) -> datetime | None:
    """A provider's time, or None when it is missing or not a time."""
    if not value:
        return None
    try:
        return parse_time(value)
    except InvalidArgument:
        return None


def pending(override: Override, now: datetime) -> bool:
    """An ongoing or future override (one that has ended is no duty)."""
    ends = instant(override.ends_at)
    return ends is None or ends > now


def current(override: Override, now: datetime) -> bool:
    starts, ends = instant(override.starts_at), instant(override.ends_at)
    return (starts is None or starts <= now) and (ends is None or now < ends)


# --- duties ---------------------------------------------------------------------------------------


def duties(book: Book, user_id: str, now: datetime, on_call: list[OnCall] | None = None) -> list[Duty]:
    """Everything `user_id` is directly named for in `book` (SPEC §12 Duty), in the book's order:
    rotations, escalation levels, ongoing and future overrides, schedule ownership. `on_call` (the
    provider's on-call answer for `now`, when read) says which rotation and escalation duties have
    them on call now; without it those are null."""
    mine = [c for c in on_call or [] if c.user_id == user_id] if on_call is not None else None
    found: list[Duty] = []

    def duty(kind: DutyKind, **fields: object) -> Duty:
        base: dict[str, object] = {
            "schedule": None,
            "rotation": None,
            "escalation": None,
            "position": None,
            "starts_at": None,
            "ends_at": None,
            "on_call_now": None,
        }
        return Duty(provider=book.provider, kind=kind, user_id=user_id, **{**base, **fields})  # type: ignore[arg-type]

    for schedule in book.schedules:
        ref = Ref(id=schedule.id, name=schedule.name)
        now_here = None if mine is None else any(c.schedule is not None and c.schedule.id == schedule.id for c in mine)
        for rotation in schedule.rotations:
            for position, p in enumerate(rotation.participants):
                if p.type == "user" and p.id == user_id:
                    rot = Ref(id=rotation.id, name=rotation.name)
                    found.append(duty("rotation", schedule=ref, rotation=rot, position=position, on_call_now=now_here))
    for escalation in book.escalations:
        ref = Ref(id=escalation.id, name=escalation.name)
        for level in escalation.levels:
            if any(t.type == "user" and t.id == user_id for t in level.targets):
                now_here = None
                if mine is not None and any(c.escalation is not None for c in on_call or []):
                    now_here = any(c.escalation is not None and c.escalation.id == escalation.id for c in mine)
                named = duty("escalation", escalation=ref, position=level.position, on_call_now=now_here)
                found.append(named.at_level(level.id))
    for override in book.overrides:
        if override.user.type == "user" and override.user.id == user_id and pending(override, now):
            found.append(
                duty(
                    "override",
                    schedule=override.schedule,
                    rotation=override.rotation,
                    starts_at=override.starts_at,
                    ends_at=override.ends_at,
                    on_call_now=current(override, now),
                )
            )
    for schedule in book.schedules:
        if schedule.owner is not None and schedule.owner.user_id == user_id:
            found.append(duty("schedule_owner", schedule=Ref(id=schedule.id, name=schedule.name)))
    return found


def accounts_of(book: Book, email: str) -> list[str]:
    """The ids of `email`'s accounts in `book` (SPEC §4 identity)."""
    key = email_key(email)
    return [uid for uid, a in book.accounts.items() if a.email is not None and email_key(a.email) == key]


def duty_label(duty: Duty) -> str:
    """A duty in a few words, for plans and errors."""
    schedule = f" of schedule {duty.schedule.name or duty.schedule.id!r}" if duty.schedule else ""
    if duty.kind == "rotation" and duty.rotation:
        where = duty.rotation.name or duty.rotation.id
        return f"slot {(duty.position or 0) + 1} of rotation {where!r}{schedule}"
    if duty.kind == "escalation" and duty.escalation:
        return f"level {(duty.position or 0) + 1} of escalation {duty.escalation.name or duty.escalation.id!r}"
    if duty.kind == "override":
        return f"an override ({duty.starts_at} to {duty.ends_at}){schedule}"
    return f"owner{schedule}"


def others_active(book: Book, duty: Duty) -> bool:
    """Whether the rotation or escalation level of `duty` still names another active user."""
    if duty.kind == "rotation" and duty.rotation:
        named = [p for s in book.schedules for r in s.rotations if r.id == duty.rotation.id for p in r.participants]
    elif duty.kind == "escalation" and duty.escalation:
        named = [
            t
            for e in book.escalations
            if e.id == duty.escalation.id
            for lv in e.levels
            if (lv.id, lv.position) == (duty.level_id, duty.position)
            for t in lv.targets
        ]
    else:
        return True
    return any(p.type == "user" and p.id != duty.user_id and p.status == "active" for p in named)
