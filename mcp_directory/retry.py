"""When to try a request again: one pure decision, unit-tested without I/O.

`decide(outcome, attempt, ...)` looks at what came back (a response or a transport
error), whether the request may be sent twice, how long we have already waited and the
policy's caps, and answers (retry?, wait, reason). `ApiClient` runs the loop; nothing
else in the package retries.

Rules (SPEC §6, FACTS.md):
- 429 and 5xx are retried on idempotent requests only (SPEC §6; the providers' own SDKs
  retry 500 too), except 501 and 505, which say the request can never succeed.
- A connection that could not be opened never reached the provider, so any request may
  be retried; a timeout, a broken connection or a garbled body after the request was
  sent is retried only when the request is idempotent.
- The wait is what the provider asked for (`asked`: its spec reads Retry-After and its own
  rate-limit headers, `ProviderSpec.retry_after`); otherwise exponential
  backoff with full jitter.
- Attempts and the total wait are bounded.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import httpx2 as httpx

RETRY_STATUSES = frozenset({429, *range(500, 600)} - {501, 505})
# Methods resent by default. PUT and DELETE are idempotent in HTTP, but a write the provider
# may have applied is not sent twice here: the agent re-reads and decides (SPEC §6).
RETRYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class MalformedBody(Exception):
    """A success whose body did not parse: treated like a connection broken mid-answer."""

    def __init__(self, status: int) -> None:
        super().__init__(f"status {status} with a body that is not JSON")
        self.status = status


# Transport errors raised before a byte of the request left: the provider cannot have seen it.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4  # including the first
    max_total_wait: float = 30.0  # seconds spent waiting between attempts, at most
    base_delay: float = 0.25
    max_delay: float = 8.0


@dataclass(frozen=True)
class Decision:
    retry: bool
    wait: float
    reason: str


def backoff(attempt: int, policy: RetryPolicy, rand: Callable[[], float]) -> float:
    """Exponential backoff with full jitter."""
    return rand() * min(policy.max_delay, policy.base_delay * 2.0 ** (attempt - 1))


def decide(
    outcome: httpx.Response | Exception,
    attempt: int,
    *,
    idempotent: bool,
    asked: float | None = None,
    waited: float = 0.0,
    policy: RetryPolicy = RetryPolicy(),
    rand: Callable[[], float] = random.random,
) -> Decision:
    """Whether to send the request again after `outcome` of attempt number `attempt` (1-based).

    `asked` is the wait the provider's headers asked for, `waited` the time already spent
    waiting for this request."""
    if isinstance(outcome, httpx.Response):
        if outcome.status_code not in RETRY_STATUSES:
            return Decision(False, 0.0, f"status {outcome.status_code} is final")
        if not idempotent:
            return Decision(False, 0.0, f"status {outcome.status_code} on a request that must not be sent twice")
        reason = f"status {outcome.status_code}"
    elif isinstance(outcome, NOT_SENT):
        reason = f"{type(outcome).__name__} before the request was sent"
    elif isinstance(outcome, (httpx.TransportError, MalformedBody)):
        if not idempotent:
            return Decision(False, 0.0, f"{type(outcome).__name__} after a request that must not be sent twice")
        reason = type(outcome).__name__
    else:
        return Decision(False, 0.0, f"{type(outcome).__name__} is not retryable")
    if attempt >= policy.max_attempts:
        return Decision(False, 0.0, f"{reason}; gave up after {attempt} attempts")
    wait = asked if asked is not None else backoff(attempt, policy, rand)
    if waited + wait > policy.max_total_wait:
        return Decision(
            False, wait, f"{reason}; waiting {wait:.1f}s more would pass the {policy.max_total_wait:.0f}s cap"
        )
    return Decision(True, wait, reason)
