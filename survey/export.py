"""The responses table (docs/architecture.md §2): one row per completed response of a wave,
written as CSV, Parquet, SPSS, Stata or Excel (``survey.export_formats.WRITERS``), with
``X.codebook.csv`` and ``X.fieldwork.csv`` beside it.

Streams: the completed responses are read in batches of CHUNK_ROWS (keyset pagination on the
response id) with their answers, in bulk and pivoted with NumPy into Arrow columns, and each
batch reaches the file writer as a ``pyarrow.Table`` (how much a format keeps in memory:
survey/export_formats.py).  The reading, the pivot, the cells and the codebook are the
``response_table`` package's, which the analysis's database reader shares.  Memory stays that
of one batch whatever the wave's size.  The quality flags (``flag_speeder``,
``flag_straightliner``, ``flag_attention``) come from :func:`analysis.quality.flag_quality`, the
same rule the analysis applies; the speeder rule needs the wave's median duration, which a light
first query gives.  Every file is written under a temporary name and renamed at the end (the
codebook and fieldwork summary first, the table last), so a failed export never leaves a
half-written file behind.

Times: ``started_at`` and ``submitted_at`` carry the minute only (as stored, and as the consent
text says); ``duration_s`` is the whole seconds stored at submission from the exact start
(README.md, "Data protection").
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
from sqlalchemy import select

from questionnaires import CODEBOOK_COLUMNS
from questionnaires import Wave as WaveDefinition
from response_table import TableError
from response_table.columns import response_batches
from response_table.layout import Layout
from response_table.queries import median_duration as median_duration_of
from response_table.queries import tables, wave_definition

from .db import db
from .export_formats import (
    CSV_CELLS,
    WRITERS,
    ExportFormatError,
    PartitionedParquetWriter,
    TableSpec,
    iso_utc,
)
from .fieldwork import FIELDWORK_COLUMNS, fieldwork_rows
from .models import DEFAULT_ORGANISATION, Response
from .spreadsheet import write_text_csv

CHUNK_ROWS = 20_000

__all__ = ["WRITERS", "ExportError", "ExportResult", "ResponsePage", "export_responses",
           "iso_utc", "response_page"]


class ExportError(Exception):
    """A request the export cannot satisfy (unknown wave, unsupported file type)."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    codebook_path: Path
    fieldwork_path: Path
    rows: int
    notes: list[str] = field(default_factory=list)


def codebook_path_for(out: Path) -> Path:
    """``responses.csv`` → ``responses.codebook.csv`` (beside it)."""
    return out.with_name(out.stem + ".codebook.csv")


def fieldwork_path_for(out: Path) -> Path:
    """``responses.csv`` → ``responses.fieldwork.csv`` (beside it)."""
    return out.with_name(out.stem + ".fieldwork.csv")


def median_duration(wave_id: int) -> float | None:
    """Median ``duration_s`` of the wave's completed responses, as the table will carry it."""
    with db.engine.connect() as connection:
        return median_duration_of(connection, wave_id, CHUNK_ROWS)


def _wave_definition(year: int, organisation: str | None) -> tuple[int, WaveDefinition]:
    try:
        return wave_definition(db.session.connection(), year,
                               organisation or DEFAULT_ORGANISATION["code"])
    except TableError as error:
        raise ExportError(str(error)) from None


def _tables(layout: Layout, wave_id: int) -> Iterator[pa.Table]:
    """The table in chunks of at most CHUNK_ROWS responses (response_table.queries.tables)."""
    return tables(db.engine, layout, wave_id, CHUNK_ROWS)


@dataclass(frozen=True)
class ResponsePage:
    """One page of a wave's responses table (the API's ``/responses``): the export's columns
    and rows, the rows as JSON values (numbers and codes as they are, times as the CSV file
    writes them), and ``last_id``, the internal id of the last row, when more rows follow."""

    columns: list[str]
    rows: list[dict]
    last_id: int | None


def response_page(wave_id: int, wave: WaveDefinition, after: int, limit: int,
                  median_duration: float | None) -> ResponsePage:
    """At most ``limit`` completed responses of the wave, from the first internal id above
    ``after``: the export's batch reader, pivot and cells (one batch, read in one snapshot),
    flagged as the export flags them, against ``median_duration``, the median of the whole
    wave (:func:`median_duration`)."""
    layout = Layout(wave)
    layout.median_duration = median_duration
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            batches = response_batches(connection, wave_id, layout.items, limit, after)
            try:
                batch = next(batches, None)
            finally:
                batches.close()
            if batch is None:
                return ResponsePage(columns=layout.columns, rows=[], last_id=None)
            last = int(batch.responses["id"][-1].as_py())
            more = len(batch) == limit and connection.execute(
                select(Response.id).where(Response.wave_id == wave_id,
                                          Response.status == "complete", Response.id > last)
                .limit(1)).first() is not None
    table = layout.table(batch)
    for index, column in enumerate(layout.columns):
        if layout.types[column] == "timestamp":
            table = table.set_column(index, column, CSV_CELLS["timestamp"](table[column]))
    return ResponsePage(columns=layout.columns, rows=table.to_pylist(),
                        last_id=last if more else None)


def _write_table(writer, tables: Generator[pa.Table, None, None]) -> tuple[int, list]:
    n = 0
    try:
        for table in tables:
            writer.write(table)
            n += table.num_rows
        writer.close()
    except BaseException:
        writer.discard()
        raise
    finally:
        tables.close()  # stops the reader now, not when the generator is collected
    return n, writer.notes


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")


def _replace_folder(source: Path, target: Path) -> None:
    """Put the folder ``source`` where ``target`` is: an earlier export of the same wave is
    moved aside first and deleted only when the new one is in place."""
    previous = target.with_name(f".{target.name}.{os.getpid()}.old")
    if target.exists():
        os.replace(target, previous)
    os.replace(source, target)
    shutil.rmtree(previous, ignore_errors=True)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists():
        path.unlink()


def is_folder_target(out: str | os.PathLike) -> bool:
    """``--out DIR/`` (or an existing folder): a partitioned Parquet export."""
    text = os.fspath(out)
    return text.endswith(("/", os.sep)) or Path(text).is_dir()


def partition_folder(out: Path, year: int, organisation: str | None) -> Path:
    """``DIR/wave=YEAR`` for the default organisation, ``DIR/organisation=CODE/wave=YEAR`` for
    another: two organisations' waves of one year never replace each other in one folder."""
    if organisation is None or organisation == DEFAULT_ORGANISATION["code"]:
        return out / f"wave={year}"
    return out / f"organisation={organisation}" / f"wave={year}"


def export_responses(year: int, out: str | os.PathLike, *, language: str = "zh",
                     bom: bool = False, partition: str | None = None,
                     organisation: str | None = None) -> ExportResult:
    """Write wave ``year``'s completed responses to ``out`` (its ending picks the format, see
    :data:`WRITERS`), with the codebook and the fieldwork summary beside it.  ``language``
    (zh/en) is the language of the SPSS/Stata labels; ``bom`` starts every CSV with a UTF-8
    byte-order mark; ``organisation`` is the code of the wave's organisation (None: the
    default one).

    A folder ``out`` (``DIR/``, created if need be), or any ``partition``, writes partitioned
    Parquet instead:
    ``DIR/wave=YEAR/part-0.parquet``, or with ``partition`` (a category column such as
    ``province``) ``DIR/wave=YEAR/province=VALUE/part-0.parquet``, and the codebook and
    fieldwork summary once, as ``DIR/wave=YEAR/_codebook.csv`` and ``_fieldwork.csv``; another
    organisation's wave goes under ``DIR/organisation=CODE/`` (:func:`partition_folder`).

    Needs an app context.  Returns the paths and the number of rows."""
    folder = partition is not None or is_folder_target(out)
    out = Path(out)
    if folder:
        if not out.parent.is_dir():
            raise ExportError(f"{out}: folder {out.parent} does not exist")
    else:
        if out.suffix.lower() not in WRITERS:
            endings = ", ".join(WRITERS)
            raise ExportError(f"{out}: the file name must end in one of {endings} (or give a "
                              f"folder, DIR/, for partitioned Parquet)")
        if not out.parent.is_dir():
            raise ExportError(f"{out}: folder {out.parent} does not exist")
    wave_id, wave = _wave_definition(year, organisation)
    layout = Layout(wave)
    if partition is not None and layout.types.get(partition) != "category":
        choices = ", ".join(layout.category_columns)
        raise ExportError(f"--partition {partition}: not a category column of wave {year} "
                          f"(one of {choices})")
    layout.median_duration = median_duration(wave_id)
    fieldwork = fieldwork_rows(year, organisation)
    try:
        spec = TableSpec(columns=layout.columns, codebook=layout.codebook, fieldwork=fieldwork,
                         language=language, bom=bom)
    except ExportFormatError as error:
        raise ExportError(str(error)) from None
    if folder:
        out.mkdir(exist_ok=True)
        return _export_folder(partition_folder(out, year, organisation), spec, layout, wave_id,
                              partition)
    targets = [codebook_path_for(out), fieldwork_path_for(out), out]  # the table last
    temporary = {target: _temporary(target) for target in targets}
    try:
        write_text_csv(temporary[targets[0]], CODEBOOK_COLUMNS, layout.codebook, bom=bom)
        write_text_csv(temporary[targets[1]], FIELDWORK_COLUMNS, fieldwork, bom=bom)
        writer = WRITERS[out.suffix.lower()](temporary[out], spec)
        rows, notes = _write_table(writer, _tables(layout, wave_id))
        for target in targets:
            os.replace(temporary[target], target)
    except ExportFormatError as error:
        raise ExportError(f"{out}: {error}") from None
    finally:
        for leftover in temporary.values():
            _remove(leftover)
    return ExportResult(path=out, codebook_path=targets[0], fieldwork_path=targets[1],
                        rows=rows, notes=notes)


def _export_folder(folder: Path, spec: TableSpec, layout: Layout, wave_id: int,
                   partition: str | None) -> ExportResult:
    """``DIR/wave=YEAR/`` with its Parquet files and ``_codebook.csv``, ``_fieldwork.csv``
    (readers of partitioned data skip names that start with ``_``), built under a temporary
    name and put in place whole."""
    folder.parent.mkdir(exist_ok=True)  # DIR/organisation=CODE/ for another organisation
    temporary = _temporary(folder)
    try:
        writer = PartitionedParquetWriter(temporary, spec, partition)
        rows, notes = _write_table(writer, _tables(layout, wave_id))
        write_text_csv(temporary / "_codebook.csv", CODEBOOK_COLUMNS, spec.codebook,
                       bom=spec.bom)
        write_text_csv(temporary / "_fieldwork.csv", FIELDWORK_COLUMNS, spec.fieldwork,
                       bom=spec.bom)
        _replace_folder(temporary, folder)
    finally:
        _remove(temporary)
    return ExportResult(path=folder, codebook_path=folder / "_codebook.csv",
                        fieldwork_path=folder / "_fieldwork.csv", rows=rows, notes=notes)
