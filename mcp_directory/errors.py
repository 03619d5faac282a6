"""The contract's errors, and the one boundary where foreign failures become them.

Exception tree::

    DirectoryError                 code            (SPEC §6)
    ├── InvalidArgument            invalid_argument
    ├── NotConfigured              not_configured
    ├── Unsupported                unsupported
    ├── NotFound                   not_found
    ├── Unauthorized               unauthorized
    ├── Forbidden                  forbidden
    ├── Conflict                   conflict
    ├── RateLimited                rate_limited
    ├── UpstreamError              upstream_error
    ├── Timeout                    timeout
    ├── WritesDisabled             writes_disabled
    └── Cancelled                  cancelled       (SPEC §9: the human said no)

Upstream HTTP statuses become these in `from_status`; httpx transport exceptions in
`from_transport`. Nothing else in the package looks at a status code to decide
an error. Every message passes through `Redactor` before it can leave the process.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

import httpx2 as httpx


class DirectoryError(Exception):
    """A failure the agent can read and act on."""

    code = "upstream_error"

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.status = status
        self.retry_after = retry_after

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "provider": self.provider,
                "status": self.status,
                "retry_after": self.retry_after,
            }
        }


class InvalidArgument(DirectoryError):
    code = "invalid_argument"


class NotConfigured(DirectoryError):
    code = "not_configured"


class Unsupported(DirectoryError):
    code = "unsupported"


class NotFound(DirectoryError):
    code = "not_found"


class Unauthorized(DirectoryError):
    code = "unauthorized"


class Forbidden(DirectoryError):
    code = "forbidden"


class Conflict(DirectoryError):
    code = "conflict"


class RateLimited(DirectoryError):
    code = "rate_limited"


class UpstreamError(DirectoryError):
    code = "upstream_error"


class Timeout(DirectoryError):
    code = "timeout"


class WritesDisabled(DirectoryError):
    code = "writes_disabled"


class Cancelled(DirectoryError):
    """The human was asked to confirm a write (SPEC §9) and did not: nothing was sent."""

    code = "cancelled"


_BY_STATUS: dict[int, type[DirectoryError]] = {
    400: InvalidArgument,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidArgument,
    429: RateLimited,
}

_BY_CODE: dict[str, type[DirectoryError]] = {cls.code: cls for cls in DirectoryError.__subclasses__()}

_NEXT_STEP: dict[type[DirectoryError], str] = {
    Unauthorized: "check the provider's credential (is it valid, not revoked, for the right region or instance?)",
    Forbidden: "the credential lacks a permission or scope for this call; grant it or use another key",
    NotFound: "check the id (list the resource to find valid ids)",
    RateLimited: "wait and retry later",
    UpstreamError: "the provider failed; retry later",
    InvalidArgument: "correct the arguments and call again",
    Conflict: "the change conflicts with the current state; read it and retry",
}


def from_status(
    provider: str,
    status: int,
    upstream_message: str | None,
    *,
    what: str,
    retry_after: float | None = None,
    statuses: Mapping[int, str] | None = None,
    code: str | None = None,
) -> DirectoryError:
    """Map an upstream HTTP error status to the contract's error; `statuses` are the provider's
    own meanings of statuses that differ from HTTP's, as contract codes (e.g. 402: "forbidden"),
    and `code` the one its error body names, which decides over both (Okta's `E0000047`)."""
    code = code if code in _BY_CODE else (statuses or {}).get(status)
    kind = _BY_CODE[code] if code else _BY_STATUS.get(status, UpstreamError)
    detail = f": {upstream_message}" if upstream_message else ""
    hint = _NEXT_STEP.get(kind)
    message = f"{provider} answered {status} to {what}{detail}" + (f"; {hint}" if hint else "")
    return kind(message, provider=provider, status=status, retry_after=retry_after)


def from_transport(provider: str, what: str, exc: Exception, *, maybe_applied: bool = False) -> DirectoryError:
    """Translate an httpx transport exception into the contract's error (raise it `from exc`).
    `maybe_applied`: a write that may have reached the provider, so it was not resent."""
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
        return (Timeout if isinstance(exc, httpx.ConnectTimeout) else UpstreamError)(
            f"could not reach {provider} for {what} ({type(exc).__name__}); check its base URL and the network",
            provider=provider,
        )
    if maybe_applied:
        return (Timeout if isinstance(exc, httpx.TimeoutException) else UpstreamError)(
            f"{provider} did not answer {what} ({type(exc).__name__}) after receiving it, so the change may "
            "or may not have been applied; read the object back before trying again",
            provider=provider,
        )
    if isinstance(exc, httpx.TimeoutException):
        return Timeout(
            f"{provider} did not answer {what} in time ({type(exc).__name__}); retry later", provider=provider
        )
    return UpstreamError(f"{provider} broke off {what} ({type(exc).__name__}); retry later", provider=provider)


class Redactor:
    """Removes every configured secret, and the forms it takes on the way, from text before it
    leaves the process. It runs over every tool result, so it is one regular expression,
    compiled once.

    What counts as a match of a credential:

    - The credential itself, exactly as configured, whatever its length.
    - For a credential of at least 8 characters, also any other letter case of it and its
      percent-encodings (`quote` and `quote_plus`, hex digits in either case). For shorter
      ones, such variants would mostly hit unrelated text.
    - For a credential of at least 12 characters, also its base64 forms (standard and
      urlsafe alphabets, padded or not), found even inside a longer encoded string such as
      `Basic base64(user:token)`: a secret embedded at byte offset k encodes differently for
      each k mod 3, so each of the three alignments contributes its *stable core* (the
      characters whose 6 bits all come from the secret; at most one partial character at each
      end, a few bits, is left). Base64 is matched with its letter case.

    Where: a credential of at least 8 characters is replaced wherever it occurs, even inside a
    longer token. A shorter one is replaced only where it stands alone, not inside a longer run
    of token characters (letters, digits and `-._~+/`, and `=` padding after it): a three-letter
    credential occurs by chance inside cursors, ids and base64, and replacing it there would
    corrupt them (a cursor holding `[redacted]`) while protecting nothing.
    """

    REPLACEMENT = "[redacted]"
    MIN_DERIVED = 8  # case variants and URL encodings
    MIN_BASE64 = 12  # base64 cores
    _TOKEN = r"A-Za-z0-9\-._~+/"

    def __init__(self, secrets: Iterable[str]) -> None:
        self._secrets = [s for s in secrets if s]
        self._generation = -1
        self._compile()

    def _compile(self) -> None:
        """Build the expression from the configured secrets and those learned at run time."""
        self._generation = _LEARNED.generation
        secrets = [*self._secrets, *_LEARNED.values]
        exact: set[str] = set()  # matched with case
        folded: set[str] = set()  # matched in any letter case
        short: set[str] = set()  # matched only standing alone
        for secret in {s for s in secrets if s}:
            if len(secret) < self.MIN_DERIVED:
                short.add(secret)
                continue
            folded.update({secret, quote(secret, safe=""), quote(secret), quote_plus(secret)})
            if len(secret) >= self.MIN_BASE64:
                exact.update(_base64_cores(secret.encode()))
        alone = rf"(?<![{self._TOKEN}])(?:{{}})(?![{self._TOKEN}=])"
        # Longest first, so a secret containing another is removed whole.
        parts = [(s, re.escape(s)) for s in exact]
        parts += [(s, f"(?i:{re.escape(s)})") for s in folded]
        parts += [(s, alone.format(re.escape(s))) for s in short]
        parts.sort(key=lambda part: len(part[0]), reverse=True)
        self._pattern = re.compile("|".join(p for _, p in parts)) if parts else None
        # A regular expression scans text ~100 times slower than `in` does, and nearly every
        # text holds no secret at all: look for plain substrings first, run it only on a hit.
        self._needles = sorted(exact | short)
        self._folded_needles = sorted({f.lower() for f in folded})

    def __call__(self, text: str) -> str:
        if self._generation != _LEARNED.generation:
            self._compile()
        if self._pattern is None:
            return text
        if not any(n in text for n in self._needles):
            lowered = text.lower() if self._folded_needles else ""
            if not any(n in lowered for n in self._folded_needles):
                return text
        return self._pattern.sub(self.REPLACEMENT, text)

    def tree(self, data: Any) -> Any:
        """Decoded JSON with every string in it (keys too) redacted: the result stays valid JSON
        of the same shape, where redacting its text could break it (a short credential that
        stands alone as a number)."""
        if isinstance(data, str):
            return self(data)
        if isinstance(data, list):
            return [self.tree(item) for item in data]
        if isinstance(data, dict):
            return {self(key): self.tree(value) for key, value in data.items()}
        return data


class _Learned:
    """Secrets made while running (an access token, a signed client assertion), which every
    `Redactor` in the process removes as it removes the configured ones. The newest few are
    kept: an older access token has expired long before."""

    def __init__(self, keep: int = 32) -> None:
        self.values: list[str] = []
        self.keep = keep
        self.generation = 0

    def add(self, secret: str) -> None:
        if secret and secret not in self.values:
            self.values = [*self.values, secret][-self.keep :]
            self.generation += 1


_LEARNED = _Learned()


def remember_secret(secret: str) -> None:
    """Redact `secret` from now on, everywhere (SPEC §2: credentials never appear)."""
    _LEARNED.add(secret)


def _base64_cores(secret: bytes) -> set[str]:
    """The characters of base64(prefix + secret + suffix) fixed by the secret alone, for a
    prefix of 0, 1 and 2 bytes (mod 3), in both alphabets. Character i of an encoding holds
    bits [6i, 6i + 6); it is stable when they all fall inside the secret's bytes."""
    cores = set()
    for offset in range(3):
        encoded = base64.b64encode(bytes(offset) + secret).decode()
        first = -(-offset * 8 // 6)  # the first character wholly after the prefix
        last = (offset + len(secret)) * 8 // 6  # the characters wholly before any suffix
        core = encoded[first:last]
        cores.update({core, core.translate(_URLSAFE)})
    return cores


_URLSAFE = str.maketrans("+/", "-_")
