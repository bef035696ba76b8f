"""`survey-analysis weight`: rake or calibrate survey weights to population margins.

    survey-analysis weight DATA --margins M.csv [--base-weight COL] [--by wave] [--rescale]
        [--calfun raking|linear|logit] [--bounds L,U]
        [--trim-lower W] [--trim-upper W] [--max-iter N] [--epsilon E] --out OUT

Writes OUT (CSV, or Parquet, SPSS or Stata for ``.parquet``, ``.sav``, ``.dta``: the latter two
with variable and value labels in ``--language`` from the data's codebook, and the weight column
labelled): DATA with a ``weight`` column (replaced if DATA has one). Several DATA files are
pooled (a ``source`` column names each row's file) and raked together.

Margins are ``variable,category,target`` (+ optional ``wave``); targets are counts, or
shares summing to 1 per variable (weights then sum to the number of rows raked together). With
``--by wave`` each wave is raked on its own (to its own rows of the margins when they have a
``wave`` column). ``--calfun linear|logit`` (and ``raking`` with ``--bounds``) calibrates as R's
``calibrate(calfun=, bounds=)`` instead, the bounds applying to the g-weights (calibrated /
starting weight). One line per raking on stderr reports iterations and the largest margin error,
and one line per raking gives its weighting diagnostics (Kish's design effect of weighting,
effective sample size, weight range and ratio, trimming), also written to ``OUT.weighting.csv``
(``wave,n,weight_sum,weight_min,weight_max,weight_ratio,kish_deff,n_effective,n_trimmed``; the
``wave`` column holds the ``--by`` group). Answer codes are checked against the data's codebook
as in the other commands (``--recode-invalid`` sets out-of-range codes to missing in OUT).
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError

OUTPUT_COLUMN = "weight"


def register(subparsers) -> None:
    from analysis.commands.options import (
        add_calibration_options,
        add_language_option,
        data_parent,
    )

    p = subparsers.add_parser(
        "weight", parents=[data_parent()], help="rake or calibrate weights to census margins",
        description="Rake survey weights to population margins (iterative proportional "
                    "fitting), or calibrate them (--calfun linear|logit, --bounds), and write "
                    "DATA with a 'weight' column.")
    p.add_argument("--margins", required=True, metavar="M.csv",
                   help="margins: variable,category,target[,wave]")
    p.add_argument("--base-weight", metavar="COL", help="starting weights (default: all 1)")
    p.add_argument("--by", metavar="COL",
                   help="rake each group of COL on its own (normally: --by wave)")
    p.add_argument("--rescale", action="store_true",
                   help="count targets on different bases: make every variable shares of one "
                        "total (the first count variable's)")
    add_calibration_options(p)
    p.add_argument("--trim-lower", type=float, metavar="W", help="trim weights below W, re-rake")
    p.add_argument("--trim-upper", type=float, metavar="W", help="trim weights above W, re-rake")
    p.add_argument("--max-iter", type=int, metavar="N",
                   help="maximum raking sweeps (default 1000), or Newton steps of a "
                        "calibration with --calfun linear|logit or --bounds (default 50, as R)")
    p.add_argument("--epsilon", type=float, default=1e-10, metavar="E",
                   help="convergence: every margin within E of its target, relative "
                        "(default 1e-10)")
    p.add_argument("--recode-invalid", action="store_true",
                   help="set answer codes outside an item's codes to missing (default: refuse "
                        "the data)")
    p.add_argument("--out", required=True, metavar="OUT",
                   help="output file: .csv, .parquet, SPSS .sav or Stata .dta (with variable "
                        "and value labels from the data's codebook)")
    add_language_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analysis.commands.options import (
        calibration_options,
        data_name,
        data_sources,
        load_pooled,
        say,
        sidecar,
        write_csv,
    )
    from analysis.design import SurveyDesign
    from analysis.io import progress, read_margins, write_table
    from analysis.pipeline import load_survey, weighting_table

    calfun, bounds = calibration_options(args)
    margins = read_margins(args.margins)
    # the pipeline's reading and answer-code checks, but every row and every code kept
    options = dict(keep_flagged=True, recode_invalid=args.recode_invalid,
                   recode_not_applicable=False, require_wave=False)
    sources = data_sources(args)
    survey = (load_survey(sources[0], **options) if len(sources) == 1
              else load_pooled(args, **options))
    data = pd.concat(survey.frames.values()).sort_index() if len(survey.frames) > 1 \
        else next(iter(survey.frames.values()))
    for col in filter(None, [args.base_weight, args.by]):
        if col not in data.columns:
            raise AnalysisInputError(f"{data_name(args)}: unknown column '{col}'")
    groups = split_groups(data, args.by)
    if margins.waves and args.by != "wave":
        waves = sorted(set(data["wave"].astype(str))) if "wave" in data.columns else []
        if len(waves) != 1:
            raise AnalysisInputError(
                f"{args.margins}: the margins give targets per wave; use --by wave")
    weights = np.full(len(data), np.nan)
    designs = {}
    for label, rows in progress(groups, "weighting", unit="group"):
        part = data.iloc[rows] if len(groups) > 1 else data
        m = margins
        if margins.waves:
            wave = label if args.by == "wave" else str(data["wave"].iloc[0])
            m = margins.for_wave(wave)
        design = SurveyDesign(part, weights=args.base_weight)
        raked = design.calibrate(m, calfun=calfun, bounds=bounds, max_iter=args.max_iter,
                                 epsilon=args.epsilon, rescale=args.rescale)
        if args.trim_lower is not None or args.trim_upper is not None:
            raked = raked.trim(lower=args.trim_lower, upper=args.trim_upper,
                               epsilon=args.epsilon)
        weights[rows] = raked.weights
        designs[label if args.by else None] = raked
        prefix = f"{args.by} {label}: " if args.by else ""
        say("weight", [f"{prefix}{raked.weighting}",
                       f"{prefix}weighting: {raked.weight_diagnostics}"])
    out = data.copy()
    out[OUTPUT_COLUMN] = weights
    written = write_table(out, args.out, output_labels(survey, out.columns, args))
    write_csv(weighting_table(designs), sidecar(args.out, "weighting"))
    say("weight", [m for kind, _, m in survey.notes if kind in ("recoded", "pooling")]
        + written)
    return 0


def output_labels(survey, columns, args):
    """Labels of OUT in ``--language``: the codebook's items (each wave's, the newest wording
    last), the columns the analysis knows, and the weight column saying how it was made."""
    from pathlib import Path

    from analysis.writers import Labels, codebook_labels, column_labels

    language = args.language
    definitions = [survey.definitions[y] for y in sorted(survey.definitions,
                                                         key=lambda y: (y is None, y or 0))]
    labels = codebook_labels(definitions, language).merged(column_labels(columns, language))
    margins = Path(args.margins).name
    text = {"zh": f"调查权重：按 {margins} 的总体边际校准（{args.calfun}）",
            "en": f"survey weight: calibrated to the margins of {margins} ({args.calfun})"}
    return labels.merged(Labels({OUTPUT_COLUMN: text[language]}))


def split_groups(data: pd.DataFrame, by: str | None) -> list[tuple[str, np.ndarray]]:
    """``[(label, row positions)]`` of the groups of column ``by`` (one group without it)."""
    if by is None:
        return [("", np.arange(len(data)))]
    from analysis.design_columns import row_name
    from analysis.margins import category_label

    codes, uniques = pd.factorize(data[by], sort=True)
    if (codes < 0).any():
        i = int(np.flatnonzero(codes < 0)[0])
        raise AnalysisInputError(f"column '{by}': missing value in {row_name(data, i)}")
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return [(category_label(u), order[bounds[k]:bounds[k + 1]]) for k, u in enumerate(uniques)]
