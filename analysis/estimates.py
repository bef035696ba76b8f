"""Means, totals and proportions with design-based standard errors, overall and by domain.

Domains are estimated on the full design, as R's ``svyby`` (a domain is a subset of the rows
whose linearised values are zero elsewhere; strata and PSUs keep their full-design counts).
Each item column is read once per domain variable: a handful of ``np.bincount`` passes give its
sums per (group, PSU) and per (group, weighting cell), and everything after that works on those
aggregates, vectorised over items and groups.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.variance import blas_single_thread

Z_95 = 1.959963984540054  # qnorm(0.975): R's confint() for svymean / svytotal

COLUMNS = ["item", "by", "group", "estimate", "se", "ci_low", "ci_high", "n", "deff"]
STATISTICS = ("mean", "total", "proportion")
# bound on the (items x groups x PSUs) aggregates held at once (8 bytes each, a few arrays)
MAX_AGGREGATE_CELLS = 40_000_000


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
    if deff not in (True, False, "replace"):
        raise ValueError("deff must be True, False or 'replace'")
    items = [items] if isinstance(items, str) else list(items)
    if not items:
        raise AnalysisInputError("no items to estimate")
    by_list = [] if by is None else ([by] if isinstance(by, str) else list(by))
    if statistic == "proportion":
        levels = _check_levels(levels)
        y = [_indicator(design.item_values(col), levels) for col in items]
    else:
        y = [design.item_values(col) for col in items]
    partitions = [("", np.zeros(design.n, dtype=np.int64), [""])]
    for col in by_list:
        partitions.append((col, *_cached_domain_codes(design, col)))
    with blas_single_thread():
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


def _cached_domain_codes(design, col: str) -> tuple[np.ndarray, list[str]]:
    """:func:`domain_codes` of the design's data, cached on the design (and shared with the
    designs derived from it, which have the same data): a string column is factorized once."""
    key = "\0domain:" + col
    cached = design._columns.get(key)
    if cached is None:
        if col not in design.data.columns:
            return domain_codes(design.data, col)  # raises naming the column
        # pd.factorize(sort=True) is the unsorted factorization with its distinct values
        # sorted: sort the (few) distinct values of the design's cached one
        codes, uniques = design.factorized(col)
        rank, ordered = pd.factorize(uniques, sort=True)
        codes = np.where(codes >= 0, rank.astype(np.int64)[codes], -1)
        codes.flags.writeable = False
        cached = (codes, [_label(u) for u in ordered])
        design._columns[key] = cached
    return cached[0], list(cached[1])


def domain_estimates(design, y, partitions: list[np.ndarray], sizes: list[int],
                     total: bool = False, na_rm: bool = True, deff=True) -> dict:
    """Means (or totals) of the columns of ``y`` in every group of every partition.

    Args:
        design: the :class:`SurveyDesign`.
        y: ``(n, k)`` floats, or a list of ``k`` columns: ``(n,)`` float arrays (NaN =
            missing) or ``(values, indices of the missing rows)`` pairs (values at those rows
            are ignored; see :meth:`SurveyDesign.item_values`). A
            missing answer leaves the row out of that item's domain, as R's ``na.rm=TRUE``.
        partitions: ``(n,)`` group codes per partition (``-1``: in no group).
        sizes: number of groups per partition.

    Returns:
        dict of ``(G, k)`` arrays ``estimate, se, var, n, deff, weight`` where ``G`` is the sum
        of ``sizes`` (partitions stacked in order).

    Work is column by column with ``np.bincount`` on integer keys (group x PSU, group x cell):
    the columns come from a DataFrame, so no ``(n, k)`` copy is made. Sums over the answered
    rows are the sums over all rows minus those over the (few) missing rows. Aggregates are
    kept as ``(k, G, PSU)`` so that every later step runs on contiguous memory.
    """
    columns = [y[:, j] for j in range(y.shape[1])] if isinstance(y, np.ndarray) else list(y)
    k = len(columns)
    s = design.structure
    a = design.weights
    n_groups = int(np.sum(sizes))
    per_item = n_groups * (s.n_units + (design.calibration.n_cells if design.calibrated else 0))
    if k > 1 and k * per_item > MAX_AGGREGATE_CELLS:
        # many PSUs (e.g. one per row) x many groups: a few items at a time bounds the memory
        step = max(1, MAX_AGGREGATE_CELLS // per_item)
        parts = [domain_estimates(design, columns[i:i + step], partitions, sizes, total=total,
                                  na_rm=na_rm, deff=deff) for i in range(0, k, step)]
        return {key: np.hstack([p[key] for p in parts]) for key in parts[0]}
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    cal = design.calibration
    P = s.n_units  # PSUs (final-stage units of a multistage design)
    C = cal.n_cells if cal is not None else 0
    cell_values = [a * r for r in cal.ratios] if cal is not None else []
    cell_scale = cal.cell_ratios if cal is not None else []
    positive = (a > 0).astype(float)
    need_present = s.lonely_psu == "average" and bool(s.lonely.any()) and cal is None

    # A partition with every row in a group gives the overall sums by adding its groups up, so
    # "overall + by region" costs one pass over the rows, not two.
    complete = [bool((c >= 0).all()) for c in partitions]
    derived = {}
    for q, c in enumerate(partitions):
        if sizes[q] == 1 and (c == 0).all():
            donor = next((r for r in range(len(partitions)) if r != q and complete[r]
                          and r not in derived), None)
            if donor is not None:
                derived[q] = donor
    passes = [q for q in range(len(partitions)) if q not in derived]

    def sums(keys, weights, n_bins):
        return np.bincount(keys, weights, minlength=n_bins + 1)[:n_bins]

    py = np.zeros((k, n_groups, P))
    pw = np.zeros((k, n_groups, P))
    cy = [np.zeros((k, n_groups, C)) for _ in cell_values]
    cw = [np.zeros((k, n_groups, C)) for _ in cell_values]
    y2 = np.zeros((k, n_groups))
    counts = np.zeros((k, n_groups))
    pn = np.zeros((k, n_groups, P)) if need_present else None
    ay = np.empty(len(a))
    ay2 = np.empty(len(a))
    yv = np.empty(len(a))  # float copy of an integer column: float x float is ~4x faster
    for q in passes:
        g, off, codes = sizes[q], offsets[q], partitions[q]
        sl = slice(off, off + g)
        dump_p, dump_c = g * P, g * C
        pk = np.where(codes >= 0, codes * P + s.unit, dump_p)
        ck = np.where(codes >= 0, codes * C + cal.cell, dump_c) if cal is not None else None
        gk = np.where(codes >= 0, codes, g)
        pw_all = sums(pk, a, dump_p).reshape(g, P)
        cw_all = [sums(ck, v, dump_c).reshape(g, C) for v in cell_values]
        n_all = sums(gk, positive, g)
        pn_all = sums(pk, None, dump_p).reshape(g, P) if need_present else None
        single = g == 1 and bool((codes == 0).all())
        for j, col in enumerate(columns):
            # values are meaningless at the missing positions idx: zero every product there
            vals, idx = col if isinstance(col, tuple) else _zero_filled(col)
            if vals.dtype != np.float64:
                np.copyto(yv, vals, casting="unsafe")
                vals = yv
            np.multiply(a, vals, out=ay)
            ay[idx] = 0.0
            py[j, sl] = sums(pk, ay, dump_p).reshape(g, P)
            np.multiply(ay, vals, out=ay2)
            ay2[idx] = 0.0
            y2[j, sl] = ay2.sum() if single else sums(gk, ay2, g)
            for i, v in enumerate(cell_values):
                if cell_scale[i] is not None:
                    # before/after constant within cells: sum a*y per cell, then scale
                    cy[i][j, sl] = sums(ck, ay, dump_c).reshape(g, C) * cell_scale[i]
                else:
                    np.multiply(v, vals, out=ay2)
                    ay2[idx] = 0.0
                    cy[i][j, sl] = sums(ck, ay2, dump_c).reshape(g, C)
            for i in range(len(cell_values)):
                cw[i][j, sl] = cw_all[i]
            counts[j, sl] = n_all
            if need_present:
                pn[j, sl] = pn_all
            if not len(idx):
                pw[j, sl] = pw_all
            else:
                pki, ai = pk[idx], a[idx]
                # all weight less that of the missing answers, written once
                np.subtract(pw_all, sums(pki, ai, dump_p).reshape(g, P), out=pw[j, sl])
                cki = ck[idx] if cell_values else None
                for i, v in enumerate(cell_values):
                    cw[i][j, sl] -= sums(cki, v[idx], dump_c).reshape(g, C)
                counts[j, sl] -= sums(gk[idx], (ai > 0).astype(float), g)
                if need_present:
                    pn[j, sl] -= sums(pki, None, dump_p).reshape(g, P)
    for q, donor in derived.items():
        src = slice(offsets[donor], offsets[donor] + sizes[donor])
        o = offsets[q]
        py[:, o] = py[:, src].sum(axis=1)
        pw[:, o] = pw[:, src].sum(axis=1)
        for i in range(len(cell_values)):
            cy[i][:, o] = cy[i][:, src].sum(axis=1)
            cw[i][:, o] = cw[i][:, src].sum(axis=1)
        y2[:, o] = y2[:, src].sum(axis=1)
        counts[:, o] = counts[:, src].sum(axis=1)
        if need_present:
            pn[:, o] = pn[:, src].sum(axis=1)

    m = k * n_groups
    wsum = pw.sum(axis=2)  # (k, G)
    ysum = py.sum(axis=2)
    has_weight = wsum > 0
    inv = np.divide(1.0, wsum, out=np.zeros_like(wsum), where=has_weight)
    if total:
        est = ysum
        zpsu = py.reshape(m, P)
    else:
        est = np.where(has_weight, ysum * inv, np.nan)
        est0 = np.where(has_weight, est, 0.0)
        # z totals per PSU: (sum w y - mean * sum w) / sum w, in place in py
        pw *= est0[:, :, None]
        py -= pw
        py *= inv[:, :, None]
        zpsu = py.reshape(m, P)
    del pw
    if cal is not None:
        cell_sums = []
        for i in range(len(cell_values)):
            r = cy[i] if total else (cy[i] - est0[:, :, None] * cw[i]) * inv[:, :, None]
            cell_sums.append(r.reshape(m, C).T)
        zpsu = cal.residual_psu_totals_t(zpsu, cell_sums)
    present = None
    if need_present:
        present = np.add.reduceat(pn.reshape(m, P), s.unit_stratum_starts, axis=1) > 0  # (m, H)
    var = s.variance_t(zpsu, present).reshape(k, n_groups)

    est, var, counts, wsum, y2, ysum = (x.T for x in (est, var, counts, wsum, y2, ysum))
    if not total:
        var = np.where(wsum > 0, var, np.nan)  # no answers in the domain: no mean, no SE
    result = {"estimate": est, "var": var, "se": np.sqrt(var), "n": counts, "weight": wsum}
    if deff:
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
        # R's na.rm=FALSE: any missing answer in the domain makes the estimate NA
        g_all = np.concatenate([np.bincount(np.where(c >= 0, c, sz), positive,
                                            minlength=sz + 1)[:-1]
                                for c, sz in zip(partitions, sizes, strict=True)])
        incomplete = counts < g_all[:, None]
        for key in ("estimate", "var", "se", "deff"):
            if key in result:
                result[key] = np.where(incomplete, np.nan, result[key])
    return result


def _zero_filled(col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(col with NaN -> 0, indices of the NaN)``."""
    col = np.asarray(col, dtype=float)
    miss = np.isnan(col)
    return np.where(miss, 0.0, col), np.flatnonzero(miss)


def _indicator(values: tuple[np.ndarray, np.ndarray], levels) -> tuple:
    """The 0/1 indicator of an answer in ``levels``, missing where the answer is missing."""
    vals, idx = values
    ind = np.isin(vals, levels).astype(float)
    ind[idx] = 0.0
    return ind, idx


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
