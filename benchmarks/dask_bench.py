#!/usr/bin/env python
"""Benchmark of the Dask engine: raked means of 30 items, overall and by region, on partitioned
Parquet data, with the memory of every worker process.

Usage::

    python benchmarks/dask_bench.py ROWS [--rows-per-file 1000000] [--workers 2]
                                         [--memory-limit 2GB] [--data DIR] [--keep]
                                         [--check]

1. Writes ROWS synthetic responses of one wave (30 core items, 8 strata, PSUs of about 20
   rows, unequal base weights) as Parquet files of ``--rows-per-file`` rows
   (:func:`analysis.synthetic.write_partitioned`, one chunk in memory at a time) in a temporary
   folder, or uses ``--data DIR`` written before (``python -m analysis.synthetic --waves 2026
   --rows-per-wave ROWS --rows-per-file N --items core --out DIR``).
2. Starts a ``LocalCluster`` of ``--workers`` processes of one thread, each limited to
   ``--memory-limit``, and runs :func:`analysis.dask_engine.estimate_partitioned`: raking to 5
   margins (sex, age_group, region, urban_rural, education; the margins of
   ``benchmarks/analysis_bench.py``), means of the 30 items with calibration-aware SEs overall,
   then overall and by region.
3. Prints the seconds of each stage and the peak resident memory of each worker process, of
   this (driver) process and their sum. ``--check`` also runs the in-memory engine on the
   same rows (only for sizes that fit in memory) and prints the largest relative difference.

The issue's target is 100,000,000 rows (``--rows-per-file 1000000``: 100 files) within 2 GB
per worker process and 6 GB in total on the 2-core development machine.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

WAVE = 2026


def peak_rss_mb() -> float:
    """Peak resident memory of the calling process in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", type=int, nargs="?", default=2_000_000)
    parser.add_argument("--rows-per-file", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--memory-limit", default="2GB")
    parser.add_argument("--data", type=Path, help="a folder written before (see the docstring)")
    parser.add_argument("--keep", action="store_true", help="keep the generated folder")
    parser.add_argument("--check", action="store_true",
                        help="compare with the in-memory engine (small sizes only)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    from analysis_bench import load_margin_shares, write_margins
    from dask.distributed import Client, LocalCluster

    from analysis import read_margins
    from analysis.dask_engine import estimate_partitioned, parquet_files
    from analysis.synthetic import ITEM_COLUMNS, write_partitioned

    work = Path(tempfile.mkdtemp(prefix="dask-bench-"))
    timings = {}
    if args.data is None:
        t = time.perf_counter()
        write_partitioned(work / "data", args.rows, waves=[WAVE], seed=args.seed,
                          rows_per_file=args.rows_per_file, items="core")
        timings["generate (not part of the estimate)"] = time.perf_counter() - t
        data = work / "data"
    else:
        data = args.data
    files = parquet_files(data)
    shares, origin = load_margin_shares()
    margins = read_margins(write_margins(shares, work))
    items = list(ITEM_COLUMNS)
    design = {"weights": "base_weight", "strata": "stratum", "psu": "psu", "margins": margins}

    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      memory_limit=args.memory_limit, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        t = time.perf_counter()
        overall = estimate_partitioned(files, items, "mean", **design)
        timings["rake + 30 means, overall"] = time.perf_counter() - t
        t = time.perf_counter()
        by_region = estimate_partitioned(files, items, "mean", by="region", **design)
        timings["rake + 30 means, overall and by region"] = time.perf_counter() - t
        workers = client.run(peak_rss_mb)
    driver = peak_rss_mb()

    print(f"Dask engine: {args.rows:,} rows in {len(files)} Parquet files "
          f"({sum(f.stat().st_size for f in files) / 1e6:.0f} MB), {args.workers} worker "
          f"processes x 1 thread, limit {args.memory_limit} each; margins: {origin}")
    print(f"raking: {overall.weighting}")
    for stage, seconds in timings.items():
        print(f"  {stage:<42} {seconds:8.2f} s")
    for i, mb in enumerate(sorted(workers.values())):
        print(f"  peak memory, worker {i + 1:<27} {mb:8.0f} MB")
    print(f"  peak memory, driver (this process)         {driver:8.0f} MB")
    print(f"  peak memory, total                         {driver + sum(workers.values()):8.0f} MB")
    print(by_region.estimate.table.head(6).to_string(index=False))

    if args.check:
        import numpy as np
        import pandas as pd

        from analysis import SurveyDesign
        from analysis.io import read_responses

        started = time.perf_counter()
        whole = pd.concat([read_responses(f, columns=[*items, "region", "sex", "age_group",
                                                      "urban_rural", "education", "stratum",
                                                      "psu", "base_weight"])
                           for f in files], ignore_index=True)
        ref = SurveyDesign(whole, weights="base_weight", strata="stratum", psu="psu").rake(
            margins).mean(items, by="region").table
        in_memory = time.perf_counter() - started
        dask_seconds = timings["rake + 30 means, overall and by region"]
        print(f"  in-memory engine, read + rake + 30 means overall and by region "
              f"{in_memory:8.2f} s; the Dask engine's overhead: {dask_seconds / in_memory:.1f}x")
        got = by_region.estimate.table
        cols = ["estimate", "se", "deff"]
        rel = np.abs(ref[cols].to_numpy() - got[cols].to_numpy()) / np.abs(ref[cols].to_numpy())
        print(f"largest relative difference from the in-memory engine: {np.nanmax(rel):.2e}")
    if args.data is None and not args.keep:
        import shutil

        shutil.rmtree(work)
    elif args.data is None:
        print(f"data kept in {work / 'data'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
