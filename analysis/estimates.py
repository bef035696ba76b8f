"""Means, totals and proportions with design-based standard errors, overall and by domain.

Domains are estimated on the full design, as R's ``svyby`` (a domain is a subset of the rows
whose linearised values are zero elsewhere; strata and PSUs keep their full-design counts).
Each item column is read once per domain variable: a handful of ``np.bincount`` passes give its
sums per (group, PSU) and per (group, weighting cell), and everything after that works on those
aggregates, vectorised over items and groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from analysis.design_columns import zero_filled as _zero_filled
from analysis.errors import AnalysisInputError
from analysis.results import (  # noqa: F401 - COVARIANCE_LEVELS: public here too
    COLUMNS,
    COVARIANCE_LEVELS,
    Z_95,
    Estimate,
    covariance_ranges,
    vcov_blocks,
)
from analysis.variance import blas_single_thread

__all__ = ["COLUMNS", "Z_95", "Estimate", "Estimates", "domain_estimates", "estimate"]

STATISTICS = ("mean", "total", "proportion")
# which covariances an estimator computes besides the variances: none; between the items of each
# domain group (R's svymean(~a+b) on the domain); also across the groups of each domain variable
# (R's svyby(..., covmat=TRUE)); between every pair of estimates
# bound on the (items x groups x PSUs) aggregates held at once (8 bytes each, a few arrays)
MAX_AGGREGATE_CELLS = 40_000_000


# The former result class: SurveyDesign.mean/total/proportion now return an Estimate, which has
# the same .table, .statistic, .levels, len() and str().
Estimates = Estimate


def estimate(design, items, statistic: str, by=None, na_rm: bool = True, deff=True,
             levels: Sequence[float] | None = None, covariance: str | None = None
             ) -> Estimate:
    """Estimate ``statistic`` for ``items`` on ``design`` (see :class:`SurveyDesign`).

    ``by`` is a column or a list of columns; each is a separate domain variable (groups of one
    variable at a time, not crossed). ``deff`` is ``True`` (R's default: SRS without
    replacement of ``n`` from a population of ``sum(weights)``), ``"replace"`` (SRS with
    replacement) or ``False``. ``covariance`` (:data:`COVARIANCE_LEVELS`) says which
    covariances to compute besides the variances (the others are NaN in ``vcov``).

    The estimates are ordered whole sample first, then domain variable by domain variable,
    group by group, and within each group item by item (the rows of ``.table``).
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
    partitions = domain_partitions(design, by_list)
    sizes = [len(p[2]) for p in partitions]
    with blas_single_thread():
        res = domain_estimates(design, y, [p[1] for p in partitions], sizes,
                               total=(statistic == "total"), na_rm=na_rm, deff=deff,
                               covariance=covariance)
    return estimate_from_result(res, items, [(p[0], p[2]) for p in partitions],
                                df=design_df(design), statistic=statistic, deff=deff,
                                levels=levels, covariance=covariance,
                                **replicate_note(design))


def estimate_columns(design, columns: Mapping[str, np.ndarray],
                     partitions: Sequence[tuple[str, np.ndarray, list[str]]] | None = None,
                     covariance: str | None = None, total: bool = False) -> Estimate:
    """Weighted means (``total``: totals) of value columns that are not the data's items
    (indicators, cells of a table, a regression's sums): ``columns`` maps a name to ``(n,)``
    floats, NaN = missing (out of that column's domain) -> :class:`Estimate`, with the
    variances and covariances of the design (linearisation or replicates), as
    :func:`estimate`. ``partitions``: ``[(by, codes, labels)]`` (codes ``-1``: in no group),
    default the whole sample."""
    names = list(columns)
    partitions = list(partitions) if partitions is not None else domain_partitions(design, [])
    sizes = [len(p[2]) for p in partitions]
    values = [np.asarray(columns[name], dtype=float) for name in names]
    with blas_single_thread():
        res = domain_estimates(design, values, [p[1] for p in partitions], sizes, deff=False,
                               covariance=covariance, total=total)
    return estimate_from_result(res, names, [(p[0], list(p[2])) for p in partitions],
                                df=design_df(design), statistic="total" if total else "mean",
                                deff=False,
                                levels=None, covariance=covariance, **replicate_note(design))


def estimate_from_result(res: dict, items: list[str], groups: list[tuple[str, list[str]]],
                         df: float, statistic: str, deff, levels, covariance,
                         **note) -> Estimate:
    """The :class:`Estimate` of a :func:`domain_estimates` result: ``groups`` are the
    ``(by, group labels)`` of each partition, whole sample first."""
    k = len(items)
    sizes = [len(labels) for _, labels in groups]
    return Estimate(
        coef=res["estimate"].ravel(),
        vcov=assemble_vcov(res, k),
        item=items * int(np.sum(sizes)),
        by=[name for name, labels in groups for _ in labels for _ in items],
        group=[label for _, labels in groups for label in labels for _ in items],
        n=res["n"].ravel(),
        deff=res["deff"].ravel() if deff else None,
        df=df,
        statistic=statistic,
        levels=levels if statistic == "proportion" else None,
        blocks=vcov_blocks(covariance, sizes, k),
        covariance=covariance,
        **note,
    )


def replicate_note(design) -> dict:
    """``interval_note`` of an estimate from replicate weights (empty for linearisation)."""
    reps = getattr(design, "replicates", None)
    return {} if reps is None else replicate_interval_note(reps)


def replicate_interval_note(reps) -> dict:
    """``interval_note`` of an estimate from the replicate weights ``reps``."""
    return {"interval_note": f"{reps.type} replicate SE ({reps.n_replicates} replicates), "
                             "95% normal CI"}


def domain_partitions(design, by_list: Sequence[str]) -> list[tuple[str, np.ndarray, list[str]]]:
    """``[(by, codes, labels)]``: the whole sample, then each domain variable."""
    partitions = [("", np.zeros(design.n, dtype=np.int64), [""])]
    for col in by_list:
        partitions.append((col, *_cached_domain_codes(design, col)))
    return partitions


def design_df(design) -> float:
    """Design degrees of freedom, R's ``degf``: PSUs minus strata (with replicate weights,
    their rank minus 1)."""
    if getattr(design, "replicates", None) is not None:
        return design.replicates.df
    s = design.structure
    return float(s.n_psus - s.n_strata)


def assemble_vcov(res: dict, k: int) -> np.ndarray:
    """The ``(G k, G k)`` covariance matrix, estimates ordered group by group and item by
    item, from the variances and covariance blocks of :func:`domain_estimates` (NaN where not
    computed)."""
    var = res["var"].ravel()
    vcov = np.full((len(var), len(var)), np.nan)
    np.fill_diagonal(vcov, var)
    for g0, g1, c in res.get("cov", []):
        nb = g1 - g0
        sl = slice(g0 * k, g1 * k)
        vcov[sl, sl] = c.transpose(1, 0, 3, 2).reshape(nb * k, nb * k)
    return vcov


def domain_codes(data: pd.DataFrame, col: str) -> tuple[np.ndarray, list[str]]:
    """Group code of each row for domain variable ``col`` (-1 where missing) and the labels."""
    if col not in data.columns:
        raise AnalysisInputError(f"unknown column '{col}' (by); the data have no such column")
    codes, uniques = pd.factorize(data[col], sort=True)
    return codes.astype(np.int64), [_label(u) for u in uniques]


def _cached_domain_codes(design, col: str) -> tuple[np.ndarray, list[str]]:
    """:func:`domain_codes` of the design's data, cached on the design (and shared with the
    designs derived from it, which have the same data): a string column is factorized once."""
    if col not in design.data.columns:
        return domain_codes(design.data, col)  # raises naming the column

    def sorted_codes():
        # pd.factorize(sort=True) is the unsorted factorization with its distinct values
        # sorted: sort the (few) distinct values of the design's cached one
        codes, uniques = design.factorized(col)
        rank, ordered = pd.factorize(uniques, sort=True)
        codes = np.where(codes >= 0, rank.astype(np.int64)[codes], -1)
        codes.flags.writeable = False
        return codes, [_label(u) for u in ordered]

    codes, labels = design.cached("\0domain:" + col, sorted_codes)
    return codes, list(labels)


def domain_estimates(design, y, partitions: list[np.ndarray], sizes: list[int],
                     total: bool = False, na_rm: bool = True, deff=True,
                     covariance: str | None = None) -> dict:
    """Means (or totals) of the columns of ``y`` in every group of every partition.

    With ``covariance`` (see :data:`COVARIANCE_LEVELS`) the result also has ``cov``: a list of
    ``(g0, g1, C)``, one per block of groups ``g0..g1-1`` (each group alone for ``"group"``,
    each partition for ``"by"``, everything for ``"all"``), ``C[j, a, l, b]`` the covariance of
    item ``j`` in group ``g0+a`` and item ``l`` in group ``g0+b``; its diagonal is ``var``.
    The PSU totals are those the variances use (after the calibration residuals); when they
    do not fit in memory at once the covariance is accumulated over windows of PSUs.
    See :func:`_domain_aggregates` for the rest.
    """
    columns = [y[:, j] for j in range(y.shape[1])] if isinstance(y, np.ndarray) else list(y)
    if getattr(design, "replicates", None) is not None:
        from analysis.replicates import replicate_domain_estimates

        return replicate_domain_estimates(design, columns, partitions, sizes, total=total,
                                          na_rm=na_rm, deff=deff, covariance=covariance)
    k = len(columns)
    ranges = covariance_ranges(covariance, sizes)
    s = design.structure
    n_groups = int(np.sum(sizes))
    per_item = n_groups * (s.n_units + (design.calibration.n_cells if design.calibrated else 0))
    if k > 1 and k * per_item > MAX_AGGREGATE_CELLS:
        # many PSUs (e.g. one per row) x many groups: a few items at a time bounds the memory
        step = max(1, MAX_AGGREGATE_CELLS // per_item)
        parts = [_domain_aggregates(design, columns[i:i + step], partitions, sizes, total=total,
                                    na_rm=na_rm, deff=deff, keep=ranges is not None)
                 for i in range(0, k, step)]
        result = {key: np.hstack([p[key] for p in parts]) for key in parts[0]
                  if not key.startswith("_")}
        if ranges is not None:
            if hasattr(s, "later"):
                raise AnalysisInputError(
                    f"covariances of {k} estimates in {n_groups} groups over {s.n_units} "
                    "final-stage units of a multistage design do not fit in memory; ask for "
                    "fewer items or groups at a time")
            acc = _CovarianceAccumulator(s, k, n_groups, ranges)
            coefs = [np.hstack([p["_coefs"][i] for p in parts])
                     for i in range(len(parts[0]["_coefs"]))]
            _accumulate_windows(design, columns, partitions, sizes, total, acc,
                                np.hstack([p["_mean0"] for p in parts]),
                                np.hstack([p["_inv"] for p in parts]), coefs)
            result["cov"] = acc.blocks(np.hstack([p["_factor"] for p in parts]), result["var"])
    else:
        result = _domain_aggregates(design, columns, partitions, sizes, total=total,
                                    na_rm=na_rm, deff=deff, ranges=ranges)
    return {key: v for key, v in result.items() if not key.startswith("_")}


def _domain_aggregates(design, columns: list, partitions: list[np.ndarray], sizes: list[int],
                       total: bool = False, na_rm: bool = True, deff=True,
                       ranges: list[tuple[int, int]] | None = None, keep: bool = False) -> dict:
    """Means (or totals) of ``columns`` in every group of every partition, in one pass.

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
        of ``sizes`` (partitions stacked in order); ``cov`` for the blocks of groups
        ``ranges`` (see :func:`domain_estimates`); with ``keep``, what a later pass over
        windows of PSUs needs: ``_mean0``, ``_inv``, ``_factor`` ``(G, k)`` and ``_coefs``.

    Work is column by column with ``np.bincount`` on integer keys (group x PSU, group x cell):
    the columns come from a DataFrame, so no ``(n, k)`` copy is made. Sums over the answered
    rows are the sums over all rows minus those over the (few) missing rows. Aggregates are
    kept as ``(k, G, PSU)`` so that every later step runs on contiguous memory.
    """
    k = len(columns)
    s = design.structure
    a = design.weights
    n_groups = int(np.sum(sizes))
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
    yv = np.empty(len(a))  # the item as floats, 0 where missing (float x float is ~4x faster)
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
            # values are meaningless at the missing positions idx: a zero there zeroes every
            # product, so no pass clears them afterwards
            vals, idx = col if isinstance(col, tuple) else _zero_filled(col)
            vals = _zeroed_floats(vals, idx, yv)
            np.multiply(a, vals, out=ay)
            py[j, sl] = sums(pk, ay, dump_p).reshape(g, P)
            if single:  # one pass, no product written
                y2[j, sl] = np.einsum("i,i->", ay, vals)
            else:
                np.multiply(ay, vals, out=ay2)
                y2[j, sl] = sums(gk, ay2, g)
            for i, v in enumerate(cell_values):
                if cell_scale[i] is not None:
                    # before/after constant within cells: sum a*y per cell, then scale
                    cy[i][j, sl] = sums(ck, ay, dump_c).reshape(g, C) * cell_scale[i]
                else:
                    np.multiply(v, vals, out=ay2)
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
        if keep:
            coefs = cal.coefficients(cell_sums)
        zpsu = cal.residual_psu_totals_t(zpsu, cell_sums)
    present = None
    if need_present:
        present = np.add.reduceat(pn.reshape(m, P), s.unit_stratum_starts, axis=1) > 0  # (m, H)
    var = s.variance_t(zpsu, present).reshape(k, n_groups)
    private = {}
    if ranges is not None or keep:
        private["_factor"] = _average_factor(s, present, m).reshape(k, n_groups).T
    if ranges is not None:
        covariance_of = _MultistageCovariance if hasattr(s, "later") else _CovarianceAccumulator
        acc = covariance_of(s, k, n_groups, ranges)
        acc.add(zpsu.reshape(k, n_groups, P), 0)  # zpsu is not used after this
        private["cov"] = acc.blocks(private["_factor"], var.T)
    if keep:
        private["_mean0"] = (ysum if total else est0).T
        private["_inv"] = inv.T
        private["_coefs"] = coefs if cal is not None else []

    result = estimates_from_sums(
        est.T, var.T, counts.T, wsum.T, y2.T, ysum.T, total=total, deff=deff,
        group_rows=None if na_rm else np.concatenate([
            np.bincount(np.where(c >= 0, c, sz), positive, minlength=sz + 1)[:-1]
            for c, sz in zip(partitions, sizes, strict=True)]))
    if "cov" in private:
        private["cov"] = _undefined_to_nan(private["cov"], result["var"])
    result.update(private)
    return result


def _zeroed_floats(vals: np.ndarray, idx: np.ndarray, buffer: np.ndarray) -> np.ndarray:
    """``vals`` as float64 with 0 at the missing positions ``idx``: ``vals`` itself when it is
    that already (no copy), else a copy into ``buffer`` (an integer column, or floats with NaN
    where missing)."""
    if vals.dtype == np.float64 and not vals[idx].any():
        return vals
    np.copyto(buffer, vals, casting="unsafe")
    buffer[idx] = 0.0
    return buffer


def estimates_from_sums(est: np.ndarray, var: np.ndarray, counts: np.ndarray,
                        wsum: np.ndarray, y2: np.ndarray, ysum: np.ndarray, total: bool,
                        deff, group_rows: np.ndarray | None = None) -> dict:
    """The result of :func:`domain_estimates` from ``(G, k)`` sums over the answered rows of
    every group: estimates, their variances, answers with a positive weight, weights,
    weighted squares and weighted values (the reduce every engine shares).

    ``group_rows`` ``(G,)`` (rows with a positive weight per group) asks for R's
    ``na.rm=FALSE``: any missing answer in the domain makes the estimate NA.
    """
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
    if group_rows is not None:
        incomplete = counts < group_rows[:, None]
        for key in ("estimate", "var", "se", "deff"):
            if key in result:
                result[key] = np.where(incomplete, np.nan, result[key])
    return result


def _average_factor(s, present: np.ndarray | None, m: int) -> np.ndarray:
    """``(m,)`` what ``lonely_psu='average'`` multiplies a variance by (number of strata over
    non-lonely strata, among those present); 1 under the other rules."""
    if not (s.lonely_psu == "average" and s.lonely.any()):
        return np.ones(m)
    ok = ~s.lonely
    if present is None:
        return np.full(m, s.n_strata / ok.sum())
    n_strat = present.sum(axis=1).astype(float)
    n_ok = present[:, ok].sum(axis=1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_strat > 0, n_strat / n_ok, 1.0)


def _undefined_to_nan(blocks: list, var: np.ndarray) -> list:
    """Covariances of estimates without a variance (no answers, or NA under ``na_rm=False``)
    are undefined too."""
    out = []
    for g0, g1, c in blocks:
        bad = np.isnan(var[g0:g1].T)  # (k, nb)
        if bad.any():
            c = c.copy()
            c[bad] = np.nan
            c[:, :, bad] = np.nan
        out.append((g0, g1, c))
    return out


class _CovarianceAccumulator:
    """Covariances of the column sums of PSU totals ``(k, G, P)``, within blocks of groups,
    accumulated over windows of PSUs: ``sum_p w_p t_p t_p'`` and the stratum sums, centred at
    the end (:meth:`PSUStructure.gram_weights`)."""

    def __init__(self, s, k: int, n_groups: int, ranges: list[tuple[int, int]]):
        self.s = s
        self.ranges = ranges
        self.psu_weight, self.stratum_weight = s.gram_weights()
        self.root = np.sqrt(self.psu_weight)
        self.raw = [np.zeros((k, g1 - g0, k, g1 - g0)) for g0, g1 in ranges]
        self.strata = np.zeros((k, n_groups, s.n_strata))

    def add(self, z: np.ndarray, p0: int) -> None:
        """Add the PSU totals ``z`` ``(k, G, Pw)`` of PSUs ``p0..p0+Pw-1`` (scaled in place)."""
        h = self.s.psu_stratum[p0:p0 + z.shape[2]]
        starts = np.flatnonzero(np.r_[True, h[1:] != h[:-1]])
        self.strata[:, :, h[starts]] += np.add.reduceat(z, starts, axis=2)
        z *= self.root[p0:p0 + z.shape[2]]
        for (g0, g1), raw in zip(self.ranges, self.raw, strict=True):
            if g1 - g0 == 1:
                block = z[:, g0, :]  # (k, Pw), rows strided: BLAS takes it as it is
                raw[:, 0, :, 0] += block @ block.T
                continue
            for j in range(z.shape[0]):
                for i in range(j, z.shape[0]):
                    c = z[j, g0:g1] @ z[i, g0:g1].T
                    raw[j, :, i, :] += c
                    if i != j:
                        raw[i, :, j, :] += c.T

    def blocks(self, factor: np.ndarray, var: np.ndarray) -> list:
        """``[(g0, g1, C)]`` with the diagonal set to ``var`` ``(G, k)`` (the variances as the
        estimator computes them, so SEs are the same whether or not covariances are asked)."""
        out = []
        for (g0, g1), raw in zip(self.ranges, self.raw, strict=True):
            t = self.strata[:, g0:g1]
            out.append(raw - np.einsum("jah,h,kbh->jakb", t, self.stratum_weight, t))
        return covariance_blocks(self.ranges, out, factor, var)


class _MultistageCovariance(_CovarianceAccumulator):
    """The covariance blocks of a multistage design, from all its final-stage unit totals at
    once: each stage's share comes from :meth:`MultistageStructure.covariance`, as its
    variances do (no windows: the stages nest units of several sizes)."""

    def __init__(self, s, k: int, n_groups: int, ranges: list[tuple[int, int]]):
        self.s = s
        self.ranges = ranges
        self.raw = []

    def add(self, z: np.ndarray, p0: int) -> None:
        k = z.shape[0]
        for g0, g1 in self.ranges:
            nb = g1 - g0
            rows = z[:, g0:g1, :].reshape(k * nb, z.shape[2])
            self.raw.append(self.s.covariance(rows.T).reshape(k, nb, k, nb))

    def blocks(self, factor: np.ndarray, var: np.ndarray) -> list:
        return covariance_blocks(self.ranges, self.raw, factor, var)


def covariance_blocks(ranges: list[tuple[int, int]], raw: list[np.ndarray], factor: np.ndarray,
                      var: np.ndarray) -> list:
    """``[(g0, g1, C)]`` of :func:`domain_estimates` from each block's ``(k, nb, k, nb)``
    covariances before ``lonely_psu='average'``'s factor ``(G, k)`` (see
    :func:`_average_factor`), with the diagonal set to the variances ``var`` ``(G, k)`` as the
    estimator computes them (so SEs are the same whether or not covariances are asked)."""
    out = []
    for (g0, g1), c in zip(ranges, raw, strict=True):
        root = np.sqrt(factor[g0:g1].T)  # (k, nb)
        c = c * root[:, :, None, None] * root[None, None, :, :]
        k, nb = root.shape
        jj, aa = np.meshgrid(np.arange(k), np.arange(nb), indexing="ij")
        c[jj, aa, jj, aa] = var[g0:g1].T
        out.append((g0, g1, c))
    return out


def _accumulate_windows(design, columns: list, partitions: list[np.ndarray], sizes: list[int],
                        total: bool, acc: _CovarianceAccumulator, mean0: np.ndarray,
                        inv: np.ndarray, coefs: list[np.ndarray]) -> None:
    """Feed ``acc`` the PSU totals of the linearised values, a window of PSUs at a time (the
    means, their weight sums and the calibration coefficients come from the first pass).

    Rows are visited in PSU order, so each window reads only its own rows: all windows
    together cost about one more pass over the data."""
    s = design.structure
    a = design.weights
    k, n_groups, P = len(columns), int(np.sum(sizes)), s.n_psus
    # py, pw and the calibration fit of a window together hold about one bound of cells
    width = max(1, MAX_AGGREGATE_CELLS // (3 * k * n_groups))
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    order = np.argsort(s.psu, kind="stable")
    bounds = np.searchsorted(s.psu[order], np.arange(0, P + width, width)[: -(-P // width) + 1])
    values, answered = [], []
    for col in columns:
        vals, idx = col if isinstance(col, tuple) else _zero_filled(col)
        ok = np.ones(len(a), dtype=bool)
        ok[idx] = False
        values.append(vals)
        answered.append(ok)
    for w, p0 in enumerate(range(0, P, width)):
        p1 = min(P, p0 + width)
        pw_ = p1 - p0
        rows = order[bounds[w]:bounds[w + 1]]
        a_w = a[rows]
        local = s.psu[rows] - p0
        py = np.zeros((k, n_groups, pw_))
        pw = np.zeros((k, n_groups, pw_)) if not total else None
        for codes, g, off in zip(partitions, sizes, offsets, strict=True):
            dump = g * pw_
            c = codes[rows]
            key = np.where(c >= 0, c * pw_ + local, dump)
            for j in range(k):
                ok = answered[j][rows]
                a_j = np.where(ok, a_w, 0.0)
                ay = np.where(ok, a_w * values[j][rows], 0.0)  # values are junk where missing
                py[j, off:off + g] = np.bincount(key, ay, minlength=dump + 1)[:dump].reshape(
                    g, pw_)
                if not total:
                    pw[j, off:off + g] = np.bincount(key, a_j, minlength=dump + 1)[:dump].reshape(
                        g, pw_)
        if not total:  # (sum w y - mean * sum w) / sum w, in place
            pw *= mean0.T[:, :, None]
            py -= pw
            py *= inv.T[:, :, None]
        del pw
        if coefs:
            py -= design.calibration.fitted_psu_totals_t(coefs, slice(p0, p1)).reshape(
                k, n_groups, pw_)
        acc.add(py, p0)


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
