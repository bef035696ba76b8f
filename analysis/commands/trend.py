"""`survey-analysis trend`: linear trends over three or more waves, and per-wave series.

    survey-analysis trend DATA --items N04_P1,N04.practice,index.practice --waves 2024,2025,2026
        [--weight COL] [--strata COL] [--psu COL] [--fpc COL] [--margins M.csv [--base-weight COL]
        [--calfun raking|linear|logit] [--bounds L,U]]
        [--keep-flagged] [--recode-invalid] [--common-items] [--level 0.95] [--digits N]
        [--engine auto|memory|dask] [--scheduler tcp://HOST:8786] [--workers N]
        --out T.csv

DATA may be a folder or glob of Parquet files: the Dask engine then computes the same files
(:func:`analysis.commands.waves_partitioned.trend_partitioned`).

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

from analysis.commands.engine import engine_parent, uses_dask
from analysis.commands.options import (
    cleaning_parent,
    data_parent,
    design_parent,
    design_spec,
    load,
    output_parent,
    parse_numbers,
    sidecar,
    split_list,
    write_csv,
    write_outputs,
    write_weighting,
)
from analysis.errors import AnalysisInputError


def series_path(out: str):
    """``T.csv`` -> ``T.series.csv``."""
    return sidecar(out, "series")


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "trend",
        parents=[data_parent(waves_option=False), design_parent(), cleaning_parent(),
                 output_parent("T.csv"), engine_parent()],
        help="linear trend over three or more waves, with per-wave series",
        description="Design-based test for a linear trend per item and per Ten Norms "
                    "indicator over three or more waves (pooled design: strata = wave x "
                    "stratum, PSUs = wave x PSU). Writes OUT (trend table), OUT's .series.csv "
                    "(per-wave estimates with CIs), .notes.csv and, with weights, "
                    ".weighting.csv.")
    p.add_argument("--items", required=True, metavar="A,B,...",
                   help="item codes (N04_P1) and indicators (N04.practice, N04.gap, "
                        "index.practice, ...)")
    p.add_argument("--waves", metavar="Y1,Y2,Y3,...",
                   help="the waves (at least three; default: every wave in DATA); with --database, "
                        "the waves read")
    p.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    p.add_argument("--common-items", action="store_true",
                   help="score indicators on the items every wave shares with the same wording")
    p.set_defaults(func=run)


def run(args) -> int:
    from analysis.trend import check_wave_count, linear_trend

    if not 0 < args.level < 1:
        raise AnalysisInputError(f"--level {args.level:g} must be between 0 and 1")
    waves = parse_numbers(args.waves, "--waves", int, "year")
    items = split_list(args.items, "--items")
    spec = design_spec(args)
    if waves is not None:
        check_wave_count(sorted(set(waves)))
    if uses_dask(args):
        from analysis.commands.waves_partitioned import trend_partitioned

        result = trend_partitioned(args, items, waves, spec)
    else:
        survey = load(args, waves=waves, estimated=items)
        result = linear_trend(survey, items, waves, design=spec, level=args.level,
                              common_items=args.common_items)
    write_outputs(result.table, result.notes, args.out, "trend", args.digits, args.language)
    write_csv(result.series, series_path(args.out), args.digits)
    if spec.weighted:
        write_weighting(result.weighting, args.out, "trend", args.digits)
    return 0
