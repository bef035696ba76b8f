"""`survey-analysis estimate`: design-based means, totals, proportions, ratios or quantiles per
wave, and Ten Norms indicators.

    survey-analysis estimate DATA (--items A,B,... | --ratio NUM/DEN[,...]) [--weight COL]
        [--strata COL] [--psu COL[,COL...]] [--fpc COL[,COL...]]
        [--margins M.csv [--base-weight COL] [--rescale] [--calfun F [--bounds L,U]]
                         [--rake-variance V]]
        [--by COL[,COL...]]
        [--proportion LEVELS [--ci wald|logit|wilson] | --total | --quantile P[,P...]]
        [--lonely-psu RULE] [--deff {wor,wr}]
        [--keep-flagged] [--recode-invalid] [--digits N] --out E.csv

Writes E.csv with exactly the columns ``wave,item,by,group,estimate,se,ci_low,ci_high,n,deff``:
one block per wave in DATA (each wave its own design: PSU and stratum ids never merge across
waves), always the overall rows (``by`` and ``group`` empty) and, with ``--by``, one row per
group of each by-variable. The statistic is a name in :data:`STATISTICS` (means by default;
``--total``, ``--proportion``, ``--ratio`` as R's ``svyratio``, ``--quantile`` as R's
``svyquantile``); each maps to the function that estimates it. ``--items`` takes item columns
and indicators (``N04.practice``, ``N04.gap``, ``index.gap``, ...), the latter estimated exactly
as `compare` estimates them (:func:`analysis.indicators.estimate_targets`; their ``deff`` is
empty). ``--margins`` rakes each wave inside (to its own rows of the margins when they have a
``wave`` column), or calibrates it with ``--calfun linear|logit`` and ``--bounds L,U`` on the
g-weights (R's ``calibrate()``), and the SEs account for the calibration. Several ``--psu``
columns make a multistage design (one per stage), with one ``--fpc`` column per stage
(:mod:`analysis.multistage`). The data go through the one pipeline
(:func:`analysis.pipeline.load_survey`):
answer codes are checked against the codebook (``--recode-invalid`` sets out-of-range codes to
missing instead of refusing), "not applicable" (9) is left out of every estimate, and responses
flagged by the quality checks are excluded (``--keep-flagged`` keeps them); stderr says so. With
weights or margins, ``E.weighting.csv`` holds each wave's weighting diagnostics (one line per wave
on stderr too).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from analysis.commands.engine import engine_parent, uses_dask
from analysis.commands.options import (  # noqa: F401 - design_effect_kind: public here too
    cleaning_parent,
    data_parent,
    design_effect_kind,
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


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "estimate",
        parents=[data_parent(), design_parent(), cleaning_parent(), engine_parent(),
                 output_parent("E.csv")],
        help="weighted means/proportions and Ten Norms indicators with design-based SEs",
        description="Design-based estimates (Taylor-linearised SEs, 95% CIs, design effects) "
                    "of survey items and Ten Norms indicators, one design per wave.")
    p.add_argument("--items", metavar="A,B,...",
                   help="item columns and indicators (N04.practice, N04.gap, index.gap, ...); "
                        "required except with --ratio")
    p.add_argument("--by", metavar="COL[,COL...]", help="domain variables (each on its own)")
    stat = p.add_mutually_exclusive_group()
    stat.add_argument("--proportion", metavar="LEVELS",
                      help="share of answers in these levels, e.g. 4,5 (default: means)")
    stat.add_argument("--total", action="store_true", help="weighted totals instead of means")
    stat.add_argument("--ratio", action="append", metavar="NUM/DEN[,NUM/DEN...]",
                      help="ratio of the weighted totals of two columns, as R's "
                           "svyratio(~NUM, ~DEN) (rows missing either are left out); "
                           "repeatable; takes the place of --items")
    stat.add_argument("--quantile", metavar="P[,P...]",
                      help="quantiles of the --items, e.g. 0.25,0.5,0.75, with R's "
                           "svyquantile defaults (qrule='math', Woodruff interval "
                           "interval.type='mean' with a t quantile, df = PSUs - strata)")
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


def run(args: argparse.Namespace) -> int:
    from analysis.indicators import parse_targets
    from analysis.io import progress, read_margins

    request = statistic_request(args)
    by = request.by
    targets = parse_targets(request.items)
    indicators = [t for t in targets if t.is_indicator]
    if indicators and request.statistic != "mean":
        raise AnalysisInputError(f"--{request.statistic} applies to raw items, not to "
                                 f"indicators such as '{indicators[0].name}' (norm scores are "
                                 "means on 0-100)")
    margins = read_margins(args.margins) if args.margins else None
    spec = design_spec(args)
    if uses_dask(args):
        from analysis.commands.estimate_partitioned import run_partitioned

        return run_partitioned(args, targets, request, spec, margins)
    if margins is not None:
        from dataclasses import replace

        spec = replace(spec, margins=margins)
    design_cols = spec.columns
    raw = [t.item for t in targets if not t.is_indicator]
    raw += [col for pair in request.ratios for col in pair]
    wanted = list(dict.fromkeys(raw + by + design_cols
                                + (margins.variables if margins is not None else [])))
    # indicators need their norms' items, which only the metadata name: read every column then
    survey = load(args, columns=None if indicators else wanted, require_wave=False,
                  estimated=raw + by)
    for col in wanted:
        frame = next(iter(survey.frames.values()))
        if col not in frame.columns:
            raise AnalysisInputError(f"{survey.source}: unknown column '{col}'")
    if margins is not None and margins.waves and survey.waves == (None,):
        raise AnalysisInputError(f"{args.margins}: the margins give targets per wave but "
                                 f"{survey.source} has no 'wave' column")
    tables, designs, notes = [], {}, []
    for wave in progress(list(survey.waves), "estimating", unit="wave"):
        designs[wave] = design = survey.design(wave, spec)
        table = estimate_wave(survey, wave, design, targets, request, notes)
        table.insert(0, "wave", "" if wave is None else wave)
        tables.append(table)
    out = pd.concat(tables, ignore_index=True)[OUTPUT_COLUMNS]
    written = write_csv(out, args.out, args.digits, args.language)
    # Said after the work succeeded, so that a bad input still gives exactly one line.
    say("estimate", [m for _, _, m in survey.notes + notes] + written)
    if spec.weighted:
        from analysis.pipeline import weighting_table

        write_weighting(weighting_table(designs), args.out, "estimate", args.digits)
    return 0


@dataclass(frozen=True)
class StatisticRequest:
    """What the options ask to estimate: the statistic's name and its arguments."""

    statistic: str
    items: list[str]
    by: list[str]
    deff: str = "auto"
    levels: list[float] | None = None
    ci: str = "wald"
    ratios: tuple[tuple[str, str], ...] = ()
    quantiles: tuple[float, ...] = ()


def statistic_request(args: argparse.Namespace) -> StatisticRequest:
    """The options parsed and checked (one line naming the option when they are wrong)."""
    from analysis.quantiles import check_probabilities
    from analysis.ratios import parse_ratio

    statistic = next((name for name in STATISTICS if getattr(args, name, None)), "mean")
    if statistic == "ratio" and args.items:
        raise AnalysisInputError("--ratio names its own columns (NUM/DEN): drop --items")
    if statistic != "ratio" and not args.items:
        raise AnalysisInputError("--items: give the items to estimate, e.g. N01_A1,N01_P1 "
                                 "(only --ratio goes without)")
    if args.ci != "wald" and statistic != "proportion":
        raise AnalysisInputError(f"--ci {args.ci} applies to proportions: give --proportion "
                                 "LEVELS")
    ratio_texts = [t for option in args.ratio or [] for t in split_list(option, "--ratio",
                                                                       "NUM/DEN pair")]
    quantile_texts = split_list(args.quantile, "--quantile", "level") if args.quantile else []
    try:
        ratios = tuple(dict.fromkeys(parse_ratio(t) for t in ratio_texts))
        quantiles = tuple(check_probabilities(quantile_texts)) if quantile_texts else ()
    except AnalysisInputError as exc:
        raise AnalysisInputError(f"--{statistic}: {exc}") from None
    return StatisticRequest(
        statistic=statistic,
        items=split_list(args.items, "--items", "column name") if args.items else [],
        by=split_list(args.by, "--by", "column name") if args.by else [],
        deff=args.deff, levels=parse_levels(args.proportion) if args.proportion else None,
        ci=args.ci, ratios=ratios, quantiles=quantiles)


def estimate_means(design, items, request) -> pd.DataFrame:
    deff = design_effect_kind(request.deff, design)
    return design.mean(items, by=request.by or None, deff=deff).table


def estimate_totals(design, items, request) -> pd.DataFrame:
    deff = design_effect_kind(request.deff, design)
    return design.total(items, by=request.by or None, deff=deff).table


def estimate_proportions(design, items, request) -> pd.DataFrame:
    deff = design_effect_kind(request.deff, design)
    table = design.proportion(items, levels=request.levels, by=request.by or None,
                              deff=deff).table
    if request.ci == "wald":
        return table
    from analysis.ciprop import proportion_intervals

    return proportion_intervals(design, table, request.ci)


def estimate_ratios(design, items, request) -> pd.DataFrame:
    from analysis.ratios import ratio_estimates

    deff = design_effect_kind(request.deff, design)
    return ratio_estimates(design, request.ratios, by=request.by or None, deff=deff,
                           covariance=None).table  # the table needs the variances only


def estimate_quantiles(design, items, request) -> pd.DataFrame:
    from analysis.quantiles import quantile_estimates

    return quantile_estimates(design, items, request.quantiles, by=request.by or None).table


# statistic (= the option that asks for it, "mean" when none does) -> its rows of one wave's
# design, from the raw items and the request
STATISTICS: dict[str, Callable[..., pd.DataFrame]] = {
    "mean": estimate_means,
    "total": estimate_totals,
    "proportion": estimate_proportions,
    "ratio": estimate_ratios,
    "quantile": estimate_quantiles,
}


def estimate_wave(survey, wave, design, targets, request, notes) -> pd.DataFrame:
    """One wave's rows: raw items through the requested statistic, indicators through
    :func:`analysis.indicators.estimate_targets` (as `compare`), whole sample first, then each
    group, targets in the order asked. Items a score is computed without go to ``notes``."""
    from analysis.indicators import estimate_targets

    raw = [t.item for t in targets if not t.is_indicator]
    indicators = [t for t in targets if t.is_indicator]
    by = request.by
    parts = []
    if raw or request.ratios:
        try:
            parts.append(STATISTICS[request.statistic](design, raw, request))
        except AnalysisInputError as exc:
            raise AnalysisInputError(f"wave {wave}: {exc}" if wave is not None else str(exc)
                                     ) from None
    if indicators:
        scales, dropped = survey.indicator_scales(wave, indicators)
        notes += dropped
        try:
            est = estimate_targets(design, indicators, scales, by=by or None)
        except AnalysisInputError as exc:
            raise AnalysisInputError(f"wave {wave}: {exc}" if wave is not None else str(exc)
                                     ) from None
        parts.append(est.assign(deff=float("nan")))
    from analysis.commands.options import ordered_rows

    return ordered_rows(parts, targets, by)
