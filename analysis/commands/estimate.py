"""`survey-analysis estimate`: design-based means, totals or proportions per wave.

    survey-analysis estimate DATA --items A,B,... [--weight COL] [--strata COL] [--psu COL]
        [--fpc COL] [--margins M.csv [--base-weight COL] [--rescale] [--rake-variance V]]
        [--by COL[,COL...]]
        [--proportion LEVELS | --total] [--lonely-psu RULE] [--deff {wor,wr}]
        [--keep-flagged] --out E.csv

Writes E.csv with exactly the columns ``wave,item,by,group,estimate,se,ci_low,ci_high,n,deff``:
one block per wave in DATA (each wave its own design: PSU and stratum ids never merge across
waves), always the overall rows (``by`` and ``group`` empty) and, with ``--by``, one row per
group of each by-variable. ``--margins`` rakes each wave inside (to its own rows of the margins
when they have a ``wave`` column) and the SEs account for the raking. Responses flagged by the
quality checks (speeders, straight-liners, failed attention checks) are excluded first, as in
`compare` and `trend`, and stderr says how many; ``--keep-flagged`` keeps them.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError

OUTPUT_COLUMNS = ["wave", "item", "by", "group", "estimate", "se", "ci_low", "ci_high", "n",
                  "deff"]


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "estimate", help="weighted means/proportions with design-based SEs",
        description="Design-based estimates (Taylor-linearised SEs, 95% CIs, design effects) "
                    "of survey items, one design per wave.")
    p.add_argument("data", metavar="DATA", help="responses table (.csv or .parquet)")
    p.add_argument("--items", required=True, metavar="A,B,...", help="item columns")
    p.add_argument("--weight", metavar="COL", help="weight column (default: all 1)")
    p.add_argument("--strata", metavar="COL", help="stratum column")
    p.add_argument("--psu", metavar="COL", help="PSU column (nested in strata)")
    p.add_argument("--fpc", metavar="COL",
                   help="finite population correction: >1 population PSUs, <=1 fraction")
    p.add_argument("--margins", metavar="M.csv", help="rake each wave to these margins")
    p.add_argument("--base-weight", metavar="COL",
                   help="starting weights of the raking (default: --weight, else 1)")
    p.add_argument("--rescale", action="store_true",
                   help="margins: count targets on different bases become shares of one total")
    p.add_argument("--rake-variance", default="calibrate", choices=("calibrate", "rake"),
                   help="how SEs account for --margins: as R's calibrate(calfun='raking') "
                        "(default) or as a design raked by R's rake()")
    p.add_argument("--by", metavar="COL[,COL...]", help="domain variables (each on its own)")
    stat = p.add_mutually_exclusive_group()
    stat.add_argument("--proportion", metavar="LEVELS",
                      help="share of answers in these levels, e.g. 4,5 (default: means)")
    stat.add_argument("--total", action="store_true", help="weighted totals instead of means")
    p.add_argument("--lonely-psu", default="fail",
                   choices=("fail", "remove", "adjust", "average", "certainty"),
                   help="strata with one PSU, as R's survey.lonely.psu (default: fail)")
    p.add_argument("--deff", default="auto", choices=("auto", "wor", "wr"),
                   help="SRS variance behind the design effect: 'wor' = R's deff=TRUE (SRS "
                        "without replacement from a population of sum(weights)), 'wr' = R's "
                        "deff='replace'; 'auto' (default) is 'wor' when the weights sum to at "
                        "least 10 times the rows (population weights) and 'wr' otherwise "
                        "(weights scaled to the sample size, where 'wor' is undefined)")
    p.add_argument("--keep-flagged", action="store_true",
                   help="keep responses flagged by the quality checks (default: exclude them "
                        "and say how many on stderr)")
    p.add_argument("--out", required=True, metavar="E.csv", help="output CSV")
    p.set_defaults(func=run)


def split_names(text: str, option: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    if not names:
        raise AnalysisInputError(f"{option}: give at least one column name")
    return names


def parse_levels(text: str) -> list[float]:
    levels = []
    for v in text.split(","):
        v = v.strip()
        if not v:
            continue
        try:
            levels.append(float(v))
        except ValueError:
            raise AnalysisInputError(f"--proportion: level '{v}' is not a number") from None
    if not levels:
        raise AnalysisInputError("--proportion: give the answer levels to count, e.g. 4,5")
    return levels


POPULATION_WEIGHT_RATIO = 10


def design_effect_kind(option: str, design):
    """``deff=`` argument of the estimators for the ``--deff`` option."""
    if option == "wor":
        return True
    if option == "wr":
        return "replace"
    return True if design.weights.sum() >= POPULATION_WEIGHT_RATIO * design.n else "replace"


def run(args: argparse.Namespace) -> int:
    from analysis.design import SurveyDesign, row_name
    from analysis.io import progress, read_margins, read_responses, response_columns
    from analysis.margins import category_label
    from analysis.quality import exclude_flagged_by_default, quality_columns

    items = split_names(args.items, "--items")
    by = split_names(args.by, "--by") if args.by else []
    levels = parse_levels(args.proportion) if args.proportion else None
    if args.base_weight and not args.margins:
        raise AnalysisInputError("--base-weight needs --margins (it is the raking's start)")
    margins = read_margins(args.margins) if args.margins else None
    start = (args.base_weight or args.weight) if margins is not None else args.weight
    design_cols = [c for c in (start, args.strata, args.psu, args.fpc) if c]
    wanted = list(dict.fromkeys(items + by + design_cols
                                + (margins.variables if margins is not None else [])))
    present = response_columns(args.data)
    for col in wanted:
        if col not in present:
            raise AnalysisInputError(f"{args.data}: unknown column '{col}'")
    columns = wanted + (["wave"] if "wave" in present else [])
    if not args.keep_flagged:
        columns = list(dict.fromkeys(columns + quality_columns(present)))
    data = read_responses(args.data, columns=columns)
    data, messages = exclude_flagged_by_default(data, keep_flagged=args.keep_flagged)
    if "wave" in data.columns:
        codes, waves = pd.factorize(data["wave"], sort=True)
        if (codes < 0).any():
            i = int(np.flatnonzero(codes < 0)[0])
            raise AnalysisInputError(f"column 'wave': missing value in {row_name(data, i)}")
        blocks = [(category_label(w), np.flatnonzero(codes == k)) for k, w in enumerate(waves)]
    else:
        blocks = [("", np.arange(len(data)))]
    if margins is not None and margins.waves and not any(w for w, _ in blocks):
        raise AnalysisInputError(f"{args.margins}: the margins give targets per wave but "
                                 f"{args.data} has no 'wave' column")
    tables = []
    for wave, rows in progress(blocks, "estimating", unit="wave"):
        part = data.iloc[rows] if len(blocks) > 1 else data
        design = SurveyDesign(part, weights=start, strata=args.strata, psu=args.psu,
                              fpc=args.fpc, lonely_psu=args.lonely_psu)
        if margins is not None:
            m = margins.for_wave(wave) if margins.waves else margins
            design = design.rake(m, rescale=args.rescale, variance=args.rake_variance)
        deff = design_effect_kind(args.deff, design)
        if levels is not None:
            est = design.proportion(items, levels=levels, by=by or None, deff=deff)
        elif args.total:
            est = design.total(items, by=by or None, deff=deff)
        else:
            est = design.mean(items, by=by or None, deff=deff)
        t = est.table.copy()
        t.insert(0, "wave", wave)
        tables.append(t)
    out = pd.concat(tables, ignore_index=True)[OUTPUT_COLUMNS]
    out.to_csv(args.out, index=False)
    # Said after the work succeeded, so that a bad input still gives exactly one line.
    for line in messages:
        print(line, file=sys.stderr)
    return 0
