"""The survey design object: data, weights, strata, PSUs, fpc and calibration in one place.

Modelled on R's ``svydesign()`` (survey package): every estimator takes the design.

>>> design = SurveyDesign(df, weights="weight", strata="stratum", psu="psu")
>>> design.mean(["N01_A1", "N02_P1"], by="region")          # doctest: +SKIP

PSUs are nested in strata (R's ``nest=TRUE``): PSU ``3`` of stratum ``A`` and PSU ``3`` of
stratum ``B`` are different PSUs. The first stage is taken as sampled with replacement unless
an fpc is given. Variances are Taylor linearisation, as R's ``svyrecvar``; when the weights
were raked or post-stratified by :meth:`SurveyDesign.rake` / :meth:`SurveyDesign.poststratify`
the variances account for the calibration (see :mod:`analysis.variance`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np
import pandas as pd

from analysis.design_columns import (  # noqa: F401 - row_name, numeric_column: public here too
    format_value,
    fpc_factors,
    numeric_column,
    require_column,
    row_name,
    stage_columns,
)
from analysis.diagnostics import weight_diagnostics
from analysis.errors import AnalysisInputError
from analysis.estimates import estimate
from analysis.multistage import multistage_structure
from analysis.variance import (
    LONELY_PSU_RULES,
    Calibration,
    CalibrationStep,
    PSUStructure,
    blas_single_thread,
    compact_codes,
    group_sum_matrix,
)
from analysis.weighting import (
    CalibrationTargets,
    WeightingReport,
    calibrate_design,
    poststratify_design,
    rake_design,
    trim_design,
)

T = TypeVar("T")
# the fields that say how the sample was drawn: changing one builds the design anew
_SAMPLING_FIELDS = frozenset({"data", "weight_column", "strata_column", "psu_columns",
                              "fpc_columns", "lonely_psu"})
# the fields of the weighting and of the structure built from the sampling fields
_WEIGHTING_FIELDS = frozenset({"weights", "base_weights", "calibration_steps", "weighting",
                               "calibration_targets", "structure", "replicates"})


class SurveyDesign:
    """A complex survey design over a DataFrame.

    Args:
        data: one row per respondent.
        weights: column of sampling weights (``None``: every row weighs 1).
        strata: column of strata (``None``: one stratum).
        psu: column of primary sampling units, nested in strata (``None``: each row is a PSU),
            or a list of columns, one per sampling stage, for a multistage design (R's
            ``ids=~A+B``): each stage's units are nested in the previous stage's.
        fpc: column of the finite population correction, constant within a stratum: a value
            above 1 is the population number of PSUs in the stratum, a value at most 1 the
            sampling fraction of PSUs (``None``: sampling with replacement). For a multistage
            design, a list with one column per stage (R's ``fpc=~F1+F2``); the fpc of stage
            ``s`` is constant within each unit of stage ``s - 1`` and counts (or is the
            fraction of) that unit's stage-``s`` units. With it every stage adds its variance
            as R's ``svyrecvar``; without it only the first stage counts, as in R
            (:mod:`analysis.multistage`).
        lonely_psu: what to do with a stratum that has a single PSU, as R's
            ``options(survey.lonely.psu=)``: ``"fail"`` (default; the error names the
            stratum), ``"remove"`` and ``"certainty"`` (no variance contribution),
            ``"adjust"`` (centre it at the population mean), ``"average"`` (give it the
            average variance of the other strata).

    Raises:
        AnalysisInputError: unknown column, missing or non-numeric weight/fpc, negative weight,
            fpc that varies within a stratum (or unit of the stage above) or is smaller than
            the sample, not one fpc column per stage, lonely PSU under ``"fail"``.

    A design is a value: its fields cannot be assigned. :meth:`replace` makes a new design
    with some fields changed, and :meth:`rake`, :meth:`calibrate`, :meth:`poststratify` and
    :meth:`trim` return new designs made by it.

    Fields:
        data, weight_column, strata_column, psu_columns, fpc_columns, lonely_psu: how the
            sample was drawn (``psu_columns``/``fpc_columns``: one per stage, ``()`` for none).
        structure: strata, PSUs and fpc of every stage, as the variance uses them.
        base_weights: ``(n,)`` sampling weights (read-only).
        weights: ``(n,)`` final weights, after any calibration and trimming (read-only).
        calibration_steps: the calibrations the weights went through, in order, as the
            variance accounts for them.
        weighting: how the last weighting went (``None`` before any).
        calibration_targets: the cells and targets of the last calibration, which
            :meth:`trim` re-calibrates to (``None`` when not calibrated).
    """

    data: pd.DataFrame
    weight_column: str | None
    strata_column: str | None
    psu_columns: tuple[str, ...]
    fpc_columns: tuple[str, ...]
    lonely_psu: str
    structure: PSUStructure
    base_weights: np.ndarray
    weights: np.ndarray
    calibration_steps: tuple[CalibrationStep, ...]
    weighting: WeightingReport | None
    calibration_targets: CalibrationTargets | None

    def __init__(self, data: pd.DataFrame, weights: str | None = None, strata: str | None = None,
                 psu: str | Sequence[str] | None = None, fpc: str | Sequence[str] | None = None,
                 lonely_psu: str = "fail"):
        if not isinstance(data, pd.DataFrame):
            raise TypeError("data must be a pandas DataFrame")
        if lonely_psu not in LONELY_PSU_RULES:
            raise AnalysisInputError(
                f"lonely_psu '{lonely_psu}' is not one of {', '.join(LONELY_PSU_RULES)}")
        if len(data) == 0:
            raise AnalysisInputError("the data have no rows")
        psu_columns, fpc_columns = stage_columns(psu, "psu"), stage_columns(fpc, "fpc")
        if fpc_columns and len(fpc_columns) != max(len(psu_columns), 1):
            raise AnalysisInputError(
                f"fpc: {len(fpc_columns)} column(s) ({', '.join(fpc_columns)}) for "
                f"{max(len(psu_columns), 1)} sampling stage(s) (psu: "
                f"{', '.join(psu_columns) or 'each row'}); give one fpc column per stage")
        for role, cols in (("weights", (weights,)), ("strata", (strata,)),
                           ("psu", psu_columns), ("fpc", fpc_columns)):
            for col in cols:
                if col is not None:
                    require_column(data, col, role)
        base = (np.ones(len(data)) if weights is None
                else numeric_column(data, weights, allow_missing=False, role="weight"))
        if (base < 0).any():
            i = int(np.flatnonzero(base < 0)[0])
            raise AnalysisInputError(
                f"column '{weights}': weight {format_value(base[i])} in {row_name(data, i)} "
                "is negative")
        structure = _psu_structure(data, strata, psu_columns[0] if psu_columns else None,
                                   fpc_columns[0] if fpc_columns else None, lonely_psu)
        structure.check_lonely(strata)
        if len(psu_columns) > 1:
            structure = _later_stages(data, structure, psu_columns, fpc_columns, lonely_psu)
        if weights is None and fpc_columns:
            # as R's svydesign: with an fpc and no weights, each row's weight is the inverse of
            # its probability of selection, the product of the sampling fractions of its stages
            base = _fpc_weights(structure)
        base = _read_only(base)
        self._set(data=data, weight_column=weights, strata_column=strata,
                  psu_columns=psu_columns, fpc_columns=fpc_columns, lonely_psu=lonely_psu,
                  structure=structure, base_weights=base, weights=base, calibration_steps=(),
                  weighting=None, calibration_targets=None,
                  # analysis.replicates.ReplicateWeights: variances from replicates instead of
                  # linearisation (calibrating the design calibrates every replicate too)
                  replicates=None,
                  # validated copies of item columns and factorizations, shared with the
                  # designs derived from this one that keep its data (see cached())
                  _columns={},
                  # what this design computes from its own fields (the calibration)
                  _derived={})

    # ------------------------------------------------------------------ immutability
    def _set(self, **fields) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"a SurveyDesign cannot be changed (setting '{name}'); make a new "
                             f"one with design.replace({name}=...)")

    def __delattr__(self, name):
        raise AttributeError(f"a SurveyDesign cannot be changed (deleting '{name}')")

    def replace(self, **changes) -> SurveyDesign:
        """A new design with ``changes`` to its fields, as :func:`dataclasses.replace`.

        Changing a field that says how the sample was drawn (``data``, ``weight_column``,
        ``strata_column``, ``psu_columns``, ``fpc_columns``, ``lonely_psu``) builds the design
        anew from those (checked as the constructor checks them; its weights are the base
        weights again unless ``changes`` give others). Changing only the weighting
        (``weights``, ``base_weights``, ``calibration_steps``, ``weighting``,
        ``calibration_targets``, ``structure``) keeps everything else, including the cached
        item columns. ``weights`` and ``base_weights`` are copied as read-only float arrays
        of one value per row.
        """
        unknown = set(changes) - _SAMPLING_FIELDS - _WEIGHTING_FIELDS
        if unknown:
            raise TypeError(f"SurveyDesign has no field {', '.join(sorted(unknown))}; fields: "
                            f"{', '.join(sorted(_SAMPLING_FIELDS | _WEIGHTING_FIELDS))}")
        sampling = {f: changes.get(f, getattr(self, f)) for f in _SAMPLING_FIELDS}
        if any(f in changes for f in _SAMPLING_FIELDS):
            new = SurveyDesign(sampling["data"], weights=sampling["weight_column"],
                               strata=sampling["strata_column"],
                               psu=sampling["psu_columns"] or None,
                               fpc=sampling["fpc_columns"] or None,
                               lonely_psu=sampling["lonely_psu"])
        else:
            new = object.__new__(SurveyDesign)
            new._set(**self.__dict__)
        weighting = {f: changes[f] for f in _WEIGHTING_FIELDS if f in changes}
        for f in ("weights", "base_weights"):
            if f in weighting:
                weighting[f] = _read_only(np.array(weighting[f], dtype=float))
                if weighting[f].shape != (new.n,):
                    raise ValueError(f"{f}: {weighting[f].shape} values for {new.n} rows")
        if "calibration_steps" in weighting:
            weighting["calibration_steps"] = tuple(weighting["calibration_steps"])
        new._set(**weighting, _derived={})
        return new

    # ------------------------------------------------------------------ basics
    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.data)

    @property
    def calibrated(self) -> bool:
        """Whether the weights were raked or post-stratified as part of the design."""
        return bool(self.calibration_steps)

    def __repr__(self) -> str:
        s = self.structure
        parts = [f"{self.n} rows", f"{s.n_strata} strata", f"{s.n_psus} PSUs"]
        if len(self.psu_columns) > 1:
            parts.append(f"stages {' > '.join(self.psu_columns)}")
        if self.fpc_columns:
            parts.append(f"fpc {'+'.join(repr(c) for c in self.fpc_columns)}")
        if self.calibrated:
            parts.append("calibrated: " + ", ".join(
                f"{c.kind}({'+'.join(c.variables)})" for c in self.calibration_steps))
        return f"<SurveyDesign {'; '.join(parts)}; total weight {self.weights.sum():.6g}>"

    @property
    def psu_column(self) -> str | None:
        """The first-stage PSU column (``None``: each row is a PSU)."""
        return self.psu_columns[0] if self.psu_columns else None

    @property
    def fpc_column(self) -> str | None:
        """The first-stage fpc column (``None``: sampled with replacement)."""
        return self.fpc_columns[0] if self.fpc_columns else None

    @property
    def weight_diagnostics(self):
        """Kish's design effect of weighting, effective sample size, weight range and trimming
        of the final weights (:class:`analysis.diagnostics.WeightDiagnostics`)."""
        trimmed = self.weighting.n_trimmed if self.weighting is not None else 0
        return weight_diagnostics(self.weights, n_trimmed=trimmed)

    @property
    def calibration(self) -> Calibration | None:
        """The calibration steps as the variance needs them (``None``: not calibrated)."""
        if not self.calibration_steps:
            return None
        if "calibration" not in self._derived:
            self._derived["calibration"] = Calibration(
                list(self.calibration_steps), self.structure.unit, self.structure.n_units)
        return self._derived["calibration"]

    # ------------------------------------------------------------------ weighting
    def rake(self, margins, max_iter: int = 1000, epsilon: float = 1e-10,
             rescale: bool = False, variance: str = "calibrate") -> SurveyDesign:
        """Rake the weights to marginal totals (iterative proportional fitting).

        Args:
            margins: a :class:`analysis.margins.Margins` (``variable, category, target``);
                targets are counts or shares (shares make the weights sum to the sample size).
            max_iter: maximum number of sweeps over all margins.
            epsilon: convergence when every margin is within ``epsilon`` of its target,
                relative to the target.
            rescale: turn count targets on different bases into shares of one total.
            variance: how SEs account for the raking: ``"calibrate"`` (default) as R's
                ``calibrate(..., calfun="raking")`` (regression residuals on the margins),
                ``"rake"`` as a design raked by R's ``rake()`` (svyrecvar's 10 residual
                sweeps; an approximation of the former).

        Returns:
            A new design whose weights are the raked weights; ``.weighting`` reports
            iterations, maximum margin error and convergence; variances account for the raking.
        """
        return rake_design(self, margins, max_iter=max_iter, epsilon=epsilon, rescale=rescale,
                           variance=variance)

    def calibrate(self, margins, calfun: str = "linear", bounds=None,
                  max_iter: int | None = None, epsilon: float = 1e-10, rescale: bool = False,
                  variance: str = "calibrate") -> SurveyDesign:
        """Calibrate the weights to marginal totals, as R's ``calibrate(design, ~a+b+...,
        population, calfun=, bounds=)``.

        Args:
            margins: as for :meth:`rake` (main effects of the margins' variables).
            calfun: ``"linear"`` (GREG), ``"raking"`` or ``"logit"``; the calibrated weight is
                the input weight times a g-weight ``F(x' eta)``.
            bounds: ``(L, U)`` bounds on the g-weights (calibrated / input weight), with
                ``L < 1 < U``; required (finite) for ``"logit"``; ``None``: none.
            max_iter: Newton steps (default 50, as R); for ``"raking"`` without bounds,
                which runs :meth:`rake`, sweeps (default 1000).
            epsilon: convergence when every margin is within ``epsilon`` of its target,
                relative to the target.
            rescale, variance: as for :meth:`rake` (``variance="rake"`` only for raking
                without bounds).

        Returns:
            A new design with the calibrated weights; variances account for the calibration
            (R's ``greg_calibration`` residuals). Raises :class:`ConvergenceError` (one line)
            when bounded calibration fails to converge.
        """
        return calibrate_design(self, margins, calfun=calfun, bounds=bounds, max_iter=max_iter,
                                epsilon=epsilon, rescale=rescale, variance=variance)

    def poststratify(self, table: pd.DataFrame, target: str = "target") -> SurveyDesign:
        """Post-stratify to a joint table: columns = weighting variables + ``target``
        (counts, or shares summing to 1). With replicate weights every replicate is
        post-stratified to the same table on its own, as R's ``postStratify`` of a
        ``svrepdesign``."""
        return poststratify_design(self, table, target=target)

    def trim(self, lower: float | None = None, upper: float | None = None,
             max_iter: int = 100, epsilon: float = 1e-10, strict: bool = False
             ) -> SurveyDesign:
        """Trim weights to ``[lower, upper]`` (weight values).

        Plain (uncalibrated) weights: R's ``trimWeights(design, upper, lower, strict)``
        (survey 4.1-1) -- weights outside the bounds are set to them and the weight taken off
        (or added) is shared equally among the weights that were inside, so the total is kept;
        once, so a share can push a weight past a bound, unless ``strict`` (then repeated
        until no weight is outside, at most ``max_iter`` rounds). No weight outside: the
        design itself.

        Raked, calibrated or post-stratified weights: not R's ``trimWeights`` (which would
        break the margins), but trimming and re-calibrating with the design's calibration
        function and bounds in turn, until both the bounds and the margins hold (so always
        strictly; ``strict`` does not change it). Refused with replicate weights: R's
        ``trimWeights`` of a ``svrepdesign`` (survey 4.1-1) leaves the sampling weights
        untrimmed and adds a recycled vector to the replicate weights, so there is no R
        method to follow (docs/analysis.md, "Replicate weights")."""
        _no_replicates(self, "trimming", TRIM_REPLICATES)
        return trim_design(self, lower=lower, upper=upper, max_iter=max_iter, epsilon=epsilon,
                           strict=strict)

    # ------------------------------------------------------------------ replicates
    def with_replicates(self, replicates) -> SurveyDesign:
        """This design with its variances from ``replicates`` (an
        :class:`analysis.replicates.ReplicateWeights`, or ``None`` for linearisation)."""
        if replicates is not None and len(replicates.unit) != self.n:
            raise ValueError(f"replicate weights for {len(replicates.unit)} rows, the design "
                             f"has {self.n}")
        return self.replace(replicates=replicates)

    def replicate(self, method: str = "jkn", replicates: int | None = None,
                  fay_rho: float = 0.0, seed=None, mse: bool = False) -> SurveyDesign:
        """This design with replicate weights built from it, as R's ``as.svrepdesign``:
        ``method`` ``"jk1"``, ``"jkn"``, ``"brr"`` (``fay_rho`` for Fay's method),
        ``"bootstrap"`` or ``"subbootstrap"`` (``replicates`` of them, ``seed``); ``mse``
        centres the replicates at the estimate. See :mod:`analysis.replicates`."""
        from analysis.replicates import replicate_weights

        return self.with_replicates(replicate_weights(self, method, replicates, fay_rho, seed,
                                                      mse))

    # ------------------------------------------------------------------ estimators
    def mean(self, items, by=None, na_rm: bool = True, deff=True, covariance=None):
        """Weighted means of ``items`` overall and by domain -> :class:`Estimate`.

        ``covariance`` says which covariances to compute besides the variances: ``None``
        (the fastest), ``"group"`` (between the items of each domain group, as R's
        ``svymean(~a+b)`` on the domain), ``"by"`` (also across the groups of each domain
        variable, R's ``svyby(..., covmat=TRUE)``) or ``"all"``. Contrasts
        (:meth:`Estimate.contrast`) need the covariances of the estimates they combine.
        """
        return estimate(self, items, "mean", by=by, na_rm=na_rm, deff=deff,
                        covariance=covariance)

    def total(self, items, by=None, na_rm: bool = True, deff=True, covariance=None):
        """Weighted totals of ``items`` overall and by domain -> :class:`Estimate`
        (``covariance`` as for :meth:`mean`)."""
        return estimate(self, items, "total", by=by, na_rm=na_rm, deff=deff,
                        covariance=covariance)

    def proportion(self, items, levels: Sequence[float], by=None, na_rm: bool = True,
                   deff=True, covariance=None):
        """Share of answers in ``levels`` (e.g. ``[4, 5]``, a top-2 box) among the answers to
        each item, overall and by domain -> :class:`Estimate` (``covariance`` as for
        :meth:`mean`)."""
        return estimate(self, items, "proportion", by=by, na_rm=na_rm, deff=deff,
                        levels=levels, covariance=covariance)

    # ------------------------------------------------------------------ low level
    def cached(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()``, computed once for this design's data and kept for ``key``: the
        designs derived from this one that keep its data (:meth:`rake`, :meth:`replace` of the
        weighting, ...) share the cache, so a column is validated or factorized once. What
        ``compute`` returns is shared: make arrays read-only, do not modify it."""
        try:
            return self._columns[key]
        except KeyError:
            value = self._columns[key] = compute()
            return value

    def item_column(self, col: str) -> np.ndarray:
        """``(n,)`` float values of one item column, NaN where missing (validated).

        The array is cached on the design (and the designs derived from it); it is read-only.
        """
        def read():
            require_column(self.data, col, "item")
            return _read_only(numeric_column(self.data, col, allow_missing=True, role="item"))

        return self.cached("\0column:" + col, read)

    def item_values(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        """``(values, missing)`` of an item column: a numeric array whose entries at the row
        positions ``missing`` are meaningless (the caller zeroes what it computes there), and
        those positions. Validated and cached like :meth:`item_column`. A nullable integer
        column is read as integers in the column's own memory (no copy): do not modify the data
        after building the design.
        """
        def read():
            require_column(self.data, col, "item")
            arr = self.data[col].array
            if isinstance(arr, pd.arrays.IntegerArray):
                return _read_only(_integers_in_place(arr)), np.flatnonzero(arr.isna())
            y = self.item_column(col)
            return y, np.flatnonzero(np.isnan(y))

        return self.cached("\0values:" + col, read)

    def factorized(self, col: str) -> tuple[np.ndarray, pd.Index]:
        """``pd.factorize(data[col])``: int64 codes (-1 where missing) and the distinct values
        in order of appearance; cached on the design and the designs derived from it, so a
        string column used for raking and as a domain is hashed once. Read-only.
        """
        def factorize():
            require_column(self.data, col, "grouping")
            codes, uniques = pd.factorize(self.data[col])
            return _read_only(codes.astype(np.int64, copy=False)), uniques

        return self.cached("\0factorize:" + col, factorize)

    def item_matrix(self, items: Sequence[str]) -> np.ndarray:
        """``(n, k)`` float matrix of the item columns, NaN where missing (validated).

        Column-major (Fortran order): filled column by column from the DataFrame.
        """
        y = np.empty((self.n, len(items)), dtype=float, order="F")
        for j, col in enumerate(items):
            y[:, j] = self.item_column(col)
        return y

    def linearize_mean(self, y, domain=None) -> tuple[np.ndarray, np.ndarray]:
        """Weighted mean(s) of ``y`` and their linearised (influence) values.

        Args:
            y: ``(n,)`` or ``(n, k)`` floats, NaN = missing (missing rows are left out of the
                domain, as R's ``na.rm=TRUE``).
            domain: ``(n,)`` bool mask or ``None`` (all rows).

        Returns:
            ``(estimate, z)``: ``(k,)`` means and ``(n, k)`` values
            ``z_i = w_i (y_i - mean) / sum(w)`` over the domain rows, 0 elsewhere; the variance
            of the mean is ``vcov(z)``.
        """
        y = np.asarray(y, dtype=float)
        if y.ndim == 1:
            y = y[:, None]
        if y.shape[0] != self.n:
            raise ValueError(f"y has {y.shape[0]} rows, the design {self.n}")
        obs = ~np.isnan(y)
        if domain is not None:
            obs &= np.asarray(domain, dtype=bool)[:, None]
        w = self.weights[:, None] * obs
        total_w = w.sum(axis=0)
        y0 = np.where(obs, y, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            est = (w * y0).sum(axis=0) / total_w
            z = w * (y0 - est) / total_w
        return est, np.where(obs, z, 0.0)

    def vcov(self, z, domain=None) -> np.ndarray:
        """Covariance ``(k, k)`` of the totals of ``z`` (``(n,)`` or ``(n, k)``) under the
        design: strata, PSUs, fpc, the lonely-PSU rule and, when the design was calibrated,
        the calibration (``z`` is replaced by its residuals on the weighting variables).

        ``domain`` matters only for ``lonely_psu="average"`` in an uncalibrated design, where
        R averages over the strata the domain reaches.
        """
        _no_replicates(self, "linearised variances (this estimator)")
        with blas_single_thread():
            return self._vcov(z, domain)

    def _vcov(self, z, domain) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        if z.ndim == 1:
            z = z[:, None]
        s = self.structure
        psu_tot = np.column_stack([np.bincount(s.unit, z[:, j], minlength=s.n_units)
                                   for j in range(z.shape[1])])
        cal = self.calibration
        if cal is not None:
            psu_tot = cal.residual_psu_totals(psu_tot, cal.cell_sums(z))
        cov = s.covariance(psu_tot)
        if (s.lonely_psu == "average" and s.lonely.any() and cal is None
                and domain is not None):
            present = _strata_present(s, np.asarray(domain, dtype=bool)[:, None])[:, 0]
            n_strat, n_ok = present.sum(), (present & ~s.lonely).sum()
            cov *= (n_strat / n_ok) / (s.n_strata / (~s.lonely).sum())
        return cov


def _read_only(values: np.ndarray) -> np.ndarray:
    """A read-only view of ``values`` (the array itself stays writable for its owner)."""
    view = values.view()
    view.flags.writeable = False
    return view


def _integers_in_place(arr: pd.arrays.IntegerArray) -> np.ndarray:
    """The integers of a nullable integer array, anything at its missing positions, without
    a copy: through the Arrow interface, which wraps the array's values buffer. pandas' own
    ``to_numpy`` copies a column with missing values, and at a million rows the fresh memory
    of 30 such copies costs more than the estimation that follows."""
    import pyarrow as pa

    arrow = pa.array(arr)
    values = np.frombuffer(arrow.buffers()[1], dtype=arr.dtype.numpy_dtype)
    return values[arrow.offset:arrow.offset + len(arrow)]


def _strata_present(s: PSUStructure, mask: np.ndarray) -> np.ndarray:
    """``(H, m)``: whether any row of each stratum is in each column's subset."""
    counts = group_sum_matrix(s.psu_stratum[s.psu], s.n_strata) @ mask.astype(float)
    return counts > 0


# ---------------------------------------------------------------------- helpers
def _fpc_weights(structure) -> np.ndarray:
    """``1 / prod(n/N)`` over the stages of a design given by its fpc (R's weights without
    ``weights=``): at each stage, the sampled fraction of the stratum or unit above each row."""
    stages = [structure.first, *structure.later] if hasattr(structure, "later") else [structure]
    probability = np.ones(len(stages[0].psu))
    for stage in stages:
        probability *= 1.0 - stage.fpc_factor[stage.psu_stratum[stage.psu]]
    return 1.0 / probability


def _later_stages(data, first: PSUStructure, psu_columns, fpc_columns, lonely_psu):
    """The structure of a multistage design: with an fpc per stage, every stage's variance
    (:mod:`analysis.multistage`); without, the first stage's, as R (the later PSU columns
    must still name a unit in every row)."""
    if fpc_columns:
        return multistage_structure(data, first, psu_columns, fpc_columns, lonely_psu)
    for col in psu_columns[1:]:
        missing = data[col].isna().to_numpy()
        if missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise AnalysisInputError(f"column '{col}': missing sampling unit in "
                                     f"{row_name(data, i)}")
    return first


# why trimming a replicate design is refused (see SurveyDesign.trim)
TRIM_REPLICATES = ("R's trimWeights of a replicate design does not trim each replicate in a "
                   "way that can be reproduced")


def _no_replicates(design, what: str, why: str | None = None) -> None:
    """Refuse what replicate designs do not support, in one line (with the reason)."""
    if design.replicates is not None:
        raise AnalysisInputError(f"{what} of a design with replicate weights is not supported "
                                 f"({why or 'every estimator, test and contrast is'}; raking, "
                                 "calibration and post-stratification are); drop "
                                 "--replicates/--repweights for it")


def stratum_fpc_factors(lo: np.ndarray, hi: np.ndarray, n_psu: np.ndarray, labels, fpc: str,
                        where) -> np.ndarray:
    """``(H,)`` factors ``1 - n_h/N_h`` from the smallest and largest fpc value of each
    stratum (the in-memory design and the Dask engine's per-partition extremes); refuses an
    fpc that varies within a stratum (``where(h, value)`` names the row holding ``value``)
    and what :func:`analysis.design_columns.fpc_factors` refuses."""
    varies = ~np.isclose(lo, hi, rtol=1e-12, atol=0)
    if varies.any():
        k = int(np.flatnonzero(varies)[0])
        raise AnalysisInputError(
            f"column '{fpc}': the fpc varies within stratum '{labels[k]}' "
            f"({format_value(lo[k])} in {where(k, lo[k])}, {format_value(hi[k])} in "
            f"{where(k, hi[k])})")
    return fpc_factors(lo, n_psu, fpc, where=lambda k: f"stratum '{labels[k]}'",
                       sampled=lambda k: f"its {n_psu[k]} sampled PSUs")


def _psu_structure(data, strata, psu, fpc, lonely_psu) -> PSUStructure:
    n = len(data)
    if strata is None:
        h = np.zeros(n, dtype=np.int64)
        labels = np.array(["(all)"], dtype=object)
    else:
        h, labels = pd.factorize(data[strata], sort=True)
        if (h < 0).any():
            i = int(np.flatnonzero(h < 0)[0])
            raise AnalysisInputError(f"column '{strata}': missing stratum in {row_name(data, i)}")
        labels = np.asarray(labels, dtype=object)
    n_strata = len(labels)
    if psu is None:
        # every row its own PSU; number them stratum by stratum
        order = np.argsort(h, kind="stable")
        p = np.empty(n, dtype=np.int64)
        p[order] = np.arange(n)
        psu_stratum = h[order]
    else:
        pc, pu = pd.factorize(data[psu])
        if (pc < 0).any():
            i = int(np.flatnonzero(pc < 0)[0])
            raise AnalysisInputError(f"column '{psu}': missing PSU in {row_name(data, i)}")
        key = h.astype(np.int64) * len(pu) + pc
        p, uniq = compact_codes(key, n_strata * len(pu))
        psu_stratum = (uniq // len(pu)).astype(np.int64)
    n_psu = np.bincount(psu_stratum, minlength=n_strata)
    factor = np.ones(n_strata)
    if fpc is not None:
        values = numeric_column(data, fpc, allow_missing=False, role="fpc")
        lo = np.full(n_strata, np.inf)
        hi = np.full(n_strata, -np.inf)
        np.minimum.at(lo, h, values)
        np.maximum.at(hi, h, values)

        def where(k: int, value: float) -> str:
            rows = np.flatnonzero(h == k)
            return row_name(data, int(rows[values[rows] == value][0]))

        factor = stratum_fpc_factors(lo, hi, n_psu, labels, fpc, where)
    return PSUStructure(psu=p, psu_stratum=psu_stratum, n_psu=n_psu, fpc_factor=factor,
                        stratum_labels=labels, lonely_psu=lonely_psu)
