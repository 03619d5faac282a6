"""coverage_review's engine (SPEC §12): one snapshot of every listed provider's on-call
configuration, the findings it holds, and their CSV.

It runs on access_review's snapshot engine (`review.Snapshot`, a `review_store.ReviewStore`):
a snapshot of kind "coverage" holds findings instead of people, so continuation cursors, the
export URI, the TTL and sharing between replicas are the engine's, unchanged. Findings are kept
as tuples (JSON lists once through Redis) and become models only for the rows a page serves.

The findings (pure, from `oncall.Book`s):
- `ghost`: a user named in a rotation, an escalation, or an ongoing or future override whose
  account there is not active, or no longer exists (status null);
- `departing`: such a user, active there, whose email (SPEC §4 identity) is inactive or blocked
  in another provider read;
- `uncovered`: an enabled schedule's rotation, or an escalation rule or level, that can page
  nobody (no active user, no team with an active member, no escalation or schedule).
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field

from .aio import gather
from .models import ProviderName, Status, Strict, email_key
from .oncall import Book, Participant, Ref, iso, pending
from .review import KINDS, RowKind, Snapshot, csv_cell

Problem = Literal["ghost", "departing", "uncovered"]
PROBLEMS: tuple[Problem, ...] = ("ghost", "departing", "uncovered")
KIND = "coverage"

# (provider, problem, schedule, rotation, escalation, user_id, email, status, inactive_elsewhere,
# detail); a reference is (id, name).
RefRow = tuple[str, str | None] | None
FindingRow = tuple[str, str, RefRow, RefRow, RefRow, str | None, str | None, str | None, tuple[str, ...], str]


class Finding(Strict):
    provider: ProviderName
    problem: Problem = Field(description="ghost, departing or uncovered.")
    schedule: Ref | None
    rotation: Ref | None
    escalation: Ref | None
    user_id: str | None
    email: str | None
    status: Status | None = Field(description="null: no account.")
    inactive_elsewhere: list[str] = Field(description="Providers where the email is off.")
    detail: str = Field(description="One sentence a human can act on.")


class CoveragePage(Strict):
    provider: None = Field(description="Always null.")
    result: list[Finding] = Field(description="Sorted by provider, schedule, rotation, email.")
    next_cursor: str | None = Field(description="Cursor of the next page; null at the end.")
    total: int = Field(description="Findings in the whole review.")
    as_of: str = Field(description="When it was read.")
    providers: list[str] = Field(description="The providers read.")
    export: str = Field(description="URI of a CSV of every finding.")


# --- findings -------------------------------------------------------------------------------------


def _ref(ref: Ref | None) -> RefRow:
    return (ref.id, ref.name) if ref is not None else None


def covers(target: Participant, book: Book) -> bool:
    if target.type == "user":
        return target.status == "active"
    if target.type == "team":
        return target.id in book.covering_teams
    return target.type in ("escalation", "schedule")


def _name(ref: RefRow) -> str:
    return (ref[1] or "") if ref else ""


def _label(ref: RefRow) -> str:
    return (ref[1] or ref[0]) if ref else ""


def _as_ref(raw: Any) -> RefRow:
    return (raw[0], raw[1]) if raw else None


def _model(ref: RefRow) -> Ref | None:
    return Ref(id=ref[0], name=ref[1]) if ref else None


class Findings:
    """The findings of some books, gathered as they are read."""

    def __init__(self, books: Sequence[Book], others: Mapping[str, Sequence[tuple[str | None, str | None]]]) -> None:
        self.rows: set[FindingRow] = set()
        self.off: dict[str, set[str]] = {}  # email key -> providers where it is inactive or blocked
        seen = {book.provider: [(a.email, a.status) for a in book.accounts.values()] for book in books}
        for provider, accounts in {**seen, **others}.items():
            for email, status in accounts:
                if email and status in ("inactive", "blocked"):
                    self.off.setdefault(email_key(email), set()).add(provider)

    def named(self, where: str, user: Participant, refs: tuple[RefRow, RefRow, RefRow], place: str) -> None:
        """A user named at `place` (schedule, rotation, escalation refs): a ghost, departing, or fine."""
        if user.type != "user" or user.id is None:
            return
        who = user.email or f"user {user.id}"
        if user.status != "active":
            state = f"is {user.status} there" if user.status else "no longer exists there"
            detail = (
                f"{who} is named in {place} at {where}, but the account {state}: hand the duty to someone "
                "active (offboard_user with a successor) or remove them"
            )
            self.rows.add((where, "ghost", *refs, user.id, user.email, user.status, (), detail))
            return
        elsewhere = tuple(sorted(self.off.get(email_key(user.email), set()) - {where})) if user.email else ()
        if elsewhere:
            detail = (
                f"{who} is named in {place} at {where} and active there, but inactive or blocked in "
                f"{', '.join(elsewhere)}: an offboarding left half done; finish it (offboard_user with a successor)"
            )
            self.rows.add((where, "departing", *refs, user.id, user.email, "active", elsewhere, detail))

    def uncovered(self, where: str, refs: tuple[RefRow, RefRow, RefRow], detail: str) -> None:
        self.rows.add((where, "uncovered", *refs, None, None, None, (), detail))


def findings(
    books: Sequence[Book], now: datetime, others: Mapping[str, Sequence[tuple[str | None, str | None]]] | None = None
) -> list[FindingRow]:
    """Every finding of `books`, sorted by provider, schedule name, rotation name, email; `others`:
    the (email, status) of every account of providers read without on-call (the source of truth,
    SPEC §14), which count for `departing` like any provider read."""
    found = Findings(books, others or {})
    for book in books:
        where = book.provider
        for schedule in book.schedules:
            sref = (schedule.id, schedule.name)
            for rotation in schedule.rotations:
                refs: tuple[RefRow, RefRow, RefRow] = (sref, (rotation.id, rotation.name), None)
                place = f"rotation {rotation.name or rotation.id!r} of schedule {schedule.name!r}"
                for p in rotation.participants:
                    found.named(where, p, refs, place)
                if schedule.enabled is not False and not any(covers(p, book) for p in rotation.participants):
                    detail = (
                        f"{place} at {where} can page nobody: none of its participants is an active user or a team "
                        "with an active member; add someone active"
                    )
                    found.uncovered(where, refs, detail)
        for escalation in book.escalations:
            refs = (None, None, (escalation.id, escalation.name))
            for level in escalation.levels:
                place = f"level {level.position + 1} of escalation {escalation.name or escalation.id!r}"
                for target in level.targets:
                    found.named(where, target, refs, place)
                if not any(covers(t, book) for t in level.targets):
                    detail = f"{place} at {where} can page nobody: name an active user, team, schedule or escalation"
                    found.uncovered(where, refs, detail)
        for override in book.overrides:
            if pending(override, now):
                refs = (_ref(override.schedule), _ref(override.rotation), None)
                span = f"{override.starts_at} to {override.ends_at}"
                place = f"an override ({span}) of schedule {override.schedule.name!r}"
                found.named(where, override.user, refs, place)
    return sorted(found.rows, key=order)


def order(row: FindingRow) -> tuple[str, ...]:
    provider, problem, schedule, rotation, escalation, user_id, email, *_ = row
    mail = email_key(email or "")
    return (provider, _name(schedule), _name(rotation), mail, _name(escalation), problem, user_id or "", row[9])


async def read_coverage(
    adapters: dict[str, Any], problems: Sequence[str], others: dict[str, Any] | None = None
) -> Snapshot:
    """Every listed provider's on-call configuration at once, and the accounts of `others` (the
    source of truth: who left, by its statuses), then the findings; a provider that fails fails the
    read (never a review that silently left one out)."""
    now = datetime.now(UTC)
    others = others or {}
    books, off = await gather(
        gather(*(adapter.schedules() for adapter in adapters.values())),
        gather(*(adapter.account_book() for adapter in others.values())),
    )
    wanted = set(problems)
    accounts = {name: [(a.email, a.status) for a in book.values()] for name, book in zip(others, off, strict=True)}
    rows = [r for r in findings(books, now, accounts) if r[1] in wanted]
    read = [*adapters, *others]
    return Snapshot(secrets.token_urlsafe(12), iso(now), read, rows, kind=KIND)  # type: ignore[arg-type]


# --- serving --------------------------------------------------------------------------------------


def finding(row: Any) -> Finding:
    provider, problem, schedule, rotation, escalation, user_id, email, status, elsewhere, detail = row
    return Finding(
        provider=provider,
        problem=problem,
        schedule=_model(schedule),
        rotation=_model(rotation),
        escalation=_model(escalation),
        user_id=user_id,
        email=email,
        status=status,
        inactive_elsewhere=list(elsewhere),
        detail=detail,
    )


CSV_HEADER = (
    "provider",
    "problem",
    "schedule",
    "rotation",
    "escalation",
    "user_id",
    "email",
    "status",
    "inactive_elsewhere",
    "detail",
)


def coverage_csv(rows: Iterable[Any]) -> str:
    """The findings as RFC 4180 CSV (names of schedules, rotations and escalations; the providers
    an email is inactive in joined by `;`), every cell safe to open in a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for provider, problem, schedule, rotation, escalation, user_id, email, status, elsewhere, detail in rows:
        cells = [provider, problem, _label(schedule), _label(rotation), _label(escalation), user_id, email, status]
        writer.writerow([csv_cell(c) for c in [*cells, ";".join(elsewhere), detail]])
    return out.getvalue()


def decode_row(raw: Any) -> FindingRow:
    """A finding as JSON gave it back (lists) -> as kept (tuples); ValueError when it is not one."""
    if not isinstance(raw, list) or len(raw) != len(CSV_HEADER):
        raise ValueError("not a finding")
    provider, problem, schedule, rotation, escalation, user_id, email, status, elsewhere, detail = raw
    refs = (_as_ref(schedule), _as_ref(rotation), _as_ref(escalation))
    return (provider, problem, *refs, user_id, email, status, tuple(elsewhere), detail)


def footprint(rows: Sequence[Any]) -> int:
    """Bytes the findings hold in memory, roughly: a tuple of ten slots, its strings and refs."""
    return 1024 + sum(
        200 + sum(len(c) + 49 for c in row if isinstance(c, str)) + 3 * 120 + 60 * len(row[8]) for row in rows
    )


KINDS[KIND] = RowKind(csv=coverage_csv, decode=decode_row, footprint=footprint)
