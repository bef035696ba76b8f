"""Multistage designs with an fpc at each stage, as R's ``svydesign(ids=~A+B, fpc=~F1+F2)``.

R's ``svyrecvar`` (survey 4.1-1, ``multistage()``/``onestage()``) adds to the first-stage
variance, for each first-stage PSU, the variance of its second-stage units' totals computed as
a stratified one-stage design whose only stratum is that PSU, multiplied by the first-stage
sampling fraction ``n_h / N_h`` of the PSU's stratum; a third stage adds, within each
second-stage unit, its own variance times the product of the two fractions above it, and so
on. Without an fpc R counts only the first stage (with replacement), and so does
:class:`analysis.SurveyDesign`: the later PSU columns then change nothing in the variance.

Every later stage is therefore a :class:`analysis.variance.PSUStructure` whose "strata" are the
previous stage's units and whose ``stratum_weight`` is the product of the sampling fractions
above. Units are numbered so that each unit's sub-units are contiguous, so the totals of any
stage are ``np.add.reduceat`` of the final-stage totals. :class:`MultistageStructure` offers the
interface of a one-stage ``PSUStructure`` (its ``psu``, strata, ``n_psus`` and lonely PSUs are
the first stage's, so degrees of freedom are R's ``degf()``) but aggregates to the final-stage
units (:attr:`MultistageStructure.unit`), from whose totals it computes every stage's part.

Later stages follow the lonely-PSU rule as R does: a unit with a single sampled sub-unit that
is not fully enumerated fails under ``"fail"``, contributes nothing under ``"remove"`` and
``"certainty"``, and its uncentred total under ``"adjust"``. Under ``"average"`` R gives such a
design no variance at all (``NaN``: the average over the other strata of a one-stratum stage is
0/0), so it is refused with a message.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.design_columns import (
    format_value,
    fpc_factors,
    numeric_column,
    population_sizes,
    row_name,
)
from analysis.errors import AnalysisInputError
from analysis.variance import CERTAINTY_TOLERANCE, PSUStructure, compact_codes


class MultistageStructure:
    """The first stage's :class:`PSUStructure` and the later stages of a multistage design.

    Attributes:
        first: the first stage (strata, PSUs, fpc, lonely rule).
        later: one :class:`PSUStructure` per later stage (its strata are the previous stage's
            units, weighted by the sampling fractions above them).
        starts: per stage (first included), the first final-stage unit of each of its units;
            ``None`` for the final stage itself.
        unit: ``(n,)`` final-stage unit of each row.
    """

    def __init__(self, first: PSUStructure, later: Sequence[PSUStructure],
                 starts: Sequence[np.ndarray | None], unit: np.ndarray):
        self.first = first
        self.later = tuple(later)
        self.starts = tuple(starts)
        self.unit = unit
        self.n_units = len(later[-1].psu_stratum)
        unit_psu = np.repeat(np.arange(first.n_psus), np.diff(np.append(starts[0],
                                                                          self.n_units)))
        per_stratum = np.bincount(first.psu_stratum[unit_psu], minlength=first.n_strata)
        self.unit_stratum_starts = np.concatenate([[0], np.cumsum(per_stratum)[:-1]]).astype(
            np.int64)

    # the first stage's view: PSUs, strata, lonely PSUs, degrees of freedom
    @property
    def psu(self) -> np.ndarray:
        return self.first.psu

    @property
    def psu_stratum(self) -> np.ndarray:
        return self.first.psu_stratum

    @property
    def n_psu(self) -> np.ndarray:
        return self.first.n_psu

    @property
    def fpc_factor(self) -> np.ndarray:
        return self.first.fpc_factor

    @property
    def stratum_labels(self) -> np.ndarray:
        return self.first.stratum_labels

    @property
    def lonely_psu(self) -> str:
        return self.first.lonely_psu

    @property
    def n_strata(self) -> int:
        return self.first.n_strata

    @property
    def n_psus(self) -> int:
        return self.first.n_psus

    @property
    def n_stages(self) -> int:
        return 1 + len(self.later)

    @property
    def lonely(self) -> np.ndarray:
        return self.first.lonely

    def check_lonely(self, stratum_column: str | None) -> None:
        self.first.check_lonely(stratum_column)

    # variances from final-stage unit totals
    def _stage_totals(self, totals: np.ndarray, stage: int, axis: int) -> np.ndarray:
        starts = self.starts[stage]
        return totals if starts is None else np.add.reduceat(totals, starts, axis=axis)

    def variance(self, totals: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
        """Variance ``(m,)`` of the column sums of ``totals`` (``(U, m)`` final-unit totals)."""
        totals = np.asarray(totals, dtype=float)
        var = self.first.variance(self._stage_totals(totals, 0, 0), present)
        for i, stage in enumerate(self.later, start=1):
            var = var + stage.variance(self._stage_totals(totals, i, 0))
        return var

    def variance_t(self, totals_t: np.ndarray, present_t: np.ndarray | None = None
                   ) -> np.ndarray:
        """:meth:`variance` for final-unit totals laid out ``(m, U)``."""
        t = np.asarray(totals_t, dtype=float)
        var = self.first.variance_t(self._stage_totals(t, 0, 1), present_t)
        for i, stage in enumerate(self.later, start=1):
            var = var + stage.variance_t(self._stage_totals(t, i, 1))
        return var

    def covariance(self, totals: np.ndarray) -> np.ndarray:
        """Covariance ``(m, m)`` of the column sums of ``totals`` (``(U, m)``)."""
        totals = np.asarray(totals, dtype=float)
        cov = self.first.covariance(self._stage_totals(totals, 0, 0))
        for i, stage in enumerate(self.later, start=1):
            cov = cov + stage.covariance(self._stage_totals(totals, i, 0))
        return cov


def multistage_structure(data: pd.DataFrame, first: PSUStructure, psu_columns: Sequence[str],
                         fpc_columns: Sequence[str], lonely_psu: str) -> MultistageStructure:
    """The later stages of a design whose first stage is ``first`` (built from
    ``psu_columns[0]`` and ``fpc_columns[0]``): stage ``s`` units are the distinct values of
    ``psu_columns[s]`` within each stage ``s - 1`` unit (R nests every stage in the one
    above), and ``fpc_columns[s]`` is constant within each stage ``s - 1`` unit."""
    # per stage-1 unit, the fraction n_h / N_h its sub-units' variance is multiplied by (the
    # fpc column was checked by the first stage: constant within strata, at least n_h)
    n_first = first.n_psu.astype(float)
    fpc_first = numeric_column(data, fpc_columns[0], allow_missing=False, role="fpc")
    fpc_first = fpc_first[_first_rows(first.psu_stratum[first.psu], first.n_strata)]
    popsize_first = population_sizes(fpc_first, n_first)
    weight = (n_first / popsize_first)[first.psu_stratum]
    parent = first.psu  # (n,) each row's unit at the previous stage
    n_parents = first.n_psus
    later, unit_parents = [], []
    for s in range(1, len(psu_columns)):
        col, fpc_col = psu_columns[s], fpc_columns[s]
        above = psu_columns[s - 1]
        codes, uniques = pd.factorize(data[col])
        if (codes < 0).any():
            i = int(np.flatnonzero(codes < 0)[0])
            raise AnalysisInputError(f"column '{col}': missing sampling unit (stage {s + 1}) "
                                     f"in {row_name(data, i)}")
        unit, keys = compact_codes(parent.astype(np.int64) * len(uniques) + codes,
                                   n_parents * len(uniques))
        unit_parent = (keys // len(uniques)).astype(np.int64)
        n_sampled = np.bincount(unit_parent, minlength=n_parents)
        values = numeric_column(data, fpc_col, allow_missing=False, role="fpc")
        fpc = _constant_within(data, values, parent, n_parents, fpc_col,
                               f"unit of column '{above}'")
        first_row = _first_rows(parent, n_parents)
        # the messages are made at once, in this iteration
        factor = fpc_factors(
            fpc, n_sampled, fpc_col,
            where=lambda k: row_name(data, first_row[k]),  # noqa: B023
            sampled=lambda k: (f"the {n_sampled[k]} sampled units of column "  # noqa: B023
                               f"'{col}' in its unit of column '{above}'"))  # noqa: B023
        stage = PSUStructure(psu=unit, psu_stratum=unit_parent, n_psu=n_sampled,
                             fpc_factor=factor, stratum_labels=first_row, lonely_psu=lonely_psu,
                             stratum_weight=weight)
        _check_later_lonely(data, stage, s, col, above)
        later.append(stage)
        unit_parents.append(unit_parent)
        weight = (weight * n_sampled / population_sizes(fpc, n_sampled))[unit_parent]
        parent, n_parents = unit, len(unit_parent)
    # first final-stage unit of each unit of every stage: follow the parents down
    starts: list[np.ndarray | None] = [None]
    ancestor = np.arange(n_parents)
    for unit_parent in reversed(unit_parents):
        ancestor = unit_parent[ancestor]
        starts.append(np.flatnonzero(np.r_[True, ancestor[1:] != ancestor[:-1]]))
    starts.reverse()
    return MultistageStructure(first, later, starts, parent)


def _first_rows(group: np.ndarray, n_groups: int) -> np.ndarray:
    """Position of the first row of each group."""
    first = np.empty(n_groups, dtype=np.int64)
    first[group[::-1]] = np.arange(len(group) - 1, -1, -1)
    return first


def _constant_within(data, values, group, n_groups, column, what) -> np.ndarray:
    """Each group's value of ``values``; raises naming two rows when it varies in a group."""
    first_row = _first_rows(group, n_groups)
    own = values[first_row]
    varies = ~np.isclose(values, own[group], rtol=1e-12, atol=0)
    if varies.any():
        i = int(np.flatnonzero(varies)[0])
        j = int(first_row[group[i]])
        raise AnalysisInputError(
            f"column '{column}': the fpc varies within a {what}: {format_value(values[i])} in "
            f"{row_name(data, i)}, {format_value(values[j])} in {row_name(data, j)}")
    return own


def _check_later_lonely(data, stage: PSUStructure, s: int, column: str, above: str) -> None:
    """A unit of stage ``s`` (0-based) with one sampled sub-unit under ``fail`` or
    ``average`` is an error, as in R (``average``: R's variance is NaN)."""
    lonely = (stage.n_psu == 1) & (stage.fpc_factor >= CERTAINTY_TOLERANCE)
    if stage.lonely_psu not in ("fail", "average") or not lonely.any():
        return
    k = int(np.flatnonzero(lonely)[0])
    i = int(stage.stratum_labels[k])
    why = ("its variance cannot be estimated" if stage.lonely_psu == "fail" else
           "R's lonely.psu='average' gives the whole design no variance (NaN)")
    raise AnalysisInputError(
        f"column '{column}': the unit '{data[above].iloc[i]}' of column '{above}' "
        f"({row_name(data, i)}) has only one sampled unit at stage {s + 1}, so {why}; choose "
        f"lonely_psu='remove', 'adjust' or 'certainty'")
