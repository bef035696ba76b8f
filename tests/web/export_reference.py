"""The export as it was built row by row, kept as the reference the columnar export must equal:
every answer through its question type's ``export_cells``, a dict per row, Python's csv module
for CSV and ``pyarrow.Table.from_pydict`` for Parquet (the code of survey/export.py and
survey/export_formats.py before the export read and pivoted answers in bulk, with the
``order__`` columns of randomised order from each response's presentation seed)."""

from __future__ import annotations

import csv
from datetime import UTC

import numpy as np
import pandas as pd
from sqlalchemy import select

from analysis.quality import FLAG_COLUMNS, flag_quality
from questionnaires import codebook_rows, province_regions
from questionnaires.presentation import order_cells, order_columns
from questionnaires.question_types import question_type
from survey.db import db
from survey.export import _wave_definition, median_duration
from survey.export_formats import STRING_TYPES, iso_utc, parquet_schema
from survey.models import Answer, Response, to_minute
from survey.spreadsheet import neutralise, open_csv


class ReferenceLayout:
    def __init__(self, wave):
        self.wave = wave
        self.codebook = codebook_rows(wave)
        self.columns = [r["item"] for r in self.codebook]
        self.types = {r["item"]: r["type"] for r in self.codebook}
        self.questions = [(item, question_type(item)) for item in wave.items.values()]
        self.choice_codes = [i.code for i, kind in self.questions
                             if kind.choice and i.kind != "demographic"]
        self.category_columns = [c for c in self.columns if self.types[c] == "category"]
        self.regions = province_regions()
        self.orders = order_columns(wave)
        self.median_duration = None

    def row(self, public_id, started_at, submitted_at, duration_s, seed, answers) -> dict:
        row = {"response_id": public_id, "wave": self.wave.year}
        for column in self.category_columns:
            row[column] = None
        answered = row["_answered"] = set()
        for item, kind in self.questions:
            value = answers.get(item.code)
            row.update(kind.export_cells(item, value))
            if kind.answered(value):
                answered.add(item.code)
        if row.get("province") is not None:
            row["region"] = self.regions.get(row["province"])
        if self.orders:
            row.update(order_cells(self.orders, seed))
        row["started_at"] = to_minute(started_at)
        row["submitted_at"] = to_minute(submitted_at)
        row["duration_s"] = None if duration_s is None else float(duration_s)
        return row

    def add_flags(self, rows: list[dict]) -> None:
        if not rows:
            return
        columns = {c: np.array([np.nan if r[c] is None else r[c] for r in rows], dtype=float)
                   for c in (*self.choice_codes, "duration_s")}
        for item, _ in self.questions:
            if item.code not in columns:
                columns[item.code] = np.array([1.0 if item.code in r["_answered"] else np.nan
                                               for r in rows])
        flags = flag_quality(pd.DataFrame(columns), self.wave,
                             median_duration=self.median_duration)
        for column in FLAG_COLUMNS:
            for row, value in zip(rows, flags[column].tolist(), strict=True):
                row[column] = value


def _completed(wave_id: int):
    query = (
        select(Response.id, Response.public_id, Response.started_at, Response.submitted_at,
               Response.duration_s, Response.presentation_seed, Answer.item, Answer.code,
               Answer.value)
        .outerjoin(Answer, Answer.response_id == Response.id)
        .where(Response.wave_id == wave_id, Response.status == "complete")
        .order_by(Response.id)
    )
    records: dict[int, list] = {}
    for rid, public_id, started, submitted, duration, seed, item, code, value in \
            db.session.execute(query):
        record = records.setdefault(rid, [public_id, started, submitted, duration, seed, {}])
        if item is not None:
            record[5][item] = code if code is not None else value
    return list(records.values())


def reference_rows(year: int, organisation: str | None = None
                   ) -> tuple[ReferenceLayout, list[dict]]:
    """The flagged rows of wave ``year`` of ``organisation`` (a code; None: the default one;
    needs an app context)."""
    wave_id, wave = _wave_definition(year, organisation)
    layout = ReferenceLayout(wave)
    layout.median_duration = median_duration(wave_id)
    rows = [layout.row(*record) for record in _completed(wave_id)]
    layout.add_flags(rows)
    return layout, rows


def write_reference_csv(path, layout: ReferenceLayout, rows: list[dict], bom=False) -> None:
    text = [i for i, c in enumerate(layout.columns) if layout.types[c] in STRING_TYPES]
    times = [i for i, c in enumerate(layout.columns) if layout.types[c] == "timestamp"]
    with open_csv(path, bom=bom) as fh:
        writer = csv.writer(fh)
        writer.writerow(layout.columns)
        for row in rows:
            cells = [row[c] for c in layout.columns]
            for i in text:
                if cells[i] is not None:
                    cells[i] = neutralise(cells[i])
            for i in times:
                cells[i] = iso_utc(cells[i])
            writer.writerow(cells)


def reference_parquet_table(spec, rows: list[dict]):
    import pyarrow as pa

    schema = parquet_schema(spec)
    batch = {c: [row[c] for row in rows] for c in spec.columns}
    for column in spec.columns:
        if spec.types[column] == "timestamp":
            batch[column] = [None if v is None else v.replace(tzinfo=UTC)
                             for v in batch[column]]
    return pa.Table.from_pydict(batch, schema=schema)
