"""The respondent's fast paths give exactly what the general code gives.

* A page view joins a cached frame of ``survey/page.html`` with the CSRF token, the questions and
  the resume code (survey/rendering.py): byte for byte what Jinja renders.
"""

from __future__ import annotations

import re

import pytest

from survey import rendering, wave_cache
from survey.wave_cache import WaveEntry

from .conftest import FULL, answer, make_wave, start

CSRF_VALUE = re.compile(r'(name="csrf_token" value=")[^"]+"')


def _without_csrf(html: str) -> str:
    return CSRF_VALUE.sub(r'\1…"', html)


def _frames() -> list:
    return [frame for entry in wave_cache.waves.values() for frame in entry.frames.values()]


def _forget_frames() -> None:
    for entry in wave_cache.waves.values():
        entry.frames.clear()


@pytest.fixture
def jinja_only(monkeypatch):
    """Render every page with Jinja (no frames)."""
    def use_jinja():
        monkeypatch.setattr(rendering, "_build_frame", lambda context: None)
        _forget_frames()
    return use_jinja


@pytest.mark.parametrize("query", ["", "?lang=en", "?lang=zh&x=1"])
def test_framed_pages_equal_jinja_pages(app, client, open_wave, jinja_only, query):
    start(client)
    answer(client, 2031, "about", FULL["about"])
    answer(client, 2031, "n01", FULL["n01"])
    urls = [f"/2031/page/{key}{query}" for key in ("about", "n01", "walk")]
    _forget_frames()
    framed = [client.get(url) for url in urls]
    framed += [client.get(url) for url in urls]  # from the cache now
    assert _frames() and all(frame is not None for frame in _frames())
    jinja_only()
    plain = [client.get(url) for url in urls] * 2
    for a, b in zip(framed, plain, strict=True):
        assert a.status_code == b.status_code == 200
        assert _without_csrf(a.text) == _without_csrf(b.text)
        assert a.headers["Content-Type"] == b.headers["Content-Type"]


def _start_with_csrf(client):
    consent = client.get("/2031/consent")
    token = re.search(r'name="csrf_token" value="([^"]+)"', consent.text).group(1)
    started = client.post("/2031/consent", data={"csrf_token": token})
    assert started.status_code == 303
    return client.get(started.headers["Location"])


def test_frame_holds_the_tokens_of_this_request(app, open_wave):
    app.config["WTF_CSRF_ENABLED"] = True
    client, other = app.test_client(), app.test_client()
    first, other_first = _start_with_csrf(client), _start_with_csrf(other)
    code_of = re.compile(r'class="code" lang="en">([^<]+)<')
    assert code_of.search(first.text).group(1) != code_of.search(other_first.text).group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', first.text).group(1)
    other_token = re.search(r'name="csrf_token" value="([^"]+)"', other_first.text).group(1)
    assert token != other_token
    # a token is accepted only in the session it was made for
    forged = client.post("/2031/page/about", data={**FULL["about"], "csrf_token": other_token})
    assert forged.status_code == 400
    saved = client.post("/2031/page/about", data={**FULL["about"], "csrf_token": token})
    assert saved.status_code == 303


def test_a_template_that_cannot_be_framed_is_rendered_by_jinja(app, client, open_wave,
                                                               monkeypatch):
    start(client)
    monkeypatch.setattr(rendering, "_QUESTIONS_SLOT", "<h1>")  # appears twice: no frame
    _forget_frames()
    page = client.get("/2031/page/about")
    assert page.status_code == 200 and 'name="sex"' in page.text
    assert set(_frames()) == {None}


def test_saved_rows_read_back_as_the_orm_writes_them(app, client, open_wave):
    """The page save runs fixed SQL on the driver: its timestamps and values must be what the
    ORM reads (and on SQLite, stored in SQLAlchemy's own text format)."""
    import datetime as dt

    from sqlalchemy import select, text

    from survey.db import db
    from survey.models import Answer, PageSave, Response

    from .conftest import complete

    # stored times keep the minute only (README.md, "Data protection")
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None, second=0, microsecond=0)
    complete(client)
    after = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with app.app_context():
        response = db.session.execute(select(Response)).scalar_one()
        assert response.status == "complete" and response.page_index == 3
        assert before <= response.started_at <= response.updated_at <= after
        assert response.duration_s is not None and 0 <= response.duration_s <= 60
        assert response.submitted_at == response.updated_at
        saves = db.session.execute(select(PageSave)).scalars().all()
        assert {s.page_key for s in saves} == {"about", "n01", "walk", "last"}
        assert all(before <= s.first_saved_at <= s.saved_at <= after for s in saves)
        answers = {a.item: a.code for a in db.session.execute(select(Answer)).scalars()}
        assert answers == {"sex": 2, "province": 2, "education": 1, "N01_A1": 5, "N01_P1": 4,
                           "N04_P4": 3, "ATTN1": 4, "N02_P1": 9}
        if db.engine.dialect.name == "sqlite":
            stored = db.session.execute(text(
                "SELECT started_at, updated_at, submitted_at FROM responses")).one()
            saved = db.session.execute(text("SELECT saved_at FROM page_saves")).scalars().all()
            pattern = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")
            assert all(pattern.fullmatch(value) for value in (*stored, *saved)), stored


def test_the_respondent_connection_and_the_orm_session(app, client, open_wave):
    """PostgreSQL: the respondent's path has an engine of its own whose connections are in
    AUTOCOMMIT, with the app's URL and pool options, disposed with ``db.engine``; the ORM session
    keeps its transactions on ``db.engine``.  SQLite: one engine for both."""
    from survey.db import RESPONDENT_ENGINE, connection, db

    start(client)
    assert answer(client, 2031, "about", FULL["about"]).status_code == 303
    with app.test_request_context("/2031/page/n01"):
        respondent = app.extensions[RESPONDENT_ENGINE]
        raw = connection().connection.driver_connection
        session = db.session.connection().connection.driver_connection
        if db.engine.dialect.name == "sqlite":
            assert respondent is db.engine
            return
        assert respondent is not db.engine and respondent.url == db.engine.url
        assert type(respondent.pool) is type(db.engine.pool)
        assert respondent.pool.size() == db.engine.pool.size()
        assert raw.autocommit and not session.autocommit
    assert respondent.pool.checkedin() == 1  # back in its pool at the end of the request
    with app.app_context():
        db.engine.dispose()
    assert respondent.pool.checkedin() == 0 and raw.closed


def _effective_answers_reference(wave, answers):
    """The uncached computation, page by page."""
    effective, visible = {}, {}
    for page in wave.pages:
        seen = dict(effective)
        for item in page.items:
            if item.code in answers:
                seen[item.code] = answers[item.code]
        shown = wave.visible_items(page, seen)
        visible[page.key] = shown
        for item in shown:
            if item.code in answers:
                effective[item.code] = answers[item.code]
    return effective, visible


def test_cached_visibility_equals_the_page_by_page_computation():
    import random

    from survey.respondent import effective_answers

    wave = make_wave()
    entry = WaveEntry(wave)
    codes = [item.code for page in wave.pages for item in page.items] + ["stale_item"]
    rng = random.Random(5)
    for _ in range(3000):
        answers = {code: rng.choice([1, 2, 3, 4, 5, 9]) for code in codes if rng.random() < 0.7}
        got = effective_answers(entry, answers)
        want = _effective_answers_reference(wave, answers)
        assert got == want and list(got[0]) == list(want[0]), answers
