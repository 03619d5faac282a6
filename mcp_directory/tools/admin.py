"""Write tools over group membership and user lifecycle (toolset `admin`).

Registered only when writes are allowed. The destructive ones change nothing without
confirm=true: they return the plan, and send nothing upstream. With confirm=true the same
plan is the question the human is asked (`Call.confirm`, SPEC §9) right before the write.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field

from ..models import Deactivation, Group, User, Written
from ..oncall import duty_label
from ..spec import ProviderSpec
from .base import Args, Call, ProviderArg, tool
from .handover import account_duties, has_on_call, refusal

W = TypeVar("W", bound=Written)  # type: ignore[type-arg]

UserIdArg = Annotated[
    str, Field(min_length=1, max_length=200, description="User id at the provider (from list_users).")
]
GroupIdArg = Annotated[str, Field(min_length=1, max_length=200, description="Group (team) id (from list_groups).")]
ConfirmArg = Annotated[
    bool, Field(description="true to do it; false (default) only returns the plan and changes nothing.")
]


class AddMemberArgs(Args):
    provider: ProviderArg
    group_id: GroupIdArg
    user_id: UserIdArg
    role: Annotated[Literal["member", "admin"], Field(description="member (default) or admin of the group.")] = "member"


class RemoveMemberArgs(Args):
    provider: ProviderArg
    group_id: GroupIdArg
    user_id: UserIdArg
    confirm: ConfirmArg = False


class CreateUserArgs(Args):
    provider: ProviderArg
    email: Annotated[
        str, Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$", description="Email address (login).")
    ]
    first_name: Annotated[str, Field(min_length=1, max_length=100, description="First name.")]
    last_name: Annotated[str, Field(min_length=1, max_length=100, description="Last name.")]
    role: Annotated[
        str | None,
        Field(
            max_length=100,
            description="Account role, where the provider sets one at creation (e.g. admin or user; see list_roles).",
        ),
    ] = None


class DeactivateArgs(Args):
    provider: ProviderArg
    user_id: UserIdArg
    leave_gaps: Annotated[bool, Field(description="true: deactivate even while it holds on-call duties.")] = False
    confirm: ConfirmArg = False


def applied(kind: type[W], provider: str, result: Any, what: str, reader: str) -> W:
    """A write's result; when the provider took the change but the object could not be read
    back, say so: it must not look like a failure the agent would retry."""
    note = None
    if result is None:
        note = (
            f"The change was applied, but {what} could not be read back afterwards; "
            f"do not repeat the call: read it with {reader} first."
        )
    return kind(provider=provider, result=result, note=note)


@tool(
    title="Add group member",
    toolset="admin",
    args=AddMemberArgs,
    result=Written[Group],
    operation="add_group_member",
    idempotent=True,
    read_only=False,
)
async def add_group_member(call: Call, args: AddMemberArgs) -> Written[Group]:
    """Add a user to a group (team) as member or admin, or change the role of a present member.
    Adding a present member changes nothing. Returns the group with its members."""
    group = await call.adapter(args.provider).add_group_member(args.group_id, args.user_id, args.role)
    return applied(Written[Group], args.provider, group, f"group {args.group_id}", "get_group")


@tool(
    title="Remove group member",
    toolset="admin",
    args=RemoveMemberArgs,
    result=Written[Group],
    operation="remove_group_member",
    destructive=True,
    idempotent=True,
    read_only=False,
)
async def remove_group_member(call: Call, args: RemoveMemberArgs) -> Written[Group]:
    """Remove a user from a group (team). Without confirm=true it only returns the plan."""
    adapter = call.adapter(args.provider)
    plan = (
        f"Would remove {adapter.spec.title} user {args.user_id} from group {args.group_id}; "
        "the user account itself is kept."
    )
    if not args.confirm:
        return Written[Group](provider=args.provider, dry_run=True, plan=plan)
    await call.confirm(plan)
    group = await adapter.remove_group_member(args.group_id, args.user_id)
    return applied(Written[Group], args.provider, group, f"group {args.group_id}", "get_group")


@tool(
    title="Create user",
    toolset="admin",
    args=CreateUserArgs,
    result=Written[User],
    operation="create_user",
    idempotent=False,
    read_only=False,
)
async def create_user(call: Call, args: CreateUserArgs) -> Written[User]:
    """Create a user account where the provider's API can. Returns the new user."""
    adapter = call.adapter(args.provider)
    user = await adapter.create_user(args.email, args.first_name, args.last_name, args.role)
    written = applied(Written[User], args.provider, user, f"the new user {args.email}", "find_users")
    if adapter.spec.create_note:  # what the provider could not set (e.g. the names)
        written.note = " ".join(n for n in (written.note, adapter.spec.create_note) if n)
    return written


@tool(
    title="Deactivate user",
    toolset="admin",
    args=DeactivateArgs,
    result=Written[Deactivation],
    operation="deactivate_user",
    destructive=True,
    idempotent=True,
    read_only=False,
)
async def deactivate_user(call: Call, args: DeactivateArgs) -> Written[Deactivation]:
    """Take a user's access away: $DEACTIVATION. The plan and the result say which. Without
    confirm=true it only returns the plan."""
    adapter = call.adapter(args.provider)
    plan = deactivation_plan(adapter.spec, args.user_id)
    held = (await account_duties(adapter, [args.user_id]))[1] if has_on_call(call, args.provider) else []
    if held:  # SPEC §12: the plan names them; the account is not deactivated while named, unless leave_gaps
        plan += f" It still holds on-call duties: {'; '.join(duty_label(d) for d in held)}."
    if not args.confirm:
        return Written[Deactivation](provider=args.provider, dry_run=True, plan=plan)
    if held and not args.leave_gaps:
        raise refusal(adapter.spec, args.user_id, held)
    await call.confirm(plan)
    done = await adapter.deactivate_user(args.user_id)
    return Written[Deactivation](provider=args.provider, result=done)


def deactivation_plan(spec: ProviderSpec, user_id: str) -> str:
    return f"Would deactivate {spec.title} user {user_id}: {spec.deactivation}."
