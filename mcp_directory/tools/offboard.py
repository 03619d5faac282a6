"""offboard_user (toolset `admin`): one person out of every provider (SPEC §8).

A plan is data first (steps), carried out second, so the dry run and the real run share one
path: per provider, one step per on-call duty of the account (handed to `successor` in place, or
removed; `handover.py`, SPEC §12), one `remove_group_member` step per group the account is in, then
the account itself (`deactivate_user`). A duty that can be neither handed over nor safely removed
blocks the rest of that provider's steps: the account is never deactivated while still named.
Carried out step by step; a failed step skips the rest of that provider's steps and not the
others'; each step writes the audit line its single-provider tool would. Running it again plans
only what is left, so a retry finishes the job.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import Field

from ..aio import gather
from ..errors import DirectoryError, InvalidArgument, NotFound
from ..models import ErrorBody, ProviderName, Strict, email_key, same_email
from ..oncall import Duty
from ..paging import every
from .base import Args, Call, ProvidersArg, tool
from .handover import has_on_call, plan_duties, sentence
from .plans import Write, perform
from .schema import joined

Action = Literal["hand_over_duty", "remove_from_duty", "remove_group_member", "deactivate_user"]


class Step(Strict):
    provider: ProviderName = Field(description="Provider of the account.")
    action: Action = Field(description="A duty's hand-over or removal, a group, or the account itself.")
    user_id: str = Field(description="The account's user id at the provider.")
    group_id: str | None = Field(description="The group, for remove_group_member; null for the account step.")
    group_name: str | None = Field(description="The group's name; null for the account step.")
    outcome: Literal["done", "failed", "skipped", "blocked"] | None = Field(
        description="null in a plan; done, failed, blocked (a duty nobody can take, or duties that could not "
        "be read: duty null), or skipped (after a failed or blocked step of this provider)."
    )
    error: ErrorBody | None = Field(description="Why a step failed or is blocked (SPEC §6 error object).")
    duty: Duty | None = Field(None, description="The duty a duty step acts on.")


class Offboarding(Strict):
    dry_run: bool = Field(description="true: nothing was changed; the plan and its steps say what confirm=true does.")
    email: str = Field(description="The person, lower-cased.")
    plan: str | None = Field(None, description="On a dry run: what confirm=true would do, in sentences.")
    steps: list[Step] = Field(description="Per provider, in order: duties, groups, the account.")
    complete: bool | None = Field(None, description="After a real run: whether every step is done.")


class OffboardArgs(Args):
    email: Annotated[
        str,
        Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$", description="The person's email (any case)."),
    ]
    providers: Annotated[
        ProvidersArg | None,
        Field(description="Providers to act in; null: every configured one."),
    ] = None
    successor: Annotated[
        str | None,
        Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$", description="Who takes over "
              "their on-call duties, in place (email)."),
    ] = None  # fmt: skip
    leave_gaps: Annotated[
        bool,
        Field(description="true: remove duties nobody takes over even where that leaves nobody paged; default false."),
    ] = False
    confirm: Annotated[
        bool, Field(description="true to do it; false (default) only returns the plan and changes nothing.")
    ] = False


def blocked_error(name: str, reason: str) -> ErrorBody:
    return ErrorBody(code="conflict", message=reason, provider=name, status=None, retry_after=None)


@dataclass
class ProviderPlan:
    """One provider's part of an offboarding: how many accounts, the steps, the successor's account
    there (for hand-overs), and the sentence on what becomes of the duties."""

    accounts: int
    steps: list[Step]
    successor_id: str | None = None
    duties: str = ""


async def plan_provider(
    call: Call, name: str, email: str, successor: str | None = None, leave_gaps: bool = False
) -> ProviderPlan:
    """How many accounts `email` has in provider `name`, and the steps that would take it out:
    only what is left (a group it is still in; an account not yet deactivated)."""
    adapter = call.directory.adapter(name, "users")
    found = [u async for u in every(name, adapter.users(search=None, email=email), max_items=50)]
    accounts = [u for u in found if same_email(u.email, email)]  # never another person's account
    if not accounts:
        return ProviderPlan(0, [])
    names: dict[str, str] = {}
    if hasattr(adapter, "groups"):
        names = {g.id: g.name async for g in every(name, adapter.groups(search=None), max_items=1_000_000)}
    steps: list[Step] = []
    for account in accounts:
        user = await adapter.user(account.id) if hasattr(adapter, "user") else account
        for group_id in user.group_ids or []:
            steps.append(Step(provider=name, action="remove_group_member", user_id=account.id, group_id=group_id,
                              group_name=names.get(group_id), outcome=None, error=None))  # fmt: skip
        if user.status != "inactive":  # inactive: deactivated already
            steps.append(Step(provider=name, action="deactivate_user", user_id=account.id, group_id=None,
                              group_name=None, outcome=None, error=None))  # fmt: skip
    if not has_on_call(call, name):
        return ProviderPlan(len(accounts), steps)
    try:
        planned, successor_id = await plan_duties(adapter, [a.id for a in accounts], successor, leave_gaps)
    except DirectoryError as exc:  # its duties are unknown: nothing is done there, the other providers go on
        return unread(name, [a.id for a in accounts], steps, exc, "hand_over_duty" if successor else "remove_from_duty")
    duty_steps = [
            Step(provider=name, action=p.action, user_id=p.duty.user_id, group_id=None, group_name=None,
                 outcome="blocked" if p.blocked else None, error=blocked_error(name, p.blocked) if p.blocked else None,
                 duty=p.duty)
            for p in planned
    ]  # fmt: skip
    steps = duty_steps + steps
    if any(s.outcome == "blocked" for s in duty_steps):  # the account is never deactivated while still named
        for step in steps:
            step.outcome = step.outcome or "skipped"
    return ProviderPlan(len(accounts), steps, successor_id, sentence(planned, successor))


def unread(name: str, user_ids: list[str], steps: list[Step], exc: DirectoryError, action: Action) -> ProviderPlan:
    """A provider whose on-call duties could not be read: one duty step standing for them (duty
    null: unknown), blocked with the read's error, and the rest skipped, so the account is never
    deactivated while it may still be named (SPEC §8: a failed provider does not stop the others)."""
    why = f"its on-call duties could not be read, so nothing is done there and the account is kept: {exc.message}"
    error = ErrorBody(**{**exc.to_dict()["error"], "message": why})
    first = Step(provider=name, action=action, user_id=user_ids[0], group_id=None, group_name=None, outcome="blocked",
                 error=error, duty=None)  # fmt: skip
    for step in steps:
        step.outcome = "skipped"
    return ProviderPlan(len(user_ids), [first, *steps], duties=f"could not be read ({exc.message})")


def describe(call: Call, email: str, steps: list[Step], duties: dict[str, str] | None = None) -> str:
    """The plan in sentences, one per provider (`duties`: what becomes of its on-call duties)."""
    sentences = []
    for name in dict.fromkeys(s.provider for s in steps):
        spec = call.directory.known(name).spec
        mine = [s for s in steps if s.provider == name]
        groups = [s.group_name or s.group_id or "?" for s in mine if s.action == "remove_group_member"]
        accounts = [s.user_id for s in mine if s.action == "deactivate_user"]
        sentence = f"In {spec.title} (user {', '.join(accounts) or mine[0].user_id}): "
        if any(s.outcome == "blocked" for s in mine):  # nothing is done there, and the account is kept
            sentences.append(sentence + f"on-call duties: {(duties or {}).get(name)}; the account is kept.")
            continue
        if (duties or {}).get(name):
            sentence += f"on-call duties first: {(duties or {})[name]}; then "
        if groups:
            sentence += f"out of {len(groups)} group{'s' if len(groups) != 1 else ''} ({', '.join(groups)})"
            sentence += "; then " if accounts else ""
        if accounts:
            sentence += spec.deactivation
            unable = call.directory.adapters[name].unable("deactivate_user")
            if unable:  # the plan says so up front: that step will fail
                sentence += f", which will fail here: {unable}"
        sentences.append(sentence + ".")
    return f"Would offboard {email}. " + " ".join(sentences)


async def carry_out(call: Call, name: str, steps: list[Step], successor_id: str | None = None) -> None:
    """One provider's steps in order; after a failure the rest are skipped. Each step is audited
    (`plans.perform`). Blocked steps (and those they hold back) were decided in the plan and are
    left as they are."""
    failed = False
    for step in steps:
        if step.outcome in ("blocked", "skipped"):
            continue
        if failed:
            step.outcome = "skipped"
            continue
        error = await perform(call.directory, write_of(call, name, step, successor_id), via="offboard_user")
        step.outcome, step.error, failed = ("failed", error, True) if error else ("done", None, False)


def write_of(call: Call, name: str, step: Step, successor_id: str | None) -> Write:
    """The single-provider write a step stands for, with the audit target that tool writes."""
    target: dict[str, Any] = {"user_id": step.user_id, **({"group_id": step.group_id} if step.group_id else {})}
    directory = call.directory
    send: Callable[[], Awaitable[object]]
    if step.duty is not None:
        duty = step.duty
        target["duty"] = duty.model_dump(include={"kind", "schedule", "rotation", "escalation", "position"})
        if duty.level_id:  # the exact level written (Rootly: positions repeat in each path)
            target["duty"]["level_id"] = duty.level_id
        taker = successor_id if step.action == "hand_over_duty" else None
        if taker is not None:
            target["successor_id"] = taker
        send = lambda: directory.adapter(name, "change_duty").change_duty(duty, taker)  # noqa: E731
    elif step.action == "remove_group_member":
        group_id = step.group_id
        send = lambda: directory.adapter(name, "remove_group_member").remove_group_member(group_id, step.user_id)  # noqa: E731
    else:
        send = lambda: directory.adapter(name, "deactivate_user").deactivate_user(step.user_id)  # noqa: E731
    # NotFound: already so (a member no more, an account already gone)
    return Write(tool=step.action, provider=name, target=target, send=send, already=(NotFound,))


@tool(
    title="Offboard user",
    toolset="admin",
    args=OffboardArgs,
    result=Offboarding,
    operation="deactivate_user",
    read_only=False,
    destructive=True,
    idempotent=True,
)
async def offboard_user(call: Call, args: OffboardArgs) -> Offboarding:
    """Take one person out of every provider, by email: on-call duties handed to successor in place
    (or removed), out of each group, then the account is deactivated as deactivate_user does there.
    Without confirm=true it only returns the plan. A failed or blocked step skips the rest of that
    provider only; calling again plans only what is left."""
    directory = call.directory
    email = email_key(args.email.strip())
    names = list(dict.fromkeys(args.providers or [p.name for p in directory.configured()]))
    for name in names:
        directory.known(name)
    # a read-only provider (the identity provider) is left out: people are deactivated there itself
    kept_out = [directory.known(n).spec.title for n in names if directory.known(n).spec.read_only]
    names = [n for n in names if not directory.known(n).spec.read_only]
    aside = (
        f" {joined(kept_out, 'and')} {'is' if len(kept_out) == 1 else 'are'} left out: read-only here."
        if kept_out
        else ""
    )
    if not names:
        raise InvalidArgument(f"nothing to offboard from:{aside} Deactivate the person in the identity provider itself")
    successor = email_key(args.successor.strip()) if args.successor else None
    if successor is not None and same_email(successor, email):
        raise InvalidArgument("successor must be someone else than the person offboarded")
    planned = await gather(*(plan_provider(call, name, email, successor, args.leave_gaps) for name in names))
    steps = [step for p in planned for step in p.steps]
    if not any(p.accounts for p in planned):
        raise NotFound(f"no account has the email {email!r} in {', '.join(names)}; check it with find_users")
    if not steps:
        plan = f"Nothing left to do: {email} has no active account and no group membership left in {', '.join(names)}."
        return Offboarding(
            dry_run=not args.confirm, email=email, plan=plan, steps=[], complete=True if args.confirm else None
        )
    plan = describe(call, email, steps, {n: p.duties for n, p in zip(names, planned, strict=True)}) + aside
    if not args.confirm:
        return Offboarding(dry_run=True, email=email, plan=plan, steps=steps)
    await call.confirm(plan)
    by_provider = {name: [s for s in steps if s.provider == name] for name in dict.fromkeys(s.provider for s in steps)}
    successors = {n: p.successor_id for n, p in zip(names, planned, strict=True)}
    await gather(*(carry_out(call, name, mine, successors.get(name)) for name, mine in by_provider.items()))
    return Offboarding(dry_run=False, email=email, steps=steps, complete=all(s.outcome == "done" for s in steps))
