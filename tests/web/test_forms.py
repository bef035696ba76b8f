"""The one answer validator (``survey.forms.AnswerValidator``) and the conditions it is applied
after: what a posted value means, which messages a question gets, and which items are shown."""

from __future__ import annotations

import itertools

import pytest
from werkzeug.datastructures import MultiDict

from survey.forms import NOT_A_CODE, AnswerValidator, MalformedAnswer, item_codes
from survey.respondent import effective_answers
from survey.wave_cache import WaveEntry

from .conftest import make_wave

CHOOSE = "Please choose an answer."
SHOWN = "Please choose one of the answers shown."


@pytest.fixture
def form_app():
    """A bare Flask request context (for Babel's gettext) is all the validator needs."""
    from flask import Flask
    from flask_babel import Babel

    app = Flask(__name__)
    app.config.update(SECRET_KEY="x")
    Babel(app, locale_selector=lambda: "en")
    with app.test_request_context():
        yield app


def validate(wave, key, data, visible=None):
    page = wave.page(key)
    items = page.items if visible is None else [i for i in page.items if i.code in visible]
    validator = AnswerValidator(wave)
    return validator.check(items, validator.read(page.items, MultiDict(data)))


def test_required_optional_and_invalid_answers(form_app):
    wave = make_wave()
    values, errors = validate(wave, "about", {"education": "2"})
    assert values == {"sex": None, "province": None, "education": 2}
    assert errors == {"sex": CHOOSE, "province": CHOOSE}
    values, errors = validate(wave, "about", {"sex": "1", "province": "3"})
    assert (values, errors) == ({"sex": 1, "province": 3, "education": None}, {})
    for bad in ("3", "0", "-1", "x", "1.5"):
        values, errors = validate(wave, "about", {"sex": bad, "province": "1"})
        assert errors == {"sex": SHOWN}, bad
        assert values["sex"] == (int(bad) if bad.isdigit() else None)


def test_only_the_items_shown_are_checked(form_app):
    wave = make_wave()
    assert validate(wave, "walk", {}, visible=set()) == ({}, {})
    assert validate(wave, "walk", {}) == ({"N04_P4": None}, {"N04_P4": CHOOSE})


def test_not_applicable_is_accepted_only_where_the_item_offers_it(form_app):
    wave = make_wave()
    values, errors = validate(wave, "n01", {"N01_A1": "9", "N01_P1": "9"})
    assert list(errors) == ["N01_A1"] and values == {"N01_A1": 9, "N01_P1": 9}
    assert item_codes(wave.items["N01_P1"]) == (1, 2, 3, 4, 5, 9)
    assert item_codes(wave.items["N01_A1"]) == (1, 2, 3, 4, 5)


# what every kind of posted value means, written out independently of the validator's code
RAW_VALUES = [None, [""], ["1"], ["2"], ["5"], ["9"], ["3"], ["x"], [" 3"], ["+2"], ["٣"], ["²"],
              ["２"], ["1\u00a0"], ["99"], ["-1"], ["1.0"], ["", "1"], ["1", "x"], ["2_0"],
              ["1" * 20], ["1" * 21], ["1" * 5000]]


def expected(raw, codes, required):
    """(value, message or None), or MalformedAnswer when the request must be refused."""
    first = raw[0] if raw else ""
    if first == "":
        return None, CHOOSE if required else None
    if len(first) > 20 or not first.isascii():
        return MalformedAnswer
    if not first.isdigit():
        return None, SHOWN
    return int(first), None if int(first) in codes else SHOWN


def test_every_kind_of_value_on_every_page(form_app):
    wave = make_wave()
    validator = AnswerValidator(wave)
    checked = 0
    for page in wave.pages:
        items = page.items[:2]
        for combo in itertools.product(RAW_VALUES, repeat=len(items)):
            data = MultiDict()
            for item, raw in zip(items, combo, strict=True):
                for value in raw or ():
                    data.add(item.code, value)
            want = [expected(raw, set(item_codes(item)), item.required)
                    for item, raw in zip(items, combo, strict=True)]
            if MalformedAnswer in want:
                with pytest.raises(MalformedAnswer):
                    validator.read(items, data)
                continue
            values, errors = validator.check(items, validator.read(items, data))
            pairs = list(zip(items, want, strict=True))
            assert values == {item.code: value for item, (value, _) in pairs}
            assert errors == {item.code: message for item, (_, message) in pairs
                              if message is not None}, dict(data)
            checked += 1
    assert checked > 500


def test_read_keeps_what_is_not_a_code_apart_from_nothing(form_app):
    wave = make_wave()
    posted = AnswerValidator.read(wave.page("about").items, MultiDict({"sex": "x", "province": ""}))
    assert posted == {"sex": NOT_A_CODE, "province": None, "education": None}


def test_effective_answers_follow_conditions_in_order():
    entry = WaveEntry(make_wave())
    effective, visible = effective_answers(entry, {"N01_P1": 4, "N04_P4": 2, "sex": 1})
    assert [i.code for i in visible["walk"]] == ["N04_P4"]
    assert effective == {"N01_P1": 4, "N04_P4": 2, "sex": 1}
    effective, visible = effective_answers(entry, {"N01_P1": 9, "N04_P4": 2})
    assert visible["walk"] == ()
    assert "N04_P4" not in effective  # a stored answer to a hidden item does not count
