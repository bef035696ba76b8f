"""Quotas (survey/quotas.py): cells of a cross-classification, caps counted exactly at
completion, screened-out respondents, the console page, the API and the audit trail."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from survey import store
from survey.db import db
from survey.models import Answer, AuditEvent, Quota, QuotaCell, Response
from survey.models import Wave as WaveRow

from .conftest import FULL, answer, sign_in, start
from .staff_tree import build_tree, staff, token_for


def add_quota(app, items: str, caps: dict[str, int | None], year: int = 2031):
    """A quota on ``items`` of the default organisation's wave ``year`` with the cells
    ``caps`` (key → cap)."""
    with app.app_context():
        wave = db.session.execute(select(WaveRow).where(WaveRow.year == year)).scalar_one()
        quota = Quota(wave_id=wave.id, items=items)
        quota.cells = [QuotaCell(key=key, cap=cap, filled=0, screened=0)
                       for key, cap in caps.items()]
        db.session.add(quota)
        db.session.commit()


def cells(app) -> dict[str, tuple]:
    with app.app_context():
        return {cell.key: (cell.cap, cell.filled, cell.screened)
                for cell in db.session.execute(select(QuotaCell)).scalars()}


def statuses(app) -> list[str]:
    with app.app_context():
        return sorted(db.session.execute(select(Response.status)).scalars())


SEX_PROVINCE = {f"{sex}|{province}": None for sex in (1, 2) for province in (1, 2, 3)}


def finish(client, answers=FULL):
    start(client)
    last = None
    for key, data in answers.items():
        last = answer(client, 2031, key, data)
        assert last.status_code == 303, last.text
    return last


# --------------------------------------------------------------------------- respondents


def test_completions_are_counted_in_their_cell(app, client, open_wave):
    add_quota(app, "sex,province", {**SEX_PROVINCE, "2|2": 5})
    finish(client)
    assert statuses(app) == ["complete"]
    assert cells(app)["2|2"] == (5, 1, 0)
    assert sum(filled for _c, filled, _s in cells(app).values()) == 1


def test_a_full_cell_screens_out_at_the_page_that_places_the_respondent(app, open_wave):
    add_quota(app, "sex,province", {**SEX_PROVINCE, "2|2": 1})
    first, second = app.test_client(), app.test_client()
    finish(first)
    start(second)
    placed = answer(second, 2031, "about", FULL["about"])
    assert placed.status_code == 303 and placed.headers["Location"].endswith("/2031/thanks")
    page = second.get("/2031/thanks")
    assert page.status_code == 200
    assert "人数已满" in page.text or "已经足够" in page.text
    assert statuses(app) == ["complete", "screened_out"]
    assert cells(app)["2|2"] == (1, 1, 1)
    with app.app_context():
        screened = db.session.execute(
            select(Response).where(Response.status == "screened_out")).scalar_one()
        assert screened.token_hash is None and screened.resume_code_hash is None
        assert db.session.execute(
            select(Answer).where(Answer.response_id == screened.id)).first() is None
    # the device's response is gone: its pages lead to the thank-you page
    assert second.get("/2031/page/n01").headers["Location"].endswith("/2031/thanks")
    # the English page
    assert "group" in second.get("/2031/thanks?lang=en").text


def test_another_cell_is_not_affected(app, open_wave):
    add_quota(app, "sex,province", {**SEX_PROVINCE, "2|2": 1})
    first, second = app.test_client(), app.test_client()
    finish(first)
    finish(second, {**FULL, "about": {**FULL["about"], "sex": "1"}})
    assert statuses(app) == ["complete", "complete"]
    assert cells(app)["1|2"] == (None, 1, 0)


def test_a_cell_filled_meanwhile_screens_out_at_completion(app, open_wave):
    """Both pass the placing page while the cell has room; the second to complete is closed
    as screened out, its answers deleted, nothing half written."""
    add_quota(app, "sex,province", {**SEX_PROVINCE, "2|2": 1})
    first, second = app.test_client(), app.test_client()
    for client in (first, second):
        start(client)
        for key in ("about", "n01", "walk"):
            assert answer(client, 2031, key, FULL[key]).status_code == 303
    assert answer(first, 2031, "last", FULL["last"]).headers["Location"].endswith("/thanks")
    late = answer(second, 2031, "last", FULL["last"])
    assert late.headers["Location"].endswith("/2031/thanks")
    assert "已经足够" in second.get("/2031/thanks").text
    assert statuses(app) == ["complete", "screened_out"]
    assert cells(app)["2|2"] == (1, 1, 1)
    with app.app_context():
        kept = db.session.execute(select(Answer.response_id).distinct()).scalars().all()
        complete_id = db.session.execute(
            select(Response.id).where(Response.status == "complete")).scalar_one()
        assert kept == [complete_id]


def test_an_unanswered_quota_question_counts_nowhere(app, client, open_wave):
    add_quota(app, "education", {"1": 0, "2": 0})
    finish(client, {**FULL, "about": {"sex": "2", "province": "2"}})  # education is optional
    assert statuses(app) == ["complete"]
    assert cells(app) == {"1": (0, 0, 0), "2": (0, 0, 0)}


def test_a_cap_of_zero_screens_out_at_once(app, client, open_wave):
    add_quota(app, "sex", {"1": None, "2": 0})
    start(client)
    assert answer(client, 2031, "about", FULL["about"]).headers["Location"].endswith("/thanks")
    assert statuses(app) == ["screened_out"]


def _quota_statements(monkeypatch) -> list[str]:
    seen = []
    original = store._run

    def run(conn, text, params, *, many=False):
        seen.append(text)
        return original(conn, text, params, many=many)

    monkeypatch.setattr(store, "_run", run)
    return seen


def test_no_quota_statement_in_a_wave_without_quotas(app, client, open_wave, monkeypatch):
    seen = _quota_statements(monkeypatch)
    finish(client)
    assert seen and not [text for text in seen if "quota_cells" in text]


def test_one_quota_statement_where_the_cell_is_placed_and_one_at_completion(
        app, client, open_wave, monkeypatch):
    add_quota(app, "sex,province", SEX_PROVINCE)
    seen = _quota_statements(monkeypatch)
    finish(client)
    assert len([text for text in seen if "quota_cells" in text]) == 2
    assert cells(app)["2|2"] == (None, 1, 0)


def _at_once(calls) -> list:
    """Run the calls in threads released together; their results (an exception fails)."""
    barrier = threading.Barrier(len(calls))
    results, errors = [None] * len(calls), []

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return results


@pytest.mark.parametrize("cap", [1, 5])
def test_concurrent_completions_fill_a_cap_exactly(app, open_wave, cap):
    """Many respondents on the last page of one cell submit at once: exactly ``cap``
    complete, the others are screened out (PostgreSQL: row locks; SQLite: the write lock)."""
    add_quota(app, "sex,province", {**SEX_PROVINCE, "2|2": cap})
    clients = [app.test_client() for _ in range(14)]
    for client in clients:
        start(client)
        for key in ("about", "n01", "walk"):
            assert answer(client, 2031, key, FULL[key]).status_code == 303
    results = _at_once([lambda c=client: answer(c, 2031, "last", FULL["last"]).status_code
                        for client in clients])
    assert results == [303] * len(clients)
    found = statuses(app)
    assert found.count("complete") == cap
    assert found.count("screened_out") == len(clients) - cap
    assert cells(app)["2|2"] == (cap, cap, len(clients) - cap)


def test_a_double_submit_of_the_last_page_counts_once(app, open_wave):
    """The same response's last page submitted from two tabs at once: one completion, one
    place in the cell (PostgreSQL: the completing statement locks the response first)."""
    add_quota(app, "sex,province", {**SEX_PROVINCE, "2|2": 2})
    first = app.test_client()
    start(first)
    for key in ("about", "n01", "walk"):
        assert answer(first, 2031, key, FULL[key]).status_code == 303
    second = app.test_client()
    for name in ("session", "survey_response"):
        second.set_cookie(name, first.get_cookie(name).value)
    results = _at_once([lambda c=c: answer(c, 2031, "last", FULL["last"]).status_code
                        for c in (first, second)])
    assert results == [303, 303]
    assert statuses(app) == ["complete"]
    assert cells(app)["2|2"] == (2, 1, 0)


# --------------------------------------------------------------------------- console and API


@pytest.fixture
def tree(app):
    from .staff_tree import add_wave

    build_tree(app)
    add_wave(app, "SC", 2032, status="draft")
    return app


def sc_cells(app, year: int) -> dict[str, tuple]:
    with app.app_context():
        rows = db.session.execute(
            select(QuotaCell).join(Quota).join(WaveRow, WaveRow.id == Quota.wave_id)
            .where(WaveRow.year == year, WaveRow.organisation.has(code="SC"))).scalars()
        return {cell.key: (cell.id, cell.cap, cell.filled) for cell in rows}


def audit_actions(app) -> list[tuple[str, str]]:
    """The waves' events (sign-ins are account events: test_account_audit.py)."""
    with app.app_context():
        return [(e.action, e.detail) for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.wave_id.is_not(None))
            .order_by(AuditEvent.id)).scalars()]


def test_an_organiser_defines_cells_and_sets_caps(tree):
    client = tree.test_client()
    sign_in(client, staff(tree, "organiser"))
    page = client.get("/console/SC/2032/quotas?lang=en")
    assert page.status_code == 200 and "This wave has no quota." in page.text
    assert 'value="N01_A1"' in page.text and 'value="sex"' in page.text
    defined = client.post("/console/SC/2032/quotas/questions",
                          data={"items": ["sex", "province"]})
    assert defined.status_code == 303
    found = sc_cells(tree, 2032)
    assert sorted(found) == sorted(SEX_PROVINCE) and all(cap is None for _i, cap, _f in
                                                         found.values())
    caps = {f"cap-{found['2|2'][0]}": "40", f"cap-{found['1|3'][0]}": " 0 "}
    assert client.post("/console/SC/2032/quotas/caps", data=caps).status_code == 303
    found = sc_cells(tree, 2032)
    assert found["2|2"][1] == 40 and found["1|3"][1] == 0 and found["1|1"][1] is None
    page = client.get("/console/SC/2032/quotas?lang=en").text
    assert "Female" in page and "Sichuan" in page and 'value="40"' in page
    assert audit_actions(tree) == [("define_quotas", "sex × province: 6 cells"),
                                   ("set_quota_caps", "1|3: – → 0; 2|2: – → 40")]
    # removing: no question chosen
    assert client.post("/console/SC/2032/quotas/questions", data={}).status_code == 303
    assert sc_cells(tree, 2032) == {}
    assert audit_actions(tree)[-1] == ("define_quotas", "removed")
    trail = client.get("/console/SC/?lang=en").text
    assert "chose the quota's questions" in trail and "changed quota caps" in trail
    assert "2|2: – → 40" in trail


def test_bad_caps_and_questions_are_refused_next_to_the_field(tree):
    client = tree.test_client()
    sign_in(client, staff(tree, "organiser"))
    client.post("/console/SC/2032/quotas/questions", data={"items": ["sex"]})
    found = sc_cells(tree, 2032)
    bad = client.post("/console/SC/2032/quotas/caps?lang=en",
                      data={f"cap-{found['1'][0]}": "12", f"cap-{found['2'][0]}": "-3"})
    assert bad.status_code == 400
    assert f'id="cap-{found["2"][0]}-error"' in bad.text and 'aria-invalid="true"' in bad.text
    assert "whole number from 0 to 1,000,000" in bad.text
    assert all(cap is None for _i, cap, _f in sc_cells(tree, 2032).values())  # nothing saved
    for items, words in [(["N01_P1x"], "Only single-choice"),
                         (["sex", "province", "education", "N01_A1", "N01_P1"], "at most 4"),
                         (["ATTN1"] * 1, None)]:
        page = client.post("/console/SC/2032/quotas/questions?lang=en", data={"items": items})
        if words is None:
            assert page.status_code == 303
            continue
        assert page.status_code == 400 and words in page.text and 'id="items-error"' in page.text
    zh = client.post("/console/SC/2032/quotas/questions?lang=zh", data={"items": ["nope"]})
    assert zh.status_code == 400 and 'lang="zh-CN"' in zh.text and "单选" in zh.text


def test_an_open_waves_cells_stay_but_its_caps_change(tree):
    client = tree.test_client()
    sign_in(client, staff(tree, "organiser"))
    client.post("/console/SC/2032/quotas/questions", data={"items": ["sex"]})
    with tree.app_context():
        wave = db.session.execute(select(WaveRow).where(
            WaveRow.year == 2032, WaveRow.organisation.has(code="SC"))).scalar_one()
        wave.status = "open"
        db.session.commit()
    page = client.post("/console/SC/2032/quotas/questions?lang=en",
                       data={"items": ["province"]})
    assert page.status_code == 400 and "only while the wave is a draft" in page.text
    assert sorted(sc_cells(tree, 2032)) == ["1", "2"]
    cell = sc_cells(tree, 2032)["1"][0]
    assert client.post("/console/SC/2032/quotas/caps",
                       data={f"cap-{cell}": "7"}).status_code == 303
    assert sc_cells(tree, 2032)["1"][1] == 7


@pytest.mark.parametrize("role", ["viewer", "analyst", "organiser", "admin"])
def test_who_reads_and_who_changes_quotas(tree, role):
    """Organisers of the wave's organisation change; monitoring roles of it and its parents
    read; siblings see nothing."""
    from .staff_tree import add_wave

    add_wave(tree, "CD", 2032, status="draft")
    email = staff(tree, role)  # a member of SC
    client = tree.test_client()
    sign_in(client, email)
    for target, reads, changes in [("SC", True, role == "organiser"), ("CD", True, False),
                                   ("HB", False, False)]:
        if target == "HB":
            assert client.get("/console/HB/2031/quotas").status_code == 403
            assert client.post("/console/HB/2031/quotas/questions",
                               data={"items": ["sex"]}).status_code == 403
            continue
        page = client.get(f"/console/{target}/2032/quotas?lang=en")
        assert page.status_code == (200 if reads else 403)
        assert ("Save the questions" in page.text) is changes
        defined = client.post(f"/console/{target}/2032/quotas/questions", data={"items": ["sex"]})
        assert defined.status_code == (303 if changes else 403), (role, target)
    assert client.get("/console/SC/1999/quotas").status_code == 404
    assert client.get("/console/nowhere/2031/quotas").status_code == 404


def test_quota_forms_need_the_csrf_token(make_app):
    from .conftest import csrf_from
    from .staff_tree import add_wave

    app = make_app(install=False, WTF_CSRF_ENABLED=True)
    with app.app_context():
        db.create_all()
    build_tree(app)
    add_wave(app, "SC", 2032, status="draft")
    client = app.test_client()
    email = staff(app, "organiser")
    login = client.get("/login")
    client.post("/login", data={"email": email, "password": "correct horse battery staple",
                                "csrf_token": csrf_from(login.text)})
    refused = client.post("/console/SC/2032/quotas/questions", data={"items": ["sex"]})
    assert refused.status_code == 400 and sc_cells(app, 2032) == {}
    token = csrf_from(client.get("/console/SC/2032/quotas").text)
    assert client.post("/console/SC/2032/quotas/questions",
                       data={"items": ["sex"], "csrf_token": token}).status_code == 303
    cell = sc_cells(app, 2032)["2"][0]
    assert client.post("/console/SC/2032/quotas/caps",
                       data={f"cap-{cell}": "3"}).status_code == 400
    assert sc_cells(app, 2032)["2"][1] is None


def test_the_api_and_the_monitoring_show_the_fill(app, open_wave):
    from .conftest import add_user

    add_quota(app, "sex,province", {**SEX_PROVINCE, "2|2": 1})
    finish(app.test_client())
    screened = app.test_client()
    start(screened)
    answer(screened, 2031, "about", FULL["about"])
    add_user(app, "viewer@example.org", ("national", "viewer"))
    token = token_for(app, "viewer@example.org")
    headers = {"Authorization": f"Bearer {token}"}
    got = app.test_client().get("/api/v1/waves/national/2031/quotas", headers=headers)
    assert got.status_code == 200, got.text
    body = got.json
    assert body["items"] == ["sex", "province"] and len(body["cells"]) == 6
    cell = next(c for c in body["cells"] if c["answers"] == {"sex": 2, "province": 2})
    assert cell == {"answers": {"sex": 2, "province": 2},
                    "values": {"sex": "female", "province": "510000"},
                    "cap": 1, "filled": 1, "screened_out": 1, "full": True}
    monitoring = app.test_client().get("/api/v1/waves/national/2031", headers=headers).json
    assert monitoring["monitoring"]["screened_out"] == 1
    assert monitoring["monitoring"]["started"] == 2
    assert monitoring["monitoring"]["quotas"] == {
        "items": ["sex", "province"], "cells": 6, "capped_cells": 1, "full_cells": 1,
        "filled": 1, "cap_total": 1, "screened_out": 1}
    none = app.test_client().get("/api/v1/waves/national/1999/quotas", headers=headers)
    assert none.status_code == 404 and none.json["code"] == 404
    client = app.test_client()
    sign_in(client, "viewer@example.org")
    page = client.get("/console/national/2031/?lang=en").text
    assert "Screened out (quota cell full)" in page and "Quota fill (sex × province)" in page


def test_the_api_quotas_are_403_for_a_sibling(tree):
    email = staff(tree, "organiser", "HB")
    headers = {"Authorization": f"Bearer {token_for(tree, email)}"}
    client = tree.test_client()
    assert client.get("/api/v1/waves/SC/2031/quotas", headers=headers).status_code == 403
    got = client.get("/api/v1/waves/HB/2031/quotas", headers=headers)
    assert got.status_code == 200 and got.json == {"organisation": "HB", "year": 2031,
                                                   "items": [], "cells": []}


def test_screened_out_responses_are_not_exported(app, open_wave, tmp_path):
    from survey.export import export_responses

    add_quota(app, "sex", {"1": None, "2": 0})
    finish(app.test_client(), {**FULL, "about": {**FULL["about"], "sex": "1"}})
    start(screened := app.test_client())
    answer(screened, 2031, "about", FULL["about"])
    assert statuses(app) == ["complete", "screened_out"]
    with app.app_context():
        result = export_responses(2031, tmp_path / "out.csv")
    assert result.rows == 1
    # the screened-out person neither started nor broke off in the fieldwork summary
    fieldwork = result.fieldwork_path.read_text(encoding="utf-8-sig")
    row = dict(zip(*[line.split(",") for line in fieldwork.splitlines()[:2]], strict=True))
    assert (row["started"], row["completed"], row["broken_off"]) == ("1", "1", "0")


def test_hostile_quota_forms_get_a_message_never_a_500(tree):
    client = tree.test_client()
    sign_in(client, staff(tree, "organiser"))
    client.post("/console/SC/2032/quotas/questions", data={"items": ["sex"]})
    cell = sc_cells(tree, 2032)["1"][0]
    for typed in ("٣", "1e3", "9" * 30, "1_000", " ", "-0", "\x00", "１２", "1000001"):
        page = client.post("/console/SC/2032/quotas/caps", data={f"cap-{cell}": typed})
        assert page.status_code == (303 if typed == " " else 400), typed
    assert sc_cells(tree, 2032)["1"][1] is None
    for items in (["x" * 5000], ["sex"] * 500, ["sex", "sex"], ["<script>"], ["\x00"]):
        page = client.post("/console/SC/2032/quotas/questions", data={"items": items})
        assert page.status_code in (303, 400), items
    assert client.post("/console/SC/2032/quotas/caps", data={"cap-x": "1"}).status_code in (
        303, 404)
    with tree.app_context():  # a wave without a questionnaire
        wave = db.session.execute(select(WaveRow).where(
            WaveRow.year == 2032, WaveRow.organisation.has(code="SC"))).scalar_one()
        from survey.models import Questionnaire
        db.session.execute(db.delete(QuotaCell))
        db.session.execute(db.delete(Quota))
        db.session.execute(db.delete(Questionnaire).where(Questionnaire.wave_id == wave.id))
        db.session.commit()
    assert "no questionnaire" in client.get("/console/SC/2032/quotas?lang=en").text
    assert client.post("/console/SC/2032/quotas/questions",
                       data={"items": ["sex"]}).status_code == 404
    assert client.post("/console/SC/2032/quotas/caps", data={}).status_code == 404


# --------------------------------------------------------------------------- migration, cache

from .test_commands import empty_app  # noqa: E402,F401  (the fixture: a database with no tables)


def test_migration_0008_keeps_the_responses_and_allows_screened_out(empty_app):  # noqa: F811
    from alembic import command
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from survey.db import alembic_config, migration_connection, upgrade_database
    from survey.models import utc_now

    with empty_app.app_context():
        upgrade_database("0006")
        now = {"n": utc_now()}
        db.session.execute(text("INSERT INTO waves (id, organisation_id, year, status, "
                                "created_at) VALUES (7, 1, 2031, 'open', :n)"), now)
        db.session.execute(text(
            "INSERT INTO responses (id, public_id, wave_id, status, language, page_index, "
            "started_at, updated_at) VALUES (3, 'p', 7, 'complete', 'zh', 2, :n, :n)"), now)
        db.session.execute(text("INSERT INTO answers (response_id, item, code) "
                                "VALUES (3, 'sex', 1), (3, 'N01_A1', 5)"))
        db.session.commit()
        upgrade_database()
        assert db.session.execute(text("SELECT count(*) FROM answers")).scalar() == 2
        db.session.execute(text(
            "INSERT INTO responses (id, public_id, wave_id, status, language, page_index, "
            "started_at, updated_at) VALUES (4, 'q', 7, 'screened_out', 'zh', 0, :n, :n)"), now)
        db.session.commit()
        with pytest.raises(IntegrityError):
            db.session.execute(text(
                "INSERT INTO responses (id, public_id, wave_id, status, language, page_index, "
                "started_at, updated_at) VALUES (5, 'r', 7, 'lost', 'zh', 0, :n, :n)"), now)
        db.session.rollback()
        with migration_connection() as connection:
            command.downgrade(alembic_config(connection), "0006")
        assert "quota_cells" not in set(db.inspect(db.engine).get_table_names())
        assert db.session.execute(text("SELECT id FROM responses")).scalars().all() == [3]
        assert db.session.execute(text("SELECT count(*) FROM answers")).scalar() == 2
        db.session.commit()  # PostgreSQL: the next migration must not wait for this reader
        upgrade_database()


def test_cached_wave_states_carry_the_cells_and_caps_act_at_once(make_app):
    """The cells are cached with the wave's state; a cap changed meanwhile applies to the
    next respondent all the same (checked in the database)."""
    from survey import wave_cache

    app = make_app(WAVE_CACHE_SECONDS=600)
    add_quota(app, "sex,province", SEX_PROVINCE)
    wave_cache.forget_wave_states()
    finish(app.test_client())
    (state,) = [hit[1] for hit in wave_cache.wave_states.values() if hit[1] is not None
                and hit[1].year == 2031]
    assert state.quota is not None and state.quota.items == ("sex", "province")
    with app.app_context():
        cell = db.session.execute(select(QuotaCell).where(QuotaCell.key == "2|2")).scalar_one()
        cell.cap = 1
        db.session.commit()
    late = app.test_client()
    start(late)
    assert answer(late, 2031, "about", FULL["about"]).headers["Location"].endswith("/thanks")
    assert statuses(app) == ["complete", "screened_out"]


def test_a_wave_without_quotas_has_no_plan(app, client, open_wave):
    from survey.definitions import wave_state

    with app.test_request_context():
        assert wave_state(2031).quota is None
