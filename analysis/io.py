"""Reading the responses table (CSV, Parquet, SPSS or Stata export) and margins files; writing
results."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import statfiles
from analysis.design_columns import row_name
from analysis.errors import AnalysisInputError, bounded
from analysis.margins import Margins

PARQUET_SUFFIXES = (".parquet", ".pq")


def _unreadable(path, kind: str, exc: BaseException) -> AnalysisInputError:
    """The error for a file the parser refuses, its message on one line (the command line
    prints exactly one)."""
    return AnalysisInputError(f"{path}: not a readable {kind} file ({' '.join(str(exc).split())})")


def _readable_path(path) -> Path:
    """``path`` as a Path, after the checks every reader makes: it exists and is not empty."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    if path.is_file() and path.stat().st_size == 0:
        raise AnalysisInputError(f"{path}: the file is empty")
    return path


def read_responses(path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read the exported responses table (``.csv``, ``.parquet``, SPSS ``.sav`` or Stata
    ``.dta``) into a DataFrame.

    Empty cells become missing values. ``columns`` restricts the columns read (faster for wide
    exports); an unknown column is an :class:`AnalysisInputError` naming it.
    """
    path = _readable_path(path)
    data = _format_of(path).read(path, columns)
    if len(data) == 0:
        raise AnalysisInputError(f"{path}: the file has a header but no rows")
    return data


def response_columns(path) -> list[str]:
    """The column names of a responses table, without reading its rows."""
    path = _readable_path(path)
    return _format_of(path).columns(path)


def _read_parquet_file(path: Path, columns: list[str] | None) -> pd.DataFrame:
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except Exception as exc:  # pyarrow raises several types for a bad file
        raise _unreadable(path, "Parquet", exc) from None
    if columns is not None:
        _check_columns(path, columns, schema.names)
    try:
        data = _read_parquet(path, schema, columns)
    except Exception as exc:  # a damaged file can pass read_schema and fail here
        raise _unreadable(path, "Parquet", exc) from None
    return _decode_byte_columns(path, data) if _has_undecoded_text(data) else data


def _decode_byte_columns(path: Path, data: pd.DataFrame) -> pd.DataFrame:
    """Binary columns (text stored as bytes, e.g. a GBK CSV converted as it was) decoded as
    UTF-8, else GB18030; a value neither decodes is refused naming its column and row."""
    data = data.copy(deep=False)
    for name in data.columns:
        column = data[name]
        if column.dtype != object or not isinstance(column.loc[column.first_valid_index()],
                                                    bytes):
            continue
        for encoding in ("utf-8", FALLBACK_ENCODING):
            try:
                data[name] = column.str.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            i = _first_undecodable_value(column)
            raise AnalysisInputError(
                f"{path}: column '{name}', {row_name(data, i)}: text that is not UTF-8 or "
                f"GB18030/GBK ({bounded(column.iloc[i])})")
    return data


def _first_undecodable_value(column: pd.Series) -> int:
    for i, value in enumerate(column):
        if isinstance(value, bytes):
            try:
                value.decode(FALLBACK_ENCODING)
            except UnicodeDecodeError:
                return i
    return 0


def _parquet_columns(path: Path) -> list[str]:
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except Exception as exc:
        raise _unreadable(path, "Parquet", exc) from None


# a string column whose dictionary page is at most this size was written with every page
# dictionary-encoded (writers fall back to plain pages only when the dictionary outgrows its
# limit, 1 MiB in Arrow), so reading it as a dictionary skips building a string per row
_SMALL_DICTIONARY_PAGE = 256 << 10


def _read_parquet(path: Path, schema, columns: list[str] | None) -> pd.DataFrame:
    """``pd.read_parquet(path, columns=columns)``, the same frame, about twice as fast.

    pandas' own conversion spends most of its time turning Arrow integer columns into nullable
    ``Int64`` (the export's item columns) and decoding low-cardinality strings page by page.
    Here strings with a small dictionary are read as dictionaries and decoded once, Arrow-side
    (in a second thread, while the other columns are read), and the ``Int64`` columns are
    built straight from the Arrow data and validity buffers.
    """
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa
    import pyarrow.parquet as pq

    names = list(schema.names) if columns is None else list(columns)
    meta = pq.ParquetFile(path).metadata
    leaf = {name: i for i, name in enumerate(meta.schema.names)}
    index = set(_pandas_index_columns(schema))
    small = [name for name in names if name in leaf and name not in index
             and _is_string(schema.field(name).type) and _small_dictionary(meta, leaf[name])]
    if small:
        with ThreadPoolExecutor(max_workers=1) as pool:
            decoded = pool.submit(_read_decoded_strings, path, small, schema)
            others = [name for name in names if name not in small]
            table = pq.read_table(path, columns=others, memory_map=True,
                                  use_pandas_metadata=True)
            strings = decoded.result()
        order = names + [name for name in table.column_names if name not in names]
        arrays = [strings[name] if name in strings else table.column(name) for name in order]
        fields = [schema.field(name) if name in strings else table.schema.field(name)
                  for name in order]
        table = pa.Table.from_arrays(arrays, schema=pa.schema(fields,
                                                              metadata=table.schema.metadata))
    else:
        table = pq.read_table(path, columns=columns, memory_map=True, use_pandas_metadata=True)
    nullable = _pandas_nullable_int_columns(schema)
    fast = [name for name in table.column_names
            if name in nullable and pa.types.is_int64(table.schema.field(name).type)]
    rest = table.drop_columns(fast) if fast else table
    data = _arrow_to_pandas(rest)
    if fast:
        extra = pd.DataFrame({name: _int64_array(table.column(name)) for name in fast},
                             index=data.index, copy=False)
        order = [name for name in table.column_names if name in data.columns or name in extra]
        data = pd.concat([data, extra], axis=1)[order]
    attrs = (table.schema.metadata or {}).get(b"PANDAS_ATTRS")
    if attrs is not None:
        import json

        data.attrs = json.loads(attrs)
    return data


def _read_decoded_strings(path: Path, names: list[str], schema) -> dict:
    """The string columns ``names`` read as dictionaries and decoded to the file's type."""
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=names, read_dictionary=names, memory_map=True,
                          use_pandas_metadata=False)
    return {name: table.column(name).cast(schema.field(name).type) for name in names}


def _pandas_index_columns(schema) -> list[str]:
    """The columns pandas stored an index in (they are read along with any selection)."""
    try:
        meta = schema.pandas_metadata or {}
    except Exception:
        return []
    return [c for c in meta.get("index_columns", []) if isinstance(c, str)]


def _is_string(dtype) -> bool:
    import pyarrow as pa

    return pa.types.is_string(dtype) or pa.types.is_large_string(dtype)


def _small_dictionary(meta, i: int) -> bool:
    """Whether column ``i`` is dictionary-encoded with a small dictionary in every row group."""
    for r in range(meta.num_row_groups):
        chunk = meta.row_group(r).column(i)
        if not chunk.has_dictionary_page or chunk.dictionary_page_offset is None:
            return False
        if chunk.data_page_offset - chunk.dictionary_page_offset > _SMALL_DICTIONARY_PAGE:
            return False
    return meta.num_row_groups > 0


def _pandas_nullable_int_columns(schema) -> set[str]:
    """Columns pandas wrote as nullable ``Int64`` (from the file's pandas metadata)."""
    try:
        meta = schema.pandas_metadata or {}
    except Exception:  # malformed metadata: let pandas decide as it would
        return set()
    return {c.get("field_name", c.get("name")) for c in meta.get("columns", [])
            if c.get("numpy_type") == "Int64"}


def _arrow_to_pandas(table) -> pd.DataFrame:
    """The conversion ``pd.read_parquet`` applies: text as the string dtype pandas infers for
    text (``str`` in pandas 3; pyarrow before 19 would give ``object``)."""
    import pyarrow as pa

    text = pd.Series(["text"]).dtype
    if not pd.api.types.is_extension_array_dtype(text):
        return table.to_pandas()
    return table.to_pandas(types_mapper={pa.string(): text, pa.large_string(): text}.get)


def _int64_array(column) -> pd.arrays.IntegerArray:
    """A nullable ``Int64`` array from an Arrow int64 column, as ``pd.Int64Dtype().__from_arrow__``
    builds it but without copying the values: the Parquet reader decodes a column into one
    buffer that its chunks slice, so the values are a (writable) view of that buffer, which
    the array then owns, and the mask comes from the validity bitmap."""
    import numpy as np

    chunks = column.chunks
    if not _contiguous_slices(chunks):
        chunks = [column.combine_chunks()]
    first, n = chunks[0], len(column)
    off = first.offset if chunks else 0
    validity, values = (first.buffers()[:2] if chunks else (None, None))
    if values is None or not values.is_mutable:
        return pd.array(column.to_pandas(), dtype="Int64")  # not decoded by us: convert
    data = np.frombuffer(values, dtype=np.int64, count=off + n)[off:]
    if validity is None or column.null_count == 0:
        mask = np.zeros(n, dtype=bool)
    else:
        bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), count=off + n,
                             bitorder="little")[off:]
        mask = np.logical_not(bits.view(bool))
    return pd.arrays.IntegerArray(data, mask)


def _contiguous_slices(chunks) -> bool:
    """Whether the Arrow chunks are consecutive slices of the same value and validity buffers
    (how the Parquet reader returns a column: one buffer, batches as slices)."""
    if not chunks:
        return False
    bufs = [c.buffers()[:2] for c in chunks]
    v0, d0 = bufs[0]
    start = chunks[0].offset
    for c, (v, d) in zip(chunks, bufs, strict=True):
        if d is None or d0 is None or d.address != d0.address or c.offset != start:
            return False
        if (v is None) != (v0 is None) or (v is not None and v.address != v0.address):
            return False
        start += len(c)
    return True


def _check_columns(path, wanted, present) -> None:
    have = set(present)
    for col in wanted:
        if col not in have:
            raise AnalysisInputError(f"{path}: unknown column '{col}'")


# --------------------------------------------------------------------------- CSV text
# Excel on Chinese Windows saves "CSV" in the ANSI code page, GBK, which GB18030 extends; other
# tools write UTF-8, often with a byte-order mark. A file that is neither is refused.
FALLBACK_ENCODING = "gb18030"
_DECODE_CHUNK = 1 << 20


def _csv_header(path: Path) -> tuple[list[str], str]:
    """The column names of a CSV file and the encoding to read it with (``utf-8``, or
    GB18030 for a header that is not UTF-8)."""
    encoding = "utf-8"
    try:
        header = pd.read_csv(path, nrows=0)
    except UnicodeDecodeError:
        encoding = _text_encoding(path)
        header = _parse_csv(path, lambda: pd.read_csv(path, nrows=0, encoding=encoding))
    except pd.errors.EmptyDataError:
        raise AnalysisInputError(f"{path}: the file is empty") from None
    except pd.errors.ParserError as exc:
        raise _unreadable(path, "CSV", exc) from None
    return list(header.columns), encoding


def _read_csv(path: Path, columns: list[str] | None) -> pd.DataFrame:
    """A CSV responses table: Arrow's parser on UTF-8 (fast), decoding GB18030 when the file
    is not UTF-8; a row with more or fewer fields than the header is refused, naming it."""
    header, encoding = _csv_header(path)
    if columns is not None:
        _check_columns(path, columns, header)
    data = _read_csv_arrow(path, columns, encoding, len(header))
    if data is not None and encoding == "utf-8" and _has_undecoded_text(data):
        # Arrow keeps text that is not UTF-8 as bytes (b'\xb1\xb1'): decode the file instead
        encoding = _text_encoding(path)
        data = _read_csv_arrow(path, columns, encoding, len(header))
    if data is None:
        _refuse_ragged_rows(path, encoding, len(header))
        data = _parse_csv(path, lambda: pd.read_csv(path, usecols=columns, low_memory=False,
                                                    encoding=encoding))
    return data


def _read_csv_arrow(path: Path, columns: list[str] | None, encoding: str,
                    n_fields: int) -> pd.DataFrame | None:
    """Arrow's parser; None when it refuses the file for another reason than a ragged row
    (it refuses some files the C parser reads, with worse messages)."""
    try:
        return pd.read_csv(path, usecols=columns, engine="pyarrow", encoding=encoding)
    except pd.errors.ParserError as exc:
        if "Expected " in str(exc) and " columns, got " in str(exc):
            _refuse_ragged_rows(path, encoding, n_fields)
        return None
    except Exception:
        return None


def _parse_csv(path: Path, read):
    """``read()``, with the parser's errors as one-line :class:`AnalysisInputError`."""
    try:
        return read()
    except pd.errors.EmptyDataError:
        raise AnalysisInputError(f"{path}: the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise _unreadable(path, "CSV", exc) from None


def _has_undecoded_text(data: pd.DataFrame) -> bool:
    """Whether a column holds bytes (how Arrow's reader returns text that is not UTF-8)."""
    for position in (data.dtypes == np.dtype(object)).to_numpy().nonzero()[0]:
        column = data.iloc[:, position]
        first = column.first_valid_index()
        if first is not None and isinstance(column.loc[first], bytes):
            return True
    return False


def _text_encoding(path: Path) -> str:
    """``utf-8-sig`` when the file is UTF-8 (with or without a byte-order mark), else
    GB18030 when it decodes as such; otherwise an error naming the first byte that is not
    UTF-8 and its offset."""
    bad = _first_undecodable(path, "utf-8")
    if bad is None:
        return "utf-8-sig"
    if _first_undecodable(path, FALLBACK_ENCODING) is None:
        return FALLBACK_ENCODING
    offset, byte = bad
    raise AnalysisInputError(
        f"{path}: not UTF-8 or GB18030/GBK text (byte 0x{byte:02x} at offset {offset}); "
        "save the file as CSV UTF-8")


def _first_undecodable(path: Path, encoding: str) -> tuple[int, int] | None:
    """``(offset, byte)`` of the first byte ``encoding`` cannot decode, or None."""
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)()
    start = 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_DECODE_CHUNK)
            pending = _pending_bytes(decoder)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                data = pending + chunk
                return start - len(pending) + exc.start, data[exc.start]
            if not chunk:
                return None
            start += len(chunk)


def _pending_bytes(decoder) -> bytes:
    state = decoder.getstate()
    return state[0] if isinstance(state, tuple) and isinstance(state[0], bytes) else b""


def _refuse_ragged_rows(path: Path, encoding: str, n_fields: int) -> None:
    """Raise naming the first row whose number of fields differs from the header's: pandas'
    C parser pads a short row with missing values, so a lost comma would silently move
    answers into the wrong columns. Blank lines are skipped, as the readers skip them."""
    import csv

    # delimiters, quotes and line ends are ASCII in UTF-8 and GB18030 alike, so undecodable
    # bytes (replaced) cannot change the count
    with open(path, encoding=encoding, errors="replace", newline="") as f:
        reader = csv.reader(f)
        next(reader, None)
        row = 0
        for fields in reader:
            if not fields:
                continue
            row += 1
            if len(fields) != n_fields:
                raise AnalysisInputError(
                    f"{path}: not a readable CSV file: row {row} (line {reader.line_num}) has "
                    f"{len(fields)} field(s) but the header has {n_fields}")


# ------------------------------------------------------------------------------ formats
@dataclass(frozen=True)
class TableFormat:
    """How to read one kind of responses file: its rows, and only its column names."""

    read: Callable[[Path, list[str] | None], pd.DataFrame]
    columns: Callable[[Path], list[str]]


def _read_statistics(path: Path, columns: list[str] | None) -> pd.DataFrame:
    return statfiles.read_statistics_file(path, columns, _check_columns)


def _refuse_workbook(path: Path, columns=None):
    raise AnalysisInputError(f"{path}: spreadsheet workbooks are not read; save the sheet as "
                             "CSV UTF-8, or use the Parquet, SPSS or Stata export")


_WORKBOOK = TableFormat(_refuse_workbook, _refuse_workbook)
_PARQUET = TableFormat(_read_parquet_file, _parquet_columns)
_STATISTICS = TableFormat(_read_statistics, statfiles.statistics_columns)
_CSV = TableFormat(_read_csv, lambda path: _csv_header(path)[0])
# by file suffix; anything else is read as CSV
TABLE_FORMATS = {**dict.fromkeys(PARQUET_SUFFIXES, _PARQUET),
                 **dict.fromkeys(statfiles.FORMATS, _STATISTICS),
                 **dict.fromkeys((".xlsx", ".xls", ".xlsm", ".ods"), _WORKBOOK)}


def _format_of(path: Path) -> TableFormat:
    return TABLE_FORMATS.get(path.suffix.lower(), _CSV)


def read_margins(path) -> Margins:
    """Read a margins CSV (``variable,category,target`` and optionally ``wave``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", str(path))
    encoding = _text_encoding(path)  # a margins file is small: check all of it
    try:
        header = pd.read_csv(path, nrows=0, encoding=encoding)
    except pd.errors.EmptyDataError:
        raise AnalysisInputError(f"{path}: the margins file is empty") from None
    except pd.errors.ParserError as exc:
        raise _unreadable(path, "CSV", exc) from None
    _refuse_ragged_rows(path, encoding, len(header.columns))
    table = _parse_csv(path, lambda: pd.read_csv(path, dtype=str, keep_default_na=False,
                                                 encoding=encoding))
    if "wave" in table.columns:
        table["wave"] = table["wave"].replace("", None)
    return Margins(table, source=str(path))


def write_table(data: pd.DataFrame, path, labels=None) -> list[str]:
    """Write ``data`` as Parquet (``.parquet``/``.pq``), SPSS (``.sav``) or Stata (``.dta``,
    with ``labels``: :class:`analysis.writers.Labels`) or CSV (anything else); the notes the
    writer gives (:func:`analysis.writers.write_table`)."""
    from analysis.writers import write_table as write

    return write(data, path, labels)


def progress(items, desc: str, unit: str = "it"):
    """``items`` wrapped in a tqdm progress bar when stderr is a terminal (and as is otherwise,
    so logs and pipes stay clean)."""
    import sys

    if not sys.stderr.isatty():
        return items
    from tqdm import tqdm

    return tqdm(items, desc=desc, unit=unit, file=sys.stderr, leave=False)
