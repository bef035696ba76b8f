"""The responses table (docs/architecture.md §2): one row per completed response of a wave,
written as CSV, Parquet, SPSS, Stata or Excel (``survey.export_formats.WRITERS``), with
``X.codebook.csv`` and ``X.fieldwork.csv`` beside it.

Streams: the responses and their answers come from one ordered query read in chunks
(a server-side cursor on PostgreSQL) and reach the file writer chunk by chunk (how much a format
keeps in memory: survey/export_formats.py).  The quality flags (``flag_speeder``,
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

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select

from analysis.quality import FLAG_COLUMNS, flag_quality
from questionnaires import CODEBOOK_COLUMNS, codebook_rows, province_regions
from questionnaires import Wave as WaveDefinition
from questionnaires.presentation import order_cells, order_columns
from questionnaires.question_types import question_type

from .db import db
from .export_formats import WRITERS, ExportFormatError, TableSpec, iso_utc
from .fieldwork import FIELDWORK_COLUMNS, fieldwork_rows
from .models import Answer, Questionnaire, Response, Wave, of_organisation, to_minute
from .spreadsheet import write_text_csv

CHUNK_ROWS = 20_000

__all__ = ["WRITERS", "ExportError", "ExportResult", "export_responses", "iso_utc"]


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


class _Layout:
    """Which columns the wave's table has (its codebook rows, in order) and how an answer code
    becomes a cell."""

    def __init__(self, wave: WaveDefinition):
        self.wave = wave
        self.codebook = codebook_rows(wave)
        self.columns = [r["item"] for r in self.codebook]
        self.types = {r["item"]: r["type"] for r in self.codebook}
        self.questions = [(item, question_type(item)) for item in wave.items.values()]
        self.demographic_codes = [i.code for i in wave.items.values() if i.kind == "demographic"]
        # the quality rules read the answer codes of choice items and only whether the other
        # questions were answered
        self.choice_codes = [i.code for i, kind in self.questions
                             if kind.choice and i.kind != "demographic"]
        self.category_columns = [c for c in self.columns if self.types[c] == "category"]
        if tuple(c for c in self.columns if self.types[c] == "flag") != FLAG_COLUMNS:
            raise ExportError("the codebook's flag columns differ from analysis.quality's")
        self.regions = province_regions()  # once: a lookup per row re-read the file's path
        self.orders = order_columns(wave)  # randomised pages and options: the order shown
        self.median_duration: float | None = None

    def row(self, public_id, started_at, submitted_at, duration_s, answers: dict[str, int],
            seed: int | None = None) -> dict:
        # the minute only, even for a row stored before times were cut at completion
        started_at, submitted_at = to_minute(started_at), to_minute(submitted_at)
        row = {"response_id": public_id, "wave": self.wave.year}
        for column in self.category_columns:
            row[column] = None
        answered = row["_answered"] = set()
        for item, kind in self.questions:
            value = answers.get(item.code)
            # "not applicable" (9) is an answer and is exported as its code (docs/web.md)
            row.update(kind.export_cells(item, value))
            if kind.answered(value):
                answered.add(item.code)
        if row.get("province") is not None:
            # a province without a region mapping (another province list) leaves region empty
            row["region"] = self.regions.get(row["province"])
        if self.orders:
            row.update(order_cells(self.orders, seed))
        row["started_at"] = started_at
        row["submitted_at"] = submitted_at
        row["duration_s"] = None if duration_s is None else float(duration_s)
        return row

    def add_flags(self, rows: list[dict]) -> None:
        """Set the quality-flag cells of a chunk of rows (in place)."""
        if not rows:
            return
        columns = {c: np.array([np.nan if r[c] is None else r[c] for r in rows], dtype=float)
                   for c in (*self.choice_codes, "duration_s")}
        for item, _ in self.questions:  # answered or not, for the speeder floor
            if item.code not in columns:
                columns[item.code] = np.array([1.0 if item.code in r["_answered"] else np.nan
                                               for r in rows])
        flags = flag_quality(pd.DataFrame(columns), self.wave,
                             median_duration=self.median_duration)
        for column in FLAG_COLUMNS:
            for row, value in zip(rows, flags[column].tolist(), strict=True):
                row[column] = value


def _median_duration(wave_id: int) -> float | None:
    """Median ``duration_s`` of the wave's completed responses, as the table will carry it."""
    query = select(Response.duration_s).where(
        Response.wave_id == wave_id, Response.status == "complete",
        Response.duration_s.is_not(None))
    with db.engine.connect() as connection:
        result = connection.execution_options(yield_per=CHUNK_ROWS).execute(query)
        values = np.fromiter((d for (d,) in result), dtype=float)
    return float(np.median(values)) if len(values) else None


def _rows(layout: _Layout, records) -> Iterator[list[dict]]:
    """The table's rows, flagged, in chunks of at most CHUNK_ROWS."""
    chunk: list[dict] = []
    for public_id, started_at, submitted_at, duration_s, seed, answers in records:
        chunk.append(layout.row(public_id, started_at, submitted_at, duration_s, answers, seed))
        if len(chunk) == CHUNK_ROWS:
            layout.add_flags(chunk)
            yield chunk
            chunk = []
    layout.add_flags(chunk)
    yield chunk


def _wave_definition(year: int, organisation: str | None) -> tuple[int, WaveDefinition]:
    row = db.session.execute(
        select(Wave.id, Questionnaire.definition)
        .outerjoin(Questionnaire, Questionnaire.wave_id == Wave.id)
        .where(of_organisation(year, organisation))
    ).first()
    if row is None:
        raise ExportError(f"there is no wave {year}; load its questionnaire first")
    if row.definition is None:
        raise ExportError(f"wave {year} has no questionnaire loaded")
    return row.id, WaveDefinition.from_dict(json.loads(row.definition))


def _completed(wave_id: int) -> Iterator[tuple]:
    """(public_id, started_at, submitted_at, duration_s, presentation seed, answers) per
    completed response, in id order."""
    query = (
        select(Response.id, Response.public_id, Response.started_at, Response.submitted_at,
               Response.duration_s, Response.presentation_seed, Answer.item, Answer.code,
               Answer.value)
        .outerjoin(Answer, Answer.response_id == Response.id)
        .where(Response.wave_id == wave_id, Response.status == "complete")
        .order_by(Response.id)
    )
    with db.engine.connect() as connection:
        result = connection.execution_options(yield_per=CHUNK_ROWS).execute(query)
        current = None
        answers: dict[str, int] = {}
        for (rid, public_id, started_at, submitted_at, duration_s, seed, item, code,
             value) in result:
            if current is None or rid != current[0]:
                if current is not None:
                    yield (*current[1:], answers)
                current = (rid, public_id, started_at, submitted_at, duration_s, seed)
                answers = {}
            if item is not None:  # an answer is an int (code) or a str (value)
                answers[item] = code if code is not None else value
        if current is not None:
            yield (*current[1:], answers)


def _write_table(path: Path, spec: TableSpec, layout: _Layout, records) -> tuple[int, list]:
    writer = WRITERS[path.suffix.lower()](path, spec)
    n = 0
    try:
        for chunk in _rows(layout, records):
            if chunk:
                writer.write(chunk)
                n += len(chunk)
        writer.close()
    except BaseException:
        writer.discard()
        raise
    return n, writer.notes


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.tmp{path.suffix}")


def export_responses(year: int, out: str | os.PathLike, *, language: str = "zh",
                     bom: bool = False, organisation: str | None = None) -> ExportResult:
    """Write wave ``year``'s completed responses to ``out`` (its ending picks the format, see
    :data:`WRITERS`), with the codebook and the fieldwork summary beside it.  ``language``
    (zh/en) is the language of the SPSS/Stata labels; ``bom`` starts every CSV with a UTF-8
    byte-order mark; ``organisation`` is the code of the wave's organisation (None: the
    default one).  Needs an app context.  Returns the paths and the number of rows."""
    out = Path(out)
    if out.suffix.lower() not in WRITERS:
        endings = ", ".join(WRITERS)
        raise ExportError(f"{out}: the file name must end in one of {endings}")
    if not out.parent.is_dir():
        raise ExportError(f"{out}: folder {out.parent} does not exist")
    wave_id, wave = _wave_definition(year, organisation)
    layout = _Layout(wave)
    layout.median_duration = _median_duration(wave_id)
    fieldwork = fieldwork_rows(year, organisation)
    try:
        spec = TableSpec(columns=layout.columns, codebook=layout.codebook, fieldwork=fieldwork,
                         language=language, bom=bom)
    except ExportFormatError as error:
        raise ExportError(str(error)) from None
    targets = [codebook_path_for(out), fieldwork_path_for(out), out]  # the table last
    temporary = {target: _temporary(target) for target in targets}
    try:
        write_text_csv(temporary[targets[0]], CODEBOOK_COLUMNS, layout.codebook, bom=bom)
        write_text_csv(temporary[targets[1]], FIELDWORK_COLUMNS, fieldwork, bom=bom)
        rows, notes = _write_table(temporary[out], spec, layout, _completed(wave_id))
        for target in targets:
            os.replace(temporary[target], target)
    except ExportFormatError as error:
        raise ExportError(f"{out}: {error}") from None
    finally:
        for leftover in temporary.values():
            if leftover.exists():
                leftover.unlink()
    return ExportResult(path=out, codebook_path=targets[0], fieldwork_path=targets[1],
                        rows=rows, notes=notes)
