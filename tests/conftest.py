from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.redis_support import RedisServer, running_redis
from tests.support import require_specs


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="session")
def provider_specs() -> Path:
    """The providers' real specs; `pytestmark = pytest.mark.usefixtures("provider_specs")` in a module
    that checks against them (skipped without them, failed without them under CI=true)."""
    return require_specs()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on a free loopback port, persistence off, for the whole session (skipped
    without redis-server locally, failed without it under CI=true)."""
    with running_redis() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for this test."""
    assert redis_server.command("FLUSHALL") == "+OK"
    return redis_server.url
