"""Raking, calibration, post-stratification and trimming of survey weights, run on cells.

Calibrating to categorical margins multiplies every weight by a g-weight ``F(x' eta)`` whose
``x`` (the dummies of the row's categories) depends only on the row's cell of the crossed
weighting variables, so iterative proportional fitting (raking) and the Newton iterations of R's
``calibrate()`` (``grake``, for the linear, raking and logit calibration functions, with bounds)
run on the cells' weight totals (a few hundred numbers) however many rows there are. The
resulting design keeps a :class:`analysis.variance.CalibrationStep` so that standard errors
account for the calibration as R's ``calibrate()`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.design_columns import row_name
from analysis.errors import AnalysisInputError, ConvergenceError, bounded
from analysis.margins import Margins, category_label
from analysis.variance import CalibrationStep, compact_codes

# how the SEs of a raked design account for the raking (see CalibrationStep)
RAKE_VARIANCES = ("calibrate", "rake")


@dataclass(frozen=True)
class WeightingReport:
    """How a weighting went.

    Attributes:
        method: ``"rake"``, ``"calibrate"``, ``"poststratify"`` or ``"trim"``.
        iterations: sweeps of iterative proportional fitting, Newton steps of a calibration
            (1 for post-stratification; trim/re-calibrate rounds for trimming).
        max_margin_error: largest ``|achieved - target|`` over all margin categories, in
            weight units (persons).
        max_relative_error: the same divided by the target.
        converged: whether every margin is within ``epsilon`` (relative) of its target.
        epsilon: the tolerance used.
        n_trimmed: weights at a trimming bound (trimming only).
        weight_sum, weight_min, weight_max: of the final weights.
        calfun, bounds: the calibration function and the bounds on the g-weights
            (``"calibrate"`` only).
        rescaled: the factor R's ``grake`` put on the weights before calibrating, when every
            target is over 20 times its sample total (the bounds apply to the rescaled
            weights); ``None`` when it did not.
    """

    method: str
    iterations: int
    max_margin_error: float
    max_relative_error: float
    converged: bool
    epsilon: float
    n_trimmed: int = 0
    weight_sum: float = float("nan")
    weight_min: float = float("nan")
    weight_max: float = float("nan")
    calfun: str | None = None
    bounds: tuple[float, float] | None = None
    rescaled: float | None = None

    @property
    def label(self) -> str:
        """``rake``, ``calibrate (logit, g in [0.5, 2])``, ..."""
        if self.calfun is None:
            return self.method
        inside = f", g in [{self.bounds[0]:g}, {self.bounds[1]:g}]" if self.bounds else ""
        return f"{self.method} ({self.calfun}{inside})"

    def __str__(self) -> str:
        state = "converged" if self.converged else "NOT converged"
        s = (f"{self.label}: {state} after {self.iterations} iteration(s); max margin error "
             f"{self.max_margin_error:.3g} ({self.max_relative_error:.3g} relative); weights sum "
             f"{self.weight_sum:.6g}, range [{self.weight_min:.4g}, {self.weight_max:.4g}]")
        if self.method == "trim":
            s += f"; {self.n_trimmed} weight(s) at a bound"
        if self.rescaled is not None:
            s += f"; input weights rescaled by {self.rescaled:.6g} first (as R)"
        if self.weight_min < 0:
            s += "; some weights are negative: bound the g-weights from below (e.g. 0.1,10)"
        return s


@dataclass(frozen=True)
class CalibrationTargets:
    """What a design was calibrated to, and what re-calibrating it (:meth:`SurveyDesign.trim`)
    needs: the cell of each row in the crossed weighting variables, each cell's category per
    variable, the targets, and the calibration function and bounds (raking without bounds:
    iterative proportional fitting)."""

    variables: tuple[str, ...]
    cell: np.ndarray            # (n,)
    cell_cats: np.ndarray       # (C, V) category index per variable
    targets: tuple[np.ndarray, ...]  # per variable, target per category
    labels: tuple[tuple[str, ...], ...]  # per variable, category labels
    calfun: str = "raking"
    bounds: tuple[float, float] | None = None

    @property
    def proportional_fitting(self) -> bool:
        """Whether the weights are found by iterative proportional fitting (raking without
        bounds), else by Newton's method as R's ``grake``."""
        return self.calfun == "raking" and self.bounds is None


# ---------------------------------------------------------------------- calibration functions
@dataclass(frozen=True)
class CalibrationFunction:
    """A calibration function of R's ``calibrate()`` (survey 4.1-1, ``R/grake.R``): the g-weight
    minus 1 and its derivative as functions of ``u = x' eta``, given the bounds ``(L, U)`` on
    the g-weights (``-inf, inf`` without bounds). Written as R writes them, quirks included,
    so that Newton's method takes R's steps."""

    name: str
    g_minus_1: Callable[[np.ndarray, float, float], np.ndarray]
    derivative: Callable[[np.ndarray, float, float], np.ndarray]
    needs_bounds: bool = False


def _inside(u, lo, hi):
    # R's cal.linear and cal.raking cut the derivative where u (not the g-weight) leaves
    # (L - 1, U - 1); for raking that differs from where exp(u) is clipped, and R does so
    return (u < hi - 1) & (u > lo - 1)


def _logit_parts(u, lo, hi):
    a = (hi - lo) / ((hi - 1) * (1 - lo))
    e = np.exp(a * u)
    return a, e, hi - 1 + (1 - lo) * e


def _logit_g_minus_1(u, lo, hi):
    _, e, den = _logit_parts(u, lo, hi)
    return (lo * (hi - 1) + hi * (1 - lo) * e) / den - 1


def _logit_derivative(u, lo, hi):
    a, e, den = _logit_parts(u, lo, hi)
    return (hi * (1 - lo) * e * a / den
            - ((lo * (hi - 1) + hi * (1 - lo) * e) * ((1 - lo) * e * a)) / den ** 2)


CALIBRATION_FUNCTIONS = {
    "raking": CalibrationFunction(
        "raking", lambda u, lo, hi: np.minimum(np.maximum(np.exp(u), lo), hi) - 1,
        lambda u, lo, hi: np.where(_inside(u, lo, hi), np.exp(u), 0.0)),
    "linear": CalibrationFunction(
        "linear", lambda u, lo, hi: np.minimum(np.maximum(u + 1, lo), hi) - 1,
        lambda u, lo, hi: _inside(u, lo, hi).astype(float)),
    "logit": CalibrationFunction("logit", _logit_g_minus_1, _logit_derivative,
                                 needs_bounds=True),
}
NEWTON_MAX_ITER = 50  # R's calibrate(maxit=50)
RAKING_MAX_ITER = 1000
RESCALE_THRESHOLD = 20  # grake's SOMETHRESHOLD


def check_bounds(bounds, calfun: str, option: str = "bounds") -> tuple[float, float] | None:
    """``bounds`` on the g-weights as ``(L, U)``, or ``None`` for none; raises for a calfun
    that is not one of :data:`CALIBRATION_FUNCTIONS`, bounds that are not two numbers with
    ``L < 1 < U`` (Newton's method starts from g = 1, the input weights), and a logit
    calibration without finite bounds. ``option`` names the bounds in messages."""
    if calfun not in CALIBRATION_FUNCTIONS:
        raise AnalysisInputError(f"calibration function '{bounded(calfun)}' is not one of "
                                 f"{', '.join(CALIBRATION_FUNCTIONS)}")
    if bounds is not None:
        try:
            lo, hi = (float(b) for b in bounds)
        except (TypeError, ValueError):
            raise AnalysisInputError(f"{option} {bounded(bounds)}: give two numbers, the lower "
                                     "and upper bound of the g-weights") from None
        if np.isnan(lo) or np.isnan(hi):
            raise AnalysisInputError(f"{option} {lo:g},{hi:g}: not numbers")
        if lo >= hi:
            raise AnalysisInputError(f"{option} {lo:g},{hi:g}: the lower bound {lo:g} is not "
                                     f"below the upper bound {hi:g}")
        if not lo < 1 < hi:
            raise AnalysisInputError(f"{option} {lo:g},{hi:g}: the g-weights (calibrated / "
                                     "input weight) start at 1, which must lie strictly "
                                     "between the bounds")
        bounds = None if (lo, hi) == (-np.inf, np.inf) else (lo, hi)
    if CALIBRATION_FUNCTIONS[calfun].needs_bounds and (
            bounds is None or not np.isfinite(bounds).all()):
        raise AnalysisInputError(f"{calfun} calibration needs finite bounds on the g-weights "
                                 f"({option}), e.g. 0.5,2 (as R: 'Logit calibration requires "
                                 "finite bounds')")
    return bounds


def category_codes(data: pd.DataFrame, var: str, categories: list[str], source: str,
                   factorized: tuple | None = None, where: str = "") -> np.ndarray:
    """Index into ``categories`` of each row's value of ``var``; raises naming the column and
    value for a missing value or a category the margins lack (and the first row that has it).
    ``factorized``: the column's ``pd.factorize`` when the caller has it (see
    :meth:`SurveyDesign.factorized`); ``where``: the margins file, for the message."""
    if var not in data.columns:
        raise AnalysisInputError(
            f"unknown column '{var}': the {source} weight on it but the data have no such column")
    codes, uniques = factorized if factorized is not None else pd.factorize(data[var])
    if (codes < 0).any():
        i = int(np.flatnonzero(codes < 0)[0])
        raise AnalysisInputError(
            f"column '{var}': missing value in {row_name(data, i)}; every respondent needs a "
            "value of a weighting variable (impute it or drop the row)")
    index = {c: k for k, c in enumerate(categories)}
    mapping = np.empty(len(uniques), dtype=np.int64)
    for u, value in enumerate(uniques):
        label = category_label(value)
        if label not in index:
            first = int(np.flatnonzero(codes == u)[0])
            known = bounded(", ".join(categories))
            raise AnalysisInputError(
                f"column '{var}': value '{bounded(label)}' is not a category of the {source} for "
                f"'{var}' ({known}){f' in {where}' if where else ''}; first in "
                f"{row_name(data, first)} of the data")
        mapping[u] = index[label]
    return mapping[codes]


def _cells(codes: list[np.ndarray], sizes: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Cell code of each row of the crossed variables, and each cell's categories."""
    key = np.zeros(len(codes[0]), dtype=np.int64)
    for c, k in zip(codes, sizes, strict=True):
        key = key * k + c
    cell, uniq = compact_codes(key, int(np.prod(sizes, dtype=np.int64)))
    cats = np.empty((len(uniq), len(codes)), dtype=np.int64)
    rest = uniq.copy()
    for v in range(len(codes) - 1, -1, -1):
        cats[:, v] = rest % sizes[v]
        rest //= sizes[v]
    return cell.astype(np.int64), cats


def ipf(cell_base: np.ndarray, cell_cats: np.ndarray, targets: tuple[np.ndarray, ...],
        max_iter: int, epsilon: float) -> tuple[np.ndarray, int, np.ndarray, bool]:
    """Iterative proportional fitting on cells.

    Args:
        cell_base: ``(C,)`` weight total of each cell before raking.
        cell_cats: ``(C, V)`` category of each cell for each variable.
        targets: per variable, the ``(K_v,)`` target totals.

    Returns:
        ``(factor, iterations, relative_errors, converged)``: the ``(C,)`` raking factors,
        the number of sweeps, the relative error of every category after the last sweep
        (concatenated over variables) and whether they are all below ``epsilon``.
    """
    g = np.ones(len(cell_base))
    errors = np.full(1, np.inf)
    for it in range(1, max_iter + 1):  # noqa: B007 (it is reported)
        for v, t in enumerate(targets):
            achieved = np.bincount(cell_cats[:, v], cell_base * g, minlength=len(t))
            with np.errstate(divide="ignore", invalid="ignore"):
                g *= np.where(achieved > 0, t / achieved, 0.0)[cell_cats[:, v]]
        errors = margin_errors(cell_base * g, cell_cats, targets)[1]
        if errors.max() < epsilon:
            return g, it, errors, True
    return g, max_iter, errors, False


def margin_errors(cell_weights, cell_cats, targets) -> tuple[np.ndarray, np.ndarray]:
    """Absolute and relative error of every margin category."""
    ab, rel = [], []
    for v, t in enumerate(targets):
        achieved = np.bincount(cell_cats[:, v], cell_weights, minlength=len(t))
        ab.append(np.abs(achieved - t))
        rel.append(ab[-1] / np.where(t > 0, t, 1.0))
    return np.concatenate(ab), np.concatenate(rel)


def rake_design(design, margins: Margins, max_iter: int = RAKING_MAX_ITER,
                epsilon: float = 1e-10, rescale: bool = False, variance: str = "calibrate"):
    """See :meth:`analysis.design.SurveyDesign.rake`."""
    calibration_method("raking", None, variance, max_iter)
    spec = margins_spec(design, margins, rescale)
    weights, report = _calibrated_weights(design.weights, spec, max_iter, epsilon, "rake")
    step = _margins_step(spec, design.weights, weights, variance, kind="rake")
    new = _calibrated_design(design, weights, step, report, spec)
    return _calibrated_replicates(design, new, spec, max_iter, epsilon)


def _calibrated_replicates(design, new, spec: CalibrationTargets, max_iter: int, epsilon: float):
    """``new`` with ``design``'s replicate weights calibrated to the same margins, each
    replicate on its own (R's ``calibrate()`` of a replicate design)."""
    if design.replicates is None:
        return new
    return new.with_replicates(design.replicates.calibrated(spec, max_iter, epsilon))


def calibrate_design(design, margins: Margins, calfun: str = "linear", bounds=None,
                     max_iter: int | None = None, epsilon: float = 1e-10, rescale: bool = False,
                     variance: str = "calibrate"):
    """See :meth:`analysis.design.SurveyDesign.calibrate`."""
    bounds, max_iter = calibration_method(calfun, bounds, variance, max_iter)
    if calfun == "raking" and bounds is None:
        return rake_design(design, margins, max_iter, epsilon, rescale, variance)
    spec = margins_spec(design, margins, rescale, calfun, bounds)
    weights, report = _calibrated_weights(design.weights, spec, max_iter, epsilon, "calibrate")
    step = _margins_step(spec, design.weights, weights, variance, kind=calfun)
    new = _calibrated_design(design, weights, step, report, spec)
    return _calibrated_replicates(design, new, spec, max_iter, epsilon)


def calibration_method(calfun: str, bounds, variance: str, max_iter: int | None
                       ) -> tuple[tuple[float, float] | None, int]:
    """The checked bounds of a calibration and its iterations (``max_iter``, or by default
    :data:`RAKING_MAX_ITER` sweeps of raking without bounds, :data:`NEWTON_MAX_ITER` Newton
    steps otherwise); raises for a calfun, bounds or variance that do not go together."""
    bounds = check_bounds(bounds, calfun)
    if variance not in RAKE_VARIANCES:
        raise AnalysisInputError(
            f"raking variance '{variance}' is not one of {', '.join(RAKE_VARIANCES)}")
    if calfun == "raking" and bounds is None:
        return None, RAKING_MAX_ITER if max_iter is None else max_iter
    if variance != "calibrate":
        raise AnalysisInputError(f"the variance of R's rake() (variance='{variance}') is for "
                                 f"raking without bounds, not for {calfun} calibration"
                                 + (" with bounds" if calfun == "raking" else ""))
    return bounds, NEWTON_MAX_ITER if max_iter is None else max_iter


def margins_spec(design, margins: Margins, rescale: bool, calfun: str = "raking",
                 bounds=None) -> CalibrationTargets:
    """The cells of ``design``'s rows for ``margins`` and their targets; raises for a data
    category the margins lack, a margin category without respondents (with a positive
    weight), a missing value in a weighting variable."""
    if not isinstance(margins, Margins):
        margins = Margins(pd.DataFrame(margins))
    base = design.weights
    variables = tuple(margins.variables)
    # a data category the margins lack is the mistake to report first: it usually explains
    # why the totals disagree too
    codes = [category_codes(design.data, var, margins.categories(var), "margins",
                            factorized=design.factorized(var)
                            if var in design.data.columns else None,
                            where=_margins_file(margins))
             for var in variables]
    targets = margins.targets(sample_size=design.n, rescale=rescale)
    sizes, tvecs, labels = [], [], []
    for var, c in zip(variables, codes, strict=True):
        cats = list(targets[var].index)
        t = targets[var].to_numpy(dtype=float)
        check_category_support(margins, var, cats, t, np.bincount(c, base, minlength=len(cats)),
                               np.bincount(c, minlength=len(cats)))
        sizes.append(len(cats))
        tvecs.append(t)
        labels.append(tuple(cats))
    cell, cell_cats = _cells(codes, sizes)
    return CalibrationTargets(variables, cell, cell_cats, tuple(tvecs), tuple(labels), calfun,
                              bounds)


def check_category_support(margins: Margins, var: str, cats: list[str], t: np.ndarray,
                           have: np.ndarray, count: np.ndarray) -> None:
    """Refuse a margin category with a target but no (positively weighted) respondents, or
    with respondents but target 0; ``have`` and ``count`` are the data's weight sum and rows
    per category of ``var``."""
    for k, cat in enumerate(cats):
        if t[k] > 0 and have[k] <= 0:
            who = "no respondents" if count[k] == 0 else "no respondents with a positive weight"
            raise AnalysisInputError(
                f"margins: category '{cat}' of '{var}' has {who} in the data "
                f"(target {margins_target(margins, var, cat)}); merge it with a neighbour "
                "or drop it from the margins")
        if t[k] == 0 and count[k] > 0:
            raise AnalysisInputError(
                f"margins: category '{cat}' of '{var}' has target 0 but {count[k]} "
                "respondent(s) in the data")


def _margins_file(margins: Margins) -> str:
    """The margins' file name for messages ("" for margins built in code)."""
    return "" if margins.source == "margins" else margins.source


def margins_target(margins: Margins, var: str, cat: str) -> str:
    t = margins.table
    v = t[(t.variable == var) & (t.category == cat)].target
    return f"{v.iloc[0]:.10g}" if len(v) else "?"


def _calibrated_weights(base, spec: CalibrationTargets, max_iter, epsilon, method):
    """The weights that meet ``spec``'s margins from ``base``, and the report; raises
    :class:`ConvergenceError` naming the margin furthest off when they are not found."""
    cell_base = np.bincount(spec.cell, base, minlength=len(spec.cell_cats))
    g, iters, ab, rel, scale = cell_factors(cell_base, spec, max_iter, epsilon)
    weights = base * g[spec.cell]
    report = _report(method, iters, ab, rel, True, epsilon, weights)
    if method == "calibrate":
        from dataclasses import replace

        report = replace(report, calfun=spec.calfun, bounds=spec.bounds, rescaled=scale)
    return weights, report


def cell_factors(cell_base: np.ndarray, spec: CalibrationTargets, max_iter: int,
                 epsilon: float):
    """The g-weights of the cells that meet ``spec``'s margins from the cells' weight totals
    ``cell_base`` (raking: :func:`ipf`; another calfun or bounds: :func:`newton_calibration`)
    -- all a calibration to categorical margins needs, so an engine that holds only the cell
    table (:mod:`analysis.dask_engine`) calibrates with it too. Returns ``(g, iterations,
    absolute errors, relative errors, R's rescaling factor or None)``; raises
    :class:`ConvergenceError` naming the margin furthest off when the weights are not found."""
    if max_iter < 1:
        raise AnalysisInputError("max_iter must be at least 1")
    if spec.proportional_fitting:
        g, iters, rel, converged = ipf(cell_base, spec.cell_cats, spec.targets, max_iter,
                                       epsilon)
        scale = None
    else:
        g, iters, rel, converged, scale = newton_calibration(cell_base, spec, max_iter, epsilon)
    if not converged:
        k = int(np.argmax(rel))
        var, cat = _category_at(spec, k)
        if spec.proportional_fitting:
            raise ConvergenceError(
                f"raking did not converge in {max_iter} iterations: '{var}'='{cat}' is still "
                f"{rel[k]:.3g} (relative) off its target; check that the margins are "
                "consistent or allow more iterations")
        inside = (f" with g-weights in [{spec.bounds[0]:g}, {spec.bounds[1]:g}]"
                  if spec.bounds else "")
        off = (f"'{var}'='{cat}' is still {rel[k]:.3g} (relative) off its target"
               if np.isfinite(rel[k]) else "the g-weights overflowed on the way")
        raise ConvergenceError(
            f"{spec.calfun} calibration{inside} failed to converge in {max_iter} iterations: "
            f"{off}; widen the bounds, or check that the margins are consistent")
    ab, rel = margin_errors(cell_base * g, spec.cell_cats, spec.targets)
    return g, iters, ab, rel, scale


def r_model_matrix(spec: CalibrationTargets) -> tuple[np.ndarray, np.ndarray]:
    """R's model matrix of ``~a+b+...`` on the cells, and its population totals: an intercept
    (the total), then the dummies of every category of each variable but its reference level,
    the first in the margins that has respondents (R's first factor level). Categories
    without respondents (their target is 0) have no column, as R drops them."""
    n_cells = len(spec.cell_cats)
    columns, population = [np.ones(n_cells)], [float(spec.targets[0].sum())]
    for v, t in enumerate(spec.targets):
        present = np.unique(spec.cell_cats[:, v])
        for k in present[1:]:
            columns.append((spec.cell_cats[:, v] == k).astype(float))
            population.append(float(t[k]))
    return np.column_stack(columns), np.array(population)


def newton_calibration(cell_base: np.ndarray, spec: CalibrationTargets, max_iter: int,
                       epsilon: float):
    """R's ``grake`` (survey 4.1-1) on cells: Newton's method for the g-weights
    ``1 + F(x' eta)`` of ``spec.calfun`` within ``spec.bounds`` that meet the margins,
    from ``eta = 0``, with R's pseudo-inverse (tolerance ``256 eps``), its step halving while a
    g-weight or a derivative is not finite, and its rescaling of the weights by the mean ratio
    of target to sample total when every ratio is over 20 (the bounds then apply to the
    rescaled weights, and the g-weights returned include the factor).

    Stops when every margin category is within ``epsilon`` of its target, relative to the
    target (as :func:`ipf`; R stops on ``|misfit| / (1 + |target|) < epsilon`` of its model's
    columns, a criterion of the same kind).

    Returns:
        ``(g, iterations, relative_errors, converged, scale)``: the ``(C,)`` g-weights of the
        cells, the Newton steps taken, the relative error of every margin category, whether
        they are all below ``epsilon``, and R's rescaling factor (``None`` if not rescaled).
    """
    function = CALIBRATION_FUNCTIONS[spec.calfun]
    lo, hi = spec.bounds if spec.bounds is not None else (-np.inf, np.inf)
    model, population = r_model_matrix(spec)
    weights = cell_base
    sample_total = model.T @ weights
    with np.errstate(divide="ignore", invalid="ignore"):
        scales = population / sample_total
    scale = None
    if scales.min() > RESCALE_THRESHOLD:
        scale = float(scales.mean())
        weights = weights * scale
        sample_total = sample_total * scale
    eta = np.zeros(model.shape[1])

    def at(eta):
        u = model @ eta
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return function.g_minus_1(u, lo, hi), function.derivative(u, lo, hi)

    g1, deriv = at(eta)
    iteration = 1
    while True:
        tmat = (model * (weights * deriv)[:, None]).T @ model
        misfit = population - sample_total - model.T @ (weights * g1)
        step = np.linalg.pinv(tmat, rcond=256 * np.finfo(float).eps) @ misfit
        eta = eta + step
        g1, deriv = at(eta)
        while iteration < max_iter and not (np.isfinite(g1).all() and np.isfinite(deriv).all()):
            iteration += 1
            step = step / 2
            eta = eta - step
            g1, deriv = at(eta)
        with np.errstate(invalid="ignore"):
            rel = margin_errors(weights * (1 + g1), spec.cell_cats, spec.targets)[1]
        rel = np.where(np.isnan(rel), np.inf, rel)
        if rel.max() < epsilon:
            converged = True
            break
        iteration += 1
        if iteration > max_iter:
            converged = False
            iteration = max_iter
            break
    g = 1 + g1
    if scale is not None:
        g = g * scale
    return g, iteration, rel, converged, scale


def _category_at(spec: CalibrationTargets, k: int) -> tuple[str, str]:
    for var, labs in zip(spec.variables, spec.labels, strict=True):
        if k < len(labs):
            return var, labs[k]
        k -= len(labs)
    raise IndexError(k)


def trim_weights(w: np.ndarray, lower: float, upper: float, strict: bool = False,
                 max_iter: int = 100) -> tuple[np.ndarray, int]:
    """R's ``trimWeights(design, upper, lower, strict)`` (survey 4.1-1) on weights ``w``:
    weights outside ``[lower, upper]`` are set to the bound, and what they lost (or gained)
    is shared equally, added to every weight that was inside, so the total is kept. Once, so
    that a weight pushed over a bound by its share stays there, unless ``strict``: then
    repeated until no weight is outside (a weight trimmed earlier, at its bound, shares in
    the later rounds, as in R). ``-inf``/``inf`` for no bound. Returns the weights and the
    number of rounds that trimmed (0: none was outside, ``w`` is returned as it is)."""
    import math

    for it in range(max_iter + 1):
        outside = (w < lower) | (w > upper)
        if not outside.any():
            return w, it
        if it == max_iter:
            break
        if outside.all():
            raise ConvergenceError(f"trimming to [{lower:g}, {upper:g}] cannot keep the weight "
                                   f"total {w.sum():.6g}: every weight is outside the bounds")
        new = np.clip(w, lower, upper)
        inside = ~outside
        # R's sum() adds in extended precision: fsum is the correctly rounded sum
        new[inside] += math.fsum(w - new) / np.count_nonzero(inside)
        w = new
        if not strict:
            return w, it + 1
    raise ConvergenceError(f"trimming to [{lower:g}, {upper:g}] with strict=True did not settle "
                           f"in {max_iter} rounds; widen the bounds")


def _report(method, iters, ab, rel, converged, epsilon, weights, n_trimmed=0):
    return WeightingReport(method=method, iterations=iters, max_margin_error=float(ab.max()),
                           max_relative_error=float(rel.max()), converged=converged,
                           epsilon=epsilon, n_trimmed=n_trimmed,
                           weight_sum=float(weights.sum()), weight_min=float(weights.min()),
                           weight_max=float(weights.max()))


def rake_model(cell_cats: np.ndarray, targets) -> np.ndarray:
    """``(C, p)`` model matrix of the cells of a raking: dummies of every category of the first
    variable, all but the first of the others -- the column space of R's ``~a+b+c`` model
    matrix with full column rank (fewer columns to carry)."""
    return np.hstack([np.eye(len(t))[cell_cats[:, v]][:, (0 if v == 0 else 1):]
                      for v, t in enumerate(targets)])


def _margins_step(spec: CalibrationTargets, before, after, variance: str, kind: str
                  ) -> CalibrationStep:
    labels = np.array([[spec.labels[v][k] for v, k in enumerate(row)]
                       for row in spec.cell_cats], dtype=object)
    return CalibrationStep(kind=kind, variables=spec.variables, cell=spec.cell,
                           model=rake_model(spec.cell_cats, spec.targets), before=before,
                           after=after,
                           cell_labels=labels, variance=variance, margins=spec.cell_cats)


def _calibrated_design(design, weights, step: CalibrationStep, report: WeightingReport,
                       targets: CalibrationTargets):
    """``design`` with the calibrated ``weights``, one more calibration ``step`` (for the
    variance), the ``report`` and the ``targets`` (for trimming)."""
    return design.replace(weights=weights, calibration_steps=design.calibration_steps + (step,),
                          weighting=report, calibration_targets=targets)


# ---------------------------------------------------------------------- post-stratification
@dataclass(frozen=True)
class PoststratificationTable:
    """A post-stratification table read: its variables, the categories of each (in the
    table's order), each row's target and the table row of every combination."""

    variables: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]
    targets: np.ndarray
    row_of: dict  # (category index per variable) -> table row

    def label(self, combination) -> str:
        return ", ".join(f"{v}='{self.categories[i][combination[i]]}'"
                         for i, v in enumerate(self.variables))


def poststratification_table(table: pd.DataFrame, target: str = "target"
                             ) -> PoststratificationTable:
    """Check and read a post-stratification table (see :meth:`SurveyDesign.poststratify`)."""
    if target not in table.columns:
        raise AnalysisInputError(f"post-stratification table: no '{target}' column")
    variables = tuple(c for c in table.columns if c != target)
    if not variables:
        raise AnalysisInputError("post-stratification table: no variables besides the target")
    t = pd.to_numeric(table[target], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(t).all() or (t < 0).any():
        i = int(np.flatnonzero(~np.isfinite(t) | (t < 0))[0])
        raise AnalysisInputError(f"post-stratification table: row {i + 2}: target "
                                 f"'{table[target].iloc[i]}' is not a non-negative number")
    labels = [[category_label(v) for v in table[var]] for var in variables]
    table_keys = list(zip(*labels, strict=True))
    if len(set(table_keys)) != len(table_keys):
        raise AnalysisInputError("post-stratification table: a combination of "
                                 f"{', '.join(variables)} is given twice")
    cats_per_var = tuple(tuple(dict.fromkeys(labs)) for labs in labels)
    row_of = {tuple(cats_per_var[v].index(k[v]) for v in range(len(variables))): r
              for r, k in enumerate(table_keys)}
    return PoststratificationTable(variables, cats_per_var, t, row_of)


def poststratify_cells(table: PoststratificationTable, rows: int, cell_cats: np.ndarray,
                       cell_base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The factor of every cell (``cell_cats`` ``(C, V)``, their weight totals ``cell_base``)
    that makes its weights its target, and the targets per cell (shares summing to 1 are
    multiplied by the ``rows``); raises for respondents without a row in the table, a cell
    with a target but no respondents, or none with a positive weight."""
    t = table.targets * rows if abs(table.targets.sum() - 1.0) <= 1e-6 else table.targets
    cell_row = np.empty(len(cell_cats), dtype=np.int64)
    for c, cc in enumerate(cell_cats):
        r = table.row_of.get(tuple(int(x) for x in cc))
        if r is None:
            raise AnalysisInputError(f"post-stratification: respondents with "
                                     f"{table.label(cc)} have no row in the table")
        cell_row[c] = r
    used = np.zeros(len(t), dtype=bool)
    used[cell_row] = True
    empty = (~used) & (t > 0)
    if empty.any():
        r = int(np.flatnonzero(empty)[0])
        combo = next(k for k, row in table.row_of.items() if row == r)
        raise AnalysisInputError(f"post-stratification: the cell {table.label(combo)} "
                                 f"(target {t[r]:.10g}) has no respondents in the data")
    if (cell_base <= 0).any():
        c = int(np.flatnonzero(cell_base <= 0)[0])
        raise AnalysisInputError(f"post-stratification: the cell {table.label(cell_cats[c])} "
                                 "has no respondents with a positive weight")
    return t[cell_row] / cell_base, t[cell_row]


def poststratify_design(design, table: pd.DataFrame, target: str = "target"):
    """See :meth:`analysis.design.SurveyDesign.poststratify`."""
    parsed = poststratification_table(table, target)
    variables = parsed.variables
    codes = [category_codes(design.data, var, list(cats), "post-stratification table")
             for var, cats in zip(variables, parsed.categories, strict=True)]
    cell, cell_cats = _cells(codes, [len(c) for c in parsed.categories])
    base = design.weights
    factor, cell_target = poststratify_cells(parsed, design.n, cell_cats,
                                             np.bincount(cell, base, minlength=len(cell_cats)))
    weights = base * factor[cell]
    achieved = np.bincount(cell, weights, minlength=len(cell_cats))
    ab = np.abs(achieved - cell_target)
    rel = ab / np.where(cell_target > 0, cell_target, 1.0)
    report = _report("poststratify", 1, ab, rel, True, 0.0, weights)
    step = CalibrationStep(kind="poststratify", variables=variables, cell=cell,
                           model=np.eye(len(cell_cats)), before=base, after=weights)
    spec = CalibrationTargets(variables, cell, np.arange(len(cell_cats))[:, None],
                              (cell_target,), (tuple(str(i) for i in range(len(cell_cats))),))
    new = _calibrated_design(design, weights, step, report, spec)
    # each replicate post-stratified on its own (R's postStratify of a svrepdesign): raking to
    # the one variable "cell" is one sweep, target / the replicate's cell total
    return _calibrated_replicates(design, new, spec, RAKING_MAX_ITER, 1e-10)


# ---------------------------------------------------------------------- trimming
def trim_design(design, lower=None, upper=None, max_iter: int = 100, epsilon: float = 1e-10,
                strict: bool = False):
    """See :meth:`analysis.design.SurveyDesign.trim`."""
    lo = -np.inf if lower is None else float(lower)
    hi = np.inf if upper is None else float(upper)
    if lower is None and upper is None:
        raise AnalysisInputError("trim needs a lower or an upper bound")
    if lo >= hi:
        raise AnalysisInputError(f"trim bounds: lower {lo:g} is not below upper {hi:g}")
    w = design.weights.copy()
    spec: CalibrationTargets | None = design.calibration_targets
    tol = 1e-9
    if spec is None:
        w, it = trim_weights(w, lo, hi, strict, max_iter)
        if it == 0:
            return design
        n_trim = int(((w <= lo * (1 + tol)) | (w >= hi * (1 - tol))).sum())
        report = _report("trim", it, np.zeros(1), np.zeros(1), True, epsilon, w, n_trim)
        return design.replace(weights=w, weighting=report)
    last = design.calibration_steps[-1]
    for it in range(1, max_iter + 1):  # noqa: B007 (it is reported)
        w = np.clip(w, lo, hi)
        w, _ = _calibrated_weights(w, spec, 10000 if spec.proportional_fitting else 100,
                                   epsilon, "trim")
        if (w >= lo * (1 - tol)).all() and (w <= hi * (1 + tol)).all():
            break
    else:
        raise ConvergenceError(
            f"trimming weights to [{lo:g}, {hi:g}] and re-calibrating did not settle in {max_iter} "
            "rounds; the bounds are too tight for the margins")
    cell_w = np.bincount(spec.cell, w, minlength=len(spec.cell_cats))
    ab, rel = margin_errors(cell_w, spec.cell_cats, spec.targets)
    n_trim = int(((w <= lo * (1 + 1e-6)) | (w >= hi * (1 - 1e-6))).sum())
    report = _report("trim", it, ab, rel, bool(rel.max() < max(epsilon, 1e-12) * 10),
                     epsilon, w, n_trim)
    step = CalibrationStep(kind=last.kind, variables=last.variables, cell=last.cell,
                           model=last.model, before=last.before, after=w,
                           cell_labels=last.cell_labels, variance=last.variance,
                           margins=last.margins)
    return design.replace(weights=w, calibration_steps=design.calibration_steps[:-1] + (step,),
                          weighting=report)
