"""Freezing a questionnaire into a wave, opening and closing it: the one implementation behind
the ``load-questionnaire``, ``import-xlsform``, ``open-wave`` and ``close-wave`` commands, the
console's pages and buttons and the API.

A refusal is a ``WaveRefused`` with a ``reason`` (a key of ``REASONS``) and the dates it is
about; each caller words it in its own language (the commands in English, the console and
the API through their translations)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, func, select, update

from .db import db
from .models import Questionnaire, Response, Wave, to_minute, utc_now
from .wave_cache import forget_wave_states

REASONS = ("no_questionnaire", "closes_before_opens", "closed_by_definition", "has_responses")


class WaveRefused(Exception):
    def __init__(self, reason: str, *, opens: date | None = None, closes: date | None = None,
                 year: int | None = None, responses: int = 0, content_hash: str = ""):
        assert reason in REASONS, reason
        super().__init__(reason)
        self.reason, self.opens, self.closes = reason, opens, closes
        self.year, self.responses, self.content_hash = year, responses, content_hash


@dataclass
class Frozen:
    """What ``freeze_questionnaire`` did: ``action`` is loaded, replaced or unchanged."""

    wave: Wave
    action: str


def response_counts(wave_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Response.status, func.count()).where(Response.wave_id == wave_id)
        .group_by(Response.status))
    return dict(rows.all())


def freeze_questionnaire(definition, source: str, organisation_id: int,
                         before_commit=None) -> Frozen:
    """Freeze a validated wave definition (``questionnaires.Wave``) as the questionnaire of
    its year's wave of the organisation, creating the wave as a draft; a changed definition
    replaces the frozen one only while the wave has no responses (``WaveRefused``
    has_responses).  ``before_commit(wave, action)`` adds to the same transaction (the audit
    event)."""
    wave = db.session.execute(
        select(Wave).where(Wave.organisation_id == organisation_id,
                           Wave.year == definition.year)).scalar_one_or_none()
    if wave is None:
        wave = Wave(year=definition.year, status="draft", opens=definition.opens,
                    closes=definition.closes, organisation_id=organisation_id)
        db.session.add(wave)
        db.session.flush()
    questionnaire = wave.questionnaire
    if questionnaire is not None and questionnaire.content_hash == definition.content_hash:
        return Frozen(wave, "unchanged")
    frozen = json.dumps(definition.to_dict(), ensure_ascii=False, sort_keys=True)
    source = str(definition.source or source)[:500]
    if questionnaire is not None:
        counts = response_counts(wave.id)
        if counts:
            raise WaveRefused("has_responses", year=wave.year, responses=sum(counts.values()),
                              content_hash=questionnaire.content_hash)
        questionnaire.definition, questionnaire.content_hash = frozen, definition.content_hash
        questionnaire.source, questionnaire.loaded_at = source, utc_now()
        action = "replaced"
    else:
        db.session.add(Questionnaire(wave_id=wave.id, definition=frozen,
                                     content_hash=definition.content_hash, source=source))
        action = "loaded"
    wave.opens, wave.closes = definition.opens, definition.closes
    if before_commit is not None:
        before_commit(wave, action)
    db.session.commit()
    forget_wave_states()
    return Frozen(wave, action)


def opening_dates(wave: Wave, opens: date | None, closes: date | None,
                  today: date) -> tuple[date | None, date | None]:
    """The first and last day the wave gets when opened now with these (optional) dates."""
    if wave.questionnaire is None:
        raise WaveRefused("no_questionnaire")
    new_opens = opens or wave.opens
    new_closes = closes or wave.closes
    if opens is None and new_opens is not None and new_opens > today:
        new_opens = today  # opening now: an explicit action beats the planned first day
    if new_opens and new_closes and new_closes < new_opens:
        raise WaveRefused("closes_before_opens", opens=new_opens, closes=new_closes)
    if closes is None and new_closes is not None and new_closes < today:
        raise WaveRefused("closed_by_definition", closes=new_closes)
    return new_opens, new_closes


def open_wave(wave: Wave, opens: date | None, closes: date | None, today: date,
              before_commit=None) -> None:
    """Open ``wave`` for respondents; ``before_commit()`` adds to the same transaction (the
    audit event)."""
    wave.opens, wave.closes = opening_dates(wave, opens, closes, today)
    wave.status = "open"
    if before_commit is not None:
        before_commit()
    db.session.commit()
    forget_wave_states()


def close_wave(wave: Wave, before_commit=None) -> None:
    """Close ``wave``: respondents see the polite 'closed' page; answers stay.

    Unfinished responses can no longer be continued, so what still links them to a device
    goes: their token and resume-code hashes, and the exact start time (kept to the minute
    from here, as completed responses are)."""
    wave.status = "closed"
    _unlink_unfinished(wave.id)
    if before_commit is not None:
        before_commit()
    db.session.commit()
    forget_wave_states()


def _unlink_unfinished(wave_id: int) -> None:
    unfinished = db.session.execute(
        select(Response.id, Response.started_at)
        .where(Response.wave_id == wave_id, Response.status == "in_progress")).all()
    if not unfinished:
        return
    db.session.execute(
        update(Response.__table__).where(Response.__table__.c.id == bindparam("rid"))
        .values(token_hash=None, resume_code_hash=None, started_at=bindparam("start")),
        [{"rid": rid, "start": to_minute(started)} for rid, started in unfinished])
