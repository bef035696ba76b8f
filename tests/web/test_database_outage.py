"""While the database is out, clients get a 503 with Retry-After and a friendly page, not a
500: a browser, a proxy or a load balancer may retry, and the person learns that their saved
answers are safe."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from survey import store

from .conftest import FULL, answer, start

UNREACHABLE = "postgresql+psycopg://survey@127.0.0.1:1/nowhere?connect_timeout=2"


def assert_unavailable(response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers["Retry-After"] == "30"
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "psycopg" not in body and "sqlite" not in body.lower()


@pytest.fixture
def outage_app(tmp_path):
    """The app pointed at a PostgreSQL address where nothing listens."""
    from survey import create_app
    from survey.db import db

    app = create_app({"TESTING": True, "SECRET_KEY": "test secret", "WTF_CSRF_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": UNREACHABLE, "WAVE_CACHE_SECONDS": 0})
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("method, url", [
    ("GET", "/"), ("GET", "/2031/"), ("GET", "/2031/consent"), ("POST", "/2031/consent"),
    ("GET", "/2031/page/about"), ("POST", "/2031/page/about"), ("POST", "/2031/resume"),
    ("GET", "/2031/thanks"), ("POST", "/login"),
])
def test_an_unreachable_database_gives_503_with_retry_after(outage_app, method, url):
    client = outage_app.test_client()
    client.set_cookie("survey_response", "x" * 43)
    response = client.open(url, method=method, data={"sex": "1", "code": "AAAA-AAAA",
                                                      "email": "staff@example.org",
                                                      "password": "a password"})
    assert_unavailable(response)
    assert "调查暂时无法使用" in response.text and "已经保存的回答不会丢失" in response.text


def test_the_outage_page_speaks_english_too(outage_app):
    response = outage_app.test_client().get("/2031/?lang=en")
    assert_unavailable(response)
    assert "The survey is unavailable for a moment" in response.text


def test_the_outage_is_logged_for_the_operator(outage_app, caplog):
    outage_app.test_client().get("/2031/")
    assert any("database unavailable (OperationalError) for GET /2031/" in r.getMessage()
               and r.exc_info for r in caplog.records)


def _driver_error(app, kind: str):
    """The driver's own exception class for this app's database (store.py raises those)."""
    from survey.db import db

    with app.app_context():
        return getattr(db.engine.dialect.loaded_dbapi, kind)


def test_a_connection_lost_on_the_hot_path_gives_503(app, client, open_wave, monkeypatch):
    """The page's SQL runs on the driver connection, so the driver's error arrives unwrapped."""
    start(client)
    answer(client, 2031, "about", FULL["about"])
    error = _driver_error(app, "OperationalError")

    def lost(*args, **kwargs):
        raise error("server closed the connection unexpectedly")

    monkeypatch.setattr(store, "response_with_answers", lost)
    assert_unavailable(client.get("/2031/page/n01"))
    monkeypatch.undo()
    assert client.get("/2031/page/n01").status_code == 200  # back when the database is


def test_a_save_that_finds_the_database_locked_gives_503_and_saves_nothing(app, client,
                                                                          open_wave,
                                                                          monkeypatch):
    start(client)
    error = _driver_error(app, "OperationalError")

    def locked(*args, **kwargs):
        raise error("database is locked")

    monkeypatch.setattr(store, "save_page", locked)
    assert_unavailable(answer(client, 2031, "about", FULL["about"]))
    monkeypatch.undo()
    assert answer(client, 2031, "about", FULL["about"]).status_code == 303


@pytest.mark.parametrize("error", [
    sa.exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"),
    sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("disk I/O error")),
])
def test_pool_timeouts_and_wrapped_errors_give_503(app, client, open_wave, monkeypatch, error):
    from survey import respondent

    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(respondent, "wave_state", fail)
    assert_unavailable(client.get("/2031/"))


def test_a_bug_is_still_a_500_not_an_outage(app, client, open_wave, monkeypatch):
    """Only errors of the database's availability are 503; a wrong query stays a 500."""
    from survey import respondent

    app.config["PROPAGATE_EXCEPTIONS"] = False

    def wrong(*args, **kwargs):
        raise sa.exc.ProgrammingError("SELECT nonsense", {}, Exception("syntax error"))

    monkeypatch.setattr(respondent, "wave_state", wrong)
    response = client.get("/2031/")
    assert response.status_code == 500 and "Retry-After" not in response.headers
