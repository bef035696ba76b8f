"""Abuse: new responses are throttled per client, and a honeypot on the consent form catches
simple bots (survey/limits.py, survey/respondent.py, survey/templates/survey/consent.html)."""

from __future__ import annotations

import re
import secrets

import pytest
from sqlalchemy import func, select

from survey.db import db
from survey.models import Answer, Response

from .conftest import FULL, answer, install_wave, make_wave, reachable_redis

REDIS_URL = "redis://127.0.0.1:6379/0"


def count_responses(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response))


def new_respondent(app, address: str = "127.0.0.1"):
    """A fresh browser (no cookies) at ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


# --------------------------------------------------------------------------- throttling


def test_new_responses_are_throttled_per_client(app, open_wave):
    app.config["NEW_RESPONSE_RATE_LIMIT"] = "3 per hour"
    from survey import limits

    limits.init_app(app)  # re-read the limit
    for _ in range(3):
        assert new_respondent(app).post("/2031/consent").status_code == 303
    refused = new_respondent(app).post("/2031/consent")
    assert refused.status_code == 429
    assert 3500 <= int(refused.headers["Retry-After"]) <= 3600
    body = refused.get_data(as_text=True)
    assert "从这个网络开始的新问卷太多" in body and "Traceback" not in body
    assert "survey_response" not in refused.headers.get("Set-Cookie", "")
    assert count_responses(app) == 3
    english = new_respondent(app).post("/2031/consent?lang=en")
    assert english.status_code == 429
    assert "Too many new questionnaires from this connection" in english.text
    # another address is another client
    assert new_respondent(app, "198.51.100.23").post("/2031/consent").status_code == 303
    assert count_responses(app) == 4


def test_a_throttled_client_still_continues_its_own_response(app, open_wave):
    app.config["NEW_RESPONSE_RATE_LIMIT"] = "1 per hour"
    from survey import limits

    limits.init_app(app)
    phone = new_respondent(app)
    assert phone.post("/2031/consent").status_code == 303
    assert new_respondent(app).post("/2031/consent").status_code == 429
    again = phone.post("/2031/consent")  # a double tap, or consent again: the same response
    assert again.status_code == 303 and again.headers["Location"].endswith("/2031/page/about")
    assert answer(phone, 2031, "about", FULL["about"]).status_code == 303
    assert count_responses(app) == 1


def test_the_default_is_30_new_responses_per_client_per_hour(app, open_wave):
    assert app.config["NEW_RESPONSE_RATE_LIMIT"] == "30 per hour"
    codes = [new_respondent(app).post("/2031/consent").status_code for _ in range(31)]
    assert codes == [303] * 30 + [429]


def test_the_limit_comes_from_the_environment(monkeypatch, tmp_path):
    from survey import create_app

    monkeypatch.setenv("NEW_RESPONSE_RATE_LIMIT", "100 per hour; 10 per minute")
    app = create_app({"SECRET_KEY": "x",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    assert app.config["NEW_RESPONSE_RATE_LIMIT"] == "100 per hour; 10 per minute"


@pytest.fixture
def redis_url():
    return reachable_redis(REDIS_URL)


def test_workers_share_the_counts_through_redis(redis_url, tmp_path):
    """Two workers (two apps) on one Redis: a client's new responses count once across them,
    and the storage holds a keyed hash of the address, never the address itself."""
    import redis

    from survey import create_app

    secret = secrets.token_hex(16)  # a key of this test's own: no counts from other runs
    workers = []
    for _ in range(2):
        worker = create_app({
            "TESTING": True, "SECRET_KEY": secret, "WTF_CSRF_ENABLED": False,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'shared.sqlite'}",
            "WAVE_CACHE_SECONDS": 0, "RATELIMIT_STORAGE_URI": redis_url,
            "NEW_RESPONSE_RATE_LIMIT": "2 per hour",
        })
        workers.append(worker)
    with workers[0].app_context():
        db.create_all()
    install_wave(workers[0], make_wave())
    address = f"203.0.113.{secrets.randbelow(250) + 1}"
    one, two = workers
    assert new_respondent(one, address).post("/2031/consent").status_code == 303
    assert new_respondent(two, address).post("/2031/consent").status_code == 303
    assert new_respondent(one, address).post("/2031/consent").status_code == 429
    assert new_respondent(two, address).post("/2031/consent").status_code == 429
    keys = [key.decode() for key in redis.Redis.from_url(redis_url).keys("*new_response*")]
    assert keys and not any(address in key for key in keys), keys
    for worker in workers:
        with worker.app_context():
            db.engine.dispose()


# --------------------------------------------------------------------------- honeypot


def test_the_honeypot_is_hidden_from_people_and_screen_readers(client, open_wave):
    html = client.get("/2031/consent").text
    trap = re.search(r'<div class="hp" aria-hidden="true">(.*?)</div>', html, re.S)
    assert trap, "no honeypot on the consent form"
    field = re.search(r"<input [^>]*name=\"website\"[^>]*>", trap.group(1)).group(0)
    for attribute in ('type="url"', 'tabindex="-1"', 'autocomplete="off"', 'id="website"',
                      'value=""'):
        assert attribute in field, attribute
    assert '<label for="website">请不要填写此栏</label>' in trap.group(1)
    css = client.get("/static/survey.css").text
    rule = re.search(r"\.hp \{([^}]*)\}", css).group(1)
    assert "position: absolute" in rule and "left: -10000px" in rule and "overflow: hidden" in rule


def test_a_filled_honeypot_starts_nothing_and_looks_normal(app, client, open_wave):
    bot = client.post("/2031/consent", data={"website": "http://spam.example/"})
    assert bot.status_code == 303
    assert bot.headers["Location"].endswith("/2031/page/about")  # what a person gets
    assert "survey_response" not in bot.headers.get("Set-Cookie", "")
    assert count_responses(app) == 0
    followed = client.get(bot.headers["Location"])  # no response behind it: back to the start
    assert followed.status_code == 303 and followed.headers["Location"].endswith("/2031/")
    posted = answer(client, 2031, "about", FULL["about"])
    assert posted.status_code == 303 and posted.headers["Location"].endswith("/2031/")
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Answer)) == 0


def test_an_empty_honeypot_is_a_person(app, client, open_wave):
    started = client.post("/2031/consent", data={"website": ""})
    assert started.status_code == 303
    assert "survey_response=" in started.headers["Set-Cookie"]
    assert count_responses(app) == 1


def test_honeypot_hits_do_not_use_up_the_limit(app, open_wave):
    app.config["NEW_RESPONSE_RATE_LIMIT"] = "1 per hour"
    from survey import limits

    limits.init_app(app)
    for _ in range(5):
        new_respondent(app).post("/2031/consent", data={"website": "x"})
    assert new_respondent(app).post("/2031/consent").status_code == 303
    assert count_responses(app) == 1


def test_an_unconfigured_proxy_is_reported_once(app, open_wave, caplog):
    """Behind a proxy without TRUSTED_PROXIES all clients share one address, and so one limit."""
    for _ in range(3):
        client = new_respondent(app)
        client.post("/2031/consent", headers={"X-Forwarded-For": "198.51.100.7"})
    warnings = [r for r in caplog.records if "TRUSTED_PROXIES is 0" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"
