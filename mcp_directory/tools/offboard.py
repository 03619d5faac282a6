"""offboard_user (toolset `admin`): one person out of every provider (SPEC §8).

A plan is data first (steps), carried out second, so the dry run and the real run share one
path: per provider, one `remove_group_member` step per group the account is in, then the
account itself (`deactivate_user`). Carried out step by step; a failed step skips the rest of
that provider's steps and not the others'; each step writes the audit line its single-provider
tool would. Running it again plans only what is left, so a retry finishes the job.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ..aio import gather
from ..errors import DirectoryError, NotFound
from ..models import ErrorBody, ProviderName, Strict, email_key, same_email
from ..paging import every
from .base import Args, Call, ProvidersArg, tool

Action = Literal["remove_group_member", "deactivate_user"]


class Step(Strict):
    provider: ProviderName = Field(description="Provider of the account.")
    action: Action = Field(description="remove_group_member, or deactivate_user for the account itself.")
    user_id: str = Field(description="The account's user id at the provider.")
    group_id: str | None = Field(description="The group, for remove_group_member; null for the account step.")
    group_name: str | None = Field(description="The group's name; null for the account step.")
    outcome: Literal["done", "failed", "skipped"] | None = Field(
        description="null in a plan; done, failed, or skipped (an earlier step of this provider failed)."
    )
    error: ErrorBody | None = Field(description="Why a failed step failed (SPEC §6 error object).")


class Offboarding(Strict):
    dry_run: bool = Field(description="true: nothing was changed; the plan and its steps say what confirm=true does.")
    email: str = Field(description="The person, lower-cased.")
    plan: str | None = Field(None, description="On a dry run: what confirm=true would do, in sentences.")
    steps: list[Step] = Field(description="The steps, per provider in order: groups first, then the account.")
    complete: bool | None = Field(None, description="After a real run: whether every step is done.")


class OffboardArgs(Args):
    email: Annotated[
        str,
        Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$", description="The person's email (any case)."),
    ]
    providers: Annotated[
        ProvidersArg | None,
        Field(description="Providers to act in; default: every configured one."),
    ] = None
    confirm: Annotated[
        bool, Field(description="true to do it; false (default) only returns the plan and changes nothing.")
    ] = False


async def plan_provider(call: Call, name: str, email: str) -> tuple[int, list[Step]]:
    """How many accounts `email` has in provider `name`, and the steps that would take it out:
    only what is left (a group it is still in; an account not yet deactivated)."""
    adapter = call.directory.adapter(name, "users")
    found = [u async for u in every(name, adapter.users(search=None, email=email), max_items=50)]
    accounts = [u for u in found if same_email(u.email, email)]  # never another person's account
    if not accounts:
        return 0, []
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
    return len(accounts), steps


def describe(call: Call, email: str, steps: list[Step]) -> str:
    """The plan in sentences, one per provider."""
    sentences = []
    for name in dict.fromkeys(s.provider for s in steps):
        spec = call.directory.known(name).spec
        mine = [s for s in steps if s.provider == name]
        groups = [s.group_name or s.group_id or "?" for s in mine if s.action == "remove_group_member"]
        accounts = [s.user_id for s in mine if s.action == "deactivate_user"]
        sentence = f"In {spec.title} (user {', '.join(accounts) or mine[0].user_id}): "
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


async def carry_out(call: Call, name: str, steps: list[Step]) -> None:
    """One provider's steps in order; after a failure the rest are skipped. Each step is audited."""
    failed = False
    for step in steps:
        if failed:
            step.outcome = "skipped"
            continue
        target: dict[str, Any] = {"user_id": step.user_id, **({"group_id": step.group_id} if step.group_id else {})}
        try:
            if step.action == "remove_group_member":
                await call.directory.adapter(name, "remove_group_member").remove_group_member(
                    step.group_id, step.user_id
                )
            else:
                await call.directory.adapter(name, "deactivate_user").deactivate_user(step.user_id)
            step.outcome = "done"
        except NotFound:
            step.outcome = "done"  # already so: a member no more, an account already gone
        except DirectoryError as exc:
            step.outcome, step.error, failed = "failed", ErrorBody(**exc.to_dict()["error"]), True
        except BaseException:
            call.directory.record_write(step.action, name, target, "cancelled", via="offboard_user")
            raise
        detail = {"code": step.error.code, "status": step.error.status} if step.error else {}
        outcome = "ok" if step.outcome == "done" else "error"
        call.directory.record_write(step.action, name, target, outcome, via="offboard_user", **detail)


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
    """Take one person out of every provider, by email: out of each group, then the account is
    deactivated as deactivate_user does there. Without confirm=true it only returns the plan. A
    failed step skips the rest of that provider only; calling again plans only what is left."""
    directory = call.directory
    email = email_key(args.email.strip())
    names = list(dict.fromkeys(args.providers or [p.name for p in directory.configured()]))
    for name in names:
        directory.known(name)
    planned = await gather(*(plan_provider(call, name, email) for name in names))
    steps = [step for _, provider_steps in planned for step in provider_steps]
    if not any(count for count, _ in planned):
        raise NotFound(f"no account has the email {email!r} in {', '.join(names)}; check it with find_users")
    if not steps:
        plan = f"Nothing left to do: {email} has no active account and no group membership left in {', '.join(names)}."
        return Offboarding(
            dry_run=not args.confirm, email=email, plan=plan, steps=[], complete=True if args.confirm else None
        )
    plan = describe(call, email, steps)
    if not args.confirm:
        return Offboarding(dry_run=True, email=email, plan=plan, steps=steps)
    await call.confirm(plan)
    by_provider = {name: [s for s in steps if s.provider == name] for name in dict.fromkeys(s.provider for s in steps)}
    await gather(*(carry_out(call, name, mine) for name, mine in by_provider.items()))
    return Offboarding(dry_run=False, email=email, steps=steps, complete=all(s.outcome == "done" for s in steps))
