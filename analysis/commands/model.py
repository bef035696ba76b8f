"""`survey-analysis model`: design-based regression (R's ``svyglm``), one model per wave.

    survey-analysis model DATA --formula "N04_P1 ~ C(sex) + C(age_group)"
        [--family gaussian|binomial|poisson] [--wave YEAR] [--weight COL] [--strata COL]
        [--psu COL] [--fpc COL] [--margins M.csv [--base-weight COL] [--rescale]
        [--rake-variance V]] [--lonely-psu RULE] [--test TERM ...] [--level 0.95]
        [--keep-flagged] [--recode-invalid] [--digits N] --out M.csv

Writes:

* ``M.csv``: one row per wave and coefficient, columns
  ``wave,term,estimate,se,t,df,p_unadjusted,ci_low,ci_high,n`` (t on the model's residual df,
  R's ``degf + 1 - coefficients``; ``p_unadjusted`` is not corrected for testing several
  coefficients; ``n`` rows used);
* with ``--test``, ``M.tests.csv``: one row per wave and test,
  ``wave,terms,chisq,F,ndf,ddf,p_unadjusted`` (R's ``regTermTest``, Wald F test);
* with weights or margins, ``M.weighting.csv`` (each wave's weighting diagnostics).

The data go through the one pipeline (:func:`analysis.pipeline.load_survey`) as for
`estimate`: "not applicable" (9) is missing, flagged responses are excluded, and a row missing
any variable of the formula is left out of that wave's model (R's ``na.omit``; stderr says how
many).
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import pandas as pd

from analysis.commands.options import (
    cleaning_parent,
    data_parent,
    design_parent,
    design_spec,
    load,
    output_parent,
    say,
    sidecar,
    write_csv,
    write_weighting,
)
from analysis.errors import AnalysisInputError

OUTPUT_COLUMNS = ["wave", "term", "estimate", "se", "t", "df", "p_unadjusted", "ci_low",
                  "ci_high", "n"]
TESTS_COLUMNS = ["wave", "terms", "chisq", "F", "ndf", "ddf", "p_unadjusted"]


def register(subparsers) -> None:
    from analysis.regression import FAMILIES

    p = subparsers.add_parser(
        "model",
        parents=[data_parent(), design_parent(), cleaning_parent(), output_parent("M.csv")],
        help="design-based regression (gaussian, logistic, poisson), as R's svyglm",
        description="Design-based generalised linear model per wave, as R's svyglm: "
                    "coefficients with design-based SEs (strata, PSUs, fpc, raking), t tests "
                    "on the design's degrees of freedom, and Wald F tests of terms "
                    "(regTermTest). Writes OUT, OUT's .tests.csv (with --test) and, with "
                    "weights, .weighting.csv.")
    p.add_argument("--formula", required=True, metavar="'Y ~ TERMS'",
                   help="patsy formula, e.g. 'N04_P1 ~ C(sex) + C(age_group)' or "
                        "'I(N04_P1 >= 4) ~ C(region)' (binomial)")
    p.add_argument("--family", default="gaussian", choices=tuple(FAMILIES),
                   help="gaussian (linear), binomial (logistic; quasibinomial as R) or poisson "
                        "(log-linear; quasipoisson as R); default gaussian")
    p.add_argument("--wave", type=int, metavar="YEAR",
                   help="model this wave only (default: each wave of DATA on its own)")
    p.add_argument("--test", action="append", metavar="TERM[+TERM...]",
                   help="Wald F test that every coefficient of these formula terms is 0, e.g. "
                        "'C(age_group)'; repeat for several tests")
    p.add_argument("--level", type=float, default=0.95, help="confidence level (default 0.95)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from analysis.io import read_margins
    from analysis.regression import fit_glm, formula_variables

    if not 0 < args.level < 1:
        raise AnalysisInputError(f"--level {args.level:g} must be between 0 and 1")
    variables = formula_variables(args.formula)
    margins = read_margins(args.margins) if args.margins else None
    spec = design_spec(args)
    if margins is not None:
        spec = replace(spec, margins=margins)
    design_cols = spec.columns
    wanted = list(dict.fromkeys(variables + design_cols
                                + (margins.variables if margins is not None else [])))
    survey = load(args, waves=None if args.wave is None else [args.wave], columns=wanted,
                  require_wave=args.wave is not None, estimated=variables)
    rows, tests, designs, notes = [], [], {}, []
    for wave in survey.waves:
        designs[wave] = design = survey.design(wave, spec)
        try:
            fit = fit_glm(design, args.formula, args.family)
            wave_tests = [fit.wald_test(t) for t in args.test or []]
        except AnalysisInputError as exc:
            raise AnalysisInputError(f"wave {wave}: {exc}" if wave is not None else str(exc)
                                     ) from None
        label = "" if wave is None else wave
        rows.append(fit.to_frame(args.level).assign(n=fit.n).assign(wave=label))
        tests += [{"wave": label, **t.as_dict()} for t in wave_tests]
        notes += _fit_notes(fit, design.n, wave)
    out = pd.concat(rows, ignore_index=True)[OUTPUT_COLUMNS]
    written = write_csv(out, args.out, args.digits, args.language)
    if args.test:
        write_csv(pd.DataFrame(tests, columns=TESTS_COLUMNS), sidecar(args.out, "tests"),
                  args.digits)
    # Said after the work succeeded, so that a bad input still gives exactly one line.
    say("model", [m for _, _, m in survey.notes] + notes + written)
    if spec.weighted:
        from analysis.pipeline import weighting_table

        write_weighting(weighting_table(designs), args.out, "model", args.digits)
    return 0


def _fit_notes(fit, rows: int, wave) -> list[str]:
    where = f"wave {wave}: " if wave is not None else ""
    notes = []
    if fit.n < rows:
        notes.append(f"{where}{fit.n} of {rows} responses in the model; the other "
                     f"{rows - fit.n} miss a variable of the formula")
    if fit.event is not None:
        notes.append(f"{where}modelled: {fit.outcome} = {fit.event}")
    if fit.aliased:
        notes.append(f"{where}no coefficient for {', '.join(fit.aliased)}: a combination of "
                     "the columns before it (aliased, as R's NA)")
    return notes
