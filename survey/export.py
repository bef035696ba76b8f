"""The responses table (docs/architecture.md §2): one row per completed response of a wave.

Streams: the responses and their answers come from one ordered query read in chunks
(a server-side cursor on PostgreSQL), rows are written chunk by chunk, so memory stays flat
for millions of responses.  The quality flags (``flag_speeder``, ``flag_straightliner``,
``flag_attention``) come from :func:`analysis.quality.flag_quality`, the same rule the analysis
applies; the speeder rule needs the wave's median duration, which a light first query gives.
The file is written under a temporary name and renamed at the end,
so a failed export never leaves a half-written table behind.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import select

from analysis.quality import FLAG_COLUMNS, flag_quality
from questionnaires import (
    CODEBOOK_COLUMNS,
    NOT_APPLICABLE_CODE,
    codebook_rows,
    region_of_province,
)
from questionnaires import Wave as WaveDefinition

from .db import db
from .models import Answer, Questionnaire, Response, Wave

CHUNK_ROWS = 20_000


class ExportError(Exception):
    """A request the export cannot satisfy (unknown wave, unsupported file type)."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    codebook_path: Path
    rows: int


def codebook_path_for(out: Path) -> Path:
    """``responses.csv`` → ``responses.codebook.csv`` (beside it)."""
    return out.with_name(out.stem + ".codebook.csv")


def iso_utc(moment: datetime | None) -> str:
    """Naive-UTC database time → ``2025-03-01T08:00:00.123Z`` (the export's format)."""
    if moment is None:
        return ""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _to_ms(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


class _Layout:
    """Which columns the wave's table has (its codebook rows, in order) and how an answer code
    becomes a cell."""

    def __init__(self, wave: WaveDefinition):
        self.wave = wave
        self.codebook = codebook_rows(wave)
        self.columns = [r["item"] for r in self.codebook]
        self.types = {r["item"]: r["type"] for r in self.codebook}
        demographic = [i for i in wave.items.values() if i.kind == "demographic"]
        self.demographic_values = {
            i.code: {o.code: o.value for o in i.all_options} for i in demographic
        }
        self.item_columns = [i.code for i in wave.items.values() if i.kind != "demographic"]
        self.category_columns = [c for c in self.columns if self.types[c] == "category"]
        if tuple(c for c in self.columns if self.types[c] == "flag") != FLAG_COLUMNS:
            raise ExportError("the codebook's flag columns differ from analysis.quality's")
        self.median_duration: float | None = None

    def row(self, public_id, started_at, submitted_at, answers: dict[str, int]) -> dict:
        # the table carries milliseconds; the duration is computed from what it carries
        started_at, submitted_at = _to_ms(started_at), _to_ms(submitted_at)
        row = {"response_id": public_id, "wave": self.wave.year}
        for column in self.category_columns:
            row[column] = None
        for code, values in self.demographic_values.items():
            answer = answers.get(code)
            if answer is not None and answer != NOT_APPLICABLE_CODE:
                row[code] = values.get(answer)
        if row.get("province") is not None:
            try:
                row["region"] = region_of_province(row["province"])
            except KeyError:  # a province list without a region mapping: leave region empty
                row["region"] = None
        for code in self.item_columns:
            # "not applicable" (9) is an answer and is exported as its code (docs/web.md)
            row[code] = answers.get(code)
        row["started_at"] = started_at
        row["submitted_at"] = submitted_at
        row["duration_s"] = _duration_s(started_at, submitted_at)
        return row

    def add_flags(self, rows: list[dict]) -> None:
        """Set the quality-flag cells of a chunk of rows (in place)."""
        if not rows:
            return
        columns = {c: np.array([np.nan if r[c] is None else r[c] for r in rows], dtype=float)
                   for c in (*self.item_columns, "duration_s")}
        flags = flag_quality(pd.DataFrame(columns), self.wave,
                             median_duration=self.median_duration)
        for column in FLAG_COLUMNS:
            for row, value in zip(rows, flags[column].tolist(), strict=True):
                row[column] = value


def _duration_s(started_at: datetime | None, submitted_at: datetime | None) -> float | None:
    if started_at is None or submitted_at is None:
        return None
    return round((submitted_at - started_at).total_seconds(), 3)


def _median_duration(wave_id: int) -> float | None:
    """Median ``duration_s`` of the wave's completed responses, as the table will carry it."""
    query = select(Response.started_at, Response.submitted_at).where(
        Response.wave_id == wave_id, Response.status == "complete")
    with db.engine.connect() as connection:
        result = connection.execution_options(yield_per=CHUNK_ROWS).execute(query)
        durations = [_duration_s(_to_ms(a), _to_ms(b)) for a, b in result]
    values = np.array([d for d in durations if d is not None], dtype=float)
    return float(np.median(values)) if len(values) else None


def _rows(layout: _Layout, records) -> Iterator[list[dict]]:
    """The table's rows, flagged, in chunks of at most CHUNK_ROWS."""
    chunk: list[dict] = []
    for public_id, started_at, submitted_at, answers in records:
        chunk.append(layout.row(public_id, started_at, submitted_at, answers))
        if len(chunk) == CHUNK_ROWS:
            layout.add_flags(chunk)
            yield chunk
            chunk = []
    layout.add_flags(chunk)
    yield chunk


def _wave_definition(year: int) -> tuple[int, WaveDefinition]:
    row = db.session.execute(
        select(Wave.id, Questionnaire.definition)
        .outerjoin(Questionnaire, Questionnaire.wave_id == Wave.id)
        .where(Wave.year == year)
    ).first()
    if row is None:
        raise ExportError(f"there is no wave {year}; load its questionnaire first")
    if row.definition is None:
        raise ExportError(f"wave {year} has no questionnaire loaded")
    return row.id, WaveDefinition.from_dict(json.loads(row.definition))


def _completed(wave_id: int) -> Iterator[tuple]:
    """(public_id, started_at, submitted_at, answers) per completed response, in id order."""
    query = (
        select(Response.id, Response.public_id, Response.started_at, Response.submitted_at,
               Answer.item, Answer.code)
        .outerjoin(Answer, Answer.response_id == Response.id)
        .where(Response.wave_id == wave_id, Response.status == "complete")
        .order_by(Response.id)
    )
    with db.engine.connect() as connection:
        result = connection.execution_options(yield_per=CHUNK_ROWS).execute(query)
        current = None
        answers: dict[str, int] = {}
        for rid, public_id, started_at, submitted_at, item, code in result:
            if current is None or rid != current[0]:
                if current is not None:
                    yield current[1], current[2], current[3], answers
                current = (rid, public_id, started_at, submitted_at)
                answers = {}
            if item is not None:
                answers[item] = code
        if current is not None:
            yield current[1], current[2], current[3], answers


def _write_csv(path: Path, layout: _Layout, records) -> int:
    n = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(layout.columns)
        for chunk in _rows(layout, records):
            for row in chunk:
                row["started_at"] = iso_utc(row["started_at"])
                row["submitted_at"] = iso_utc(row["submitted_at"])
                writer.writerow(["" if row[c] is None else row[c] for c in layout.columns])
            n += len(chunk)
    return n


def _arrow_schema(layout: _Layout):
    import pyarrow as pa

    by_type = {"text": pa.string(), "integer": pa.int64(), "category": pa.string(),
               "timestamp": pa.timestamp("ms", tz="UTC"), "number": pa.float64(),
               "flag": pa.int8()}
    return pa.schema([pa.field(c, by_type[layout.types[c]]) for c in layout.columns])


def _write_parquet(path: Path, layout: _Layout, records) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _arrow_schema(layout)
    n = 0
    with pq.ParquetWriter(path, schema) as writer:
        for chunk in _rows(layout, records):
            if not chunk and n:
                break
            for row in chunk:
                for moment in ("started_at", "submitted_at"):
                    if row[moment] is not None:
                        row[moment] = row[moment].replace(tzinfo=UTC)
            batch = {c: [row[c] for row in chunk] for c in layout.columns}
            writer.write_table(pa.Table.from_pydict(batch, schema=schema))
            n += len(chunk)
    return n


def write_codebook(path: Path, wave: WaveDefinition) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CODEBOOK_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(codebook_rows(wave))


def export_responses(year: int, out: str | os.PathLike) -> ExportResult:
    """Write wave ``year``'s completed responses to ``out`` (.csv or .parquet) and the codebook
    beside it.  Needs an app context.  Returns the paths and the number of rows."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ExportError(f"{out}: the file name must end in .csv or .parquet")
    if not out.parent.is_dir():
        raise ExportError(f"{out}: folder {out.parent} does not exist")
    wave_id, wave = _wave_definition(year)
    layout = _Layout(wave)
    layout.median_duration = _median_duration(wave_id)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    codebook = codebook_path_for(out)
    tmp_codebook = codebook.with_name(f".{codebook.name}.{os.getpid()}.tmp")
    try:
        write = _write_parquet if suffix == ".parquet" else _write_csv
        rows = write(tmp, layout, _completed(wave_id))
        write_codebook(tmp_codebook, wave)
        os.replace(tmp, out)
        os.replace(tmp_codebook, codebook)
    finally:
        for leftover in (tmp, tmp_codebook):
            if leftover.exists():
                leftover.unlink()
    return ExportResult(path=out, codebook_path=codebook, rows=rows)
