"""A response's credentials: the cookie token, its binding to the device, the resume code.

The database keeps only keyed hashes (``survey.models.token_hash``/``resume_code_hash``); the
resume code is derived from the token, so a page can show it without it being stored.

* A token counts only on the device the server issued it to: issuing one (consent, resume)
  also writes its hash into the device's signed session (``BINDING``).  A cookie without that
  binding — planted by someone else, or copied — is treated as no cookie at all, so answers are
  never shown to a device that neither started the response nor typed its resume code.
* Consent never keeps a token the client sent: continuing an in-progress response gives it a
  new token (and so a new resume code).  Typing a resume code does the same, so the code typed
  and every older device token stop working (``rekey``).
* Completing a response removes every link to the device: the stored hashes become NULL
  (survey/store.py), the cookie is cleared and the binding leaves the session
  (``forget_device``).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app, request, session
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from . import store
from .db import commit, connection, rollback
from .i18n import current_language
from .models import Response, new_token, resume_code_for, resume_code_hash, token_hash

_TOKEN = re.compile(r"[A-Za-z0-9_-]+")

# session keys: the hash of the token this device was issued, and "this browser submitted wave
# YEAR" (no link to the response; the session then ends with the browser)
BINDING = "response"
SUBMITTED = "submitted"


class Submitted:
    """What the landing page needs to say "you have already taken part"."""

    status = "complete"


class ResponseView(NamedTuple):
    """An in-progress response as a page shows it: the stored row and the resume code, which
    is derived from the device's token (only its hash is stored)."""

    id: int
    status: str
    page_index: int
    language: str
    started_at: datetime
    presentation_seed: int | None
    resume_code: str



class DeviceToken(NamedTuple):
    """The response cookie's token, issued to this device, and its stored hash."""

    token: str
    hash: str


def cookie_token(config=None) -> str | None:
    """The response cookie's token if it looks like one we issue (``new_token``: URL-safe
    base64), so nothing else (NUL, other scripts, kilobytes) ever reaches a query."""
    token = request.cookies.get((config or current_app.config)["RESPONSE_COOKIE"])
    if token and len(token) <= 64 and _TOKEN.fullmatch(token):
        return token
    return None


def _hash(token: str) -> str:
    return token_hash(current_app.config["SECRET_KEY"], token)


def device_token() -> DeviceToken | None:
    """The cookie's token and its hash when this device was issued it (the session's binding
    matches), else None: a planted or copied cookie finds nothing."""
    config = current_app.config  # looked up once: every request of a respondent comes here
    token = cookie_token(config)
    if token is None:
        return None
    bound = session.get(BINDING)
    if not bound:
        return None
    hashed = token_hash(config["SECRET_KEY"], token)
    return DeviceToken(token, hashed) if hashed == bound else None


def device_token_hash() -> str | None:
    """The hash of the cookie's token when this device was issued it, else None."""
    device = device_token()
    return device.hash if device is not None else None


def view(row, token: str) -> ResponseView | None:
    """The response ``row`` as a page shows it, with the resume code of the device's
    ``token``."""
    if row is None:
        return None
    return ResponseView(*row, resume_code_for(current_app.config["SECRET_KEY"], token))


def load_response(state) -> ResponseView | None:
    """This device's in-progress response in this wave, or None."""
    device = device_token()
    if device is None:
        return None
    return view(store.response_by_token(device.hash, state.id), device.token)


def cookie_max_age(state, now: datetime | None = None) -> int:
    """Seconds the response cookie lives: until the end of the wave's last day (in
    ``SURVEY_TIMEZONE``), at most ``RESPONSE_COOKIE_MAX_AGE`` (30 days).  The cookie is only
    needed to finish the questionnaire; a shorter life means a lost or inspected device less
    often still leads to an unfinished response, and after the wave closes it leads nowhere."""
    limit = int(current_app.config["RESPONSE_COOKIE_MAX_AGE"])
    if state.closes is None:
        return limit
    zone = ZoneInfo(current_app.config["SURVEY_TIMEZONE"])
    end = datetime.combine(state.closes + timedelta(days=1), time(0), tzinfo=zone)
    now = now or datetime.now(zone)
    return max(60, min(limit, int((end - now).total_seconds())))


def issue_token(http_response, state, token: str):
    """Give this device ``token``: the cookie, and the session's binding to it."""
    session[BINDING] = _hash(token)
    session.permanent = True  # the binding lasts as long as the cookie (sessions.py)
    http_response.set_cookie(
        current_app.config["RESPONSE_COOKIE"], token, max_age=cookie_max_age(state),
        httponly=True, samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
    )
    return http_response


def forget_device(http_response):
    """After completion: no cookie, no binding (the stored hashes are already NULL).  The
    session keeps only the CSRF secret and which wave this browser submitted, and lasts no
    longer than the browser's session."""
    session.pop(BINDING, None)
    session.permanent = False
    http_response.delete_cookie(
        current_app.config["RESPONSE_COOKIE"], httponly=True, samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
    )
    return http_response



# the other columns take their defaults (random public id, status, times)
_START = insert(Response.__table__).values(
    wave_id=bindparam("wave_id"), token_hash=bindparam("token"),
    resume_code_hash=bindparam("code"), language=bindparam("language"))
_TABLE = Response.__table__


def _hashes(token: str) -> dict[str, str]:
    """The stored hashes of a new token and of the resume code derived from it."""
    secret = current_app.config["SECRET_KEY"]
    return {"token": token_hash(secret, token),
            "code": resume_code_hash(secret, resume_code_for(secret, token))}


def rekey(response_id: int, *, token_hash: str | None = None,
           code_hash: str | None = None) -> str | None:
    """Give an in-progress response a new token (and so a new resume code), provided it still
    has the old token hash (``token_hash``) or resume-code hash (``code_hash``).  Returns the
    new token, or None when the response moved on meanwhile (completed, or re-keyed by a
    concurrent request, which then set the cookie itself)."""
    guard = _TABLE.c.token_hash if token_hash is not None else _TABLE.c.resume_code_hash
    statement = update(_TABLE).where(
        _TABLE.c.id == bindparam("rid"), _TABLE.c.status == "in_progress",
        guard == bindparam("old"),
    ).values(token_hash=bindparam("token"), resume_code_hash=bindparam("code"))
    for _attempt in range(5):  # a resume-code collision is astronomically rare; retry anyway
        token = new_token()
        try:
            result = connection().execute(statement, {
                "rid": response_id, "old": token_hash or code_hash, **_hashes(token)})
            commit()
        except IntegrityError:
            rollback()
            continue
        return token if result.rowcount == 1 else None
    raise RuntimeError("could not allocate a unique resume code")



def start_response(wave_id: int) -> str:
    """A new in-progress response; returns its cookie token."""
    for _attempt in range(5):  # a resume-code collision is astronomically rare; retry anyway
        token = new_token()
        try:
            connection().execute(_START, {"wave_id": wave_id, "language": current_language(),
                                          **_hashes(token)})
            commit()
            return token
        except IntegrityError:
            rollback()
    raise RuntimeError("could not allocate a unique resume code")



def resume_target(state, code: str):
    """(response id, furthest page, code hash) of the in-progress response with this resume
    code in this wave, or None (a completed response has no code any more)."""
    hashed = resume_code_hash(current_app.config["SECRET_KEY"], code)
    row = connection().execute(
        select(_TABLE.c.id, _TABLE.c.page_index).where(
            _TABLE.c.resume_code_hash == hashed, _TABLE.c.wave_id == state.id,
            _TABLE.c.status == "in_progress")
    ).first()
    return None if row is None else (row.id, row.page_index, hashed)
