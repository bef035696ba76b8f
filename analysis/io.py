"""Reading the responses table (CSV or Parquet export) and margins files; writing results."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.margins import Margins

PARQUET_SUFFIXES = (".parquet", ".pq")


def _unreadable(path, kind: str, exc: BaseException) -> AnalysisInputError:
    """The error for a file the parser refuses, its message on one line (the command line
    prints exactly one)."""
    return AnalysisInputError(f"{path}: not a readable {kind} file ({' '.join(str(exc).split())})")


def _is_parquet(path: Path) -> bool:
    return path.suffix.lower() in PARQUET_SUFFIXES


def read_responses(path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read the exported responses table (``.csv`` or ``.parquet``) into a DataFrame.

    Empty cells become missing values. ``columns`` restricts the columns read (faster for wide
    exports); an unknown column is an :class:`AnalysisInputError` naming it.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    if path.is_file() and path.stat().st_size == 0:
        raise AnalysisInputError(f"{path}: the file is empty")
    if _is_parquet(path):
        import pyarrow.parquet as pq

        try:
            schema = pq.read_schema(path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise _unreadable(path, "Parquet", exc) from None
        if columns is not None:
            _check_columns(path, columns, schema.names)
        data = pd.read_parquet(path, columns=columns)
    else:
        try:
            header = pd.read_csv(path, nrows=0)
        except pd.errors.EmptyDataError:
            raise AnalysisInputError(f"{path}: the file is empty") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise _unreadable(path, "CSV", exc) from None
        if columns is not None:
            _check_columns(path, columns, list(header.columns))
        try:
            data = pd.read_csv(path, usecols=columns, engine="pyarrow")
        except Exception:
            # the pyarrow parser refuses some files the C parser reads (ragged rows); its
            # messages are worse, so fall back
            try:
                data = pd.read_csv(path, usecols=columns, low_memory=False)
            except (pd.errors.ParserError, UnicodeDecodeError) as exc:
                raise _unreadable(path, "CSV", exc) from None
    if len(data) == 0:
        raise AnalysisInputError(f"{path}: the file has a header but no rows")
    return data


def response_columns(path) -> list[str]:
    """The column names of a responses table, without reading its rows."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    if path.is_file() and path.stat().st_size == 0:
        raise AnalysisInputError(f"{path}: the file is empty")
    if _is_parquet(path):
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except Exception as exc:
            raise _unreadable(path, "Parquet", exc) from None
    try:
        return list(pd.read_csv(path, nrows=0).columns)
    except pd.errors.EmptyDataError:
        raise AnalysisInputError(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise _unreadable(path, "CSV", exc) from None


def _check_columns(path, wanted, present) -> None:
    have = set(present)
    for col in wanted:
        if col not in have:
            raise AnalysisInputError(f"{path}: unknown column '{col}'")


def read_margins(path) -> Margins:
    """Read a margins CSV (``variable,category,target`` and optionally ``wave``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise AnalysisInputError(f"{path}: the margins file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise _unreadable(path, "CSV", exc) from None
    if "wave" in table.columns:
        table["wave"] = table["wave"].replace("", None)
    return Margins(table, source=str(path))


def write_table(data: pd.DataFrame, path) -> None:
    """Write ``data`` as Parquet (``.parquet``/``.pq``) or CSV (anything else)."""
    path = Path(path)
    if _is_parquet(path):
        data.to_parquet(path, index=False)
    else:
        data.to_csv(path, index=False)


def progress(items, desc: str, unit: str = "it"):
    """``items`` wrapped in a tqdm progress bar when stderr is a terminal (and as is otherwise,
    so logs and pipes stay clean)."""
    import sys

    if not sys.stderr.isatty():
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit=unit, file=sys.stderr, leave=False)
