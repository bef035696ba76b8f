"""The question-type registry: definitions of every type in a wave's local items (and their
errors, naming file, item and field), frozen definitions, answer rules and codebook rows."""

from __future__ import annotations

import copy

import pytest

from questionnaires import QuestionnaireError, Wave, available_waves, codebook_rows, load_wave
from questionnaires.question_types import QUESTION_TYPES, Problem, question_type
from tests.typed_wave import typed_wave, typed_wave_data


def _with(code: str, **changes):
    data = typed_wave_data()
    entry = next(e for e in data["local_items"] if e["code"] == code)
    for key, value in changes.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    return data


def _error(data) -> QuestionnaireError:
    with pytest.raises(QuestionnaireError) as excinfo:
        typed_wave(data=data)
    return excinfo.value


def test_the_registry_names_six_types():
    assert list(QUESTION_TYPES) == ["scale", "single_choice", "select_multiple", "integer",
                                    "decimal", "text"]


def test_every_type_is_read_with_its_settings_and_survives_freezing():
    wave = typed_wave()
    types = {code: (item.type, item.settings) for code, item in wave.items.items()
             if item.kind == "local"}
    assert types == {
        "DEMO_bins": ("select_multiple", {"min_choices": 1, "max_choices": 3}),
        "DEMO_trips": ("integer", {"min": 0, "max": 60, "unit": {"zh": "次", "en": "trips"}}),
        "DEMO_spend": ("decimal", {"min": "0", "max": "10000", "decimals": 2,
                                   "unit": {"zh": "元", "en": "yuan"}}),
        "DEMO_comment": ("text", {"max_length": 100}),
    }
    assert Wave.from_dict(wave.to_dict()) == wave
    assert Wave.from_dict(wave.to_dict()).content_hash == wave.content_hash


@pytest.mark.parametrize("year", available_waves())
def test_choice_items_keep_their_frozen_form(year):
    """Choice items write no type, so every wave frozen before types had names keeps its hash."""
    wave = load_wave(year)
    for page in wave.to_dict()["pages"]:
        for item in page["items"]:
            assert "type" not in item and "settings" not in item
    kinds = {item.kind: item.type for item in wave.items.values()}
    assert kinds["demographic"] == "single_choice" and kinds["practice"] == "scale"


def test_choice_types_follow_from_kind_and_not_applicable():
    wave = typed_wave(data=_with("DEMO_bins", type=None, max_choices=None))
    assert wave.items["DEMO_bins"].type == "single_choice"  # no type: a choice list
    data = typed_wave_data()
    data["local_items"].append({"code": "DEMO_station", "type": "scale", "scale": "frequency",
                                "not_applicable": True,
                                "text": {"zh": "多久？", "en": "How often?"}})
    data["pages"][-1]["items"].append("DEMO_station")
    assert typed_wave(data=data).items["DEMO_station"].type == "scale"


@pytest.mark.parametrize(("code", "changes", "field", "problem"), [
    ("DEMO_bins", {"type": "checkboxes"}, "local_items.type",
     "unknown type 'checkboxes' (expected scale, single_choice, select_multiple, integer, "
     "decimal, text)"),
    ("DEMO_bins", {"max_choices": 5}, "local_items.max_choices",
     "must be 1..4 (the number of options), got 5"),
    ("DEMO_bins", {"min_choices": 4, "max_choices": 2}, "local_items.min_choices",
     "min_choices 4 is more than max_choices 2"),
    ("DEMO_bins", {"min_choices": "two"}, "local_items.min_choices", "must be an integer"),
    ("DEMO_bins", {"options": None}, "local_items.options", "missing (list the options"),
    ("DEMO_bins", {"options": [{"code": 31, "label": {"zh": "甲", "en": "A"}}]},
     "local_items.options",
     "option code 31: the options of a select_multiple item are coded 1..30"),
    ("DEMO_bins", {"scale": "frequency"}, "local_items.scale", "unknown field"),
    ("DEMO_trips", {"min": None}, "local_items.min", "missing (give the smallest"),
    ("DEMO_trips", {"max": 2.5}, "local_items.max", "must be a whole number, got 2.5"),
    ("DEMO_trips", {"max": "60"}, "local_items.max", "must be a whole number, got '60'"),
    ("DEMO_trips", {"max": True}, "local_items.max", "must be a whole number, got True"),
    ("DEMO_trips", {"max": 10**10}, "local_items.max",
     "must be between -1,000,000,000 and 1,000,000,000"),
    ("DEMO_trips", {"min": 60, "max": 0}, "local_items.min", "min 60 must be less than max 0"),
    ("DEMO_trips", {"unit_en": None}, "local_items.unit_en",
     "missing (give the unit in zh and en)"),
    ("DEMO_trips", {"decimals": 2}, "local_items.decimals", "unknown field"),
    ("DEMO_spend", {"decimals": 7}, "local_items.decimals", "must be 1..6, got 7"),
    ("DEMO_spend", {"min": 0.125}, "local_items.min", "0.125 has more than 2 decimals"),
    ("DEMO_spend", {"max": float("nan")}, "local_items.max", "must be a number"),
    ("DEMO_comment", {"max_length": 501}, "local_items.max_length",
     "must be 1..500 characters, got 501"),
    ("DEMO_comment", {"options": [{"code": 1, "label": {"zh": "甲", "en": "A"}}]},
     "local_items.options", "unknown field"),
])
def test_definition_errors_name_the_item_and_field(code, changes, field, problem):
    error = _error(_with(code, **changes))
    assert (error.item, error.field) == (code, field)
    assert problem in error.problem
    assert str(error).startswith(f"2031.yaml: item '{code}', field '{field}': ")


def test_single_choice_needs_options_and_scale_needs_a_scale():
    assert typed_wave(data=_with("DEMO_bins", type="single_choice", max_choices=None)
                      ).items["DEMO_bins"].type == "single_choice"
    error = _error(_with("DEMO_bins", type="single_choice", max_choices=None, options=None,
                         scale="frequency"))
    assert (error.field, error.problem.split(" (")[0]) == ("local_items.options", "missing")
    data = _with("DEMO_bins", type="scale", max_choices=None)
    error = _error(data)
    assert (error.field, error.problem.split(" (")[0]) == ("local_items.scale", "missing")


def test_local_codes_fit_the_answers_table():
    long_code = "DEMO_" + "x" * 28
    data = typed_wave_data()
    data["local_items"][0]["code"] = long_code
    data["pages"][-1]["items"][0] = long_code
    error = _error(data)
    assert error.field == "local_items.code"
    assert "is 33 characters long; an item code may have at most 32" in error.problem


def test_bank_items_take_no_type():
    from pathlib import Path

    from questionnaires import load_norms
    from questionnaires.loader import _BankParser
    from tests.questionnaires.helpers import BANK

    bank = copy.deepcopy(BANK)
    bank["items"][0]["type"] = "integer"
    with pytest.raises(QuestionnaireError) as excinfo:
        _BankParser(Path("items.yaml"), load_norms()).parse_data(bank)
    assert excinfo.value.field == "type" and "unknown field" in excinfo.value.problem


def test_a_condition_can_only_test_a_choice():
    data = typed_wave_data()
    data["pages"].append({"key": "after", "title": {"zh": "后", "en": "After"}, "items": [
        {"item": "N01_A1", "show_if": {"item": "DEMO_trips", "values": [1]}}]})
    error = _error(data)
    assert (error.item, error.field) == ("N01_A1", "show_if.item")
    assert error.problem == ("condition refers to 'DEMO_trips', a question of type integer; a "
                             "condition can test only answers chosen from a list (scale, "
                             "single_choice)")


# ------------------------------------------------------------------------- answer rules

def _check(code, value):
    item = typed_wave().items[code]
    return question_type(item).check(item, value)


@pytest.mark.parametrize(("code", "value", "problem"), [
    ("DEMO_bins", 0b1010, None),
    ("DEMO_bins", 0b11110, Problem("too_many_choices", {"max": 3})),
    ("DEMO_bins", 1 << 7, Problem("not_an_option")),
    ("DEMO_bins", 1, Problem("not_an_option")),  # bit 0 is no option
    ("DEMO_trips", 60, None),
    ("DEMO_trips", 61, Problem("out_of_range", {"min": 0, "max": 60})),
    ("DEMO_trips", "12", Problem("not_an_integer")),
    ("DEMO_spend", "12.5", None),
    ("DEMO_spend", "12.555", Problem("too_many_decimals", {"decimals": 2})),
    ("DEMO_spend", "-0.01", Problem("out_of_range", {"min": "0", "max": "10000"})),
    ("DEMO_spend", "Infinity", Problem("not_a_number")),
    ("DEMO_comment", "好" * 100, None),
    ("DEMO_comment", "好" * 101, Problem("too_long", {"max": 100, "length": 101})),
    ("DEMO_comment", "a\x00", Problem("control_characters")),
    ("DEMO_comment", "line\nbreak\ttab", None),
    ("sex", 2, None),
    ("sex", 3, Problem("not_an_option")),
    ("N05_P2", 9, None),
])
def test_answer_rules(code, value, problem):
    assert _check(code, value) == problem


# ------------------------------------------------------------------------- codebook

def test_codebook_rows_of_every_type():
    rows = {r["item"]: r for r in codebook_rows(typed_wave())}
    assert [c for c in rows if c.startswith("DEMO")] == [
        "DEMO_bins__1", "DEMO_bins__2", "DEMO_bins__3", "DEMO_bins__4", "DEMO_trips",
        "DEMO_spend", "DEMO_comment"]
    bins = rows["DEMO_bins__3"]
    assert (bins["kind"], bins["type"], bins["page"], bins["wording_version"]) == (
        "local", "integer", "local", "1")
    assert bins["text_zh"] == "您家附近有哪些分类垃圾桶？：厨余垃圾"
    assert (bins["answer_labels_zh"], bins["answer_labels_en"]) == ("0=未选; 1=已选",
                                                                    "0=not chosen; 1=chosen")
    assert rows["DEMO_trips"]["type"] == "number"
    assert rows["DEMO_trips"]["text_en"].endswith("last month? [0–60 trips]")
    assert rows["DEMO_spend"]["text_zh"].endswith("[0–10000 元]")
    assert (rows["DEMO_comment"]["type"], rows["DEMO_comment"]["answer_labels_en"]) == ("text", "")
    # the choice items' rows are what they were
    assert (rows["sex"]["type"], rows["N05_P2"]["type"]) == ("category", "integer")
    assert rows["N05_P2"]["not_applicable_code"] == "9"
