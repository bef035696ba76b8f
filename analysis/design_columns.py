"""Reading and checking the columns a survey design is built from.

The helpers here name the file's row, the column and the value in every message a user can
cause (a missing weight, a value that is not a number, a column the data lack). They depend on
nothing else in the package, so the design (:mod:`analysis.design`), the weighting
(:mod:`analysis.weighting`), multistage designs and the input checks can all use them without
importing one another.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError


def format_value(v) -> str:
    """A value for a message: floats in ``%g``, anything else as ``str``."""
    return f"{v:g}" if isinstance(v, float | np.floating) else str(v)


def row_name(data: pd.DataFrame, i: int) -> str:
    """How messages name the row at position ``i``: ``row N`` is the 1-based data row of the
    file read (the DataFrame's integer index + 1, which survives splitting by wave)."""
    label = data.index[i]
    if isinstance(label, int | np.integer):
        return f"row {int(label) + 1}"
    return f"row {label!r}"


def require_column(data: pd.DataFrame, col: str, role: str) -> None:
    """Raises naming ``col`` and its ``role`` (weights, strata, item, ...) when the data lack it."""
    if col not in data.columns:
        raise AnalysisInputError(f"unknown column '{col}' ({role}); the data have no such column")


def numeric_column(data: pd.DataFrame, col: str, allow_missing: bool, role: str) -> np.ndarray:
    """The column as float64; raises naming the column and the first bad value."""
    s = data[col]
    if pd.api.types.is_bool_dtype(s):
        s = s.astype(float)
    if pd.api.types.is_numeric_dtype(s):
        values = s.to_numpy(dtype=float, na_value=np.nan)
    else:
        values = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = np.isnan(values) & s.notna().to_numpy()
        if bad.any():
            stripped = s[bad].astype(str).str.strip()
            really = stripped != ""
            if really.any():
                i = int(np.flatnonzero(bad)[np.flatnonzero(really.to_numpy())[0]])
                raise AnalysisInputError(
                    f"column '{col}': value '{s.iloc[i]}' in {row_name(data, i)} is not a number")
    # integers and booleans cannot be infinite: no pass over them
    if s.dtype.kind not in "iub" and np.isinf(values).any():
        i = int(np.flatnonzero(np.isinf(values))[0])
        raise AnalysisInputError(f"column '{col}': value '{values[i]}' in {row_name(data, i)} "
                                 "is not a finite number")
    if not allow_missing and np.isnan(values).any():
        i = int(np.flatnonzero(np.isnan(values))[0])
        raise AnalysisInputError(f"column '{col}': missing {role} in {row_name(data, i)}")
    return values


def stage_columns(columns, role: str) -> tuple[str, ...]:
    """``None`` -> ``()``, ``"a"`` -> ``("a",)``, ``["a", "b"]`` -> ``("a", "b")``."""
    if columns is None:
        return ()
    if isinstance(columns, str):
        return (columns,)
    columns = tuple(columns)
    if not columns or not all(isinstance(c, str) for c in columns):
        raise AnalysisInputError(f"{role}: give a column name or a list of column names, one "
                                 "per sampling stage")
    return columns


def population_sizes(fpc: np.ndarray, n_sampled: np.ndarray) -> np.ndarray:
    """The population number of units of each stratum (or unit above) from its fpc, as R's
    ``svydesign``: a value above 1 is that number, a value at most 1 the sampled fraction."""
    return np.where(fpc > 1, fpc, n_sampled / fpc)


def fpc_factors(fpc: np.ndarray, n_sampled: np.ndarray, column: str,
                where: Callable[[int], str], sampled: Callable[[int], str]) -> np.ndarray:
    """``1 - n/N`` of each stratum (or unit above) from its fpc value ``fpc[k]`` and its
    ``n_sampled[k]`` sampled units; raises naming ``column``, the place (``where(k)``) and,
    for a population smaller than the sample, what was sampled there (``sampled(k)``)."""
    if (fpc <= 0).any():
        k = int(np.flatnonzero(fpc <= 0)[0])
        raise AnalysisInputError(f"column '{column}': value {format_value(fpc[k])} in "
                                 f"{where(k)} is not positive")
    popsize = population_sizes(fpc, n_sampled)
    small = popsize < n_sampled - 1e-9
    if small.any():
        k = int(np.flatnonzero(small)[0])
        raise AnalysisInputError(f"column '{column}': population size {format_value(fpc[k])} "
                                 f"in {where(k)} is smaller than {sampled(k)}")
    return np.clip((popsize - n_sampled) / popsize, 0.0, 1.0)


def zero_filled(col: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(col with NaN -> 0, indices of the NaN)``."""
    col = np.asarray(col, dtype=float)
    miss = np.isnan(col)
    return np.where(miss, 0.0, col), np.flatnonzero(miss)
