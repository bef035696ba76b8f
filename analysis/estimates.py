"""Means, totals and proportions with design-based standard errors, overall and by domain.

Domains are estimated on the full design, as R's ``svyby`` (a domain is a subset of the rows
whose linearised values are zero elsewhere; strata and PSUs keep their full-design counts).
Every item and every domain group is one column of a single set of sparse products, so the
work is a few passes over the ``(n, k)`` item matrix whatever the number of groups.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.variance import group_sum_matrix

Z_95 = 1.959963984540054  # qnorm(0.975): R's confint() for svymean / svytotal

COLUMNS = ["item", "by", "group", "estimate", "se", "ci_low", "ci_high", "n", "deff"]
STATISTICS = ("mean", "total", "proportion")


class Estimates:
    """Result of an estimator: one row per item (and per domain group).

    Attributes:
        table: DataFrame with columns ``item, by, group, estimate, se, ci_low, ci_high, n,
            deff``. Overall rows have ``by`` and ``group`` empty. ``se`` is the Taylor
            standard error, ``ci_low``/``ci_high`` the 95% normal interval, ``n`` the unweighted
            number of answers used, ``deff`` the design effect (R's ``deff=TRUE``).
        statistic: ``"mean"``, ``"total"`` or ``"proportion"``.
        levels: the answer levels counted by a proportion.
    """

    def __init__(self, table: pd.DataFrame, statistic: str, levels=None):
        self.table = table
        self.statistic = statistic
        self.levels = None if levels is None else list(levels)

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        return f"<Estimates {self.statistic}: {len(self.table)} rows>"

    def __str__(self) -> str:
        what = self.statistic
        if self.levels is not None:
            what += " of answers in " + ", ".join(_fmt_level(v) for v in self.levels)
        t = self.table.copy()
        t["ci95"] = [f"[{lo:.4g}, {hi:.4g}]" for lo, hi in zip(t.ci_low, t.ci_high, strict=True)]
        t = t[["item", "by", "group", "estimate", "se", "ci95", "n", "deff"]]
        body = t.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        return f"Design-based {what} (Taylor-linearised SE, 95% normal CI)\n{body}"


def estimate(design, items, statistic: str, by=None, na_rm: bool = True, deff=True,
             levels: Sequence[float] | None = None) -> Estimates:
    """Estimate ``statistic`` for ``items`` on ``design`` (see :class:`SurveyDesign`).

    ``by`` is a column or a list of columns; each is a separate domain variable (groups of one
    variable at a time, not crossed). ``deff`` is ``True`` (R's default: SRS without
    replacement of ``n`` from a population of ``sum(weights)``), ``"replace"`` (SRS with
    replacement) or ``False``.
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {STATISTICS}")
    items = [items] if isinstance(items, str) else list(items)
    if not items:
        raise AnalysisInputError("no items to estimate")
    by_list = [] if by is None else ([by] if isinstance(by, str) else list(by))
    y = design.item_matrix(items)
    if statistic == "proportion":
        levels = _check_levels(levels)
        y = np.where(np.isnan(y), np.nan, np.isin(y, levels).astype(float))
    partitions = [("", np.zeros(design.n, dtype=np.int64), [""])]
    for col in by_list:
        partitions.append((col, *domain_codes(design.data, col)))
    res = domain_estimates(design, y, [p[1] for p in partitions],
                           [len(p[2]) for p in partitions],
                           total=(statistic == "total"), na_rm=na_rm, deff=deff)
    rows = []
    offset = 0
    for name, _, labels in partitions:
        for g, label in enumerate(labels):
            for j, item in enumerate(items):
                rows.append((item, name, label, offset + g, j))
        offset += len(labels)
    gi = np.array([r[3] for r in rows], dtype=np.int64)
    ji = np.array([r[4] for r in rows], dtype=np.int64)
    est, se = res["estimate"][gi, ji], res["se"][gi, ji]
    table = pd.DataFrame({
        "item": [r[0] for r in rows],
        "by": [r[1] for r in rows],
        "group": [r[2] for r in rows],
        "estimate": est,
        "se": se,
        "ci_low": est - Z_95 * se,
        "ci_high": est + Z_95 * se,
        "n": res["n"][gi, ji].astype(np.int64),
        "deff": res["deff"][gi, ji] if deff else np.nan,
    })
    return Estimates(table, statistic, levels if statistic == "proportion" else None)


def domain_codes(data: pd.DataFrame, col: str) -> tuple[np.ndarray, list[str]]:
    """Group code of each row for domain variable ``col`` (-1 where missing) and the labels."""
    if col not in data.columns:
        raise AnalysisInputError(f"unknown column '{col}' (by); the data have no such column")
    codes, uniques = pd.factorize(data[col], sort=True)
    return codes.astype(np.int64), [_label(u) for u in uniques]


def domain_estimates(design, y: np.ndarray, partitions: list[np.ndarray], sizes: list[int],
                     total: bool = False, na_rm: bool = True, deff=True) -> dict:
    """Means (or totals) of the columns of ``y`` in every group of every partition.

    Args:
        design: the :class:`SurveyDesign`.
        y: ``(n, k)`` floats, NaN = missing (a missing answer leaves the row out of that
            item's domain, as R's ``na.rm=TRUE``).
        partitions: ``(n,)`` group codes per partition (``-1``: in no group).
        sizes: number of groups per partition.

    Returns:
        dict of ``(G, k)`` arrays ``estimate, se, var, n, deff, weight`` where ``G`` is the sum
        of ``sizes`` (partitions stacked in order).
    """
    n, k = y.shape
    s = design.structure
    a = design.weights
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    n_groups = int(np.sum(sizes))
    keys = np.column_stack([np.where(c >= 0, c + o, -1)
                            for c, o in zip(partitions, offsets, strict=True)])
    obs = ~np.isnan(y)
    y0 = np.where(obs, y, 0.0)
    has_missing = ~obs.all(axis=0)

    def sums(row_keys, n_keys, values, with_y2=False):
        """(n_keys, G, k) sums of values*y and values*obs over rows keyed row_keys*G + group."""
        full = np.where(keys >= 0, row_keys[:, None] * n_groups + keys, -1)
        mat = group_sum_matrix(full, n_keys * n_groups, values)
        sy = (mat @ y0).reshape(n_keys, n_groups, k)
        sw = np.repeat((mat @ np.ones(n)).reshape(n_keys, n_groups, 1), k, axis=2)
        if has_missing.any():
            sw[:, :, has_missing] = (mat @ obs[:, has_missing].astype(float)).reshape(
                n_keys, n_groups, -1)
        return sy, sw

    py, pw = sums(s.psu, s.n_psus, a)
    wsum = pw.sum(axis=0)  # (G, k)
    ysum = py.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if total:
            est = ysum
            zpsu = py
        else:
            est = ysum / wsum
            zpsu = (py - est * pw) / wsum
        zpsu = np.nan_to_num(zpsu.reshape(s.n_psus, n_groups * k), nan=0.0)
        cal = design.calibration
        if cal is not None:
            cell_sums = []
            for ratio in cal.ratios:
                cy, cw = sums(cal.cell, cal.n_cells, a * ratio)
                r = cy if total else (cy - est * cw) / wsum
                cell_sums.append(np.nan_to_num(r.reshape(cal.n_cells, n_groups * k), nan=0.0))
            zpsu = cal.residual_psu_totals(zpsu, cell_sums)
    present = None
    if s.lonely_psu == "average" and s.lonely.any() and cal is None:
        stratum_row = s.psu_stratum[s.psu]
        _, cnt = sums(stratum_row, s.n_strata, np.ones(n))
        present = (cnt > 0).reshape(s.n_strata, n_groups * k)
    var = s.variance(zpsu, present).reshape(n_groups, k)

    # unweighted n (rows with a positive weight) and the SRS variance for the design effect
    gmat = group_sum_matrix(keys, n_groups, (a > 0).astype(float))
    counts = np.repeat((gmat @ np.ones(n))[:, None], k, axis=1)
    if has_missing.any():
        counts[:, has_missing] = gmat @ obs[:, has_missing].astype(float)
    result = {"estimate": est, "var": var, "se": np.sqrt(var), "n": counts, "weight": wsum}
    if deff:
        y2 = group_sum_matrix(keys, n_groups, a) @ (y0 * y0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = ysum / wsum
            pop_var = (y2 - wsum * mean * mean) / wsum * counts / (counts - 1)
            if deff == "replace":
                srs = pop_var / counts
            else:
                srs = pop_var * (wsum - counts) / (wsum * counts)
                if not total:
                    srs = np.where(wsum < counts, np.nan, srs)
            if total:
                srs = srs * wsum * wsum
            result["deff"] = var / srs
    if not na_rm:
        gall = group_sum_matrix(keys, n_groups, (a > 0).astype(float)) @ np.ones(n)
        incomplete = counts < gall[:, None]
        for key in ("estimate", "var", "se", "deff"):
            if key in result:
                result[key] = np.where(incomplete, np.nan, result[key])
    return result


def _check_levels(levels) -> list[float]:
    if levels is None:
        raise AnalysisInputError("a proportion needs the answer levels to count, e.g. 4,5")
    if isinstance(levels, int | float):
        levels = [levels]
    out = []
    for v in levels:
        try:
            out.append(float(v))
        except (TypeError, ValueError):
            raise AnalysisInputError(f"proportion level '{v}' is not a number") from None
    if not out:
        raise AnalysisInputError("a proportion needs at least one answer level, e.g. 4,5")
    return out


def _label(value) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _fmt_level(v) -> str:
    return _label(float(v))
