"""Whole-directory answers (SPEC §8): one snapshot of every listed provider, then filtered pages.

`read_snapshot` reads each provider in full, as fast as it allows: its user list (concurrent
upstream pages where its paginator lets us know them, or in one request where it has
`everyone()`), its groups, and each group's members (one request per group, never one per
user), all providers at once. A provider that fails fails the read: never a review that
silently left a provider out.

A snapshot is kept compact (tuples, groups shared between accounts), so a 100,000-account
review costs tens of megabytes, and models are built only for the rows a page serves. A
`review_store.ReviewStore` keeps snapshots for at least `TTL` seconds so that continuation cursors
and the CSV export read the same directory as the first page, within a memory ceiling that
`footprint` estimates against.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import anyio
from pydantic import Field

from . import collector
from .aio import gather
from .errors import InvalidArgument
from .models import ProviderName, Seen, SeenGroup, Status, Strict, email_key, seen, seen_group
from .paging import every
from .source_of_truth import orphaned
from .whole_list import every_lean

TTL = 15 * 60.0  # seconds a review stays readable; SPEC §8 asks for at least 10 minutes
EXPORT_SCHEME = "directory://reviews/"


# --- what a page shows -------------------------------------------------------------------------


class GroupRef(Strict):
    id: str = Field(description="Group (team) id.")
    name: str = Field(description="Group name.")


class AccessAccount(Strict):
    provider: ProviderName = Field(description="Provider of the account.")
    user_id: str = Field(description="User id at that provider.")
    status: Status | None = Field(description="active, inactive, blocked or invited.")
    is_admin: bool | None = Field(description="Whether the account is an administrator; null when unknown.")
    last_active_at: str | None = Field(description="ISO 8601 time of last activity; null when unknown.")
    groups: list[GroupRef] = Field(description="Groups (teams) the account is in.")


class AccessRow(Strict):
    email: str = Field(description="Email address, lower-cased.")
    name: str | None = Field(description="Display name.")
    accounts: list[AccessAccount] = Field(description="This person's accounts in the providers read.")


class ReviewPage(Strict):
    provider: None = Field(description="Always null: a review spans providers.")
    result: list[AccessRow] = Field(description="The people of this page, sorted by lower-cased email.")
    next_cursor: str | None = Field(description="Pass back as cursor for the next page; null at the end.")
    total: int = Field(description="How many people match the filters in the whole review.")
    as_of: str = Field(description="ISO 8601 time the directories were read; every page of a review is as of then.")
    providers: list[str] = Field(description="The providers read.")
    export: str = Field(description="URI of a text/csv resource holding the whole review, one line per account.")


# --- the snapshot ------------------------------------------------------------------------------

# (provider, user_id, status, is_admin, last_active_at, groups) and (email, name, accounts): tuples,
# not models, so a large directory stays small in memory.
Account = tuple[str, str, Status | None, bool | None, str | None, tuple[tuple[str, str], ...]]
Row = tuple[str, str | None, tuple[Account, ...]]


@dataclass
class Snapshot:
    id: str
    as_of: str
    providers: list[str]
    rows: list[Row]
    left_out: int = 0  # accounts without an email: they cannot be matched to a person
    size: int = field(default=0, compare=False)  # bytes in memory, estimated by `footprint` when made

    kind: str = "access"  # what the rows are: access_review's people, or another answer's (KINDS)

    def __post_init__(self) -> None:
        if not self.size:
            self.size = footprint(self.rows) if self.kind == "access" else KINDS[self.kind].footprint(self.rows)


# What a snapshot costs in memory, estimated once when it is made, in one pass that only reads
# lengths (CPython, 64 bit, text taken as ASCII): a tuple is 40 bytes and 8 a slot, a string 49
# bytes and its length, a list slot 8. A row is its tuple, the accounts tuple, email and name; an
# account its tuple, groups tuple, id, status and last activity; a membership one slot (group refs
# are shared between accounts). Measured with tracemalloc on simulated directories, it stays within
# about a fifth of the truth.
SNAPSHOT_BYTES = 1024
ROW_BYTES = 8 + 64 + 40 + 2 * 49
ACCOUNT_BYTES = 88 + 40 + 3 * 49
MEMBERSHIP_BYTES = 8


def footprint(rows: Sequence[Row]) -> int:
    total = SNAPSHOT_BYTES
    for email, name, accounts in rows:
        total += ROW_BYTES + len(email) + len(name or "")
        for account in accounts:
            total += ACCOUNT_BYTES + len(account[1]) + len(account[4] or "") + MEMBERSHIP_BYTES * len(account[5])
    return total


@dataclass(frozen=True)
class RowKind:
    """Another whole-directory answer kept on this engine (coverage_review's findings): how its
    rows are written as CSV, read back from JSON (tuples where JSON has lists; a row that is not of
    the kind's shape raises ValueError, so the snapshot reads as no longer kept), and what they cost
    in memory (bytes, estimated)."""

    csv: Callable[[Iterable[Any]], str]
    decode: Callable[[Any], Any]
    footprint: Callable[[Sequence[Any]], int]


KINDS: dict[str, RowKind] = {}  # by Snapshot.kind; each such answer's module registers itself


async def read_provider(directory: Any, name: str) -> tuple[list[Seen], dict[str, list[tuple[str, str]]]]:
    """Every user of one provider, and each user's groups taken from the groups' side; both
    sides at once, sharing the provider's page concurrency."""
    adapter = directory.adapter(name, "users")
    concurrency = directory.concurrency(name)
    listing = adapter.everyone() if hasattr(adapter, "everyone") else adapter.users(search=None, email=None)
    # Group reads are independent requests whatever the list paging is (a token-paged list is
    # read one page after another, its groups need not be): at least four at once, within the budget.
    limiter = anyio.Semaphore(max(concurrency, 4))

    async def users() -> list[Seen]:
        # Only what a row shows is kept, and no model is built where the provider maps its records
        # lean (`Seen`): a 100,000-account directory is read on one event loop's CPU.
        return await every_lean(name, listing, seen, max_items=10_000_000, concurrency=concurrency)

    async def memberships() -> dict[str, list[tuple[str, str]]]:
        found: dict[str, list[tuple[str, str]]] = {}
        if not (hasattr(adapter, "groups") and hasattr(adapter, "group")):
            return found
        groups = adapter.groups(search=None)
        listed = [g async for g in every(name, groups, max_items=1_000_000, concurrency=concurrency)]

        lean = getattr(adapter, "lean_group", None)  # no model per member where the provider has it

        async def members(group_id: str) -> SeenGroup:
            async with limiter:
                return await lean(group_id) if lean else seen_group(await adapter.group(group_id))

        for group_id, group_name, user_ids in await gather(*(members(g.id) for g in listed)):
            ref = (group_id, group_name)
            for user_id in user_ids:
                found.setdefault(user_id, []).append(ref)
        return found

    everyone, by_user = await gather(users(), memberships())
    return everyone, by_user


async def read_snapshot(directory: Any, providers: Sequence[str]) -> Snapshot:
    with collector.paused():  # millions of short-lived containers, no cycles among them
        return await _read_snapshot(directory, providers)


# One provider's accounts, ready to be merged: (email key, name shown, account) each, those left
# out for want of an email, and their part of the snapshot's footprint.
Prepared = tuple[list[tuple[str, str | None, Account]], int, int]


async def prepared(directory: Any, name: str) -> Prepared:
    """A provider read and its accounts made, as soon as it is read: while slower providers are
    still being read, not after them all."""
    users, memberships = await read_provider(directory, name)
    out: list[tuple[str, str | None, Account]] = []
    left_out = size = 0
    for user_id, email, shown_name, status, is_admin, last_active_at in users:
        if not email:
            left_out += 1
            continue
        groups = tuple(memberships.get(user_id, ()))
        # SPEC §4 identity: rows sort by the key, the lower-cased email
        out.append((email_key(email), shown_name, (name, user_id, status, is_admin, last_active_at, groups)))
        size += ACCOUNT_BYTES + len(user_id) + len(last_active_at or "") + MEMBERSHIP_BYTES * len(groups)
    return out, left_out, size


async def _read_snapshot(directory: Any, providers: Sequence[str]) -> Snapshot:
    as_of = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    read = await gather(*(prepared(directory, name) for name in providers))
    people: dict[str, tuple[str | None, list[Account]]] = {}
    for accounts_read, _, _ in read:  # in the order of `providers`, whichever was read first
        for key, shown_name, account in accounts_read:
            shown, accounts = people.setdefault(key, (shown_name, []))
            if shown is None and shown_name:
                people[key] = (shown_name, accounts)
            accounts.append(account)
    rows = [(email, name, tuple(accounts)) for email, (name, accounts) in sorted(people.items())]
    # `footprint(rows)`, its accounts' part counted as they were made
    size = SNAPSHOT_BYTES + sum(p[2] for p in read) + sum(ROW_BYTES + len(e) + len(n or "") for e, n, _ in rows)
    left_out = sum(p[1] for p in read)
    return Snapshot(secrets.token_urlsafe(12), as_of, list(providers), rows, left_out, size)


# --- filters -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """SPEC §8's filters, combined with AND; account filters select people, whose rows still
    show all their accounts."""

    email: str | None = None
    present_in: tuple[str, ...] = ()
    absent_from: tuple[str, ...] = ()
    status: str | None = None
    mixed_status: bool = False
    admins_only: bool = False
    inactive_since: str | None = None  # an ISO 8601 instant, UTC, compared as text after normalizing
    orphaned_by: str | None = None  # `orphaned`: the source of truth's provider (source_of_truth.orphaned)

    def key(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, (), False)}

    def keep(self, row: Row) -> bool:
        if self == NO_FILTERS:  # keeps every row, of any kind
            return True
        email, _, accounts = row
        providers = {a[0] for a in accounts}
        if self.email is not None and email != self.email:
            return False
        if not providers.issuperset(self.present_in) or providers.intersection(self.absent_from):
            return False
        if self.status is not None and not any(a[2] == self.status for a in accounts):
            return False
        if self.mixed_status:
            active = {a[0] for a in accounts if a[2] == "active"}
            off = {a[0] for a in accounts if a[2] in ("inactive", "blocked")}
            if not active or not off or active == off:
                return False
        if self.admins_only and not any(a[3] is True for a in accounts):
            return False
        if self.inactive_since is not None:
            cut = self.inactive_since
            if not any(a[4] is not None and normalized(a[4]) < cut for a in accounts):
                return False
        return self.orphaned_by is None or orphaned(accounts, self.orphaned_by)


NO_FILTERS = Filters()


def normalized(moment: str) -> str:
    """An ISO 8601 time as comparable UTC text (providers write offsets and `Z` differently)."""
    try:
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return moment
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC).isoformat(timespec="milliseconds")


def parse_since(value: str) -> str:
    """`inactive_since` as a normalized UTC instant: a date (its midnight, UTC) or a date-time."""
    try:
        if len(value) == 10:
            return normalized(date.fromisoformat(value).isoformat() + "T00:00:00+00:00")
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(
            f"inactive_since must be an ISO 8601 date like 2026-06-01 (or a date-time), not {value[:40]!r}"
        ) from None
    return normalized(value)


# --- serving -----------------------------------------------------------------------------------


def row_model(row: Row) -> AccessRow:
    email, name, accounts = row
    return AccessRow(
        email=email,
        name=name,
        accounts=[
            AccessAccount(
                provider=a[0],
                user_id=a[1],
                status=a[2],
                is_admin=a[3],
                last_active_at=a[4],
                groups=[GroupRef(id=g[0], name=g[1]) for g in a[5]],
            )
            for a in accounts
        ],
    )


CSV_HEADER = ("email", "name", "provider", "user_id", "status", "is_admin", "last_active_at", "groups")


def csv_cell(value: str | None) -> str:
    """A CSV cell an auditor can open safely: a value that a spreadsheet would run as a formula
    (`=`, `+`, `-`, `@`, tab, CR first) gets a leading apostrophe (OWASP's CSV injection advice)."""
    text = value or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def groups_cell(names: Iterable[str]) -> str:
    """Group names joined by `;` (SPEC §8): each name made safe on its own, since an auditor may
    split the cell into cells, then `\\` and `;` inside it escaped, so the split is unambiguous."""
    return ";".join(csv_cell(name).replace("\\", "\\\\").replace(";", "\\;") for name in names)


def csv_text(rows: Iterable[Row]) -> str:
    """The review as RFC 4180 CSV: a header, then one line per account."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for email, name, accounts in rows:
        for provider, user_id, status, is_admin, last_active_at, groups in accounts:
            admin = "" if is_admin is None else "true" if is_admin else "false"
            cells = [email, name, provider, user_id, status, admin, last_active_at, groups_cell(g[1] for g in groups)]
            writer.writerow([csv_cell(c) for c in cells])
    return out.getvalue()


def snapshot_csv(kind: str, rows: Iterable[Any]) -> str:
    """A kept review of any kind as its CSV."""
    return csv_text(rows) if kind == "access" else KINDS[kind].csv(rows)
