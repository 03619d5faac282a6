"""The retry decision over a table of cases, and the providers' ways of saying when to come back."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import httpx2 as httpx
import pytest

from mcp_directory.providers.opsgenie import SPEC as OPSGENIE
from mcp_directory.providers.retool import SPEC as RETOOL
from mcp_directory.providers.rootly import SPEC as ROOTLY
from mcp_directory.retry import MalformedBody, RetryPolicy, decide
from mcp_directory.throttle import Throttle

NOW = 1_800_000_000.0
REQUEST = httpx.Request("GET", "http://x.test/")


def response(status, **headers):
    return httpx.Response(status, headers=headers, request=REQUEST)


def half():
    return 0.5


CASES = [
    # outcome, attempt, idempotent, asked, waited, expected retry, expected wait (None: any)
    (response(429), 1, True, 2.0, 0.0, True, 2.0),
    (response(429), 1, False, 2.0, 0.0, False, 0.0),
    (response(503), 1, True, None, 0.0, True, 0.125),  # backoff: 0.5 * 0.25 * 2**0
    (response(502), 3, True, None, 0.0, True, 0.5),  # 0.5 * 0.25 * 2**2
    (response(504), 2, True, None, 0.0, True, 0.25),
    (response(503), 1, False, None, 0.0, False, 0.0),
    (response(500), 1, True, None, 0.0, True, 0.125),  # SPEC §6: every 5xx on a read
    (response(500), 1, False, None, 0.0, False, 0.0),
    (response(501), 1, True, None, 0.0, False, 0.0),  # the provider can never do it
    (response(505), 1, True, None, 0.0, False, 0.0),
    (response(599), 1, True, None, 0.0, True, 0.125),
    (response(404), 1, True, None, 0.0, False, 0.0),
    (response(401), 1, True, None, 0.0, False, 0.0),
    (response(200), 1, True, None, 0.0, False, 0.0),
    (response(429), 4, True, 1.0, 0.0, False, 0.0),  # attempts exhausted (max 4)
    (response(429), 1, True, 31.0, 0.0, False, 31.0),  # would pass the 30 s cap
    (response(429), 2, True, 5.0, 26.0, False, 5.0),  # cap counts what was already waited
    (response(429), 2, True, 5.0, 24.0, True, 5.0),
    (httpx.ConnectError("refused", request=REQUEST), 1, False, None, 0.0, True, 0.125),  # never sent
    (httpx.ConnectTimeout("slow", request=REQUEST), 1, False, None, 0.0, True, 0.125),
    (httpx.ReadTimeout("slow", request=REQUEST), 1, True, None, 0.0, True, 0.125),
    (httpx.ReadTimeout("slow", request=REQUEST), 1, False, None, 0.0, False, 0.0),  # may have arrived
    (httpx.RemoteProtocolError("dropped", request=REQUEST), 1, False, None, 0.0, False, 0.0),
    (MalformedBody(200), 1, True, None, 0.0, True, 0.125),
    (MalformedBody(200), 1, False, None, 0.0, False, 0.0),
    (httpx.ReadError("reset", request=REQUEST), 2, True, None, 0.0, True, 0.25),
    (ValueError("bug"), 1, True, None, 0.0, False, 0.0),
]


@pytest.mark.parametrize("outcome,attempt,idempotent,asked,waited,retry,wait", CASES)
def test_decision_table(outcome, attempt, idempotent, asked, waited, retry, wait):
    d = decide(outcome, attempt, idempotent=idempotent, asked=asked, waited=waited, policy=RetryPolicy(), rand=half)
    assert d.retry is retry, d.reason
    assert d.wait == pytest.approx(wait)
    assert d.reason


def test_backoff_is_capped_and_jittered():
    policy = RetryPolicy(max_attempts=20, max_total_wait=1000, base_delay=1, max_delay=8)
    waits = [decide(response(503), n, idempotent=True, policy=policy, rand=lambda: 1.0).wait for n in range(1, 8)]
    assert waits == [1, 2, 4, 8, 8, 8, 8]
    assert decide(response(503), 3, idempotent=True, policy=policy, rand=lambda: 0.0).wait == 0


def test_every_header_form():
    # Retry-After in seconds, and as an HTTP date, for any provider.
    assert RETOOL.retry_after({"retry-after": "7"}, NOW) == 7
    date = format_datetime(datetime.fromtimestamp(NOW + 12, UTC), usegmt=True)
    assert RETOOL.retry_after({"retry-after": date}, NOW) == pytest.approx(12)
    assert RETOOL.retry_after({"retry-after": "soon"}, NOW) is None
    # Rootly: X-RateLimit-Reset is an epoch second; in the past means now.
    assert ROOTLY.retry_after({"x-ratelimit-reset": str(int(NOW + 9))}, NOW) == 9
    assert ROOTLY.retry_after({"x-ratelimit-reset": str(int(NOW - 5))}, NOW) == 0
    assert ROOTLY.retry_after({"retry-after": "2", "x-ratelimit-reset": str(int(NOW + 9))}, NOW) == 2
    # Opsgenie: the period of the bucket that is full, only when throttled.
    throttled = {"x-ratelimit-state": "THROTTLED", "x-ratelimit-period-in-sec": "60", "x-ratelimit-reason": "ACCOUNT"}
    assert OPSGENIE.retry_after(throttled, NOW) == 60
    assert OPSGENIE.retry_after({**throttled, "x-ratelimit-period-in-sec": "1"}, NOW) == 1
    assert OPSGENIE.retry_after({**throttled, "x-ratelimit-state": "OK"}, NOW) is None
    # Rootly's and Opsgenie's own headers speak only on a 429; Retry-After on any status.
    assert ROOTLY.retry_after({"x-ratelimit-reset": str(int(NOW + 9))}, NOW, status=502) is None
    assert OPSGENIE.retry_after(throttled, NOW, status=503) is None
    assert RETOOL.retry_after({"retry-after": "3"}, NOW, status=503) == 3
    # Nothing said: None, so the decision falls back to backoff.
    for spec in (ROOTLY, OPSGENIE, RETOOL):
        assert spec.retry_after({}, NOW) is None


@pytest.mark.anyio
async def test_throttle_spaces_requests_after_the_burst():
    clock = [0.0]
    slept = []

    async def sleep(seconds):  # a clock we move ourselves: no real waiting
        slept.append(seconds)
        clock[0] += seconds

    throttle = Throttle(60, burst=2, clock=lambda: clock[0], sleep=sleep)  # one a second after two at once
    waits = [await throttle.acquire() for _ in range(5)]
    assert slept == pytest.approx([1.0, 1.0, 1.0])
    assert waits[:2] == [0.0, 0.0] and waits[2:] == pytest.approx([1.0, 1.0, 1.0])
    assert await Throttle(None).acquire() == 0.0
