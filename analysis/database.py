"""An organisation's waves read straight from the survey database, as the export would write them.

``survey-analysis COMMAND --database URL --org CODE [--waves 2024,2025] [--include-children]``
(or the URL in the environment variable :data:`URL_VARIABLE`, so that a password is not on the
command line) reads the completed responses of the organisation's waves through the
``response_table`` package, the code the app's export writes its files with: the same columns,
values, quality flags, codebook and fieldwork summary, so every number equals the analysis of an
export file of the same waves.  The data then go through :func:`analysis.pipeline.load_survey`
like a file's.

Read-only: SQLite is opened through a read-only URI (``mode=ro``) with ``PRAGMA query_only``,
PostgreSQL with every transaction ``READ ONLY``; the role needs SELECT on
:data:`response_table.schema.READ_TABLES` only (docs/analysis.md, "Reading the database").

Only the organisation's own waves are read; ``--include-children`` adds its descendants' waves
of the same years, each organisation an independent survey pooled as several DATA files are
(:mod:`analysis.pooling`; the ``source`` column holds the organisation's code).

Nothing here imports Flask or the app (``survey``); SQLAlchemy is imported when a database is
read.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from analysis.errors import AnalysisInputError

URL_VARIABLE = "SURVEY_ANALYSIS_DATABASE_URL"
# the app's SURVEY_TIMEZONE by default: the zone of the fieldwork summary's dates
DEFAULT_TIMEZONE = "Asia/Shanghai"

__all__ = ["URL_VARIABLE", "DatabaseData", "DatabaseSource", "database_sources"]


@dataclass(frozen=True)
class DatabaseData:
    """What one source reads: the responses table and the metadata an export carries."""

    frame: pd.DataFrame
    codebook: list[dict[str, str]]
    fieldwork: pd.DataFrame
    origin: str


@dataclass(frozen=True)
class DatabaseSource:
    """Waves ``waves`` of organisation ``organisation`` in the database at ``url`` (checked to
    exist by :func:`database_sources`, which makes these)."""

    url: str
    organisation: str
    waves: tuple[int, ...]
    timezone: str = DEFAULT_TIMEZONE

    def __str__(self) -> str:
        return f"organisation {self.organisation}"

    @property
    def label(self) -> str:
        """The ``source`` value of its rows when organisations are pooled."""
        return self.organisation

    def read(self) -> DatabaseData:
        """The waves' responses table (the rows of each wave in response order, waves in
        order), codebook rows and fieldwork summary."""
        from zoneinfo import ZoneInfo

        from analysis.io import _arrow_to_pandas
        from analysis.metadata import fieldwork_table
        from response_table.memory import read_wave

        with _engine(self.url) as (engine, shown):
            tables = [_answer(shown, lambda y=year: read_wave(engine, y, self.organisation,
                                                                ZoneInfo(self.timezone)))
                      for year in self.waves]
        frames = [_arrow_to_pandas(t.table) for t in tables]
        frame = (pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0])
        if len(frame) == 0:
            raise AnalysisInputError(f"{self}: no completed responses in wave(s) "
                                     f"{_years(self.waves)}")
        origin = f"{self} in the database {shown}"
        fieldwork = fieldwork_table([row for t in tables for row in t.fieldwork], origin)
        return DatabaseData(frame, [row for t in tables for row in t.codebook], fieldwork,
                            origin)

    def columns(self) -> list[str]:
        """The table's columns (every wave's codebook columns, in order), without reading a
        response."""
        from response_table.layout import Layout
        from response_table.queries import wave_definition

        with _engine(self.url) as (engine, shown):
            def names():
                with engine.connect() as connection:
                    return [Layout(wave_definition(connection, y, self.organisation)[1]).columns
                            for y in self.waves]
            per_wave = _answer(shown, names)
        return list(dict.fromkeys(c for columns in per_wave for c in columns))


def database_url(given: str | None) -> str:
    """``--database URL``, else the environment variable :data:`URL_VARIABLE`."""
    url = given if given else os.environ.get(URL_VARIABLE, "").strip()
    if not url:
        raise AnalysisInputError(f"--org needs --database URL (or the environment variable "
                                 f"{URL_VARIABLE})")
    return url


def database_sources(url: str, organisation: str, waves: Sequence[int] | None = None, *,
                     include_children: bool = False,
                     timezone: str = DEFAULT_TIMEZONE) -> list[DatabaseSource]:
    """The sources to read: organisation ``organisation``'s waves ``waves`` (default: every
    wave of it with a questionnaire), and with ``include_children`` the same waves of each
    organisation below it.  An unknown organisation or wave is one line naming it."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from response_table.queries import descendants, waves_of
    from response_table.queries import organisation as find

    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise AnalysisInputError(f"--timezone {timezone}: not a time zone (e.g. "
                                 f"{DEFAULT_TIMEZONE})") from None
    with _engine(url) as (engine, shown):
        def look_up():
            with engine.connect() as connection:
                root = find(connection, organisation)
                if root is None:
                    raise AnalysisInputError(f"--org {organisation}: no such organisation in "
                                             f"the database {shown}")
                orgs = [root] + (descendants(connection, root) if include_children else [])
                return [(o, waves_of(connection, o)) for o in orgs]
        found = _answer(shown, look_up)
    (root, root_waves), children = found[0], found[1:]
    loaded = [y for y, has in root_waves.items() if has]
    years = sorted(int(y) for y in waves) if waves else loaded
    if waves and len(set(years)) != len(years):
        raise AnalysisInputError(f"--waves: waves repeat: {', '.join(map(str, waves))}")
    if not years:
        raise AnalysisInputError(f"organisation {organisation} has no wave with a "
                                 "questionnaire in the database")
    for org, org_waves in found:
        for year in years:
            if year not in org_waves:
                have = _years(org_waves) or "none"
                below = f" (below {organisation})" if org is not root else ""
                raise AnalysisInputError(f"organisation {org.code}{below} has no wave {year} "
                                         f"(its waves: {have})")
            if not org_waves[year]:
                raise AnalysisInputError(f"organisation {org.code}: wave {year} has no "
                                         "questionnaire loaded")
    if include_children and not children:
        raise AnalysisInputError(f"--include-children: organisation {organisation} has no "
                                 "organisations below it")
    return [DatabaseSource(url, org.code, tuple(years), timezone) for org, _ in found]


def _years(years) -> str:
    return ", ".join(map(str, sorted(years)))


class _engine:
    """``with _engine(url) as (engine, shown)``: a read-only engine on ``url`` (and the URL as
    messages show it), disposed at the end."""

    def __init__(self, url: str):
        self.url = url

    def __enter__(self):
        from response_table import TableError
        from response_table.connect import read_only_engine, shown_url

        try:
            self.engine = read_only_engine(self.url)
        except TableError as exc:
            raise AnalysisInputError(f"--database: {exc}") from None
        sqlite = self.engine.url.drivername == "sqlite"  # no password; its own URL is sqlite://
        return self.engine, self.url.strip() if sqlite else shown_url(self.engine.url)

    def __exit__(self, *exc):
        self.engine.dispose()
        return False


def _answer(shown: str, read):
    """``read()``, a database failure as one line naming the database."""
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    from response_table import TableError

    try:
        return read()
    except TableError as exc:
        raise AnalysisInputError(f"database {shown}: {exc}") from None
    except DBAPIError as exc:
        detail = str(exc.orig).strip().splitlines() if exc.orig is not None else []
        what = ("cannot connect" if exc.connection_invalidated or _is_connect_error(exc)
                else "cannot read")
        raise AnalysisInputError(f"database {shown}: {what} "
                                 f"({detail[0] if detail else type(exc.orig).__name__})"
                                 ) from None
    except SQLAlchemyError as exc:
        first = str(exc).strip().splitlines()
        raise AnalysisInputError(f"database {shown}: {first[0] if first else exc}") from None


def _is_connect_error(exc) -> bool:
    from sqlalchemy.exc import OperationalError

    text = str(exc.orig).lower()
    return isinstance(exc, OperationalError) and any(
        word in text for word in ("connect", "unable to open", "password", "authentication",
                                  "does not exist", "timeout", "resolve"))
