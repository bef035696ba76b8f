"""The audit trail (``audit_events``): who opened, closed, exported or read the free texts of
which wave, when; and what happened to the staff accounts — sign-ins (and failed ones),
sign-outs, second-factor changes, accounts created or deactivated, roles granted, changed or
removed, API tokens created or revoked (``ACCOUNT_ACTIONS``).

A wave's event is written in the same transaction as the action it records where there is one
(opening, closing), so an action is never without its event nor an event without its action;
an export's event is written when the file is handed out, a free-text page's when it is shown.

An account's event is one row per organisation the account belongs to (a role event: the
organisation of the role), so the admins of each of them — and of their parents — see it; a
failed sign-in with an address that has no account (or an account without a role) belongs to
no organisation, and the admins of a root organisation see it.  The password typed is never
stored, only the address as typed (at most ``TYPED_EMAIL_LENGTH`` characters).  Who sees what
is ``visible_events``: everybody who monitors an organisation sees its waves' events, only
admins its account events.  Rows are never changed or deleted (``models.AuditEvent``).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import and_, false, or_, select

from .db import db
from .models import ACCOUNT_ACTIONS, AuditEvent, User, Wave

EVENTS_SHOWN = 50
TYPED_EMAIL_LENGTH = 100
# who ``user_email`` names when a command (flask --app survey …) did it
COMMAND_LINE = "(command line)"


def record(user: User, action: str, wave: Wave, detail: str = "") -> AuditEvent:
    """Add the event to the session (the caller commits)."""
    event = AuditEvent(user_id=user.id, user_email=user.email, action=action,
                       organisation_id=wave.organisation_id, wave_id=wave.id,
                       detail=detail[:500])
    db.session.add(event)
    return event


def record_account(action: str, subject: User | None, *, by: User | None = None,
                   by_email: str | None = None, detail: str = "",
                   organisation_ids: Iterable[int] | None = None) -> list[AuditEvent]:
    """Add an account event to the session (the caller commits), one row per organisation
    (default: every organisation ``subject`` belongs to; none: one row without).  ``by`` is
    who did it (default: ``subject`` itself; ``by_email`` alone for a failed sign-in or a
    command)."""
    if action not in ACCOUNT_ACTIONS:
        raise ValueError(f"unknown account action {action!r}")
    actor = by if by is not None else (subject if by_email is None else None)
    email = actor.email if actor is not None else (by_email or COMMAND_LINE)
    if organisation_ids is None:
        organisation_ids = [m.organisation_id for m in subject.memberships] if subject else []
    events = [AuditEvent(user_id=actor.id if actor is not None else None,
                         user_email=email[:254], action=action, organisation_id=org_id,
                         detail=detail[:500])
              for org_id in sorted(set(organisation_ids)) or [None]]
    db.session.add_all(events)
    return events


def record_failed_sign_in(typed_email: str, reason: str) -> None:
    """A failed sign-in, committed: the address as typed (cut), never the password."""
    typed = typed_email[:TYPED_EMAIL_LENGTH]
    user = db.session.execute(select(User).where(User.email == typed_email)
                              ).scalar_one_or_none()
    record_account("login_failed", user, by_email=typed, detail=reason)
    db.session.commit()


def visible_events(wave_organisation_ids: Iterable[int],
                   account_organisation_ids: Iterable[int] = (), *,
                   unattached: bool = False, limit: int = EVENTS_SHOWN) -> list[tuple]:
    """``(event, wave year)``, newest first: the wave events of the first organisations, the
    account events of the second, and (``unattached``) the account events of no
    organisation."""
    waves, accounts = list(wave_organisation_ids), list(account_organisation_ids)
    if not waves and not accounts and not unattached:
        return []
    is_account = AuditEvent.action.in_(ACCOUNT_ACTIONS)
    shown = or_(
        and_(AuditEvent.organisation_id.in_(waves), ~is_account) if waves else false(),
        and_(AuditEvent.organisation_id.in_(accounts), is_account) if accounts else false(),
        and_(AuditEvent.organisation_id.is_(None), is_account) if unattached else false(),
    )
    return db.session.execute(
        select(AuditEvent, Wave.year).outerjoin(Wave, Wave.id == AuditEvent.wave_id)
        .where(shown)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc()).limit(limit)).all()


def events_of(organisation_ids: list[int], limit: int = EVENTS_SHOWN) -> list[tuple]:
    """``(event, wave year)`` of these organisations' waves, newest first."""
    return visible_events(organisation_ids, limit=limit)
