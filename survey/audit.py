"""The audit trail of organisers' and analysts' actions: who opened, closed, exported or read the
free texts of which wave, when (``audit_events``).  Written in the same transaction as the
action it records where there is one (opening, closing), so an action is never without its
event nor an event without its action; an export's event is written when the file is handed
out, a free-text page's when it is shown."""

from __future__ import annotations

from sqlalchemy import select

from .db import db
from .models import AuditEvent, User, Wave

EVENTS_SHOWN = 50


def record(user: User, action: str, wave: Wave, detail: str = "") -> AuditEvent:
    """Add the event to the session (the caller commits)."""
    event = AuditEvent(user_id=user.id, user_email=user.email, action=action,
                       organisation_id=wave.organisation_id, wave_id=wave.id,
                       detail=detail[:500])
    db.session.add(event)
    return event


def events_of(organisation_ids: list[int], limit: int = EVENTS_SHOWN) -> list[tuple]:
    """``(event, wave year)`` of these organisations, newest first."""
    if not organisation_ids:
        return []
    return db.session.execute(
        select(AuditEvent, Wave.year).outerjoin(Wave, Wave.id == AuditEvent.wave_id)
        .where(AuditEvent.organisation_id.in_(organisation_ids))
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)).all()
