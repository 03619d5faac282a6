"""coverage_review (toolset `oncall`, SPEC §12): what in on-call pages a ghost, a leaver, or
nobody, for the price of the answer. The engine is `oncall_review.py` on access_review's
snapshots; this is the tool."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..errors import InvalidArgument
from ..oncall_review import PROBLEMS, CoveragePage, Problem, finding, read_coverage
from ..paging import Position
from ..review import NO_FILTERS
from .base import Args, Call, CursorArg, LimitArg, tool
from .oncall import OPERATION, OnCallProviders, on_call_adapters


class CoverageReviewArgs(Args):
    providers: OnCallProviders = None
    problems: Annotated[
        list[Problem] | None,
        Field(
            max_length=len(PROBLEMS),
            description="Only these problems; default: all.",
        ),
    ] = None
    limit: LimitArg = 50
    cursor: CursorArg = None


@tool(title="Coverage review", toolset="oncall", args=CoverageReviewArgs, result=CoveragePage, operation=OPERATION)
async def coverage_review(call: Call, args: CoverageReviewArgs) -> CoveragePage:
    """What in on-call pages a wrong person or nobody, all providers in one call: ghost (names an
    account not active or gone), departing (active there, off elsewhere), uncovered (pages nobody).
    Pages share one snapshot; `export` is a CSV."""
    directory = call.directory
    adapters = on_call_adapters(call, args.providers)
    read = [name for name in directory.providers if name in adapters]
    problems = [p for p in PROBLEMS if p in set(args.problems or PROBLEMS)]
    scope = {"tool": call.tool.name, "provider": None, "filters": {"providers": read, "problems": problems}}
    if args.cursor:
        position = directory.cursors.decode(args.cursor, scope)
        snapshot = await directory.reviews.get(position.state)
        if snapshot is None or snapshot.kind != "coverage":
            raise InvalidArgument(
                "this review is no longer kept (reviews last 15 minutes); call coverage_review again without cursor"
            )
        offset = position.skip
    else:
        snapshot = await directory.reviews.fresh(
            read,
            lambda: read_coverage({name: adapters[name] for name in read}, problems),
            kind="coverage",
            of=",".join(problems),
        )
        offset = 0
    shown = snapshot.rows[offset : offset + args.limit]
    following = offset + len(shown)
    return CoveragePage(
        provider=None,
        result=[finding(row) for row in shown],
        next_cursor=directory.cursors.encode(scope, Position(snapshot.id, following))
        if following < len(snapshot.rows)
        else None,
        total=len(snapshot.rows),
        as_of=snapshot.as_of,
        providers=snapshot.providers,
        export=await directory.reviews.export(snapshot, NO_FILTERS),
    )
