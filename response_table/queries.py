"""The reads behind the responses table, through any SQLAlchemy connection or engine (the app's
or a read-only one): organisations and their waves, a wave's frozen questionnaire, the median
duration the speeder rule needs, and the completed responses in batches, as tables.

Every statement here only reads (SELECT): a database role with SELECT on
:data:`response_table.schema.READ_TABLES` is enough."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from sqlalchemy import select

from questionnaires import Wave as WaveDefinition

from .columns import ResponseBatch, read_ahead, response_batches
from .errors import TableError
from .layout import Layout
from .schema import ORGANISATIONS, QUESTIONNAIRES, RESPONSES, WAVES, of_organisation


def wave_definition(connection, year: int, organisation: str) -> tuple[int, WaveDefinition]:
    """The id and frozen questionnaire of wave ``year`` of ``organisation`` (a code)."""
    row = connection.execute(
        select(WAVES.c.id, QUESTIONNAIRES.c.definition)
        .outerjoin(QUESTIONNAIRES, QUESTIONNAIRES.c.wave_id == WAVES.c.id)
        .where(of_organisation(year, organisation))
    ).first()
    if row is None:
        raise TableError(f"there is no wave {year}; load its questionnaire first")
    if row.definition is None:
        raise TableError(f"wave {year} has no questionnaire loaded")
    return row.id, WaveDefinition.from_dict(json.loads(row.definition))


def median_duration(connection, wave_id: int, size: int) -> float | None:
    """Median ``duration_s`` of the wave's completed responses, as the table will carry it
    (read ``size`` rows at a time)."""
    query = select(RESPONSES.c.duration_s).where(
        RESPONSES.c.wave_id == wave_id, RESPONSES.c.status == "complete",
        RESPONSES.c.duration_s.is_not(None))
    result = connection.execution_options(yield_per=size).execute(query)
    values = np.fromiter((d for (d,) in result), dtype=float)
    return float(np.median(values)) if len(values) else None


def batches(engine, wave_id: int, items: list[str], size: int) -> Iterator[ResponseBatch]:
    """The wave's response batches from one read snapshot."""
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            yield from response_batches(connection, wave_id, items, size)


def tables(engine, layout: Layout, wave_id: int, size: int) -> Iterator[pa.Table]:
    """The table in chunks of at most ``size`` responses.  The next batch is read while this
    one is flagged and written: the database, Arrow and NumPy release the GIL, so reading and
    writing share two cores."""
    reader = read_ahead(batches(engine, wave_id, layout.items, size))
    try:
        for batch in reader:
            yield layout.table(batch)
    finally:
        reader.close()


# --------------------------------------------------------------------------- organisations
@dataclass(frozen=True)
class Organisation:
    id: int
    code: str
    parent_id: int | None


def organisation(connection, code: str) -> Organisation | None:
    """Organisation ``code``, or None when there is none."""
    row = connection.execute(
        select(ORGANISATIONS.c.id, ORGANISATIONS.c.code, ORGANISATIONS.c.parent_id)
        .where(ORGANISATIONS.c.code == code)).first()
    return None if row is None else Organisation(*row)


def descendants(connection, root: Organisation) -> list[Organisation]:
    """The organisations below ``root`` (children, grandchildren, …), level by level, each
    level in code order."""
    rows = connection.execute(select(ORGANISATIONS.c.id, ORGANISATIONS.c.code,
                                     ORGANISATIONS.c.parent_id)).all()
    children: dict[int, list[Organisation]] = {}
    for row in rows:
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(Organisation(*row))
    found, level, seen = [], [root], {root.id}
    while level:
        below = sorted((c for o in level for c in children.get(o.id, ()) if c.id not in seen),
                       key=lambda o: o.code)
        seen |= {o.id for o in below}
        found += below
        level = below
    return found


def waves_of(connection, organisation: Organisation) -> dict[int, bool]:
    """The organisation's wave years, each with whether its questionnaire is loaded."""
    rows = connection.execute(
        select(WAVES.c.year, QUESTIONNAIRES.c.wave_id)
        .outerjoin(QUESTIONNAIRES, QUESTIONNAIRES.c.wave_id == WAVES.c.id)
        .where(WAVES.c.organisation_id == organisation.id).order_by(WAVES.c.year)).all()
    return {int(year): loaded is not None for year, loaded in rows}
