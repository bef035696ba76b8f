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


def _rows(rows: list[dict[str, str]], where: str) -> dict[int, FieldworkSummary]:
    out: dict[int, FieldworkSummary] = {}
    for i, r in enumerate(rows, start=1):
        def bad(column, why, r=r, i=i):
            return AnalysisInputError(f"{where}: column '{column}': value {r[column]!r} in row "
                                      f"{i} {why}")

        def count(column):
            try:
                value = int(r[column])
            except ValueError:
                raise bad(column, "is not a whole number") from None
            if value < 0:
                raise bad(column, "is negative")
            return value

        def day(column):
            text = r[column].strip()
            if not text:
                return None
            try:
                return date.fromisoformat(text)
            except ValueError:
                raise bad(column, "is not an ISO date (YYYY-MM-DD)") from None

        wave = count("wave")
        started, completed, broken = count("started"), count("completed"), count("broken_off")
        if completed > started:
            raise bad("completed", f"is more than started ({started})")
        if broken != started - completed:
            raise bad("broken_off", f"is not started - completed ({started - completed})")
        rate_text = r["completion_rate"].strip()
        rate = None
        if rate_text:
            try:
                rate = float(rate_text)
            except ValueError:
                raise bad("completion_rate", "is not a number") from None
            if not 0 <= rate <= 1:
                raise bad("completion_rate", "is not between 0 and 1")
        elif started:
            rate = completed / started
        if wave in out:
            raise bad("wave", "appears twice")
        out[wave] = FieldworkSummary(wave, day("opens"), day("closes"),
                                     day("first_response_date"), day("last_response_date"),
                                     started, completed, broken, rate)
    return out
