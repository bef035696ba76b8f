"""Ratios of two weighted totals, overall and by domain: R's ``svyratio``.

``ratio_estimates(design, [("api00", "enroll")], by="stype")`` is R's
``svyratio(~api00, ~enroll, design, na.rm=TRUE, deff=TRUE)`` and
``svyby(~api00, ~stype, design, svyratio, denominator=~enroll, na.rm=TRUE, deff=TRUE)``
(survey 4.1-1):

* ``R = Y / X`` with ``Y``, ``X`` the weighted totals of the numerator and the denominator over
  the rows of the domain where both are answered (a row missing either is out, R's
  ``na.rm=TRUE``);
* its variance is that of the total of the linearised values ``z = w (y - R x) / X`` (0 outside
  the domain), taken by :func:`analysis.estimates.domain_estimates` like every other total, so
  strata, PSUs, fpc, stages, lonely PSUs and the calibration of a raked design count as for a
  mean; the design effect is that total's, as R's ``deff(svytotal(r, design))``;
* the 95% interval is normal (``qnorm(0.975)``, R's ``confint``);
* covariances: every ratio and domain variable has its column of linearised values, and one
  :func:`domain_estimates` pass over all of them in every group gives the covariance of any two
  ratios (``covariance="all"``, the default), R's ``vcov(svyratio(~a + b, ~c + d, design,
  covmat=TRUE))`` and ``vcov(svyby(~a, ~g, design, svyratio, denominator=~d, covmat=TRUE))``
  (``tests/fixtures/r_ratio_covariance``). With replicate weights the ratio is recomputed in
  every replicate and the covariance is that of the replicate ratios, as R's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from analysis.errors import AnalysisInputError, bounded
from analysis.estimates import (
    assemble_vcov,
    design_df,
    domain_codes,
    domain_estimates,
    replicate_note,
)
from analysis.results import Estimate, vcov_blocks
from analysis.variance import blas_single_thread


def parse_ratio(text: str) -> tuple[str, str]:
    """``'api00/enroll'`` -> ``('api00', 'enroll')``; anything else is an error naming it."""
    parts = [p.strip() for p in str(text).split("/")]
    if len(parts) != 2 or not all(parts):
        raise AnalysisInputError(f"ratio '{bounded(text)}' is not NUMERATOR/DENOMINATOR "
                                 "(two column names and one '/', e.g. api00/enroll)")
    return parts[0], parts[1]


def ratio_estimates(design, pairs: Iterable, by=None, deff=True,
                    covariance: str | None = "all") -> Estimate:
    """Ratios ``NUM/DEN`` of weighted totals, overall and in each group of each ``by`` column.

    Args:
        design: a :class:`analysis.SurveyDesign`.
        pairs: ``(numerator, denominator)`` column pairs, or ``"NUM/DEN"`` strings.
        by: a column or a list of columns, each a separate domain variable.
        deff: as the estimators (``True``: R's ``deff=TRUE``, ``"replace"``, ``False``).
        covariance: which covariances besides the variances (:data:`analysis.results.
            COVARIANCE_LEVELS`): ``"all"`` (default) every pair of ratios; ``"by"`` across the
            ratios and groups of each domain variable (R's ``svyby(..., svyratio,
            covmat=TRUE)``); ``"group"`` the ratios within each group (R's ``vcov`` of
            ``svyratio`` with several numerators and denominators); ``None`` variances only.

    Returns:
        :class:`~analysis.results.Estimate` (statistic ``"ratio"``) with the columns of every
        estimator and the covariance of the ratios' linearised totals (or, with replicate
        weights, of the ratios in the replicates); the item is ``NUM/DEN``; ``n`` counts the
        rows with both answered. Rows go group by group, the ratios in the order asked.

    Raises:
        AnalysisInputError: a malformed pair, an unknown or non-numeric column, a denominator
            whose weighted total is 0 where the domain has answers.
    """
    pairs = [parse_ratio(p) if isinstance(p, str) else tuple(p) for p in pairs]
    if not pairs:
        raise AnalysisInputError("no ratios to estimate")
    by_list = [] if by is None else ([by] if isinstance(by, str) else list(by))
    partitions = [("", np.zeros(design.n, dtype=np.int64), [""])]
    partitions += [(col, *domain_codes(design.data, col)) for col in by_list]
    sizes = [len(labels) for _, _, labels in partitions]
    replicates = getattr(design, "replicates", None) is not None
    # one linearised column per ratio and domain variable (its groups' ratios in it); every
    # column is estimated in every group of every partition, and the ratio of a group is its
    # own partition's column there, so all their covariances come from one pass
    parts = [_linearised(design, num, den, name, codes, labels)
             for name, codes, labels in partitions for num, den in pairs]
    with blas_single_thread():
        res = domain_estimates(design, [p.z for p in parts], [c for _, c, _ in partitions],
                               sizes, total=True, deff=deff and not replicates,
                               covariance=None if replicates else covariance)
    k, n_pairs = len(parts), len(pairs)
    first = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    # each ratio: (its column, its group within the column's partition), group by group
    chosen = [(q * n_pairs + j, g) for q, size in enumerate(sizes) for g in range(size)
              for j in range(n_pairs)]
    at = np.array([(first[col // n_pairs] + g) * k + col for col, g in chosen])
    ratio = np.array([parts[col].ratio[g] for col, g in chosen])
    blocks = vcov_blocks(covariance, sizes, n_pairs)
    if replicates:
        # the ratios in every replicate, as R's svyratio of a replicate design (no deff)
        from analysis.replicates import replicate_ratios

        reps = design.replicates
        thetas = [replicate_ratios(design, p.y, p.x, p.keys, sizes[col // n_pairs])
                  for col, p in enumerate(parts)]
        theta = np.vstack([thetas[col][g] for col, g in chosen])
        vcov = reps.covariance(theta, ratio)
        vcov[np.diag_indices_from(vcov)] = reps.variance(theta, ratio)
        if blocks is not None:
            vcov[blocks[:, None] != blocks[None, :]] = np.nan
    else:
        vcov = assemble_vcov(res, k)[np.ix_(at, at)]
    defined = ~np.isnan(ratio)
    vcov[~defined, :] = np.nan
    vcov[:, ~defined] = np.nan
    return Estimate(
        coef=ratio, vcov=vcov, item=["/".join(pairs[col % n_pairs]) for col, _ in chosen],
        by=[partitions[col // n_pairs][0] for col, _ in chosen],
        group=[partitions[col // n_pairs][2][g] for col, g in chosen],
        n=res["n"].ravel()[at],
        deff=(np.where(defined, res["deff"].ravel()[at], np.nan)
              if deff and not replicates else None),
        df=design_df(design), statistic="ratio", blocks=blocks, covariance=covariance,
        **replicate_note(design))


@dataclass(frozen=True)
class _Linearised:
    """One ratio in the groups of one domain variable: the ratios ``(G,)``, the linearised
    values ``z`` (NaN where either column is unanswered; 0 outside the groups), and what the
    replicates need: ``y``, ``x`` zero-filled and the group of each answered row (-1 else)."""

    ratio: np.ndarray
    z: np.ndarray
    y: np.ndarray
    x: np.ndarray
    keys: np.ndarray


def _linearised(design, numerator: str, denominator: str, by: str, codes: np.ndarray,
                labels: list[str]) -> _Linearised:
    y, x = design.item_column(numerator), design.item_column(denominator)
    both = ~(np.isnan(y) | np.isnan(x))
    answered = both & (codes >= 0)
    n_groups = len(labels)
    key = np.where(answered, codes, n_groups)
    w = design.weights
    y0, x0 = np.where(answered, y, 0.0), np.where(answered, x, 0.0)
    y_total = np.bincount(key, w * y0, minlength=n_groups + 1)[:n_groups]
    x_total = np.bincount(key, w * x0, minlength=n_groups + 1)[:n_groups]
    has_answers = np.bincount(key, (w > 0).astype(float), minlength=n_groups + 1)[:n_groups] > 0
    zero = has_answers & (x_total == 0)
    if zero.any():
        where = f" in group {by}={labels[int(np.flatnonzero(zero)[0])]}" if by else ""
        raise AnalysisInputError(f"ratio {numerator}/{denominator}: the weighted total of "
                                 f"'{denominator}' is 0{where}, so the ratio is undefined")
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(has_answers, y_total / x_total, np.nan)
        g = np.where(answered, codes, 0)
        # linearised values of the ratio; R's svyratio: (y - R x) / X, weighted by the design
        z = np.where(answered, (y0 - ratio[g] * x0) / x_total[g], 0.0)
    z[~both] = np.nan
    return _Linearised(ratio=ratio, z=z, y=y0, x=x0, keys=np.where(answered, codes, -1))
