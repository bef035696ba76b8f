"""The console's free-text page: who may read it (role × own/child/sibling organisation),
completed responses only, ordered by response id, 50 to a page, escaped, audited, and linked
from the wave's page only for those who may read it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from survey.db import db
from survey.models import Answer, AuditEvent, Organisation, Response
from tests.typed_wave import typed_wave

from .conftest import sign_in
from .staff_tree import ORGS, ROLES, add_wave, build_tree, expected, staff

YEAR = 2032  # the tree's waves 2031 have no text question; 2032 has DEMO_comment
ROW = re.compile(r'<tr><th scope="row"><code>([0-9a-f]{32})</code></th>'
                 r'<td class="free-text">(.*?)</td></tr>', re.S)


def add_typed_wave(app, org_code: str) -> int:
    return add_wave(app, org_code, YEAR, wave=typed_wave(YEAR))


def add_responses(app, wave_id: int, texts: list[str | None], status: str = "complete") -> None:
    with app.app_context():
        for text in texts:
            response = Response(wave_id=wave_id, status=status)
            db.session.add(response)
            db.session.flush()
            db.session.add(Answer(response_id=response.id, item="DEMO_trips", code=3))
            if text is not None:
                db.session.add(Answer(response_id=response.id, item="DEMO_comment", value=text))
        db.session.commit()


@pytest.fixture
def tree(app):
    build_tree(app)
    app.wave_ids = {code: add_typed_wave(app, code) for code in ORGS}
    return app


def signed_in(app, role: str, member_of: str = "SC"):
    client = app.test_client()
    sign_in(client, staff(app, role, member_of))
    return client


def shown(page) -> list[tuple[str, str]]:
    return ROW.findall(page.text)


def view_events(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(e.user_email, e.detail) for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "view_texts")
            .order_by(AuditEvent.id)).scalars()]


@pytest.mark.parametrize("role", ROLES)
def test_only_who_may_read_answers_sees_the_texts_of_its_own_and_child_organisations(
        tree, role):
    for code in ORGS:
        add_responses(tree, tree.wave_ids[code], [f"text of {code}"])
    client = signed_in(tree, role)
    for target in ("SC", "CD", "HB"):
        page = client.get(f"/console/{target}/{YEAR}/texts?lang=en")
        may = expected(role, "export", target)  # analysts and organisers, reading reaches down
        assert page.status_code == (200 if may else 403), (role, target)
        assert (f"text of {target}" in page.text) is may
        assert "text of HB" not in page.text and "text of national" not in page.text
        wave_page = client.get(f"/console/{target}/{YEAR}/?lang=en")
        assert ("Read the answers to the short text questions" in wave_page.text) is may
    # a parent's wave stays out of sight, even for those who read their own
    assert client.get(f"/console/national/{YEAR}/texts").status_code == 403


def test_a_member_of_the_national_organisation_reads_every_organisations_texts(tree):
    add_responses(tree, tree.wave_ids["HB"], ["河北的意见"])
    client = signed_in(tree, "analyst", "national")
    page = client.get(f"/console/HB/{YEAR}/texts")
    assert page.status_code == 200 and "河北的意见" in page.text


def test_anonymous_visitors_are_sent_to_sign_in(tree):
    page = tree.test_client().get(f"/console/SC/{YEAR}/texts")
    assert page.status_code == 303 and "/login" in page.headers["Location"]
    assert view_events(tree) == []


def test_a_wave_without_text_questions_has_no_page_and_no_link(tree):
    client = signed_in(tree, "analyst")
    assert client.get("/console/SC/2031/texts").status_code == 404
    assert "Read the answers" not in client.get("/console/SC/2031/?lang=en").text
    assert client.get(f"/console/SC/{YEAR}/texts?item=DEMO_trips").status_code == 404
    assert client.get(f"/console/SC/{YEAR}/texts?item=nothing").status_code == 404
    assert client.get("/console/SC/1999/texts").status_code == 404


def test_completed_responses_only_without_identifiers_or_times(tree):
    wave_id = tree.wave_ids["SC"]
    add_responses(tree, wave_id, ["finished"])
    add_responses(tree, wave_id, ["still answering"], status="in_progress")
    add_responses(tree, wave_id, [None])  # completed, the optional text left empty
    with tree.app_context():
        public_id = db.session.execute(select(Response.public_id).join(Answer).where(
            Answer.value == "finished")).scalar_one()
    page = signed_in(tree, "analyst").get(f"/console/SC/{YEAR}/texts?lang=en")
    assert shown(page) == [(public_id, "finished")]
    assert "still answering" not in page.text and "1 texts; page 1 of 1." in page.text
    assert "Anything else you would like to say about waste sorting?" in page.text
    zh = signed_in(tree, "organiser").get(f"/console/SC/{YEAR}/texts?lang=zh")
    assert "关于垃圾分类，您还有什么想说的？" in zh.text and "答卷编号" in zh.text
    assert "共 1 条回答；第 1 页，共 1 页。" in zh.text


def test_fifty_texts_a_page_ordered_by_response_id(tree):
    texts = [f"text {n:03d}" for n in range(120)]
    add_responses(tree, tree.wave_ids["SC"], texts)
    client = signed_in(tree, "analyst")
    pages = [shown(client.get(f"/console/SC/{YEAR}/texts?item=DEMO_comment&page={n}"))
             for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [50, 50, 20]
    rows = [row for p in pages for row in p]
    assert [public_id for public_id, _ in rows] == sorted(public_id for public_id, _ in rows)
    assert sorted(text for _, text in rows) == texts  # each text once
    last = client.get(f"/console/SC/{YEAR}/texts?page=99&lang=en")  # past the end: the last
    assert shown(last) == pages[2] and "page 3 of 3" in last.text
    assert "Previous page" in last.text and "Next page" not in last.text
    first = client.get(f"/console/SC/{YEAR}/texts?page=x&lang=en")
    assert shown(first) == pages[0] and "Previous page" not in first.text


def test_texts_are_shown_as_text_never_run(tree):
    add_responses(tree, tree.wave_ids["SC"], ["<script>alert(1)</script>", "=1+1",
                                              "two\nlines & <b>bold</b>"])
    page = signed_in(tree, "analyst").get(f"/console/SC/{YEAR}/texts")
    texts = {text for _, text in shown(page)}
    assert texts == {"&lt;script&gt;alert(1)&lt;/script&gt;", "=1+1",
                     "two\nlines &amp; &lt;b&gt;bold&lt;/b&gt;"}
    assert "<script>alert" not in page.text and "<b>bold" not in page.text


def test_each_view_is_written_to_the_audit_trail(tree):
    add_responses(tree, tree.wave_ids["CD"], [f"t{n}" for n in range(60)])
    email = staff(tree, "analyst")
    client = tree.test_client()
    sign_in(client, email)
    client.get(f"/console/CD/{YEAR}/texts")
    client.get(f"/console/CD/{YEAR}/texts?page=2")
    assert view_events(tree) == [(email, "DEMO_comment, page 1 of 2, 50 texts"),
                                 (email, "DEMO_comment, page 2 of 2, 10 texts")]
    with tree.app_context():
        recorded = set(db.session.execute(select(Organisation.code, AuditEvent.wave_id).join(
            Organisation, Organisation.id == AuditEvent.organisation_id)
            .where(AuditEvent.action == "view_texts")).all())
    assert recorded == {("CD", tree.wave_ids["CD"])}
    trail = client.get("/console/CD/?lang=en").text
    assert "read the free texts" in trail and "DEMO_comment, page 2 of 2" in trail
    signed_in(tree, "viewer").get(f"/console/CD/{YEAR}/texts")  # refused: not recorded
    assert len(view_events(tree)) == 2
