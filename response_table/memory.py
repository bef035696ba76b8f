"""Whole waves in memory: the responses table of a wave as one Arrow table with its codebook and
fieldwork rows, exactly as an export of the wave carries them (the same columns, types, values
and codebook rows; the codebook's values as the strings the export's CSV holds)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pyarrow as pa

from .fieldwork import fieldwork_rows
from .layout import Layout
from .queries import median_duration, tables, wave_definition

# responses per batch read (as the export's CHUNK_ROWS)
BATCH_ROWS = 20_000


@dataclass(frozen=True)
class WaveTable:
    """One wave of one organisation: its table, codebook rows and fieldwork rows."""

    year: int
    organisation: str
    table: pa.Table
    codebook: list[dict[str, str]]
    fieldwork: list[dict[str, str]]


def read_wave(engine, year: int, organisation: str, zone: ZoneInfo,
              size: int = BATCH_ROWS) -> WaveTable:
    """Wave ``year`` of ``organisation`` (a code) read through ``engine``."""
    with engine.connect() as connection:
        wave_id, wave = wave_definition(connection, year, organisation)
        layout = Layout(wave)
        layout.median_duration = median_duration(connection, wave_id, size)
        fieldwork = fieldwork_rows(connection, year, organisation, zone)
    schema = pa.schema([(c, layout.schema[c]) for c in layout.columns])
    parts = list(tables(engine, layout, wave_id, size))
    table = pa.concat_tables(parts) if parts else schema.empty_table()
    codebook = [{k: "" if v is None else str(v) for k, v in row.items()}
                for row in layout.codebook]
    return WaveTable(year, organisation, table, codebook, fieldwork)
