"""access_review (toolset `directory`): questions about the whole directory, answered for the
price of the answer (SPEC §8). The engine is `review.py`; this is the tool."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .. import source_of_truth
from ..errors import InvalidArgument, NotConfigured
from ..models import email_key
from ..paging import Position
from ..review import Filters, ReviewPage, parse_since, read_snapshot, row_model
from .base import Args, Call, CursorArg, LimitArg, ProvidersArg, tool


class AccessReviewArgs(Args):
    providers: Annotated[
        ProvidersArg | None,
        Field(description="Providers to read; null: every configured one."),
    ] = None
    email: Annotated[str | None, Field(max_length=320, description="Only this person (exact email, any case).")] = None
    present_in: Annotated[
        ProvidersArg | None,
        Field(description="Only people with an account in every one of these."),
    ] = None
    absent_from: Annotated[
        ProvidersArg | None,
        Field(description="Only people with no account in any of these."),
    ] = None
    status: Annotated[
        Literal["active", "inactive", "blocked", "invited"] | None,
        Field(description="Only people with at least one account in this status."),
    ] = None
    mixed_status: Annotated[
        bool,
        Field(
            description="true: only people active in one provider and inactive or blocked in another (default false)."
        ),
    ] = False
    admins_only: Annotated[
        bool, Field(description="true: only people with at least one admin account (default false).")
    ] = False
    inactive_since: Annotated[
        str | None,
        Field(
            max_length=40,
            description="ISO 8601 date, e.g. 2026-06-01: only people with an account whose last activity is "
            "known and earlier.",
        ),
    ] = None
    orphaned: Annotated[
        bool,
        Field(
            description="true: only people with an account not inactive in some other provider whose account in "
            "the source of truth (the identity provider) is inactive or blocked, or who have none there: "
            "who left but still has access; the source of truth is read whether or not providers names it "
            "(default false)."
        ),
    ] = False
    limit: LimitArg = 50
    cursor: CursorArg = None


@tool(title="Access review", toolset="directory", args=AccessReviewArgs, result=ReviewPage, operation="users")
async def access_review(call: Call, args: AccessReviewArgs) -> ReviewPage:
    """Answer a question about the whole directory in one call; use it instead of paging list_users.
    One row per person (by email) with each account's status, admin flag, last activity and groups,
    filtered here: who has one tool but not another (present_in, absent_from), active in one but
    blocked in another (mixed_status), every admin (admins_only), not seen since a date
    (inactive_since), one person everywhere (email), who left but still has access (orphaned, by the
    identity provider). Pages come from one snapshot; `export` is a CSV of the whole review."""
    directory = call.directory
    named = [*(args.present_in or []), *(args.absent_from or [])]
    for name in [*(args.providers or []), *named]:
        directory.known(name)  # an unknown name is invalid_argument
    wanted = set(args.providers or [p.name for p in directory.configured()])
    for name in named:
        if name not in wanted and args.providers:
            raise InvalidArgument(f"{name} is named in present_in or absent_from but not in providers; add it there")
        wanted.add(name)
    known = list(directory.providers.values())
    source = source_of_truth.required(directory.source_of_truth(), known) if args.orphaned else None
    if source is not None:
        directory.known(source)
        wanted.add(source)  # read whether or not `providers` names it (SPEC §14)
    read = [name for name in directory.providers if name in wanted]
    if not read:
        raise NotConfigured("no provider is configured; list_providers says which variables to set")
    filters = Filters(
        email=email_key(args.email.strip()) if args.email else None,
        present_in=tuple(sorted(set(args.present_in or []))),
        absent_from=tuple(sorted(set(args.absent_from or []))),
        status=args.status,
        mixed_status=args.mixed_status,
        admins_only=args.admins_only,
        inactive_since=parse_since(args.inactive_since) if args.inactive_since else None,
        orphaned_by=source,
    )
    scope = {"tool": call.tool.name, "provider": None, "filters": {"providers": read, **filters.key()}}
    if args.cursor:
        position = directory.cursors.decode(args.cursor, scope)
        snapshot = await directory.reviews.get(position.state)
        if snapshot is None:
            raise InvalidArgument(
                "this review is no longer kept (reviews last 15 minutes); call access_review again without cursor"
            )
        offset = position.skip
    else:
        for name in read:
            directory.adapter(name, call.tool.operation)  # unconfigured or unable: say so before reading
        # One read per provider set at a time, shared by the first pages that ask meanwhile (SPEC §8).
        snapshot = await directory.reviews.fresh(read, lambda: read_snapshot(directory, read))
        offset = 0
    view = directory.reviews.view(snapshot, filters)
    shown = view[offset : offset + args.limit]
    following = offset + len(shown)
    export = await directory.reviews.export(snapshot, filters)
    return ReviewPage(
        provider=None,
        result=[row_model(snapshot.rows[i]) for i in shown],
        next_cursor=directory.cursors.encode(scope, Position(snapshot.id, following))
        if following < len(view)
        else None,
        total=len(view),
        as_of=snapshot.as_of,
        providers=snapshot.providers,
        export=export,
    )
