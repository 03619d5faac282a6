from pathlib import Path

import pytest

from tests.support import require_specs


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="session")
def provider_specs() -> Path:
    """The providers' real specs; `pytestmark = pytest.mark.usefixtures("provider_specs")` in a module
    that checks against them (skipped without them, failed without them under CI=true)."""
    return require_specs()
