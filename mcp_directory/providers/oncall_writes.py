"""The one way an on-call duty changes hands where a provider only takes a whole list (SPEC §12):
Opsgenie and JSM rotation participants and escalation rules, Rootly escalation levels' targets.

`swap_entries` reads the object, replaces (or, without a successor, removes) every entry that names
the leaver, in place, writes the whole list back and reads it again, under the lock named by the
object's canonical id (`locks.replace_whole_list`, in Redis when replicas share one). A read-back
that still names the leaver, or lacks the successor, is `conflict`: nothing is retried blindly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..locks import replace_whole_list

Entry = dict[str, Any]


def swapped(
    entries: list[Entry], names: Callable[[Entry], bool], replace: Callable[[Entry], Entry] | None
) -> list[Entry] | None:
    """The list with each entry naming the leaver replaced in place (`replace`) or, without a
    replacement, left out; None when no entry names the leaver (nothing to write)."""
    if not any(names(e) for e in entries):
        return None
    if replace is None:
        return [e for e in entries if not names(e)]
    return [replace(e) if names(e) else e for e in entries]


async def swap_entries(
    adapter: Any,
    kind: str,
    object_id: str,
    *,
    what: str,
    read: Callable[[], Awaitable[list[Entry]]],
    write: Callable[[list[Entry]], Awaitable[object]],
    names: Callable[[Entry], bool],
    replace: Callable[[Entry], Entry] | None,
    successor_in: Callable[[Entry], bool] | None = None,
) -> None:
    """Hand `what` (a rotation's participants, an escalation's rules or a level's targets) over, or
    take the leaver out of it: read, change only the leaver's entries, write, read back."""

    def holds(entries: list[Entry]) -> bool:
        gone = not any(names(e) for e in entries)
        return gone and (successor_in is None or replace is None or any(successor_in(e) for e in entries))

    await replace_whole_list(
        adapter.locks,
        f"{adapter.name}:{kind}:{object_id}",
        what=what,
        read=read,
        change=lambda entries: swapped(entries, names, replace),
        write=write,
        holds=holds,
        conflict=f"{what} was changed by someone else at the same time, and the change is not there; "
        "read it again (list_schedules) and retry",
        provider=adapter.name,
    )
