"""Quantiles with confidence intervals, overall and by domain: R's ``svyquantile``.

``quantile_estimates(design, ["api00"], [0.25, 0.5, 0.75], by="stype")`` is survey 4.1-1's
``svyquantile(~api00, design, c(0.25, 0.5, 0.75), na.rm=TRUE)`` with its defaults
``qrule="math"``, ``interval.type="mean"``, ``ci=TRUE``, and its ``svyby``:

* **Quantile** (``qrule="math"``, R's ``qrule_math``): the rows answered with a nonzero weight,
  sorted by value (ties in row order); the quantile ``p`` is the value at the last position
  whose cumulative weight is at most ``p`` times the total weight when that cumulative share is
  exactly ``p``, else the next value (the inverse of the weighted empirical CDF; R's ``qs``).
  Cumulative and total weights are summed in long double, as R's ``cumsum`` and ``sum``, so a
  share that is exactly ``p`` in R is exactly ``p`` here.
* **Interval** (``interval.type="mean"``, Woodruff's): the CDF at the quantile, ``F = mean of
  [y <= q]``, gets its design-based SE from the domain estimator (calibration, strata, PSUs,
  fpc, stages and lonely PSUs as for any mean, or the replicate weights); ``F -/+ qt(0.975, df)
  se`` are mapped back to values by the same rule. ``df`` is R's ``degf()`` of the subset
  design (first-stage PSUs with an answer in the domain minus their strata; with replicate
  weights the rank of the domain's replicate weights minus 1, as R's subset of a
  ``svrepdesign``). A limit whose probability falls below 0 or above 1 is missing (R's
  ``NaN``). On a replicate design this is R's ``svyquantile.svyrep.design`` with its default
  ``interval.type="mean"`` (``tests/fixtures/r_replicate_estimators``).
* **SE**: R's, the interval's width over ``2 qt(0.975, df)``; missing when a limit is.

``deff`` is empty (R gives no design effect for quantiles). The covariance between two
quantiles is unknown (R gives none): ``vcov`` has the variances only, and a contrast that needs
a covariance is refused (:data:`UNKNOWN_COVARIANCE`), never taken as 0; a contrast of quantiles
of independent waves (:func:`analysis.results.combine_independent`) needs none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy.special import stdtrit  # t quantiles; scipy.stats takes ~1 s to import

from analysis.ciprop import domain_df
from analysis.errors import AnalysisInputError, bounded
from analysis.estimates import domain_codes, domain_estimates
from analysis.results import Estimate
from analysis.variance import blas_single_thread

LEVEL = 0.95
# R's svyquantile gives each quantile an interval and an SE from it, no covariance between two
# quantiles (of one item, two items or two groups): a contrast that needs one is refused
UNKNOWN_COVARIANCE = ("R's svyquantile gives each quantile's SE from its Woodruff interval, no "
                      "covariance between quantiles; compare quantiles of independent samples "
                      "(waves) or use one quantile at a time")


def check_probabilities(probs: Iterable) -> list[float]:
    """The quantile levels as floats strictly between 0 and 1; an error names the first
    other value."""
    probs = [probs] if isinstance(probs, int | float | str) else list(probs)
    out = []
    for p in probs:
        try:
            value = float(p)
        except (TypeError, ValueError):
            raise AnalysisInputError(f"quantile '{bounded(p)}' is not a number") from None
        if not 0 < value < 1:
            raise AnalysisInputError(f"quantile {bounded(p)} is not between 0 and 1 "
                                     "(give levels such as 0.25,0.5,0.75)")
        out.append(value)
    if not out:
        raise AnalysisInputError("no quantile levels given (e.g. 0.25,0.5,0.75)")
    return out


def quantile_name(item: str, p: float) -> str:
    """The ``item`` of a quantile's row: ``api00:q0.25``."""
    return f"{item}:q{float(p)!r}"


def quantile_estimates(design, items, probs: Sequence[float], by=None) -> Estimate:
    """Quantiles of ``items`` with R's Woodruff intervals and SEs, overall and in each group of
    each ``by`` column.

    Returns:
        :class:`~analysis.results.Estimate` (statistic ``"quantile"``) with the columns of every
        estimator: the
        item is ``ITEM:qP`` (:func:`quantile_name`), ``ci_low``/``ci_high`` R's 95% interval,
        ``se`` R's SE, ``n`` the answers used, ``deff`` empty. Rows go group by group, items in
        the order asked, levels in the order given.
    """
    probs = check_probabilities(probs)
    items = [items] if isinstance(items, str) else list(items)
    if not items:
        raise AnalysisInputError("no items to estimate")
    by_list = [] if by is None else ([by] if isinstance(by, str) else list(by))
    partitions = [("", np.zeros(design.n, dtype=np.int64), [""])]
    partitions += [(col, *domain_codes(design.data, col)) for col in by_list]
    blocks = []
    for name, codes, labels in partitions:
        per_item = [_quantile_block(design, item, probs, name, codes, labels) for item in items]
        blocks.append(pd.concat(per_item).sort_index(kind="stable"))
    return Estimate.from_table(
        pd.concat(blocks, ignore_index=True), "quantile", intervals=True,
        interval_note=_interval_note(design), unknown_covariance=UNKNOWN_COVARIANCE)


def _interval_note(design) -> str:
    reps = design.replicates
    source = ("" if reps is None else
              f" (the CDF's SE from {reps.n_replicates} {reps.type} replicates)")
    return ("R's svyquantile: qrule 'math', Woodruff 95% interval with t on the domain's "
            f"degrees of freedom{source}, SE from the interval's width")


def _quantile_block(design, item: str, probs: list[float], by: str, codes: np.ndarray,
                    labels: list[str]) -> pd.DataFrame:
    """The rows of one item for the groups of one domain variable, indexed by group."""
    x = design.item_column(item)
    # R keeps a design's selection probabilities and takes weights as 1 / prob: where a
    # cumulative share is exactly p only in exact arithmetic, the last bit of a weight decides
    # between two neighbouring values, so the weights are rounded the way R's are
    w = 1 / (1 / design.weights)
    answered = ~np.isnan(x) & (codes >= 0)
    n_groups, p = len(labels), np.asarray(probs)
    groups = _group_rows(codes, answered & (w != 0), n_groups)
    qhat = np.array([_math_quantile(x[rows], w[rows], p) for rows in groups])
    # the CDF at each quantile, a domain mean of the indicator [x <= q] with its design SE
    g = np.where(answered, codes, 0)
    indicators = [np.where(answered, x <= qhat[g, j], np.nan) for j in range(len(p))]
    with blas_single_thread():
        res = domain_estimates(design, indicators, [np.where(answered, codes, -1)], [n_groups],
                               deff=False)
    df = domain_df(design, codes, n_groups, answered).astype(float)[:, None]
    with np.errstate(invalid="ignore"):
        t_low = stdtrit(df, (1 - LEVEL) / 2)
        t_high = stdtrit(df, 1 - (1 - LEVEL) / 2)
        p_low = res["estimate"] + res["se"] * t_low    # R's confint(svymean(...), df = df)
        p_high = res["estimate"] + res["se"] * t_high
        p_low[~(p_low >= 0)] = np.nan                   # R: NaN below 0 ...
        p_high[~(p_high <= 1)] = np.nan                 # ... and above 1
        low, high = (np.array([_math_quantile(x[rows], w[rows], p_g)
                               for rows, p_g in zip(groups, probs_g, strict=True)])
                     for probs_g in (p_low, p_high))
        se = (high - low) / (2 * t_high)
    return pd.DataFrame({
        "item": [quantile_name(item, v) for _ in labels for v in probs],
        "by": by,
        "group": [label for label in labels for _ in probs],
        "estimate": qhat.ravel(),
        "se": se.ravel(),
        "ci_low": low.ravel(),
        "ci_high": high.ravel(),
        "n": np.repeat(res["n"][:, 0].astype(np.int64), len(probs)),
        "deff": np.nan,
    }, index=np.repeat(np.arange(n_groups), len(probs)))


def _group_rows(codes: np.ndarray, keep: np.ndarray, n_groups: int) -> list[np.ndarray]:
    """The positions of the kept rows of each group, in row order."""
    idx = np.flatnonzero(keep)
    idx = idx[np.argsort(codes[idx], kind="stable")]
    bounds = np.searchsorted(codes[idx], np.arange(n_groups + 1))
    return [idx[bounds[i]:bounds[i + 1]] for i in range(n_groups)]


def _math_quantile(x: np.ndarray, w: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """R's ``qrule_math(x, w, p)`` for each ``p`` (NaN stays NaN; no rows gives NaN)."""
    out = np.full(len(probs), np.nan)
    valid = ~np.isnan(probs)
    if not len(x) or not valid.any():
        return out
    order = np.argsort(x, kind="stable")   # R's order(): ties keep their row order
    values = x[order]
    # R accumulates sum() and cumsum() in long double and rounds each result to double
    cum_w = np.cumsum(w[order].astype(np.longdouble)).astype(float)
    total = float(np.cumsum(w.astype(np.longdouble))[-1])
    p = probs[valid]
    pos = np.searchsorted(cum_w, p * total, side="right") - 1
    pos = np.maximum(pos, 0)                # R's last(): the first position when none
    after = np.minimum(pos + 1, len(values) - 1)
    exact = (p - cum_w[pos] / total) == 0
    out[valid] = np.where(exact, values[pos], values[after])
    return out
