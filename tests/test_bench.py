"""The benchmarks still run: the cheapest figure end to end (simulators in their own process).
Timing figures are not asserted anywhere: speed belongs to `python -m bench`."""

from __future__ import annotations

import pytest

from bench import coverage, load, review, size, soak
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


@pytest.mark.anyio
async def test_coverage_figure_runs_and_reads_at_the_on_call_minimum():
    # a small world: figure j's wiring; the review costs fewer bytes than paging the schedules, within
    # its budget, and each provider's requests beyond the on-call minimum are its user list's
    result = await coverage.measure(scales=(1,), people_1x=60)
    (figures,) = result.values()
    assert figures["review"]["bytes"] < figures["paging"]["bytes"]
    assert figures["review"]["bytes"] <= figures["budget_bytes"] and figures["findings"] > 0
    for provider, used in figures["upstream"].items():
        assert used >= figures["on_call_minimum"][provider], provider
    # the floor replays the first page's requests (and is not counted among them)
    assert figures["floor_s"] > 0 and figures["floor_ratio"] == round(figures["first_page_s"] / figures["floor_s"], 2)
    assert [row[0][:2] for row in rows({"j": result})] == ["j."]


@pytest.mark.anyio
async def test_soak_figure_runs_both_set_ups_over_every_kind_of_client():
    # seconds, not minutes: the wiring of figure k (server subprocess, clients, samples), not its slope
    result = await soak.measure(seconds=3, clients=3, interval=0.5)
    assert result["target_mb_per_min"] == soak.TARGET_MB_PER_MIN
    for setup in ("sim", "demo"):
        s = result[setup]
        assert s["unexpected_errors"] == 0, s["first_errors"]
        assert s["kinds"] == ["http-2025-11-25", "http-2026-07-28", "sse"]
        assert s["sessions"] >= 3 and s["calls"] == s["sessions"] * soak.RECONNECT_EVERY
        assert s["samples"] >= 3 and 0 < s["rss_start_mb"] <= s["rss_max_mb"] and s["rss_end_mb"] <= s["rss_max_mb"]
        assert s["fds_start"] > 0 and s["fds_end"] > 0
        assert isinstance(s["rss_slope_second_half_mb_per_min"], float)
    figures = rows({"k": result})
    assert [f[0][:2] for f in figures] == ["k.", "k."]
    assert figures[1][3] == f"{result['demo']['calls']} calls, 0 unexpected errors"


def test_the_rss_slope_is_a_least_squares_fit_of_the_second_half():
    # 10 MB a minute after a jump in the first half: the jump does not count
    samples = [(float(t), (500.0 if t < 5 else 100.0 + t / 6), 7) for t in range(10)]
    assert soak.slope_mb_per_min(samples) == pytest.approx(10.0)
    assert soak.slope_mb_per_min(samples[:1]) != soak.slope_mb_per_min(samples[:1])  # nan: too few samples


def test_the_soak_mix_covers_every_call_and_a_careless_one_every_twentieth():
    mix = soak.Mix({name: ["g1", "g2"] for name in soak.NAMES})
    calls = [mix.next() for _ in range(2 * soak.BAD_EVERY)]
    tools = {tool for tool, _, expected in calls if expected is None}
    assert tools == {"list_users", "get_group", "find_users", "access_review", "list_roles"}
    assert [i for i, (_, _, expected) in enumerate(calls) if expected] == [19, 39]
    assert {args["provider"] for tool, args, expected in calls if tool == "list_users" and not expected} == set(
        soak.NAMES
    )
