"""Time for the simulated on-call APIs: reading the providers' times, and who of a rotation's
participants holds the shift at a moment.

One rule for all three providers (their specs give the fields, not the arithmetic — an assumption of
this simulator): a rotation's shifts follow each other from its start, each `shift` long; shift k
belongs to participant k mod n, in the participants' order; before the start, and from the end on,
nobody holds it. An override covering the moment takes the place of the rotations it names (all of
them when it names none).

The demo's rotations start a whole number of days before `anchor()` (today, 00:00 UTC), so whoever
the seeder put in the current shift is on call whenever the demo runs that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from mcp_directory.sim.common import SimError

UNITS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1), "weekly": timedelta(weeks=1)}
MAX_SHIFTS = 1000  # the most shifts one answer lists (a window is never walked without bound)


@dataclass(frozen=True)
class Shift:
    slot: int  # the participant's 0-based place in the rotation
    starts: datetime
    ends: datetime


def anchor(now: datetime | None = None) -> datetime:
    """Today (or `now`'s day), 00:00 UTC: what the demo's start dates are counted back from."""
    return (now or datetime.now(UTC)).astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def parse_time(raw: str | None, name: str, default: datetime | None = None) -> datetime:
    """An ISO 8601 time from a query or body (a trailing Z, or no zone: UTC); SimError 400 otherwise."""
    if raw is None or raw == "":
        if default is None:
            raise SimError(400, f"{name} is required")
        return default
    try:
        moment = datetime.fromisoformat(raw.strip().replace(" ", "+").replace("Z", "+00:00"))
    except ValueError as exc:
        raise SimError(400, f"{name} must be an ISO 8601 date-time, not {raw!r}") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def iso(moment: datetime) -> str:
    """2026-12-06T09:00:00Z (seconds, UTC)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def shift_at(start: datetime, shift: timedelta, count: int, at: datetime, end: datetime | None = None) -> Shift | None:
    """The shift of a rotation holding `at`, or None (not started, ended, or nobody in it)."""
    if count < 1 or shift <= timedelta(0) or at < start or (end is not None and at >= end):
        return None
    index = (at - start) // shift
    starts = start + index * shift
    ends = starts + shift if end is None else min(starts + shift, end)
    return Shift(index % count, starts, ends)


def shifts_between(
    start: datetime, shift: timedelta, count: int, since: datetime, until: datetime, end: datetime | None = None
) -> list[Shift]:
    """Every shift overlapping [since, until] (the one holding `since` first), at most MAX_SHIFTS."""
    first = shift_at(start, shift, count, max(since, start), end)
    out: list[Shift] = []
    while first is not None and first.starts <= until and len(out) < MAX_SHIFTS:
        out.append(first)
        first = shift_at(start, shift, count, first.ends, end) if first.ends > first.starts else None
    return out


def covers(starts: datetime, ends: datetime, at: datetime) -> bool:
    return starts <= at < ends


@dataclass(frozen=True)
class Cover:
    """An override as the rule needs it: its times (ISO text), the rotations it names by id or name
    (empty: all of them), and who takes the shift (the provider's own participant record)."""

    starts: str
    ends: str
    rotations: set[str | None]
    holder: dict[str, Any]


def rotation_holder(rotation: dict[str, Any], at: datetime) -> dict[str, Any] | None:
    """The participant whose shift of an Opsgenie/JSM rotation (`startDate`, `endDate`, `type`,
    `length`, `participants`) holds `at`; None: nobody."""
    unit = UNITS.get(rotation.get("type", ""))
    if unit is None:
        return None
    start = parse_time(rotation["startDate"], "startDate")
    end = parse_time(rotation["endDate"], "endDate") if rotation.get("endDate") else None
    shift = shift_at(start, unit * int(rotation.get("length") or 1), len(rotation["participants"]), at, end)
    return None if shift is None else dict(rotation["participants"][shift.slot])


def holders(rotations: list[dict[str, Any]], overrides: list[Cover], at: datetime) -> list[dict[str, Any]]:
    """Who holds each rotation at `at` (an override covering it first), in rotation order, each once."""
    found: list[dict[str, Any]] = []
    for rotation in rotations:
        holder = rotation_holder(rotation, at)
        for cover in overrides:
            named = cover.rotations - {None}
            inside = covers(parse_time(cover.starts, "startDate"), parse_time(cover.ends, "endDate"), at)
            if inside and (not named or rotation["id"] in named or rotation["name"] in named):
                holder = cover.holder
        if holder is not None and holder not in found:
            found.append(holder)
    return found
