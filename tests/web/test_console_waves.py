"""The console's organisation and wave pages: the permission check on every route (role ×
own/child/sibling organisation), open and close with CSRF and an audit event, the export
download, and respondent URLs for other organisations' waves."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from survey.db import db
from survey.models import AuditEvent, Wave

from .conftest import FULL, csrf_from, sign_in
from .staff_tree import ROLES, build_tree, expected, staff

TARGETS = ("SC", "CD", "HB")


@pytest.fixture
def tree(app):
    build_tree(app)
    return app


def wave_status(app, code: str) -> str:
    with app.app_context():
        return db.session.execute(
            select(Wave.status).join(Wave.organisation).where(
                Wave.organisation.has(code=code))).scalar_one()


def events(app) -> list[tuple[str, str, int]]:
    """The waves' events (the sign-ins are account events: test_account_audit.py)."""
    with app.app_context():
        return [(e.user_email, e.action, e.wave_id) for e in
                db.session.execute(select(AuditEvent).where(AuditEvent.wave_id.is_not(None))
                                   .order_by(AuditEvent.id)).scalars()]


@pytest.mark.parametrize("role", ROLES)
def test_every_route_checks_the_role_and_the_organisation(tree, role):
    email = staff(tree, role)
    client = tree.test_client()
    sign_in(client, email)
    for target in TARGETS:
        page = client.get(f"/console/{target}/2031/")
        assert page.status_code == (200 if expected(role, "monitor", target) else 403), target
        assert client.get(f"/console/{target}/").status_code == page.status_code
        download = client.get(f"/console/{target}/2031/export?format=csv")
        assert download.status_code == (200 if expected(role, "export", target) else 403), \
            (role, target)
        closed = client.post(f"/console/{target}/2031/close")
        assert closed.status_code == (303 if expected(role, "manage", target) else 403), \
            (role, target)
        assert wave_status(tree, target) == (
            "closed" if expected(role, "manage", target) else "open")
        opened = client.post(f"/console/{target}/2031/open", data={"closes": "2099-06-30"})
        assert opened.status_code == closed.status_code
        assert wave_status(tree, target) == "open"
    assert client.get("/console/nowhere/2031/").status_code == 404
    assert client.get("/console/nowhere/").status_code == 404
    assert client.get("/console/SC/1999/").status_code == 404
    assert client.get("/console/SC/2031/export?format=exe").status_code in (403, 404)


def test_the_buttons_and_the_export_form_show_only_to_who_may_use_them(tree):
    for role, buttons, download in [("viewer", False, False), ("analyst", False, True),
                                    ("organiser", True, True)]:
        client = tree.test_client()
        sign_in(client, staff(tree, role))
        page = client.get("/console/SC/2031/?lang=en").text
        assert ("Close the wave" in page) is buttons, role
        assert ("Export the responses" in page) is download, role
        child = client.get("/console/CD/2031/?lang=en").text  # a parent reads, never changes
        assert "Close the wave" not in child and ("Export the responses" in child) is download


def test_open_and_close_write_audit_events_shown_in_the_console(tree):
    client = tree.test_client()
    email = staff(tree, "organiser")
    sign_in(client, email)
    assert client.post("/console/SC/2031/close").status_code == 303
    assert client.post("/console/SC/2031/open", data={"opens": "", "closes": "2099-01-31"}
                       ).status_code == 303
    assert client.get("/console/SC/2031/export?format=csv").status_code == 200
    with tree.app_context():
        sc_wave = db.session.execute(select(Wave.id).where(
            Wave.organisation.has(code="SC"))).scalar_one()
    assert events(tree) == [(email, "close_wave", sc_wave), (email, "open_wave", sc_wave),
                            (email, "export", sc_wave)]
    page = client.get("/console/SC/?lang=en").text
    assert page.count(email) >= 3 and "closed the wave" in page and "2099-01-31" in page
    assert email not in tree.test_client().get("/console/HB/?lang=en").text


def test_a_refused_opening_says_why_in_both_languages(tree):
    client = tree.test_client()
    sign_in(client, staff(tree, "organiser"))
    page = client.post("/console/SC/2031/open?lang=en",
                       data={"opens": "2030-05-01", "closes": "2030-04-01"})
    assert page.status_code == 400
    assert "The last day (2030-04-01) is before the first day (2030-05-01)." in page.text
    page = client.post("/console/SC/2031/open?lang=zh", data={"opens": "31/12/2030"})
    assert page.status_code == 400 and "YYYY-MM-DD" in page.text and 'lang="zh-CN"' in page.text
    assert events(tree) == []


def test_console_forms_need_the_csrf_token(make_app):
    app = make_app(install=False, WTF_CSRF_ENABLED=True)
    with app.app_context():
        db.create_all()
    build_tree(app)
    client = app.test_client()
    email = staff(app, "organiser")
    login = client.get("/login")
    client.post("/login", data={"email": email, "password": "correct horse battery staple",
                                "csrf_token": csrf_from(login.text)})
    page = client.get("/console/SC/2031/")
    assert page.status_code == 200
    assert client.post("/console/SC/2031/close").status_code == 400
    assert wave_status(app, "SC") == "open" and events(app) == []
    token = csrf_from(client.get("/console/SC/2031/").text)
    assert client.post("/console/SC/2031/close", data={"csrf_token": token}).status_code == 303
    assert wave_status(app, "SC") == "closed" and len(events(app)) == 1


def test_the_export_download_is_the_export_of_that_organisations_wave(tree):
    respondent = tree.test_client()
    start = respondent.post("/o/SC/2031/consent")
    assert start.status_code == 303 and start.headers["Location"] == "/o/SC/2031/page/about"
    for key, data in FULL.items():
        saved = respondent.post(f"/o/SC/2031/page/{key}", data={**data, "nav": "next"})
        assert saved.status_code == 303, saved.text
    assert saved.headers["Location"] == "/o/SC/2031/thanks"
    client = tree.test_client()
    sign_in(client, staff(tree, "analyst"))
    sc = client.get("/console/SC/2031/export?format=csv")
    assert sc.headers["Content-Disposition"] == 'attachment; filename="SC-2031.csv"'
    assert len(sc.text.strip().splitlines()) == 2  # the header and SC's one response
    cd = client.get("/console/CD/2031/export?format=csv")
    assert len(cd.text.strip().splitlines()) == 1  # CD's wave has none
    parquet = client.get("/console/SC/2031/export?format=parquet")
    assert parquet.status_code == 200 and parquet.data[:4] == b"PAR1"


def test_each_organisations_open_wave_has_its_own_respondent_urls(tree):
    client = tree.test_client()
    assert client.get("/o/HB/2031/").status_code == 200
    assert 'href="/o/HB/2031/consent"' in client.get("/o/HB/2031/").text
    assert client.get("/o/nowhere/2031/").status_code == 404
    assert client.get("/o/HB/2040/").status_code == 404
    sign_in(staff_client := tree.test_client(), staff(tree, "organiser", "HB"))
    assert staff_client.post("/console/HB/2031/close").status_code == 303
    assert client.get("/o/HB/2031/").status_code == 410
    assert client.get("/o/SC/2031/").status_code == 200  # the others stay open
    assert client.get("/2031/").status_code == 200  # the default organisation's
    assert "/o/HB/2031/" in staff_client.get("/console/HB/2031/").text
