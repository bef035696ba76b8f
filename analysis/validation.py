"""Checks of the values in a responses table before anything is estimated from it.

A wave that is not a year, or an answer code an item does not have (``77``, ``-99``, ``2.5``,
``"abc"``), would otherwise flow into means and totals as a plausible-looking wrong number.
Each check is vectorised (one pass per column) and raises :class:`AnalysisInputError` naming the
file, the column, the first bad value and its row (``row N``: see
:func:`analysis.design.row_name`).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

import numpy as np
import pandas as pd

from analysis.design_columns import row_name
from analysis.errors import MAX_SHOWN, AnalysisInputError

WAVE_COLUMN = "wave"
# a wave is named by its year (questionnaires/waves/YEAR.yaml)
FIRST_YEAR, LAST_YEAR = 1000, 9999
MAX_COMPARED_CODES = 32
# the questionnaire's answer-code columns: awareness N01_A1, practice N01_P2, attention ATTN1
ITEM_COLUMN = re.compile(r"N\d{2}_[AP]\d+|ATTN\d+")


# the answer codes of a 5-point item and "not applicable" (questionnaires.NOT_APPLICABLE_CODE)
DEFAULT_ANSWER_CODES = (1, 2, 3, 4, 5, 9)


def is_item_column(name: str) -> bool:
    """Whether a column is named like a questionnaire item (``N01_A1``, ``N05_P2``, ``ATTN1``)."""
    return ITEM_COLUMN.fullmatch(str(name)) is not None


def default_answer_codes(columns) -> dict[str, tuple[int, ...]]:
    """The valid codes to assume without metadata: 1-5 and 9 for every item-named column."""
    return {str(c): DEFAULT_ANSWER_CODES for c in columns if is_item_column(c)}


def check_wave_column(frame: pd.DataFrame, source: str) -> np.ndarray:
    """The ``wave`` column as int64 years; raises naming ``source``, the column, the value and
    the row for a missing column, a missing value or a value that is not a whole year."""
    if WAVE_COLUMN not in frame.columns:
        raise AnalysisInputError(f"{source}: no column '{WAVE_COLUMN}'")
    column = frame[WAVE_COLUMN]
    values, unparsed = _as_float(column)
    missing = np.isnan(values) & ~unparsed
    if missing.any():
        i = int(np.flatnonzero(missing)[0])
        raise AnalysisInputError(
            f"{source}: column '{WAVE_COLUMN}', {row_name(frame, i)}: missing wave year")
    with np.errstate(invalid="ignore"):
        bad = unparsed | (values != np.floor(values)) | (values < FIRST_YEAR) | (values > LAST_YEAR)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AnalysisInputError(
            f"{source}: column '{WAVE_COLUMN}', {row_name(frame, i)}: value "
            f"{shown_value(column.iloc[i])} is not a wave year (a whole number from {FIRST_YEAR} "
            f"to {LAST_YEAR})")
    return values.astype(np.int64)


def check_answer_codes(frame: pd.DataFrame, valid_codes: Mapping[str, Collection[int]],
                       source: str, recode_invalid: bool = False
                       ) -> tuple[pd.DataFrame, dict[str, int]]:
    """Check every column of ``valid_codes`` present in ``frame`` against its answer codes.

    Missing values are always fine. The first value that is not one of the column's codes
    raises, naming ``source``, the column, the value, the row and the codes. With
    ``recode_invalid=True`` such values become missing instead: the result is a copy of
    ``frame`` (the same object when nothing changed) and the number of values recoded per
    column, for the columns that had any.
    """
    recoded: dict[str, pd.Series] = {}
    counts: dict[str, int] = {}
    for col, codes in valid_codes.items():
        if col not in frame.columns:
            continue
        column = frame[col]
        invalid = _invalid_codes(column, codes)
        if invalid is None:
            continue
        if not recode_invalid:
            i = int(np.flatnonzero(invalid)[0])
            raise AnalysisInputError(
                f"{source}: column '{col}', {row_name(frame, i)}: value "
                f"{shown_value(column.iloc[i])} is not an answer code of this item "
                f"({code_ranges(codes)})")
        counts[col] = int(invalid.sum())
        recoded[col] = _with_missing(column, invalid)
    if not recoded:
        return frame, counts
    out = frame.copy(deep=False)
    for col, column in recoded.items():
        out[col] = column
    return out, counts


def _invalid_codes(column: pd.Series, codes: Collection[int]) -> np.ndarray | None:
    """Boolean mask of the values not among ``codes`` (missing values are valid), or None when
    every value is valid."""
    array = column.array
    if isinstance(array, pd.arrays.IntegerArray):
        values, ok = array.to_numpy(dtype=array.dtype.numpy_dtype, na_value=0), pd.isna(array)
    elif pd.api.types.is_integer_dtype(column.dtype):
        values, ok = column.to_numpy(), np.zeros(len(column), dtype=bool)
    else:
        values, unparsed = _as_float(column)
        ok = np.isnan(values) & ~unparsed
    ok |= _is_code(values, codes)
    return None if ok.all() else ~ok


def _is_code(values: np.ndarray, codes: Collection[int]) -> np.ndarray:
    """Whether each value equals one of ``codes``. An answer scale has a handful of codes, and
    one comparison per code is ten times faster than a table lookup or ``np.isin`` here."""
    codes = sorted({int(c) for c in codes})
    if len(codes) > MAX_COMPARED_CODES:
        return np.isin(values, codes)
    hit = np.zeros(len(values), dtype=bool)
    for code in codes:
        hit |= values == code
    return hit


def _as_float(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``(values, unparsed)``: the column as float64 (missing as NaN) and a mask of the values
    that are present but not numbers (text such as ``abc``; blank text counts as missing)."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return column.to_numpy(dtype=float, na_value=np.nan), np.zeros(len(column), dtype=bool)
    if pd.api.types.is_numeric_dtype(column.dtype):
        return (column.to_numpy(dtype=float, na_value=np.nan),
                np.zeros(len(column), dtype=bool))
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    unparsed = np.isnan(values) & column.notna().to_numpy()
    if unparsed.any():
        blank = column[unparsed].astype(str).str.strip() == ""
        unparsed[np.flatnonzero(unparsed)[blank.to_numpy()]] = False
    return values, unparsed


def _with_missing(column: pd.Series, invalid: np.ndarray) -> pd.Series:
    """``column`` with the ``invalid`` values made missing: float columns keep NaN, everything
    else becomes nullable ``Int64`` (the export's type of answer codes)."""
    if pd.api.types.is_float_dtype(column.dtype) and not isinstance(column.dtype,
                                                                      pd.Float64Dtype):
        return column.mask(invalid)
    values, _ = _as_float(column)
    values = np.where(invalid, np.nan, values)
    return pd.Series(pd.array(values, dtype="Int64"), index=column.index, name=column.name)


def code_ranges(codes: Collection[int]) -> str:
    """``[1, 2, 3, 4, 5, 9]`` -> ``"1-5, 9"``."""
    codes = sorted({int(c) for c in codes})
    parts, start = [], None
    for k, c in enumerate(codes):
        if start is None:
            start = c
        if k + 1 == len(codes) or codes[k + 1] != c + 1:
            parts.append(str(c) if c == start else f"{start}-{c}")
            start = None
    return ", ".join(parts) if parts else "none"


def shown_value(value) -> str:
    """How a message shows a bad value: numbers plain (``77``, ``2.5``, ``1e+308``), text
    quoted, at most :data:`MAX_SHOWN` characters."""
    if isinstance(value, bool | np.bool_):
        text = str(bool(value))
    elif isinstance(value, int | np.integer):
        text = str(int(value))
    elif isinstance(value, float | np.floating):
        v = float(value)
        text = str(int(v)) if v.is_integer() and abs(v) < 1e16 else repr(v)
    else:
        text = repr(str(value))
    return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN - 1] + "…"
