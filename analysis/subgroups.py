"""Who lags: subgroup tables (domain means with SEs) and the Rao-Scott test of association.

* :func:`subgroup_table` - domain means of items (and, with a wave or scales, norm scores) by sex,
  age group, region, urban/rural and education, on the full design as R's ``svyby``.
* :func:`rao_scott_chisq` - the design-based test of independence of two categorical variables,
  R's ``svychisq(~row + col, design, statistic = "F" | "Chisq")`` (survey 4.1-1): Pearson's X^2 of
  the weighted table scaled to the sample size, corrected by the design effects of the cell
  proportions (Rao & Scott 1984). ``"F"`` (R's default): ``F = X^2 / tr(Delta)`` on
  ``d0 = tr(Delta)^2 / tr(Delta^2)`` and ``d0 * nu`` degrees of freedom, ``nu`` = R's ``degf``;
  ``"Chisq"``: ``X^2 / mean(diag(Delta))`` against chi-square on ``(r-1)(c-1)`` df (the reported
  statistic is the unadjusted X^2, as R prints it). Rows missing either variable are left out
  of the cell proportions (a domain, as ``na.rm=TRUE``) while ``nu`` and the table scaling use the
  whole design, exactly as R does. The cell proportions and their covariance are an
  :class:`analysis.results.Estimate` of the design (linearised or replicate, R's
  ``svychisq.svyrep.design``). Checked against R to 1e-6
  (``tests/fixtures/r_indicators_trends``).
* :func:`association_tests` - the test for every item x grouping variable pair, one row each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisInputError
from analysis.estimates import design_df, estimate_columns

DEFAULT_GROUPS = ("sex", "age_group", "region", "urban_rural", "education")
STATISTICS = ("F", "Chisq")
TEST_COLUMNS = ("item", "by", "statistic", "value", "ndf", "ddf", "p_value", "pearson_x2",
                "n", "n_rows", "n_cols")

__all__ = [
    "DEFAULT_GROUPS",
    "TEST_COLUMNS",
    "ChisqTest",
    "association_tests",
    "rao_scott_chisq",
    "subgroup_table",
]


@dataclass(frozen=True)
class ChisqTest:
    """Result of :func:`rao_scott_chisq` (the fields of R's ``htest``).

    ``value`` is F for ``statistic="F"`` and the (unadjusted) Pearson X^2 for ``"Chisq"``;
    ``ndf``/``ddf`` the F degrees of freedom (``ddf`` None for Chisq, ``ndf`` then the chi-square
    df); ``pearson_x2`` the Pearson X^2 of the weighted table scaled to the sample size;
    ``design_effects`` the eigenvalues of the generalised design-effect matrix Delta.
    """

    row: str
    col: str
    statistic: str
    value: float
    ndf: float
    ddf: float | None
    p_value: float
    pearson_x2: float
    design_effects: np.ndarray
    n: int
    row_levels: tuple[str, ...]
    col_levels: tuple[str, ...]

    @property
    def method(self) -> str:
        return "Pearson's X^2: Rao & Scott adjustment"

    def __repr__(self) -> str:
        df = (f"ndf = {self.ndf:.4g}, ddf = {self.ddf:.4g}" if self.ddf is not None
              else f"df = {self.ndf:g}")
        name = "F" if self.statistic == "F" else "X-squared"
        return (f"{self.method}\n  {self.row} x {self.col} ({len(self.row_levels)} x "
                f"{len(self.col_levels)}, n = {self.n})\n"
                f"  {name} = {self.value:.6g}, {df}, p-value = {self.p_value:.4g}")


def _codes(data: pd.DataFrame, column: str) -> tuple[np.ndarray, list[str]]:
    if column not in data.columns:
        raise AnalysisInputError(f"unknown column '{column}'; the data have no such column")
    codes, uniques = pd.factorize(data[column], sort=True)
    labels = [str(int(u)) if isinstance(u, float) and float(u).is_integer() else str(u)
              for u in uniques]
    return codes.astype(np.int64), labels


def rao_scott_chisq(design, row: str, col: str, statistic: str = "F") -> ChisqTest:
    """Rao-Scott corrected chi-square test of association between columns ``row`` and ``col``.

    Matches R's ``svychisq(~row + col, design, statistic=statistic)`` (survey 4.1-1), including
    for calibrated designs. Raises :class:`AnalysisInputError` when a variable has fewer than two
    observed categories.
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}, got {statistic!r}")
    r_codes, r_labels = _codes(design.data, row)
    c_codes, c_labels = _codes(design.data, col)
    nr, nc = len(r_labels), len(c_labels)
    for name, k in ((row, nr), (col, nc)):
        if k < 2:
            raise AnalysisInputError(
                f"column '{name}': a test of association needs at least two categories, "
                f"found {k}")
    n_total = design.n
    complete = (r_codes >= 0) & (c_codes >= 0)
    cell = np.where(complete, r_codes + nr * c_codes, -1)  # rows vary fastest, as R
    n_cells = nr * nc
    y = np.full((n_total, n_cells), np.nan)
    y[complete] = 0.0
    y[np.flatnonzero(complete), cell[complete]] = 1.0
    cells = estimate_columns(design, {str(c): y[:, c] for c in range(n_cells)},
                             covariance="group")
    props, v = cells.coef, cells.vcov

    # Pearson X^2 of the weighted table rescaled to the whole sample size (R: Ntotal = N)
    w = design.weights
    table = np.bincount(cell[complete], weights=w[complete], minlength=n_cells)
    table = table * n_total / table.sum()
    tab = table.reshape(nc, nr).T
    expected = np.outer(tab.sum(axis=1), tab.sum(axis=0)) / tab.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        pearson = float(np.sum((tab - expected) ** 2 / expected))

    # Delta: design effects of the interaction contrasts (R's Cmat, Dmat, Vsrs)
    grid_r = np.tile(np.arange(nr), nc)
    grid_c = np.repeat(np.arange(nc), nr)
    x1 = np.column_stack([np.ones(n_cells)]
                         + [(grid_r == i).astype(float) for i in range(1, nr)]
                         + [(grid_c == j).astype(float) for j in range(1, nc)])
    inter = np.column_stack([((grid_r == i) & (grid_c == j)).astype(float)
                             for j in range(1, nc) for i in range(1, nr)])
    coef, *_ = np.linalg.lstsq(x1, inter, rcond=None)
    cmat = inter - x1 @ coef
    with np.errstate(divide="ignore"):
        inv_p = np.where(props == 0, 0.0, 1.0 / props)
    denom = cmat.T @ (inv_p[:, None] / n_total * cmat)
    numr = cmat.T @ (inv_p[:, None] * v * inv_p[None, :]) @ cmat
    delta = np.linalg.solve(denom, numr)
    tr = float(np.trace(delta))
    tr2 = float(np.trace(delta @ delta))
    d0 = tr * tr / tr2
    nu = design_df(design)
    if statistic == "F":
        value = pearson / tr
        ndf, ddf = d0, d0 * nu
        p = float(stats.f.sf(value, ndf, ddf))
    else:
        value = pearson
        ndf, ddf = float(delta.shape[1]), None
        p = float(stats.chi2.sf(pearson / (tr / delta.shape[1]), delta.shape[1]))
    eig = np.sort(np.linalg.eigvals(delta).real)[::-1]
    return ChisqTest(row=row, col=col, statistic=statistic, value=float(value), ndf=float(ndf),
                     ddf=None if ddf is None else float(ddf), p_value=p, pearson_x2=pearson,
                     design_effects=eig, n=int(complete.sum()), row_levels=tuple(r_labels),
                     col_levels=tuple(c_labels))


def association_tests(design, items: Sequence[str], by: Sequence[str] = DEFAULT_GROUPS,
                      statistic: str = "F") -> pd.DataFrame:
    """:func:`rao_scott_chisq` of every item (answer categories) against every ``by`` column.

    Returns columns :data:`TEST_COLUMNS`, one row per (item, by) pair; ``by`` columns absent from
    the data are an input error.
    """
    by = [by] if isinstance(by, str) else list(by)
    rows = []
    for item in items:
        for var in by:
            t = rao_scott_chisq(design, var, item, statistic=statistic)
            rows.append({"item": item, "by": var, "statistic": statistic, "value": t.value,
                         "ndf": t.ndf, "ddf": t.ddf, "p_value": t.p_value,
                         "pearson_x2": t.pearson_x2, "n": t.n,
                         "n_rows": len(t.row_levels), "n_cols": len(t.col_levels)})
    return pd.DataFrame(rows, columns=list(TEST_COLUMNS))


def subgroup_table(design, items: Sequence[str] = (), by: Sequence[str] = DEFAULT_GROUPS, *,
                   wave=None, scales=None, proportion: Sequence[float] | None = None,
                   level: float = 0.95) -> pd.DataFrame:
    """Domain estimates for subgroup tables: whole sample first, then each group of each ``by``.

    ``items`` are raw item codes or indicator names (``N04.practice``, ``index.gap``); norm
    scores need ``wave`` (its scales, restricted to the data) or explicit ``scales``. With
    ``proportion`` raw items give the share of answers in those codes.

    Returns columns ``item, by, group, estimate, se, ci_low, ci_high, n``; ``by`` columns the
    data lack are skipped only if they are the defaults, otherwise an input error.
    """
    from analysis.indicators import estimate_targets, scales_in_data, wave_scales

    by = [by] if isinstance(by, str) else list(by)
    if tuple(by) == DEFAULT_GROUPS:
        by = [b for b in by if b in design.data.columns]
    if scales is None:
        if wave is None and any("." in str(i) for i in items):
            raise AnalysisInputError("indicators (NORM.KIND) need the wave definition: pass "
                                     "wave= (or scales=)")
        scales = () if wave is None else scales_in_data(wave_scales(wave), design.data)[0]
    return estimate_targets(design, list(items), scales, by=by or None, level=level,
                            proportion=proportion)
