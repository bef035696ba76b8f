"""Confidence intervals for proportions: Wald, logit (R's ``svyciprop``) and design-adjusted
Wilson.

An estimated proportion ``p`` with design-based standard error ``se`` (from
:meth:`analysis.SurveyDesign.proportion`) gets one of these 95% intervals:

* ``wald``: ``p -/+ z se``, ``z = qnorm(0.975)`` -- what the estimators give (R's ``confint``).
* ``logit``: R's ``svyciprop(method="logit")`` (survey 4.1-1): the Wald interval of the
  intercept of ``svyglm(y ~ 1, family=quasibinomial)`` transformed back,
  ``expit(logit(p) -/+ t se / (p (1 - p)))``, with ``t = qt(0.975, df)`` and ``df = degf()`` of
  the design -- or, for a domain, of R's subset design (``svyby``): the first-stage PSUs with a
  row in the domain minus their strata. (The intercept's sandwich variance is exactly
  ``se^2 / (p (1 - p))^2``.) ``df <= 0`` gives no interval, as R.
* ``wilson``: R's ``svyciprop`` has no Wilson method. This is Wilson's (1927) score interval
  with the sample size replaced by the effective sample size ``n_eff = p (1 - p) / se^2`` (the
  number of answers divided by the design effect), as studied for complex samples by Kott
  (2017, "A note on Wilson coverage intervals for proportions estimated from complex samples",
  Survey Methodology 43(2)) and Franco, Little, Louis and Slud (2019, "Comparative study of
  confidence intervals for proportions in complex sample surveys", JSSAM 7(3), 334-364), and
  offered by SAS PROC SURVEYFREQ as its "modified Wilson" limits::

      centre = (p + z^2 / (2 n_eff)) / (1 + z^2 / n_eff)
      half   = z / (1 + z^2 / n_eff) * sqrt(p (1 - p) / n_eff + z^2 / (4 n_eff^2))

  with the normal quantile ``z = qnorm(0.975)`` (no degrees-of-freedom adjustment). Where the
  variance is 0 (``p`` is 0 or 1, or every answer equal) ``n_eff`` is undefined and the number
  of answers ``n`` is used, which gives the ordinary Wilson interval (``[0, 3.84/(n+3.84)]`` for
  ``p = 0``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy.special import stdtrit  # t quantiles; scipy.stats takes ~1 s to import

from analysis.errors import AnalysisInputError
from analysis.estimates import Z_95, domain_codes

LEVEL = 0.95


def wald(p, se, n, df) -> tuple[np.ndarray, np.ndarray]:
    return p - Z_95 * se, p + Z_95 * se


def logit(p, se, n, df) -> tuple[np.ndarray, np.ndarray]:
    df = np.asarray(df, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(df > 0, stdtrit(np.where(df > 0, df, 1), 1 - (1 - LEVEL) / 2), np.nan)
        eta = np.log(p / (1 - p))
        half = t * se / (p * (1 - p))
        return _expit(eta - half), _expit(eta + half)


def wilson(p, se, n, df) -> tuple[np.ndarray, np.ndarray]:
    z2 = Z_95 * Z_95
    var = np.asarray(se, dtype=float) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(var > 0, p * (1 - p) / var, n)
        centre = (p + z2 / (2 * n_eff)) / (1 + z2 / n_eff)
        half = Z_95 / (1 + z2 / n_eff) * np.sqrt(p * (1 - p) / n_eff + z2 / (4 * n_eff ** 2))
    return centre - half, centre + half


def _expit(x):
    return 1 / (1 + np.exp(-x))


# method name -> interval from (p, se, n, df) arrays
CI_METHODS: dict[str, Callable] = {"wald": wald, "logit": logit, "wilson": wilson}


def design_df(design, by: str | None = None) -> dict[str, int]:
    """R's ``degf()`` of the design (``by=None``: key ``""``) or of the subset design of each
    group of ``by`` (as ``svyby`` passes it): first-stage PSUs with a row of positive sampling
    weight in the group, minus the strata of those PSUs."""
    if by is None:
        codes, labels = np.zeros(design.n, dtype=np.int64), [""]
    else:
        codes, labels = domain_codes(design.data, by)
    return dict(zip(labels, domain_df(design, codes, len(labels)).tolist(), strict=True))


def domain_df(design, codes: np.ndarray, n_groups: int, rows: np.ndarray | None = None
              ) -> np.ndarray:
    """``(n_groups,)`` R's ``degf()`` of the subset design of each group (``codes``: group of
    each row, -1 for none), restricted to ``rows`` (a mask, e.g. the answered rows, as R's
    ``na.rm=TRUE`` subsets): first-stage PSUs with a row of positive sampling weight in the
    group, minus the strata of those PSUs. With replicate weights: the rank of the group's
    replicate weights minus 1 (R's subset of a replicate design)."""
    reps = getattr(design, "replicates", None)
    if reps is not None:
        keep = (codes >= 0) if rows is None else (codes >= 0) & rows
        return np.array([reps.df_of(keep & (codes == g)) for g in range(n_groups)],
                        dtype=np.int64)
    s = design.structure
    keep = (design.base_weights != 0) & (codes >= 0)
    if rows is not None:
        keep &= rows
    g, psu = codes[keep], s.psu[keep]
    psus = np.unique(g * s.n_psus + psu)
    strata = np.unique((psus // s.n_psus) * s.n_strata + s.psu_stratum[psus % s.n_psus])
    n_psus = np.bincount(psus // s.n_psus, minlength=n_groups)
    n_strata = np.bincount(strata // s.n_strata, minlength=n_groups)
    return (n_psus - n_strata).astype(np.int64)


def proportion_intervals(design, table: pd.DataFrame, method: str) -> pd.DataFrame:
    """``table`` (an :class:`analysis.Estimates` table of proportions of ``design``) with
    ``ci_low``/``ci_high`` replaced by ``method``'s interval (a copy)."""
    if method not in CI_METHODS:
        raise AnalysisInputError(f"confidence interval '{method}' is not one of "
                                 f"{', '.join(CI_METHODS)}")
    out = table.copy()
    df = np.full(len(out), np.nan)
    for by in dict.fromkeys(out["by"]):
        rows = (out["by"] == by).to_numpy()
        per_group = design_df(design, by or None)
        df[rows] = out.loc[rows, "group"].map(per_group).to_numpy(dtype=float)
    p = out["estimate"].to_numpy(dtype=float)
    low, high = CI_METHODS[method](p, out["se"].to_numpy(dtype=float),
                                   out["n"].to_numpy(dtype=float), df)
    out["ci_low"], out["ci_high"] = low, high
    return out
