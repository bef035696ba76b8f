#!/usr/bin/env python
"""Benchmark of the trend report: three waves of ROWS responses each, PDF in both languages.

Usage::

    python benchmarks/report_bench.py [ROWS] [--waves 2024,2025,2026] [--seed 1] [--keep DIR]

Makes ROWS synthetic responses per wave (:func:`analysis.synthetic.make_responses`; default
200,000, i.e. 600,000 rows), writes them to Parquet, then runs the report the way
``survey-analysis report DATA --plan PLAN.yaml --out report.pdf`` does (design ``base_weight`` /
``stratum`` / ``psu``, raking to the project's census margins ``analysis/data/``, quality
exclusions, all ten norms, five subgroup variables) and prints the time of each stage:

``read``       reading the Parquet file,
``analysis``   everything :func:`analysis.report.findings.build_findings` does (quality flags,
               designs and raking per wave, norm scores, design effects, the compare call, the
               linear trends, subgroup domain means and Rao–Scott tests), with its sub-stages,
``render zh``  charts + HTML + WeasyPrint layout + PDF for the Chinese report,
``render en``  the same for the English report,
``total zh``   read + analysis + render zh: what one `survey-analysis report` run costs.

It also prints the CPU seconds used (all threads: the analysis runs the linear trends and the
subgroup tests in worker threads beside the per-wave work) and the load average before and after,
because on a shared machine wall time depends on what else runs.

Target: ``total zh`` under 60 s at 200,000 rows per wave on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", nargs="?", type=int, default=200_000, help="responses per wave")
    parser.add_argument("--waves", default="2024,2025,2026")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", metavar="DIR", help="keep data and reports in DIR")
    parser.add_argument("--subgroup-tests", choices=("score", "none"), default="score",
                        help="the plan's subgroup_tests (default score, as the example plan)")
    args = parser.parse_args(argv)

    from analysis.io import read_responses
    from analysis.report.findings import build_findings
    from analysis.report.fonts import find_cjk_font
    from analysis.report.plan import load_plan
    from analysis.report.render import write_report
    from analysis.synthetic import make_responses

    waves = [int(w) for w in args.waves.split(",")]
    out_dir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="report-bench-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    data_path = out_dir / "responses.parquet"
    t = time.perf_counter()
    make_responses(args.rows, waves=waves, seed=args.seed).to_parquet(data_path, index=False)
    print(f"synthetic data: {len(waves)} waves x {args.rows:,} rows -> {data_path.name} "
          f"({time.perf_counter() - t:.1f} s, not timed below)")
    margins = ROOT / "analysis" / "data" / "census2020_adult_margins.csv"
    plan_path = out_dir / "plan.yaml"
    plan_path.write_text(
        f"waves: [{', '.join(map(str, waves))}]\nmargins: {margins}\n"
        "design: {weight: base_weight, strata: stratum, psu: psu}\n"
        f"subgroup_tests: {args.subgroup_tests}\n", encoding="utf-8")
    plan = load_plan(plan_path)
    font = find_cjk_font()

    timings: dict[str, float] = {}
    marks: list[tuple[str, float]] = []
    load_before = os.getloadavg()[0]
    cpu0 = time.process_time()

    t0 = time.perf_counter()
    data = read_responses(data_path)
    timings["read"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    findings = build_findings(data, plan, data_source=data_path.name,
                              progress=lambda step: marks.append((step, time.perf_counter())))
    timings["analysis"] = time.perf_counter() - t1
    sub, last = [], t1
    for step, at in marks:
        sub.append((step, at - last))
        last = at

    for lang in ("zh", "en"):
        t2 = time.perf_counter()
        rendered = write_report(findings, out_dir / f"report-{lang}.pdf", lang=lang)
        timings[f"render {lang}"] = time.perf_counter() - t2
        timings[f"pages {lang}"] = rendered.pages
    timings["total zh"] = timings["read"] + timings["analysis"] + timings["render zh"]
    cpu = time.process_time() - cpu0
    load_after = os.getloadavg()[0]

    print(f"CJK font: {font.describe()}")
    print(f"{'stage':<22}{'seconds':>9}")
    print(f"{'read':<22}{timings['read']:>9.2f}")
    print(f"{'analysis':<22}{timings['analysis']:>9.2f}")
    for step, secs in sub:
        print(f"{'  ' + step:<22}{secs:>9.2f}")
    for lang in ("zh", "en"):
        print(f"{'render ' + lang:<22}{timings['render ' + lang]:>9.2f}   "
              f"({timings['pages ' + lang]} pages)")
    print(f"{'total zh':<22}{timings['total zh']:>9.2f}   target < 60 s: "
          f"{'met' if timings['total zh'] < 60 else 'NOT met'}")
    print(f"CPU seconds of this process (all threads, read to render en): {cpu:.1f}; "
          f"1-min load average {load_before:.1f} before, {load_after:.1f} after "
          f"({os.cpu_count()} cores; a load above the core count means other work shared them)")
    print(f"reports in {out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
