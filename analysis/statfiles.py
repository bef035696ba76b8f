"""Reading SPSS ``.sav``/``.zsav`` and Stata ``.dta`` responses tables (via pyreadstat).

SPSS and Stata store categories as numeric codes with value labels. A demographic column
(``sex``, ``region``, ...) becomes its category strings only when its stored values are codes
whose labels are exactly the category values (``1 = male``): display labels such as ``1 = 男``
or province names would not match the margins, so such a column keeps its codes (a province
stored as ``110000`` is already its category). Item columns always keep their integer answer
codes (``Int64``), never the answer labels. Text cells that are empty become missing, as in a
CSV.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.validation import is_item_column

# suffix -> (what the format is called in messages, pyreadstat reader)
FORMATS = {".sav": ("SPSS", "read_sav"), ".zsav": ("SPSS", "read_sav"),
           ".dta": ("Stata", "read_dta")}


def is_statistics_file(path: Path) -> bool:
    return path.suffix.lower() in FORMATS


def statistics_columns(path: Path) -> list[str]:
    """The column names of a ``.sav``/``.dta`` file, without reading its rows."""
    _, meta = _read(path, metadataonly=True)
    return list(meta.column_names)


def read_statistics_file(path: Path, columns: list[str] | None,
                         check_columns) -> pd.DataFrame:
    """The table of a ``.sav``/``.dta`` file, categories decoded as described above.
    ``check_columns(path, wanted, present)`` refuses an unknown column."""
    if columns is not None:
        check_columns(path, columns, statistics_columns(path))
    data, meta = _read(path, usecols=columns)
    labels = meta.variable_value_labels or {}
    for name in data.columns:
        data[name] = _decoded(data[name], labels.get(name))
    return data


def read_labels(path) -> tuple[dict[str, str], dict[str, dict]]:
    """The variable labels (column -> text) and value labels (column -> {value: text}) of a
    ``.sav``/``.dta`` file."""
    _, meta = _read(Path(path), metadataonly=True)
    variables = {c: t for c, t in zip(meta.column_names, meta.column_labels or [], strict=False)
                 if t}
    return variables, dict(meta.variable_value_labels or {})


def _read(path: Path, **options):
    import pyreadstat

    kind, reader = FORMATS[path.suffix.lower()]
    try:
        return getattr(pyreadstat, reader)(path, **options)
    except Exception as exc:  # pyreadstat raises its own types and OSError variants
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise AnalysisInputError(f"{path}: not a readable {kind} file ({detail})") from None


def _decoded(column: pd.Series, value_labels: dict | None) -> pd.Series:
    if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
        blank = column.astype(str).str.strip() == ""
        return column.mask(blank) if blank.any() else column
    if not pd.api.types.is_float_dtype(column.dtype):
        return column
    name = str(column.name)
    categories = category_values().get(name)
    if categories is not None and value_labels:
        mapped = _labels_as_categories(column, value_labels, categories)
        if mapped is not None:
            return mapped
    if is_item_column(name) or value_labels:
        return _as_integer_codes(column)
    return column


def _labels_as_categories(column: pd.Series, value_labels: dict, categories: set[str]):
    """The column as its labels, when every stored value has a label that is a category."""
    stored = pd.unique(column.dropna())
    try:
        labels = [str(value_labels[v]).strip() for v in stored]
    except KeyError:
        return None  # a value without a label: not a coded category column
    if not set(labels) <= categories:
        return None
    mapping = dict(zip(stored, labels, strict=True))
    return column.map(mapping).astype("str").where(column.notna())


def _as_integer_codes(column: pd.Series) -> pd.Series:
    """Whole-number codes as nullable ``Int64`` (SPSS stores every number as a double); a
    column with fractions is left as it is for the answer-code check to name."""
    values = column.to_numpy(dtype=float)
    finite = values[~np.isnan(values)]
    if not np.all(np.isfinite(finite)) or np.any(finite != np.floor(finite)) or (
            finite.size and np.abs(finite).max() >= 2**53):
        return column
    return pd.Series(pd.array(values, dtype="Int64"), index=column.index, name=column.name)


@cache
def category_values() -> dict[str, frozenset[str]]:
    """Column -> its category strings: the demographic items of the item bank, and region."""
    from questionnaires import load_item_bank, province_regions

    regions = province_regions()
    values: dict[str, frozenset[str]] = {"region": frozenset(regions.values())}
    for item in load_item_bank().values():
        if item.kind == "demographic":
            values[item.code] = frozenset(o.value for o in item.options) or frozenset(regions)
    return values
