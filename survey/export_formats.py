"""One writer per export file format, chosen by the file name's ending from :data:`WRITERS`.

A writer gets the table's columns and their codebook types (:class:`TableSpec`), receives the
rows chunk by chunk (``write``, a ``pyarrow.Table`` with the Parquet file's column types), and
finishes the file in ``close``.  The export writes to a
temporary name and renames only after ``close`` succeeded, so no format ever leaves a half
written file.  Adding a format is one class here and one line in :data:`WRITERS`.

Memory: CSV, Parquet and XLSX stream (each chunk is written and dropped; openpyxl's write-only
workbook spools rows to a temporary file).  pyreadstat writes a SAV or DTA file from one whole
data frame and has no append mode, so those writers keep the wave's table in memory (as compact
numpy columns, about 8 bytes per answer cell): export CSV or Parquet for very large waves.

CSV and Parquet work on the columns (no Python object per cell); XLSX, SAV and DTA take rows of
Python values (:func:`table_rows`: ``str`` for text and categories, ``int`` for answer codes,
flags and the wave, ``float`` for numbers, naive-UTC ``datetime`` for timestamps, ``None`` for
empty), so they cost a Python object per cell.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from questionnaires import LANGUAGES

from .spreadsheet import neutralise, neutralise_all, open_csv

STRING_TYPES = ("text", "category")


class ExportFormatError(Exception):
    """The table cannot be written in this format (e.g. too many rows for a spreadsheet)."""


@dataclass
class TableSpec:
    """What a writer needs to know about the table besides its rows."""

    columns: list[str]
    codebook: list[dict[str, str]]
    fieldwork: list[dict[str, str]]
    language: str = "zh"
    bom: bool = False
    types: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.types = {r["item"]: r["type"] for r in self.codebook}
        if self.language not in LANGUAGES:
            raise ExportFormatError(f"language must be zh or en, not {self.language!r}")


def iso_utc(moment: datetime | None) -> str:
    """Naive-UTC database time → ``2025-03-01T08:00:00.123Z`` (the export's text format)."""
    if moment is None:
        return ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def label_pairs(row: dict[str, str], language: str) -> list[tuple[str, str]]:
    """``'1=从不; 2=很少'`` → ``[('1', '从不'), ('2', '很少')]``."""
    labels = row[f"answer_labels_{language}"]
    return [tuple(part.split("=", 1)) for part in labels.split("; ")] if labels else []


class TableWriter:
    """Base of the writers: ``write(rows)`` per chunk, then ``close()``; ``notes`` are lines
    for the person running the export (labels shortened to a format's limit, ...)."""

    suffix: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, path: Path, spec: TableSpec) -> None:
        self.path = path
        self.spec = spec
        self.notes: list[str] = []

    def write(self, table) -> None:
        """One chunk of rows: a ``pyarrow.Table`` with the table's columns and types."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def discard(self) -> None:
        """Release open files after a failure (the caller deletes the temporary file)."""


class CsvTableWriter(TableWriter):
    """The CSV module's standard dialect (``\\r\\n``, minimal quoting), built column by column:
    every cell becomes its text in an Arrow string array and a chunk's rows are joined in C.
    Cells are written as Python's csv module writes the same values (``str`` of an int or a
    float, ISO times, text neutralised and quoted when it holds ``,``, ``"``, CR or LF)."""

    suffix = ".csv"
    description = "UTF-8 CSV (--bom adds a byte-order mark for Excel on Chinese Windows)"

    def __init__(self, path: Path, spec: TableSpec) -> None:
        super().__init__(path, spec)
        self.fh = open_csv(path, bom=spec.bom)
        csv.writer(self.fh).writerow(spec.columns)

    def write(self, table) -> None:
        import pyarrow.compute as pc

        fields = [pc.fill_null(CSV_CELLS[self.spec.types[column]](table[column]), "")
                  for column in self.spec.columns]
        rows = pc.binary_join_element_wise(*fields, ",")
        self.fh.write("\r\n".join(rows.to_pylist()) + "\r\n")

    def close(self) -> None:
        self.fh.close()

    def discard(self) -> None:
        self.fh.close()


def _csv_text(column):
    import pyarrow.compute as pc

    text = neutralise_column(column)
    needs_quotes = pc.match_substring_regex(text, '[,"\r\n]')
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
    return pc.if_else(needs_quotes, quoted, text)


def _csv_time(column):
    import pyarrow as pa
    import pyarrow.compute as pc

    # the values are UTC; a naive timestamp[ms] casts to "2026-03-01 08:41:00.000" (with the
    # milliseconds), four times faster than strftime
    text = pc.cast(column.cast(pa.timestamp("ms")), pa.string())
    return pc.binary_join_element_wise(pc.replace_substring(text, " ", "T", max_replacements=1),
                                       "Z", "")


def _csv_number(column):
    import pyarrow as pa

    # Python's shortest round-trip form, as the csv module writes a float (754.0, 12.5)
    return pa.array([None if v is None else repr(v) for v in column.to_pylist()],
                    type=pa.string())


def _csv_integer(column):
    import pyarrow as pa
    import pyarrow.compute as pc

    return pc.cast(column, pa.string())


CSV_CELLS = {"text": _csv_text, "category": _csv_text, "timestamp": _csv_time,
             "number": _csv_number, "integer": _csv_integer, "flag": _csv_integer}


def neutralise_column(column):
    """:func:`neutralise` over an Arrow string column: the few cells that start like a formula
    go through the function itself, so the rule has one definition."""
    import pyarrow as pa
    import pyarrow.compute as pc

    starts = pc.fill_null(pc.match_substring_regex(column, "^[=+\\-@\t\r]"), False)
    if not pc.any(starts).as_py():
        return column
    values = column.to_numpy(zero_copy_only=False)
    chosen = starts.to_numpy(zero_copy_only=False)
    values[chosen] = [neutralise(v) for v in values[chosen]]
    return pa.array(values, type=pa.string())


def table_rows(table) -> list[dict]:
    """A chunk as rows of Python values (for the writers that take rows): timestamps naive
    UTC ``datetime`` as the database gives them."""
    import pyarrow as pa

    naive = {name: table[name].cast(pa.timestamp("ms")) for name, field_ in
             zip(table.column_names, table.schema, strict=True)
             if pa.types.is_timestamp(field_.type)}
    for name, column in naive.items():
        table = table.set_column(table.column_names.index(name), name, column)
    return table.to_pylist()


class ParquetTableWriter(TableWriter):
    """Typed columns; the codebook and the fieldwork summary in the schema metadata
    (``ten_norms.codebook``, ``ten_norms.fieldwork``: JSON, values as in the CSVs but not
    neutralised, since Parquet is never opened as a spreadsheet)."""

    suffix = ".parquet"
    description = "Apache Parquet with typed columns and the codebook in its metadata"

    def __init__(self, path: Path, spec: TableSpec) -> None:
        import pyarrow.parquet as pq

        super().__init__(path, spec)
        self.schema = parquet_schema(spec)
        self.writer = pq.ParquetWriter(path, self.schema)

    def write(self, table) -> None:
        import pyarrow as pa

        self.writer.write_table(pa.Table.from_arrays(table.columns, schema=self.schema))

    def close(self) -> None:
        self.writer.close()

    def discard(self) -> None:
        self.writer.close()


def parquet_schema(spec: TableSpec):
    """The table's Arrow schema with the codebook and fieldwork summary as metadata."""
    import pyarrow as pa

    from response_table.columns import ARROW_TYPES

    metadata = {
        "ten_norms.codebook": json.dumps(spec.codebook, ensure_ascii=False),
        "ten_norms.fieldwork": json.dumps(spec.fieldwork, ensure_ascii=False),
    }
    return pa.schema([pa.field(c, ARROW_TYPES[spec.types[c]]) for c in spec.columns],
                     metadata=metadata)


class PartitionedParquetWriter(TableWriter):
    """A folder of Parquet files, one per value of a category column, in the Hive layout
    (``province=110000/part-0.parquet``; an empty value is ``__HIVE_DEFAULT_PARTITION__``) that
    pyarrow, Dask, Spark and DuckDB read as one data set.  Every file is a complete export file
    of its rows: all columns (the partition column included), the same types and the codebook
    and fieldwork metadata, so each one also reads on its own.  Without a column the folder
    holds one ``part-0.parquet``.

    Rows are buffered per value and written in row groups of at least ROW_GROUP_ROWS, so a
    wave spread over 31 provinces does not become thousands of tiny row groups; all buffers
    together stay under BUFFER_ROWS rows (the largest is flushed first)."""

    description = "a folder of Parquet files, one per value of --partition (Hive layout)"
    ROW_GROUP_ROWS = 50_000
    BUFFER_ROWS = 100_000
    NULL_VALUE = "__HIVE_DEFAULT_PARTITION__"

    def __init__(self, path: Path, spec: TableSpec, column: str | None) -> None:
        super().__init__(path, spec)
        self.schema = parquet_schema(spec)
        self.column = column
        self.writers: dict = {}
        self.buffers: dict[str | None, list] = {}
        path.mkdir()

    def _folder(self, value: str | None) -> Path:
        from urllib.parse import quote

        if self.column is None:
            return self.path
        text = self.NULL_VALUE if value is None else quote(value, safe="")
        return self.path / f"{self.column}={text}"

    def write(self, table) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        table = pa.Table.from_arrays(table.columns, schema=self.schema)
        if self.column is None:
            self._buffer(None, table)
        else:
            # one stable sort by the partition value (rows keep their id order within each
            # value), then a copy of each value's rows: a slice of the whole sorted batch
            # would keep all of it alive while a small province's buffer fills
            order = pc.sort_indices(table[self.column])
            start = 0
            for value, run in itertools.groupby(table[self.column].take(order).to_pylist()):
                length = sum(1 for _ in run)
                self._buffer(value, table.take(order.slice(start, length)))
                start += length
        while sum(t.num_rows for ts in self.buffers.values() for t in ts) > self.BUFFER_ROWS:
            self._flush(max(self.buffers, key=lambda v: sum(t.num_rows
                                                            for t in self.buffers[v])))

    def _buffer(self, value, table) -> None:
        self.buffers.setdefault(value, []).append(table)
        if sum(t.num_rows for t in self.buffers[value]) >= self.ROW_GROUP_ROWS:
            self._flush(value)

    def _flush(self, value) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        tables = self.buffers.pop(value, [])
        if not tables:
            return
        if value not in self.writers:
            folder = self._folder(value)
            folder.mkdir(exist_ok=True)
            self.writers[value] = pq.ParquetWriter(folder / "part-0.parquet", self.schema)
        self.writers[value].write_table(pa.concat_tables(tables))

    def close(self) -> None:
        import pyarrow.parquet as pq

        for value in list(self.buffers):
            self._flush(value)
        for writer in self.writers.values():
            writer.close()
        if not self.writers:  # no rows: one empty file keeps the columns and the codebook
            pq.write_table(self.schema.empty_table(), self.path / "part-0.parquet")

    def discard(self) -> None:
        for writer in self.writers.values():
            writer.close()


class XlsxTableWriter(TableWriter):
    """Sheet ``responses`` (header row first; timestamps are Excel date-time cells, UTC), then
    sheets ``codebook`` and ``fieldwork`` with the rows of the CSVs beside the file."""

    suffix = ".xlsx"
    description = "Excel workbook (openpyxl, streamed)"
    MAX_DATA_ROWS = 1_048_575  # Excel's 1,048,576 rows less the header

    def __init__(self, path: Path, spec: TableSpec) -> None:
        from openpyxl import Workbook

        super().__init__(path, spec)
        self.workbook = Workbook(write_only=True)  # rows go to a temporary file as appended
        self.sheet = self.workbook.create_sheet("responses")
        self.sheet.append(spec.columns)
        self.rows = 0
        self.timestamps = {c for c in spec.columns if spec.types[c] == "timestamp"}

    def write(self, table) -> None:
        from openpyxl.cell import WriteOnlyCell

        rows = table_rows(table)
        self.rows += len(rows)
        if self.rows > self.MAX_DATA_ROWS:
            raise ExportFormatError(
                f"an Excel sheet holds at most {self.MAX_DATA_ROWS:,} responses and this wave "
                f"has more; export .csv or .parquet instead")
        for row in rows:
            cells = neutralise_all(row[c] for c in self.spec.columns)
            for i, column in enumerate(self.spec.columns):
                if column in self.timestamps and cells[i] is not None:
                    cell = WriteOnlyCell(self.sheet, value=cells[i])
                    cell.number_format = "yyyy-mm-dd hh:mm:ss.000"
                    cells[i] = cell
            self.sheet.append(cells)

    def close(self) -> None:
        # the codebook and fieldwork summary travel inside the workbook as well
        from questionnaires import CODEBOOK_COLUMNS

        from .fieldwork import FIELDWORK_COLUMNS

        for title, header, rows in (("codebook", CODEBOOK_COLUMNS, self.spec.codebook),
                                    ("fieldwork", FIELDWORK_COLUMNS, self.spec.fieldwork)):
            sheet = self.workbook.create_sheet(title)
            sheet.append(header)
            for row in rows:
                sheet.append(neutralise_all(row[c] for c in header))
        self.workbook.save(self.path)

    def discard(self) -> None:
        # finish the sheet and delete openpyxl's spool file now rather than at exit
        with contextlib.suppress(Exception):
            self.sheet.close()
            self.sheet._writer.cleanup()


def fit_label(text: str, *, max_chars: int | None = None, max_bytes: int | None = None) -> str:
    """``text`` shortened to a file format's label limit, ending in '…' when cut (the full
    text is in the codebook)."""
    def fits(t: str) -> bool:
        return ((max_chars is None or len(t) <= max_chars)
                and (max_bytes is None or len(t.encode("utf-8")) <= max_bytes))

    if fits(text):
        return text
    cut = text
    while cut and not fits(cut + "…"):
        cut = cut[:-1]
    return cut + "…"


class _StatisticsTableWriter(TableWriter):
    """SPSS and Stata files via pyreadstat, with variable labels (the question or column
    description) and value labels (answer and flag labels) in the chosen language.

    pyreadstat writes a whole data frame at once, so the chunks are kept (as numpy columns)
    until ``close``.  Integer columns are stored as doubles (an empty cell is the system
    missing value); category columns stay the category strings every format carries.
    """

    VARIABLE_LABEL_LIMIT: ClassVar[dict[str, int]]
    LIMIT_TEXT: ClassVar[str]
    VALUE_LABEL_LIMIT: ClassVar[dict[str, int]]
    STRING_VALUE_LABELS: ClassVar[bool]
    NUMBER_FORMAT: ClassVar[str]

    def __init__(self, path: Path, spec: TableSpec) -> None:
        super().__init__(path, spec)
        self.chunks: list[dict] = []

    def _columns(self, rows: list[dict]) -> dict:
        import numpy as np
        import pandas as pd

        data = {}
        for column in self.spec.columns:
            values = [row[column] for row in rows]
            kind = self.spec.types[column]
            if kind in STRING_TYPES:
                data[column] = np.array([neutralise(v) if v else "" for v in values],
                                        dtype=object)
            elif kind == "timestamp":
                data[column] = pd.to_datetime(pd.Series(values, dtype=object)).to_numpy(
                    dtype="datetime64[ms]")
            else:
                data[column] = np.array([np.nan if v is None else v for v in values],
                                        dtype=float)
        return data

    def write(self, table) -> None:
        self.chunks.append(self._columns(table_rows(table)))

    def _frame(self):
        import numpy as np
        import pandas as pd

        chunks = self.chunks or [self._columns([])]
        return pd.DataFrame({c: np.concatenate([chunk[c] for chunk in chunks])
                             for c in self.spec.columns})

    def _labels(self) -> tuple[dict[str, str], dict[str, dict]]:
        language = self.spec.language
        variable_labels, value_labels, shortened = {}, {}, 0
        for row in self.spec.codebook:
            column = row["item"]
            text = row[f"text_{language}"]
            variable_labels[column] = fit_label(text, **self.VARIABLE_LABEL_LIMIT)
            shortened += variable_labels[column] != text
            kind = self.spec.types[column]
            if kind in STRING_TYPES and not self.STRING_VALUE_LABELS:
                continue
            pairs = label_pairs(row, language)
            if pairs:
                value_labels[column] = {
                    (k if kind in STRING_TYPES else float(k)):
                        fit_label(label, **self.VALUE_LABEL_LIMIT) for k, label in pairs}
        if shortened:
            self.notes.append(
                f"{shortened} variable labels were shortened to the {self.suffix} limit of "
                f"{self.LIMIT_TEXT}; the full texts are in the codebook")
        return variable_labels, value_labels

    def close(self) -> None:
        frame = self._frame()
        variable_labels, value_labels = self._labels()
        formats = {c: self.NUMBER_FORMAT for c in self.spec.columns
                   if self.spec.types[c] in ("integer", "flag")}
        self._write(frame, column_labels=variable_labels, variable_value_labels=value_labels,
                    variable_format=formats)

    def _write(self, frame, **labels) -> None:
        raise NotImplementedError


class SavTableWriter(_StatisticsTableWriter):
    suffix = ".sav"
    description = "SPSS with variable and value labels (pyreadstat)"
    VARIABLE_LABEL_LIMIT = {"max_bytes": 256}  # readstat cuts longer labels silently
    LIMIT_TEXT = "256 bytes (85 Chinese characters)"
    VALUE_LABEL_LIMIT = {"max_bytes": 120}
    STRING_VALUE_LABELS = True
    NUMBER_FORMAT = "F8.0"

    def _write(self, frame, **labels) -> None:
        import pyreadstat

        pyreadstat.write_sav(frame, str(self.path), **labels)


class DtaTableWriter(_StatisticsTableWriter):
    """Stata 14+ (.dta 118, UTF-8).  Stata labels only numeric values, so category columns
    carry their values without value labels (their labels are in the codebook)."""

    suffix = ".dta"
    description = "Stata 14+ with variable and value labels (pyreadstat)"
    VARIABLE_LABEL_LIMIT = {"max_chars": 80}  # longer ones make readstat refuse the file
    LIMIT_TEXT = "80 characters"
    VALUE_LABEL_LIMIT = {"max_chars": 32_000}
    STRING_VALUE_LABELS = False
    NUMBER_FORMAT = "%8.0g"

    def _write(self, frame, **labels) -> None:
        import pyreadstat

        pyreadstat.write_dta(frame, str(self.path), version=15, **labels)


WRITERS: dict[str, type[TableWriter]] = {
    ".csv": CsvTableWriter,
    ".parquet": ParquetTableWriter,
    ".sav": SavTableWriter,
    ".dta": DtaTableWriter,
    ".xlsx": XlsxTableWriter,
}
