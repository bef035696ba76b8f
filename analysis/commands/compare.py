"""`survey-analysis compare`: year-over-year changes of items and Ten Norms indicators.

    survey-analysis compare DATA --items N04_P1,N04.practice,index.gap --base 2024 --current 2025
        [--weight COL] [--strata COL] [--psu COL] [--fpc COL] [--margins M.csv [--base-weight COL]
        [--rescale]] [--lonely-psu RULE] [--by COL] [--proportion 4,5] [--method holm|bh]
        [--alpha 0.05] [--keep-flagged] [--common-items] --out C.csv

Writes C.csv with exactly the columns
``item,by,group,base,current,diff,se,ci_low,ci_high,p_value,p_adjusted,significant`` and, beside it,
``C.notes.csv`` (``kind,item,message``): the multiple-testing method (first row, kind
``method``), every target or group that was not comparable and why, norm-wording notes, items the
data lack, and the quality exclusions. The same lines go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from analysis.errors import AnalysisInputError


def add_design_arguments(parser: argparse.ArgumentParser) -> None:
    """The design flags shared with `estimate`: one design per wave, built the same way."""
    g = parser.add_argument_group("design (applied to each wave separately)")
    g.add_argument("--weight", metavar="COL", help="final weight column (default: all 1)")
    g.add_argument("--strata", metavar="COL", help="stratum column")
    g.add_argument("--psu", metavar="COL", help="PSU column (nested in strata)")
    g.add_argument("--fpc", metavar="COL", help="finite population correction column")
    g.add_argument("--margins", metavar="M.csv",
                   help="rake each wave to these margins (variable,category,target[,wave])")
    g.add_argument("--base-weight", metavar="COL",
                   help="starting weights for --margins (default: --weight, else 1)")
    g.add_argument("--rescale", action="store_true",
                   help="with --margins: turn count targets on different bases into shares of "
                        "one total")
    g.add_argument("--lonely-psu", default="fail",
                   choices=("fail", "remove", "adjust", "average", "certainty"),
                   help="single-PSU strata, as R's survey.lonely.psu (default: fail)")
    q = parser.add_argument_group("response quality")
    q.add_argument("--keep-flagged", action="store_true",
                   help="keep speeders, straight-liners and failed attention checks "
                        "(default: exclude them and say how many on stderr)")


def design_spec(args):
    from analysis.compare import DesignSpec

    if args.base_weight and not args.margins:
        raise AnalysisInputError("--base-weight needs --margins (it is the starting weight of "
                                 "the raking)")
    return DesignSpec(weight=args.weight, strata=args.strata, psu=args.psu, fpc=args.fpc,
                      margins=args.margins, base_weight=args.base_weight,
                      lonely_psu=args.lonely_psu, rescale=args.rescale)


def split_list(text: str, what: str) -> list[str]:
    values = [v.strip() for v in text.split(",") if v.strip()]
    if not values:
        raise AnalysisInputError(f"{what}: give at least one name")
    return values


def parse_levels(text: str | None) -> list[float] | None:
    if text is None:
        return None
    levels = []
    for v in split_list(text, "--proportion"):
        try:
            levels.append(float(v))
        except ValueError:
            raise AnalysisInputError(f"--proportion: level '{v}' is not a number") from None
    return levels


def read_data(path: str) -> pd.DataFrame:
    """The responses table (CSV or Parquet), via the core's reader when it is there."""
    try:
        from analysis import read_responses
    except ImportError:
        read_responses = None
    if read_responses is not None:
        return read_responses(path)
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(2, "No such file or directory", path)
    try:
        if p.suffix.lower() in (".parquet", ".pq"):
            df = pd.read_parquet(p)
        else:
            df = pd.read_csv(p, low_memory=False)
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise AnalysisInputError(f"{path}: cannot read the data ({exc})") from None
    if df.empty:
        raise AnalysisInputError(f"{path}: the data have no rows")
    return df


def notes_path(out: str) -> Path:
    """``C.csv`` -> ``C.notes.csv`` (the sidecar of notes beside the output)."""
    p = Path(out)
    return p.with_name(p.stem + ".notes.csv") if p.suffix else p.with_name(p.name + ".notes.csv")


def write_outputs(table: pd.DataFrame, notes: pd.DataFrame, out: str, command: str) -> None:
    out_path = Path(out)
    if out_path.parent and not out_path.parent.exists():
        raise AnalysisInputError(f"--out: directory '{out_path.parent}' does not exist")
    table.to_csv(out_path, index=False)
    notes.to_csv(notes_path(out), index=False)
    for _, r in notes.iterrows():
        print(f"survey-analysis {command}: {r['message']}", file=sys.stderr)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "compare",
        help="changes between two waves, with comparability rules and multiple-testing "
             "correction",
        description="Compare items and Ten Norms indicators between two waves (independent "
                    "samples). Writes OUT with columns item,by,group,base,current,diff,se,"
                    "ci_low,ci_high,p_value,p_adjusted,significant and OUT's .notes.csv "
                    "sidecar (method, not comparable targets, notes).")
    p.add_argument("data", metavar="DATA", help="responses table (CSV or Parquet)")
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
    add_design_arguments(p)
    p.add_argument("--out", required=True, metavar="C.csv", help="output CSV")
    p.set_defaults(func=run)


def run(args) -> int:
    from analysis.compare import compare_waves

    if not 0 < args.alpha < 1:
        raise AnalysisInputError(f"--alpha {args.alpha:g} must be between 0 and 1")
    items = split_list(args.items, "--items")
    by = split_list(args.by, "--by") if args.by else None
    data = read_data(args.data)
    result = compare_waves(data, items, args.base, args.current, design=design_spec(args),
                           by=by, proportion=parse_levels(args.proportion), method=args.method,
                           alpha=args.alpha, keep_flagged=args.keep_flagged,
                           common_items=args.common_items)
    write_outputs(result.table, result.notes, args.out, "compare")
    return 0
