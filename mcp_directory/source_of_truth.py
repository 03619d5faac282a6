"""The source of truth (SPEC §14): the provider whose accounts say who still works here.

`MCP_DIRECTORY_SOURCE_OF_TRUTH` names it; by default (`auto`) it is the first configured provider
that is an identity provider (`ProviderSpec.identity`: Okta), and `none` turns it off. Which
provider that is never matters above the adapters: a review reads it like any other provider,
and `orphaned` compares its accounts with the others'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .errors import InvalidArgument

if TYPE_CHECKING:
    from .providers import Provider

VARIABLE = "MCP_DIRECTORY_SOURCE_OF_TRUTH"
AUTO, NONE = "auto", "none"
GONE = ("inactive", "blocked")  # the source's statuses of people who left (or are kept out)


def parse(value: str | None, providers: Sequence[Provider]) -> str:
    """The variable's value: `auto` (default), `none`, or a provider's name; anything else is refused."""
    choice = (value or AUTO).strip().lower() or AUTO
    names = [p.name for p in providers]
    if choice not in (AUTO, NONE, *names):
        raise ValueError(f"{VARIABLE} must be auto, none or one of {', '.join(names)}, not {choice[:40]!r}")
    return choice


def resolve(choice: str, providers: Sequence[Provider], configured: Sequence[str]) -> str | None:
    """The source of truth's provider name, or None when there is none."""
    if choice == NONE:
        return None
    if choice == AUTO:
        return next((p.name for p in providers if p.spec.identity and p.name in configured), None)
    return choice


def required(source: str | None, providers: Sequence[Provider]) -> str:
    """The source of truth's name, or `invalid_argument` saying how to have one."""
    if source is None:
        able = [p for p in providers if p.spec.identity]
        how = "; or ".join(f"{p.title}: set {' and '.join(p.spec.required_env())}" for p in able)
        raise InvalidArgument(
            "orphaned needs a source of truth, an identity provider that says who still works here"
            + (f" ({how})" if how else "")
            + f"; then leave {VARIABLE} unset (auto) or name it there"
        )
    return source


def orphaned(accounts: Sequence[tuple[Any, ...]], source: str) -> bool:
    """An account that is not `inactive` in some other provider, while the source's account is
    `inactive` or `blocked`, or there is none (accounts: (provider, user_id, status, ...))."""
    if not any(a[0] != source and a[2] != "inactive" for a in accounts):
        return False
    own = [a for a in accounts if a[0] == source]
    return not own or all(a[2] in GONE for a in own)
