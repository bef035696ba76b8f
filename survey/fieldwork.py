"""The fieldwork summary of a wave (response_table/fieldwork.py) in the app: the database and
time zone (``SURVEY_TIMEZONE``) of the app context."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app

from response_table.fieldwork import FIELDWORK_COLUMNS, completion_rate
from response_table.fieldwork import fieldwork_rows as read_fieldwork_rows

from .db import db
from .models import DEFAULT_ORGANISATION

__all__ = ["FIELDWORK_COLUMNS", "completion_rate", "fieldwork_rows"]


def fieldwork_rows(year: int, organisation: str | None = None) -> list[dict[str, str]]:
    """One row for wave ``year`` of ``organisation`` (a code; None: the default one); values
    are strings exactly as the CSV carries them."""
    return read_fieldwork_rows(db.session.connection(), year,
                               organisation or DEFAULT_ORGANISATION["code"],
                               ZoneInfo(current_app.config["SURVEY_TIMEZONE"]))
