"""The benchmarks still run: the cheapest figure end to end (simulators in their own process).
Timing figures are not asserted anywhere: speed belongs to `python -m bench`."""

from __future__ import annotations

import pytest

from bench import load, review, size
from bench.__main__ import rows


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


@pytest.mark.anyio
async def test_http_load_figure_runs_ours_and_the_floor_side_by_side():
    # a few calls each, on loopback: the wiring of figure d, not its speed
    result = await load.measure(sessions=2, calls=3, rounds=1, warmup=False)
    for side in (result, result["floor"]):
        assert side["errors"] == 0, side["first_error"]
        assert side["calls"] == 6
        assert len(side["throughput_per_round"]) == 1
    assert result["ratio_to_floor"] == pytest.approx(
        result["throughput_per_s"] / result["floor"]["throughput_per_s"], abs=0.01
    )
    figure, measured, target, note = rows({"d": result})[1]
    assert figure.startswith("d. same load, ours / SDK floor")
    assert measured.endswith(f"{result['floor']['median_ms']:.1f} ms")
    assert target == ">= 0.6 of floor"
    assert note == f"{result['ratio_to_floor']:.2f}"


@pytest.mark.anyio
async def test_whole_directory_questions_figure_answers_the_same_both_ways():
    # a small directory: figure g's wiring, and that access_review and paging agree on the answer
    result = await review.measure_questions(scales=(1,), people_1x=40)
    assert len(result) == 2
    for figures in result.values():
        assert figures["review"]["calls"] >= 1 and figures["paging"]["calls"] >= 1
        assert figures["review"]["bytes"] < figures["paging"]["bytes"]
        assert figures["review"]["bytes"] <= figures["review_budget_bytes"]
    assert [row[0][:2] for row in rows({"g": result})] == ["g.", "g."]


@pytest.mark.anyio
async def test_large_review_figure_runs_and_concurrent_first_pages_share_one_read():
    # a small directory: figure h's wiring (server subprocesses, the request count), not its size
    result = await review.measure_large(people=40, callers=4, rounds=2)
    assert result["upstream_requests"] == result["minimum_requests"]
    assert result["together_upstream_requests"] == result["upstream_requests"]  # four callers, one read
    assert result["together_reviews"] == 1
    # the floor replayed the first round's requests, once per round, and the ratio is of those figures
    assert len(result["floor_per_round_s"]) == len(result["first_page_per_round_s"]) == 2
    assert all(seconds > 0 for seconds in result["floor_per_round_s"])
    assert result["floor_requests"] == result["upstream_requests"]  # each round replays the first round's, only
    ratios = [f / b for f, b in zip(result["first_page_per_round_s"], result["floor_per_round_s"], strict=True)]
    assert min(ratios) - 0.02 <= result["floor_ratio"] <= max(ratios) + 0.02
    assert [row[0][:2] for row in rows({"h": result})] == ["h.", "h.", "h."]
