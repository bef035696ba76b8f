"""`survey-analysis trend`: linear trends over three or more waves, and per-wave series.

    survey-analysis trend DATA --items N04_P1,N04.practice,index.practice --waves 2024,2025,2026
        [--weight COL] [--strata COL] [--psu COL] [--fpc COL] [--margins M.csv [--base-weight COL]]
        [--keep-flagged] [--common-items] [--level 0.95] --out T.csv

Writes three files:

* ``T.csv``: one row per target, columns
  ``item,first_wave,last_wave,n_waves,slope,se,ci_low,ci_high,t,df,p_value,n`` (slope per year;
  design-based test of a linear trend, as R's ``svyglm`` on the pooled waves);
* ``T.series.csv``: ``item,wave,estimate,se,ci_low,ci_high,n``, each wave's estimate on its own
  design, ready for plotting;
* ``T.notes.csv``: ``kind,item,message`` (quality exclusions, targets not comparable across the
  waves, items the data lack, norm-wording notes), also printed on stderr.
"""

from __future__ import annotations

from pathlib import Path

from analysis.commands.compare import (
    add_design_arguments,
    design_spec,
    read_data,
    split_list,
    write_outputs,
)
from analysis.errors import AnalysisInputError


def series_path(out: str) -> Path:
    """``T.csv`` -> ``T.series.csv``."""
    p = Path(out)
    return p.with_name(p.stem + ".series.csv") if p.suffix else p.with_name(p.name + ".series.csv")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "trend",
        help="linear trend over three or more waves, with per-wave series",
        description="Design-based test for a linear trend per item and per Ten Norms "
                    "indicator over three or more waves (pooled design: strata = wave x "
                    "stratum, PSUs = wave x PSU). Writes OUT (trend table), OUT's .series.csv "
                    "(per-wave estimates with CIs) and .notes.csv.")
    p.add_argument("data", metavar="DATA", help="responses table (CSV or Parquet)")
    p.add_argument("--items", required=True, metavar="A,B,...",
                   help="item codes (N04_P1) and indicators (N04.practice, N04.gap, "
                        "index.practice, ...)")
    p.add_argument("--waves", metavar="Y1,Y2,Y3,...",
                   help="the waves (at least three; default: every wave in DATA)")
    p.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--common-items", action="store_true",
                   help="score indicators on the items every wave shares with the same wording")
    add_design_arguments(p)
    p.add_argument("--out", required=True, metavar="T.csv", help="output CSV (trend table)")
    p.set_defaults(func=run)


def run(args) -> int:
    from analysis.trend import linear_trend

    if not 0 < args.level < 1:
        raise AnalysisInputError(f"--level {args.level:g} must be between 0 and 1")
    waves = None
    if args.waves:
        waves = []
        for v in split_list(args.waves, "--waves"):
            try:
                waves.append(int(v))
            except ValueError:
                raise AnalysisInputError(f"--waves: '{v}' is not a year") from None
    items = split_list(args.items, "--items")
    data = read_data(args.data)
    result = linear_trend(data, items, waves, design=design_spec(args), level=args.level,
                          keep_flagged=args.keep_flagged, common_items=args.common_items)
    write_outputs(result.table, result.notes, args.out, "trend")
    result.series.to_csv(series_path(args.out), index=False)
    return 0
