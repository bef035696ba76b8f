"""The waves as the respondent's hot path reads them, through the caches of survey/wave_cache.py.

* ``wave_state(year, organisation=None)``: the wave row's status, dates and questionnaire
  hash, trusted for ``WAVE_CACHE_SECONDS`` (so close-wave takes effect within that many seconds
  in every worker).  The respondent URLs ``/YEAR/…`` serve the default organisation's waves,
  ``/o/CODE/YEAR/…`` organisation CODE's (a year is unique per organisation); the organisation
  is joined into the same cached query, and is part of the cache key, so it costs no query of
  its own.
* ``wave_entry(state)``: the parsed ``questionnaires.Wave`` and what is derived from it, keyed
  by the questionnaire's content hash, parsed from the frozen JSON in the database once per
  process — never YAML per request.
* The wave's quota cells (``WaveState.quota``, a ``survey.quotas.QuotaPlan``, None for a wave
  without quotas) are read with its state, when the state's row says it has a quota, and
  cached with it.  Only the cells' caps may change while a wave is open, and those are checked
  in the database, so a cached plan is never wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select

from questionnaires import Wave as WaveDefinition

from . import wave_cache
from .db import connection, db
from .models import DEFAULT_ORGANISATION, Organisation, Questionnaire, Quota, Wave
from .quotas import QuotaPlan, read_plan
from .wave_cache import WaveEntry, wave_states


@dataclass(frozen=True)
class WaveState:
    id: int
    year: int
    status: str
    opens: date | None
    closes: date | None
    questionnaire_id: int | None
    content_hash: str | None
    organisation: str = DEFAULT_ORGANISATION["code"]
    quota: QuotaPlan | None = None

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


def _state_query(organisation: str | None = None):
    return select(
        Wave.id, Wave.year, Wave.status, Wave.opens, Wave.closes,
        Questionnaire.id, Questionnaire.content_hash, Organisation.code, Quota.items,
    ).outerjoin(Questionnaire, Questionnaire.wave_id == Wave.id).outerjoin(
        Quota, Quota.wave_id == Wave.id).join(
        Organisation, Organisation.id == Wave.organisation_id,
    ).where(Organisation.code == (organisation or DEFAULT_ORGANISATION["code"]))


def _database_key(app=None) -> str:
    """The app's database URL: wave states are per database (tests run several apps in a
    process)."""
    extensions = (app or current_app).extensions
    key = extensions.get("survey.database_key")
    if key is None:
        key = extensions["survey.database_key"] = str(db.engine.url)
    return key


def database_key() -> str:
    """The key under which this app's database's cached entries are kept."""
    return _database_key()


def wave_state(year: int, organisation: str | None = None) -> WaveState | None:
    """The state of wave ``year`` of ``organisation`` (a code; None: the default one), from
    this process's cache when fresh enough."""
    app = current_app._get_current_object()  # one context look-up for both
    return wave_states.fresh((_database_key(app), organisation, year),
                             app.config["WAVE_CACHE_SECONDS"],
                             lambda: _read_wave_state(year, organisation))


def _state(row) -> WaveState:
    """A state query's row → ``WaveState``, with the quota's cells when it has a quota."""
    *columns, quota_items = row
    plan = read_plan(connection(), columns[0], quota_items) if quota_items else None
    return WaveState(*columns, quota=plan)


def _read_wave_state(year: int, organisation: str | None) -> WaveState | None:
    row = connection().execute(_state_query(organisation).where(Wave.year == year)).first()
    return _state(row) if row is not None else None


def current_wave_year() -> int | None:
    """The wave the front page leads to: the latest open wave, else the latest wave with a
    questionnaire (whose page then says it is closed or not open yet)."""
    return wave_states.fresh((_database_key(), "current"),
                             current_app.config["WAVE_CACHE_SECONDS"], _current_wave_year)


def _current_wave_year() -> int | None:
    rows = connection().execute(_state_query().order_by(Wave.year.desc())).all()
    states = [WaveState(*row[:-1]) for row in rows]
    today = survey_today()
    for state in states:
        if state.availability(today) == "open":
            return state.year
    for state in states:
        if state.questionnaire_id is not None:
            return state.year
    return None


def wave_entry(state: WaveState) -> WaveEntry:
    """The wave's cached entry (its parsed definition and what is derived from it), keyed by
    the questionnaire's content hash; the frozen JSON is read and parsed once per process."""
    entry = wave_cache.wave_entry(state.content_hash, lambda: _read_definition(state))
    if entry.content_hash != state.content_hash:
        # the questionnaire was replaced since this state was read: read the state again next
        organisation = (None if state.organisation == DEFAULT_ORGANISATION["code"]
                        else state.organisation)
        wave_states.discard((_database_key(), organisation, state.year))
    return entry


def _read_definition(state: WaveState) -> tuple[str, WaveDefinition]:
    """``(content hash, definition)`` of the wave's questionnaire row, read together."""
    text, content_hash = connection().execute(
        select(Questionnaire.definition, Questionnaire.content_hash)
        .where(Questionnaire.id == state.questionnaire_id)
    ).one()
    return content_hash, WaveDefinition.from_dict(json.loads(text))


def survey_today() -> date:
    """Today's date where the survey runs (waves open and close by local dates)."""
    return datetime.now(ZoneInfo(current_app.config["SURVEY_TIMEZONE"])).date()
