"""Do groups differ on a score? Design-based Wald test of equal domain means, and pairwise
differences with a multiple-testing correction.

A Ten Norms score is a linear function of item means, ``offset + sum_j c_j * mean_j`` (e.g. a
norm's practice score ``25 * (mean of its item means - 1)``, see :mod:`analysis.indicators`), each
item mean over the respondents who answered it. For the ``G`` categories of a subgroup variable
this module estimates the score in each domain, and the joint ``G x G`` covariance of those
estimates: the items' means in every domain with their covariance across the domains (an
:class:`analysis.results.Estimate`, R's ``svyby(..., covmat=TRUE)``: strata, PSUs, fpc and
calibration, or the replicate weights) and the scores as its contrast. Domains are estimated
on the full design, as R's ``svyby``; two domains share PSUs, so their estimates are correlated
and the covariance keeps that. The design's degrees of freedom are R's ``degf`` (PSUs minus
strata, or the rank of the replicate weights minus 1).

* :func:`score_by_domain` - domain scores and their joint covariance;
* :func:`equal_means_test` - Wald test of ``H0: all domain scores equal``,
  ``W = (C t)' (C V C')^-1 (C t)`` with ``C`` the ``G-1`` differences from the last group,
  reported as ``F = W / (G-1)`` on ``(G-1, d - G + 1)`` degrees of freedom, ``d`` = PSUs -
  strata (the design's degrees of freedom), which is R's ``regTermTest(svyglm(score ~ group),
  ~group)``; the chi-square p-value on ``G-1`` df is kept too;
* :func:`pairwise_differences` - every pair's difference in points with its SE, 95% CI and
  normal p-value, Holm (or BH) adjusted within the pairs of one test.

Checked against R 4.2 / survey 4.1-1 (``tests/fixtures/r_domain_wald``). Pure: numpy, pandas,
scipy; no report code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisInputError
from analysis.estimates import design_df, estimate_columns

PAIRWISE_COLUMNS = ("group_a", "group_b", "diff", "se", "ci_low", "ci_high", "p_value",
                    "p_adjusted")

__all__ = ["PAIRWISE_COLUMNS", "DomainScores", "WaldTest", "adjust", "equal_means_test",
           "pairwise_differences", "score_by_domain", "scores_by_domain"]


@dataclass(frozen=True)
class DomainScores:
    """Score per domain (``groups`` order), joint covariance, respondents per domain."""

    variable: str
    groups: tuple[str, ...]
    estimates: np.ndarray
    vcov: np.ndarray
    n: tuple[int, ...]
    design_df: int
    """R's ``degf`` of the design: PSUs minus strata (replicates: their rank minus 1)."""

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.clip(np.diag(self.vcov), 0.0, None))


@dataclass(frozen=True)
class WaldTest:
    """Wald test of equal domain scores (see the module docstring)."""

    variable: str
    groups: tuple[str, ...]
    chisq: float
    """Wald statistic ``W``."""
    ndf: int
    ddf: float
    f: float
    p_value: float
    """From ``F = W / ndf`` on ``(ndf, ddf)``: the test the report uses."""
    p_chisq: float
    """From ``W`` against chi-square on ``ndf`` df (large-sample)."""
    scores: DomainScores


def _label(value) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def score_by_domain(design, items: Sequence[str], coefficients: Sequence[float],
                    variable: str, *, offset: float = 0.0,
                    groups: Sequence[str] | None = None) -> DomainScores:
    """``offset + sum_j coefficients[j] * mean_j`` in each category of ``variable`` with the
    joint covariance of the estimates. ``groups`` (category values as text) restricts and orders
    the domains; default every category present, sorted. Rows missing ``variable`` are in no
    domain (they still count in the design, as R's ``svyby``)."""
    return scores_by_domain(design, {"score": (items, coefficients)}, variable, offset=offset,
                            groups=groups)["score"]


def scores_by_domain(design, scores: dict[str, tuple[Sequence[str], Sequence[float]]],
                     variable: str, *, offset: float = 0.0,
                     groups: Sequence[str] | None = None) -> dict[str, DomainScores]:
    """:func:`score_by_domain` for several scores (``name: (items, coefficients)``) of one
    variable at once: each item's influence values are computed once per group and the design
    covariance is taken once, which matters on large waves."""
    for name, (items, coefficients) in scores.items():
        if len(items) == 0 or len(coefficients) != len(items):
            raise ValueError(f"score '{name}': give one coefficient per item")
    if variable not in design.data.columns:
        raise AnalysisInputError(f"unknown column '{variable}' (subgroup); the data have no such "
                                 "column")
    codes, uniques = design.factorized(variable)  # cached on the design; -1 where missing
    unique_labels = np.array([_label(u) for u in uniques], dtype=object)
    wanted = list(sorted(set(unique_labels)) if groups is None else groups)
    items = list(dict.fromkeys(c for its, _c in scores.values() for c in its))
    col = {c: j for j, c in enumerate(items)}
    # (k, S): each score's coefficients over the union of items
    weights = np.zeros((len(items), len(scores)))
    for s, (its, coefficients) in enumerate(scores.values()):
        for c, w in zip(its, coefficients, strict=True):
            weights[col[c], s] += float(w)
    y = design.item_matrix(items)
    answered = ~np.isnan(y)
    # one partition whose groups are the wanted labels, in their order
    code_of = {g: i for i, g in enumerate(wanted)}
    label_code = np.array([code_of.get(lab, -1) for lab in unique_labels], dtype=np.int64)
    group = np.where(codes >= 0, label_code[np.maximum(codes, 0)], -1)
    counts = np.empty((len(wanted), len(scores)), dtype=int)
    used = weights != 0
    for g_index, g in enumerate(wanted):
        mask = group == g_index
        if not mask.any():
            raise AnalysisInputError(f"column '{variable}': no response in group '{g}'")
        empty = (~answered[mask].any(axis=0))[:, None] & used
        if empty.any():
            item = items[int(np.flatnonzero(empty.any(axis=1))[0])]
            raise AnalysisInputError(f"column '{item}': no answers in group '{g}' of "
                                     f"'{variable}', so the score has no estimate there")
        counts[g_index] = ((answered[mask].astype(float) @ used) > 0).sum(axis=0)
    means = estimate_columns(design, {c: y[:, j] for j, c in enumerate(items)},
                             [(variable, group, wanted)], covariance="by")
    # each score in each group: its items' means in that group combined with its weights;
    # rows ordered group-major: (group 0: every score), (group 1: every score), ...
    L = np.kron(np.eye(len(wanted)), weights.T)
    combined = means.contrast(L, offset=offset)
    df = int(design_df(design))
    n_scores = len(scores)
    out = {}
    for k, name in enumerate(scores):
        at = [g * n_scores + k for g in range(len(wanted))]
        out[name] = DomainScores(variable, tuple(wanted), combined.coef[at].copy(),
                                 combined.vcov[np.ix_(at, at)], tuple(int(n) for n in counts[:, k]),
                                 df)
    return out


def equal_means_test(scores: DomainScores) -> WaldTest:
    """Wald test that every domain score of ``scores`` is equal (needs two groups or more)."""
    k = len(scores.groups)
    if k < 2:
        raise AnalysisInputError(f"'{scores.variable}': a test of equal means needs at least two "
                                 f"groups, got {k}")
    contrast = np.hstack([np.eye(k - 1), -np.ones((k - 1, 1))])
    d = contrast @ scores.estimates
    v = contrast @ scores.vcov @ contrast.T
    # pinv: a singular covariance (e.g. a group whose answers are all equal) still gives the
    # Wald statistic on the estimable contrasts, as R's solve() would fail instead
    w = float(d @ np.linalg.pinv(v) @ d)
    ndf = k - 1
    ddf = float(scores.design_df - k + 1)
    f = w / ndf
    p_f = float(stats.f.sf(f, ndf, ddf)) if ddf > 0 else float("nan")
    return WaldTest(scores.variable, scores.groups, w, ndf, ddf, f, p_f,
                    float(stats.chi2.sf(w, ndf)), scores)


def pairwise_differences(scores: DomainScores, method: str = "holm",
                         level: float = 0.95) -> pd.DataFrame:
    """Every pair ``a - b`` (``a`` before ``b`` in ``groups`` order): difference in points, SE
    from the joint covariance, normal CI and p-value, and the p-value adjusted over the pairs of
    this variable (``holm`` or ``bh``)."""
    q = stats.norm.ppf(0.5 + level / 2)
    rows = []
    k = len(scores.groups)
    for i in range(k):
        for j in range(i + 1, k):
            diff = float(scores.estimates[i] - scores.estimates[j])
            var = scores.vcov[i, i] + scores.vcov[j, j] - 2 * scores.vcov[i, j]
            se = float(np.sqrt(max(var, 0.0)))
            p = float(2 * stats.norm.sf(abs(diff) / se)) if se > 0 else float("nan")
            rows.append((scores.groups[i], scores.groups[j], diff, se, diff - q * se,
                         diff + q * se, p))
    table = pd.DataFrame(rows, columns=list(PAIRWISE_COLUMNS[:-1]))
    table["p_adjusted"] = adjust(table["p_value"].to_numpy(float), method)
    return table


def adjust(p: np.ndarray, method: str = "holm") -> np.ndarray:
    """Holm (step-down) or Benjamini-Hochberg adjusted p-values; NaN stays NaN and is not in
    the family. Equal to statsmodels' ``multipletests`` (tested), without the garbage
    collection it runs on every Holm call, which costs seconds when a report makes hundreds."""
    if method not in ("holm", "bh"):
        raise AnalysisInputError(f"multiple-testing method '{method}' is not one of holm, bh")
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    ranked = p[order]
    if method == "holm":
        adjusted = np.maximum.accumulate(ranked * np.arange(m, 0, -1))
    else:
        adjusted = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
    out[order] = np.minimum(adjusted, 1.0)
    return out
