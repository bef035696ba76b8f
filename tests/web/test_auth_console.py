"""The signed-in pages: /research/status (counts, cached) and /console/, each showing only
what the account's roles reach; respondent URLs keep serving the default organisation."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, func, select

from survey import wave_cache
from survey.db import RESPONDENT_ENGINE, db
from survey.models import Organisation, Response, Wave

from .conftest import add_org, add_user, complete, sign_in, start
from .staff_tree import add_wave


@pytest.fixture
def tree(app):
    """national (wave 2031) → SC (wave 2031 draft) → CD (wave 2032); national → HB (2033)."""
    add_org(app, "SC", "national")
    add_org(app, "CD", "SC")
    add_org(app, "HB", "national")
    add_wave(app, "national", 2031)
    add_wave(app, "SC", 2031, "draft")
    add_wave(app, "CD", 2032)
    add_wave(app, "HB", 2033, "closed")
    return app


def rows(page) -> list[tuple[str, str]]:
    """(year, organisation) of every row of the status table."""
    return re.findall(r'<th scope="row">(\d+)</th>\s*<td>([^<]*)</td>', page.text)


def test_the_staff_pages_need_a_sign_in(client):
    for path in ("/research/status", "/console/"):
        response = client.get(path)
        assert response.status_code == 303
        assert response.headers["Location"] == f"/login?next={path}"


@pytest.mark.parametrize("member_of, seen", [
    ("national", {("2031", "national org"), ("2031", "SC org"), ("2032", "CD org"),
                  ("2033", "HB org")}),
    ("SC", {("2031", "SC org"), ("2032", "CD org")}),
    ("CD", {("2032", "CD org")}),
    ("HB", {("2033", "HB org")}),
])
def test_the_status_page_shows_the_waves_the_roles_reach(tree, member_of, seen):
    with tree.app_context():  # the test names organisations "CODE org"
        db.session.execute(select(Organisation).where(Organisation.code == "national")
                           ).scalar_one().name_en = "national org"
        db.session.commit()
    add_user(tree, "staff@example.org", (member_of, "viewer"))
    client = tree.test_client()
    sign_in(client)
    assert set(rows(client.get("/research/status?lang=en"))) == seen
    console = client.get("/console/?lang=en").text
    assert {code for code in ("national", "SC", "CD", "HB") if f"({code})" in console} == \
        {org.split()[0] for _year, org in seen}


def test_the_status_page_counts_responses(app, client, open_wave):
    complete(client)
    app.test_client().post("/2031/consent")
    add_user(app)
    staff = app.test_client()
    sign_in(staff)
    page = staff.get("/research/status?lang=en")
    assert page.status_code == 200
    row = re.search(r"<th scope=\"row\">2031</th>(.*?)</tr>", page.text, re.S).group(1)
    assert re.findall(r"<td>(\d+)</td>", row) == ["1", "1"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Response)) == 2


def count_queries(app) -> list[str]:
    """The SQL statements the app's engines run from now on (the respondent's path has an engine
    of its own on PostgreSQL, survey/db.py)."""
    seen: list[str] = []
    with app.app_context():
        for engine in {db.engine, app.extensions[RESPONDENT_ENGINE]}:
            event.listen(engine, "before_cursor_execute",
                         lambda conn, cursor, statement, *a: seen.append(statement))
    return seen


def test_counts_are_cached_per_wave_and_not_recounted_per_view(app, client, open_wave,
                                                               monkeypatch):
    app.config.update(STATUS_COUNTS_SECONDS=30, CLOSED_STATUS_COUNTS_SECONDS=3600)
    wave_cache.response_counts.clear()
    clock = [1000.0]
    monkeypatch.setattr(wave_cache.time, "monotonic", lambda: clock[0])
    add_user(app)
    staff = app.test_client()
    sign_in(staff)
    statements = count_queries(app)

    def counted() -> int:
        statements.clear()
        page = staff.get("/research/status")
        assert page.status_code == 200
        return sum("count(" in s.lower() and "responses" in s for s in statements)

    assert counted() == 1
    complete(client)
    assert counted() == 0  # within 30 s: from the cache, no scan of the responses
    clock[0] += 31
    assert counted() == 1
    assert re.findall(r"<td>(\d+)</td>", staff.get("/research/status").text)[:2] == ["1", "0"]
    assert app.test_cli_runner().invoke(args=["close-wave", "2031"]).exit_code == 0
    assert counted() == 1  # a new status is a new key
    clock[0] += 3000
    assert counted() == 0  # a closed wave's counts cannot change
    wave_cache.response_counts.clear()


def test_an_account_without_roles_sees_no_status_and_an_empty_console(app, client):
    add_user(app, "lonely@example.org", ("national", "viewer"))
    with app.app_context():
        db.session.execute(db.metadata.tables["memberships"].delete())
        db.session.commit()
    sign_in(client, "lonely@example.org")
    assert client.get("/research/status").status_code == 403
    assert "no role in any organisation" in client.get("/console/?lang=en").text


def test_the_status_page_can_be_switched_off(app, client):
    add_user(app)
    sign_in(client)
    app.config["STATUS_PAGE"] = False
    assert client.get("/research/status").status_code == 404


def test_respondent_urls_serve_the_default_organisations_wave_of_a_year(tree, client,
                                                                        runner):
    """SC has a draft wave 2031 too: /2031/ and the wave commands are national's."""
    assert client.get("/2031/").status_code == 200  # national's is open, SC's a draft
    complete(client)
    assert runner.invoke(args=["close-wave", "2031"]).exit_code == 0
    with tree.app_context():
        statuses = dict(db.session.execute(
            select(Organisation.code, Wave.status).join(Wave.organisation)
            .where(Wave.year == 2031)).all())
    assert statuses == {"national": "closed", "SC": "draft"}
    assert client.get("/2032/").status_code == 404  # CD's wave has no respondent URL yet


def test_respondent_pages_do_not_load_the_user(app, client, open_wave, monkeypatch):
    """Signed in or not, a respondent's request never reads the users table."""
    add_user(app)
    sign_in(client)
    statements = count_queries(app)
    client.get("/2031/")
    complete(client)
    assert statements and not [s for s in statements if "users" in s]
    respondent = app.test_client()  # nor does signing-in machinery touch their sessions
    start(respondent)
    again = respondent.get("/2031/page/about")
    assert again.status_code == 200 and "Set-Cookie" not in again.headers
