"""The fieldwork summary of a wave: how many people started, completed and broke off.

``X.fieldwork.csv`` beside every export, and the Parquet export's ``ten_norms.fieldwork``
metadata (docs/web.md).  A response row is created when a person passes the consent page, so
every response of the wave *started*, except those a full quota cell turned away
(``screened_out``: not break-offs, and not in the sample the quota wants, so they are left out
of started and of the completion rate, as a screen-out is); ``complete`` ones *completed*; the
rest *broke off* (this includes people still answering while the wave is open).  Dates have
day precision only, in the survey's time zone (the app's ``SURVEY_TIMEZONE``, the zone of the
wave's open and close dates): finer times of when people took part do not belong in a summary
that is shared.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select

from .schema import RESPONSES, WAVES, of_organisation

FIELDWORK_COLUMNS = ("wave", "opens", "closes", "first_response_date", "last_response_date",
                     "started", "completed", "broken_off", "completion_rate")
# the app's default SURVEY_TIMEZONE (survey/__init__.py)
DEFAULT_TIMEZONE = "Asia/Shanghai"


def _local_date(moment: datetime | None, zone: ZoneInfo) -> str:
    """Naive-UTC database time → the ISO date in the survey's time zone ('' when None)."""
    if moment is None:
        return ""
    return moment.replace(tzinfo=UTC).astimezone(zone).date().isoformat()


def _iso(day: date | None) -> str:
    return day.isoformat() if day else ""


def completion_rate(started: int, completed: int) -> str:
    """``completed / started`` to four decimals; '' when nobody started."""
    return f"{completed / started:.4f}" if started else ""


def fieldwork_rows(connection, year: int, organisation: str, zone: ZoneInfo
                   ) -> list[dict[str, str]]:
    """One row (a list, so several waves fit the same shape) for wave ``year`` of
    ``organisation`` (a code), read through ``connection`` (SQLAlchemy Core); dates in time
    zone ``zone``; values are strings exactly as the CSV carries them."""
    wave = connection.execute(
        select(WAVES.c.id, WAVES.c.opens, WAVES.c.closes)
        .where(of_organisation(year, organisation))).one()
    started, completed, first, last = connection.execute(
        select(func.count(RESPONSES.c.id),
               func.count(case((RESPONSES.c.status == "complete", RESPONSES.c.id))),
               func.min(RESPONSES.c.started_at),
               func.max(RESPONSES.c.updated_at))
        .where(RESPONSES.c.wave_id == wave.id, RESPONSES.c.status != "screened_out")
    ).one()
    return [{
        "wave": str(year),
        "opens": _iso(wave.opens),
        "closes": _iso(wave.closes),
        "first_response_date": _local_date(first, zone),
        "last_response_date": _local_date(last, zone),
        "started": str(started),
        "completed": str(completed),
        "broken_off": str(started - completed),
        "completion_rate": completion_rate(started, completed),
    }]
