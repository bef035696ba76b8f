"""Replicate-weight designs: jackknife, BRR/Fay and bootstrap, as R's ``as.svrepdesign()`` and
``svrepdesign()`` (survey 4.1-1, ``R/surveyrep.R``, ``R/bootstrap.R``).

A design carrying :class:`ReplicateWeights` estimates every mean, total and proportion (overall,
by domain, with covariances) with its main weights, and their covariance from the same
estimates under each replicate's weights, as R's ``svrVar``::

    V = scale * sum_r rscales[r] (theta_r - centre)(theta_r - centre)'

where ``centre`` is the mean of the replicates (R's default ``mse=FALSE``) or the estimate
itself (``mse=True``). Replicate weights are stored compressed, as R does: the weight of row
``i`` in replicate ``r`` is ``base[i] * factors[unit[i], r]`` (``unit`` the row's PSU for
replicates built from a design, ``base`` its weight; for supplied columns ``unit`` is the row
and ``base`` is 1). So the replicate sums of every item in every domain group are one sparse
product of the (group x unit) sums with ``factors``, not ``R`` passes over the data.

>>> jk = design.replicate("jkn")                          # doctest: +SKIP
>>> jk.mean(["N01_A1"], by="region", covariance="by")     # doctest: +SKIP
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np
import scipy.sparse as sp

from analysis.errors import AnalysisInputError, ConvergenceError

# types of supplied replicate weights (R's svrepdesign(type=)); "JKn" needs rscales
SUPPLIED_TYPES = ("JK1", "JKn", "bootstrap", "BRR", "Fay", "other")
# bound on the nonzeros of one sparse (values x groups x units) product
MAX_SPARSE_ENTRIES = 20_000_000
# (groups x units) cells up to which sums go through a dense matrix (supplied weights, one unit
# per row, usually take the sparse path)
MAX_DENSE_CELLS = 2_000_000


@dataclass(frozen=True, eq=False)
class ReplicateWeights:
    """Replicate weights and how their estimates make a variance (R's ``svyrep.design``).

    Attributes:
        type: ``"JK1"``, ``"JKn"``, ``"BRR"``, ``"Fay"``, ``"bootstrap"``,
            ``"subbootstrap"`` or ``"other"``.
        factors: ``(U, R)`` replicate factor of each unit in each replicate.
        unit: ``(n,)`` the unit (row of ``factors``) of each row.
        base: ``(n,)`` what the factors multiply: row ``i``'s weight in replicate ``r`` is
            ``base[i] * factors[unit[i], r]``.
        scale, rscales: R's ``scale`` and ``rscales`` (``(R,)``).
        mse: centre the replicates at the estimate (R's ``mse=TRUE``) rather than at their
            mean.
        rho: Fay's rho (``None`` unless ``type == "Fay"``).
        columns: the data columns the weights came from (supplied weights), else ``()``.
    """

    type: str
    factors: np.ndarray
    unit: np.ndarray
    base: np.ndarray
    scale: float
    rscales: np.ndarray
    mse: bool = False
    rho: float | None = None
    columns: tuple[str, ...] = field(default=())
    degf: float | None = None  # known degrees of freedom (else the rank, computed)

    def __post_init__(self):
        factors = np.asarray(self.factors, dtype=float)
        if factors.ndim != 2:
            raise ValueError("factors must be (units, replicates)")
        rscales = np.broadcast_to(np.asarray(self.rscales, dtype=float),
                                  (factors.shape[1],)).copy()
        object.__setattr__(self, "factors", factors)
        object.__setattr__(self, "rscales", rscales)
        object.__setattr__(self, "unit", np.asarray(self.unit, dtype=np.int64))
        object.__setattr__(self, "base", np.asarray(self.base, dtype=float))
        object.__setattr__(self, "scale", float(self.scale))

    @property
    def n_replicates(self) -> int:
        return self.factors.shape[1]

    def __repr__(self) -> str:
        rho = f", rho={self.rho:g}" if self.type == "Fay" else ""
        mse = ", mse" if self.mse else ""
        return f"<ReplicateWeights {self.type}{rho}: {self.n_replicates} replicates{mse}>"

    def matrix(self) -> np.ndarray:
        """``(n, R)`` the replicate weights themselves (R's ``weights(design, 'analysis')``)."""
        return self.base[:, None] * self.factors[self.unit]

    def with_mse(self, mse: bool) -> ReplicateWeights:
        return replace(self, mse=bool(mse))

    # ------------------------------------------------------------------ sums
    def group_sums(self, keys: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
        """``(c, G, R)``: per value column, the sum over the rows of each group (``keys``;
        ``-1``: in none) of ``value * replicate weight``, for every replicate."""
        values = np.asarray(values, dtype=float)
        if values.ndim == 1:
            values = values[:, None]
        c, U = values.shape[1], self.factors.shape[0]
        if n_groups * U <= MAX_DENSE_CELLS:
            # few (group, unit) cells: bincount into them, then one dense product
            cells = np.where(keys >= 0, keys * U + self.unit, n_groups * U)
            dense = np.stack([np.bincount(cells, values[:, v] * self.base,
                                          minlength=n_groups * U + 1)[:-1] for v in range(c)])
            return (dense.reshape(c * n_groups, U) @ self.factors).reshape(
                c, n_groups, self.n_replicates)
        rows = np.flatnonzero(keys >= 0)
        out = np.empty((c, n_groups, self.n_replicates))
        step = max(1, MAX_SPARSE_ENTRIES // max(len(rows), 1))
        unit = self.unit[rows]
        group = keys[rows]
        for v0 in range(0, c, step):
            v1 = min(c, v0 + step)
            block = values[rows, v0:v1] * self.base[rows, None]  # (r, c')
            row_key = (np.arange(v1 - v0)[None, :] * n_groups + group[:, None]).ravel("F")
            sums = sp.csr_matrix((block.ravel("F"), (row_key, np.tile(unit, v1 - v0))),
                                 shape=((v1 - v0) * n_groups, U))
            out[v0:v1] = (sums @ self.factors).reshape(v1 - v0, n_groups, self.n_replicates)
        return out

    # ------------------------------------------------------------------ variances
    def deviations(self, theta: np.ndarray, coef: np.ndarray) -> np.ndarray:
        """``(m, R)`` replicate estimates minus their centre (R's ``svrVar``): the estimate
        with ``mse``, else the mean of the replicates with ``rscales > 0`` (replicates whose
        estimate is undefined, NaN, are left out of that estimate's mean, as R's
        ``na.omit``)."""
        if self.mse:
            centre = np.asarray(coef, dtype=float)
        else:
            used = theta[:, self.rscales > 0]
            with np.errstate(invalid="ignore", divide="ignore"):
                centre = np.nansum(used, axis=1) / (~np.isnan(used)).sum(axis=1)
        return theta - centre[:, None]

    def variance(self, theta: np.ndarray, coef: np.ndarray) -> np.ndarray:
        """``(m,)`` variances of the estimates whose replicates are ``theta`` ``(m, R)``."""
        d = self.deviations(theta, coef)
        ok = ~np.isnan(d)
        var = self.scale * np.where(ok, d * d, 0.0) @ self.rscales
        return np.where(ok.any(axis=1) & ~np.isnan(coef), var, np.nan)

    def covariance(self, theta: np.ndarray, coef: np.ndarray) -> np.ndarray:
        """``(m, m)`` covariance (undefined replicates count as at the centre)."""
        d = np.nan_to_num(self.deviations(theta, coef))
        return self.scale * (d * self.rscales) @ d.T

    @cached_property
    def df(self) -> float:
        """R's ``degf``: the rank of the replicate weights minus 1 (R's pivoted QR with
        tolerance 1e-5), unless the builder knows it."""
        if self.degf is not None:
            return float(self.degf)
        return self._rank_df(self.base != 0)

    def df_of(self, rows: np.ndarray) -> float:
        """R's ``degf`` of the design subset to ``rows`` (a mask): the rank of those rows'
        replicate weights minus 1 (R's ``[.svyrep.design`` recomputes it), the known ``df``
        when the subset keeps every row with a weight."""
        live = np.asarray(rows, dtype=bool) & (self.base != 0)
        if np.array_equal(live, self.base != 0):
            return self.df
        return self._rank_df(live)

    def _rank_df(self, rows: np.ndarray) -> float:
        from scipy.linalg import qr

        live = np.unique(self.unit[rows])
        f = self.factors[live]
        if not f.size:
            return -1.0
        if f.shape[0] > 4 * f.shape[1]:
            f = qr(f, mode="r")[0][:f.shape[1]]  # same column space, R x R
        r = np.abs(np.diag(qr(f, mode="r", pivoting=True)[0]))
        return float((r > 1e-5 * r.max()).sum() - 1) if r.max() > 0 else -1.0

    # ------------------------------------------------------------------ calibration
    def calibrated(self, spec, max_iter: int, epsilon: float) -> ReplicateWeights:
        """Each replicate calibrated to the margins of ``spec`` (an
        :class:`analysis.weighting.CalibrationTargets`) as R's ``calibrate()`` / ``rake()`` of a
        replicate design do: the g-weights depend on the weighting cell only, so each unit
        splits into its (unit, cell) parts and each part's factor takes the g-weight of its
        cell in that replicate."""
        from analysis.variance import compact_codes

        n_cells = len(spec.cell_cats)
        cell_totals = self.group_sums(spec.cell, n_cells, np.ones(len(self.unit)))[0]
        g = replicate_cell_factors(cell_totals, spec, max_iter, epsilon)
        key = self.unit * n_cells + spec.cell
        part, uniq = compact_codes(key, int(self.factors.shape[0]) * n_cells)
        factors = self.factors[uniq // n_cells] * g[uniq % n_cells]
        return replace(self, factors=factors, unit=part)


def replicate_cell_factors(cell_totals: np.ndarray, spec, max_iter: int, epsilon: float
                           ) -> np.ndarray:
    """``(C, R)``: the g-weights of every replicate's cells, calibrated to ``spec``'s margins
    from the ``(C, R)`` replicate weight totals of the cells (the Dask engine adds those up
    over files)."""
    from analysis.weighting import ipf, newton_calibration

    g = np.empty_like(cell_totals)
    for r in range(cell_totals.shape[1]):
        if spec.proportional_fitting:
            g[:, r], _, rel, converged = ipf(cell_totals[:, r], spec.cell_cats, spec.targets,
                                             max_iter, epsilon)
        else:
            g[:, r], _, rel, converged, _ = newton_calibration(cell_totals[:, r], spec,
                                                               max_iter, epsilon)
        if not converged:
            raise ConvergenceError(
                f"replicate {r + 1} of {cell_totals.shape[1]}: {spec.calfun} calibration did "
                f"not converge in {max_iter} iterations (largest relative margin error "
                f"{np.nanmax(rel):.3g}); a replicate may leave a margin category without "
                "respondents: merge small categories")
    return g


# --------------------------------------------------------------------------- from a design
def _first_stage(design):
    s = design.structure
    return s.first if hasattr(s, "first") else s


def _appearance_order(codes: np.ndarray, n_codes: int) -> np.ndarray:
    """Codes ordered by the row where each first appears (R's ``unique()`` order)."""
    first = np.full(n_codes, len(codes), dtype=np.int64)
    np.minimum.at(first, codes, np.arange(len(codes)))
    return np.argsort(first, kind="stable")


def _psus_by_appearance(design):
    """First-stage structure, each row's PSU renumbered in order of first appearance, and
    each (renumbered) PSU's stratum."""
    s = _first_stage(design)
    order = _appearance_order(s.psu, s.n_psus)
    rank = np.empty(s.n_psus, dtype=np.int64)
    rank[order] = np.arange(s.n_psus)
    return s, rank[s.psu], s.psu_stratum[order]


def jk1_weights(design) -> ReplicateWeights:
    """R's ``jk1weights``: replicate ``r`` drops PSU ``r`` and multiplies the others by
    ``n / (n - 1)``; ``scale = fpc (n - 1) / n`` (fpc ``(N - n) / N``, 1 without)."""
    s, psu, _ = _psus_by_appearance(design)
    if s.n_strata > 1:
        raise AnalysisInputError(
            f"jk1 replicates are for an unstratified design; this one has {s.n_strata} strata "
            f"({design.strata_column}): use jkn")
    n = s.n_psus
    if n < 2:
        raise AnalysisInputError("jk1 replicates need at least 2 PSUs")
    factors = np.full((n, n), n / (n - 1))
    np.fill_diagonal(factors, 0.0)
    return ReplicateWeights("JK1", factors, psu, design.weights,
                            scale=float(s.fpc_factor[0]) * (n - 1) / n, rscales=np.ones(n),
                            degf=n - 1)


def jkn_weights(design) -> ReplicateWeights:
    """R's ``jknweights``: per stratum ``h`` (in order of appearance) one replicate per PSU,
    dropping it and multiplying the stratum's other PSUs by ``n_h / (n_h - 1)``;
    ``rscales = fpc_h (n_h - 1) / n_h``. A stratum sampled whole (fpc 0) has no replicates;
    a single-PSU stratum follows the design's lonely-PSU rule as R's ``jknweights``."""
    s, psu, psu_stratum = _psus_by_appearance(design)
    if design.strata_column is None:
        raise AnalysisInputError("jkn replicates are for a stratified design (give --strata); "
                                 "use jk1 for an unstratified one")
    n_strata = s.n_strata
    columns, rscales = [], []
    jackknifed = adjusted = 0
    for h in _appearance_order(s.psu_stratum[s.psu], n_strata):
        members = np.flatnonzero(psu_stratum == h)
        n_h = len(members)
        fpc = float(s.fpc_factor[h])
        if fpc == 0:
            continue  # exhaustively sampled: no variance, no replicates (R's drop.replicates)
        if n_h == 1:
            rule = s.lonely_psu
            if rule == "fail":
                raise AnalysisInputError(
                    f"stratum '{s.stratum_labels[h]}' has only one PSU: jkn replicates need "
                    "two or more (or a --lonely-psu rule)")
            if rule == "adjust":
                col = np.where(psu_stratum == h, 0.0, n_strata / (n_strata - 1))
                columns.append(col)
                rscales.append((n_strata - 1) / n_strata)
                adjusted += 1
            continue
        jackknifed += 1
        for p in members:
            col = np.ones(s.n_psus)
            col[members] = n_h / (n_h - 1)
            col[p] = 0.0
            columns.append(col)
            rscales.append(fpc * (n_h - 1) / n_h)
    if not columns:
        raise AnalysisInputError("every stratum was sampled whole: the design has no variance "
                                 "to replicate")
    scale = 1.0
    if len(columns) < s.n_psus and s.lonely_psu == "average":
        scale = s.n_psus / len(columns)
    # a stratum's replicates add up to n_h times all ones: one dependency per stratum but one
    return ReplicateWeights("JKn", np.column_stack(columns), psu, design.weights, scale=scale,
                            rscales=np.array(rscales),
                            degf=len(columns) - jackknifed if not adjusted else None)


def brr_weights(design, fay_rho: float = 0.0) -> ReplicateWeights:
    """R's ``brrweights`` (with ``as.svrepdesign(type="BRR"|"Fay")``): exactly two PSUs per
    stratum; strata numbered in R's order of their labels, rows ``2..H+1`` of R's Hadamard
    matrix choose the half-sample of each replicate; the chosen PSU is multiplied by
    ``2 - rho``, the other by ``rho``; ``scale = 1 / (R (1 - rho)^2)``."""
    from analysis.hadamard import hadamard

    if not 0 <= fay_rho < 1:
        raise AnalysisInputError(f"Fay's rho {fay_rho:g} must be in [0, 1)")
    s, psu, psu_stratum = _psus_by_appearance(design)
    counts = np.bincount(psu_stratum, minlength=s.n_strata)
    wrong = np.flatnonzero(counts != 2)
    if len(wrong):
        h = int(wrong[0])
        raise AnalysisInputError(
            f"brr replicates need exactly 2 PSUs in every stratum; stratum "
            f"'{s.stratum_labels[h]}' ({design.strata_column or 'the whole sample'}) has "
            f"{counts[h]}")
    # R sorts the strata as character labels (order(as.character(strata), first row))
    labels = np.array([str(v) for v in s.stratum_labels])
    stratum_rank = np.empty(s.n_strata, dtype=np.int64)
    stratum_rank[np.argsort(labels, kind="stable")] = np.arange(s.n_strata)
    # within a stratum PSUs are in order of appearance: the first is "0" in column 1 of R's
    # weights matrix, the second "1"
    second = np.zeros(s.n_psus, dtype=bool)
    seen = np.zeros(s.n_strata, dtype=bool)
    for p in range(s.n_psus):
        second[p] = seen[psu_stratum[p]]
        seen[psu_stratum[p]] = True
    H = hadamard(s.n_strata)
    chosen = H[1 + stratum_rank[psu_stratum]]  # (P, R): 0 -> R's column 1, 1 -> column 2
    in_half = np.where(chosen == 0, second[:, None], ~second[:, None])  # R's wa: weights[, col]
    factors = np.where(in_half, 2.0 - fay_rho, fay_rho)
    n_rep = H.shape[1]
    return ReplicateWeights("Fay" if fay_rho else "BRR", factors, psu, design.weights,
                            scale=1.0 / (n_rep * (1.0 - fay_rho) ** 2),
                            rscales=np.ones(n_rep), rho=fay_rho if fay_rho else None)


def _resampled_counts(design, replicates: int, seed, draws: Callable[[int], int]
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(counts (P, R), psu of each row, PSUs per stratum)``: per stratum, ``draws(n_h)``
    of its ``n_h`` PSUs drawn with replacement in each replicate."""
    if replicates < 2:
        raise AnalysisInputError(f"bootstrap: {replicates} replicates; give at least 2")
    rng = np.random.default_rng(seed)
    s, psu, psu_stratum = _psus_by_appearance(design)
    counts = np.zeros((s.n_psus, replicates))
    n_h = np.bincount(psu_stratum, minlength=s.n_strata)
    for h in range(s.n_strata):
        members = np.flatnonzero(psu_stratum == h)
        m = draws(len(members))
        if m < 1:
            raise AnalysisInputError(f"stratum '{s.stratum_labels[h]}' has only one PSU: it "
                                     "cannot be resampled")
        picks = rng.integers(0, len(members), size=(m, replicates))
        for r in range(replicates):
            counts[members, r] = np.bincount(picks[:, r], minlength=len(members))
    return counts, psu, n_h


def bootstrap_weights(design, replicates: int = 50, seed=None) -> ReplicateWeights:
    """R's ``bootweights`` (``as.svrepdesign(type="bootstrap")``): in each stratum ``n_h`` of
    its ``n_h`` PSUs drawn with replacement, each PSU multiplied by the times it was drawn;
    ``scale = n / ((n - 1) (R - 1))`` with ``n`` the harmonic mean of the PSUs per stratum.
    Random (numpy's generator seeded with ``seed``): it cannot reproduce R's draws."""
    if design.fpc_columns:
        raise AnalysisInputError("bootstrap replicates of a design with an fpc are not "
                                 "supported; use jk1/jkn, which carry the fpc")
    counts, psu, n_h = _resampled_counts(design, replicates, seed, lambda n: n)
    hm = 1.0 / np.mean(1.0 / n_h)
    return ReplicateWeights("bootstrap", counts, psu, design.weights,
                            scale=hm / ((hm - 1) * (replicates - 1)), rscales=np.ones(replicates))


def subbootstrap_weights(design, replicates: int = 50, seed=None) -> ReplicateWeights:
    """Rao and Wu's rescaled bootstrap, R's ``subbootweights``
    (``as.svrepdesign(type="subbootstrap")``): ``n_h - 1`` PSUs drawn with replacement in
    each stratum, each multiplied by ``n_h / (n_h - 1)`` times it was drawn;
    ``scale = 1 / (R - 1)``."""
    counts, psu, n_h = _resampled_counts(design, replicates, seed, lambda n: n - 1)
    _, _, psu_stratum = _psus_by_appearance(design)
    factors = counts * (n_h / (n_h - 1))[psu_stratum][:, None]
    return ReplicateWeights("subbootstrap", factors, psu, design.weights,
                            scale=1.0 / (replicates - 1), rscales=np.ones(replicates))


# method name (as --replicates writes it) -> builder(design, replicates, fay_rho, seed)
REPLICATE_METHODS: dict[str, Callable] = {
    "jk1": lambda d, r, rho, seed: jk1_weights(d),
    "jkn": lambda d, r, rho, seed: jkn_weights(d),
    "brr": lambda d, r, rho, seed: brr_weights(d, rho),
    "bootstrap": lambda d, r, rho, seed: bootstrap_weights(d, r or 50, seed),
    "subbootstrap": lambda d, r, rho, seed: subbootstrap_weights(d, r or 50, seed),
}


def replicate_weights(design, method: str, replicates: int | None = None,
                      fay_rho: float = 0.0, seed=None, mse: bool = False) -> ReplicateWeights:
    """Replicate weights of ``design`` by ``method`` (:data:`REPLICATE_METHODS`), as R's
    ``as.svrepdesign(design, type=...)``: built from the design's first-stage strata, PSUs and
    fpc and its current weights."""
    builder = REPLICATE_METHODS.get(method)
    if builder is None:
        raise AnalysisInputError(f"replicate method '{method}' is not one of "
                                 f"{', '.join(REPLICATE_METHODS)}")
    if fay_rho and method != "brr":
        raise AnalysisInputError("Fay's rho applies to brr replicates")
    if getattr(design, "calibrated", False):
        raise AnalysisInputError("add replicate weights before calibrating (each replicate is "
                                 "then calibrated too, as R's calibrate() of a replicate "
                                 "design)")
    return builder(design, replicates, fay_rho, seed).with_mse(mse)


# --------------------------------------------------------------------------- supplied columns
def matching_columns(columns: Sequence[str], pattern: str, source: str | None = None
                     ) -> list[str]:
    """The columns whose names match the glob ``pattern`` (``'repw*'``), in their order."""
    found = [c for c in columns if fnmatch.fnmatchcase(str(c), pattern)]
    if not found:
        where = f"{source}: " if source else ""
        raise AnalysisInputError(f"{where}no column matches the replicate weights "
                                 f"'{pattern}' (--repweights)")
    return found


def supplied_weights(design, columns: Sequence[str], type: str, scale: float | None = None,
                     rscales=None, fay_rho: float | None = None, mse: bool = False
                     ) -> ReplicateWeights:
    """Replicate-weight columns of the data (the weights themselves, R's
    ``svrepdesign(repweights=, type=, combined.weights=TRUE)``), with R's default ``scale``
    and ``rscales`` for ``type``: BRR ``1/R``; Fay ``1/(R (1-rho)^2)``; bootstrap
    ``1/(R-1)``; JK1 ``(R-1)/R`` (R guesses it so, with a warning); JKn needs ``rscales``;
    other: 1."""
    from analysis.design_columns import numeric_column

    if not columns:
        raise AnalysisInputError("no replicate-weight columns given")
    scale, rscales = supplied_scales(columns, type, scale, rscales, fay_rho)
    W = np.column_stack([numeric_column(design.data, c, allow_missing=False,
                                        role="replicate weight") for c in columns])
    return ReplicateWeights(type, W, np.arange(design.n), np.ones(design.n), scale=scale,
                            rscales=rscales, mse=mse, rho=fay_rho if type == "Fay" else None,
                            columns=tuple(columns))


def supplied_scales(columns: Sequence[str], type: str, scale: float | None = None,
                    rscales=None, fay_rho: float | None = None) -> tuple[float, np.ndarray]:
    """``(scale, rscales)`` of the replicate-weight ``columns`` of ``type`` (see
    :func:`supplied_weights`); raises for a type, rho or rscales that do not fit."""
    if type not in SUPPLIED_TYPES:
        raise AnalysisInputError(f"replicate type '{type}' is not one of "
                                 f"{', '.join(SUPPLIED_TYPES)}")
    n_rep = len(columns)
    if type == "Fay" and fay_rho is None:
        raise AnalysisInputError("Fay replicate weights need Fay's rho (--fay-rho)")
    if fay_rho is not None and type != "Fay":
        raise AnalysisInputError(f"Fay's rho applies to Fay replicate weights, not {type}")
    if rscales is None:
        if type == "JKn":
            raise AnalysisInputError("JKn replicate weights need their rscales, (n_h - 1)/n_h "
                                     "of each replicate's stratum (--rscales)")
        rscales = np.ones(n_rep)
    rscales = np.asarray(rscales, dtype=float).reshape(-1)
    if len(rscales) not in (1, n_rep):
        raise AnalysisInputError(f"{len(rscales)} rscales for {n_rep} replicate-weight "
                                 f"columns ({columns[0]}..{columns[-1]})")
    default_scale = {"BRR": 1.0 / n_rep,
                     "Fay": 1.0 / (n_rep * (1.0 - (fay_rho or 0.0)) ** 2),
                     "bootstrap": 1.0 / max(n_rep - 1, 1),
                     "JK1": (n_rep - 1) / n_rep}.get(type, 1.0)
    return default_scale if scale is None else scale, rscales


# --------------------------------------------------------------------------- estimation
def replicate_domain_estimates(design, columns: list, partitions: list[np.ndarray],
                               sizes: list[int], total: bool = False, na_rm: bool = True,
                               deff=True, covariance: str | None = None) -> dict:
    """:func:`analysis.estimates.domain_estimates` of a design with replicate weights: the
    same result (``estimate, var, se, n, weight, deff`` ``(G, k)`` and ``cov`` blocks), the
    variances and covariances from the replicates (R's ``svymean``/``svytotal``/``svyby`` of
    a replicate design)."""
    from analysis.design_columns import zero_filled as _zero_filled

    reps = design.replicates
    a = design.weights
    n_groups = int(np.sum(sizes))
    k = len(columns)
    R = reps.n_replicates
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    rep_sums = np.empty((2, k, n_groups, R))
    ysum, wsum, y2, counts = (np.zeros((k, n_groups)) for _ in range(4))
    positive = (a > 0).astype(float)
    for j, col in enumerate(columns):
        vals, idx = col if isinstance(col, tuple) else _zero_filled(col)
        y = np.array(vals, dtype=float)
        answered = np.ones(len(a), dtype=bool)
        answered[idx] = False
        y[idx] = 0.0
        for codes, g, off in zip(partitions, sizes, offsets, strict=True):
            keys = np.where(answered & (codes >= 0), codes, -1)
            sums = reps.group_sums(keys, g, np.column_stack([y, np.ones(len(a))]))
            sl = slice(off, off + g)
            bins = np.where(keys >= 0, keys, g)
            ysum[j, sl] = np.bincount(bins, a * y, minlength=g + 1)[:g]
            wsum[j, sl] = np.bincount(bins, a, minlength=g + 1)[:g]
            y2[j, sl] = np.bincount(bins, a * y * y, minlength=g + 1)[:g]
            counts[j, sl] = np.bincount(bins, positive, minlength=g + 1)[:g]
            rep_sums[:, j, sl] = sums
    group_rows = np.concatenate([np.bincount(np.where(c >= 0, c, sz), positive,
                                             minlength=sz + 1)[:-1]
                                 for c, sz in zip(partitions, sizes, strict=True)])
    return replicate_estimates_from_sums(reps, rep_sums, ysum, wsum, y2, counts, group_rows,
                                         sizes, total=total, na_rm=na_rm, deff=deff,
                                         covariance=covariance)


def replicate_estimates_from_sums(reps: ReplicateWeights, rep_sums: np.ndarray, ysum, wsum, y2,
                                  counts, group_rows, sizes: list[int], total: bool = False,
                                  na_rm: bool = True, deff=True,
                                  covariance: str | None = None) -> dict:
    """The reduce of :func:`replicate_domain_estimates` (shared with the Dask engine, which
    adds the sums up over files): ``rep_sums`` ``(2, k, G, R)`` each replicate's sums of
    weighted values and of weights (``replicate weight * y``, ``replicate weight``),
    ``ysum, wsum, y2, counts`` ``(k, G)`` the full-sample sums of weighted values, weights,
    weighted squares and answers of positive weight, ``group_rows`` ``(G,)`` the rows of
    positive weight per group."""
    from analysis.results import covariance_ranges

    _, k, n_groups, R = rep_sums.shape
    with np.errstate(invalid="ignore", divide="ignore"):
        theta = rep_sums[0] if total else np.where(rep_sums[1] > 0, rep_sums[0] / rep_sums[1],
                                                   np.nan)
        est = ysum if total else np.where(wsum > 0, ysum / wsum, np.nan)
    if not na_rm:
        incomplete = counts < np.asarray(group_rows)[None, :]
        est = np.where(incomplete, np.nan, est)
    flat_theta = theta.reshape(k * n_groups, R)
    var = reps.variance(flat_theta, est.ravel()).reshape(k, n_groups)
    result = {"estimate": est.T, "var": var.T, "se": np.sqrt(var.T), "n": counts.T,
              "weight": wsum.T}
    if deff:
        result["deff"] = _design_effects(var, ysum, wsum, y2, counts, total, deff).T
    ranges = covariance_ranges(covariance, sizes)
    if ranges is not None:
        blocks = []
        for g0, g1 in ranges:
            nb = g1 - g0
            c = reps.covariance(theta[:, g0:g1].reshape(k * nb, R),
                                est[:, g0:g1].ravel()).reshape(k, nb, k, nb)
            bad = np.isnan(var[:, g0:g1])
            jj, aa = np.meshgrid(np.arange(k), np.arange(nb), indexing="ij")
            c[jj, aa, jj, aa] = var[:, g0:g1]
            c[bad] = np.nan
            c[:, :, bad] = np.nan
            blocks.append((g0, g1, c))
        result["cov"] = blocks
    return result


def _design_effects(var, ysum, wsum, y2, counts, total: bool, deff) -> np.ndarray:
    """R's ``deff`` of a replicate design: the replicate variance over that of simple random
    sampling (without replacement of ``n`` from ``sum(weights)``, or with, ``"replace"``)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = ysum / wsum
        pop_var = (y2 - wsum * mean * mean) / wsum * counts / (counts - 1)
        srs = pop_var / counts
        if deff != "replace":
            srs = srs * (wsum - counts) / wsum
        if total:
            srs = srs * wsum * wsum
        return var / srs


def replicate_ratios(design, y: np.ndarray, x: np.ndarray, keys: np.ndarray, n_groups: int
                     ) -> np.ndarray:
    """``(G, R)``: ``sum w y / sum w x`` of each group (rows with both answered; ``keys`` -1
    elsewhere) in each replicate (R's ``svyratio`` of a replicate design)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        sums = design.replicates.group_sums(keys, n_groups, np.column_stack([y, x]))
        return sums[0] / sums[1]


# --------------------------------------------------------------------------- how to build them
@dataclass(frozen=True)
class ReplicateSpec:
    """How each wave's design gets its replicate weights (:class:`analysis.pipeline.DesignSpec`
    field ``replicates``): built by ``method`` (:data:`REPLICATE_METHODS`; ``count`` of them
    for a bootstrap, ``fay_rho`` for brr, ``seed``), or read from the ``columns`` of the data
    (``type``, ``scale``, ``rscales``, ``fay_rho``). ``mse`` as R's ``mse=TRUE``."""

    method: str | None = None
    count: int | None = None
    seed: int | None = None
    columns: tuple[str, ...] | str = ()  # supplied weights: names, or a glob such as 'repw*'
    type: str | None = None
    scale: float | None = None
    rscales: tuple[float, ...] | None = None
    fay_rho: float | None = None
    mse: bool = False

    def apply(self, design):
        """``design`` with its replicate weights."""
        if self.method is not None:
            return design.with_replicates(replicate_weights(
                design, self.method, self.count, self.fay_rho or 0.0, self.seed, self.mse))
        columns = (matching_columns(list(design.data.columns), self.columns)
                   if isinstance(self.columns, str) else list(self.columns))
        return design.with_replicates(supplied_weights(
            design, columns, self.type, scale=self.scale, rscales=self.rscales,
            fay_rho=self.fay_rho, mse=self.mse))


def parse_method(text: str) -> tuple[str, int | None, float | None]:
    """``--replicates``: ``jkn`` -> ``("jkn", None, None)``, ``bootstrap:200`` ->
    ``("bootstrap", 200, None)``, ``brr:fay=0.3`` -> ``("brr", None, 0.3)``."""
    name, _, arg = text.strip().partition(":")
    name = name.strip().lower()
    usage = ("give jk1, jkn, brr, brr:fay=RHO, bootstrap:R or subbootstrap:R (R replicates, "
             "default 50)")
    if name not in REPLICATE_METHODS:
        raise AnalysisInputError(f"--replicates {text}: '{name}' is not a replicate method; "
                                 + usage)
    if not arg:
        return name, None, None
    if name in ("bootstrap", "subbootstrap"):
        try:
            return name, int(arg), None
        except ValueError:
            raise AnalysisInputError(f"--replicates {text}: '{arg}' is not a number of "
                                     "replicates") from None
    if name == "brr" and arg.replace(" ", "").startswith("fay="):
        try:
            return name, None, float(arg.split("=", 1)[1])
        except ValueError:
            raise AnalysisInputError(f"--replicates {text}: Fay's rho '{arg.split('=', 1)[1]}' "
                                     "is not a number") from None
    raise AnalysisInputError(f"--replicates {text}: '{name}' takes no ':{arg}'; " + usage)
