#!/usr/bin/env python
"""Benchmark of the analysis core against svy (Python, Rust-backed) and R's survey package.

Usage::

    python benchmarks/analysis_bench.py ROWS [--repeat 5] [--svy-repeat N] [--r-rows 100000]
                                            [--check-rows 20000] [--no-check] [--no-svy] [--no-r]
                                            [--json OUT.json] [--seed 1]

What it does (the analysis targets):

1. Makes ROWS synthetic Ten Norms responses of one wave with
   :func:`analysis.synthetic.make_responses`
   (30 items, 8 strata, ~5% of rows as PSUs, unequal base weights) and writes them to Parquet in a
   temporary directory (and to CSV for R, which has no Arrow reader installed here).
2. Runs the same work in one fresh subprocess per library, so each has its own peak memory
   (``ru_maxrss`` of that process, read with ``os.wait4``):

   ``read``      read the file back (ours: ``read_responses``; svy: ``svy.read_parquet``;
                 R: ``data.table::fread`` of the CSV),
   ``design``    the design object (weights ``base_weight``, strata ``stratum``, PSUs ``psu``),
   ``rake``      raking to 5 margins: sex, age_group, region, urban_rural, education,
   ``means``     means of the 30 items with calibration-aware SEs (items missing as a domain),
   ``by_region`` the same by region (domains on the full design).

   ``design-to-domain-means`` is design + rake + means + by_region of the same repetition.
   Each library repeats the whole sequence (``--repeat``; svy defaults to 3 repetitions up to
   200,000 rows and 1 above, R to 1) and the table shows per-stage medians and ours/svy ratios.
3. Unless ``--no-check``: an agreement check at ``--check-rows`` (default 20,000) rows comparing
   estimates, SEs and design effects of ours, svy and R (both R calibration variances: ``rake()``
   and ``calibrate(calfun="raking")``), raked and unraked, as maximum relative differences. A
   benchmark that compares different numbers would be meaningless.

Margins: the project's margins file in ``analysis/data/`` when there is one covering the five
variables, otherwise the census 2020 figures hard-coded below. Either way every variable is turned
into shares of one total, the adult population (census bases differ between variables), so that
the three libraries rake to identical, consistent totals. Design effects are R's ``deff=TRUE``
(SRS without replacement; svy ``deff="wor"``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STAGES = ("read", "design", "rake", "means", "by_region")
TOTAL = "design-to-domain-means"
TIMED_TOTAL_STAGES = ("design", "rake", "means", "by_region")
WEIGHTING_VARIABLES = ("sex", "age_group", "region", "urban_rural", "education")
WAVE = 2026
# Persons aged 15+ at the 2020 census: the total every margin is scaled to.
ADULT_POPULATION = 1_156_394_786
# Raking stops when every margin is met within this relative error (all three libraries).
DEFAULT_TOLERANCE = 1e-8
MAX_ITERATIONS = 1000

# Census 2020 (7th national census) margins, used when analysis/data/ has no margins file.
# Sources: /work/shared/reference/china-census-2020-margins*.csv (copied here; the benchmark never
# reads ../shared). sex, age and region are persons aged 15+ (yearbook table 1-5); urban_rural
# and education are all ages (communiques No. 7 and No. 6): rough targets for adults, good enough
# for a benchmark. There is no published 18-19 split, so 18-24 = 2/5 of the 15-19 band + 20-24.
# below_primary is the derived all-ages residual (it includes children: see the reference notes).
CENSUS_2020_COUNTS: dict[str, dict[str, float]] = {
    "sex": {"male": 586_822_815, "female": 569_571_971},
    "age_group": {
        "18-24": 72_684_140 * 2 / 5 + 74_941_675,
        "25-34": 215_992_522,
        "35-44": 191_968_262,
        "45-54": 235_389_183,
        "55-64": 174_783_724,
        "65+": 190_635_280,
    },
    "region": {"east": 467_307_093, "central": 291_940_468, "west": 309_475_405,
               "northeast": 87_671_820},
    "urban_rural": {"urban": 901_991_162, "rural": 509_787_562},
    "education": {
        "below_primary": 143_590_382,
        "primary": 349_658_828,
        "junior_secondary": 487_163_489,
        "senior_secondary": 213_005_258,
        "university": 218_360_767,
    },
}


# ---------------------------------------------------------------------------------------------
# margins
# ---------------------------------------------------------------------------------------------

def load_margin_shares() -> tuple[dict[str, dict[str, float]], str]:
    """Shares per weighting variable and where they came from."""
    data_dir = ROOT / "analysis" / "data"
    for path in sorted(data_dir.glob("*.csv")) if data_dir.is_dir() else []:
        try:
            counts = _read_margin_counts(path)
        except (OSError, ValueError, KeyError):
            continue
        if all(v in counts for v in WEIGHTING_VARIABLES) and all(
            set(counts[v]) == set(CENSUS_2020_COUNTS[v]) for v in WEIGHTING_VARIABLES
        ):
            return _to_shares(counts), str(path.relative_to(ROOT))
    return _to_shares(CENSUS_2020_COUNTS), "census 2020 figures hard-coded in the benchmark"


def _read_margin_counts(path: Path) -> dict[str, dict[str, float]]:
    counts: dict[str, dict[str, float]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if row.get("wave") not in (None, "", str(WAVE)):
                continue
            counts.setdefault(row["variable"], {})[row["category"]] = float(row["target"])
    return counts


def _to_shares(counts: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    out = {}
    for var in WEIGHTING_VARIABLES:
        total = sum(counts[var].values())
        out[var] = {cat: value / total for cat, value in counts[var].items()}
    return out


def write_margins(shares: dict[str, dict[str, float]], directory: Path) -> Path:
    """The margins file all three libraries rake to: share x the adult population, so every
    variable has the same total and the weights stay population counts (a design effect
    against SRS without replacement, R's ``deff=TRUE``, needs sum(weights) = N; with targets
    as shares the weights would sum to the sample size and 1 - n/N would be 0)."""
    path = directory / "margins.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["variable", "category", "target"])
        for var in WEIGHTING_VARIABLES:
            for cat, share in shares[var].items():
                w.writerow([var, cat, repr(share * ADULT_POPULATION)])
    return path


# ---------------------------------------------------------------------------------------------
# workers: each runs in its own process
# ---------------------------------------------------------------------------------------------

def _items() -> list[str]:
    from analysis.synthetic import ITEM_COLUMNS
    return list(ITEM_COLUMNS)


def worker_ours(args) -> dict:
    import gc
    import inspect

    import pandas as pd

    from analysis import SurveyDesign, read_margins, read_responses

    items = _items()
    margins = read_margins(args.margins)
    times = {s: [] for s in STAGES}
    estimates = None
    notes = []
    for rep in range(args.repeat):
        t0 = time.perf_counter()
        data = read_responses(args.data)
        t1 = time.perf_counter()
        design = SurveyDesign(data, weights="base_weight", strata="stratum", psu="psu", fpc=None)
        t2 = time.perf_counter()
        if hasattr(design, "rake"):
            raked = design.rake(margins, **_our_rake_options(design, args.tolerance))
        else:  # raking not there yet: time the rest on the unraked design, say so
            raked = design
            if rep == 0:
                notes.append("ours: no SurveyDesign.rake yet; means on the unraked design")
        t3 = time.perf_counter()
        overall = raked.mean(items).table
        t4 = time.perf_counter()
        by_region = raked.mean(items, by="region").table
        t5 = time.perf_counter()
        for stage, (a, b) in zip(STAGES, ((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5)),
                                 strict=True):
            times[stage].append(b - a)
        if rep == 0 and args.estimates:
            by_rows = by_region[by_region["by"].astype(str) == "region"]
            estimates = {"raked": _our_rows(overall) + _our_rows(by_rows)}
            if args.unraked and raked is not design:
                plain = pd.concat([design.mean(items).table,
                                   design.mean(items, by="region").table])
                plain = plain[plain["by"].fillna("").astype(str).isin(["", "region"])]
                estimates["unraked"] = _our_rows(plain.drop_duplicates(
                    subset=["item", "by", "group"]))
            if raked is not design and "variance" in inspect.signature(design.rake).parameters:
                # the other calibration variance we offer: that of R's rake() design
                alt = design.rake(margins, variance="rake",
                                  **_our_rake_options(design, args.tolerance))
                alt_rows = pd.concat([alt.mean(items).table, alt.mean(items, by="region").table])
                alt_rows = alt_rows[alt_rows["by"].fillna("").astype(str).isin(["", "region"])]
                estimates["raked_rake_variance"] = _our_rows(alt_rows.drop_duplicates(
                    subset=["item", "by", "group"]))
                del alt
            report = getattr(raked, "weighting", None)
            if report is not None:
                notes.append(f"ours rake: {report}".replace("\n", "; "))
        del data, design, raked, overall, by_region
        gc.collect()
    return {"times": times, "estimates": estimates, "notes": notes}


def _our_rake_options(design, tolerance: float) -> dict:
    """Pass the shared convergence tolerance if our rake() takes one (its name may vary)."""
    import inspect

    params = inspect.signature(design.rake).parameters
    options = {}
    for name in ("tolerance", "tol", "epsilon"):
        if name in params:
            options[name] = tolerance
            break
    for name in ("max_iterations", "max_iter", "maxit"):
        if name in params:
            options[name] = MAX_ITERATIONS
            break
    return options


def _our_rows(table) -> list[dict]:
    rows = []
    for rec in table.to_dict("records"):
        group = rec.get("group")
        group = "" if group is None or (isinstance(group, float) and group != group) else group
        rows.append({"item": rec["item"], "group": str(group), "estimate": rec["estimate"],
                     "se": rec["se"], "deff": rec.get("deff"), "n": rec.get("n")})
    return rows


def worker_svy(args) -> dict:
    import gc

    import polars as pl
    import svy

    items = _items()
    controls = _read_totals(args.margins)
    times = {s: [] for s in STAGES}
    estimates = None
    for rep in range(args.repeat):
        t0 = time.perf_counter()
        data = svy.read_parquet(args.data)
        t1 = time.perf_counter()
        sample = svy.Sample(data, svy.Design(stratum="stratum", psu="psu", wgt="base_weight"))
        t2 = time.perf_counter()
        raked = sample.weighting.rake(controls=controls, wgt_name="rk_wgt",
                                      tol=args.tolerance, max_iter=MAX_ITERATIONS)
        t3 = time.perf_counter()
        overall = raked.estimation.mean(items, drop_nulls=True, deff="wor")
        overall_rows = [e.to_polars() for e in overall]
        t4 = time.perf_counter()
        by_region = raked.estimation.mean(items, by="region", drop_nulls=True, deff="wor")
        by_rows = [e.to_polars() for e in by_region]
        t5 = time.perf_counter()
        for stage, (a, b) in zip(STAGES, ((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5)),
                                 strict=True):
            times[stage].append(b - a)
        if rep == 0 and args.estimates:
            estimates = {"raked": _svy_rows(items, overall_rows, by_rows, pl)}
            if args.unraked:
                plain = sample.estimation.mean(items, drop_nulls=True, deff="wor")
                plain_by = sample.estimation.mean(items, by="region", drop_nulls=True, deff="wor")
                estimates["unraked"] = _svy_rows(
                    items, [e.to_polars() for e in plain], [e.to_polars() for e in plain_by], pl)
        del data, sample, raked, overall, by_region, overall_rows, by_rows
        gc.collect()
    return {"times": times, "estimates": estimates, "notes": []}


def _svy_rows(items, overall_rows, by_rows, pl) -> list[dict]:
    rows = []
    for item, frame in zip(items, overall_rows, strict=True):
        rec = frame.row(0, named=True)
        rows.append({"item": item, "group": "", "estimate": rec["est"], "se": rec["se"],
                     "deff": rec.get("deff"), "n": rec["n"]})
    for item, frame in zip(items, by_rows, strict=True):
        for rec in frame.iter_rows(named=True):
            rows.append({"item": item, "group": str(rec["region"]), "estimate": rec["est"],
                         "se": rec["se"], "deff": rec.get("deff"), "n": rec["n"]})
    return rows


def _read_totals(path) -> dict[str, dict[str, float]]:
    totals: dict[str, dict[str, float]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            totals.setdefault(row["variable"], {})[row["category"]] = float(row["target"])
    return totals


R_SCRIPT = r"""
# Equivalent of the benchmark in R's survey package (R 4.2.2, survey 4.1-1 on this machine).
# Rscript bench.R DATA.csv TOTALS.csv OUT.json REPEAT TOLERANCE MAXIT ESTIMATES(0/1) VARIANTS(0/1)
suppressPackageStartupMessages({library(survey); library(data.table)})
a <- commandArgs(trailingOnly = TRUE)
data_path <- a[1]; totals_path <- a[2]; out_path <- a[3]
reps <- as.integer(a[4]); tol <- as.numeric(a[5]); maxit <- as.integer(a[6])
want_est <- a[7] == "1"; variants <- a[8] == "1"
options(survey.lonely.psu = "fail")
items <- sprintf("N%02d_%s", rep(1:10, each = 3), c("A1", "P1", "P2"))
vars <- c("sex", "age_group", "region", "urban_rural", "education")
m <- read.csv(totals_path, colClasses = c("character", "character", "numeric"))
pop_margins <- lapply(vars, function(v) {
  x <- m[m$variable == v, ]
  df <- data.frame(x$category, Freq = x$target, stringsAsFactors = FALSE)
  names(df)[1] <- v
  df
})
sample_margins <- lapply(vars, function(v) as.formula(paste0("~", v)))
n_rows <- NA
# rake() stops when no cell of the crossed weighted table changes by more than epsilon between
# sweeps; an epsilon below 1 is taken as a fraction of the sum of the *base* weights, so pass
# tol * (target total) / (sum of base weights) to get tol relative to the raked total.
stage_times <- list(read = c(), design = c(), rake = c(), means = c(), by_region = c())
now <- function() proc.time()[["elapsed"]]
one_mean <- function(it, des) {
  r <- svymean(as.formula(paste0("~", it)), des, na.rm = TRUE, deff = TRUE)
  c(coef(r), SE(r), deff(r))
}
one_by <- function(it, des) {
  svyby(as.formula(paste0("~", it)), ~region, des, svymean, na.rm = TRUE, deff = TRUE)
}
tidy <- function(overall, byreg, d) {
  rows <- list()
  for (k in seq_along(items)) {
    it <- items[k]; r <- overall[[k]]; b <- byreg[[k]]
    rows[[length(rows) + 1]] <- data.frame(item = it, group = "", estimate = r[1], se = r[2],
                                           deff = r[3], n = sum(!is.na(d[[it]])))
    nn <- tapply(!is.na(d[[it]]), d$region, sum)
    rows[[length(rows) + 1]] <- data.frame(item = it, group = as.character(b$region),
      estimate = b[[it]], se = b[["se"]], deff = b[[paste0("DEff.", it)]],
      n = as.numeric(nn[as.character(b$region)]))
  }
  out <- do.call(rbind, rows); rownames(out) <- NULL; out
}
estimate_all <- function(des, d) {
  tidy(lapply(items, one_mean, des = des), lapply(items, one_by, des = des), d)
}
est <- list()
for (r in seq_len(reps)) {
  t0 <- now()
  d <- as.data.frame(fread(data_path, colClasses = list(character = c("province", "stratum"))))
  t1 <- now()
  des <- svydesign(ids = ~psu, strata = ~stratum, weights = ~base_weight, data = d, nest = TRUE)
  t2 <- now()
  raked <- rake(des, sample_margins, pop_margins,
                control = list(maxit = maxit, epsilon = tol * sum(m$target) / length(vars) /
                                 sum(d$base_weight), verbose = FALSE))
  t3 <- now()
  overall <- lapply(items, one_mean, des = raked)
  t4 <- now()
  byreg <- lapply(items, one_by, des = raked)
  t5 <- now()
  stage_times$read <- c(stage_times$read, t1 - t0)
  stage_times$design <- c(stage_times$design, t2 - t1)
  stage_times$rake <- c(stage_times$rake, t3 - t2)
  stage_times$means <- c(stage_times$means, t4 - t3)
  stage_times$by_region <- c(stage_times$by_region, t5 - t4)
  if (r == 1 && want_est) {
    est$raked <- tidy(overall, byreg, d)
    if (variants) {
      est$unraked <- estimate_all(des, d)
      # the other calibration variance R offers for raking: calibrate(calfun = "raking")
      pop <- c(`(Intercept)` = sum(m$target) / length(vars))
      for (v in vars) {
        x <- m[m$variable == v, ]
        lev <- sort(unique(as.character(d[[v]])))
        for (l in lev[-1]) pop[paste0(v, l)] <- x$target[x$category == l]
      }
      f <- as.formula(paste("~", paste(vars, collapse = " + ")))
      d2 <- d
      for (v in vars) d2[[v]] <- factor(d2[[v]], levels = sort(unique(as.character(d[[v]]))))
      des2 <- svydesign(ids = ~psu, strata = ~stratum, weights = ~base_weight, data = d2,
                        nest = TRUE)
      cal <- calibrate(des2, f, population = pop[colnames(model.matrix(f, d2))],
                       calfun = "raking", epsilon = 1e-10, maxit = maxit)
      est$calibrate <- estimate_all(cal, d2)
      est$max_weight_diff_rake_vs_calibrate <- max(abs(weights(cal) / weights(raked) - 1))
    }
  }
}
peak_kb <- as.numeric(gsub("[^0-9]", "", grep("^VmHWM", readLines("/proc/self/status"),
                                                value = TRUE)))
writeLines(jsonlite_free <- paste0("{\"times\":{",
  paste(sprintf("\"%s\":[%s]", names(stage_times),
                sapply(stage_times, function(x) paste(sprintf("%.6f", x), collapse = ","))),
        collapse = ","), "},\"peak_kb\":", peak_kb, "}"), out_path)
if (want_est) {
  for (k in c("raked", "unraked", "calibrate")) {
    if (!is.null(est[[k]])) write.csv(est[[k]], paste0(out_path, ".", k, ".csv"),
                                      row.names = FALSE)
  }
  if (!is.null(est$max_weight_diff_rake_vs_calibrate))
    writeLines(format(est$max_weight_diff_rake_vs_calibrate, digits = 17),
               paste0(out_path, ".weightdiff"))
}
"""


# ---------------------------------------------------------------------------------------------
# running the workers
# ---------------------------------------------------------------------------------------------

def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:  # R's NA
        return None


def run_child(cmd: list[str], timeout: float | None = None) -> tuple[int, float, str, str]:
    """Run ``cmd``; return (exit status, peak RSS in MB of that process, stdout, stderr)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT)
        start = time.monotonic()
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if timeout is not None and time.monotonic() - start > timeout:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return proc.returncode, usage.ru_maxrss / 1024.0, out.read(), err.read()


def run_python_worker(library: str, data: Path, margins: Path, repeat: int, tolerance: float,
                      estimates: bool, unraked: bool, workdir: Path) -> dict:
    result_path = workdir / f"{library}-{data.stem}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", library,
           "--data", str(data), "--margins", str(margins), "--repeat", str(repeat),
           "--tolerance", repr(tolerance), "--result", str(result_path)]
    if estimates:
        cmd.append("--estimates")
    if unraked:
        cmd.append("--unraked")
    code, peak_mb, _, err = run_child(cmd)
    if code != 0 or not result_path.exists():
        last = err.strip().splitlines()[-1] if err.strip() else f"exit status {code}"
        return {"error": last, "stderr": err[-4000:]}
    result = json.loads(result_path.read_text())
    result["peak_rss_mb"] = peak_mb
    return result


def run_r(data_csv: Path, totals: Path, repeat: int, tolerance: float, estimates: bool,
          variants: bool, workdir: Path) -> dict:
    script = workdir / "bench.R"
    script.write_text(R_SCRIPT)
    out = workdir / f"r-{data_csv.stem}.json"
    cmd = ["Rscript", str(script), str(data_csv), str(totals), str(out), str(repeat),
           repr(tolerance), str(MAX_ITERATIONS), "1" if estimates else "0",
           "1" if variants else "0"]
    code, peak_mb, _, err = run_child(cmd)
    if code != 0 or not out.exists():
        last = err.strip().splitlines()[-1] if err.strip() else f"exit status {code}"
        return {"error": last, "stderr": err[-4000:]}
    raw = json.loads(out.read_text())
    result = {"times": {k: (v if isinstance(v, list) else [v]) for k, v in raw["times"].items()},
              "peak_rss_mb": max(peak_mb, raw["peak_kb"] / 1024.0), "notes": []}
    if estimates:
        result["estimates"] = {}
        for kind in ("raked", "unraked", "calibrate"):
            path = Path(f"{out}.{kind}.csv")
            if path.exists():
                with open(path, newline="", encoding="utf-8") as f:
                    result["estimates"][kind] = [
                        {"item": r["item"], "group": "" if r["group"] == "NA" else r["group"],
                         **{k: _number(r[k]) for k in ("estimate", "se", "deff", "n")}}
                        for r in csv.DictReader(f)]
        diff = Path(f"{out}.weightdiff")
        if diff.exists():
            result["notes"].append(
                "R: max |w_calibrate/w_rake - 1| = " + diff.read_text().strip())
    return result


# ---------------------------------------------------------------------------------------------
# summaries
# ---------------------------------------------------------------------------------------------

def summarise(result: dict) -> dict:
    """Per-stage medians (and the design-to-domain-means total per repetition)."""
    if "times" not in result:
        return {}
    times = result["times"]
    reps = min(len(v) for v in times.values())
    totals = [sum(times[s][i] for s in TIMED_TOTAL_STAGES) for i in range(reps)]
    out = {s: statistics.median(times[s]) for s in STAGES if times.get(s)}
    out[TOTAL] = statistics.median(totals)
    out["repetitions"] = reps
    return out


def format_table(rows: int, results: dict[str, dict]) -> str:
    names = [n for n in ("ours", "svy", "R") if n in results]
    med = {n: summarise(results[n]) for n in names}
    head = f"{'stage':<24}" + "".join(f"{n + ' (s)':>12}" for n in names)
    if "ours" in names and "svy" in names:
        head += f"{'ours/svy':>10}{'svy/ours':>10}"
    if "ours" in names and "R" in names:
        head += f"{'R/ours':>10}"
    lines = [f"rows: {rows:,}", head, "-" * len(head)]
    for stage in (*STAGES, TOTAL):
        line = f"{stage:<24}"
        for n in names:
            v = med[n].get(stage)
            line += f"{v:>12.3f}" if v is not None else f"{'n/a':>12}"
        o = med.get("ours", {}).get(stage)
        if "ours" in names and "svy" in names:
            s = med["svy"].get(stage)
            if o and s:
                line += f"{o / s:>10.3f}{s / o:>9.1f}x"
            else:
                line += f"{'n/a':>10}{'n/a':>10}"
        if "ours" in names and "R" in names:
            r = med["R"].get(stage)
            line += f"{r / o:>9.1f}x" if o and r else f"{'n/a':>10}"
        lines.append(line)
    mem = f"{'peak memory (MB)':<24}"
    for n in names:
        v = results[n].get("peak_rss_mb")
        mem += f"{v:>12.0f}" if v is not None else f"{'n/a':>12}"
    lines.append(mem)
    reps = f"{'repetitions':<24}"
    for n in names:
        reps += f"{med[n].get('repetitions', 0):>12}"
    lines.append(reps)
    for n in names:
        if "error" in results[n]:
            lines.append(f"{n}: FAILED: {results[n]['error']}")
        for note in results[n].get("notes", []):
            lines.append(f"note: {note}")
    return "\n".join(lines)


def ratio_table(results: dict[str, dict]) -> dict[str, float]:
    """ours/svy per stage (below 1: ours is faster)."""
    if "ours" not in results or "svy" not in results:
        return {}
    o, s = summarise(results["ours"]), summarise(results["svy"])
    return {k: o[k] / s[k] for k in (*STAGES, TOTAL) if o.get(k) and s.get(k)}


def targets_verdict(rows: int, results: dict[str, dict], ratios: dict[str, float]) -> list[str]:
    """The analysis targets, checked when the run is at 1,000,000 rows or more."""
    if rows < 1_000_000 or "ours" not in results or "times" not in results["ours"]:
        return []
    o = summarise(results["ours"])
    lines = ["targets (at 1,000,000 rows):"]

    def line(ok: bool, text: str) -> None:
        lines.append(f"  [{'met' if ok else 'MISSED'}] {text}")

    line(o[TOTAL] < 2.0, f"design-to-domain-means under 2 s: {o[TOTAL]:.2f} s")
    if ratios:
        line(ratios[TOTAL] <= 1 / 20, f"at least 20x faster than svy: {1 / ratios[TOTAL]:.1f}x")
        slower = [f"{k} ({1 / v:.2f}x)" for k, v in ratios.items() if k != TOTAL and v >= 1]
        line(not slower, "every stage faster than svy"
             + (f"; slower: {', '.join(slower)}" if slower else ""))
    mem = results["ours"].get("peak_rss_mb")
    if mem is not None:
        line(mem < 3072, f"peak memory under 3 GB: {mem:,.0f} MB")
    return lines


def compare(a: list[dict], b: list[dict]) -> dict:
    """Max relative differences of estimate, se and deff between two estimate lists."""
    index = {(r["item"], r["group"]): r for r in b}
    worst = {"estimate": 0.0, "se": 0.0, "deff": 0.0, "n_mismatch": 0, "matched": 0}
    where = {}
    for r in a:
        other = index.get((r["item"], r["group"]))
        if other is None:
            continue
        worst["matched"] += 1
        for key in ("estimate", "se", "deff"):
            x, y = r.get(key), other.get(key)
            if x is None or y is None or x != x or y != y:
                continue
            rel = abs(x - y) / max(abs(y), 1e-300)
            if rel > worst[key]:
                worst[key] = rel
                where[key] = f"{r['item']}/{r['group'] or 'overall'}: {x:.10g} vs {y:.10g}"
        if r.get("n") is not None and other.get("n") is not None and r["n"] != other["n"]:
            worst["n_mismatch"] += 1
    worst["where"] = where
    return worst


def agreement_report(results: dict[str, dict]) -> tuple[str, dict]:
    est = {n: r.get("estimates") or {} for n, r in results.items()}
    pairs = []
    for kind in ("raked", "unraked"):
        pairs += [(f"ours vs R rake() [{kind}]", est.get("ours", {}).get(kind),
                   est.get("R", {}).get(kind)),
                  (f"svy vs R rake() [{kind}]", est.get("svy", {}).get(kind),
                   est.get("R", {}).get(kind)),
                  (f"ours vs svy [{kind}]", est.get("ours", {}).get(kind),
                   est.get("svy", {}).get(kind))]
    pairs += [("ours(variance=rake) vs R rake() [raked]",
               est.get("ours", {}).get("raked_rake_variance"), est.get("R", {}).get("raked")),
              ("ours(variance=rake) vs svy [raked]",
               est.get("ours", {}).get("raked_rake_variance"), est.get("svy", {}).get("raked")),
              ("ours vs R calibrate(raking) [raked]", est.get("ours", {}).get("raked"),
               est.get("R", {}).get("calibrate")),
              ("svy vs R calibrate(raking) [raked]", est.get("svy", {}).get("raked"),
               est.get("R", {}).get("calibrate")),
              ("R rake() vs R calibrate(raking)", est.get("R", {}).get("raked"),
               est.get("R", {}).get("calibrate"))]
    lines = [f"{'comparison':<42}{'rows':>6}{'estimate':>11}{'se':>11}{'deff':>11}{'n diff':>8}"]
    figures = {}
    for label, a, b in pairs:
        if not a or not b:
            continue
        c = compare(a, b)
        figures[label] = c
        lines.append(f"{label:<42}{c['matched']:>6}{c['estimate']:>11.2e}{c['se']:>11.2e}"
                     f"{c['deff']:>11.2e}{c['n_mismatch']:>8}")
        for key, text in c["where"].items():
            if c[key] > 1e-6:
                lines.append(f"{'':<6}worst {key}: {text}")
    return "\n".join(lines), figures


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------

def make_data(rows: int, seed: int, directory: Path, csv_too: bool) -> tuple[Path, Path | None]:
    """Write the synthetic responses with ``python -m analysis.synthetic`` in a subprocess: this
    process stays small, so the libraries' processes (forked from it) measure their own peak
    memory, not a copy of ours."""
    paths = [directory / f"responses-{rows}.parquet"]
    if csv_too:
        paths.append(directory / f"responses-{rows}.csv")
    for path in paths:
        # the 30 core items in every wave (the waves' extra items are not benchmarked);
        # "not applicable" empty, so that svy and R, which know no code 9, see the same answers
        cmd = [sys.executable, "-m", "analysis.synthetic", "--waves", str(WAVE), "--items", "core",
               "--rows-per-wave", str(rows), "--seed", str(seed), "--not-applicable", "empty",
               "--out", str(path)]
        code, _, _, err = run_child(cmd)
        if code != 0:
            raise SystemExit(f"making the synthetic data failed: {err.strip()}")
    return paths[0], (paths[1] if csv_too else None)


def bench_size(rows: int, args, workdir: Path, shares, *, with_r: bool, estimates: bool,
               unraked: bool, svy_repeat: int, our_repeat: int, r_repeat: int) -> dict:
    sub = workdir / f"rows-{rows}"
    sub.mkdir(exist_ok=True)
    t = time.perf_counter()
    parquet, csv_path = make_data(rows, args.seed, sub, csv_too=with_r)
    made = time.perf_counter() - t
    margins_path = write_margins(shares, sub)
    results: dict[str, dict] = {}
    log(f"[{rows:,} rows] data made and written in {made:.1f} s; running ours")
    results["ours"] = run_python_worker("ours", parquet, margins_path, our_repeat, args.tolerance,
                                        estimates, unraked, sub)
    if not args.no_svy:
        log(f"[{rows:,} rows] running svy ({svy_repeat}x)")
        results["svy"] = run_python_worker("svy", parquet, margins_path, svy_repeat,
                                           args.tolerance, estimates, unraked, sub)
    if with_r:
        log(f"[{rows:,} rows] running R ({r_repeat}x)")
        results["R"] = run_r(csv_path, margins_path, r_repeat, args.tolerance, estimates,
                             unraked, sub)
    return results


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("rows", type=int, nargs="?", metavar="ROWS", help="responses (one wave)")
    p.add_argument("--repeat", type=int, default=5, help="repetitions of ours (default 5)")
    p.add_argument("--svy-repeat", type=int, default=None,
                   help="repetitions of svy (default 3 up to 200,000 rows, else 1)")
    p.add_argument("--r-repeat", type=int, default=1, help="repetitions of R (default 1)")
    p.add_argument("--r-rows", type=int, default=None,
                   help="also run ours, svy and R at this many rows (R needs ~4 min at 100,000)")
    p.add_argument("--check-rows", type=int, default=20_000,
                   help="rows of the agreement check (default 20,000)")
    p.add_argument("--no-check", action="store_true", help="skip the agreement check")
    p.add_argument("--no-svy", action="store_true", help="do not run svy")
    p.add_argument("--no-r", action="store_true", help="do not run R")
    p.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE,
                   help=f"raking convergence, relative margin error (default {DEFAULT_TOLERANCE})")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    # internal: one library's run in a subprocess
    p.add_argument("--worker", choices=("ours", "svy"), help=argparse.SUPPRESS)
    p.add_argument("--data", help=argparse.SUPPRESS)
    p.add_argument("--margins", help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    p.add_argument("--estimates", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--unraked", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        result = (worker_ours if args.worker == "ours" else worker_svy)(args)
        Path(args.result).write_text(json.dumps(result, default=float))
        return 0
    if args.rows is None or args.rows < 100:
        p.error("ROWS (at least 100) is required")

    have_r = shutil.which("Rscript") is not None and not args.no_r
    shares, margins_source = load_margin_shares()
    report: dict = {
        "rows": args.rows, "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                       "platform": platform.platform()},
        "margins": margins_source, "tolerance": args.tolerance, "runs": [],
    }
    out = [f"analysis benchmark: one wave of synthetic Ten Norms responses, 30 items, 8 strata, "
           f"~5% of rows as PSUs; raking to {', '.join(WEIGHTING_VARIABLES)} "
           f"(margins: {margins_source}; tolerance {args.tolerance:g});",
           f"{os.cpu_count()} CPUs, Python {platform.python_version()}. Times in seconds, "
           "medians over repetitions; peak memory = max RSS of each library's own process."]
    if not have_r:
        out.append("R: not run (" + ("--no-r" if args.no_r else "Rscript not found") + ")")
    with tempfile.TemporaryDirectory(prefix="analysis-bench-") as tmp:
        workdir = Path(tmp)
        if not args.no_check:
            rows = args.check_rows
            log(f"agreement check at {rows:,} rows")
            res = bench_size(rows, args, workdir, shares, with_r=have_r, estimates=True,
                             unraked=True, svy_repeat=1, our_repeat=1, r_repeat=1)
            text, figures = agreement_report(res)
            out += ["", f"== agreement at {rows:,} rows (max relative difference; "
                        "R's rake() runs to the same tolerance) ==", text]
            for n, r in res.items():
                if "error" in r:
                    out.append(f"{n}: FAILED: {r['error']}")
                for note in r.get("notes", []):
                    out.append(f"note: {note}")
            report["agreement"] = {"rows": rows, "comparisons": figures}
        svy_repeat = args.svy_repeat or (3 if args.rows <= 200_000 else 1)
        sizes = [(args.rows, have_r and args.rows <= 100_000)]
        if args.r_rows and have_r and args.r_rows != args.rows:
            sizes.append((args.r_rows, True))
        for rows, with_r in sizes:
            res = bench_size(rows, args, workdir, shares, with_r=with_r, estimates=False,
                             unraked=False,
                             svy_repeat=args.svy_repeat or (3 if rows <= 200_000 else 1),
                             our_repeat=args.repeat, r_repeat=args.r_repeat)
            out += ["", format_table(rows, res)]
            ratios = ratio_table(res)
            verdict = targets_verdict(rows, res, ratios)
            if verdict:
                out += verdict
            report["runs"].append({
                "rows": rows,
                "libraries": {n: {"medians": summarise(r), "times": r.get("times"),
                                  "peak_rss_mb": r.get("peak_rss_mb"), "error": r.get("error"),
                                  "notes": r.get("notes", [])} for n, r in res.items()},
                "ours_over_svy": ratios,
            })
        del svy_repeat
    print("\n".join(out))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
