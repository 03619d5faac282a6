"""Figure i's wiring on a small org: the orphaned review reads Okta at its minimum of requests (the
token, two passes, the assignees list, the groups and their members), never one per user."""

from __future__ import annotations

import pytest

from bench import okta
from bench.__main__ import rows


@pytest.mark.anyio
async def test_orphaned_review_figure_reads_okta_at_its_minimum():
    result = await okta.measure(people=250)
    assert result["orphaned"] > 0 and result["okta_users"] > 200
    assert result["okta_per_user_requests"] == 0
    assert result["okta_requests"] == result["okta_minimum"]
    (row,) = rows({"i": result})
    assert row[0].startswith("i. access_review orphaned=true") and f"the minimum: {result['okta_minimum']}" in row[3]
