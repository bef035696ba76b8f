"""Multi-year trends: a design-based test for a linear trend, and per-wave series with CIs.

For three or more waves, each target (a raw item or an indicator, see :mod:`analysis.indicators`)
gets:

* **A linear trend**: the slope per year of a weighted least-squares regression of the answers on
  the survey year, fitted with statsmodels (``WLS``) on the pooled waves, with a design-based
  variance: the slope is a smooth function of each wave's totals of the answers and of their
  weights, so its covariance is a delta-method contrast (:meth:`analysis.results.Estimate.
  contrast_fn`) of those totals' covariance from the one estimation core
  (:func:`slope_estimate`). The totals are estimated on the pooled design, whose strata are
  (wave, stratum) and PSUs (wave, stratum, PSU), so ids never merge across waves and the waves
  are independent samples (their totals' covariance is block-diagonal).
  Without strata each wave is one stratum; without PSUs each respondent is a PSU. This is R's
  ``svyglm(item ~ wave, design)`` on the pooled design (survey 4.1-1): same slope, SE, t on
  ``PSUs - strata - 1`` df and p-value (checked to 1e-9, ``tests/fixtures/r_indicators_trends``).
  A missing answer leaves the respondent out of that item's regression (R's ``na.omit``).
* For a **norm score** (mean of its items' means on 0-100) the slope is ``25 x`` the mean of its
  items' slopes, a contrast of the items' slope :class:`Estimate` (a gap: awareness minus
  practice; the index: the mean over the norms), so the SE again accounts for the covariance of
  items answered by the same people.
* **A per-wave series**: each wave's estimate on its own design with SE and CI, ready to plot.

The waves come from :func:`analysis.pipeline.load_survey` (``data`` may be a DataFrame, a path or
a loaded :class:`analysis.pipeline.Survey`). Comparability is :mod:`analysis.comparability`'s,
across all the waves: an item must be asked
with the same wording version in every wave, an indicator scored from the same items everywhere
(or, with ``common_items``, from the items all waves share).

With margins, each wave is raked to its own margins (in the pooled design: margins crossed with
the wave), and both the trend SE and the per-wave series SEs account for the raking (the
calibration variance of R's ``calibrate(..., calfun="raking")``, as the analysis core).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from analysis.compare import NOTES_COLUMNS, as_survey
from analysis.errors import AnalysisInputError
from analysis.indicators import _combination, estimate_targets, parse_targets
from analysis.pipeline import DesignSpec, Survey, load_survey, margins_for_wave, weighting_table
from analysis.regression import degf
from analysis.results import Estimate

TREND_COLUMNS = ("item", "first_wave", "last_wave", "n_waves", "slope", "se", "ci_low",
                 "ci_high", "t", "df", "p_value", "n")
SERIES_COLUMNS = ("item", "wave", "estimate", "se", "ci_low", "ci_high", "n")
MIN_WAVES = 3

__all__ = ["MIN_WAVES", "SERIES_COLUMNS", "TREND_COLUMNS", "Trend", "WaveFit", "linear_trend",
           "ordered_series", "pooled_design", "trend_table", "wave_fit"]


@dataclass
class Trend:
    """Result of :func:`linear_trend`.

    ``table`` (:data:`TREND_COLUMNS`): one row per comparable target: ``slope`` per year (item
    units for raw items, points on 0-100 for indicators), ``se``, ``ci_low``/``ci_high``
    (t on ``df``), ``t``, ``df`` (PSUs - strata - 1 of the pooled design), ``p_value``
    (two-sided, H0: no linear trend), ``n`` respondents used.
    ``series`` (:data:`SERIES_COLUMNS`): per target and wave the estimate with SE and normal CI.
    ``notes``: ``kind, item, message`` (quality exclusions, not comparable targets, items the
    data lack, norm-wording changes).
    """

    waves: tuple[int, ...]
    table: pd.DataFrame
    series: pd.DataFrame
    notes: pd.DataFrame
    level: float = 0.95
    weighting: pd.DataFrame | None = None  # per wave: weighting diagnostics of its design

    def __repr__(self) -> str:
        lines = [f"Linear trends over waves {', '.join(map(str, self.waves))} "
                 f"(slope per year, design-based SE)"]
        for _, r in self.table.iterrows():
            lines.append(f"  {r['item']:<16} slope {r['slope']:+.4g}  se {r['se']:.3g}  "
                         f"t {r['t']:.2f} (df {r['df']})  p {r['p_value']:.3g}")
        for _, r in self.notes[self.notes["kind"] == "not_comparable"].iterrows():
            lines.append(f"  {r['message']}")
        return "\n".join(lines)


def pooled_design(frames: dict[int, pd.DataFrame], spec: DesignSpec):
    """One design over several waves: strata (wave, stratum), PSUs (wave, stratum, PSU).

    Returns ``(design, data)``; ``data`` is the concatenated rows with the pooled columns
    ``_wave``, ``_stratum``, ``_psu`` (when PSUs are given) and ``_weight``. With margins the
    pooled design is raked to the margins crossed with the wave (variable ``_rk_sex`` with
    categories ``2024|male``, ... and each wave's own targets), which gives exactly each wave's
    own raked weights, and its variances account for that calibration, as R's
    ``calibrate(pooled, ~wave:sex + wave:region, calfun="raking")`` would.
    """
    from dataclasses import replace

    from analysis.design import SurveyDesign

    if spec.margins is not None and spec.bounds is not None:
        # raking and linear calibration give the same weights from any starting scale, so the
        # pooled calibration is each wave's own; bounds apply to g-weights after R's rescaling
        # to the targets, which differs between one wave and the pooled waves
        raise AnalysisInputError(
            "trend: --bounds cannot be applied to the pooled design of several waves (its "
            "g-weights would differ from each wave's own); use unbounded --calfun raking or "
            "linear for trends, or estimate the waves with bounds one by one")
    parts = []
    crossed = []
    for year, df in frames.items():
        part = df.copy()
        part["_wave"] = year
        stratum = (df[spec.strata].astype(str) if spec.strata else pd.Series("", index=df.index))
        part["_stratum"] = f"{year}:" + stratum
        if spec.psu:
            first = spec.psu if isinstance(spec.psu, str) else spec.psu[0]
            part["_psu"] = part["_stratum"] + ":" + df[first].astype(str)
        if spec.margins is None:
            part["_weight"] = spec.build(df, year).weights
        else:
            # the starting weights of the wave's own design (fpc-derived without a weight
            # column, as R), so the pooled calibration gives each wave's own weights
            start = replace(spec, margins=None, weight=spec.base_weight or spec.weight,
                            base_weight=None, replicates=None)
            part["_weight"] = start.build(df, year).weights
            margins = _as_margins(margins_for_wave(spec.margins, year))
            own = margins.targets(sample_size=len(df), rescale=spec.rescale)
            for var, targets in own.items():
                if var not in df.columns:
                    raise AnalysisInputError(f"unknown column '{var}': the margins weight on it "
                                             "but the data have no such column")
                part[f"_rk_{var}"] = _wave_categories(df[var], year)
                crossed += [(f"_rk_{var}", f"{year}|{cat}", t) for cat, t in targets.items()]
        parts.append(part)
    data = pd.concat(parts, ignore_index=True)
    # later stages (a multistage spec) are nested in the pooled PSU by the design itself
    later = () if spec.psu is None or isinstance(spec.psu, str) else tuple(spec.psu[1:])
    design = SurveyDesign(data, weights="_weight", strata="_stratum",
                          psu=("_psu", *later) if later else "_psu" if spec.psu else None,
                          fpc=spec.fpc, lonely_psu=spec.lonely_psu)
    if crossed:
        from analysis.margins import Margins

        table = pd.DataFrame(crossed, columns=["variable", "category", "target"])
        # the margins crossed with the wave make a block-diagonal calibration model, so any
        # calibration function and bounds calibrate each wave exactly as its own design does
        design = design.calibrate(Margins(table, source="margins crossed with wave"),
                                  calfun=spec.calfun, bounds=spec.bounds,
                                  variance=spec.rake_variance)
        data["_weight"] = design.weights
    return design, data


def _wave_categories(values: pd.Series, year) -> np.ndarray:
    """``"<year>|<category>"`` for each value (``None`` where missing or blank): the labels are
    made once per distinct value, not once per row."""
    codes, uniques = pd.factorize(values)
    labels = [_category(u) for u in uniques]
    crossed = np.array([f"{year}|{lab}" if lab != "" else None for lab in labels] + [None],
                       dtype=object)
    return crossed[codes]  # code -1 (missing) takes the trailing None


def _as_margins(margins):
    from analysis.margins import Margins

    return margins if isinstance(margins, Margins) else Margins(pd.DataFrame(margins))


def _category(v) -> str:
    from analysis.margins import category_label

    return category_label(v)


@dataclass(frozen=True)
class WaveFit:
    """Per item the WLS fit of the answers on the survey year: ``intercept``, ``slope`` (NaN
    where fewer than two waves have answers) and the slope's row of ``(X'WX)^-1``,
    ``c0 + c1 t``. A row of wave ``t`` has the influence value ``w (y - center(t)) scale(t)``
    on the slope."""

    intercept: np.ndarray
    slope: np.ndarray
    c0: np.ndarray
    c1: np.ndarray

    def center(self, year) -> np.ndarray:
        return self.intercept + np.nan_to_num(self.slope) * year

    def scale(self, year) -> np.ndarray:
        return self.c0 + self.c1 * year


def wave_fit(years: np.ndarray, means: np.ndarray, weights: np.ndarray) -> WaveFit:
    """The pooled WLS fit of each item on the year from the waves' weighted means ``(T, k)``
    and weight sums of the answers ``(T, k)`` (``years`` ``(T,)``).

    The regressor takes one value per wave, so the weighted least-squares fit of the rows equals
    the statsmodels ``WLS`` fit of the per-wave weighted means with the per-wave weight sums as
    weights: same coefficients and same ``(X'WX)^-1``. Fitting those few points keeps the fit
    in statsmodels and needs only per-wave sums (the Dask engine's too).
    """
    k = means.shape[1]
    slopes = np.full(k, np.nan)
    b0, c0, c1 = np.zeros(k), np.zeros(k), np.zeros(k)
    xt = np.column_stack([np.ones(len(years)), np.asarray(years, dtype=float)])
    for j in range(k):
        present = weights[:, j] > 0
        if present.sum() < 2:
            continue
        fit = sm.WLS(means[present, j], xt[present], weights=weights[present, j]).fit()
        b0[j], slopes[j] = fit.params
        bread = fit.normalized_cov_params  # (X'WX)^-1 of the row-level fit
        c0[j], c1[j] = bread[0, 1], bread[1, 1]
    return WaveFit(intercept=b0, slope=slopes, c0=c0, c1=c1)


def slope_estimate(design, items: Sequence[str], year: np.ndarray) -> Estimate:
    """Per item the WLS slope on ``year`` (:func:`wave_fit`) as an :class:`Estimate`: a smooth
    function of each wave's totals of the answers ``Y_t`` and of the weights of the answers
    ``W_t``, whose covariance (one :func:`analysis.estimates.estimate_columns` of the totals by
    wave) gives the slopes' by the delta method, as R's ``svycontrast``.

    The slope is ``b = sum_t s_t Y_t`` with ``s_t = c0 + c1 t`` the slope's row of
    ``(X'WX)^-1`` at wave ``t``; its derivatives are ``s_t`` for ``Y_t`` and ``-s_t yhat_t``
    for ``W_t`` (``yhat_t`` the fitted value), which is the linearisation of R's
    ``svyglm(item ~ wave)`` on the pooled design: the combination ``J`` is evaluated at the
    estimates, and ``J V J'`` is the sandwich variance. An item answered in fewer than two
    waves has a NaN slope and a zero row of ``J``.
    """
    from analysis.estimates import estimate_columns

    items = list(items)
    k = len(items)
    codes, years = pd.factorize(np.asarray(year), sort=True)
    y = design.item_matrix(items)
    columns = {f"Y:{c}": y[:, j] for j, c in enumerate(items)}
    columns.update({f"W:{c}": (~np.isnan(y[:, j])).astype(float) for j, c in enumerate(items)})
    s = design.structure
    if s.lonely_psu == "average" and s.lonely.any() and not design.calibrated:
        # R's svyglm averages the lonely strata over every stratum of the pooled design, a wave
        # domain over the strata it reaches: the totals of each wave are columns of the whole
        # sample (zero outside the wave, and for the unanswered), not domains
        columns = {f"{name}@{t}": np.where(codes == i, np.nan_to_num(v), 0.0)
                   for i, t in enumerate(years) for name, v in columns.items()}
        partitions = None
    else:
        partitions = [("_wave", codes.astype(np.int64), [str(t) for t in years])]
    totals = estimate_columns(design, columns, partitions, covariance="all", total=True)
    sums = totals.coef.reshape(len(years), 2, k)
    wy_sum, w_sum = sums[:, 0], sums[:, 1]
    years = np.asarray(years, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = wave_fit(years, wy_sum / w_sum, w_sum)
    scale = fit.scale(years[:, None])  # (T, k)
    J = np.zeros((k, len(years), 2, k))
    rows = np.arange(k)
    J[rows, :, 0, rows] = scale.T
    J[rows, :, 1, rows] = -(scale * fit.center(years[:, None])).T
    J = J.reshape(k, -1)
    return totals.contrast_fn(lambda _: fit.slope, lambda _: J, names=items)


def linear_trend(
    data,
    items: Sequence[str],
    waves: Sequence[int] | None = None,
    *,
    design: DesignSpec | None = None,
    level: float = 0.95,
    keep_flagged: bool = False,
    common_items: bool = False,
    load_wave: Callable[[int], object] | None = None,
    load_norms: Callable[[], object] | None = None,
) -> Trend:
    """Linear trend per target over ``waves`` (default: every wave in ``data``; at least 3).

    ``items``: item codes and indicator names as in :func:`analysis.compare.compare_waves`;
    ``design``: column names (:class:`analysis.compare.DesignSpec`), applied to each wave.
    Raises :class:`AnalysisInputError` for fewer than three waves, a wave missing from the data,
    an unknown item, a comparable item without answers in some wave, or when no target is
    comparable across the waves.
    """
    design = design or DesignSpec()
    if waves is not None:
        check_wave_count(sorted(set(int(w) for w in waves)))
    targets = parse_targets(items)
    if not targets:
        raise AnalysisInputError("no items for the trend")
    if isinstance(data, Survey):
        survey = as_survey(data, sorted(int(w) for w in waves) if waves else list(data.waves))
    else:
        survey = load_survey(data, waves=None if waves is None else sorted(int(w) for w in waves),
                             keep_flagged=keep_flagged, load_wave=load_wave)
    waves = sorted(survey.waves)
    check_wave_count(waves)
    frames = {y: survey.frames[y] for y in waves}
    check = survey.comparability(targets, waves, common_items=common_items,
                                 load_norms=load_norms)
    notes = list(survey.notes) + check.notes
    comparable = check.comparable
    notes += [("not_comparable", name, f"{name}: not comparable, {reason}")
              for name, reason in check.not_comparable]
    if not comparable:
        reasons = "; ".join(m for k, _, m in notes if k == "not_comparable")
        raise AnalysisInputError(f"nothing to analyse: {reasons}")

    # per-wave series on each wave's own design
    series = []
    designs = {}
    for y in waves:
        designs[y] = d = survey.design(y, design)
        est = estimate_targets(d, comparable, check.scales_for(y), level=level)
        est.insert(1, "wave", y)
        series.append(est[list(SERIES_COLUMNS)])
    series = ordered_series(series, comparable)

    # the pooled regression
    if survey.pool is not None:  # several files: strata are file x stratum within each wave
        stratified = {y: survey.pool.stratified(f, design) for y, f in frames.items()}
        frames = {y: f for y, (f, _) in stratified.items()}
        design = stratified[waves[0]][1]
    pooled, pdata = pooled_design(frames, design)
    comb = _combination(comparable, check.scales_for(waves[0]))
    year = pdata["_wave"].to_numpy()
    slopes = slope_estimate(pooled, comb.items, year)
    var = slopes.contrast(comb.L).var
    answered = ~np.isnan(pooled.item_matrix(list(comb.items)))
    rows_used = answered.astype(np.int64) @ (comb.L != 0).T.astype(np.int64) > 0  # (n, m)
    # R's svyglm: degf of the design it fits (rows with the item answered) + 1 - 2 coefficients;
    # an indicator's influence lives on the whole pooled design (zeros where unanswered)
    everyone = np.ones(pooled.n, dtype=bool)
    df = np.array([degf(pooled, everyone if t.is_indicator else rows_used[:, i]) - 1
                   for i, t in enumerate(comparable)])
    table = trend_table(comb, waves, slopes.coef, var, df, rows_used.sum(axis=0), level)
    return Trend(waves=tuple(waves), table=table, series=series,
                 notes=pd.DataFrame(notes, columns=list(NOTES_COLUMNS)), level=level,
                 weighting=weighting_table(designs))


def ordered_series(parts: list[pd.DataFrame], targets) -> pd.DataFrame:
    """The waves' estimates (:data:`SERIES_COLUMNS`) as one table, target by target."""
    series = pd.concat(parts, ignore_index=True)
    series = series.assign(_t=series["item"].map({t.name: i for i, t in enumerate(targets)}))
    series = series.sort_values(["_t", "wave"], kind="stable").drop(columns="_t")
    return series.reset_index(drop=True)


def trend_table(comb, waves: Sequence[int], item_slopes: np.ndarray, var: np.ndarray,
                df: np.ndarray, n: np.ndarray, level: float) -> pd.DataFrame:
    """:data:`TREND_COLUMNS` from the items' slopes, the targets' variances (``L V L'``), their
    degrees of freedom and respondents: a target's slope is ``L`` times its items' slopes."""
    slope = comb.L @ np.nan_to_num(item_slopes)
    bad = ((comb.L != 0) & np.isnan(item_slopes)[None, :]).any(axis=1)
    slope[bad] = np.nan
    se = np.sqrt(np.clip(var, 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        tval = slope / se
        p = np.where(df > 0, 2 * stats.t.sf(np.abs(tval), np.maximum(df, 1)), np.nan)
        q = np.where(df > 0, stats.t.ppf(0.5 + level / 2, np.maximum(df, 1)), np.nan)
    return pd.DataFrame({
        "item": comb.names, "first_wave": waves[0], "last_wave": waves[-1],
        "n_waves": len(waves), "slope": slope, "se": se, "ci_low": slope - q * se,
        "ci_high": slope + q * se, "t": tval, "df": df, "p_value": p, "n": n,
    }, columns=list(TREND_COLUMNS))


def check_wave_count(waves: Sequence[int]) -> None:
    """Refuse fewer than :data:`MIN_WAVES` distinct waves."""
    if len(waves) < MIN_WAVES:
        raise AnalysisInputError(
            f"a linear trend needs at least {MIN_WAVES} waves; got "
            f"{len(waves)} ({', '.join(map(str, waves)) or 'none'})")
