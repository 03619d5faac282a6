"""Opaque, tamper-evident page cursors (SPEC §3).

A cursor carries where the next page starts upstream (a provider-specific state: a
page number, an offset, a token) plus how many items of that upstream page were
already served. It is bound to the tool, the provider and the filters it was made for,
and signed with HMAC-SHA256, so an agent cannot forge one or replay it elsewhere.

The key is derived from the configured credentials (or MCP_DIRECTORY_CURSOR_SECRET),
so cursors stay valid across processes of the same deployment, e.g. `mcp-directory call`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from .errors import InvalidArgument

_SIG_BYTES = 16


@dataclass(frozen=True)
class Position:
    """Where a page starts: an upstream state and how many of its items to skip."""

    state: Any = None
    skip: int = 0


class CursorCodec:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"mcp-directory cursor v1\0" + secret.encode()).digest()

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_SIG_BYTES]

    @staticmethod
    def _scope_id(scope: dict[str, Any]) -> str:
        # A digest keeps cursors short (the model pays for every byte) while binding them.
        return hashlib.sha256(json.dumps(scope, sort_keys=True).encode()).hexdigest()[:12]

    def encode(self, scope: dict[str, Any], position: Position) -> str:
        payload = json.dumps([self._scope_id(scope), position.state, position.skip], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(payload + self._sign(payload)).decode().rstrip("=")

    def decode(self, cursor: str, scope: dict[str, Any]) -> Position:
        """Return the position in `cursor`, or fail with invalid_argument."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except ValueError:
            raw = b""
        payload, signature = raw[:-_SIG_BYTES], raw[-_SIG_BYTES:]
        if len(raw) <= _SIG_BYTES or not hmac.compare_digest(signature, self._sign(payload)):
            raise InvalidArgument(
                "cursor is not valid (altered, truncated or from another deployment); "
                "pass next_cursor exactly as returned, or omit cursor to start over"
            )
        scope_id, state, skip = json.loads(payload)
        if scope_id != self._scope_id(scope):
            raise InvalidArgument(
                "cursor belongs to another tool, provider or filter; pass it back only with the same "
                "tool, provider and filters it came from, or omit cursor to start over"
            )
        return Position(state=state, skip=int(skip))
