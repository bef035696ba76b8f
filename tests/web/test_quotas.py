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

from .conftest import FULL, answer, install_wave, make_wave, sign_in, start
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


@pytest.mark.parametrize("cap", [3])
def test_concurrent_completions_fill_a_cap_exactly(app, open_wave, cap):
    """Many respondents on the last page of one cell submit at once: exactly ``cap``
    complete, the others are screened out (PostgreSQL: row locks; SQLite: the write lock)."""
    add_quota(app, "sex,province", {**SEX_PROVINCE, "2|2": cap})
    clients = [app.test_client() for _ in range(12)]
    for client in clients:
        start(client)
        for key in ("about", "n01", "walk"):
            assert answer(client, 2031, key, FULL[key]).status_code == 303
    barrier = threading.Barrier(len(clients))
    results, errors = [], []

    def submit(client):
        try:
            barrier.wait()
            results.append(answer(client, 2031, "last", FULL["last"]).status_code)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and results == [303] * len(clients)
    found = statuses(app)
    assert found.count("complete") == cap
    assert found.count("screened_out") == len(clients) - cap
    assert cells(app)["2|2"] == (cap, cap, len(clients) - cap)
