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
    └── WritesDisabled             writes_disabled

Upstream HTTP statuses become these in `from_status`; httpx transport exceptions in
`from_transport`. Nothing else in the package looks at a status code to decide
an error. Every message passes through `Redactor` before it can leave the process.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

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


_BY_STATUS: dict[int, type[DirectoryError]] = {
    400: InvalidArgument,
    401: Unauthorized,
    402: Forbidden,  # Opsgenie: the plan does not allow the action
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: InvalidArgument,
    429: RateLimited,
}

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
) -> DirectoryError:
    """Map an upstream HTTP error status to the contract's error."""
    kind = _BY_STATUS.get(status, UpstreamError)
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
        return Timeout(f"{provider} did not answer {what} in time ({type(exc).__name__}); retry later", provider=provider)
    return UpstreamError(f"{provider} broke off {what} ({type(exc).__name__}); retry later", provider=provider)


class Redactor:
    """Removes every configured secret from text before it leaves the process."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first, so a secret containing another is removed whole.
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return text
