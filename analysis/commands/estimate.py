"""`survey-analysis estimate`: design-based means, totals or proportions per wave, and Ten Norms
indicators.

    survey-analysis estimate DATA --items A,B,... [--weight COL] [--strata COL]
        [--psu COL[,COL...]] [--fpc COL[,COL...]]
        [--margins M.csv [--base-weight COL] [--rescale] [--rake-variance V]]
        [--by COL[,COL...]]
        [--proportion LEVELS [--ci wald|logit|wilson] | --total] [--lonely-psu RULE]
        [--deff {wor,wr}]
        [--keep-flagged] [--recode-invalid] [--digits N] --out E.csv

Writes E.csv with exactly the columns ``wave,item,by,group,estimate,se,ci_low,ci_high,n,deff``:
one block per wave in DATA (each wave its own design: PSU and stratum ids never merge across
waves), always the overall rows (``by`` and ``group`` empty) and, with ``--by``, one row per
group of each by-variable. ``--items`` takes item columns and indicators (``N04.practice``,
``N04.gap``, ``index.gap``, ...), the latter estimated exactly as `compare` estimates them
(:func:`analysis.indicators.estimate_targets`; their ``deff`` is empty). ``--margins`` rakes each
wave inside (to its own rows of the margins when they have a ``wave`` column) and the SEs account
for the raking. Several ``--psu`` columns make a multistage design (one per stage), with one
``--fpc`` column per stage (:mod:`analysis.multistage`). The data go through the one pipeline
(:func:`analysis.pipeline.load_survey`):
answer codes are checked against the codebook (``--recode-invalid`` sets out-of-range codes to
missing instead of refusing), "not applicable" (9) is left out of every estimate, and responses
flagged by the quality checks are excluded (``--keep-flagged`` keeps them); stderr says so. With
weights or margins, ``E.weighting.csv`` holds each wave's weighting diagnostics (one line per wave
on stderr too).
"""

from __future__ import annotations

import argparse

import pandas as pd

from analysis.commands.options import (
    cleaning_parent,
    data_parent,
    design_parent,
    design_spec,
    load,
    output_parent,
    parse_levels,
    say,
    split_list,
    write_csv,
    write_weighting,
)
from analysis.errors import AnalysisInputError

OUTPUT_COLUMNS = ["wave", "item", "by", "group", "estimate", "se", "ci_low", "ci_high", "n",
                  "deff"]
POPULATION_WEIGHT_RATIO = 10


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "estimate",
        parents=[data_parent(), design_parent(), cleaning_parent(), output_parent("E.csv")],
        help="weighted means/proportions and Ten Norms indicators with design-based SEs",
        description="Design-based estimates (Taylor-linearised SEs, 95% CIs, design effects) "
                    "of survey items and Ten Norms indicators, one design per wave.")
    p.add_argument("--items", required=True, metavar="A,B,...",
                   help="item columns and indicators (N04.practice, N04.gap, index.gap, ...)")
    p.add_argument("--rake-variance", default="calibrate", choices=("calibrate", "rake"),
                   help="how SEs account for --margins: as R's calibrate(calfun='raking') "
                        "(default) or as a design raked by R's rake()")
    p.add_argument("--by", metavar="COL[,COL...]", help="domain variables (each on its own)")
    stat = p.add_mutually_exclusive_group()
    stat.add_argument("--proportion", metavar="LEVELS",
                      help="share of answers in these levels, e.g. 4,5 (default: means)")
    stat.add_argument("--total", action="store_true", help="weighted totals instead of means")
    p.add_argument("--ci", default="wald", choices=("wald", "logit", "wilson"),
                   help="95%% interval of a --proportion: 'wald' (default) p -/+ 1.96 se; "
                        "'logit' as R's svyciprop(method='logit') (t quantile, df = PSUs - "
                        "strata); 'wilson' Wilson's score interval on the effective sample size "
                        "p(1-p)/se^2")
    p.add_argument("--deff", default="auto", choices=("auto", "wor", "wr"),
                   help="SRS variance behind the design effect: 'wor' = R's deff=TRUE (SRS "
                        "without replacement from a population of sum(weights)), 'wr' = R's "
                        "deff='replace'; 'auto' (default) is 'wor' when the weights sum to at "
                        "least 10 times the rows (population weights) and 'wr' otherwise "
                        "(weights scaled to the sample size, where 'wor' is undefined)")
    p.set_defaults(func=run)


def design_effect_kind(option: str, design):
    """``deff=`` argument of the estimators for the ``--deff`` option."""
    if option == "wor":
        return True
    if option == "wr":
        return "replace"
    return True if design.weights.sum() >= POPULATION_WEIGHT_RATIO * design.n else "replace"


def run(args: argparse.Namespace) -> int:
    from analysis.indicators import parse_targets
    from analysis.io import progress, read_margins

    items = split_list(args.items, "--items", "column name")
    by = split_list(args.by, "--by", "column name") if args.by else []
    levels = parse_levels(args.proportion) if args.proportion else None
    targets = parse_targets(items)
    indicators = [t for t in targets if t.is_indicator]
    if indicators and (levels is not None or args.total):
        raise AnalysisInputError(f"{'--proportion' if levels is not None else '--total'} "
                                 f"applies to raw items, not to indicators such as "
                                 f"'{indicators[0].name}' (norm scores are means on 0-100)")
    if args.ci != "wald" and levels is None:
        raise AnalysisInputError(f"--ci {args.ci} applies to proportions: give --proportion "
                                 "LEVELS")
    margins = read_margins(args.margins) if args.margins else None
    spec = design_spec(args, rake_variance=args.rake_variance)
    if margins is not None:
        from dataclasses import replace

        spec = replace(spec, margins=margins)
    design_cols = spec.columns
    raw = [t.item for t in targets if not t.is_indicator]
    wanted = list(dict.fromkeys(raw + by + design_cols
                                + (margins.variables if margins is not None else [])))
    # indicators need their norms' items, which only the metadata name: read every column then
    survey = load(args, columns=None if indicators else wanted, require_wave=False,
                  estimated=raw + by)
    for col in wanted:
        frame = next(iter(survey.frames.values()))
        if col not in frame.columns:
            raise AnalysisInputError(f"{args.data}: unknown column '{col}'")
    if margins is not None and margins.waves and survey.waves == (None,):
        raise AnalysisInputError(f"{args.margins}: the margins give targets per wave but "
                                 f"{args.data} has no 'wave' column")
    tables, designs, notes = [], {}, []
    for wave in progress(list(survey.waves), "estimating", unit="wave"):
        designs[wave] = design = survey.design(wave, spec)
        table = estimate_wave(survey, wave, design, targets, by, levels, args, notes)
        table.insert(0, "wave", "" if wave is None else wave)
        tables.append(table)
    out = pd.concat(tables, ignore_index=True)[OUTPUT_COLUMNS]
    write_csv(out, args.out, args.digits)
    # Said after the work succeeded, so that a bad input still gives exactly one line.
    say("estimate", [m for _, _, m in survey.notes + notes])
    if spec.weighted:
        from analysis.pipeline import weighting_table

        write_weighting(weighting_table(designs), args.out, "estimate", args.digits)
    return 0


def estimate_wave(survey, wave, design, targets, by, levels, args, notes) -> pd.DataFrame:
    """One wave's rows: raw items through the design's estimators, indicators through
    :func:`analysis.indicators.estimate_targets` (as `compare`), whole sample first, then each
    group, targets in the order asked. Items a score is computed without go to ``notes``."""
    from analysis.indicators import estimate_targets

    raw = [t.item for t in targets if not t.is_indicator]
    indicators = [t for t in targets if t.is_indicator]
    parts = []
    if raw:
        deff = design_effect_kind(args.deff, design)
        if levels is not None:
            est = design.proportion(raw, levels=levels, by=by or None, deff=deff)
            if args.ci != "wald":
                from analysis.ciprop import proportion_intervals

                est.table = proportion_intervals(design, est.table, args.ci)
        elif args.total:
            est = design.total(raw, by=by or None, deff=deff)
        else:
            est = design.mean(raw, by=by or None, deff=deff)
        parts.append(est.table)
    if indicators:
        scales, dropped = survey.indicator_scales(wave, indicators)
        notes += dropped
        try:
            est = estimate_targets(design, indicators, scales, by=by or None)
        except AnalysisInputError as exc:
            raise AnalysisInputError(f"wave {wave}: {exc}" if wave is not None else str(exc)
                                     ) from None
        parts.append(est.assign(deff=float("nan")))
    table = pd.concat(parts, ignore_index=True)
    if len(parts) == 1:
        return table
    order = {t.name: i for i, t in enumerate(targets)}
    blocks = {b: i for i, b in enumerate(["", *by])}
    groups = {key: i for i, key in enumerate(dict.fromkeys(zip(table["by"], table["group"],
                                                               strict=True)))}
    keys = pd.DataFrame({"b": table["by"].map(blocks),
                         "g": [groups[k] for k in zip(table["by"], table["group"], strict=True)],
                         "i": table["item"].map(order)})
    return table.loc[keys.sort_values(["b", "g", "i"], kind="stable").index].reset_index(
        drop=True)
