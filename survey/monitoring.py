"""Live monitoring of a wave for the console and the API: completions per day, the funnel
(started → each page saved → completed) with break-off by page, quality-flag counts, the
sample's composition against the census targets, and the quota fill (responses screened out
because their quota cell was full count as started, neither completed nor unfinished).

**Cheap to serve.**  ``wave_monitoring(wave)`` is computed at most once per
``MONITORING_SECONDS`` (default 60 s; a closed wave's ``CLOSED_MONITORING_SECONDS``, default
1 hour, since nothing changes until its status does) per worker and wave
(``survey.wave_cache.monitoring``): however many people watch the page, a worker runs the
queries once per period.  Counts are grouped queries on indexed columns; only the quality flags
read the completed responses' answers, since they are the analysis's own rule applied to whole
responses.

**The quality flags** are ``analysis.quality.flag_quality``, the rule the export applies, on
the same columns the export gives it.  That module needs pandas and numpy, so they are
imported when a wave's flags are first computed in a worker, never for a respondent's page
(tests/web/test_worker_imports.py).  **The census targets** are a copy of the analysis's adult
margins (``survey/data/census2020_adult_margins.csv``), read as package data: the web never
imports ``analysis`` for them.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from questionnaires import Wave as WaveDefinition
from questionnaires import province_regions
from questionnaires.question_types import question_type

from .db import db
from .definitions import database_key
from .models import Answer, PageSave, Questionnaire, Response, Wave
from .quotas import QuotaSummary
from .quotas import summary as quota_summary
from .wave_cache import monitoring

MARGINS_FILE = "census2020_adult_margins.csv"
FLAG_NAMES = ("speeder", "straightliner", "attention")


@dataclass(frozen=True)
class PageStep:
    key: str
    title: dict
    saved: int  # responses that saved this page at least once
    stopped_here: int  # unfinished responses whose furthest page is this one


@dataclass(frozen=True)
class CategoryShare:
    category: str
    count: int
    sample_share: float | None  # of the completed responses that answered the variable
    target_share: float


@dataclass(frozen=True)
class Monitoring:
    started: int
    completed: int
    unfinished: int
    completions_per_day: list[tuple[date, int]]
    pages: list[PageStep]
    flags: dict[str, int]  # flag name → completed responses flagged
    flagged_any: int
    composition: dict[str, list[CategoryShare]] = field(default_factory=dict)
    computed_at: datetime | None = None
    # closed because their quota cell was full (survey/quotas.py); part of ``started``
    screened_out: int = 0
    quotas: QuotaSummary | None = None

    @property
    def completion_rate(self) -> float | None:
        return self.completed / self.started if self.started else None

    def to_json(self) -> dict:
        """The API's form: plain numbers, ISO dates."""
        return {
            "started": self.started, "completed": self.completed,
            "unfinished": self.unfinished,
            "completion_rate": (None if self.completion_rate is None
                                else round(self.completion_rate, 4)),
            "completions_per_day": [{"date": day.isoformat(), "completed": n}
                                    for day, n in self.completions_per_day],
            "funnel": [{"page": step.key, "saved": step.saved,
                        "stopped_here": step.stopped_here} for step in self.pages],
            "quality_flags": {**self.flags, "any": self.flagged_any},
            "composition": {
                variable: [{"category": share.category, "count": share.count,
                            "sample_share": share.sample_share,
                            "target_share": share.target_share} for share in shares]
                for variable, shares in self.composition.items()},
            "computed_at": self.computed_at.isoformat() + "Z" if self.computed_at else None,
            "screened_out": self.screened_out,
            "quotas": self.quotas.to_json() if self.quotas is not None else None,
        }


def wave_monitoring(wave: Wave) -> Monitoring:
    """The wave's monitoring numbers, from this worker's cache when fresh enough."""
    config = current_app.config
    seconds = (config["CLOSED_MONITORING_SECONDS"] if wave.status == "closed"
               else config["MONITORING_SECONDS"])
    return monitoring.fresh((database_key(), wave.id, wave.status), seconds,
                            lambda: compute(wave.id))


def compute(wave_id: int) -> Monitoring:
    """Every number of the monitoring panel, from the database now."""
    definition_json = db.session.execute(
        select(Questionnaire.definition).where(Questionnaire.wave_id == wave_id)).scalar()
    definition = (WaveDefinition.from_dict(json.loads(definition_json))
                  if definition_json is not None else None)
    statuses = dict(db.session.execute(
        select(Response.status, func.count()).where(Response.wave_id == wave_id)
        .group_by(Response.status)).all())
    completed, unfinished = statuses.get("complete", 0), statuses.get("in_progress", 0)
    screened_out = statuses.get("screened_out", 0)
    flags, flagged_any = _quality_flags(wave_id, definition) if completed else (
        dict.fromkeys(FLAG_NAMES, 0), 0)
    return Monitoring(
        started=completed + unfinished + screened_out, completed=completed,
        unfinished=unfinished, screened_out=screened_out, quotas=quota_summary(wave_id),
        completions_per_day=_completions_per_day(wave_id),
        pages=_funnel(wave_id, definition),
        flags=flags, flagged_any=flagged_any,
        composition=_composition(wave_id, definition),
        computed_at=datetime.now(UTC).replace(tzinfo=None, microsecond=0))


# --------------------------------------------------------------------------- counts


def _completions_per_day(wave_id: int) -> list[tuple[date, int]]:
    """Completed responses per day in the survey's time zone (stored times are minutes, so a
    day has at most 1,440 groups)."""
    zone = ZoneInfo(current_app.config["SURVEY_TIMEZONE"])
    days: dict[date, int] = {}
    for minute, n in db.session.execute(
            select(Response.submitted_at, func.count())
            .where(Response.wave_id == wave_id, Response.status == "complete",
                   Response.submitted_at.is_not(None))
            .group_by(Response.submitted_at)):
        day = minute.replace(tzinfo=UTC).astimezone(zone).date()
        days[day] = days.get(day, 0) + n
    return sorted(days.items())


def _funnel(wave_id: int, definition: WaveDefinition | None) -> list[PageStep]:
    if definition is None:
        return []
    saved = dict(db.session.execute(
        select(PageSave.page_key, func.count())
        .join(Response, Response.id == PageSave.response_id)
        .where(Response.wave_id == wave_id).group_by(PageSave.page_key)).all())
    stopped = dict(db.session.execute(
        select(Response.page_index, func.count())
        .where(Response.wave_id == wave_id, Response.status == "in_progress")
        .group_by(Response.page_index)).all())
    return [PageStep(key=page.key, title=page.title, saved=saved.get(page.key, 0),
                     stopped_here=stopped.get(index, 0))
            for index, page in enumerate(definition.pages)]


# --------------------------------------------------------------------------- composition


def census_targets() -> dict[str, dict[str, float]]:
    """Variable → category → target share (the margins' counts as shares), in file order."""
    text = resources.files("survey").joinpath("data", MARGINS_FILE).read_text("utf-8")
    counts: dict[str, dict[str, float]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        counts.setdefault(row["variable"], {})[row["category"]] = float(row["target"])
    return {variable: {category: n / sum(categories.values())
                       for category, n in categories.items()}
            for variable, categories in counts.items()}


def _composition(wave_id: int, definition: WaveDefinition | None
                 ) -> dict[str, list[CategoryShare]]:
    """Completed responses per category of each weighting variable the wave asks (region
    from the province), beside the census share."""
    if definition is None:
        return {}
    targets = census_targets()
    asked = {code: item for code, item in definition.items.items()
             if item.kind == "demographic"}
    sources = {variable: variable for variable in targets if variable in asked}
    if "region" in targets and "region" not in asked and "province" in asked:
        sources["region"] = "province"
    if not sources:
        return {}
    rows = db.session.execute(
        select(Answer.item, Answer.code, func.count())
        .join(Response, Response.id == Answer.response_id)
        .where(Response.wave_id == wave_id, Response.status == "complete",
               Answer.item.in_(set(sources.values())))
        .group_by(Answer.item, Answer.code)).all()
    regions = province_regions()
    counted: dict[str, dict[str, int]] = {variable: {} for variable in sources}
    for item_code, code, n in rows:
        values = {option.code: option.value for option in asked[item_code].options}
        value = values.get(code)
        for variable, source in sources.items():
            if source != item_code or value is None:
                continue
            category = regions.get(str(value)) if variable != source else str(value)
            if category is not None:
                counted[variable][category] = counted[variable].get(category, 0) + n
    composition = {}
    for variable in sources:
        total = sum(counted[variable].values())
        composition[variable] = [
            CategoryShare(category=category, count=counted[variable].get(category, 0),
                          sample_share=(counted[variable].get(category, 0) / total
                                        if total else None),
                          target_share=share)
            for category, share in targets[variable].items()]
    return composition


# --------------------------------------------------------------------------- quality flags


def _quality_flags(wave_id: int, definition: WaveDefinition | None) -> tuple[dict, int]:
    """Completed responses flagged by each rule, and by any, with the export's rule on the
    columns the export gives it (``survey.export``: choice answers as codes, other questions
    as answered or not, ``duration_s``)."""
    import numpy as np  # the analysis's rule needs them; see the module docstring
    import pandas as pd

    from analysis.quality import FLAG_COLUMNS, flag_quality

    if definition is None:
        return dict.fromkeys(FLAG_NAMES, 0), 0
    questions = [(item, question_type(item)) for item in definition.items.values()]
    choice_codes = {item.code for item, kind in questions
                    if kind.choice and item.kind != "demographic"}
    durations: dict[int, float] = {}
    answers: dict[int, dict[str, object]] = {}
    for rid, duration, item_code, code, value in db.session.execute(
            select(Response.id, Response.duration_s, Answer.item, Answer.code, Answer.value)
            .outerjoin(Answer, Answer.response_id == Response.id)
            .where(Response.wave_id == wave_id, Response.status == "complete")):
        durations[rid] = np.nan if duration is None else float(duration)
        if item_code is not None:
            answers.setdefault(rid, {})[item_code] = code if code is not None else value
    ids = list(durations)
    columns = {"duration_s": np.array([durations[rid] for rid in ids], dtype=float)}
    for item, kind in questions:
        given = [answers.get(rid, {}).get(item.code) for rid in ids]
        if item.code in choice_codes:
            columns[item.code] = np.array([np.nan if v is None else float(v) for v in given])
        else:
            columns[item.code] = np.array([1.0 if kind.answered(v) else np.nan
                                           for v in given])
    known = columns["duration_s"][~np.isnan(columns["duration_s"])]
    median = float(np.median(known)) if len(known) else None
    flagged = flag_quality(pd.DataFrame(columns), definition, median_duration=median)
    counts = {name: int(flagged[column].sum())
              for name, column in zip(FLAG_NAMES, FLAG_COLUMNS, strict=True)}
    return counts, int(flagged[list(FLAG_COLUMNS)].max(axis=1).sum())
