"""The fieldwork summary of an export (contract section 4), for the report's methods section.

``X.fieldwork.csv`` beside the data file ``X.csv|X.parquet|...``, or, for Parquet, the schema
metadata key ``ten_norms.fieldwork`` (a JSON list of the same rows). One row per wave:

    wave,opens,closes,first_response_date,last_response_date,started,completed,broken_off,completion_rate

When neither is there the report says the figures are not available; it never estimates them.
A malformed summary is one :class:`AnalysisInputError` naming the file, the column, the value
and the row.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from analysis.errors import AnalysisInputError

FIELDWORK_COLUMNS = ("wave", "opens", "closes", "first_response_date", "last_response_date",
                     "started", "completed", "broken_off", "completion_rate")
PARQUET_KEY = b"ten_norms.fieldwork"


@dataclass(frozen=True)
class FieldworkSummary:
    """One wave's fieldwork: dates, responses started and completed, completion rate."""

    wave: int
    opens: date | None
    closes: date | None
    first_response: date | None
    last_response: date | None
    started: int
    completed: int
    broken_off: int
    completion_rate: float | None
    """``completed / started``; None when nobody started."""


def fieldwork_path(data_path: Path) -> Path:
    """``X.fieldwork.csv`` for the export ``X.<suffix>``."""
    return data_path.with_name(data_path.stem + ".fieldwork.csv")


def read_fieldwork(data_path: str | Path) -> dict[int, FieldworkSummary] | None:
    """The fieldwork summary for the export at ``data_path`` by wave, or None when there is
    none (no ``X.fieldwork.csv`` and no Parquet metadata key)."""
    data_path = Path(data_path)
    side = fieldwork_path(data_path)
    if side.is_file():
        with side.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in FIELDWORK_COLUMNS if c not in header]
            if missing:
                raise AnalysisInputError(f"{side}: column '{missing[0]}' is missing (expected "
                                         f"{','.join(FIELDWORK_COLUMNS)})")
            return _rows(list(reader), str(side))
    if data_path.suffix.lower() == ".parquet" and data_path.is_file():
        import pyarrow.parquet as pq

        meta = pq.read_schema(data_path).metadata or {}
        if PARQUET_KEY in meta:
            where = f"{data_path} (metadata {PARQUET_KEY.decode()})"
            try:
                rows = json.loads(meta[PARQUET_KEY])
            except ValueError as exc:
                raise AnalysisInputError(f"{where}: not valid JSON ({exc})") from None
            if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
                raise AnalysisInputError(f"{where}: expected a list of rows")
            for i, r in enumerate(rows, start=1):
                missing = [c for c in FIELDWORK_COLUMNS if c not in r]
                if missing:
                    raise AnalysisInputError(f"{where}: row {i} has no '{missing[0]}'")
            return _rows([{k: "" if v is None else str(v) for k, v in r.items()} for r in rows],
                         where)
    return None


class _Row:
    """One row of the summary, read field by field with errors naming file, column, row."""

    def __init__(self, values: dict[str, str], number: int, where: str):
        self.values, self.number, self.where = values, number, where

    def error(self, column: str, why: str) -> AnalysisInputError:
        return AnalysisInputError(f"{self.where}: column '{column}': value "
                                  f"{self.values[column]!r} in row {self.number} {why}")

    def count(self, column: str) -> int:
        try:
            value = int(self.values[column])
        except ValueError:
            raise self.error(column, "is not a whole number") from None
        if value < 0:
            raise self.error(column, "is negative")
        return value

    def day(self, column: str) -> date | None:
        text = self.values[column].strip()
        if not text:
            return None
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise self.error(column, "is not an ISO date (YYYY-MM-DD)") from None

    def rate(self, started: int, completed: int) -> float | None:
        text = self.values["completion_rate"].strip()
        if not text:
            return completed / started if started else None
        try:
            value = float(text)
        except ValueError:
            raise self.error("completion_rate", "is not a number") from None
        if not 0 <= value <= 1:
            raise self.error("completion_rate", "is not between 0 and 1")
        return value


def _rows(rows: list[dict[str, str]], where: str) -> dict[int, FieldworkSummary]:
    out: dict[int, FieldworkSummary] = {}
    for i, values in enumerate(rows, start=1):
        row = _Row(values, i, where)
        wave = row.count("wave")
        started, completed = row.count("started"), row.count("completed")
        broken = row.count("broken_off")
        if completed > started:
            raise row.error("completed", f"is more than started ({started})")
        if broken != started - completed:
            raise row.error("broken_off", f"is not started - completed ({started - completed})")
        if wave in out:
            raise row.error("wave", "appears twice")
        out[wave] = FieldworkSummary(wave, row.day("opens"), row.day("closes"),
                                     row.day("first_response_date"),
                                     row.day("last_response_date"), started, completed, broken,
                                     row.rate(started, completed))
    return out
