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


def add_wave(app, org_code: str, year: int = 2031, status: str = "open"):
    wave = make_wave(year)
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
