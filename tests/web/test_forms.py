"""The form builder: one field per visible item, named by its code; server-side validation."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from survey.forms import AnswerField, item_codes, page_form_class
from survey.respondent import effective_answers

from .conftest import make_wave


@pytest.fixture
def form_app():
    """A bare Flask app context is all a form needs (no database)."""
    from flask import Flask
    from flask_babel import Babel

    app = Flask(__name__)
    app.config.update(SECRET_KEY="x", WTF_CSRF_ENABLED=False, WTF_I18N_ENABLED=False)
    Babel(app, locale_selector=lambda: "en")
    with app.test_request_context():
        yield app


def build(wave, key, visible=None, data=None):
    page = wave.page(key)
    codes = {i.code for i in page.items} if visible is None else set(visible)
    return page_form_class(wave, page, codes)(formdata=MultiDict(data or {}))


def test_fields_are_named_by_item_code_and_only_for_visible_items(form_app):
    wave = make_wave()
    form = build(wave, "about")
    assert [f.name for f in form if f.name != "csrf_token"] == ["sex", "province", "education"]
    assert all(isinstance(form[c], AnswerField) for c in ("sex", "province"))
    hidden = build(wave, "walk", visible=set())
    assert [f.name for f in hidden if f.name != "csrf_token"] == []


def test_form_classes_are_cached_per_wave_page_and_visible_set(form_app):
    wave = make_wave()
    page = wave.page("about")
    first = page_form_class(wave, page, {"sex", "province", "education"})
    assert page_form_class(wave, page, {"education", "province", "sex"}) is first
    assert page_form_class(wave, page, {"sex"}) is not first
    other = make_wave(2032)  # another wave (another hash) gets its own classes
    assert page_form_class(other, other.page("about"), {"sex", "province", "education"}) \
        is not first


def test_required_optional_and_invalid_answers(form_app):
    wave = make_wave()
    missing = build(wave, "about", data={"education": "2"})
    assert not missing.validate()
    assert missing.errors == {"sex": ["Please choose an answer."],
                              "province": ["Please choose an answer."]}
    ok = build(wave, "about", data={"sex": "1", "province": "3"})
    assert ok.validate(), ok.errors
    assert (ok.sex.data, ok.province.data, ok.education.data) == (1, 3, None)
    for bad in ("3", "0", "-1", "x", "1.5"):
        form = build(wave, "about", data={"sex": bad, "province": "1"})
        assert not form.validate()
        assert form.errors["sex"] == ["Please choose one of the answers shown."], bad


def test_not_applicable_is_accepted_only_where_the_item_offers_it(form_app):
    wave = make_wave()
    form = build(wave, "n01", data={"N01_A1": "9", "N01_P1": "9"})
    assert not form.validate()
    assert list(form.errors) == ["N01_A1"]
    assert item_codes(wave.items["N01_P1"]) == (1, 2, 3, 4, 5, 9)
    assert item_codes(wave.items["N01_A1"]) == (1, 2, 3, 4, 5)


def test_effective_answers_follow_conditions_in_order():
    wave = make_wave()
    effective, visible = effective_answers(wave, {"N01_P1": 4, "N04_P4": 2, "sex": 1})
    assert [i.code for i in visible["walk"]] == ["N04_P4"]
    assert effective == {"N01_P1": 4, "N04_P4": 2, "sex": 1}
    effective, visible = effective_answers(wave, {"N01_P1": 9, "N04_P4": 2})
    assert visible["walk"] == ()
    assert "N04_P4" not in effective  # a stored answer to a hidden item does not count
