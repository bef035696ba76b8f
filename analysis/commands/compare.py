"""`survey-analysis compare`: year-over-year changes of items and Ten Norms indicators.

    survey-analysis compare DATA --items N04_P1,N04.practice,index.gap --base 2024 --current 2025
        [--weight COL] [--strata COL] [--psu COL] [--fpc COL] [--margins M.csv [--base-weight COL]
        [--rescale] [--calfun raking|linear|logit] [--bounds L,U]] [--lonely-psu RULE]
        [--by COL] [--proportion 4,5] [--method holm|bh]
        [--alpha 0.05] [--keep-flagged] [--recode-invalid] [--common-items] [--digits N]
        --out C.csv

Writes C.csv with exactly the columns
``item,by,group,base,current,diff,se,ci_low,ci_high,p_value,p_adjusted,significant`` and, beside it,
``C.notes.csv`` (``kind,item,message``): the multiple-testing method (first row, kind
``method``), every target or group that was not comparable and why, norm-wording notes, items the
data lack, where the metadata came from, and the quality exclusions. The same lines go to
stderr. With weights or margins, ``C.weighting.csv`` holds each wave's weighting diagnostics
(Kish's design effect of weighting, effective sample size, weight range; one line per wave on
stderr too). Numbers are written at full precision unless ``--digits N``.
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
    parse_levels,
    split_list,
    write_outputs,
    write_weighting,
)
from analysis.errors import AnalysisInputError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compare",
        parents=[data_parent(), design_parent(), cleaning_parent(), output_parent("C.csv"),
                 engine_parent()],
        help="changes between two waves, with comparability rules and multiple-testing "
             "correction",
        description="Compare items and Ten Norms indicators between two waves (independent "
                    "samples). Writes OUT with columns item,by,group,base,current,diff,se,"
                    "ci_low,ci_high,p_value,p_adjusted,significant and OUT's .notes.csv "
                    "sidecar (method, not comparable targets, notes); with weights, "
                    "OUT's .weighting.csv (weighting diagnostics per wave).")
    p.add_argument("--items", required=True, metavar="A,B,...",
                   help="item codes (N04_P1) and indicators (N04.practice, N04.gap, "
                        "index.awareness, index.practice, index.gap)")
    p.add_argument("--base", required=True, type=int, metavar="YEAR", help="base wave")
    p.add_argument("--current", required=True, type=int, metavar="YEAR", help="current wave")
    p.add_argument("--by", metavar="COL[,COL...]", help="domain rows per group of COL")
    p.add_argument("--proportion", metavar="LEVELS",
                   help="compare shares of answers in these codes (e.g. 4,5) for raw items")
    p.add_argument("--method", default="holm", choices=("holm", "bh"),
                   help="multiple-testing correction over the rows: holm (default) or bh "
                        "(Benjamini-Hochberg)")
    p.add_argument("--alpha", type=float, default=0.05,
                   help="significance level of p_adjusted (default 0.05)")
    p.add_argument("--common-items", action="store_true",
                   help="score indicators on the items both waves share with the same wording "
                        "(default: an indicator whose items differ is not comparable)")
    p.set_defaults(func=run)


def run(args) -> int:
    if not 0 < args.alpha < 1:
        raise AnalysisInputError(f"--alpha {args.alpha:g} must be between 0 and 1")
    if args.base == args.current:
        raise AnalysisInputError(f"--base and --current are the same wave ({args.base})")
    items = split_list(args.items, "--items")
    by = split_list(args.by, "--by") if args.by else None
    spec = design_spec(args)
    if uses_dask(args):
        from analysis.commands.waves_partitioned import compare_partitioned

        result = compare_partitioned(args, items, by, spec)
    else:
        result = compare_in_memory(args, items, by, spec)
    write_outputs(result.table, result.notes, args.out, "compare", args.digits,
                  args.language)
    if spec.weighted:
        write_weighting(result.weighting, args.out, "compare", args.digits)
    return 0


def compare_in_memory(args, items, by, spec):
    from analysis.compare import compare_waves

    survey = load(args, waves=[args.base, args.current], estimated=items + (by or []))
    result = compare_waves(survey, items, args.base, args.current, design=spec, by=by,
                           proportion=parse_levels(args.proportion), method=args.method,
                           alpha=args.alpha, common_items=args.common_items)
    return result
