"""The respondent's path through the test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from survey.db import db
from survey.models import Answer, PageSave, Response

from .conftest import FULL, answer, complete, csrf_from, install_wave, make_wave, start


def responses(app):
    with app.app_context():
        return db.session.execute(select(Response).order_by(Response.id)).scalars().all()


def stored_answers(app, response_id=None):
    with app.app_context():
        query = select(Answer.item, Answer.code)
        if response_id is not None:
            query = query.where(Answer.response_id == response_id)
        return dict(db.session.execute(query).all())


def checked(html: str, name: str) -> str | None:
    """The value of the checked radio (or selected option) called ``name``, if any."""
    radio = re.search(rf'name="{name}" id="[^"]+" value="(\d+)" checked', html)
    if radio:
        return radio.group(1)
    select_ = re.search(rf'<select name="{name}".*?</select>', html, re.S)
    if select_:
        option = re.search(r'<option value="(\d+)" selected>', select_.group(0))
        return option.group(1) if option else None
    return None


# --------------------------------------------------------------------------- the whole path


def test_front_page_leads_to_the_open_wave(client, open_wave):
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/2031/")


def test_front_page_without_any_wave_says_so(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "目前没有开放的调查" in response.text


def test_landing_consent_pages_thanks(app, client, open_wave):
    landing = client.get("/2031/")
    assert landing.status_code == 200
    assert "2031年测试调查" in landing.text
    assert 'href="/2031/consent"' in landing.text

    consent = client.get("/2031/consent")
    assert "同意说明第一段。" in consent.text and "第二段。" in consent.text
    assert "不保存姓名" in consent.text

    first = start(client)
    assert first.status_code == 200
    assert "关于您" in first.text
    assert '<progress max="4" value="0"' in first.text
    assert 'name="sex"' in first.text and 'name="province"' in first.text

    last = complete(client)
    assert last.headers["Location"].endswith("/2031/thanks")
    thanks = client.get("/2031/thanks")
    assert thanks.status_code == 200 and "您的回答已提交" in thanks.text

    [row] = responses(app)
    assert row.status == "complete"
    assert row.language == "zh"
    assert row.started_at <= row.submitted_at
    assert stored_answers(app, row.id) == {
        "sex": 2, "province": 2, "education": 1, "N01_A1": 5, "N01_P1": 4, "N04_P4": 3,
        "ATTN1": 4, "N02_P1": 9,
    }
    with app.app_context():
        saves = db.session.execute(
            select(PageSave.page_key, PageSave.first_saved_at, PageSave.saved_at)
            .where(PageSave.response_id == row.id)
        ).all()
    assert {key for key, _, _ in saves} == {"about", "n01", "walk", "last"}
    assert all(row.started_at <= first <= saved <= row.submitted_at for _, first, saved in saves)


def test_every_page_names_fields_by_item_code_and_has_a_fieldset(client, open_wave):
    page = start(client)
    for code in ("sex", "province", "education"):
        assert f'<fieldset class="question" id="q-{code}">' in page.text
        assert f'<legend id="{code}-legend">' in page.text
    assert page.text.count('type="radio" name="sex"') == 2
    assert '<label class="option" for="sex-1">' in page.text
    assert '<select name="province" id="province" aria-labelledby="province-legend">' in page.text


# --------------------------------------------------------------------------- validation


def test_missing_and_invalid_answers_re_render_with_errors_next_to_the_fields(app, client,
                                                                              open_wave):
    start(client)
    response = answer(client, 2031, "about", {"province": "7", "education": "1"})
    assert response.status_code == 200
    html = response.text
    assert 'role="alert"' in html and "请检查您的回答" in html
    assert '<a href="#q-sex">' in html and '<a href="#q-province">' in html
    assert 'aria-describedby="sex-error"' in html
    assert '<p class="field-error" id="sex-error">请选择一个答案。</p>' in html
    assert '<p class="field-error" id="province-error">请从列出的答案中选择一个。</p>' in html
    assert checked(html, "education") == "1"  # what the person chose is still there
    assert "<title>错误" in html
    assert stored_answers(app) == {}


def test_garbage_values_are_errors_not_crashes(app, client, open_wave):
    start(client)
    response = answer(client, 2031, "about", {"sex": "abc", "province": "1"})
    assert response.status_code == 200
    assert 'id="sex-error"' in response.text
    assert stored_answers(app) == {}


def test_optional_question_may_stay_empty(app, client, open_wave):
    start(client)
    response = answer(client, 2031, "about", {"sex": "1", "province": "3"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/2031/page/n01")
    assert stored_answers(app) == {"sex": 1, "province": 3}


def test_not_applicable_only_where_offered(app, client, open_wave):
    start(client)
    answer(client, 2031, "about", FULL["about"])
    rejected = answer(client, 2031, "n01", {"N01_A1": "9", "N01_P1": "9"})
    assert rejected.status_code == 200
    assert 'id="N01_A1-error"' in rejected.text and 'id="N01_P1-error"' not in rejected.text


# --------------------------------------------------------------------------- navigation


def test_back_keeps_answers(app, client, open_wave):
    start(client)
    answer(client, 2031, "about", FULL["about"])
    answer(client, 2031, "n01", FULL["n01"])
    # Back from a half-filled page keeps what was chosen there and needs nothing else
    back = answer(client, 2031, "walk", {}, nav="back")
    assert back.status_code == 303 and back.headers["Location"].endswith("/2031/page/n01")
    n01 = client.get("/2031/page/n01")
    assert checked(n01.text, "N01_A1") == "5" and checked(n01.text, "N01_P1") == "4"
    about = client.get("/2031/page/about")
    assert checked(about.text, "sex") == "2" and checked(about.text, "province") == "2"
    # the furthest page stays reachable
    assert client.get("/2031/page/walk").status_code == 200

    partial = answer(client, 2031, "n01", {"N01_A1": "2"}, nav="back")
    assert partial.status_code == 303
    assert stored_answers(app)["N01_A1"] == 2 and "N01_P1" not in stored_answers(app)
    with app.app_context():  # saved twice: both save times kept, to the minute only
        first, last = db.session.execute(
            select(PageSave.first_saved_at, PageSave.saved_at).where(PageSave.page_key == "n01")
        ).one()
    assert first <= last and first.second == last.second == last.microsecond == 0


def test_no_skipping_ahead(client, open_wave):
    start(client)
    response = client.get("/2031/page/last")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/2031/page/about")


def test_condition_skips_a_page_and_drops_answers_it_hides(app, client, open_wave):
    start(client)
    answer(client, 2031, "about", FULL["about"])
    answer(client, 2031, "n01", FULL["n01"])
    answer(client, 2031, "walk", FULL["walk"])
    # change the answer the condition depends on: the walk page is skipped from now on
    changed = answer(client, 2031, "n01", {"N01_A1": "5", "N01_P1": "2"})
    assert changed.headers["Location"].endswith("/2031/page/last")
    assert client.get("/2031/page/walk").headers["Location"].endswith("/2031/page/last")
    done = answer(client, 2031, "last", FULL["last"])
    assert done.headers["Location"].endswith("/2031/thanks")
    assert "N04_P4" not in stored_answers(app)


def test_submit_with_an_unanswered_required_question_goes_back_to_it(app, client):
    wave = make_wave()
    install_wave(app, wave)
    start(client)
    answer(client, 2031, "about", FULL["about"])
    answer(client, 2031, "n01", FULL["n01"])
    answer(client, 2031, "walk", FULL["walk"])
    # an answer deleted behind the person's back (e.g. a page saved with Back half-empty)
    answer(client, 2031, "n01", {"N01_P1": "4"}, nav="back")
    result = answer(client, 2031, "last", FULL["last"])
    assert result.status_code == 303
    assert "/2031/page/n01?check=1" in result.headers["Location"]
    page = client.get(result.headers["Location"])
    assert 'id="N01_A1-error"' in page.text
    assert [r.status for r in responses(app)] == ["in_progress"]


# --------------------------------------------------------------------------- resume


def test_cookie_resumes_after_closing_the_tab(client, open_wave):
    first = client.post("/2031/consent")
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith("survey_response=")
    assert "Max-Age=" in cookie and "HttpOnly" in cookie
    answer(client, 2031, "about", FULL["about"])
    landing = client.get("/2031/")
    assert "欢迎回来" in landing.text
    assert 'href="/2031/page/n01"' in landing.text
    consent_again = client.post("/2031/consent")  # "start" again continues the same response
    assert consent_again.headers["Location"].endswith("/2031/page/n01")


def test_resume_code_continues_on_another_device(app, open_wave):
    phone = app.test_client()
    page = start(phone)
    code = re.search(r'class="code" lang="en">([A-Z0-9]{4}-[A-Z0-9]{4})<', page.text).group(1)
    answer(phone, 2031, "about", FULL["about"])

    laptop = app.test_client()
    form = laptop.get("/2031/resume")
    assert form.status_code == 200 and 'name="code"' in form.text
    typed = " " + code.lower() + " "
    resumed = laptop.post("/2031/resume", data={"code": typed})
    # the response moves to the laptop under a new resume code, shown there
    assert resumed.status_code == 200
    assert 'href="/2031/page/n01"' in resumed.text
    new_code = re.search(r'class="code" lang="en">([A-Z0-9]{4}-[A-Z0-9]{4})<',
                         resumed.text).group(1)
    assert new_code != code
    n01 = laptop.get("/2031/page/n01")
    assert n01.status_code == 200
    assert checked(laptop.get("/2031/page/about").text, "sex") == "2"
    for key in ("n01", "walk", "last"):
        assert answer(laptop, 2031, key, FULL[key]).status_code == 303
    # the phone's token stopped working when the code was typed on the laptop
    assert not phone.get("/2031/page/n01").headers["Location"].endswith("/2031/page/n01")
    assert [r.status for r in responses(app)] == ["complete"]


def test_wrong_resume_code_is_explained(client, open_wave):
    response = client.post("/2031/resume", data={"code": "AAAA-BBBB"})
    assert response.status_code == 200
    assert 'role="alert"' in response.text and "没有找到" in response.text
    assert 'aria-describedby="code-error"' in response.text
    empty = client.post("/2031/resume", data={"code": ""})
    assert "请输入您的续答码" in empty.text


def test_page_without_a_response_goes_to_the_landing_page(client, open_wave):
    response = client.get("/2031/page/about")
    assert response.status_code == 303 and response.headers["Location"].endswith("/2031/")
    response = client.post("/2031/page/about", data={"sex": "1"})
    assert response.status_code == 303


# --------------------------------------------------------------------------- submitting twice


def test_submitting_twice_makes_one_response(app, client, open_wave):
    complete(client)
    before = stored_answers(app)
    again = answer(client, 2031, "last", {"ATTN1": "1", "N02_P1": "1"})  # refresh / double tap
    assert again.status_code == 303 and again.headers["Location"].endswith("/2031/thanks")
    back_then_submit = answer(client, 2031, "n01", {"N01_A1": "1", "N01_P1": "1"})
    assert back_then_submit.headers["Location"].endswith("/2031/thanks")
    assert client.get("/2031/page/about").headers["Location"].endswith("/2031/thanks")
    rows = responses(app)
    assert [r.status for r in rows] == ["complete"]
    assert stored_answers(app) == before


def test_double_tap_on_start_makes_one_response(app, client, open_wave):
    client.post("/2031/consent")
    client.post("/2031/consent")
    assert len(responses(app)) == 1


def test_after_completing_someone_else_may_start_anew(app, client, open_wave):
    complete(client)
    landing = client.get("/2031/")
    assert "您已经参加过本次调查" in landing.text
    start(client)
    assert [r.status for r in responses(app)] == ["complete", "in_progress"]


# --------------------------------------------------------------------------- wave state


def test_closed_wave_says_so_politely_in_both_languages(app, client, wave):
    install_wave(app, wave, status="closed")
    zh = client.get("/2031/")
    assert zh.status_code == 410 and "本次调查已结束" in zh.text
    en = client.get("/2031/?lang=en")
    assert en.status_code == 410 and "This survey has closed" in en.text
    assert client.post("/2031/consent").status_code == 410
    assert client.get("/2031/page/about").status_code == 410


def test_wave_past_its_last_day_is_closed(app, client):
    install_wave(app, make_wave(), closes=dt.date(2001, 1, 1))
    assert client.get("/2031/").status_code == 410


def test_not_yet_open_wave(app, client):
    install_wave(app, make_wave(), opens=dt.date(2098, 3, 1))
    response = client.get("/2031/?lang=en")
    assert response.status_code == 200
    assert "not open yet" in response.text and "2098-03-01" in response.text
    draft_app_wave = make_wave(2032)
    install_wave(app, draft_app_wave, status="draft")
    draft = client.get("/2032/?lang=zh")
    assert draft.status_code == 200 and "本次调查尚未开始" in draft.text
    assert client.post("/2032/consent").status_code == 200
    assert responses(app) == []


def test_closing_a_wave_stops_answers_but_keeps_them(app, client, open_wave, runner):
    start(client)
    answer(client, 2031, "about", FULL["about"])
    assert runner.invoke(args=["close-wave", "2031"]).exit_code == 0
    response = answer(client, 2031, "n01", FULL["n01"])
    assert response.status_code == 410
    assert stored_answers(app) == {"sex": 2, "province": 2, "education": 1}


# --------------------------------------------------------------------------- language


def test_chinese_by_default_english_one_tap_away(client, open_wave):
    zh = client.get("/2031/")
    assert '<html lang="zh-CN">' in zh.text
    switch = re.search(r'<a class="lang" href="([^"]+)"', zh.text).group(1)
    assert switch == "/language/en?next=/2031/"
    moved = client.get(switch)
    assert moved.status_code == 303 and moved.headers["Location"] == "/2031/"
    en = client.get("/2031/")
    assert '<html lang="en">' in en.text and "Test survey 2031" in en.text
    page = start(client)
    assert "About you" in page.text and "Your sex" in page.text and "Next" in page.text
    back_to_zh = client.get("/2031/page/about?lang=zh")
    assert "您的性别" in back_to_zh.text
    assert "关于您" in client.get("/2031/page/about").text  # ?lang= also set the cookie


def test_language_switch_never_leaves_the_site(client, open_wave):
    for target in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        response = client.get("/language/en", query_string={"next": target})
        assert response.headers["Location"] == "/"
    assert client.get("/language/fr").status_code == 404


def test_response_records_the_language_used(app, client, open_wave):
    client.get("/language/en")
    complete(client)
    assert responses(app)[0].language == "en"


# --------------------------------------------------------------------------- CSRF and errors


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def test_csrf_is_required_and_a_failure_loses_nothing(csrf_app, wave):
    install_wave(csrf_app, wave)
    client = csrf_app.test_client()
    refused = client.post("/2031/consent")
    assert refused.status_code == 400 and "请再按一次按钮" in refused.text
    assert responses(csrf_app) == []

    token = csrf_from(client.get("/2031/consent").text)
    started = client.post("/2031/consent", data={"csrf_token": token})
    assert started.status_code == 303
    page = client.get(started.headers["Location"])
    token = csrf_from(page.text)
    saved = client.post("/2031/page/about", data={**FULL["about"], "csrf_token": token})
    assert saved.status_code == 303

    forged = client.post("/2031/page/n01", data={**FULL["n01"], "nav": "next"})
    assert forged.status_code == 400
    assert 'role="alert"' in forged.text and "前面各页的回答都已保存" in forged.text
    assert checked(forged.text, "N01_A1") == "5"  # what was entered is shown again
    assert stored_answers(csrf_app) == {"sex": 2, "province": 2, "education": 1}
    retry = client.post("/2031/page/n01",
                        data={**FULL["n01"], "csrf_token": csrf_from(forged.text)})
    assert retry.status_code == 303

    no_token_resume = client.post("/2031/resume", data={"code": "AAAABBBB"})
    assert no_token_resume.status_code == 400


def test_friendly_404_and_405(client, open_wave):
    for url in ("/1999/", "/2031/page/nope", "/nothing-here"):
        response = client.get(url)
        assert response.status_code == 404
        assert "找不到该页面" in response.text and "Traceback" not in response.text
    response = client.post("/2031/")
    assert response.status_code == 405 and "请使用页面上的按钮" in response.text


def test_server_error_page_has_no_traceback(app, client, open_wave):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken():
        raise RuntimeError("secret internals")

    app.add_url_rule("/boom", "boom", broken)
    response = client.get("/boom?lang=en")
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "secret internals" not in response.text and "Traceback" not in response.text


# --------------------------------------------------------------------------- privacy, status


# staff accounts and their organisations: people who run surveys, never respondents
STAFF_TABLES = {"organisations", "users", "memberships", "api_tokens", "audit_events",
                "export_jobs"}


def test_no_personal_identifiers_are_stored(app):
    with app.app_context():
        columns = {c.name for table in db.metadata.sorted_tables for c in table.columns
                   if table.name not in STAFF_TABLES}
    for word in ("ip", "addr", "agent", "user", "email", "phone", "name"):
        assert not any(word in c.split("_") for c in columns), (word, columns)


def test_simultaneous_final_submits_complete_once(app, open_wave):
    """Two requests carrying the same cookie submit the last page at the same moment."""
    import threading

    phone = app.test_client()
    start(phone)
    for key in ("about", "n01", "walk"):
        answer(phone, 2031, key, FULL[key])
    cookies = {name: phone.get_cookie(name).value for name in ("survey_response", "session")}
    barrier = threading.Barrier(2)
    results = []

    def tap(value):
        client = app.test_client()  # the same browser: the same cookies
        for name, value_ in cookies.items():
            client.set_cookie(name, value_)
        barrier.wait()
        results.append(answer(client, 2031, "last", {"ATTN1": value, "N02_P1": "1"}))

    threads = [threading.Thread(target=tap, args=(v,)) for v in ("4", "3")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [r.status_code for r in results] == [303, 303]
    assert all(r.headers["Location"].endswith("/2031/thanks") for r in results)
    [row] = responses(app)
    assert row.status == "complete"
    assert stored_answers(app)["ATTN1"] in (3, 4)


def test_oversized_form_gets_a_friendly_page(client, open_wave):
    start(client)
    response = client.post("/2031/page/about", data={"sex": "1" * 100_000})
    assert response.status_code == 413
    assert "请返回后重试" in response.text and "Traceback" not in response.text


def test_submit_button_where_no_later_page_asks_anything(app, client):
    """A wave whose last page is conditional: "Submit" moves to where the questions end."""
    from questionnaires import Wave

    base = make_wave()
    about, n01, walk, last = base.pages
    wave = Wave(year=2031, title=base.title, norms_version="2023", opens=base.opens,
                closes=base.closes, consent=base.consent, pages=(about, n01, last, walk))
    install_wave(app, wave)
    start(client)
    answer(client, 2031, "about", FULL["about"])
    answer(client, 2031, "n01", {"N01_A1": "5", "N01_P1": "2"})  # the walk page stays hidden
    page = client.get("/2031/page/last")
    assert 'value="next" class="primary">提交</button>' in page.text
    done = answer(client, 2031, "last", FULL["last"])
    assert done.headers["Location"].endswith("/2031/thanks")

    other = app.test_client()
    start(other)
    answer(other, 2031, "about", FULL["about"])
    answer(other, 2031, "n01", FULL["n01"])  # N01_P1 = 4: the walk page is asked last
    assert 'value="next" class="primary">下一页</button>' in other.get("/2031/page/last").text
    answer(other, 2031, "last", FULL["last"])
    assert 'value="next" class="primary">提交</button>' in other.get("/2031/page/walk").text
    assert answer(other, 2031, "walk", FULL["walk"]).headers["Location"].endswith("/thanks")
    assert [r.status for r in responses(app)] == ["complete", "complete"]


def test_resume_codes_cannot_be_guessed_quickly(app, wave):
    """After RESUME_RATE_LIMIT attempts the form refuses, politely and in the person's language,
    even for a right code; other clients are not affected."""
    install_wave(app, wave)
    page = start(app.test_client())
    code = re.search(r'class="code" lang="en">([A-Z0-9]{4}-[A-Z0-9]{4})<', page.text).group(1)

    def token_of(client):
        return csrf_from(client.get("/2031/resume").get_data(as_text=True))

    guesser = app.test_client()
    token = token_of(guesser)
    for _ in range(10):
        r = guesser.post("/2031/resume", data={"csrf_token": token, "code": "AAAA-AAAA"})
        assert r.status_code == 200
    r = guesser.post("/2031/resume", data={"csrf_token": token, "code": code})
    assert r.status_code == 429
    assert "尝试次数过多" in r.get_data(as_text=True)
    assert "survey_response" not in r.headers.get("Set-Cookie", "")

    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    r = other.post("/2031/resume", data={"csrf_token": token_of(other), "code": code})
    assert r.status_code == 200 and "survey_response=" in r.headers["Set-Cookie"]
