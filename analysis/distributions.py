"""Answer distributions: the weighted share of each answer to an item, with design-based SEs.

For an item with answer codes 1..5 and "not applicable" (code 9, ``questionnaires.
NOT_APPLICABLE_CODE``; contract section 1):

* the share of each answer 1..5 is among the respondents who answered 1..5 (a "not applicable"
  answer is outside the domain, as it is for means and scores);
* the share of "not applicable" is separate: among everyone who was shown the item and answered
  it (1..5 or 9). Empty cells (not answered, not shown) are in neither domain.

Each share is a weighted mean of an indicator over its domain
(:func:`analysis.estimates.estimate_columns`), so its SE is the design's (strata, PSUs, fpc,
calibration, or the replicate weights), the same numbers as :meth:`SurveyDesign.proportion`
with one level on data whose 9s are missing (``tests/analysis/test_distributions.py`` checks
this). Confidence intervals
are logit intervals, ``expit(logit(p) +- z * se / (p (1 - p)))`` (R's ``svyciprop(method =
"logit")`` with a normal quantile), which stay inside 0..1 for rare answers; a share of 0 or 1
gets the interval [p, p]. Shares, SEs and intervals agree with R 4.2 / survey 4.1-1 to 1e-6 on a
plain and a raked design (``tests/fixtures/r_distributions``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analysis.design_columns import row_name
from analysis.errors import AnalysisInputError
from analysis.estimates import estimate_columns

NOT_APPLICABLE_CODE = 9
ANSWER_CODES = (1, 2, 3, 4, 5)
DISTRIBUTION_COLUMNS = ("item", "code", "label", "share", "se", "ci_low", "ci_high", "n")

__all__ = ["ANSWER_CODES", "DISTRIBUTION_COLUMNS", "NOT_APPLICABLE_CODE", "answer_distributions",
           "share_rows"]


def _logit_interval(p: float, se: float, z: float) -> tuple[float, float]:
    if not (0 < p < 1) or not np.isfinite(se):
        return (p, p) if np.isfinite(p) else (np.nan, np.nan)
    eta = np.log(p / (1 - p))
    half = z * se / (p * (1 - p))
    return float(1 / (1 + np.exp(-(eta - half)))), float(1 / (1 + np.exp(-(eta + half))))


def _codes(design, item: str, allowed: set[int]) -> np.ndarray:
    values = design.item_column(item)
    seen = ~np.isnan(values)
    bad = seen & ~np.isin(values, list(allowed))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AnalysisInputError(f"column '{item}': value {values[i]:g} in "
                                 f"{row_name(design.data, i)} is not an answer code "
                                 f"({', '.join(map(str, sorted(allowed)))})")
    return values


def answer_distributions(design, items: Sequence[str],
                         labels: Mapping[str, Mapping[int, str]] | None = None, *,
                         codes: Sequence[int] = ANSWER_CODES,
                         not_applicable_code: int | None = NOT_APPLICABLE_CODE,
                         not_applicable: pd.DataFrame | None = None,
                         level: float = 0.95) -> pd.DataFrame:
    """The distribution of answers to each of ``items`` on ``design``.

    Returns a tidy table with :data:`DISTRIBUTION_COLUMNS`: per item one row per answer code in
    ``codes`` (share among those who answered one of ``codes``), then a row for
    ``not_applicable_code`` when the item offers it (``labels`` has the code) or the data hold
    it (share among those who answered at all). ``n`` is the unweighted size of the row's
    domain; ``label`` comes from ``labels[item][code]`` (empty when not given).

    ``not_applicable``: where the data had "not applicable" before the pipeline made it missing
    (:attr:`analysis.pipeline.Survey.not_applicable`: a boolean frame on the design's rows, one
    column per item); those cells count as ``not_applicable_code`` here.

    Raises :class:`AnalysisInputError` naming the column, the value and the row for a value
    that is neither one of ``codes`` nor ``not_applicable_code``.
    """
    labels = labels or {}
    allowed = set(codes) | ({not_applicable_code} if not_applicable_code is not None else set())
    rows = []
    for item in items:
        values = _codes(design, item, allowed)
        if not_applicable is not None and item in not_applicable.columns:
            mask = not_applicable[item].reindex(design.data.index, fill_value=False)
            values = np.where(mask.to_numpy(dtype=bool), float(not_applicable_code), values)
        names = labels.get(item, {})
        answered = np.isin(values, list(codes))
        is_na = values == not_applicable_code if not_applicable_code is not None else \
            np.zeros(len(values), dtype=bool)
        indicators = np.column_stack([values == c for c in codes]).astype(float)
        indicators[~answered] = np.nan
        blocks = [(list(codes), indicators, int(answered.sum()))]
        if not_applicable_code is not None and (not_applicable_code in names or is_na.any()):
            shown = answered | is_na
            blocks.append(([not_applicable_code], np.where(shown, is_na, np.nan)[:, None],
                           int(shown.sum())))
        for block_codes, y, n in blocks:
            share = se = None
            if n:
                est = estimate_columns(design, {str(c): y[:, j]
                                                for j, c in enumerate(block_codes)})
                share, se = est.coef, est.se
            rows += share_rows(item, block_codes, share, se, n, names, level)
    return pd.DataFrame(rows, columns=list(DISTRIBUTION_COLUMNS))


def share_rows(item: str, codes: Sequence[int], share, se, n: int,
               names: Mapping[int, str], level: float = 0.95) -> list[tuple]:
    """The :data:`DISTRIBUTION_COLUMNS` rows of one domain of ``item``: each code's share and
    SE with its logit interval; NaN throughout when the domain has no row (``n`` 0)."""
    z = float(stats.norm.ppf(0.5 + level / 2))
    if not n:
        share = se = np.full(len(codes), np.nan)
    rows = []
    for code, p, s in zip(codes, share, se, strict=True):
        lo, hi = _logit_interval(float(p), float(s), z)
        rows.append((item, int(code), names.get(code, ""), float(p), float(s), lo, hi, int(n)))
    return rows
