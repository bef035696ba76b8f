"""One result type for every estimator: estimates, their covariance, and contrasts of them.

Modelled on R's ``svystat`` / ``svyby`` results and ``svycontrast()`` (survey package): an
:class:`Estimate` holds a vector of estimates ``coef`` and their design-based covariance matrix
``vcov`` (strata, PSUs, fpc, lonely PSUs and calibration all count), with labels saying what
each estimate is (item, domain variable, group). Anything computed from estimates is a new
:class:`Estimate`:

* a linear combination ``L @ coef + offset`` with covariance ``L V L'``
  (:meth:`Estimate.contrast`; a norm score is one, see :mod:`analysis.indicators`);
* a smooth function ``f(coef)`` with covariance ``J V J'`` by the delta method
  (:meth:`Estimate.contrast_fn`, :meth:`Estimate.ratio`), as ``svycontrast(est, quote(a/b))``.

>>> est = design.mean(["N01_A1", "N01_P1"], by="region", covariance="group")  # doctest: +SKIP
>>> est.select(slice(0, 2)).contrast([1, -1], names=["A1 - P1"])             # doctest: +SKIP
>>> est.contrast_within_groups([[1, -1]], names=["A1 - P1"])   # every group  # doctest: +SKIP
>>> est.ratio("N01_A1", "N01_P1")                                            # doctest: +SKIP

Covariances that were not computed (an estimator asked for variances only, or for the
covariances within each domain group only) are NaN in ``vcov`` and ``blocks`` says which
estimates share a computed block; a contrast that needs a covariance outside the blocks is an
error that says which ``covariance=`` to ask for. A covariance that is undefined (an item with
no answers in a domain) is NaN too and makes only the contrasts that use it NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

Z_95 = 1.959963984540054  # qnorm(0.975): R's confint() for svymean / svytotal
COLUMNS = ["item", "by", "group", "estimate", "se", "ci_low", "ci_high", "n", "deff"]


# which covariances an estimator computes besides the variances (see Estimate.blocks)
COVARIANCE_LEVELS = (None, "group", "by", "all")


def covariance_ranges(covariance: str | None, sizes: list[int]) -> list[tuple[int, int]] | None:
    """The blocks of groups whose covariances :func:`analysis.estimates.domain_estimates`
    computes."""
    if covariance not in COVARIANCE_LEVELS:
        raise ValueError(f"covariance must be one of {COVARIANCE_LEVELS}")
    if covariance is None:
        return None
    n_groups = int(np.sum(sizes))
    if covariance == "group":
        return [(g, g + 1) for g in range(n_groups)]
    if covariance == "by":
        ends = np.cumsum(sizes)
        return [(int(e - z), int(e)) for z, e in zip(sizes, ends, strict=True) if z]
    return [(0, n_groups)]


def vcov_blocks(covariance: str | None, sizes: list[int], k: int) -> np.ndarray | None:
    """Which estimates share a computed covariance block (see :class:`Estimate`)."""
    n_groups = int(np.sum(sizes))
    if covariance == "all":
        return None
    if covariance is None:
        return np.arange(n_groups * k)
    if covariance == "group":
        return np.repeat(np.arange(n_groups), k)
    return np.repeat(np.arange(len(sizes)), np.asarray(sizes) * k)


def normal_quantile(level: float) -> float:
    """``qnorm(0.5 + level / 2)``, the half-width factor of a normal ``level`` interval."""
    if level == 0.95:
        return Z_95
    from scipy.special import ndtri  # scipy.special imports fast; scipy.stats does not

    return float(ndtri(0.5 + level / 2))


@dataclass(frozen=True, eq=False)
class Estimate:
    """Estimates with their design-based covariance (R's ``svystat``).

    Attributes:
        coef: ``(m,)`` the estimates.
        vcov: ``(m, m)`` their covariance (NaN where not computed or undefined).
        item: ``m`` labels: the item or target each estimate is of.
        by: ``m`` domain variables (``""`` for the whole sample).
        group: ``m`` domain groups (``""`` for the whole sample).
        n: ``(m,)`` unweighted number of answers used (NaN where not meaningful, e.g. a
            contrast of estimates from different respondents).
        deff: ``(m,)`` design effects, or ``None``.
        df: design degrees of freedom (PSUs minus strata, R's ``degf``); ``inf`` if unknown.
        statistic: ``"mean"``, ``"total"``, ``"proportion"``, ``"contrast"``, ...
        levels: the answer levels a proportion counts.
        blocks: ``(m,)`` ints: the covariance of estimates ``i`` and ``j`` was computed when
            ``blocks[i] == blocks[j]``; ``None``: every covariance was computed.
        covariance: what was asked of the estimator (``None``, ``"group"``, ``"by"``,
            ``"all"``), for messages.
        unknown_covariance: why the covariances outside ``blocks`` are unknown when no
            ``covariance=`` of the estimator can give them (quantiles: R's ``svyquantile``
            gives SEs only); a contrast that needs one is refused with this reason, never
            taken as 0.
    """

    coef: np.ndarray
    vcov: np.ndarray
    item: tuple[str, ...]
    by: tuple[str, ...] = ()
    group: tuple[str, ...] = ()
    n: np.ndarray | None = None
    deff: np.ndarray | None = None
    df: float = np.inf
    statistic: str = "mean"
    levels: list[float] | None = None
    blocks: np.ndarray | None = None
    covariance: str | None = "all"
    intervals: np.ndarray | None = None
    interval_note: str = "Taylor-linearised SE, 95% normal CI"
    unknown_covariance: str | None = None

    @classmethod
    def from_table(cls, table: pd.DataFrame, statistic: str, *, intervals: bool = False,
                   interval_note: str | None = None, df: float = np.inf,
                   unknown_covariance: str | None = None) -> Estimate:
        """An estimate from an estimator's table (``item, by, group, estimate, se, n,
        deff``) whose covariances between rows were not computed: each row is its own block.
        ``intervals``: keep the table's ``ci_low``/``ci_high`` as the 95% intervals (for an
        estimator whose interval is not ``estimate -/+ q se``, as R's ``svyquantile``);
        ``unknown_covariance``: why no covariance between rows can be given."""
        m = len(table)
        se = table["se"].to_numpy(dtype=float)
        vcov = np.full((m, m), np.nan)
        vcov[np.arange(m), np.arange(m)] = se * se
        deff = table["deff"].to_numpy(dtype=float)
        return cls(
            coef=table["estimate"].to_numpy(dtype=float), vcov=vcov, item=table["item"],
            by=table["by"], group=table["group"], n=table["n"].to_numpy(dtype=float),
            deff=None if np.isnan(deff).all() else deff, df=df, statistic=statistic,
            blocks=np.arange(m), covariance=None,
            intervals=(table[["ci_low", "ci_high"]].to_numpy(dtype=float) if intervals
                       else None),
            interval_note=interval_note or cls.interval_note,
            unknown_covariance=unknown_covariance)

    def __post_init__(self):
        coef = np.array(self.coef, dtype=float).reshape(-1)
        m = len(coef)
        vcov = np.array(self.vcov, dtype=float).reshape(m, m)
        labels = {}
        for name in ("item", "by", "group"):
            value = tuple(str(v) for v in getattr(self, name)) or ("",) * m
            if len(value) != m:
                raise ValueError(f"{name} has {len(value)} labels for {m} estimates")
            labels[name] = value
        n = np.full(m, np.nan) if self.n is None else np.array(self.n, dtype=float).reshape(m)
        deff = None if self.deff is None else np.array(self.deff, dtype=float).reshape(m)
        blocks = None if self.blocks is None else np.array(self.blocks, dtype=np.int64)
        for name, value in (("coef", coef), ("vcov", vcov), ("n", n), ("deff", deff),
                            ("blocks", blocks), *labels.items()):
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
            object.__setattr__(self, name, value)
        if self.levels is not None:
            object.__setattr__(self, "levels", [float(v) for v in self.levels])
        if self.intervals is not None:
            intervals = np.array(self.intervals, dtype=float).reshape(m, 2)
            intervals.flags.writeable = False
            object.__setattr__(self, "intervals", intervals)

    # ------------------------------------------------------------------ basics
    def __len__(self) -> int:
        return len(self.coef)

    @property
    def var(self) -> np.ndarray:
        """``(m,)`` variances, the diagonal of ``vcov``."""
        return np.diag(self.vcov).copy()

    @property
    def se(self) -> np.ndarray:
        """``(m,)`` standard errors."""
        return np.sqrt(np.maximum(np.diag(self.vcov), 0.0))

    @property
    def names(self) -> list[str]:
        """One name per estimate: ``item`` for the whole sample, ``by=group:item`` in a
        domain (the names :meth:`contrast` accepts in a mapping)."""
        return [i if not b else f"{b}={g}:{i}"
                for i, b, g in zip(self.item, self.by, self.group, strict=True)]

    def confint(self, level: float = 0.95, df: float | None = None) -> np.ndarray:
        """``(m, 2)`` confidence intervals: normal (R's ``confint(est)``) unless ``df`` is
        given, then Student's t with ``df`` degrees of freedom (``df=est.df`` for the design's,
        as R's ``confint(est, df=degf(design))``). An estimator that computes its own
        intervals (:attr:`intervals`, e.g. quantiles) gives those, at 95% only."""
        if self.intervals is not None:
            if level != 0.95 or df is not None:
                raise ValueError(f"these {self.statistic} intervals are the estimator's own "
                                 "(" + self.interval_note + "); only the 95% ones exist")
            return self.intervals.copy()
        if df is None or np.isinf(df):
            q = normal_quantile(level)
        else:
            from scipy.special import stdtrit

            q = float(stdtrit(df, 0.5 + level / 2))
        se = self.se
        return np.column_stack([self.coef - q * se, self.coef + q * se])

    def to_frame(self, level: float = 0.95) -> pd.DataFrame:
        """The estimates as a table: ``item, by, group, estimate, se, ci_low, ci_high, n,
        deff`` (normal intervals at ``level``; ``n`` is an integer column when every ``n`` is
        known)."""
        ci = self.confint(level)
        n = self.n
        n_col = (n.astype(np.int64) if not np.isnan(n).any()
                 else pd.array([None if np.isnan(v) else int(v) for v in n], dtype="Int64"))
        return pd.DataFrame({
            "item": list(self.item),
            "by": list(self.by),
            "group": list(self.group),
            "estimate": self.coef.copy(),
            "se": self.se,
            "ci_low": ci[:, 0],
            "ci_high": ci[:, 1],
            "n": n_col,
            "deff": np.nan if self.deff is None else self.deff.copy(),
        })

    @cached_property
    def table(self) -> pd.DataFrame:
        """:meth:`to_frame` at 95% (the table of the former ``Estimates`` result)."""
        return self.to_frame()

    def __repr__(self) -> str:
        return f"<Estimate {self.statistic}: {len(self)} estimates>"

    def __str__(self) -> str:
        what = self.statistic
        if self.levels is not None:
            what += " of answers in " + ", ".join(_fmt_level(v) for v in self.levels)
        t = self.table.copy()
        t["ci95"] = [f"[{lo:.4g}, {hi:.4g}]" for lo, hi in zip(t.ci_low, t.ci_high, strict=True)]
        t = t[["item", "by", "group", "estimate", "se", "ci95", "n", "deff"]]
        body = t.to_string(index=False, float_format=lambda v: f"{v:.4g}")
        return f"Design-based {what} ({self.interval_note})\n{body}"

    # ------------------------------------------------------------------ selection
    def select(self, which) -> Estimate:
        """The estimates at positions (or a boolean mask) ``which``, with their covariance."""
        if isinstance(which, list | tuple):
            which = np.asarray(which)
        idx = np.atleast_1d(np.arange(len(self))[which]).astype(np.int64)
        return Estimate(
            coef=self.coef[idx], vcov=self.vcov[np.ix_(idx, idx)],
            item=[self.item[i] for i in idx], by=[self.by[i] for i in idx],
            group=[self.group[i] for i in idx], n=self.n[idx],
            deff=None if self.deff is None else self.deff[idx], df=self.df,
            statistic=self.statistic, levels=self.levels,
            blocks=None if self.blocks is None else self.blocks[idx],
            covariance=self.covariance,
            intervals=None if self.intervals is None else self.intervals[idx],
            interval_note=self.interval_note, unknown_covariance=self.unknown_covariance)

    # ------------------------------------------------------------------ contrasts
    def contrast(self, L, names: Sequence[str] | None = None, offset=None,
                 n=None) -> Estimate:
        """Linear combinations ``L @ coef + offset`` and their covariance ``L V L'`` (R's
        ``svycontrast(est, L)``).

        Args:
            L: ``(m,)`` or ``(r, m)`` coefficients, or a mapping ``name -> {estimate name:
                coefficient}`` (names as :attr:`names`; the mapping's keys name the results).
            names: a name per combination (default ``contrast1``, ...).
            offset: ``(r,)`` or a scalar added to the combinations (not to the covariance).
            n: ``(r,)`` respondents behind each combination (default unknown, NaN).

        Returns:
            An :class:`Estimate`; each combination keeps ``by`` and ``group`` when every
            estimate it uses has the same ones. A combination that uses an estimate whose
            value or covariance is undefined (NaN) is NaN; one that needs a covariance that was
            not computed is an error.
        """
        if isinstance(L, Mapping):
            names = list(L) if names is None else names
            L = self._matrix_from_mapping(L)
        L = np.atleast_2d(np.asarray(L, dtype=float))
        if L.shape[1] != len(self):
            raise ValueError(f"L has {L.shape[1]} columns for {len(self)} estimates")
        r = L.shape[0]
        offset = np.broadcast_to(np.asarray(0.0 if offset is None else offset, dtype=float),
                                 (r,))
        coef = _nan_aware_product(L, self.coef[:, None])[:, 0] + offset
        vcov, blocks = self._sandwich(L)
        used = L != 0
        by, group = [], []
        for row in used:
            pairs = {(self.by[j], self.group[j]) for j in np.flatnonzero(row)}
            b, g = pairs.pop() if len(pairs) == 1 else ("", "")
            by.append(b)
            group.append(g)
        return Estimate(
            coef=coef, vcov=vcov,
            item=list(names) if names is not None else [f"contrast{i + 1}" for i in range(r)],
            by=by, group=group, n=n, deff=None, df=self.df, statistic="contrast",
            blocks=blocks, covariance=self.covariance, unknown_covariance=self.unknown_covariance)

    def contrast_within_groups(self, L, names: Sequence[str], offset=None, n=None
                               ) -> Estimate:
        """The same item-level combinations in every domain group (R's ``svyby`` followed by
        ``svycontrast``). ``L`` is ``(r, k)`` over the ``k`` items of one group, in the order
        they appear in each group; every group must have the same items. Results are ordered
        group by group, ``r`` per group."""
        L = np.atleast_2d(np.asarray(L, dtype=float))
        starts = self._group_starts()
        k = L.shape[1]
        if any(b - a != k for a, b in zip(starts[:-1], starts[1:], strict=True)):
            raise ValueError(f"every group needs the {k} items the combinations are over")
        n_groups = len(starts) - 1
        big = np.zeros((n_groups * L.shape[0], len(self)))
        for g in range(n_groups):
            big[g * L.shape[0]:(g + 1) * L.shape[0], starts[g]:starts[g + 1]] = L
        offset = np.tile(np.broadcast_to(np.asarray(0.0 if offset is None else offset,
                                                    dtype=float), (L.shape[0],)), n_groups)
        return self.contrast(big, names=list(names) * n_groups, offset=offset, n=n)

    def contrast_fn(self, f: Callable[[np.ndarray], np.ndarray],
                    jacobian: Callable[[np.ndarray], np.ndarray] | None = None,
                    names: Sequence[str] | None = None) -> Estimate:
        """A smooth function of the estimates with its delta-method covariance ``J V J'``
        (R's ``svycontrast(est, quote(...))``).

        ``f`` maps the ``(m,)`` estimates to ``(r,)`` values. ``jacobian`` gives the ``(r, m)``
        derivatives at the estimates; without it they are taken by the complex step
        (``Im f(x + ih e_j) / h``, exact to rounding for ``f`` written with arithmetic and
        numpy's analytic functions; pass ``jacobian`` for ``f`` using ``abs``, comparisons or
        other non-analytic operations).
        """
        x = self.coef
        values = np.atleast_1d(np.asarray(f(x.copy()), dtype=float))
        J = (np.atleast_2d(np.asarray(jacobian(x.copy()), dtype=float)) if jacobian is not None
             else _complex_step_jacobian(f, x, len(values)))
        vcov, blocks = self._sandwich(J)
        lin = self.contrast(J, names=names)
        return Estimate(coef=values, vcov=vcov, item=lin.item, by=lin.by, group=lin.group,
                        n=None, deff=None, df=self.df, statistic="contrast", blocks=blocks,
                        covariance=self.covariance, unknown_covariance=self.unknown_covariance)

    def ratio(self, numerator, denominator, name: str | None = None) -> Estimate:
        """``coef[numerator] / coef[denominator]`` with its delta-method SE (positions or
        names as :attr:`names`), as ``svycontrast(est, quote(a/b))``."""
        i, j = self._position(numerator), self._position(denominator)
        a, b = self.coef[i], self.coef[j]
        J = np.zeros((1, len(self)))
        J[0, i] += 1.0 / b
        J[0, j] += -a / (b * b)
        return self.contrast_fn(lambda x: np.array([x[i] / x[j]]), lambda x: J,
                                names=[name or f"{self.names[i]}/{self.names[j]}"])

    # ------------------------------------------------------------------ helpers
    def _position(self, key) -> int:
        if isinstance(key, int | np.integer):
            return int(key)
        names = self.names
        if key not in names:
            raise KeyError(f"no estimate named '{key}' (names: {', '.join(names[:8])}...)")
        return names.index(key)

    def _matrix_from_mapping(self, mapping: Mapping) -> np.ndarray:
        L = np.zeros((len(mapping), len(self)))
        for r, weights in enumerate(mapping.values()):
            for key, value in weights.items():
                L[r, self._position(key)] += float(value)
        return L

    def _group_starts(self) -> list[int]:
        """Positions where a new (by, group) run starts, and the length."""
        keys = list(zip(self.by, self.group, strict=True))
        starts = [0] + [i for i in range(1, len(keys)) if keys[i] != keys[i - 1]]
        return starts + [len(keys)]

    def _sandwich(self, L: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``L V L'`` computed block by block, and the blocks of the combinations."""
        r = L.shape[0]
        used = L != 0
        if self.blocks is None:
            return _nan_aware_sandwich(L, self.vcov), None
        row_block = np.full(r, -1, dtype=np.int64)
        for i in range(r):
            b = np.unique(self.blocks[used[i]])
            if len(b) > 1:
                a, c = (int(np.flatnonzero(used[i] & (self.blocks == v))[0]) for v in b[:2])
                if self.unknown_covariance:
                    raise ValueError(
                        f"the covariance of '{self.names[a]}' and '{self.names[c]}' is unknown "
                        f"({self.unknown_covariance}); a combination of them has no SE")
                raise ValueError(
                    f"the covariance of '{self.names[a]}' and '{self.names[c]}' was not "
                    f"computed (estimated with covariance={self.covariance!r}); estimate with "
                    "covariance='group' (items within a domain group), 'by' (across the groups "
                    "of a domain variable) or 'all'")
            if len(b):
                row_block[i] = b[0]
        vcov = np.full((r, r), np.nan)
        for b in np.unique(row_block):
            rows = np.flatnonzero(row_block == b)
            if b < 0:
                vcov[np.ix_(rows, rows)] = np.where(np.eye(len(rows), dtype=bool), 0.0, np.nan)
                continue
            cols = np.flatnonzero(self.blocks == b)
            vcov[np.ix_(rows, rows)] = _nan_aware_sandwich(L[np.ix_(rows, cols)],
                                                           self.vcov[np.ix_(cols, cols)])
        unused = row_block < 0
        row_block[unused] = self.blocks.max(initial=0) + 1 + np.arange(unused.sum())
        return vcov, row_block


def combine_independent(parts: Sequence[tuple[Estimate, np.ndarray]],
                        names: Sequence[str] | None = None) -> Estimate:
    """``sum_k L_k @ coef_k`` over estimates ``coef_k`` from independent samples (the waves of
    a survey, each its own design), with covariance ``sum_k L_k V_k L_k'``.

    This is :meth:`Estimate.contrast` of the estimates stacked, whose covariance is
    block-diagonal (independent samples have none between them); each part is contrasted on
    its own, so a combination that needs a covariance one estimate did not compute is the
    same error. ``parts``: ``(estimate, L)`` pairs, every ``L`` with the same number of rows.
    Two combinations' covariance is computed when it is within every part; each keeps
    ``by``/``group`` when every part's does; ``df`` is the stacked design's (the sum).
    """
    if not parts:
        raise ValueError("no estimates to combine")
    terms = [est.contrast(L, names=names) for est, L in parts]
    first = terms[0]
    coef = np.sum([t.coef for t in terms], axis=0)
    vcov = np.sum([t.vcov for t in terms], axis=0)
    labelled = [t.blocks for t in terms if t.blocks is not None]
    blocks = (None if not labelled
              else pd.factorize(pd.MultiIndex.from_arrays(labelled))[0] if len(labelled) > 1
              else labelled[0])
    by = [b if all(t.by[i] == b for t in terms) else "" for i, b in enumerate(first.by)]
    group = [g if all(t.group[i] == g and t.by[i] == first.by[i] for t in terms) else ""
             for i, g in enumerate(first.group)]
    return Estimate(coef=coef, vcov=vcov, item=first.item, by=by, group=group, n=None,
                    deff=None, df=sum(t.df for t in terms), statistic="contrast",
                    blocks=blocks, covariance=first.covariance,
                    unknown_covariance=next((t.unknown_covariance for t in terms
                                             if t.unknown_covariance), None))


def _nan_aware_product(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` where a NaN in ``B`` counts only where ``A`` uses it (``0 * NaN = 0``)."""
    nan = np.isnan(B)
    out = A @ np.where(nan, 0.0, B)
    if nan.any():
        out[((A != 0).astype(float) @ nan.astype(float)) > 0] = np.nan
    return out


def _nan_aware_sandwich(L: np.ndarray, V: np.ndarray) -> np.ndarray:
    """``L V L'`` with NaN entries of ``V`` propagated only to the combinations using them."""
    nan = np.isnan(V)
    out = L @ np.where(nan, 0.0, V) @ L.T
    if nan.any():
        u = (L != 0).astype(float)
        out[(u @ nan.astype(float) @ u.T) > 0] = np.nan
    return out


def _complex_step_jacobian(f, x: np.ndarray, r: int, h: float = 1e-20) -> np.ndarray:
    J = np.empty((r, len(x)))
    for j in range(len(x)):
        xc = x.astype(complex)
        xc[j] += 1j * h
        J[:, j] = np.imag(np.atleast_1d(f(xc))) / h
    return J


def _fmt_level(v) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() else str(v)
