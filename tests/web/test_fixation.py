"""Session fixation: a planted ``survey_response`` cookie, or a resume code handed to a victim,
must not let the attacker read what the victim answers; consent and resume never keep a token
the client brought (survey/respondent.py)."""

from __future__ import annotations

import re

from sqlalchemy import select

from survey.db import db
from survey.models import Answer, Response

from .conftest import FULL, answer, start
from .test_respondent import checked

CODE = re.compile(r'class="code" lang="en">([A-Z0-9]{4})-([A-Z0-9]{4})<')
VICTIM_ABOUT = {"sex": "1", "province": "3", "education": "2"}  # the attacker chose 2, 2, 1


def shown_code(html: str) -> str:
    return "".join(CODE.search(html).groups())


def answers_by_response(app) -> dict[int, dict[str, int]]:
    with app.app_context():
        rows = db.session.execute(select(Answer.response_id, Answer.item, Answer.code)).all()
    result: dict[int, dict[str, int]] = {}
    for rid, item, code in rows:
        result.setdefault(rid, {})[item] = code
    return result


def attacker_with_a_response(app):
    """The attacker starts a response and answers its first page; returns (client, token,
    resume code)."""
    attacker = app.test_client()
    code = shown_code(start(attacker).text)
    answer(attacker, 2031, "about", FULL["about"])
    return attacker, attacker.get_cookie("survey_response").value, code


def attacker_sees_victim(attacker) -> bool:
    """Whether any page the attacker's token opens shows the victim's answers."""
    about = attacker.get("/2031/page/about")
    return about.status_code == 200 and checked(about.text, "sex") == VICTIM_ABOUT["sex"]


# --------------------------------------------------------------------------- planted cookie


def test_a_planted_cookie_opens_nothing_on_the_victims_device(app, open_wave):
    attacker, token, _code = attacker_with_a_response(app)
    victim = app.test_client()
    victim.set_cookie("survey_response", token)  # planted: the victim's browser never got it
    page = victim.get("/2031/page/about")
    assert page.status_code == 303 and page.headers["Location"].endswith("/2031/")
    landing = victim.get("/2031/")
    assert "欢迎回来" not in landing.text  # no "welcome back", no attacker's resume code
    assert CODE.search(landing.text) is None
    saved = answer(victim, 2031, "about", VICTIM_ABOUT)
    assert saved.headers["Location"].endswith("/2031/")  # nothing saved into the planted one
    # the victim starts properly: a token of the server's own, never the planted one
    start(victim)
    assert victim.get_cookie("survey_response").value != token
    answer(victim, 2031, "about", VICTIM_ABOUT)
    assert not attacker_sees_victim(attacker)
    attacker_rows = [a for a in answers_by_response(app).values()
                     if a.get("sex") == int(FULL["about"]["sex"])]
    assert len(attacker_rows) == 1 and attacker_rows[0]["province"] == 2


def test_consent_never_keeps_a_token_the_client_brought(app, open_wave):
    attacker, token, code = attacker_with_a_response(app)
    victim = app.test_client()
    victim.set_cookie("survey_response", token)
    consent = victim.post("/2031/consent")
    assert consent.status_code == 303
    issued = victim.get_cookie("survey_response").value
    assert issued != token
    answer(victim, 2031, "about", VICTIM_ABOUT)
    assert not attacker_sees_victim(attacker)
    # nor through the attacker's resume code
    spy = app.test_client()
    found = spy.post("/2031/resume", data={"code": code})
    if found.status_code == 200 and CODE.search(found.text):
        assert not attacker_sees_victim(spy)
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Response)) == 2


def test_consent_again_gives_the_same_response_a_new_token_and_code(app, client, open_wave):
    first_code = shown_code(start(client).text)
    answer(client, 2031, "about", FULL["about"])
    old = {name: client.get_cookie(name).value for name in ("survey_response", "session")}
    again = client.post("/2031/consent")
    assert again.headers["Location"].endswith("/2031/page/n01")
    assert client.get_cookie("survey_response").value != old["survey_response"]
    page = client.get("/2031/page/n01")
    assert page.status_code == 200 and shown_code(page.text) != first_code
    # a copy of the old cookies (the same browser, a moment ago) opens nothing any more
    copy = app.test_client()
    for name, value in old.items():
        copy.set_cookie(name, value)
    assert copy.get("/2031/page/about").status_code == 303
    assert "没有找到" in app.test_client().post("/2031/resume", data={"code": first_code}).text


# --------------------------------------------------------------------------- handed resume code


def test_a_resume_code_handed_to_a_victim_moves_the_response_away_from_the_attacker(
        app, open_wave):
    attacker, _token, code = attacker_with_a_response(app)
    victim = app.test_client()
    moved = victim.post("/2031/resume", data={"code": code})
    assert moved.status_code == 200
    new_code = shown_code(moved.text)
    assert new_code != code
    assert "续答码" in moved.text and "已失效" in moved.text  # the person is told
    answer(victim, 2031, "about", VICTIM_ABOUT)
    # the attacker's device token and the handed code stop working
    assert not attacker_sees_victim(attacker)
    assert attacker.get("/2031/page/about").status_code == 303
    again = app.test_client().post("/2031/resume", data={"code": code})
    assert "没有找到" in again.text and "survey_response=" not in again.headers.get(
        "Set-Cookie", "")
    # only the new code, typed on a device, opens it
    laptop = app.test_client()
    assert laptop.post("/2031/resume", data={"code": new_code}).status_code == 200
    assert checked(laptop.get("/2031/page/about").text, "sex") == VICTIM_ABOUT["sex"]
    assert victim.get("/2031/page/about").status_code == 303  # moved on again


def test_answers_are_never_shown_without_the_code_being_typed_on_that_device(app, open_wave):
    owner = app.test_client()
    start(owner)
    answer(owner, 2031, "about", VICTIM_ABOUT)
    stranger = app.test_client()  # only the response cookie copied over, no code typed
    stranger.set_cookie("survey_response", owner.get_cookie("survey_response").value)
    for url in ("/2031/page/about", "/2031/page/n01", "/2031/"):
        page = stranger.get(url)
        assert page.status_code in (200, 303)
        assert checked(page.text, "sex") is None and CODE.search(page.text) is None
    assert owner.get("/2031/page/about").status_code == 200  # the owner is unaffected


# --------------------------------------------------------------------------- closing a wave


def test_closing_a_wave_unlinks_unfinished_responses(app, open_wave, runner):
    attacker, _token, _code = attacker_with_a_response(app)
    with app.app_context():
        before = db.session.execute(select(Response)).scalar_one()
        assert before.token_hash and before.resume_code_hash
    result = runner.invoke(args=["close-wave", "2031"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        after = db.session.execute(select(Response)).scalar_one()
        assert after.status == "in_progress"
        assert after.token_hash is None and after.resume_code_hash is None
        assert after.started_at.second == 0 and after.started_at.microsecond == 0
    # the answers stay; nothing opens them any more
    assert answers_by_response(app)[after.id]["sex"] == 2
