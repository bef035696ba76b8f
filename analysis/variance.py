"""Taylor-linearisation variance: PSU totals, strata, fpc, lonely PSUs and calibration.

This module holds the arithmetic of R's ``svyrecvar`` (survey 4.1-1) for one-stage designs
(with-replacement first stage, or without replacement when an fpc is given; the later stages of
a multistage design are built from the same pieces in :mod:`analysis.multistage`), written on
aggregated totals so that nothing loops over rows or PSUs:

* :class:`PSUStructure` knows which PSU each row is in, which stratum each PSU is in, the number
  of PSUs per stratum and the finite population factor ``1 - n_h / N_h``.
  :meth:`PSUStructure.variance` turns PSU totals of linearised values into variances.
* :class:`CalibrationStep` records one raking or post-stratification (the weights before and
  after it and the cells of the crossed weighting variables). :class:`Calibration` removes the
  part of the linearised values that the calibration explains, as R's ``calibrate()``
  (``greg_calibration``, stage 0) and ``postStratify()`` do: the residual of the weighted
  least-squares regression of ``z / w_after`` on the calibration variables, weights
  ``w_before``, multiplied by ``w_after`` -- or, for a step with ``variance="rake"``, the
  residual sweeps ``svyrecvar`` runs for a design raked by R's ``rake()``. Because the model is
  constant within the cells of the crossed weighting variables, both run on cell sums (a few
  hundred rows), and the PSU totals of the removed part are a small matrix product.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from analysis.errors import AnalysisInputError

LONELY_PSU_RULES = ("fail", "remove", "adjust", "average", "certainty")

# R's onestrat() treats a stratum whose finite population factor is below this as fully
# enumerated (certainty) and gives it no variance, before looking at lonely PSUs.
CERTAINTY_TOLERANCE = 1e-7


_blas = {"controller": None, "modules": -1}


def blas_single_thread():
    """A context in which BLAS/LAPACK (OpenBLAS, MKL) run on one thread.

    The products and least-squares solves here are small (hundreds of cells x tens of
    columns, or tens of thousands of PSUs x a few hundred columns): a multithreaded BLAS gains
    nothing on them and, on a machine whose cores are busy, stalls waiting for its threads
    (a 480 x 20 least squares with 150 right-hand sides: median 9.9 ms, up to 176 ms, vs
    1.3 ms on one thread). ``threadpoolctl`` is the well-kept tool for this; without it the
    context does nothing. Its view of the loaded BLAS libraries is refreshed when modules
    were imported since (scipy.linalg, for one, loads a BLAS of its own).
    """
    import sys

    if _blas["controller"] is None or _blas["modules"] != len(sys.modules):
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - a declared dependency
            _blas["controller"] = False
        else:
            _blas["controller"] = ThreadpoolController()
        _blas["modules"] = len(sys.modules)
    if _blas["controller"] is False:
        return contextlib.nullcontext()
    return _blas["controller"].limit(limits=1, user_api="blas")


def group_sum_matrix(keys: np.ndarray, n_keys: int, values: np.ndarray | None = None
                     ) -> sp.csc_matrix:
    """Sparse ``(n_keys, n)`` matrix that sums rows into groups: ``M @ x`` = group totals.

    ``keys`` is ``(n,)`` or ``(n, q)`` (each row in ``q`` groups at once, e.g. one per domain
    variable); a negative key leaves the row out. ``values`` (``(n,)`` or like ``keys``)
    weights each row; default 1. Built as CSC with one column per row, so building it needs no
    sorting.
    """
    keys = np.asarray(keys)
    n = keys.shape[0]
    q = 1 if keys.ndim == 1 else keys.shape[1]
    keys2 = keys.reshape(n, q)
    if values is None:
        vals = np.ones((n, q))
    else:
        vals = np.broadcast_to(np.asarray(values, dtype=float).reshape(n, -1), (n, q))
    vals = np.where(keys2 >= 0, vals, 0.0)
    idx = np.where(keys2 >= 0, keys2, 0)
    indptr = np.arange(0, n * q + 1, q, dtype=np.int64)
    return sp.csc_matrix((vals.ravel(), idx.ravel(), indptr), shape=(n_keys, n))


@dataclass(frozen=True)
class PSUStructure:
    """Strata and PSUs of one design, as integer codes.

    Attributes:
        psu: ``(n,)`` PSU code of each row, ``0..n_psu_total-1``; PSUs are numbered stratum by
            stratum, so each stratum's PSUs are contiguous.
        psu_stratum: ``(P,)`` stratum code of each PSU (non-decreasing).
        n_psu: ``(H,)`` number of sampled PSUs per stratum.
        fpc_factor: ``(H,)`` ``1 - n_h/N_h`` (1 without an fpc).
        stratum_labels: ``(H,)`` the strata as given in the data, for messages.
        lonely_psu: one of :data:`LONELY_PSU_RULES`.
        stratum_weight: ``(H,)`` factor on each stratum's variance (``None``: 1). A later stage
            of a multistage design is a PSUStructure whose strata are the previous stage's
            units, weighted by the sampling fractions above them (:mod:`analysis.multistage`).

    A one-stage design's units of aggregation are its PSUs: :attr:`unit`, :attr:`n_units` and
    :attr:`unit_stratum_starts` are the PSUs' (a multistage structure aggregates to its
    final-stage units instead, with the same interface).
    """

    psu: np.ndarray
    psu_stratum: np.ndarray
    n_psu: np.ndarray
    fpc_factor: np.ndarray
    stratum_labels: np.ndarray
    lonely_psu: str = "fail"
    stratum_weight: np.ndarray | None = None
    _starts: np.ndarray = field(init=False, repr=False)

    def __post_init__(self):
        starts = np.concatenate([[0], np.cumsum(self.n_psu)[:-1]]).astype(np.int64)
        object.__setattr__(self, "_starts", starts)

    @property
    def n_strata(self) -> int:
        return len(self.n_psu)

    @property
    def n_psus(self) -> int:
        return len(self.psu_stratum)

    @property
    def unit(self) -> np.ndarray:
        """``(n,)`` code of each row's unit of aggregation: its PSU."""
        return self.psu

    @property
    def n_units(self) -> int:
        return self.n_psus

    @property
    def unit_stratum_starts(self) -> np.ndarray:
        """``(H,)`` the first unit of each stratum (units are contiguous by stratum)."""
        return self._starts

    @property
    def lonely(self) -> np.ndarray:
        """Strata with a single PSU that are not certainty strata (R's lonely PSUs)."""
        return (self.n_psu == 1) & (self.fpc_factor >= CERTAINTY_TOLERANCE)

    def check_lonely(self, stratum_column: str | None) -> None:
        """Raise for a lonely PSU when the rule is ``fail`` (the message names the stratum)."""
        if self.lonely_psu != "fail" or not self.lonely.any():
            return
        label = self.stratum_labels[np.flatnonzero(self.lonely)[0]]
        where = f" (column '{stratum_column}')" if stratum_column else ""
        raise AnalysisInputError(
            f"stratum '{label}'{where} has only one PSU, so its variance cannot be estimated; "
            "choose lonely_psu='remove', 'adjust', 'average' or 'certainty'"
        )

    def _scale(self) -> np.ndarray:
        n = self.n_psu.astype(float)
        scale = self.fpc_factor.copy()
        many = n > 1
        scale[many] *= n[many] / (n[many] - 1)
        scale[self.fpc_factor < CERTAINTY_TOLERANCE] = 0.0
        if self.stratum_weight is not None:
            scale *= self.stratum_weight
        return scale

    def _deviations(self, totals: np.ndarray) -> np.ndarray:
        """PSU totals minus their stratum mean (R's sweep in onestrat); lonely PSUs under
        ``adjust`` stay uncentred, i.e. centred at the population mean 0."""
        sums = np.add.reduceat(totals, self._starts, axis=0)
        means = sums / self.n_psu[:, None]
        if self.lonely_psu == "adjust":
            means[self.lonely] = 0.0
        dev = np.repeat(means, self.n_psu, axis=0)
        np.subtract(totals, dev, out=dev)
        return dev

    def variance(self, totals: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
        """Variance of the column sums of ``totals`` (``(P, m)`` PSU totals) -> ``(m,)``.

        ``present`` (``(H, m)`` bool) says which strata R would see for each column: R drops
        strata a subset does not reach when the design is not calibrated, which matters only
        for ``lonely_psu='average'`` (the average is over the strata present).
        """
        totals = np.asarray(totals, dtype=float)
        dev = self._deviations(totals)
        np.square(dev, out=dev)
        ss = np.add.reduceat(dev, self._starts, axis=0)  # (H, m)
        del dev
        scale = self._scale()
        if self.lonely_psu == "average" and self.lonely.any():
            ok = ~self.lonely
            var = scale[ok] @ ss[ok]
            if present is None:
                n_strat = np.full(ss.shape[1], float(self.n_strata))
                n_ok = np.full(ss.shape[1], float(ok.sum()))
            else:
                n_strat = present.sum(axis=0).astype(float)
                n_ok = present[ok].sum(axis=0).astype(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                factor = np.where(n_strat > 0, n_strat / n_ok, 1.0)
            return var * factor
        return scale @ ss

    def variance_t(self, totals_t: np.ndarray, present_t: np.ndarray | None = None
                   ) -> np.ndarray:
        """:meth:`variance` for PSU totals laid out ``(m, P)`` (``present_t``: ``(m, H)``)."""
        t = np.asarray(totals_t, dtype=float)
        means = self.stratum_means_t(np.add.reduceat(t, self._starts, axis=1))
        dev = np.repeat(means, self.n_psu, axis=1)
        np.subtract(t, dev, out=dev)
        np.square(dev, out=dev)
        ss = np.add.reduceat(dev, self._starts, axis=1)  # (m, H)
        del dev
        return self.variance_from_squares_t(ss, present_t)

    def stratum_means_t(self, sums_t: np.ndarray) -> np.ndarray:
        """``(m, H)`` what each stratum's PSU totals are centred at, from their stratum sums
        ``(m, H)``: their mean, or 0 for a lonely PSU under ``adjust``."""
        means = sums_t / self.n_psu
        if self.lonely_psu == "adjust":
            means[:, self.lonely] = 0.0
        return means

    def variance_from_squares_t(self, ss: np.ndarray, present_t: np.ndarray | None = None
                                ) -> np.ndarray:
        """``(m,)`` variances from the ``(m, H)`` sums over each stratum's PSUs of the squared
        deviations of their totals from :meth:`stratum_means_t` (the reduce that an engine
        adding up PSU totals partition by partition shares with :meth:`variance_t`)."""
        scale = self._scale()
        if self.lonely_psu == "average" and self.lonely.any():
            ok = ~self.lonely
            var = ss[:, ok] @ scale[ok]
            if present_t is None:
                n_strat = np.full(ss.shape[0], float(self.n_strata))
                n_ok = np.full(ss.shape[0], float(ok.sum()))
            else:
                n_strat = present_t.sum(axis=1).astype(float)
                n_ok = present_t[:, ok].sum(axis=1).astype(float)
            with np.errstate(invalid="ignore", divide="ignore"):
                factor = np.where(n_strat > 0, n_strat / n_ok, 1.0)
            return var * factor
        return np.einsum("mh,h->m", ss, scale)

    def covariance(self, totals: np.ndarray) -> np.ndarray:
        """Covariance matrix ``(m, m)`` of the column sums of ``totals`` (``(P, m)``)."""
        totals = np.asarray(totals, dtype=float)
        dev = self._deviations(totals)
        scale = self._scale()
        row_scale = np.repeat(scale, self.n_psu)
        if self.lonely_psu == "average" and self.lonely.any():
            row_scale = row_scale * np.repeat(~self.lonely, self.n_psu)
            row_scale *= self.n_strata / (~self.lonely).sum()
        return dev.T @ (dev * row_scale[:, None])

    def gram_weights(self) -> tuple[np.ndarray, np.ndarray]:
        """``(psu_weight (P,), stratum_weight (H,))`` that write the covariance of the column
        sums of PSU totals ``t`` without centring them first:
        ``sum_p psu_weight[p] t_p t_p' - sum_h stratum_weight[h] T_h T_h'`` (``T_h`` the
        stratum sums), so that it can be accumulated over windows of PSUs. A single-PSU
        stratum gets no weight (no variance), except a lonely one under ``adjust`` (centred
        at 0, so no stratum term); under ``average`` the caller multiplies by the number of
        strata over the number of non-lonely ones, as :meth:`variance` does."""
        scale = self._scale()
        single = self.n_psu == 1
        if self.lonely_psu != "adjust":
            scale[single] = 0.0
        stratum_weight = scale / self.n_psu
        if self.lonely_psu == "adjust":
            stratum_weight[single] = 0.0
        return np.repeat(scale, self.n_psu), stratum_weight


@dataclass(frozen=True)
class CalibrationStep:
    """One calibration of the weights (raking or post-stratification).

    Attributes:
        kind: ``"rake"`` or ``"poststratify"``.
        variables: the weighting variables (data columns).
        cell: ``(n,)`` code of each row's cell of the crossed weighting variables.
        model: ``(C, p)`` model matrix of the cells (dummies of every category of every
            variable for raking; the identity for post-stratification).
        before: ``(n,)`` weights before the step; after: ``(n,)`` weights after it.
        cell_labels: ``(C, len(variables))`` category of each cell, as strings.
        variance: ``"calibrate"`` (the regression residuals of R's ``calibrate()``) or
            ``"rake"`` (the residual sweeps R's ``svyrecvar`` runs for a ``rake()`` design:
            10 rounds of unweighted centring of ``z / w`` within every margin category).
        margins: ``(C, V)`` category index of each cell per variable (``"rake"`` variance).
    """

    kind: str
    variables: tuple[str, ...]
    cell: np.ndarray
    model: np.ndarray
    before: np.ndarray
    after: np.ndarray
    cell_labels: np.ndarray | None = None
    variance: str = "calibrate"
    margins: np.ndarray | None = None

    @property
    def n_cells(self) -> int:
        return self.model.shape[0]

    def ratio(self) -> np.ndarray:
        """Per row, what the cell sums of ``x`` are weighted by: ``before / after`` for the
        regression (``1 / after`` for the rake sweeps, which centre ``x / after``); 0 where
        the row has no weight after."""
        top = 1.0 if self.variance == "rake" else self.before
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.after != 0, top / self.after, 0.0)


class Calibration:
    """The calibration steps of a design, prepared for residualising many columns at once.

    All steps are put on the cells of the crossing of every step's variables, so each step's
    regression and the corrections between steps stay in cell space.
    """

    def __init__(self, steps: list[CalibrationStep], psu: np.ndarray, n_psus: int):
        self.steps = steps
        if len(steps) == 1:
            cell = steps[0].cell
            n_cells = steps[0].n_cells
            maps = [np.arange(n_cells)]
        else:
            key = np.zeros(len(steps[0].cell), dtype=np.int64)
            for s in steps:
                key = key * s.n_cells + s.cell
            cell, uniques = compact_codes(key)
            n_cells = len(uniques)
            maps = []
            rest = uniques.copy()
            for s in reversed(steps):
                maps.append(rest % s.n_cells)
                rest //= s.n_cells
            maps.reverse()
        self.cell = cell
        self.n_cells = n_cells
        self.models = [s.model[m] for s, m in zip(steps, maps, strict=True)]
        self.sweep = [s.variance == "rake" for s in steps]
        self.sweep_margins = [s.margins[m] if sw else None
                              for s, m, sw in zip(steps, maps, self.sweep, strict=True)]
        self.cell_counts = np.bincount(cell, minlength=n_cells).astype(float)
        self.ratios = [s.ratio() for s in steps]
        # per step: the before/after ratio of each cell when it is constant within cells
        # (raking, post-stratification: the weights of a cell move by one factor), else None
        self.cell_ratios = [_cell_constant(cell, r, n_cells) for r in self.ratios]
        self.before_sums = [np.bincount(cell, s.before, minlength=n_cells) for s in steps]
        # q[s][t]: cell sums of (before_s / after_s) * after_t, for t < s
        self.cross = [[np.bincount(cell, r * steps[t].after, minlength=n_cells)
                       for t in range(i)] for i, r in enumerate(self.ratios)]
        # (P, p) sums over each PSU of after_t times the model row: PSU totals of the fitted
        # part are psu_model @ coefficients (dense and small: p = number of categories)
        # (for the rake sweeps the fit is per cell: a sparse (P, C) matrix)
        self.psu_model = []
        for s, model, sw in zip(steps, self.models, self.sweep, strict=True):
            psu_cell = sp.csr_matrix((s.after, (psu, cell)), shape=(n_psus, n_cells))
            self.psu_model.append(psu_cell if sw else psu_cell @ model)

    @classmethod
    def from_cells(cls, model: np.ndarray, before_sums: np.ndarray, cell_counts: np.ndarray,
                   sweep_margins: np.ndarray | None = None) -> Calibration:
        """One calibration step known only by its cell tables (an engine that never holds the
        rows): the ``(C, p)`` model, each cell's weight sum before the step and row count, and
        for ``variance="rake"`` each cell's category per margin. It offers what works on cell
        sums -- :meth:`coefficients` and :meth:`_fit` -- and no row- or PSU-level method."""
        new = object.__new__(cls)
        new.steps = []
        new.n_cells = model.shape[0]
        new.models = [model]
        new.sweep = [sweep_margins is not None]
        new.sweep_margins = [sweep_margins]
        new.cell_counts = np.asarray(cell_counts, dtype=float)
        new.before_sums = [np.asarray(before_sums, dtype=float)]
        new.cross = [[]]
        return new

    def fitted_cells(self, coefs: list[np.ndarray]) -> list[np.ndarray]:
        """Per step, the fitted values ``(C, m)`` of the cells from :meth:`coefficients`."""
        return [self._fit(i, c) for i, c in enumerate(coefs)]

    def _fit(self, i: int, coef: np.ndarray) -> np.ndarray:
        """Fitted cell values ``(C, m)`` of step ``i`` from its coefficients."""
        return coef if self.sweep[i] else self.models[i] @ coef

    def _psu_fit(self, i: int, coef: np.ndarray, transposed: bool) -> np.ndarray:
        """PSU totals of ``after * fitted`` of step ``i``: ``(P, m)`` or ``(m, P)``."""
        pm = self.psu_model[i]
        if self.sweep[i]:
            out = pm @ coef
            return out.T if transposed else out
        # a BLAS product (callers run it single-threaded: see blas_single_thread), several
        # times faster than einsum's loops
        return coef.T @ pm.T if transposed else pm @ coef

    def cell_sums(self, x: np.ndarray) -> list[np.ndarray]:
        """Per step, the cell sums of ``(before/after) * x`` for ``x`` ``(n, m)``."""
        return [np.column_stack([np.bincount(self.cell, r * x[:, j], minlength=self.n_cells)
                                 for j in range(x.shape[1])]) for r in self.ratios]

    def coefficients(self, cell_sums: list[np.ndarray]) -> list[np.ndarray]:
        """Per step, the coefficients ``(p, m)`` of the weighted regression of ``x/after``."""
        coefs: list[np.ndarray] = []
        for i, (model, bsum) in enumerate(zip(self.models, self.before_sums, strict=True)):
            rhs = cell_sums[i]
            if i:
                rhs = rhs.copy()
                for t, c in enumerate(coefs):
                    rhs -= self.cross[i][t][:, None] * self._fit(t, c)
            if self.sweep[i]:
                coefs.append(_rake_sweeps(rhs, self.cell_counts, self.sweep_margins[i]))
            else:
                coefs.append(_wls_coef(model, bsum, rhs))
        return coefs

    def fitted(self, cell_sums: list[np.ndarray]) -> list[np.ndarray]:
        """Per step, the fitted values ``(C, m)`` of the weighted regression of ``x/after``."""
        return [self._fit(i, c) for i, c in enumerate(self.coefficients(cell_sums))]

    def residual_psu_totals(self, psu_totals: np.ndarray, cell_sums: list[np.ndarray]
                            ) -> np.ndarray:
        """PSU totals of the calibration residuals of ``x``, from the PSU totals and the cell
        sums of ``x``."""
        out = np.array(psu_totals, dtype=float, copy=True)
        for i, c in enumerate(self.coefficients(cell_sums)):
            out -= self._psu_fit(i, c, transposed=False)
        return out

    def residual_psu_totals_t(self, psu_totals_t: np.ndarray, cell_sums: list[np.ndarray]
                              ) -> np.ndarray:
        """:meth:`residual_psu_totals` with PSU totals laid out ``(m, P)``; corrected in place.
        ``cell_sums`` are ``(C, m)`` as for :meth:`coefficients`."""
        out = psu_totals_t
        for i, c in enumerate(self.coefficients(cell_sums)):
            out -= self._psu_fit(i, c, transposed=True)
        return out

    def fitted_psu_totals_t(self, coefs: list[np.ndarray], psus: slice = slice(None)
                            ) -> np.ndarray:
        """``(m, P)`` PSU totals of the part of ``x`` the calibration explains, for the
        :meth:`coefficients` of ``x``, over the PSUs ``psus`` (a window of PSUs)."""
        out = None
        for i, c in enumerate(coefs):
            fit = (self.psu_model[i][psus] @ c).T
            out = fit if out is None else out + fit
        return np.asarray(out)

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Row-level residuals ``(n, m)`` (for callers that need them, e.g. influence values)."""
        out = np.array(x, dtype=float, copy=True)
        fits = self.fitted(self.cell_sums(x))
        for s, f in zip(self.steps, fits, strict=True):
            out -= s.after[:, None] * f[self.cell]
        return out


RAKE_SWEEPS = 10  # svyrecvar's fixed number of rounds for a rake() design


def _rake_sweeps(cell_sums: np.ndarray, cell_counts: np.ndarray, margins: np.ndarray
                 ) -> np.ndarray:
    """The per-cell amounts ``(C, m)`` that R's residual sweeps for a ``rake()`` design take
    off ``u = x / w``: ``RAKE_SWEEPS`` rounds over the margins of ``u <- u - ave(u, margin)``
    (unweighted category means). Each sweep removes a category constant, so the total
    removed is constant within cells and the sweeps run on cell sums of ``u`` and cell counts.
    """
    adjust = np.zeros_like(cell_sums)
    for _ in range(RAKE_SWEEPS):
        for v in range(margins.shape[1]):
            cats = margins[:, v]
            k = int(cats.max()) + 1
            count = np.bincount(cats, cell_counts, minlength=k)
            resid = cell_sums - cell_counts[:, None] * adjust
            tot = np.zeros((k, cell_sums.shape[1]))
            np.add.at(tot, cats, resid)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(count[:, None] > 0, tot / count[:, None], 0.0)
            adjust += mean[cats]
    return adjust


def _wls_coef(model: np.ndarray, weight_sums: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Minimum-norm coefficients of the WLS regression whose normal equations are
    ``model' diag(weight_sums) model b = model' rhs`` (``rhs`` = cell sums of weight * y).
    The fitted values ``model @ b`` are unique even when the model is rank deficient (dummies
    of several margins)."""
    ok = weight_sums > 0
    root = np.sqrt(weight_sums[ok])
    coef, *_ = np.linalg.lstsq(model[ok] * root[:, None], rhs[ok] / root[:, None], rcond=None)
    return coef


def _cell_constant(cell: np.ndarray, values: np.ndarray, n_cells: int) -> np.ndarray | None:
    """Each cell's value when ``values`` is constant within cells, else None."""
    first = np.zeros(n_cells)
    first[cell[::-1]] = values[::-1]  # the value of each cell's first row
    if np.allclose(values, first[cell], rtol=1e-13, atol=0):
        return first
    return None


def compact_codes(key: np.ndarray, n_keys: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Codes ``0..U-1`` of the non-negative integer ``key`` in increasing key order, and the
    ``U`` distinct keys (as ``np.unique(key, return_inverse=True)`` reversed, without sorting
    when the key range is small enough for a lookup table)."""
    key = np.asarray(key, dtype=np.int64)
    if n_keys is None:
        n_keys = int(key.max()) + 1 if len(key) else 0
    if n_keys <= max(4 * len(key), 1 << 22):
        present = np.zeros(n_keys, dtype=bool)
        present[key] = True
        lookup = np.cumsum(present, dtype=np.int64) - 1
        return lookup[key], np.flatnonzero(present)
    uniques, codes = np.unique(key, return_inverse=True)
    return codes.astype(np.int64), uniques

