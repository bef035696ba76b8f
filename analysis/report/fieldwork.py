"""The fieldwork summary of an export (contract section 4), for the report's methods section.

``X.fieldwork.csv`` beside the data file ``X.csv|X.parquet|...``, or, for Parquet, the schema
metadata key ``ten_norms.fieldwork`` (a JSON list of the same rows). One row per wave:

    wave,opens,closes,first_response_date,last_response_date,started,completed,broken_off,completion_rate

When neither is there the report says the figures are not available; it never estimates them.
A malformed summary is one :class:`AnalysisInputError` naming the file, the column, the value
and the row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd

from analysis.errors import AnalysisInputError
from analysis.metadata import FIELDWORK_COLUMNS


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


def read_fieldwork(data_path: str | Path) -> dict[int, FieldworkSummary] | None:
    """The fieldwork summary for the export at ``data_path`` by wave, or None when there is
    none (read by :func:`analysis.metadata.read_fieldwork`, as the pipeline reads it)."""
    from analysis.metadata import read_fieldwork as read_table

    return summaries_from_table(read_table(data_path), str(data_path))


def summaries_from_table(table: pd.DataFrame | None, where: str
                         ) -> dict[int, FieldworkSummary] | None:
    """The typed fieldwork table (:func:`analysis.metadata.fieldwork_table`) as one summary per
    wave, after the checks that make its counts consistent (the report prints them)."""
    if table is None:
        return None
    where = table.attrs.get("origin", where)
    out: dict[int, FieldworkSummary] = {}
    for number, r in enumerate(table.itertuples(index=False), start=1):
        def error(column, why, value=None, number=number, r=r):
            value = getattr(r, column) if value is None else value
            return AnalysisInputError(f"{where}: column '{column}': value '{value}' in row "
                                      f"{number} {why}")

        for column in ("started", "completed", "broken_off"):
            if getattr(r, column) < 0:
                raise error(column, "is negative")
        if r.completed > r.started:
            raise error("completed", f"is more than started ({r.started})")
        if r.broken_off != r.started - r.completed:
            raise error("broken_off", f"is not started - completed ({r.started - r.completed})")
        rate = None if pd.isna(r.completion_rate) else float(r.completion_rate)
        if rate is None and r.started:
            rate = r.completed / r.started
        if rate is not None and not 0 <= rate <= 1:
            raise error("completion_rate", "is not between 0 and 1", f"{rate:g}")
        if r.wave in out:
            raise error("wave", "appears twice")
        out[int(r.wave)] = FieldworkSummary(int(r.wave), r.opens, r.closes,
                                            r.first_response_date, r.last_response_date,
                                            int(r.started), int(r.completed), int(r.broken_off),
                                            rate)
    return out


def fieldwork_table(summaries: dict[int, FieldworkSummary]) -> pd.DataFrame:
    """Summaries back as the fieldwork table (for a caller that has them, e.g. a test)."""
    return pd.DataFrame([(s.wave, s.opens, s.closes, s.first_response, s.last_response,
                          s.started, s.completed, s.broken_off,
                          float("nan") if s.completion_rate is None else s.completion_rate)
                         for s in summaries.values()], columns=list(FIELDWORK_COLUMNS))
