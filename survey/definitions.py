"""Per-process caches that keep the respondent's hot path to a couple of small queries.

* ``wave_state(year)``: the wave row's status, dates and questionnaire hash, trusted for
  ``WAVE_CACHE_SECONDS`` (so close-wave takes effect within that many seconds in every worker).
* ``definition(state)``: the parsed ``questionnaires.Wave``, keyed by the questionnaire's content
  hash, parsed from the frozen JSON in the database once per process — never YAML per request.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from questionnaires import Wave as WaveDefinition

from .db import connection, db
from .models import Questionnaire, Wave


@dataclass(frozen=True)
class WaveState:
    id: int
    year: int
    status: str
    opens: date | None
    closes: date | None
    questionnaire_id: int | None
    content_hash: str | None

    def availability(self, today: date) -> str:
        """``open``, ``not_yet_open`` or ``closed`` for respondents on ``today``."""
        if self.questionnaire_id is None or self.status == "draft":
            return "not_yet_open"
        if self.status == "closed":
            return "closed"
        if self.opens is not None and today < self.opens:
            return "not_yet_open"
        if self.closes is not None and today > self.closes:
            return "closed"
        return "open"


_STATES: dict[tuple, tuple[float, object]] = {}
_DEFINITIONS: dict[str, WaveDefinition] = {}


def _state_query():
    return select(
        Wave.id, Wave.year, Wave.status, Wave.opens, Wave.closes,
        Questionnaire.id, Questionnaire.content_hash,
    ).outerjoin(Questionnaire, Questionnaire.wave_id == Wave.id)


def _database_key() -> str:
    """The app's database URL: caches are per database (tests run several apps in a process)."""
    key = current_app.extensions.get("survey.database_key")
    if key is None:
        key = current_app.extensions["survey.database_key"] = str(db.engine.url)
    return key


def wave_state(year: int) -> WaveState | None:
    """The wave's state, from this process's cache when fresh enough."""
    ttl = current_app.config["WAVE_CACHE_SECONDS"]
    key = (_database_key(), year)
    now = time.monotonic()
    hit = _STATES.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    row = connection().execute(_state_query().where(Wave.year == year)).first()
    state = WaveState(*row) if row is not None else None
    if ttl > 0:
        _STATES[key] = (now + ttl, state)
    return state


def current_wave_year() -> int | None:
    """The wave the front page leads to: the latest open wave, else the latest wave with a
    questionnaire (whose page then says it is closed or not open yet)."""
    ttl = current_app.config["WAVE_CACHE_SECONDS"]
    key = (_database_key(), "current")
    now = time.monotonic()
    hit = _STATES.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    year = _current_wave_year()
    if ttl > 0:
        _STATES[key] = (now + ttl, year)
    return year


def _current_wave_year() -> int | None:
    rows = connection().execute(_state_query().order_by(Wave.year.desc())).all()
    states = [WaveState(*row) for row in rows]
    today = survey_today()
    for state in states:
        if state.availability(today) == "open":
            return state.year
    for state in states:
        if state.questionnaire_id is not None:
            return state.year
    return None


def forget_wave_states() -> None:
    """Drop cached wave states (commands call this after changing a wave)."""
    _STATES.clear()


def definition(state: WaveState) -> WaveDefinition:
    """The parsed wave definition the wave's respondents answer."""
    wave = _DEFINITIONS.get(state.content_hash)
    if wave is None:
        text = connection().execute(
            select(Questionnaire.definition).where(Questionnaire.id == state.questionnaire_id)
        ).scalar_one()
        wave = WaveDefinition.from_dict(json.loads(text))
        _DEFINITIONS[state.content_hash] = wave
    return wave


def survey_today() -> date:
    """Today's date where the survey runs (waves open and close by local dates)."""
    return datetime.now(ZoneInfo(current_app.config["SURVEY_TIMEZONE"])).date()
