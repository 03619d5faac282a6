"""On-call duties in an offboarding and a deactivation (SPEC §12): what the leaver is named for at
one provider, and what becomes of each duty: handed to the successor in place, removed, or blocked.

Nothing here names a provider: a provider with on-call has `schedules()` and `change_duty()`
(oncall.py); one without has no duties, so its offboarding is as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from ..errors import Conflict
from ..oncall import Duty, accounts_of, duties, duty_label, others_active

DutyAction = Literal["hand_over_duty", "remove_from_duty"]


@dataclass(frozen=True)
class Planned:
    """One duty's step: its action, and why it is blocked (None: it can be carried out)."""

    duty: Duty
    action: DutyAction
    blocked: str | None = None
    gap: bool = False  # removing it leaves the rotation or level paging nobody (leave_gaps)


def has_on_call(call: Any, provider: str) -> bool:
    return bool(call.directory.known(provider).supports("schedules"))


async def account_duties(adapter: Any, user_ids: list[str]) -> tuple[Any, list[Duty]]:
    """The provider's on-call configuration and every duty of these accounts in it."""
    book = await adapter.schedules()
    now = datetime.now(UTC)
    return book, [d for uid in user_ids for d in duties(book, uid, now)]


async def plan_duties(
    adapter: Any, user_ids: list[str], successor: str | None, leave_gaps: bool
) -> tuple[list[Planned], str | None]:
    """Each duty of the leaver's accounts, planned (SPEC §12), and the successor's account id there."""
    book, held = await account_duties(adapter, user_ids)
    if not held:
        return [], None
    title = adapter.spec.title
    successor_id = None
    why_not = None
    if successor is not None:
        ids = [uid for uid in accounts_of(book, successor) if book.accounts[uid].status == "active"]
        successor_id = ids[0] if ids else None
        if successor_id is None:
            why_not = f"the successor {successor} has no active account at {title} to take it over"
    planned = []
    for duty in held:
        if successor_id is not None:
            planned.append(Planned(duty, "hand_over_duty"))
        elif duty.kind == "schedule_owner":
            if leave_gaps:  # an owner cannot be removed, only replaced: the schedule keeps naming them
                continue
            reason = why_not or f"a schedule's owner can only be handed over: pass successor (at {title})"
            planned.append(Planned(duty, "hand_over_duty", reason))
        elif duty.kind == "override" or others_active(book, duty):
            planned.append(Planned(duty, "remove_from_duty", why_not if why_not and not leave_gaps else None))
        else:
            reason = why_not or f"removing them would leave {duty_label(duty)} paging nobody: pass successor"
            planned.append(Planned(duty, "remove_from_duty", None if leave_gaps else reason, gap=True))
    return planned, successor_id


def sentence(planned: list[Planned], successor: str | None) -> str:
    """What becomes of the duties at one provider, for the plan."""
    handed = [duty_label(p.duty) for p in planned if p.action == "hand_over_duty" and not p.blocked]
    removed = [duty_label(p.duty) for p in planned if p.action == "remove_from_duty" and not p.blocked]
    gaps = [duty_label(p.duty) for p in planned if p.gap and not p.blocked]
    blocked = [f"{duty_label(p.duty)} ({p.blocked})" for p in planned if p.blocked]
    parts = []
    if handed:
        parts.append(f"hand {'; '.join(handed)} to {successor} in place")
    if removed:
        parts.append(f"take them out of {'; '.join(removed)}")
    if gaps:
        parts.append(f"leaving {'; '.join(gaps)} paging nobody (leave_gaps)")
    if blocked:
        parts.append(f"blocked, so nothing else is done there: {'; '.join(blocked)}")
    return ", ".join(parts)


def refusal(spec: Any, user_id: str, held: list[Duty]) -> Conflict:
    """deactivate_user's refusal while the account is still named for duties."""
    labels = "; ".join(duty_label(d) for d in held)
    return Conflict(
        f"{spec.title} user {user_id} still holds on-call duties ({labels}); hand them over first "
        "(offboard_user with successor) or pass leave_gaps=true to deactivate anyway",
        provider=spec.name,
    )
