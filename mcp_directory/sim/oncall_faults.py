"""An outside edit between a client's read and its write, for tests of read-change-write-read-back.

`outside_edit(app, edit, method=..., path=...)` makes the simulator run `edit()` (a change to its
records, as another admin would make in the provider's UI) just before it handles the first
matching request, then answer that request as usual: the client's write lands on records that
are no longer what it read. Kept apart from faults.py (transport faults) on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response


def outside_edit(app: Any, edit: Callable[[], None], *, method: str = "PATCH", path: str = "", times: int = 1) -> None:
    """Run `edit()` before the first `times` requests with `method` whose path matches regex `path`."""
    pattern = re.compile(path)
    left = [times]

    async def hook(request: Request) -> Response | None:
        if left[0] > 0 and request.method == method.upper() and pattern.search(request.url.path):
            left[0] -= 1
            edit()
        return None

    app.state.gate.hooks.append(hook)
