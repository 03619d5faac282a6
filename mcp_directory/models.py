"""The normalized objects of SPEC §4 and the result envelopes of SPEC §3.

Every provider adapter maps its own JSON into these; every tool returns one of the
result envelopes. Unknown values are None, never invented.
"""

from __future__ import annotations

import string
from collections.abc import Collection
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SerializerFunctionWrapHandler, model_serializer

# A provider's name. Which names exist is the provider list's to say (providers/__init__.py):
# the marker is replaced by their enum wherever a schema is built (tools/base.py), so models,
# argument schemas and tool_manifests/ follow the list without naming a provider here.
PROVIDER_MARK = "x-provider"
PROVIDERS_MARK = "x-providers"  # on a list of providers: at most one of each
ProviderName = Annotated[str, Field(json_schema_extra={PROVIDER_MARK: True})]

Status = Literal["active", "inactive", "blocked", "invited"]


# SPEC §4 "Email identity": two emails name the same person when they are equal after the ASCII
# letters A-Z are lowered, and nothing else is folded. `str.lower` and `str.casefold` fold far more
# (`straße` to `strasse`, the Kelvin sign to `k`, `ﬀ` to `ff`) and would take one person for another.
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def email_key(email: str) -> str:
    """The email's identity: its ASCII letters lowered, every other character as it is."""
    return email.translate(_ASCII_LOWER)


def same_email(one: str | None, other: str | None) -> bool:
    """Whether two emails name the same person (SPEC §4); an unknown email (or, from a provider's
    odd answer, anything but a string) names no one."""
    return isinstance(one, str) and isinstance(other, str) and email_key(one) == email_key(other)


class Strict(BaseModel):
    """Base of every result model: a field we did not declare is a bug, not data to pass on."""

    model_config = ConfigDict(extra="forbid")


class RoleRef(Strict):
    id: str | None = Field(description="Role id at the provider (null when the provider names roles only).")
    name: str = Field(description="Role name.")


class User(Strict):
    id: str = Field(description="User id at the provider; pass it to other tools as user_id.")
    provider: ProviderName = Field(description="Provider holding this account.")
    email: str | None = Field(description="Email address as the provider stores it.")
    name: str | None = Field(description="Full display name.")
    first_name: str | None = Field(description="First name.")
    last_name: str | None = Field(description="Last name.")
    username: str | None = Field(description="Login name, where the provider has one.")
    status: Status | None = Field(description="active, inactive, blocked or invited.")
    is_admin: bool | None = Field(description="Whether the account is an administrator; null when unknown.")
    roles: list[RoleRef] | None = Field(description="Account roles; null when the call did not load them.")
    group_ids: list[str] | None = Field(description="Ids of the groups (teams) the user is in; null when not loaded.")
    time_zone: str | None = Field(description="IANA time zone.")
    created_at: str | None = Field(description="ISO 8601 creation time.")
    updated_at: str | None = Field(description="ISO 8601 last update time.")
    last_active_at: str | None = Field(description="ISO 8601 time of last activity.")


# What a reader of a whole directory keeps of a user (a review's snapshot, an on-call account
# book): (id, email, name, status, is_admin, last_active_at), a tuple and no model per account. A
# provider's lean mapping (`seen_user`, beside its `map_user`) writes it straight from a record; for
# any other list it is taken from the model (`seen`). Tests hold the two equal for every record.
Seen = tuple[str, str | None, str | None, Status | None, bool | None, str | None]


def seen(user: User) -> Seen:
    return (user.id, user.email, user.name, user.status, user.is_admin, user.last_active_at)


# And of a group: (id, name, its members' user ids), from a provider's `lean_group(id)` where it
# has one, else from the model (`seen_group`).
SeenGroup = tuple[str, str, list[str]]


def seen_group(group: Group) -> SeenGroup:
    return (group.id, group.name, [m.user_id for m in group.members or []])


# The User fields a list_users call may ask for (`fields`, SPEC §8): every field but `id`, which
# every item holds (a test keeps this in step with User).
UserField = Literal[
    "provider",
    "email",
    "name",
    "first_name",
    "last_name",
    "username",
    "status",
    "is_admin",
    "roles",
    "group_ids",
    "time_zone",
    "created_at",
    "updated_at",
    "last_active_at",
]


def _only_id_required(schema: dict[str, Any]) -> None:
    schema["required"] = ["id"]


class ListedUser(User):
    """A User; with fields, only id and those fields."""

    # Every property keeps its description, but only `id` is required, so both a whole User and
    # a projected one validate against the tool's outputSchema.
    model_config = ConfigDict(json_schema_extra=_only_id_required)
    _shown: frozenset[str] | None = PrivateAttr(default=None)

    @classmethod
    def of(cls, user: User, fields: Collection[str] | None = None) -> ListedUser:
        """`user` as listed: whole (fields None), else `id` and `fields` only."""
        item = cls.model_construct(**user.__dict__)  # `user` is already validated (half the time of dict(user))
        item._shown = None if fields is None else frozenset({"id", *fields})
        return item

    @model_serializer(mode="wrap")
    def _project(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return data if self._shown is None else {k: v for k, v in data.items() if k in self._shown}


class Member(Strict):
    user_id: str = Field(description="User id of the member.")
    role: Literal["member", "admin"] = Field(description="member or admin of the group.")
    email: str | None = Field(description="Member's email, as the provider stores it.")
    name: str | None = Field(description="Member's name; null where the group answer has none.")


class Group(Strict):
    id: str = Field(description="Group (team) id at the provider; pass it to other tools as group_id.")
    provider: ProviderName = Field(description="Provider holding this group.")
    name: str = Field(description="Group name.")
    description: str | None = Field(description="Group description.")
    member_count: int | None = Field(description="Number of members; null when unknown.")
    members: list[Member] | None = Field(description="Members with their role; null when not loaded.")
    created_at: str | None = Field(description="ISO 8601 creation time.")
    updated_at: str | None = Field(description="ISO 8601 last update time.")


class Role(Strict):
    id: str = Field(description="Role id at the provider.")
    provider: ProviderName = Field(description="Provider defining this role.")
    name: str = Field(description="Role name.")
    description: str | None = Field(description="Role description.")
    kind: Literal["account", "on_call", "custom"] = Field(
        description="account (built-in account role), on_call (on-call role) or custom."
    )


class License(Strict):
    id: str = Field(description="License or plan id.")
    provider: ProviderName = Field(description="Provider selling the license.")
    name: str = Field(description="Plan name.")
    total_seats: int | None = Field(description="Seats in the plan.")
    used_seats: int | None = Field(description="Seats in use.")
    available_seats: int | None = Field(description="Seats still free.")


class IncidentRole(Strict):
    id: str = Field(description="Incident role id.")
    name: str = Field(description="Incident role name, e.g. Commander.")
    slug: str | None = Field(description="Incident role slug.")
    description: str | None = Field(description="What the role does.")
    enabled: bool | None = Field(description="Whether the role can be assigned.")


class Account(Strict):
    provider: ProviderName = Field(description="Provider of the account.")
    user_id: str = Field(description="User id at that provider.")
    status: Status | None = Field(description="Account status at that provider.")


class Person(Strict):
    email: str = Field(description="Email address, lower-cased.")
    name: str | None = Field(description="Display name.")
    accounts: list[Account] = Field(description="This person's accounts, one per provider where found.")


class ErrorBody(Strict):
    code: str = Field(description="Error code (SPEC §6).")
    message: str = Field(description="What went wrong and what to do next.")
    provider: str | None = Field(description="Provider concerned, if any.")
    status: int | None = Field(description="Upstream HTTP status, if any.")
    retry_after: float | None = Field(description="Seconds to wait before retrying, if known.")


class ProviderInfo(Strict):
    provider: ProviderName = Field(description="Provider name.")
    base_url: str = Field(description="Base URL requests go to.")
    resources: list[str] = Field(description="Read tools this provider supports.")
    write_tools: list[str] = Field(
        description="Write tools this provider supports (registered only when writes are allowed)."
    )


T = TypeVar("T")


class Page(Strict, Generic[T]):
    provider: ProviderName = Field(description="Provider the page came from.")
    result: list[T] = Field(description="The items of this page.")
    next_cursor: str | None = Field(description="Pass back as cursor for the next page; null at the end.")
    total: int | None = Field(description="Total number of items, when the provider reports it.")


class One(Strict, Generic[T]):
    provider: ProviderName = Field(description="Provider the object came from.")
    result: T = Field(description="The object.")


class Many(Strict, Generic[T]):
    provider: ProviderName = Field(description="Provider the objects came from.")
    result: list[T] = Field(description="The objects.")


class ProviderList(Strict):
    result: list[ProviderInfo] = Field(description="Configured providers.")


class FoundPeople(Strict):
    result: list[Person] = Field(description="One entry per distinct email (case-insensitive).")
    errors: list[ErrorBody] = Field(description="Providers that could not be searched, and why.")
    truncated: bool = Field(description="True when the query matched too many accounts and not all are listed.")
    message: str | None = Field(description="When truncated: how to narrow the query.")


# Results of the write tools (SPEC §3).


class IncidentRef(Strict):
    id: str = Field(description="Incident id.")
    title: str | None = Field(description="Incident title.")


class UserRef(Strict):
    id: str = Field(description="User id.")
    email: str | None = Field(description="User email.")
    name: str | None = Field(description="User name.")


class Assignment(Strict):
    action: Literal["assigned", "unassigned"] = Field(description="What was done.")
    incident: IncidentRef = Field(description="The incident, as resolved.")
    user: UserRef = Field(description="The user, as resolved from the id or email given.")
    incident_role: IncidentRole = Field(description="The incident role, as resolved from the id, slug or name given.")


class Deactivation(Strict):
    user_id: str = Field(description="The user acted on.")
    action: Literal["deactivated", "suspended", "deleted"] = Field(
        description="deactivated: the account remains, disabled; suspended: the account remains, its "
        "access suspended (restorable); deleted: the provider has no deactivation and removed it."
    )
    user: User | None = Field(description="The account afterwards, where it still exists or the provider returned it.")


class Written(Strict, Generic[T]):
    provider: ProviderName = Field(description="Provider acted on.")
    dry_run: bool = Field(False, description="True when nothing was changed because confirm was not true.")
    plan: str | None = Field(None, description="On a dry run: exactly what confirm=true would do.")
    result: T | None = Field(None, description="The changed object, where the provider returns one.")
    note: str | None = Field(
        None,
        description="Set when the change was applied but the object could not be read back (do not retry it), "
        "or the provider could not apply part of it.",
    )


class ProxyResponse(Strict):
    provider: ProviderName = Field(description="Provider called.")
    status: int = Field(description="HTTP status the provider answered.")
    headers: dict[str, str] = Field(description="content-type and rate-limit headers only.")
    body: Any = Field(description="JSON when the provider sent JSON, else text.")
    truncated: bool = Field(description="True when the body was cut at 256 KiB.")
