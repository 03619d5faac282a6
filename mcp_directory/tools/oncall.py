"""The on-call read tools (toolset `oncall`, SPEC §12): schedules, who is on call, one person's
duties. Which providers have on-call is theirs to say (`Provider.supports("schedules")`): these
tools never name one, and a provider without it, named in a call, is turned away as `unsupported`
by `Directory.adapter`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from pydantic import Field, StringConstraints

from ..errors import DirectoryError, InvalidArgument, NotConfigured, NotFound
from ..models import ErrorBody, Page, Strict
from ..oncall import Duty, OnCall, Schedule, accounts_of, duties, iso, parse_time
from ..paging import Chunk, Listing
from ..providers.base import one_account_read
from ..spec import Step
from .base import Args, Call, CursorArg, LimitArg, ProviderArg, ProvidersArg, tool

OPERATION = "schedules"  # what a provider with on-call has (oncall.py)

OnCallProviders = Annotated[ProvidersArg | None, Field(description="Default: every one with schedules.")]


def on_call_adapters(call: Call, named: list[str] | None) -> dict[str, Any]:
    """The adapters to read, by provider: those named (each must have on-call, else the whole call
    is `unsupported`), or every configured provider that has it."""
    directory = call.directory
    if named:
        return {name: directory.adapter(name, OPERATION) for name in dict.fromkeys(named)}
    chosen = {p.name: directory.adapters[p.name] for p in directory.configured() if p.supports(OPERATION)}
    if not chosen:
        raise NotConfigured("no configured provider has on-call schedules; list_providers says what is configured")
    return chosen


async def each_provider(adapters: dict[str, Any], read: Any) -> tuple[dict[str, Any], list[ErrorBody]]:
    """`read(adapter)` for every provider at once; a provider that fails is an error entry."""
    found: dict[str, Any] = {}
    errors: list[ErrorBody] = []

    async def one(name: str, adapter: Any) -> None:
        try:
            found[name] = await read(adapter)
        except DirectoryError as exc:
            errors.append(ErrorBody(**exc.to_dict()["error"]))

    async with anyio.create_task_group() as tg:
        for name, adapter in adapters.items():
            tg.start_soon(one, name, adapter)
    order = list(adapters)
    errors.sort(key=lambda e: order.index(e.provider) if e.provider in order else len(order))
    return {name: found[name] for name in order if name in found}, errors


# --- list_schedules ---------------------------------------------------------------------------------


class ListSchedulesArgs(Args):
    provider: ProviderArg
    search: Annotated[str | None, Field(max_length=200, description="Part of the name (any case).")] = None
    limit: LimitArg = 50
    cursor: CursorArg = None


@tool(title="List schedules", toolset="oncall", args=ListSchedulesArgs, result=Page[Schedule], operation=OPERATION)
async def list_schedules(call: Call, args: ListSchedulesArgs) -> Page[Schedule]:
    """List one provider's on-call schedules: rotations and their participants in order (users with
    email and account status). For who is gone or what pages nobody, use coverage_review."""
    adapter = call.adapter(args.provider)
    needle = args.search.casefold() if args.search else None

    async def fetch(state: Any) -> Chunk[Schedule]:
        book = await adapter.schedules()
        kept = [s for s in book.schedules if needle is None or needle in s.name.casefold()]
        return Chunk(kept, Step(None, len(kept)))

    filters = {"search": args.search}
    return await call.page(args.provider, Listing(fetch), limit=args.limit, cursor=args.cursor, filters=filters)


# --- who_is_on_call ---------------------------------------------------------------------------------


class WhoIsOnCallArgs(Args):
    providers: OnCallProviders = None
    schedule_id: Annotated[
        str | None,
        Field(min_length=1, max_length=200, description="One schedule (needs one provider)."),
    ] = None
    at: Annotated[str | None, Field(max_length=40, description="ISO 8601 time; default: now.")] = None


class OnCallAnswer(Strict):
    result: list[OnCall] = Field(description="Who is on call.")
    at: str = Field(description="The time asked about.")
    errors: list[ErrorBody] = Field(description="Providers that failed.")


@tool(title="Who is on call", toolset="oncall", args=WhoIsOnCallArgs, result=OnCallAnswer, operation=OPERATION)
async def who_is_on_call(call: Call, args: WhoIsOnCallArgs) -> OnCallAnswer:
    """Who is on call now or at a time (at), across providers or for one schedule (schedule_id, with
    one provider). Providers that fail are listed in errors."""
    if args.schedule_id is not None and len(set(args.providers or [])) != 1:
        raise InvalidArgument("schedule_id needs exactly one provider: pass providers=[the schedule's provider]")
    at = iso(parse_time(args.at) if args.at is not None else datetime.now(UTC))
    adapters = on_call_adapters(call, args.providers)
    found, errors = await each_provider(adapters, lambda adapter: adapter.on_calls(at, args.schedule_id))
    return OnCallAnswer(result=[c for calls in found.values() for c in calls], at=at, errors=errors)


# --- get_duties -------------------------------------------------------------------------------------


class GetDutiesArgs(Args):
    email: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=3, max_length=320),
        Field(description="The person's email (any letter case)."),
    ]
    providers: OnCallProviders = None


class DutiesAnswer(Strict):
    email: str = Field(description="The email asked about.")
    result: list[Duty] = Field(description="Their duties.")
    on_call_now: bool = Field(description="On call now anywhere.")
    errors: list[ErrorBody] = Field(description="Providers that failed.")


@tool(title="Get duties", toolset="oncall", args=GetDutiesArgs, result=DutiesAnswer, operation=OPERATION)
async def get_duties(call: Call, args: GetDutiesArgs) -> DutiesAnswer:
    """What one person is directly named for in on-call, across providers (rotation slots,
    escalation levels, overrides, owned schedules), and whether they are on call now."""
    if "@" not in args.email:
        raise InvalidArgument(f"email must be an email address, not {args.email[:64]!r}")
    adapters = on_call_adapters(call, args.providers)
    now = datetime.now(UTC)

    async def read(adapter: Any) -> tuple[list[Duty], bool, bool]:
        book = await adapter.schedules()
        ids = accounts_of(book, args.email)
        if not ids:
            return [], False, False
        on_call = await adapter.on_calls(iso(now), None)
        listed = [d for uid in ids for d in duties(book, uid, now, on_call)]
        now_on = any(c.user_id in ids for c in on_call) or any(d.on_call_now for d in listed)
        return listed, now_on, True

    with one_account_read():  # the schedules and who is on call share one read of the accounts
        found, errors = await each_provider(adapters, read)
    if not errors and not any(has for _, _, has in found.values()):
        raise NotFound(
            f"no account with the email {args.email[:320]!r} in {', '.join(adapters)}; check it with find_users"
        )
    return DutiesAnswer(
        email=args.email,
        result=[d for listed, _, _ in found.values() for d in listed],
        on_call_now=any(now_on for _, now_on, _ in found.values()),
        errors=errors,
    )
