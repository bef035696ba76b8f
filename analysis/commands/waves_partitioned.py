"""`survey-analysis compare` and `trend` on the Dask engine (:mod:`analysis.dask_engine`): the
same tables from a folder or glob of Parquet files.

Each wave is its own design, estimated partition by partition: its targets (items and Ten
Norms indicators) are contrasts of its item means, whose covariances within domain groups the
engine computes; the comparison of two waves is the in-memory one
(:func:`analysis.compare.comparison_from_estimates`: differences of independent waves'
estimates, :func:`analysis.results.combine_independent`). The comparability rules are the
in-memory ones, applied to the wave definitions and to which items each wave's files answer
(one light pass counting answers).

A trend is the in-memory pooled regression (:mod:`analysis.trend`) taken apart wave by wave:
the WLS fit needs only each wave's item means and weight sums (:func:`analysis.trend.wave_fit`),
and the pooled design's strata are (wave, stratum), so the slopes' variance is the sum over waves
of ``L V_t L'``, where ``V_t`` is the covariance of the wave's PSU totals of the influence
values ``w (y - b0 - b1 t)(c0 + c1 t)``: a second pass per wave with that linearisation
(``estimate_partitioned(..., linearisation=...)``), which also gives the degrees of freedom
(PSUs with an answer minus their strata) and the respondents.
"""

from __future__ import annotations

from analysis.commands.engine import dask_client
from analysis.commands.estimate_partitioned import (
    answered_frame,
    design_options,
    engine_note,
    partitioned_files,
    refuse_design,
    result_notes,
    target_estimate_partitioned,
    wave_metadata,
)
from analysis.commands.options import check_out, parse_levels
from analysis.dask_engine import estimate_partitioned
from analysis.errors import AnalysisInputError
from analysis.indicators import respondent_sets


def wave_files(files, years, data) -> dict:
    """wave -> its files, for ``years`` (default: every wave; one line for a wave the files
    lack)."""
    from analysis.dask_engine import waves_of

    by_wave = waves_of(files)
    if None in by_wave:
        raise AnalysisInputError(f"{data}: column 'wave' is missing from the data")
    if years is None:
        return by_wave
    if len(set(years)) != len(years):
        raise AnalysisInputError(f"waves repeat: {', '.join(map(str, years))}")
    for y in years:
        if y not in by_wave:
            raise AnalysisInputError(f"wave {y} is not in the data (waves loaded: "
                                     f"{', '.join(map(str, by_wave))})")
    return {y: by_wave[y] for y in years}


def _margins(spec):
    from analysis.io import read_margins

    if spec.margins is None:
        return None
    return spec.margins if not isinstance(spec.margins, str) else read_margins(spec.margins)


def compare_partitioned(args, items, by, spec):
    """:func:`analysis.compare.compare_waves` on the Dask engine (a :class:`Comparison`)."""
    import pandas as pd

    from analysis.comparability import check_targets
    from analysis.compare import METHODS, comparison_from_estimates
    from analysis.indicators import parse_targets

    refuse_design(spec)
    check_out(args.out)
    if args.method not in METHODS:
        raise AnalysisInputError(f"--method '{args.method}' is not one of {', '.join(METHODS)}")
    data = args.data[0]
    files = partitioned_files(data)
    targets = parse_targets(items)
    years = [args.base, args.current]
    margins = _margins(spec)
    proportion = parse_levels(args.proportion)
    with dask_client(args) as client:
        by_wave = wave_files(files, years, data)
        meta = wave_metadata(files[0], years, args)
        raw = [t.item for t in targets if not t.is_indicator]
        frames = {y: answered_frame(by_wave[y], y, meta, raw + list(by or [])) for y in years}
        check = check_targets(targets, {y: meta.definitions[y] for y in years}, frames,
                              versions_known=all(meta.versions_known[y] for y in years),
                              common_items=args.common_items)
        notes = list(meta.notes) + check.notes
        not_comparable = [(name, "", "", reason) for name, reason in check.not_comparable]
        estimates, weighting = {}, []
        for y in years:
            if not check.comparable:
                break
            options = design_options(spec, margins, y, meta.cleanings[y], data)
            estimates[y], result = target_estimate_partitioned(
                by_wave[y], check.comparable, check.scales_for(y), by=by,
                proportion=proportion, options=options)
            notes += [("quality", "", m) for m in result_notes(result, y)]
            weighting.append({"wave": y, **result.diagnostics.as_dict()})
        notes.append(("engine", "", engine_note(files, client)))
    return comparison_from_estimates(
        estimates, args.base, args.current, targets, not_comparable, notes,
        method=args.method, alpha=args.alpha, level=0.95,
        weighting=pd.DataFrame(weighting) if weighting else None)


def trend_partitioned(args, items, waves, spec):
    """:func:`analysis.trend.linear_trend` on the Dask engine (a :class:`Trend`)."""
    import numpy as np
    import pandas as pd

    from analysis.comparability import check_targets
    from analysis.compare import NOTES_COLUMNS
    from analysis.indicators import _combination, _combination_table, parse_targets
    from analysis.trend import (
        SERIES_COLUMNS,
        Trend,
        check_wave_count,
        ordered_series,
        trend_table,
        wave_fit,
    )

    refuse_design(spec)
    if spec.replicates is not None:
        raise AnalysisInputError(
            "replicate weights are not available for trend on the Dask engine (its slopes' "
            "variance is linearised from influence values); use --engine memory")
    if spec.lonely_psu == "average":
        raise AnalysisInputError(
            "--lonely-psu average is not available for trend on the Dask engine (the pooled "
            "design averages over every wave's strata, a wave's design over its own); use "
            "--engine memory")
    check_out(args.out)
    data = args.data[0]
    files = partitioned_files(data)
    targets = parse_targets(items)
    if not targets:
        raise AnalysisInputError("no items for the trend")
    margins = _margins(spec)
    with dask_client(args) as client:
        by_wave = wave_files(files, None if waves is None else sorted(set(waves)), data)
        years = list(by_wave)
        check_wave_count(years)
        meta = wave_metadata(files[0], years, args)
        raw = [t.item for t in targets if not t.is_indicator]
        frames = {y: answered_frame(by_wave[y], y, meta, raw) for y in years}
        check = check_targets(targets, {y: meta.definitions[y] for y in years}, frames,
                              versions_known=all(meta.versions_known[y] for y in years),
                              common_items=args.common_items)
        notes = list(meta.notes) + check.notes
        notes += [("not_comparable", name, f"{name}: not comparable, {reason}")
                  for name, reason in check.not_comparable]
        comparable = check.comparable
        if not comparable:
            reasons = "; ".join(m for k, _, m in notes if k == "not_comparable")
            raise AnalysisInputError(f"nothing to analyse: {reasons}")
        comb = _combination(comparable, check.scales_for(years[0]))
        options = {y: design_options(spec, margins, y, meta.cleanings[y], data) for y in years}

        # each wave on its own design: the series, and the item means the regression fits
        series, weighting, means, weights = [], [], [], []
        for y in years:
            estimate, result = target_estimate_partitioned(
                by_wave[y], comparable, check.scales_for(y), options=options[y])
            table = _combination_table(estimate, args.level).rename(columns={"name": "item"})
            table.insert(1, "wave", y)
            series.append(table[list(SERIES_COLUMNS)])
            notes += [("quality", "", m) for m in result_notes(result, y)]
            weighting.append({"wave": y, **result.diagnostics.as_dict()})
            mean, weight = _item_sums(result, comb.items, by_wave[y], options[y])
            means.append(mean)
            weights.append(weight)
        fit = wave_fit(np.array(years), np.array(means), np.array(weights))

        # the slopes' influence values, wave by wave (the pooled design's calibration is each
        # wave's own, with the same --rake-variance as the series)
        var, item_df, design_df, n = 0.0, 0, 0, 0
        for y in years:
            result = estimate_partitioned(
                by_wave[y], comb.items, "mean", deff=False, covariance="group",
                respondents=respondent_sets(comb),
                linearisation=(fit.center(y)[:, None], fit.scale(y)[:, None]),
                **options[y])
            var = var + np.einsum("ij,jk,ik->i", comb.L, _answered_vcov(result), comb.L)
            item_df = item_df + result.item_df
            design_df += result.estimate.df
            n = n + result.respondents[0].astype(np.int64)
        notes.append(("engine", "", engine_note(files, client)))
    first_item = np.argmax(comb.L != 0, axis=1)
    df = np.array([design_df if t.is_indicator else item_df[first_item[i]]
                   for i, t in enumerate(comparable)], dtype=np.int64) - 1
    return Trend(waves=tuple(years), table=trend_table(comb, years, fit.slope, var, df, n,
                                                       args.level),
                 series=ordered_series(series, comparable),
                 notes=pd.DataFrame(notes, columns=list(NOTES_COLUMNS)), level=args.level,
                 weighting=pd.DataFrame(weighting))


def _item_sums(result, items, files, options):
    """The whole sample's means and weight sums of ``items`` in one wave: from the series'
    estimate when it has them all, else from one more estimate."""
    import numpy as np

    names = list(result.estimate.item[:result.weight_sums.shape[1]])
    if not set(items) <= set(names):
        result = estimate_partitioned(files, list(items), "mean", deff=False, **options)
        names = list(items)
    at = [names.index(c) for c in items]
    return np.asarray(result.estimate.coef)[at], result.weight_sums[0, at]


def _answered_vcov(result):
    """The covariance of the items' influence totals; an item without answers in the wave has
    none (0, as the pooled design's zero influence values), not an undefined one."""
    import numpy as np

    none = result.weight_sums[0] == 0
    vcov = np.array(result.estimate.vcov, dtype=float)
    vcov[none, :] = 0.0
    vcov[:, none] = 0.0
    return vcov
