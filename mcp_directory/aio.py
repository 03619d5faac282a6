"""Concurrency helpers over anyio."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import anyio


async def gather(*awaitables: Awaitable[Any]) -> list[Any]:
    """Run concurrently and return the results in order. If any fails, the others are
    cancelled and the first failure is raised as itself, not wrapped in an exception group."""
    results: list[Any] = [None] * len(awaitables)

    async def run(i: int, awaitable: Awaitable[Any]) -> None:
        results[i] = await awaitable

    try:
        async with anyio.create_task_group() as tg:
            for i, awaitable in enumerate(awaitables):
                tg.start_soon(run, i, awaitable)
    except BaseExceptionGroup as group:
        raise first_failure(group) from None
    return results


def first_failure(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first failure in a task group's exception group, unwrapped."""
    first = group.exceptions[0]
    while isinstance(first, BaseExceptionGroup):
        first = first.exceptions[0]
    return first
