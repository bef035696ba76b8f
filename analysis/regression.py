"""Design-based regression: generalised linear models on a survey design, as R's ``svyglm``.

>>> fit = fit_glm(design, "N04_P1 ~ C(sex) + C(age_group)")           # doctest: +SKIP
>>> fit.to_frame()                  # estimate, se, t, df, p_unadjusted, ci_low, ci_high
>>> fit.wald_test("C(age_group)")   # F test of all age-group coefficients, as regTermTest

What R's survey package (4.1-1) does, and so what this module does:

* **Point estimates** are the pseudo-likelihood estimates: the GLM fitted by iteratively
  reweighted least squares with the design weights as prior weights (statsmodels ``GLM`` with
  ``var_weights``). ``binomial`` and ``poisson`` behave as R's ``quasibinomial`` and
  ``quasipoisson``: the variance below does not use the family's dispersion, so non-integer
  weights are fine.
* **Variance**: the sandwich with the design as the meat. Each row's influence on the
  coefficients is ``x_i w_i (y_i - mu_i) mu'(eta_i) / V(mu_i)`` times ``(X'WX)^-1`` (W the
  final working weights); these are handed to :meth:`SurveyDesign.vcov`, which sums them to
  PSUs and applies strata, fpc, the lonely-PSU rule and, for a raked or post-stratified design,
  the calibration residuals -- exactly as for a mean (R's ``svy.varcoef`` -> ``svyrecvar``).
* **Replicate weights** (R's ``svyglm`` of a ``svrepdesign``): the coefficients are refitted
  with each replicate's weights (IRLS started from the full-sample coefficients; a gaussian
  model is one weighted least squares per replicate from per-unit sums) and their covariance
  is the replicates' (``svrVar``: scale, rscales, mse); df is R's ``degf`` of the design (of
  the ``domain``, the rank of its replicate weights minus 1) plus 1 minus the coefficients.
* **Accuracy**: the fit runs on centred and scaled columns and maps back exactly, so a
  regressor far from 0 (a year) does not cost digits in ``X'WX``.
* **Rows used**: rows of ``domain`` (R's ``subset=``) with every variable the formula names
  present (R's ``na.action = na.omit``), and weight above 0. The other rows stay in the design
  with no influence, as R's subsetting of a design keeps its PSUs and strata.
* **Degrees of freedom**: R's ``degf()`` of the rows used (PSUs minus strata among them) plus
  1 minus the number of coefficients; t statistics, p-values and confidence intervals use the t
  distribution on that many df (``summary.svyglm``, ``confint.svyglm``), and
  :meth:`RegressionResult.wald_test` is ``regTermTest(method = "Wald")``: ``F = chisq / k`` on
  ``k`` and that many df.
* **Aliased columns** (a column that is a linear combination of the ones before it, e.g. a
  province dummy inside a region term) get no coefficient (NaN, as R's ``NA``) and do not count
  in the df.

Formulas are patsy's (the formula language statsmodels uses): ``y ~ x + C(region)``, ``y ~ a *
b``, ``I(N04_P1 >= 4) ~ C(sex)``, ``Q("odd name")``. A text column on the right is categorical
(first level in sorted order is the reference, as R). A two-category outcome (text or
``I(...)`` of a condition) is allowed for ``binomial``: the second category in sorted order
(``Yes``, ``True``) is the event modelled, as R's factor response. A formula is Python code
evaluated by patsy: take it from a trusted user, never from a web form.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import patsy
import scipy.sparse as sp
from patsy import builtins as patsy_builtins
from patsy.categorical import C as patsy_categorical

from analysis.design_columns import row_name
from analysis.errors import AnalysisInputError, bounded

__all__ = ["FAMILIES", "RegressionResult", "WaldTest", "fit_glm", "formula_variables"]

# Columns of RegressionResult.to_frame() and WaldTest.as_dict()
COEFFICIENT_COLUMNS = ("term", "estimate", "se", "t", "df", "p_unadjusted", "ci_low", "ci_high")
TEST_COLUMNS = ("terms", "chisq", "F", "ndf", "ddf", "p_unadjusted")

# R's glm.fit: a column is aliased when its norm after removing the columns before it is below
# this fraction of its own norm (Cdqrls tolerance min(1e-7, epsilon / 1000), epsilon = 1e-8)
ALIAS_TOLERANCE = 1e-11
# the IRLS stops when no coefficient moves by more than this fraction of its value; the
# convergence is quadratic, so the coefficients are then exact to rounding
PARAMS_RTOL = 1e-10
MAX_ITERATIONS = 100


def _categorical(data, contrast=None, levels=None):
    """patsy's ``C()``, taking the fast way for the common ``C(column)``: patsy turns a
    ``C()``-wrapped column into integer codes in a Python loop over the rows (about 0.4 s per
    100,000 rows per term), but reads a pandas Categorical's codes directly; without a contrast
    or levels, ``C(x)`` means exactly "x as a categorical with sorted levels"."""
    if contrast is not None or levels is not None:
        return patsy_categorical(data, contrast, levels)
    if isinstance(data, pd.Series):
        if isinstance(data.dtype, pd.CategoricalDtype):
            return data
        return pd.Series(pd.Categorical(data), index=data.index)
    return patsy_categorical(data)


# names a formula may use besides data columns (patsy adds its own builtins: I, Q, ...)
FORMULA_NAMESPACE = {"np": np, "C": _categorical}


# --------------------------------------------------------------------------- families
def _any_outcome(y: np.ndarray, frame: pd.DataFrame, rows: np.ndarray, outcome: str) -> None:
    """Any real number is an outcome of a gaussian model."""


def _binary_outcome(y, frame, rows, outcome) -> None:
    bad = (y != 0) & (y != 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AnalysisInputError(
            f"outcome '{outcome}': value {y[i]:g} in {row_name(frame, rows[i])} is not 0 or 1; "
            "the binomial family needs a 0/1 outcome, a two-category column or a condition "
            "such as I(N04_P1 >= 4)")


def _count_outcome(y, frame, rows, outcome) -> None:
    bad = y < 0
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AnalysisInputError(
            f"outcome '{outcome}': value {y[i]:g} in {row_name(frame, rows[i])} is negative; "
            "the poisson family needs counts (0 or more)")


def _statsmodels():
    """``statsmodels.api``, imported when a model is fitted: it takes over a second to import,
    which every other command (they all build the same argument parser) would pay."""
    import statsmodels.api

    return statsmodels.api


@dataclass(frozen=True)
class Family:
    """A GLM family: statsmodels' family (canonical link, by its class name in
    ``statsmodels.api.families``) and what its outcome may be."""

    name: str
    statsmodels_class: str
    check_outcome: Callable[[np.ndarray, pd.DataFrame, np.ndarray, str], None]
    categorical_outcome: bool = False  # a two-category outcome is the event / not the event

    def make(self):
        """A new statsmodels family object."""
        return getattr(_statsmodels().families, self.statsmodels_class)()


FAMILIES: dict[str, Family] = {
    "gaussian": Family("gaussian", "Gaussian", _any_outcome),
    "binomial": Family("binomial", "Binomial", _binary_outcome, categorical_outcome=True),
    "poisson": Family("poisson", "Poisson", _count_outcome),
}


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class WaldTest:
    """R's ``regTermTest(model, terms, method = "Wald")``: ``chisq = b' V^-1 b`` over the
    coefficients of ``terms``, ``F = chisq / ndf`` on ``ndf`` and ``ddf`` degrees of freedom
    (``ddf`` infinite: a chi-squared test on ``ndf`` df)."""

    terms: tuple[str, ...]
    chisq: float
    ndf: int
    ddf: float
    p_value: float

    @property
    def F(self) -> float:  # noqa: N802 - the statistic's name
        return self.chisq / self.ndf

    def as_dict(self) -> dict:
        return {"terms": " + ".join(self.terms), "chisq": self.chisq, "F": self.F,
                "ndf": self.ndf, "ddf": self.ddf, "p_unadjusted": self.p_value}

    def __repr__(self) -> str:
        return (f"Wald test of {' + '.join(self.terms)}: F = {self.F:.4g} on {self.ndf} and "
                f"{self.ddf:g} df, unadjusted p = {self.p_value:.3g}")


@dataclass(frozen=True, eq=False)
class RegressionResult:
    """A fitted design-based GLM (:func:`fit_glm`).

    The attribute names and shapes are those of the package's other results: ``coef``
    (``(p,)`` array, NaN for an aliased column), ``vcov`` (``(p, p)``, design-based), ``se``,
    ``confint()`` (``(p, 2)``), ``to_frame()``; ``names`` labels the coefficients (patsy's
    column names: ``Intercept``, ``C(sex)[T.male]``, ``ell``). Also: ``t``, ``p_value``
    (two-sided, t on ``df``, not adjusted for multiple testing), ``df`` (R's residual df:
    ``degf + 1 - rank``), ``n`` (rows used), ``terms`` (formula term -> its coefficient names),
    ``outcome`` and, for a two-category binomial outcome, ``event`` (the category modelled).
    """

    formula: str
    family: str
    coef: np.ndarray
    vcov: np.ndarray
    names: tuple[str, ...]
    df: int
    n: int
    terms: dict[str, tuple[str, ...]]
    outcome: str
    event: str | None = None
    iterations: int = 0
    aliased: tuple[str, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.coef)

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.vcov), 0, None))

    @property
    def t(self) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.coef / self.se

    @property
    def p_value(self) -> np.ndarray:
        if self.df <= 0:
            return np.full(len(self), np.nan)
        from scipy import stats

        return 2 * stats.t.sf(np.abs(self.t), self.df)

    def confint(self, level: float = 0.95, df: float | None = None) -> np.ndarray:
        """``(p, 2)`` Wald intervals with t quantiles on ``df`` (default the model's residual
        df, as R's ``confint.svyglm``; ``inf`` for normal quantiles)."""
        if not 0 < level < 1:
            raise AnalysisInputError(f"confidence level {level:g} must be between 0 and 1")
        from scipy import stats

        df = self.df if df is None else df
        q = stats.t.ppf(0.5 + level / 2, df) if df > 0 else np.nan
        se = self.se
        return np.column_stack([self.coef - q * se, self.coef + q * se])

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """One row per coefficient: :data:`COEFFICIENT_COLUMNS`."""
        ci = self.confint(level)
        return pd.DataFrame({
            "term": list(self.names), "estimate": self.coef, "se": self.se, "t": self.t,
            "df": self.df, "p_unadjusted": self.p_value, "ci_low": ci[:, 0],
            "ci_high": ci[:, 1]}, columns=list(COEFFICIENT_COLUMNS))

    def wald_test(self, terms: str | Sequence[str], df: float | None = None) -> WaldTest:
        """Joint Wald test that every coefficient of ``terms`` is 0 (R's ``regTermTest``).

        ``terms``: a formula term (``"C(sex)"``, ``"a:b"``), several joined by ``+`` or a list
        of them. ``df``: denominator df (default the model's ``df``; ``inf`` for a chi-squared
        test).
        """
        names = _test_terms(terms)
        wanted = {_canonical(t) for t in names}
        known = {_canonical(t): t for t in self.terms}
        unknown = [t for t in names if _canonical(t) not in known]
        if unknown:
            raise AnalysisInputError(
                f"test term '{bounded(unknown[0])}' is not a term of the model "
                f"'{bounded(self.formula)}' (its terms: {', '.join(self.terms) or 'none'})")
        columns = [c for key, t in known.items() if key in wanted for c in self.terms[t]
                   if c not in self.aliased]
        if not columns:
            raise AnalysisInputError(f"test of {' + '.join(names)}: no estimable coefficient")
        idx = [self.names.index(c) for c in columns]
        b = self.coef[idx]
        chisq = float(b @ np.linalg.solve(self.vcov[np.ix_(idx, idx)], b))
        ddf = self.df if df is None else float(df)
        k = len(idx)
        from scipy import stats

        if np.isinf(ddf):
            p = float(stats.chi2.sf(chisq, k))
        else:
            p = float(stats.f.sf(chisq / k, k, ddf)) if ddf > 0 else float("nan")
        return WaldTest(terms=tuple(names), chisq=chisq, ndf=k, ddf=ddf, p_value=p)

    @property
    def estimate(self):
        """The coefficients as the package's one result type (:class:`analysis.results.Estimate`,
        with ``df`` the model's residual df), so they compose with ``contrast``,
        ``contrast_fn`` and ``ratio`` like any other estimate (R's ``svycontrast`` on a
        ``svyglm``)."""
        from analysis.results import Estimate

        m = len(self.coef)
        return Estimate(coef=self.coef, vcov=self.vcov, item=self.names, by=("",) * m,
                        group=("",) * m, n=np.full(m, float(self.n)), df=float(self.df),
                        statistic="glm coefficient")

    def contrast(self, L, names=None, offset=None):
        """A linear combination of the coefficients (:meth:`Estimate.contrast`)."""
        return self.estimate.contrast(L, names=names, offset=offset)

    def __repr__(self) -> str:
        return f"<RegressionResult {self.family}: {self.formula}>"

    def __str__(self) -> str:
        head = (f"Design-based {self.family} regression: {self.formula} ({self.n} rows, "
                f"{self.df} residual df; t tests, unadjusted p)")
        if self.event is not None:
            head += f"\n  modelled: {self.outcome} = {self.event}"
        return head + "\n" + self.to_frame().to_string(index=False)


def _test_terms(terms) -> list[str]:
    parts = terms.split("+") if isinstance(terms, str) else list(terms)
    names = [str(t).strip() for t in parts if str(t).strip()]
    if not names:
        raise AnalysisInputError("a Wald test needs at least one term")
    return names


def _canonical(term: str) -> str:
    """``b:a`` and ``a:b`` are the same interaction (R's regTermTest ``canonicalOrder``)."""
    return ":".join(sorted(p.strip() for p in term.replace(" ", "").split(":")))


# --------------------------------------------------------------------------- the fit
def fit_glm(design, formula: str, family: str = "gaussian", domain=None) -> RegressionResult:
    """Fit ``formula`` on ``design`` (:class:`analysis.SurveyDesign`) -> :class:`RegressionResult`.

    Args:
        design: the survey design (weights, strata, PSUs, fpc, calibration).
        formula: patsy formula ``outcome ~ terms``.
        family: a key of :data:`FAMILIES` (``gaussian``, ``binomial``, ``poisson``).
        domain: ``(n,)`` bool mask of the rows to model (R's ``subset=``); ``None``: all rows.

    Raises:
        AnalysisInputError: unknown family, a formula patsy cannot read, a column the data
            lack, an outcome the family cannot model, no rows, no residual degrees of freedom
            left to estimate with, or an IRLS that does not converge.
    """
    fam = FAMILIES.get(family)
    if fam is None:
        raise AnalysisInputError(f"family '{bounded(family)}' is not one of "
                                 f"{', '.join(FAMILIES)}")
    model = _model_frame(design, formula, fam, domain)
    kept = _estimable_columns(model.X, design.weights[model.rows])
    w = design.weights[model.rows]
    # the fit runs on centred and scaled columns (X = Xs @ M): (X'WX) of a column such as a
    # year near 2025 loses about six digits to the intercept; the coefficients and their
    # influence are mapped back exactly through M
    Xs, M = _standardised(model.X[:, kept], w)
    glm = _statsmodels().GLM(model.y, Xs, family=fam.make(), var_weights=w / w.mean())
    try:
        with warnings.catch_warnings():
            # separation and non-convergence are judged below, in one line for the user
            warnings.simplefilter("ignore")
            fit = glm.fit(maxiter=MAX_ITERATIONS, tol_criterion="params", atol=0.0,
                          rtol=PARAMS_RTOL)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise AnalysisInputError(f"model '{bounded(formula)}' could not be fitted: "
                                 f"{bounded(exc)}") from None
    if not fit.converged or not np.isfinite(fit.params).all():
        raise AnalysisInputError(
            f"model '{bounded(formula)}' did not converge in {MAX_ITERATIONS} iterations "
            "(an outcome perfectly predicted by some terms?)")
    params = np.asarray(fit.params)
    beta = np.linalg.solve(M, params)
    if design.replicates is None:
        influence = np.linalg.solve(M, _influence(glm.family, Xs, model.y, w, params).T).T
        z = np.zeros((design.n, kept.size))
        z[model.rows] = influence
        used = np.zeros(design.n, dtype=bool)
        used[model.rows] = True
        cov_kept = design.vcov(z, domain=used)
        df = degf(design, model.rows)
    else:
        reps = design.replicates
        scaled = replicate_coefficients(glm.family, reps, Xs, model.y, model.rows, params,
                                        formula)
        cov_kept = reps.covariance(np.linalg.solve(M, scaled.T), beta)
        df = reps.df_of(np.ones(design.n, dtype=bool) if domain is None
                        else np.asarray(domain, dtype=bool))

    p = len(model.columns)
    coef = np.full(p, np.nan)
    coef[kept] = beta
    cov = np.full((p, p), np.nan)
    cov[np.ix_(kept, kept)] = cov_kept
    names = tuple(model.columns)
    return RegressionResult(
        formula=formula, family=fam.name, coef=coef, vcov=cov, names=names,
        df=int(df) + 1 - kept.size, n=len(model.rows), terms=model.terms,
        outcome=model.outcome, event=model.event, iterations=int(fit.fit_history["iteration"]),
        aliased=tuple(np.delete(np.asarray(names, dtype=object), kept)))


def _standardised(X: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(Xs, M)`` with ``X = Xs @ M``: with an intercept column, every other column centred
    at its weighted mean and scaled by its weighted spread (else scaled by its root mean
    square), so ``Xs' W Xs`` is well conditioned. Coefficients map back as ``solve(M, b)``."""
    p = X.shape[1]
    ones = np.flatnonzero((X == 1.0).all(axis=0))
    centre = np.zeros(p)
    if ones.size:
        centre = (w @ X) / w.sum()
        centre[ones] = 0.0
    spread = np.sqrt((w @ (X - centre) ** 2) / w.sum())
    spread[~(spread > 0)] = 1.0
    if ones.size:
        spread[ones] = 1.0
    M = np.diag(spread)
    if ones.size:
        M[ones[0]] += centre
    Xs = (X - centre) / spread
    return Xs, M


def _influence(family, X, y, w, beta) -> np.ndarray:
    """Per row, its linearised influence on the coefficients: ``inv(X'WX) x_i w_i (y_i - mu_i)
    mu'(eta_i) / V(mu_i)`` (R's ``estfun %*% Ainv``), W the working weights at the fit."""
    eta = X @ beta
    mu = family.link.inverse(eta)
    dmu = family.link.inverse_deriv(eta)
    var = family.variance(mu)
    working = w * dmu ** 2 / var
    bread = np.linalg.inv(X.T @ (X * working[:, None]))
    score = X * (w * (y - mu) * dmu / var)[:, None]
    return score @ bread


# --------------------------------------------------------------------------- replicates
# bound on the cells of the (rows x replicates) and (rows x p^2) blocks held at once
MAX_BLOCK_CELLS = 4_000_000


def replicate_coefficients(family, reps, X: np.ndarray, y: np.ndarray, rows: np.ndarray,
                           start: np.ndarray, formula: str = "") -> np.ndarray:
    """``(R, p)`` the coefficients refitted with each replicate's weights on the rows used
    (R's ``svyglm`` of a replicate design): IRLS started from the full-sample coefficients
    ``start``, iterated to :data:`PARAMS_RTOL`; a gaussian model with the identity link is one
    weighted least squares per replicate, from per-unit sums (no pass over the rows per
    replicate). A replicate whose fit is singular gets NaN."""
    unit = reps.unit[rows]
    base = reps.base[rows]
    families = _statsmodels().families
    if isinstance(family, families.Gaussian) and isinstance(family.link, families.links.Identity):
        used, local = np.unique(unit, return_inverse=True)
        # per unit: sum of base * [x x', x y]; a replicate's sums are these times its factors
        sums = _unit_sums(local, len(used), X, base, np.column_stack([X * (base * y)[:, None]]))
        totals = reps.factors[used].T @ sums  # (R, p^2 + p)
        return _solve_batched(totals, X.shape[1])
    return _replicate_irls(family, reps, X, y, unit, base, start, formula)


def _unit_sums(unit: np.ndarray, n_units: int, X: np.ndarray, base: np.ndarray,
               extra: np.ndarray) -> np.ndarray:
    """``(U, p^2 + e)``: per unit, the sums of ``base x x'`` (flattened) and of ``extra``."""
    n, p = X.shape
    out = np.zeros((n_units, p * p + extra.shape[1]))
    step = max(1, MAX_BLOCK_CELLS // (p * p))
    for i0 in range(0, n, step):
        sl = slice(i0, i0 + step)
        outer = (X[sl, :, None] * X[sl, None, :]).reshape(-1, p * p) * base[sl, None]
        block = np.hstack([outer, extra[sl]])
        member = sp.csr_matrix((np.ones(len(block)), (unit[sl], np.arange(len(block)))),
                               shape=(n_units, len(block)))
        out += member @ block
    return out


def _row_outer_products(X: np.ndarray) -> np.ndarray | None:
    """``(n, p^2)`` the rows' ``x x'`` flattened, when they fit in :data:`MAX_BLOCK_CELLS`."""
    n, p = X.shape
    if n * p * p > MAX_BLOCK_CELLS:
        return None
    return (X[:, :, None] * X[:, None, :]).reshape(n, p * p)


def _weighted_grams(X: np.ndarray, weights: np.ndarray, outer: np.ndarray | None
                    ) -> np.ndarray:
    """``(b, p^2)``: ``X' diag(weights[:, r]) X`` flattened, for each column ``r`` (from the
    rows' ``outer`` products, or a block of rows at a time)."""
    if outer is not None:
        return weights.T @ outer
    n, p = X.shape
    out = np.zeros((weights.shape[1], p * p))
    step = max(1, MAX_BLOCK_CELLS // (p * p))
    for i0 in range(0, n, step):
        sl = slice(i0, i0 + step)
        out += weights[sl].T @ (X[sl, :, None] * X[sl, None, :]).reshape(-1, p * p)
    return out


def _solve_batched(totals: np.ndarray, p: int) -> np.ndarray:
    """``(b, p)`` solutions of the normal equations in ``totals`` ``(b, p^2 + p)`` (the
    flattened ``X'WX`` and then ``X'Wz``); NaN where ``X'WX`` is singular."""
    A = totals[:, :p * p].reshape(-1, p, p)
    rhs = totals[:, p * p:]
    out = np.full(rhs.shape, np.nan)
    scale = np.sqrt(np.einsum("bii->bi", A))
    ok = (scale > 0).all(axis=1)
    # unit diagonal (Jacobi scaling), then a condition bound in the spirit of glm's alias check
    with np.errstate(invalid="ignore", divide="ignore"):
        An = A / scale[:, :, None] / scale[:, None, :]
        ok &= np.isfinite(An).all(axis=(1, 2))
    if ok.any():
        ok[ok] &= np.linalg.cond(An[ok]) < 1e18
    if ok.any():
        x = np.linalg.solve(An[ok], (rhs[ok] / scale[ok])[:, :, None])[:, :, 0]
        out[ok] = x / scale[ok]
    return out


def _replicate_irls(family, reps, X, y, unit, base, start, formula) -> np.ndarray:
    """IRLS for each replicate's weights, a block of replicates at a time (vectorised over
    the block), each started from ``start``."""
    n, p = X.shape
    R = reps.n_replicates
    out = np.full((R, p), np.nan)
    outer = _row_outer_products(X)
    width = max(1, MAX_BLOCK_CELLS // max(n, 1))
    for r0 in range(0, R, width):
        r1 = min(R, r0 + width)
        weights = base[:, None] * reps.factors[unit, r0:r1]  # (n, b)
        beta = np.repeat(start[:, None], r1 - r0, axis=1)     # (p, b)
        active = np.ones(r1 - r0, dtype=bool)
        for _ in range(MAX_ITERATIONS):
            eta = X @ beta[:, active]
            mu = family.link.inverse(eta)
            dmu = family.link.inverse_deriv(eta)
            working = weights[:, active] * dmu ** 2 / family.variance(mu)
            z = eta + (y[:, None] - mu) / dmu
            totals = np.hstack([_weighted_grams(X, working, outer), (X.T @ (working * z)).T])
            new = _solve_batched(totals, p).T  # (p, b_active)
            moved = np.abs(new - beta[:, active]) > PARAMS_RTOL * np.abs(new)
            beta[:, active] = new
            idx = np.flatnonzero(active)
            active[idx[~moved.any(axis=0) | ~np.isfinite(new).all(axis=0)]] = False
            if not active.any():
                break
        else:
            r = r0 + int(np.flatnonzero(active)[0])
            raise AnalysisInputError(
                f"model '{bounded(formula)}': the fit with replicate {r + 1} of {R}'s weights "
                f"did not converge in {MAX_ITERATIONS} iterations")
        out[r0:r1] = beta.T
    return out


def degf(design, rows: np.ndarray) -> int:
    """R's ``degf()`` of the design subset to ``rows`` (positions): PSUs minus strata there."""
    s = design.structure
    psus = np.unique(s.psu[rows])
    return int(len(psus) - len(np.unique(s.psu_stratum[psus])))


def _estimable_columns(X: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Positions of the columns R's glm keeps: each column in turn is dropped when, weighted,
    it is (within :data:`ALIAS_TOLERANCE`) a combination of the columns kept before it."""
    xw = X * np.sqrt(w)[:, None]
    norms = np.linalg.norm(xw, axis=0)
    kept = np.arange(X.shape[1])
    while True:
        r = np.linalg.qr(xw[:, kept], mode="r")
        diag = np.abs(np.diag(r))
        small = np.flatnonzero(~(diag > ALIAS_TOLERANCE * norms[kept]))
        if small.size == 0:
            return kept
        kept = np.delete(kept, small[0])


# --------------------------------------------------------------------------- the formula
@dataclass(frozen=True)
class ModelFrame:
    """The rows used (positions in the design's data), the outcome and the model matrix."""

    rows: np.ndarray
    y: np.ndarray
    X: np.ndarray
    columns: list[str]
    terms: dict[str, tuple[str, ...]]
    outcome: str
    event: str | None


def _model_frame(design, formula: str, fam: Family, domain) -> ModelFrame:
    if not isinstance(formula, str) or not formula.strip():
        raise AnalysisInputError("the formula is empty; write it as 'outcome ~ terms'")
    desc = _parse(formula)
    data = design.data
    columns = _formula_columns(desc, formula, data.columns)
    frame = _plain_columns(data, columns)
    usable = frame.notna().all(axis=1).to_numpy() & (design.weights > 0)
    if domain is not None:
        domain = np.asarray(domain, dtype=bool)
        if domain.shape != (design.n,):
            raise ValueError(f"domain has shape {domain.shape}, the design {design.n} rows")
        usable &= domain
    if not usable.any():
        raise AnalysisInputError(f"model '{bounded(formula)}': no rows with every variable of "
                                 f"the formula answered ({', '.join(columns)})")
    env = patsy.EvalEnvironment([FORMULA_NAMESPACE])
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            # log(0) and the like are reported below as a non-finite value in a named row
            warnings.simplefilter("ignore", RuntimeWarning)
            y_frame, x_frame = patsy.dmatrices(desc, _used_categories(frame[usable]),
                                               eval_env=env, NA_action="drop",
                                               return_type="dataframe")
    except Exception as exc:  # patsy wraps the user's Python errors; report them in one line
        raise AnalysisInputError(f"formula '{bounded(formula)}': {_first_line(exc)}") from None
    rows = x_frame.index.to_numpy()
    outcome = desc.lhs_termlist[0].name()
    y, event = _outcome(y_frame, fam, outcome)
    X = x_frame.to_numpy(dtype=float)
    for values, names in ((y[:, None], [outcome]), (X, list(x_frame.columns))):
        bad = ~np.isfinite(values)
        if bad.any():
            i, j = (int(k[0]) for k in np.nonzero(bad))
            raise AnalysisInputError(
                f"formula '{bounded(formula)}': '{bounded(names[j])}' is {values[i, j]} in "
                f"{row_name(data, rows[i])}; every value in a model must be a finite number")
    fam.check_outcome(y, data, rows, outcome)
    info = x_frame.design_info
    terms = {name: tuple(info.column_names[sl]) for name, sl in info.term_name_slices.items()
             if name != "Intercept"}
    return ModelFrame(rows=rows, y=y, X=X, columns=list(info.column_names), terms=terms,
                      outcome=outcome, event=event)


def _parse(formula: str) -> patsy.ModelDesc:
    try:
        desc = patsy.ModelDesc.from_formula(formula)
    except patsy.PatsyError as exc:
        raise AnalysisInputError(f"formula '{bounded(formula)}': {_first_line(exc)}") from None
    if len(desc.lhs_termlist) != 1:
        raise AnalysisInputError(f"formula '{bounded(formula)}' needs one outcome on the left "
                                 "of '~' (e.g. 'N04_P1 ~ C(sex) + C(age_group)')")
    return desc


def _first_line(exc: Exception) -> str:
    return bounded(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 160)


def formula_variables(formula: str) -> list[str]:
    """The variables (data columns) ``formula`` names, in order of appearance: every name
    that is not called as a function, is not a module of :data:`FORMULA_NAMESPACE` or a patsy
    builtin, and the quoted names of ``Q("...")``. Raises for a formula patsy cannot read."""
    return _variables(_parse(formula))


def _variables(desc: patsy.ModelDesc) -> list[str]:
    known = set(FORMULA_NAMESPACE) | set(patsy_builtins.__all__)
    found: dict[str, None] = {}
    for term in desc.lhs_termlist + desc.rhs_termlist:
        for factor in term.factors:
            found.update((n, None) for n in _names(factor.code) if n not in known)
    return list(found)


def _formula_columns(desc: patsy.ModelDesc, formula: str, available) -> list[str]:
    """:func:`formula_variables`, each of which must be a column of the data."""
    available = set(map(str, available))
    names = _variables(desc)
    for name in names:
        if name not in available:
            raise AnalysisInputError(f"formula '{bounded(formula)}': unknown column "
                                     f"'{bounded(name)}'; the data have no such column")
    return names


def _names(code: str) -> list[str]:
    """Variable names in a factor's Python code: bare names that are not called, and the
    quoted names of ``Q("...")``."""
    tree = ast.parse(code.strip(), mode="eval")
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and id(node) not in called:
            names.append(node.id)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id == "Q" and node.args
              and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            names.append(node.args[0].value)
    return names


def _plain_columns(data: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """The columns as patsy reads them, indexed by row position: numbers as float64 with NaN
    (patsy cannot test pandas' NA), everything else as a pandas Categorical with its categories
    sorted (R's factor levels; patsy then reads the integer codes instead of looping over the
    values in Python)."""
    out = {}
    for col in columns:
        s = data[col]
        if pd.api.types.is_bool_dtype(s) and not s.isna().any():
            out[col] = s.to_numpy(dtype=bool)
        elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            out[col] = s.to_numpy(dtype=float, na_value=np.nan)
        else:
            codes, uniques = pd.factorize(s, sort=True)
            out[col] = pd.Categorical.from_codes(codes, categories=pd.Index(uniques,
                                                                            dtype=object))
    return pd.DataFrame(out, index=pd.RangeIndex(len(data)))


def _used_categories(frame: pd.DataFrame) -> pd.DataFrame:
    """Categories without a row in ``frame`` removed (no all-zero dummy columns)."""
    cats = [c for c in frame.columns if isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not cats:
        return frame
    return frame.assign(**{c: frame[c].cat.remove_unused_categories() for c in cats})


def _outcome(y_frame: pd.DataFrame, fam: Family, outcome: str) -> tuple[np.ndarray, str | None]:
    """The outcome vector and, for a two-category outcome, the category modelled."""
    info = y_frame.design_info
    factor = info.terms[0].factors[0] if info.terms[0].factors else None
    fi = info.factor_infos.get(factor) if factor is not None else None
    if fi is None or fi.type == "numerical":
        if y_frame.shape[1] != 1:
            raise AnalysisInputError(f"outcome '{outcome}' has {y_frame.shape[1]} columns; "
                                     "give one")
        return y_frame.iloc[:, 0].to_numpy(dtype=float), None
    levels = [str(c) for c in fi.categories]
    if not fam.categorical_outcome:
        raise AnalysisInputError(
            f"outcome '{outcome}' is not numeric (categories {bounded(', '.join(levels))}); "
            f"the {fam.name} family needs numbers")
    if len(levels) != 2:
        raise AnalysisInputError(
            f"outcome '{outcome}' has {len(levels)} "
            f"{'category' if len(levels) == 1 else 'categories'} "
            f"({bounded(', '.join(levels))}); the binomial family needs two, or 0/1 values")
    return y_frame.iloc[:, 1].to_numpy(dtype=float), levels[1]
