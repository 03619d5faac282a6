"""Run every benchmark, print the table with its targets, write bench/results/latest.json.

python -m bench            # all of them
python -m bench a c        # some of them
python -m bench --readme   # all of them, and the table into README.md (between the bench markers)
"""

from __future__ import annotations

import json
import logging
import platform
import sys
import time
from pathlib import Path
from typing import Any

import anyio

from . import coverage, load, memory, okta, overhead, replicas, review, size, soak, traversal

FIGURES = {
    "a": overhead.measure,
    "b": traversal.measure,
    "c": size.measure,
    "d": load.measure,
    "e": memory.measure,
    "f": replicas.measure,
    "g": review.measure_questions,
    "h": review.measure_large,
    "i": okta.measure,
    "j": coverage.measure,
    "k": soak.measure,
}


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    out = []
    if a := results.get("a"):
        out.append(
            (
                "a. overhead per call, in process (median / p99)",
                f"{a['overhead_in_process_ms']['median']:.2f} / {a['overhead_in_process_ms']['p99']:.2f} ms",
                "<= 0.5 ms median",
                f"SDK floor {a['floor_in_process']['median_ms']:.2f} ms",
            )
        )
        out.append(
            (
                "a. overhead per call, stdio (median / p99)",
                f"{a['overhead_stdio_ms']['median']:.2f} / {a['overhead_stdio_ms']['p99']:.2f} ms",
                "<= 2 ms median",
                f"SDK floor {a['floor_stdio']['median_ms']:.2f} ms",
            )
        )
    if b := results.get("b"):
        out.append(
            (
                f"b. traverse {b['users']} users, 20 ms/request",
                f"{b['list_users_s']:.2f} s vs {b['one_by_one_s']:.2f} s one by one",
                ">= 5x faster",
                f"{b['speedup']:.1f}x",
            )
        )
    if c := results.get("c"):
        for provider, v in c.items():
            target = "<= 40 % of raw" if provider == "rootly" else "(reference)"
            out.append(
                (
                    f"c. bytes per user, {provider} (both copies)",
                    f"{v['ours_bytes_per_user']} B vs raw {v['raw_bytes_per_user']} B",
                    target,
                    f"{v['ratio'] * 100:.0f} %",
                )
            )
    if d := results.get("d"):
        out.append(
            (
                f"d. {d['sessions']} HTTP sessions x {d['calls_per_session']} calls",
                f"{d['throughput_per_s']:.0f} calls/s, p50 {d['median_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms",
                "0 errors",
                f"{d['errors']} errors",
            )
        )
        f = d["floor"]
        out.append(
            (
                "d. same load, ours / SDK floor (trivial tool)",
                f"{d['throughput_per_s']:.0f} / {f['throughput_per_s']:.0f} calls/s, floor p50 {f['median_ms']:.1f} ms",
                f">= {d['target_ratio']} of floor",
                f"{d['ratio_to_floor']:.2f}" + (f", floor {f['errors']} errors" if f["errors"] else ""),
            )
        )
    if e := results.get("e"):
        out.append(
            (
                f"e. peak RSS traversing {e['users']} users",
                f"{e['peak_rss_mb']:.0f} MB",
                "<= 150 MB",
                f"{e['seconds']:.0f} s",
            )
        )
    if rep := results.get("f"):
        one, two = rep["one_replica"], rep["two_replicas_redis"]
        out.append(
            (
                f"f. {rep['sessions']} HTTP sessions x {rep['calls_per_session']} calls, 2 replicas + Redis",
                f"{two['throughput_per_s']:.0f} calls/s, p99 {two['p99_ms']:.1f} ms",
                "0 errors",
                f"1 replica, no Redis: {one['throughput_per_s']:.0f} calls/s, p99 {one['p99_ms']:.1f} ms; "
                f"{one['errors'] + two['errors']} errors",
            )
        )
        seen = rep["most_in_any_minute"]
        out.append(
            (
                f"f. shared budget, 2 replicas, 50 sessions for {rep['budget_seconds']:.0f} s",
                "most in any minute: " + ", ".join(f"{p} {n}" for p, n in seen.items()),
                f"<= {rep['budget_per_minute']} per provider",
                f"{rep['budget_calls']} calls, {rep['budget_errors']} errors",
            )
        )
    for question, q in (results.get("g") or {}).items():
        ten = question.startswith("10x")
        review, paging = q["review"], q["paging"]
        out.append(
            (
                f"g. {question}, {q['accounts']} accounts, 20 ms/request ({q['answer_rows']} people)",
                f"access_review: {review['calls']} call(s), {review['bytes']} B, {review['seconds']:.2f} s; "
                f"paging list_users: {paging['calls']} calls, {paging['bytes']} B, {paging['seconds']:.2f} s",
                f"<= {q['review_budget_bytes']} B" + ("; >= 100x fewer bytes, >= 2x faster" if ten else ""),
                f"{q['bytes_ratio']:.0f}x fewer bytes, {q['speedup']:.1f}x the speed",
            )
        )
    if h := results.get("h"):
        out.append(
            (
                f"h. access_review over {h['accounts']} accounts, 20 ms/request",
                f"first page {h['first_page_s']:.1f} s, peak RSS {h['peak_rss_mb']:.0f} MB",
                "<= 300 MB",
                f"{h['upstream_requests']} upstream requests (the minimum: {h['minimum_requests']})",
            )
        )
        out.append(
            (
                "h. that first page / its floor (the same responses, only read)",
                f"{h['first_page_s']:.1f} s / {h['floor_s']:.1f} s",
                f"<= {h['target_floor_ratio']}x the floor",
                f"{h['floor_ratio']:.2f}x",
            )
        )
        out.append(
            (
                f"h. {h['callers']} sessions ask for that first page at once",
                f"all answered in {h['together_s']:.1f} s, peak RSS {h['together_peak_rss_mb']:.0f} MB",
                "<= 300 MB; one read's requests",
                f"{h['together_upstream_requests']} upstream requests, {h['together_reviews']} review(s) read",
            )
        )
    if i := results.get("i"):
        out.append(
            (
                f"i. access_review orphaned=true over {i['okta_users']} Okta users + the tools' "
                f"({i['accounts']} accounts), 20 ms/request, Okta at 600/min",
                f"first page {i['first_page_s']:.1f} s, peak RSS {i['peak_rss_mb']:.0f} MB, {i['orphaned']} people",
                "requests at the minimum, none per user",
                f"Okta: {i['okta_requests']} requests (the minimum: {i['okta_minimum']}), "
                f"{i['okta_per_user_requests']} per user; "
                f"all: {i['upstream_requests']} (minimum {i['minimum_requests']})",
            )
        )
    for scale, c in (results.get("j") or {}).items():
        review, paging = c["review"], c["paging"]
        used = ", ".join(
            f"{p} {n} (on-call minimum {c['on_call_minimum'][p]} + users)" for p, n in c["upstream"].items()
        )
        out.append(
            (
                f"j. coverage_review, {scale}: {c['schedules']} schedules, 20 ms/request ({c['findings']} findings)",
                f"first page {c['first_page_s']:.2f} s ({c['floor_ratio']:.2f}x its floor, {c['floor_s']:.2f} s); "
                f"{review['calls']} call(s), {review['bytes']} B; "
                f"paging list_schedules: {paging['calls']} calls, {paging['bytes']} B, {paging['seconds']:.2f} s",
                f"<= {c['budget_bytes']} B" + ("; <= 2 s" if scale == "10x" else ""),
                f"upstream requests: {used}",
            )
        )
    for setup, s in (results.get("k") or {}).items():
        if setup in SOAK_SETUPS:
            out.append(soak_row(setup, s, results["k"]["target_mb_per_min"]))
    return out


SOAK_SETUPS = {"sim": "simulators in their own process", "demo": "--demo"}


def soak_row(setup: str, s: dict[str, Any], target: float) -> tuple[str, str, str, str]:
    return (
        f"k. soak, {s['clients']} reconnecting clients (HTTP both eras, SSE) for {s['seconds']:.0f} s, "
        f"{SOAK_SETUPS[setup]}",
        f"RSS {s['rss_start_mb']:.0f} -> {s['rss_end_mb']:.0f} MB, "
        f"second half {s['rss_slope_second_half_mb_per_min']:+.1f} MB/min; "
        f"fds {s['fds_start']} -> {s['fds_half']} at half time -> {s['fds_end']}",
        f"< {target:g} MB/min, 0 errors",
        f"{s['calls']} calls, {s['unexpected_errors']} unexpected errors",
    )


def write_readme(table: list[tuple[str, str, str, str]], results: dict[str, Any]) -> None:
    readme = Path(__file__).resolve().parent.parent / "README.md"
    text = readme.read_text(encoding="utf-8")
    head, start, rest = text.partition("<!-- bench:start -->")
    _, end, tail = rest.partition("<!-- bench:end -->")
    lines = ["| figure | measured | target | note |", "| --- | --- | --- | --- |"]
    lines += [f"| {' | '.join(row)} |" for row in table]
    stamp = time.strftime("%Y-%m-%d", time.gmtime())
    lines.append(f"\nMeasured {stamp} on {results['machine']['platform']}, Python {results['machine']['python']}.")
    readme.write_text(f"{head}{start}\n" + "\n".join(lines) + f"\n{end}{tail}", encoding="utf-8")


def main(argv: list[str]) -> int:
    logging.disable(logging.INFO)
    chosen = [a for a in argv if a in FIGURES] or list(FIGURES)
    results: dict[str, Any] = {"machine": {"python": platform.python_version(), "platform": platform.platform()}}
    for key in chosen:
        started = time.perf_counter()
        results[key] = anyio.run(FIGURES[key])
        print(f"# {key} done in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    table = rows(results)
    widths = [max(len(r[i]) for r in [*table, ("figure", "measured", "target", "note")]) for i in range(4)]
    for row in [("figure", "measured", "target", "note"), *table]:
        print(" | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)))
    if "--readme" in argv:
        write_readme(table, results)
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"# written to {out / 'latest.json'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
