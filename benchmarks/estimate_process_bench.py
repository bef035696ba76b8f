#!/usr/bin/env python
"""The whole ``survey-analysis estimate`` process on a CSV export against svy doing the same work.

Usage::

    python benchmarks/estimate_process_bench.py [ROWS] [--repeat 5] [--svy-repeat 1]
                                                [--data responses.csv] [--seed 1] [--json OUT]

What is timed, for each side, is one fresh process from its start to its exit (interpreter,
imports, everything), with its peak memory (``ru_maxrss`` of that process via ``os.wait4``):

ours  ``survey-analysis estimate DATA --weight base_weight --strata stratum --psu psu
      --margins M.csv --rake-variance rake --deff wor --items <30 items> --by region --out E.csv``:
      read the CSV, check the answer codes, compute the quality flags (the file carries none) and
      drop the flagged rows, turn "not applicable" (9) into missing, build the design, rake to
      five margins, estimate the 30 item means overall and by region with calibration-aware SEs
      (R's ``rake()`` variance, the one svy computes), write the CSV.
svy   a Python process (this script with ``--svy-worker``) doing the same with polars and svy
      0.35: ``polars.read_csv``; the same three quality rules in polars expressions, from the
      same wave definition (speeders against the median duration and the answered-question
      floor, straight-liners on every grid page, the attention check); "not applicable" to null;
      ``svy.Sample``, ``weighting.rake`` to the same totals and tolerance (1e-10, our default),
      ``estimation.mean`` of the 30 items overall and ``by="region"`` (``drop_nulls=True``,
      ``deff="wor"``), written to CSV with polars.

The runs alternate (ours, svy, ours, ...; ours ``--repeat`` times, svy ``--svy-repeat`` times,
since it takes about a minute at 1,000,000 rows), and the table gives medians and the ratio
svy/ours of the medians. Both outputs are then compared (estimates, SEs, design effects and
counts of all 30 x 5 rows, as the largest relative difference) and the rows each side excluded
as flagged must be the same number: a ratio of different work would mean nothing.

Also printed: the start-up of our command alone (``survey-analysis estimate --help``: the
interpreter and the imports every run pays) and the read of the CSV alone (pyarrow, which ours
uses, and polars), medians of three, so the fixed part of the process is visible.

The data: ROWS synthetic responses of one wave (``analysis.synthetic``, the 30 core items,
"not applicable" as code 9 as the export writes it, no flag columns), or ``--data`` a CSV of
that shape. Margins as in ``analysis_bench.py``: shares of the adult population.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from analysis_bench import (  # noqa: E402 - the margins are the analysis benchmark's
    WAVE,
    _read_totals,
    load_margin_shares,
    write_margins,
)

RAKE_TOLERANCE = 1e-10  # survey-analysis' default raking epsilon
MAX_ITERATIONS = 1000


def _items() -> list[str]:
    from analysis.synthetic import ITEM_COLUMNS

    return list(ITEM_COLUMNS)


# ---------------------------------------------------------------------------------------------
# svy's side, run in its own process
# ---------------------------------------------------------------------------------------------
def polars_quality_flags(df, wave, pl):
    """The three quality rules of ``analysis.quality.flag_quality`` as one polars boolean
    expression per rule, on the answers as given ("not applicable" counts as an answer for the
    speeder floor and as no answer on a grid)."""
    from analysis.quality import MIN_GRID_ANSWERS, SCALE_KINDS, SPEEDER_FRACTION

    columns = set(df.columns)
    string_columns = {c for c, t in df.schema.items() if t == pl.String}

    def filled(code):
        cell = pl.col(code).is_not_null()
        if code in string_columns:
            cell = cell & (pl.col(code).str.strip_chars() != "")
        return cell.cast(pl.Int32)

    answered = pl.sum_horizontal([filled(c) for c in wave.items if c in columns])
    duration = pl.col("duration_s").cast(pl.Float64)
    floor = wave.quality.min_seconds_per_item
    speeder = ((duration < SPEEDER_FRACTION * duration.median())
               | (duration < floor * answered)).fill_null(False)

    qualifying, uniform = pl.lit(0), pl.lit(0)
    for page in wave.pages:
        items = [i for i in page.items if i.kind in SCALE_KINDS and i.code in columns] \
            if page.grid else []
        if not items:
            continue

        def scale(item):
            value = pl.col(item.code).cast(pl.Float64)
            if item.not_applicable is not None:
                value = pl.when(value == item.not_applicable.code).then(None).otherwise(value)
            return value

        values = [scale(i) for i in items]
        enough = pl.sum_horizontal([v.is_not_null().cast(pl.Int32) for v in values]) \
            >= MIN_GRID_ANSWERS
        same = (pl.max_horizontal(values) == pl.min_horizontal(values)).fill_null(False)
        qualifying = qualifying + enough.cast(pl.Int32)
        uniform = uniform + (enough & same).cast(pl.Int32)
    straight = (qualifying > 0) & (uniform == qualifying)

    attention = pl.lit(False)
    for item in wave.items.values():
        if item.kind == "attention" and item.expected is not None and item.code in columns:
            value = pl.col(item.code)
            attention = attention | (value.is_not_null() & (value != item.expected)).fill_null(
                False)
    return speeder, straight, attention


def svy_worker(data: str, margins: str, out: str, stages_out: str) -> None:
    stamps = [("start", time.perf_counter())]
    import polars as pl
    import svy

    from questionnaires import load_wave

    stamps.append(("import", time.perf_counter()))
    items = _items()
    wave = load_wave(WAVE)
    df = pl.read_csv(data, infer_schema_length=10_000)
    stamps.append(("read", time.perf_counter()))
    speeder, straight, attention = polars_quality_flags(df, wave, pl)
    flags = df.select(speeder.alias("s"), straight.alias("l"), attention.alias("a"))
    flagged = flags["s"] | flags["l"] | flags["a"]
    df = df.filter(~flagged)
    recode = [pl.when(pl.col(c) == i.not_applicable.code).then(None).otherwise(pl.col(c)).alias(c)
              for c, i in wave.items.items() if i.not_applicable is not None and c in df.columns]
    df = df.with_columns(recode)
    stamps.append(("quality", time.perf_counter()))
    sample = svy.Sample(df, svy.Design(stratum="stratum", psu="psu", wgt="base_weight"))
    raked = sample.weighting.rake(controls=_read_totals(margins), wgt_name="rk_wgt",
                                  tol=RAKE_TOLERANCE, max_iter=MAX_ITERATIONS)
    stamps.append(("design+rake", time.perf_counter()))
    overall = [e.to_polars() for e in raked.estimation.mean(items, drop_nulls=True, deff="wor")]
    by_region = [e.to_polars() for e in raked.estimation.mean(items, by="region",
                                                              drop_nulls=True, deff="wor")]
    stamps.append(("means", time.perf_counter()))
    rows = []
    for item, frame in zip(items, overall, strict=True):
        rec = frame.row(0, named=True)
        rows.append((item, "", rec["est"], rec["se"], rec.get("deff"), rec["n"]))
    for item, frame in zip(items, by_region, strict=True):
        for rec in frame.iter_rows(named=True):
            rows.append((item, str(rec["region"]), rec["est"], rec["se"], rec.get("deff"),
                         rec["n"]))
    pl.DataFrame(rows, schema=["item", "group", "estimate", "se", "deff", "n"],
                 orient="row").write_csv(out)
    stamps.append(("write", time.perf_counter()))
    stages = {name: stamps[i][1] - stamps[i - 1][1] for i, (name, _) in enumerate(stamps) if i}
    Path(stages_out).write_text(json.dumps({"stages": stages, "flagged": int(flagged.sum())}))


# ---------------------------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------------------------
def run_timed(cmd: list[str]) -> dict:
    """Run ``cmd`` to its end: wall seconds from start to exit, peak RSS (MB), stderr."""
    with tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        err.seek(0)
        return {"code": os.waitstatus_to_exitcode(status), "seconds": wall,
                "peak_mb": usage.ru_maxrss / 1024.0, "stderr": err.read()}


def our_command(data: Path, margins: Path, out: Path) -> list[str]:
    tool = Path(sys.executable).with_name("survey-analysis")
    return [str(tool), "estimate", str(data), "--weight", "base_weight", "--strata", "stratum",
            "--psu", "psu", "--margins", str(margins), "--rake-variance", "rake",
            "--deff", "wor", "--items", ",".join(_items()), "--by", "region", "--out", str(out)]


def our_flagged(stderr: str) -> int | None:
    """The rows ours excluded, from its stderr line ``excluded N of M responses flagged ...``."""
    for line in stderr.splitlines():
        if "excluded " in line and " responses flagged" in line:
            return int(line.split("excluded ", 1)[1].split(" ", 1)[0])
    return None


def agreement(ours: Path, theirs: Path) -> dict[str, float]:
    """Largest relative difference of estimate, se, deff and n over the rows both wrote."""
    def rows(path, group_column):
        with open(path, newline="", encoding="utf-8") as f:
            return {(r["item"], r[group_column] or ""): r for r in csv.DictReader(f)}

    a, b = rows(ours, "group"), rows(theirs, "group")
    if set(a) != set(b):
        return {"rows": float("inf")}
    worst = {}
    for column in ("estimate", "se", "deff", "n"):
        worst[column] = max(abs(float(a[k][column]) - float(b[k][column]))
                            / max(abs(float(b[k][column])), 1e-300) for k in a)
    return worst


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def time_reads(data: Path) -> dict[str, float]:
    code = ("import json, sys, time, statistics\n"
            "import pyarrow.csv as pc, polars as pl\n"
            "t = {'pyarrow': [], 'polars': []}\n"
            "for _ in range(3):\n"
            "    s = time.perf_counter(); pc.read_csv(sys.argv[1]); t['pyarrow'].append("
            "time.perf_counter() - s)\n"
            "    s = time.perf_counter(); pl.read_csv(sys.argv[1], infer_schema_length=10000); "
            "t['polars'].append(time.perf_counter() - s)\n"
            "print(json.dumps({k: statistics.median(v) for k, v in t.items()}))\n")
    out = subprocess.run([sys.executable, "-c", code, str(data)], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout.strip())


def make_csv(rows: int, seed: int, directory: Path) -> Path:
    path = directory / f"responses-{rows}.csv"
    cmd = [sys.executable, "-m", "analysis.synthetic", "--waves", str(WAVE), "--items", "core",
           "--rows-per-wave", str(rows), "--seed", str(seed), "--not-applicable", "code",
           "--out", str(path)]
    subprocess.run(cmd, check=True, cwd=ROOT)
    return path


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("rows", type=int, nargs="?", default=1_000_000, metavar="ROWS")
    p.add_argument("--repeat", type=int, default=5, help="runs of ours (default 5)")
    p.add_argument("--svy-repeat", type=int, default=1, help="runs of svy (default 1)")
    p.add_argument("--data", type=Path, help="use this CSV instead of making one")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, help="also write the figures as JSON")
    p.add_argument("--svy-worker", nargs=4, metavar=("DATA", "MARGINS", "OUT", "STAGES"),
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.svy_worker:
        svy_worker(*args.svy_worker)
        return 0

    with tempfile.TemporaryDirectory(prefix="estimate-bench-") as tmp:
        work = Path(tmp)
        shares, source = load_margin_shares()
        margins = write_margins(shares, work)
        data = args.data or make_csv(args.rows, args.seed, work)
        log(f"data {data} ({data.stat().st_size / 1e6:.0f} MB), margins from {source}; "
            f"load average {os.getloadavg()[0]:.2f}")
        ours_runs, svy_runs, svy_stages = [], [], []
        # svy's runs spread evenly among ours, so a change of the machine's load hits both
        schedule = sorted([((k + 0.5) / args.repeat, "ours") for k in range(args.repeat)]
                          + [((k + 0.5) / args.svy_repeat, "svy")
                             for k in range(args.svy_repeat)])
        for _, side in schedule:
            if side == "svy":
                run = run_timed([sys.executable, str(Path(__file__).resolve()), "--svy-worker",
                                 str(data), str(margins), str(work / "svy.csv"),
                                 str(work / "svy-stages.json")])
                if run["code"] != 0:
                    raise SystemExit(f"svy failed: {run['stderr'][-2000:]}")
                svy_runs.append(run)
                svy_stages.append(json.loads((work / "svy-stages.json").read_text()))
            else:
                run = run_timed(our_command(data, margins, work / "ours.csv"))
                if run["code"] != 0:
                    raise SystemExit(f"survey-analysis failed: {run['stderr'][-2000:]}")
                ours_runs.append(run)
            log(f"{side:<4} {run['seconds']:7.2f} s  {run['peak_mb']:6.0f} MB")
        startup = [run_timed(our_command(data, margins, work / "x.csv")[:2] + ["--help"])
                   for _ in range(3)]
        reads = time_reads(data)
        agree = agreement(work / "ours.csv", work / "svy.csv")
        flagged_ours = our_flagged(ours_runs[0]["stderr"])
        flagged_svy = svy_stages[0]["flagged"]

    ours_s, svy_s = median_of(ours_runs, "seconds"), median_of(svy_runs, "seconds")
    stages = {k: statistics.median(s["stages"][k] for s in svy_stages)
              for k in svy_stages[0]["stages"]}
    print(f"whole estimate process, {args.rows if not args.data else 'given'} rows "
          f"(ours: median of {len(ours_runs)}, svy: median of {len(svy_runs)}, alternating)")
    print(f"  ours  {ours_s:8.2f} s   peak {median_of(ours_runs, 'peak_mb'):6.0f} MB   runs "
          + ", ".join(f"{r['seconds']:.2f}" for r in ours_runs))
    print(f"  svy   {svy_s:8.2f} s   peak {median_of(svy_runs, 'peak_mb'):6.0f} MB   runs "
          + ", ".join(f"{r['seconds']:.2f}" for r in svy_runs))
    print(f"  svy/ours {svy_s / ours_s:.1f}x   (target: at least 40x)")
    print("  svy's stages (s): " + ", ".join(f"{k} {v:.2f}" for k, v in stages.items()))
    print(f"  ours' start-up alone (survey-analysis estimate --help): "
          f"{median_of(startup, 'seconds'):.2f} s; the CSV read alone: pyarrow "
          f"{reads['pyarrow']:.2f} s, polars {reads['polars']:.2f} s")
    print(f"  rows excluded as flagged: ours {flagged_ours}, svy {flagged_svy}"
          f" ({'same' if flagged_ours == flagged_svy else 'DIFFERENT'})")
    print("  agreement (largest relative difference): "
          + ", ".join(f"{k} {v:.1e}" for k, v in agree.items()))
    same = flagged_ours == flagged_svy and all(v <= 1e-6 for v in agree.values())
    print("PASS: the same work" if same else "FAIL: the two did different work")
    if args.json:
        args.json.write_text(json.dumps({
            "ours_seconds": [r["seconds"] for r in ours_runs],
            "svy_seconds": [r["seconds"] for r in svy_runs],
            "ours_peak_mb": [r["peak_mb"] for r in ours_runs],
            "svy_peak_mb": [r["peak_mb"] for r in svy_runs],
            "svy_stages": stages, "startup_seconds": [r["seconds"] for r in startup],
            "reads": reads, "agreement": agree, "flagged": [flagged_ours, flagged_svy]},
            indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
