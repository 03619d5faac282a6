"""Read tools over users, groups, roles and licenses (toolset `directory`)."""

from __future__ import annotations

from typing import Annotated, get_args

import anyio
from pydantic import Field, StringConstraints

from ..errors import DirectoryError
from ..models import (
    Account,
    ErrorBody,
    FoundPeople,
    Group,
    License,
    ListedUser,
    Many,
    One,
    Page,
    Person,
    ProviderInfo,
    ProviderList,
    Role,
    User,
    UserField,
    email_key,
)
from ..paging import every
from .base import Args, Call, CursorArg, LimitArg, ProviderArg, ProvidersArg, tool

SearchArg = Annotated[
    str | None, Field(max_length=200, description="Case-insensitive part of a name or email to filter by.")
]


USER_FIELDS = get_args(UserField)
FieldsArg = Annotated[
    Annotated[list[UserField], Field(max_length=len(USER_FIELDS))] | None,
    Field(
        description='Only these User fields (besides id) in each item, e.g. ["email", "status"]: far fewer '
        "tokens. Omit for whole users. A next_cursor may be followed with other fields."
    ),
]


class NoArgs(Args):
    pass


class ProviderOnly(Args):
    provider: ProviderArg


class ListUsersArgs(Args):
    provider: ProviderArg
    search: SearchArg = None
    email: Annotated[str | None, Field(max_length=320, description="Exact email address (any letter case).")] = None
    fields: FieldsArg = None
    limit: LimitArg = 50
    cursor: CursorArg = None


class GetUserArgs(Args):
    provider: ProviderArg
    user_id: Annotated[str, Field(min_length=1, max_length=200, description="User id from list_users or find_users.")]


class ListGroupsArgs(Args):
    provider: ProviderArg
    search: SearchArg = None
    limit: LimitArg = 50
    cursor: CursorArg = None


class GetGroupArgs(Args):
    provider: ProviderArg
    group_id: Annotated[str, Field(min_length=1, max_length=200, description="Group (team) id from list_groups.")]


class ListRolesArgs(Args):
    provider: ProviderArg
    limit: LimitArg = 50
    cursor: CursorArg = None


class FindUsersArgs(Args):
    query: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=2, max_length=320),
        Field(description="An email address, or part of a name or email (at least 2 characters)."),
    ]
    providers: Annotated[
        ProvidersArg | None,
        Field(description="Providers to search; default: every configured provider."),
    ] = None


@tool(title="List providers", toolset="directory", args=NoArgs, result=ProviderList, open_world=False)
async def list_providers(call: Call, args: NoArgs) -> ProviderList:
    """List the configured providers, their base URLs and which tools each supports. Start here."""
    directory = call.directory
    items = [
        ProviderInfo(provider=p.name, base_url=directory.adapters[p.name].http.base_url, **call.supported(p))
        for p in directory.configured()
    ]
    return ProviderList(result=items)


@tool(title="List users", toolset="directory", args=ListUsersArgs, result=Page[ListedUser], operation="users")
async def list_users(call: Call, args: ListUsersArgs) -> Page[ListedUser]:
    """List user accounts of one provider, one page at a time; filter by part of a name or email
    (search) or by exact email, and ask only for the fields you need (fields). For questions about
    the whole directory (who is where, admins, inactive, mixed status) use access_review instead of
    paging through every user."""
    listing = call.adapter(args.provider).users(search=args.search, email=args.email)
    # `fields` only shapes the items served, never which items: the cursor is not bound to it, so
    # a walk may change the fields it asks for from one page to the next.
    filters = {"search": args.search, "email": args.email}
    page = await call.page(args.provider, listing, limit=args.limit, cursor=args.cursor, filters=filters)
    items = [ListedUser.of(user, args.fields) for user in page.result]
    return Page[ListedUser](provider=page.provider, result=items, next_cursor=page.next_cursor, total=page.total)


@tool(title="Get user", toolset="directory", args=GetUserArgs, result=One[User], operation="user")
async def get_user(call: Call, args: GetUserArgs) -> One[User]:
    """Get one user account by id, with the ids of the groups (teams) the user belongs to."""
    user = await call.adapter(args.provider).user(args.user_id)
    return One[User](provider=args.provider, result=user)


@tool(title="Get me", toolset="directory", args=ProviderOnly, result=One[User], operation="me")
async def get_me(call: Call, args: ProviderOnly) -> One[User]:
    """Get the user behind the configured credential of a provider (where credentials belong to
    users rather than integrations)."""
    user = await call.adapter(args.provider).me()
    return One[User](provider=args.provider, result=user)


@tool(title="List groups", toolset="directory", args=ListGroupsArgs, result=Page[Group], operation="groups")
async def list_groups(call: Call, args: ListGroupsArgs) -> Page[Group]:
    """List groups (teams) of one provider, optionally filtered by part of the name. Use
    get_group for the members."""
    listing = call.adapter(args.provider).groups(search=args.search)
    return await call.page(
        args.provider, listing, limit=args.limit, cursor=args.cursor, filters={"search": args.search}
    )


@tool(title="Get group", toolset="directory", args=GetGroupArgs, result=One[Group], operation="group")
async def get_group(call: Call, args: GetGroupArgs) -> One[Group]:
    """Get one group (team) by id with its members: each member's user id, role (member or admin)
    and email (and name, where the provider's group answer has one)."""
    group = await call.adapter(args.provider).group(args.group_id)
    return One[Group](provider=args.provider, result=group)


@tool(title="List roles", toolset="directory", args=ListRolesArgs, result=Page[Role], operation="roles")
async def list_roles(call: Call, args: ListRolesArgs) -> Page[Role]:
    """List the roles a provider defines: account roles, on-call roles and custom roles."""
    return await call.page(args.provider, call.adapter(args.provider).roles(), limit=args.limit, cursor=args.cursor)


@tool(title="List licenses", toolset="directory", args=ProviderOnly, result=Many[License], operation="licenses")
async def list_licenses(call: Call, args: ProviderOnly) -> Many[License]:
    """List a provider's licenses with total, used and available seats."""
    licenses = await call.adapter(args.provider).licenses()
    return Many[License](provider=args.provider, result=licenses)


FIND_LIMIT = 1000  # accounts per provider, so a vague query cannot flood the agent: past it, truncated


@tool(title="Find users", toolset="directory", args=FindUsersArgs, result=FoundPeople, operation="users")
async def find_users(call: Call, args: FindUsersArgs) -> FoundPeople:
    """Find a person across providers by email or part of a name: one entry per email with the
    person's account (id and status) in each provider. Providers that fail are listed in errors.
    Every match is returned, or truncated=true with a message when the query matches too many."""
    directory = call.directory
    names = list(dict.fromkeys(args.providers or [p.name for p in directory.configured()]))
    for name in names:
        directory.known(name)  # an unknown name is a mistake in the call, not a provider's failure
    query = args.query
    is_email = "@" in query and "." in query.split("@", 1)[1]
    found: dict[str, list[User]] = {}
    errors: list[ErrorBody] = []
    cut: list[str] = []

    async def search(provider: str) -> None:
        try:
            adapter = call.adapter(provider)
            listing = adapter.users(search=None, email=query) if is_email else adapter.users(search=query, email=None)
            pages = every(provider, listing, max_items=FIND_LIMIT + 1, concurrency=directory.concurrency(provider))
            users = [u async for u in pages]
            if len(users) > FIND_LIMIT:
                cut.append(provider)
            found[provider] = users[:FIND_LIMIT]
        except DirectoryError as exc:
            errors.append(ErrorBody(**exc.to_dict()["error"]))

    async with anyio.create_task_group() as tg:
        for provider in names:
            tg.start_soon(search, provider)
    message = None
    if cut:
        message = (
            f"{query!r} matches more than {FIND_LIMIT} accounts in {', '.join(sorted(cut))}, so only the first "
            f"{FIND_LIMIT} there are listed; narrow the query (a full email address or a longer part of the name), "
            "or page through list_users"
        )
    return FoundPeople(
        result=merge_people([found[p] for p in directory.providers if p in found]),
        errors=sorted(errors, key=lambda e: e.provider or ""),
        truncated=bool(cut),
        message=message,
    )


def merge_people(found: list[list[User]]) -> list[Person]:
    """One Person per email (SPEC §4 identity), accounts in the order of the lists given."""
    people: dict[str, Person] = {}
    for users in found:
        for user in users:
            if not user.email:
                continue
            key = email_key(user.email)
            person = people.setdefault(key, Person(email=key, name=user.name, accounts=[]))
            person.name = person.name or user.name
            person.accounts.append(Account(provider=user.provider, user_id=user.id, status=user.status))
    return sorted(people.values(), key=lambda p: p.email)
