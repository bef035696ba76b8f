"""Opening and closing a wave: the one implementation behind the ``open-wave`` and
``close-wave`` commands, the console's buttons and the API.

A refusal is a ``WaveRefused`` with a ``reason`` (a key of ``REASONS``) and the dates it is
about; each caller words it in its own language (the commands in English, the console and
the API through their translations)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, select, update

from .db import db
from .models import Response, Wave, to_minute
from .wave_cache import forget_wave_states

REASONS = ("no_questionnaire", "closes_before_opens", "closed_by_definition")


class WaveRefused(Exception):
    def __init__(self, reason: str, *, opens: date | None = None, closes: date | None = None):
        assert reason in REASONS, reason
        super().__init__(reason)
        self.reason, self.opens, self.closes = reason, opens, closes


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
