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
* the 95% interval is normal (``qnorm(0.975)``, R's ``confint``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError, bounded
from analysis.estimates import Z_95, domain_codes, domain_estimates
from analysis.results import Estimate
from analysis.variance import blas_single_thread


def parse_ratio(text: str) -> tuple[str, str]:
    """``'api00/enroll'`` -> ``('api00', 'enroll')``; anything else is an error naming it."""
    parts = [p.strip() for p in str(text).split("/")]
    if len(parts) != 2 or not all(parts):
        raise AnalysisInputError(f"ratio '{bounded(text)}' is not NUMERATOR/DENOMINATOR "
                                 "(two column names and one '/', e.g. api00/enroll)")
    return parts[0], parts[1]


def ratio_estimates(design, pairs: Iterable, by=None, deff=True) -> Estimate:
    """Ratios ``NUM/DEN`` of weighted totals, overall and in each group of each ``by`` column.

    Args:
        design: a :class:`analysis.SurveyDesign`.
        pairs: ``(numerator, denominator)`` column pairs, or ``"NUM/DEN"`` strings.
        by: a column or a list of columns, each a separate domain variable.
        deff: as the estimators (``True``: R's ``deff=TRUE``, ``"replace"``, ``False``).

    Returns:
        :class:`~analysis.results.Estimate` (statistic ``"ratio"``) with the columns of every
        estimator; the item
        is ``NUM/DEN``; ``n`` counts the rows with both answered.

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
    blocks = []
    for name, codes, labels in partitions:
        per_pair = [_ratio_block(design, num, den, name, codes, labels, deff)
                    for num, den in pairs]
        # rows as every estimator orders them: group by group, the ratios in the order asked
        blocks.append(pd.concat(per_pair).sort_index(kind="stable"))
    return Estimate.from_table(pd.concat(blocks, ignore_index=True), "ratio")


def _ratio_block(design, numerator: str, denominator: str, by: str, codes: np.ndarray,
                 labels: list[str], deff) -> pd.DataFrame:
    """The rows of one ratio for the groups of one domain variable."""
    y, x = design.item_column(numerator), design.item_column(denominator)
    answered = ~(np.isnan(y) | np.isnan(x)) & (codes >= 0)
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
        z = np.where(answered, (y0 - ratio[g] * x0) / x_total[g], np.nan)
    with blas_single_thread():
        res = domain_estimates(design, [z], [np.where(answered, codes, -1)], [n_groups],
                               total=True, deff=deff)
    se = np.where(has_answers, res["se"][:, 0], np.nan)
    if getattr(design, "replicates", None) is not None:
        # the ratio in every replicate, as R's svyratio of a replicate design (no deff)
        from analysis.replicates import replicate_ratios

        se = np.sqrt(replicate_ratios(design, y0, x0, np.where(answered, codes, -1),
                                      n_groups)[1])
        deff = False
    return pd.DataFrame({
        "item": f"{numerator}/{denominator}",
        "by": by,
        "group": labels,
        "estimate": ratio,
        "se": se,
        "ci_low": ratio - Z_95 * se,
        "ci_high": ratio + Z_95 * se,
        "n": res["n"][:, 0].astype(np.int64),
        "deff": np.where(has_answers, res["deff"][:, 0], np.nan) if deff else np.nan,
    })
