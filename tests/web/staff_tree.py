"""A small organisation tree with a wave each, and staff accounts in it (console and API
tests): national → SC → CD, national → HB; every organisation has an open wave 2031."""

from __future__ import annotations

import json

from sqlalchemy import select

from survey.db import db
from survey.models import Organisation, Questionnaire, User, Wave

from .conftest import add_org, add_user, make_wave

ORGS = ("national", "SC", "CD", "HB")
ROLES = ("viewer", "analyst", "organiser", "admin")


def add_wave(app, org_code: str, year: int = 2031, status: str = "open", wave=None) -> int:
    """Wave ``year`` of the organisation with its questionnaire (``wave``, a definition;
    ``make_wave(year)`` when not given), its id."""
    wave = wave if wave is not None else make_wave(year)
    with app.app_context():
        org = db.session.execute(
            select(Organisation).where(Organisation.code == org_code)).scalar_one()
        row = Wave(year=year, status=status, opens=wave.opens, closes=wave.closes,
                   organisation=org)
        db.session.add(row)
        db.session.flush()
        db.session.add(Questionnaire(wave_id=row.id, content_hash=wave.content_hash,
                                     definition=json.dumps(wave.to_dict(), ensure_ascii=False)))
        db.session.commit()
        return row.id


def build_tree(app):
    add_org(app, "SC", "national")
    add_org(app, "CD", "SC")
    add_org(app, "HB", "national")
    for code in ORGS:
        add_wave(app, code)


def token_for(app, email: str) -> str:
    from survey.accounts import create_api_token

    with app.app_context():
        user = db.session.execute(select(User).where(User.email == email)).scalar_one()
        return create_api_token(user)


def staff(app, role: str, member_of: str = "SC") -> str:
    email = f"{role}.{member_of}@example.org".lower()
    add_user(app, email, (member_of, role))
    return email


# what a member of SC may do to each organisation's wave, by role: own (SC), child (CD),
# sibling (HB); reading reaches down, changing stays in the own organisation
def expected(role: str, action: str, target: str) -> bool:
    reaches = {"SC": True, "CD": action != "manage", "HB": False}[target]
    allowed = {"viewer": {"monitor"}, "analyst": {"monitor", "export"},
               "organiser": {"monitor", "export", "manage"}, "admin": {"monitor"}}[role]
    return reaches and action in allowed


# the answers of the tree's completed responses: (item, code) of make_wave's items, varied by
# the response's number so that codes, categories and flags differ from row to row
def _answers(n: int) -> dict[str, int]:
    return {"sex": 1 + n % 2, "province": 1 + n % 3, "education": 1 + n % 2,
            "N01_A1": 1 + n % 5, "N01_P1": 4 if n % 2 else 9, "N04_P4": 1 + n % 5,
            "ATTN1": 4 if n % 4 else 2, "N02_P1": 1 + (n * 3) % 5}


def add_responses(app, org_code: str, count: int, year: int = 2031,
                  in_progress: int = 0) -> list[str]:
    """``count`` completed responses (and ``in_progress`` unfinished ones between them) to
    the organisation's wave; returns the completed ones' public ids in id order."""
    from datetime import datetime, timedelta

    from survey.models import Answer, Response

    public_ids = []
    with app.app_context():
        wave_id = db.session.execute(
            select(Wave.id).join(Organisation).where(Organisation.code == org_code,
                                                     Wave.year == year)).scalar_one()
        statuses = []
        for n in range(count):  # an unfinished response after each of the first completed
            statuses += ["complete"] + (["in_progress"] if n < in_progress else [])
        statuses += ["in_progress"] * max(0, in_progress - count)
        for n, status in enumerate(statuses):
            complete = status == "complete"
            started = datetime(2031, 3, 1, 8, 0) + timedelta(minutes=7 * n)
            response = Response(
                wave_id=wave_id, status=status, started_at=started,
                submitted_at=started + timedelta(minutes=5) if complete else None,
                duration_s=(20 if n % 5 == 0 else 300 + 11 * n) if complete else None)
            db.session.add(response)
            db.session.flush()
            for item, code in _answers(n).items():
                db.session.add(Answer(response_id=response.id, item=item, code=code))
            if complete:
                public_ids.append(response.public_id)
        db.session.commit()
    return public_ids
