"""Input no browser of ours sends gets a clear 4xx page, never a 500 or a traceback.

Each case here made the app answer 500 before: ``int()`` refusing ``²`` or ``①`` after
``str.isdigit()`` accepted them, ``int()`` accepting Arabic-Indic digits as an answer, its
4,300-digit limit, a year beyond the database's integer range in the URL, a CR/LF in the
language switch's ``next``. File uploads were silently accepted.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from survey.db import db
from survey.models import Answer, Response

from .conftest import FULL, answer, start


def stored_answers(app) -> dict:
    with app.app_context():
        return dict(db.session.execute(select(Answer.item, Answer.code)).all())


def page_index(app) -> int:
    with app.app_context():
        return db.session.scalars(select(Response.page_index)).one()


def assert_friendly(response, status: int, text: str) -> None:
    assert response.status_code == status, (response.status_code, response.text[:300])
    body = response.get_data(as_text=True)
    assert text in body, body[:500]
    assert "Traceback" not in body and "Error:" not in body
    assert '<a class="button" href="/">' in body  # the way back into the survey


# --------------------------------------------------------------------------- answers


@pytest.mark.parametrize("value", [
    "²",           # superscript two: str.isdigit() is True, int() raises
    "①",           # circled one: the same
    "١",           # Arabic-Indic one: int() returns 1
    "٣",           # Arabic-Indic three
    "２",          # full-width two: int() returns 2
    "𝟙",           # mathematical double-struck one: int() returns 1
    "1\u00a0",     # a no-break space after the digit
])
def test_non_ascii_digits_in_an_answer_get_the_400_page(app, client, open_wave, value):
    start(client)
    response = answer(client, 2031, "about", {"sex": value, "province": "1"})
    assert_friendly(response, 400, "无法读取这个回答")
    assert stored_answers(app) == {} and page_index(app) == 0


def test_the_400_page_speaks_english_too(app, client, open_wave):
    start(client)
    response = client.post("/2031/page/about?lang=en",
                           data={"sex": "²", "province": "1", "nav": "next"})
    assert_friendly(response, 400, "This answer could not be read")


def test_a_malformed_answer_to_a_hidden_question_is_refused_too(app, client, open_wave):
    """Values of the page's hidden questions are parsed for the conditions as well."""
    start(client)
    answer(client, 2031, "about", FULL["about"])
    answer(client, 2031, "n01", {"N01_A1": "5", "N01_P1": "2"})  # hides the walk page
    response = answer(client, 2031, "walk", {"N04_P4": "①"})
    assert_friendly(response, 400, "无法读取这个回答")


@pytest.mark.parametrize("digits", [4_301, 20_000])
def test_a_number_beyond_pythons_conversion_limit_gets_the_400_page(app, client, open_wave,
                                                                     digits):
    start(client)
    response = answer(client, 2031, "about", {"sex": "1" * digits, "province": "1"})
    assert_friendly(response, 400, "无法读取这个回答")
    assert stored_answers(app) == {}


def test_plain_wrong_numbers_still_get_the_message_next_to_the_question(app, client, open_wave):
    """Values that are ASCII but not a code of the question keep the usual re-rendered page."""
    start(client)
    for value in ("7", "-1", "+2", " 3", "1.0", "2_0", "9" * 20):
        response = answer(client, 2031, "about", {"sex": value, "province": "1"})
        assert response.status_code == 200, value
        assert 'id="sex-error"' in response.text, value
    assert stored_answers(app) == {}


# --------------------------------------------------------------------------- uploads


def upload(**fields):
    return {**fields, "photo": (io.BytesIO(b"\x89PNG\r\n\x1a\n..."), "photo.png")}


def test_a_file_upload_to_a_questionnaire_page_is_refused(app, client, open_wave):
    start(client)
    response = client.post("/2031/page/about", content_type="multipart/form-data",
                           data=upload(**FULL["about"], nav="next"))
    assert_friendly(response, 400, "这里不能发送文件")
    assert stored_answers(app) == {}


def test_a_file_upload_to_the_resume_and_consent_forms_is_refused(app, client, open_wave):
    response = client.post("/2031/resume", content_type="multipart/form-data",
                           data=upload(code="AAAA-AAAA"))
    assert_friendly(response, 400, "这里不能发送文件")
    response = client.post("/2031/consent?lang=en", content_type="multipart/form-data",
                           data=upload())
    assert_friendly(response, 400, "Files cannot be sent here")
    with app.app_context():
        assert db.session.scalars(select(Response)).all() == []


def test_a_multipart_form_without_files_still_works(app, client, open_wave):
    start(client)
    response = client.post("/2031/page/about", content_type="multipart/form-data",
                           data={**FULL["about"], "nav": "next"})
    assert response.status_code == 303
    assert stored_answers(app) == {"sex": 2, "province": 2, "education": 1}


# --------------------------------------------------------------------------- URLs


@pytest.mark.parametrize("url", [
    "/99999999999999999999/consent",   # beyond 64 bits: SQLite's driver refused it
    "/2147483648/",                    # beyond PostgreSQL's 32-bit integer
    "/99999/page/about",
    "/%D9%A2%D9%A0%D9%A3%D9%A1/",      # ٢٠٣١: Arabic-Indic digits matched Werkzeug's int
    "/-2031/thanks",
])
def test_a_year_that_cannot_be_a_wave_is_not_found(client, open_wave, url):
    assert_friendly(client.get(url), 404, "找不到该页面")


def test_a_four_digit_year_with_a_leading_zero_is_still_a_year(client, open_wave):
    assert client.get("/02031/").status_code == 404  # five digits: not a year
    assert client.get("/2031/").status_code == 200


@pytest.mark.parametrize("target", [
    "/2031/\r\nSet-Cookie: admin=1",
    "/2031/%0d%0aSet-Cookie:%20admin=1",  # stays percent-encoded: a harmless same-site path
    "/\\evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "https://evil.example/",
    "//evil.example/",
    "///evil.example/",
    "http:/evil.example",
    "\x00/2031/",
])
def test_the_language_switch_never_splits_a_header_or_leaves_the_site(client, open_wave,
                                                                      target):
    response = client.get("/language/en", query_string={"next": target})
    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//"), location
    assert "\r" not in location and "\n" not in location and "\\" not in location
    assert "evil.example" not in location or location.startswith("/2031/")
    assert "admin" not in response.headers.get("Set-Cookie", "").split(";")[0]


def test_a_response_cookie_that_is_not_one_of_ours_is_ignored(app, client, open_wave):
    """Only tokens shaped like ours reach a query (PostgreSQL refuses NUL in text)."""
    for token in ("abc\x00def", "ａｂｃ", "x" * 65, "a b"):
        client.set_cookie("survey_response", token)
        response = client.get("/2031/page/about")
        assert response.status_code == 303, token
        assert response.headers["Location"].endswith("/2031/")


@pytest.mark.parametrize("host", ["a" * 300, "a" * 64 + ".cn", "..", "a..b"])
def test_a_host_header_werkzeug_refuses_gets_a_page_in_both_languages(client, open_wave, host):
    """Such a request cannot be routed, so no URL can be built: the error page needs none."""
    response = client.get("/2031/", headers={"Host": host})
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "请求有误" in body and "Something is not right with this request" in body
    assert "Traceback" not in body and 'href="/"' in body
