"""sync_group_members (toolset `admin`): make one group's members match another's (SPEC §13).

The source's members are matched to the target provider's accounts by email (SPEC §4 identity),
one lookup per member. The plan is data first (steps), carried out second (`plans.carry_out`), so
the dry run and the real run share one path: `add_group_member` for each member with an active
account there who is not in the target group yet, `no_account` (skipped) for each without one,
and, only with `remove_extra`, `remove_group_member` for each target member not in the source.
Every step is tried whatever the others did; each writes the audit line its single-provider tool
would. The plan is made from what the groups hold now, so a retry plans only what is left.
"""

from __future__ import annotations

from typing import Annotated, Literal

import anyio
from pydantic import Field

from ..aio import gather
from ..errors import InvalidArgument, NotFound
from ..models import ErrorBody, Group, Member, ProviderName, Strict, User, email_key
from .admin import ConfirmArg
from .base import Args, Call, tool
from .plans import Outcome, Write, accounts_with_email, carry_out

LOOKUPS = 4  # accounts looked up by email at once, per call
Role = Literal["member", "admin"]


class GroupRef(Args):
    """A group (team) at a provider."""

    provider: Annotated[ProviderName, Field(description="Provider.")]
    group_id: Annotated[str, Field(min_length=1, max_length=200, description="Group id (from list_groups).")]


class SyncArgs(Args):
    source: Annotated[GroupRef, Field(description="The group to copy members from.")]
    target: Annotated[GroupRef, Field(description="The group to change (any provider, the source's too).")]
    remove_extra: Annotated[
        bool, Field(description="true also removes target members not in the source; false (default) only adds.")
    ] = False
    confirm: ConfirmArg = False


class SyncedGroup(Strict):
    provider: ProviderName = Field(description="Provider.")
    group_id: str = Field(description="Group id.")
    name: str = Field(description="Group name.")


class SyncStep(Strict):
    action: Literal["add_group_member", "remove_group_member", "no_account"] = Field(
        description="no_account: no active account at the target provider, nothing to add."
    )
    email: str | None = Field(description="The member's email.")
    user_id: str | None = Field(description="The account at the target provider.")
    role: Role | None = Field(description="Role added with, or held when removed.")
    outcome: Outcome | None = Field(description="null in a plan; no_account is always skipped.")
    error: ErrorBody | None = Field(description="Why the step failed (SPEC §6).")


class Sync(Strict):
    dry_run: bool = Field(description="true: nothing was changed; plan and steps say what confirm=true does.")
    source: SyncedGroup = Field(description="The source group.")
    target: SyncedGroup = Field(description="The target group.")
    plan: str | None = Field(None, description="On a dry run: what confirm=true would do.")
    steps: list[SyncStep] = Field(description="Adds and no_account in the source's order, then removals.")
    complete: bool | None = Field(None, description="After a real run: every add and remove step is done.")


def step(action: str, member: Member, user_id: str | None, role: Role | None) -> SyncStep:
    skipped: Outcome | None = "skipped" if action == "no_account" else None
    return SyncStep.model_validate(
        {"action": action, "email": member.email, "user_id": user_id, "role": role, "outcome": skipped, "error": None}
    )


async def plan_sync(call: Call, source: Group, target: Group, remove_extra: bool) -> tuple[list[SyncStep], list[str]]:
    """The steps, and the sentences the plan adds about what no step does."""
    provider = call.directory.known(target.provider)
    in_target = {m.user_id for m in target.members or []}
    people = list({email_key(m.email): m for m in source.members or [] if m.email}.values())  # each person once
    limit = anyio.Semaphore(LOOKUPS)

    async def active_account(email: str) -> User | None:
        async with limit:
            found = await accounts_with_email(call.directory, target.provider, email)
        return next((u for u in found if u.status == "active"), None)

    accounts = await gather(*(active_account(m.email or "") for m in people))
    steps = [step("no_account", m, None, None) for m in source.members or [] if not m.email]
    notes = []
    for member, account in zip(people, accounts, strict=True):
        if account is None:
            steps.append(step("no_account", member, None, None))
        elif account.id not in in_target:
            admin = member.role == "admin" and provider.spec.group_admins
            steps.append(step("add_group_member", member, account.id, "admin" if admin else "member"))
    if not provider.spec.group_admins and any(m.role == "admin" for m in people):
        notes.append(f"{provider.title} has no group admins, so the source's admins are added as members.")
    wanted = {email_key(m.email) for m in people if m.email}
    extra = [m for m in target.members or [] if m.email and email_key(m.email) not in wanted]
    if remove_extra:
        steps += [step("remove_group_member", m, m.user_id, m.role) for m in extra]
    elif extra:
        notes.append(f"{len(extra)} target member(s) not in the source stay: remove_extra=true would remove them.")
    unknown = sum(1 for m in target.members or [] if not m.email)
    if unknown:
        notes.append(f"{unknown} target member(s) whose email {provider.title} does not show are left as they are.")
    return steps, notes


def describe(call: Call, source: Group, target: Group, steps: list[SyncStep], notes: list[str]) -> str:
    """The plan in sentences: exactly what confirm=true sends, and what it leaves."""

    def named(group: Group) -> str:
        return f"{call.directory.known(group.provider).title} group {group.name!r} ({group.id})"

    def people(action: str, admins: bool = False) -> list[str]:
        return [f"{s.email}{' as admin' if admins and s.role == 'admin' else ''}" for s in steps if s.action == action]

    adds, removes, missing = people("add_group_member", True), people("remove_group_member"), people("no_account")
    parts = [f"add {len(adds)} ({', '.join(adds)})"] if adds else []
    parts += [f"remove {len(removes)} not in the source ({', '.join(removes)})"] if removes else []
    if parts:
        sentences = [f"Would make {named(target)} match {named(source)}: {'; '.join(parts)}."]
    else:
        sentences = [f"Nothing to send: {named(target)} already has every member of {named(source)} it can have."]
    if missing:
        title = call.directory.known(target.provider).title
        sentences.append(f"{len(missing)} source member(s) have no active {title} account: {', '.join(missing)}.")
    return " ".join(sentences + notes)


def write(call: Call, group: Group, planned: SyncStep) -> Write:
    """What carrying out one add or remove step sends, audited as its single-provider tool is."""
    adapter = call.directory.adapter(group.provider, planned.action)
    user_id = planned.user_id or ""
    if planned.action == "add_group_member":
        target = {"group_id": group.id, "user_id": user_id, "role": planned.role}
        return Write(
            planned.action, group.provider, target, lambda: adapter.add_group_member(group.id, user_id, planned.role)
        )
    target = {"group_id": group.id, "user_id": user_id}  # NotFound: a member no more, which is the point
    return Write(
        planned.action, group.provider, target, lambda: adapter.remove_group_member(group.id, user_id), (NotFound,)
    )


@tool(
    title="Sync group members",
    toolset="admin",
    args=SyncArgs,
    result=Sync,
    operation="add_group_member",
    read_only=False,
    destructive=True,
    idempotent=True,
)
async def sync_group_members(call: Call, args: SyncArgs) -> Sync:
    """Make a target group's (team's) members match a source group's, in one provider or across two
    (an Opsgenie team into JSM). Source members are matched by email to active accounts at the
    target and added (admins as admins where the target can); those without one are no_account.
    Removes only with remove_extra=true: target members not in the source. Without confirm=true it
    only returns the plan; a retry plans only what is left."""
    directory = call.directory
    needed = ("group", "add_group_member", *(("remove_group_member",) if args.remove_extra else ()))
    for operation in needed:  # unknown, unconfigured or unable providers are turned away first
        directory.adapter(args.target.provider, operation)
    reader = directory.adapter(args.source.provider, "group")
    source, target = await gather(
        reader.group(args.source.group_id), directory.adapter(args.target.provider).group(args.target.group_id)
    )
    if (source.provider, source.id) == (target.provider, target.id):
        raise InvalidArgument(
            f"source and target are the same {directory.known(source.provider).title} group ({source.id}): "
            "name two different groups"
        )
    sides = [SyncedGroup(provider=g.provider, group_id=g.id, name=g.name) for g in (source, target)]
    steps, notes = await plan_sync(call, source, target, args.remove_extra)
    plan = describe(call, source, target, steps, notes)
    if not args.confirm:
        return Sync(dry_run=True, source=sides[0], target=sides[1], plan=plan, steps=steps)
    sent = [s for s in steps if s.action != "no_account"]
    if any(s.action == "remove_group_member" for s in sent):  # destructive: the human says so first
        await call.confirm(plan)
    results = await carry_out(directory, [write(call, target, s) for s in sent], via="sync_group_members")
    for planned, (outcome, error) in zip(sent, results, strict=True):
        planned.outcome, planned.error = outcome, error
    complete = all(s.outcome == "done" for s in sent)
    return Sync(dry_run=False, source=sides[0], target=sides[1], steps=steps, complete=complete)
