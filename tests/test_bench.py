"""The benchmarks still run: the cheapest figure end to end (simulators in their own process).
Timing figures are not asserted anywhere: speed belongs to `python -m bench`."""

from __future__ import annotations

import pytest

from bench import size


@pytest.mark.anyio
async def test_bytes_per_user_figure_runs_and_is_consistent():
    result = await size.measure()
    assert set(result) == {"rootly", "opsgenie", "retool"}
    for figures in result.values():
        assert figures["raw_bytes_per_user"] > 100
        # both copies: the text copy is exactly half of what we send
        assert figures["ours_bytes_per_user"] == pytest.approx(2 * figures["ours_text_bytes_per_user"], abs=2)
        assert figures["ratio"] == pytest.approx(
            figures["ours_bytes_per_user"] / figures["raw_bytes_per_user"], rel=0.02
        )
