"""Okta's `search` and `filter` expressions, as the simulated org evaluates them (FACTS §2, §3).

`attribute op "value"` terms joined by `and` / `or` (and binds tighter), with parentheses:
operators `eq`, `sw`, `co` (only on names, email and login), `gt` `ge` `lt` `le` (dates), `pr`
(present); values compare without regard to letter case; there is no `ne` and no `not`.
`filter` takes `eq` only (and `gt`-family on `lastUpdated`). Anything else is a 400, as Okta answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from mcp_directory.sim.common import SimError

Predicate = Callable[[dict[str, Any]], bool]
TOKENS = re.compile(r'\s*(\(|\)|"(?:[^"\\]|\\.)*"|[^\s()]+)')
OPERATORS = {"eq", "sw", "co", "gt", "ge", "lt", "le", "pr"}
CONTAINS = {"profile.firstName", "profile.lastName", "profile.email", "profile.login"}


def invalid(expression: str) -> SimError:
    return SimError(400, "Invalid search criteria.", code="E0000031", cause=f"Invalid expression: {expression[:100]}")


def value_at(record: dict[str, Any], attribute: str) -> Any:
    """`profile.email`, `type.id`, `status`...: a dotted path into the record."""
    value: Any = record
    for part in attribute.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def parse(expression: str, *, only_eq: bool = False) -> Predicate:
    """The predicate an expression means; `only_eq` for `filter`, which takes `eq` alone."""
    tokens = [t for t in TOKENS.findall(expression) if t]
    position = 0

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def take() -> str:
        nonlocal position
        if position >= len(tokens):
            raise invalid(expression)
        position += 1
        return str(tokens[position - 1])

    def term() -> Predicate:
        if peek() == "(":
            take()
            inner = disjunction()
            if take() != ")":
                raise invalid(expression)
            return inner
        attribute, operator = take(), take().lower()
        if operator not in OPERATORS or (only_eq and operator not in ("eq", "gt", "ge", "lt", "le")):
            raise invalid(expression)
        if operator == "pr":
            return lambda r: value_at(r, attribute) not in (None, "")
        raw = take()
        if not (raw.startswith('"') and raw.endswith('"') and len(raw) >= 2):
            raise invalid(expression)
        if operator == "co" and attribute not in CONTAINS:
            raise invalid(expression)
        wanted = raw[1:-1].replace('\\"', '"').casefold()

        def test(record: dict[str, Any]) -> bool:
            value = value_at(record, attribute)
            if value is None:
                return False
            have = str(value).casefold()
            return {
                "eq": have == wanted,
                "sw": have.startswith(wanted),
                "co": wanted in have,
                "gt": have > wanted,
                "ge": have >= wanted,
                "lt": have < wanted,
                "le": have <= wanted,
            }[operator]

        return test

    def conjunction() -> Predicate:
        parts = [term()]
        while (peek() or "").lower() == "and":
            take()
            parts.append(term())
        return lambda r: all(p(r) for p in parts)

    def disjunction() -> Predicate:
        parts = [conjunction()]
        while (peek() or "").lower() == "or":
            take()
            parts.append(conjunction())
        return lambda r: any(p(r) for p in parts)

    if not tokens:
        raise invalid(expression)
    predicate = disjunction()
    if peek() is not None:
        raise invalid(expression)
    return predicate
