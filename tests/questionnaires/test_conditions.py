"""Show-if conditions in the grammar (questionnaires/conditions.py): parsing, precedence,
errors with positions, evaluation (unanswered questions, multiple choice), the loader's checks,
their stored form and the XLSForm round trip; and the randomised order's definition checks."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest

from questionnaires import Condition, QuestionnaireError, Wave, load_item_bank, load_norms
from questionnaires.codebook import codebook_rows
from questionnaires.conditions import (
    And,
    Answered,
    Chosen,
    Comparison,
    ConditionSyntaxError,
    Not,
    Or,
    parse_condition,
)
from questionnaires.loader import _WaveParser
from questionnaires.presentation import (
    item_order,
    option_order,
    order_cells,
    order_columns,
    presented,
)
from questionnaires.question_types.select_multiple import mask_of
from questionnaires.xlsform import export_xlsform, import_xlsform
from questionnaires.xlsform.conditions import odk_expression
from tests.typed_wave import typed_wave_data

YEAR = 2031


# --------------------------------------------------------------------------- parsing

def test_precedence_not_then_and_then_or():
    assert parse_condition("not A = 1 and B = 2 or C = 3") == Or((
        And((Not(Comparison("A", "=", Decimal(1))), Comparison("B", "=", Decimal(2)))),
        Comparison("C", "=", Decimal(3))))
    assert parse_condition("A = 1 and (B != 2 or any_of(C, 3))") == And((
        Comparison("A", "=", Decimal(1)),
        Or((Comparison("B", "!=", Decimal(2)), Chosen("any_of", "C", frozenset({3}))))))


@pytest.mark.parametrize("text, node", [
    ("A in (3, 1,2)", Condition("A", frozenset({1, 2, 3}))),
    ("A >= 2.5", Comparison("A", ">=", Decimal("2.5"))),
    ("A < -1", Comparison("A", "<", Decimal(-1))),
    ("answered(A)", Answered("A")),
    ("all_of(C, 1, 2)", Chosen("all_of", "C", frozenset({1, 2}))),
    ("not not answered(A)", Not(Not(Answered("A")))),
    # normal forms
    ("all_of(C, 4)", Chosen("any_of", "C", frozenset({4}))),
    ("A in (1) or A in (2)", Condition("A", frozenset({1, 2}))),
    ("any_of(C, 1) or (any_of(C, 2))", Chosen("any_of", "C", frozenset({1, 2}))),
    ("all_of(C, 1) and all_of(C, 2, 3)", Chosen("all_of", "C", frozenset({1, 2, 3}))),
    ("(A = 1 or B = 2) or C = 3", Or((Comparison("A", "=", Decimal(1)),
                                      Comparison("B", "=", Decimal(2)),
                                      Comparison("C", "=", Decimal(3))))),
])
def test_parse(text, node):
    assert parse_condition(text) == node


@pytest.mark.parametrize("text", [
    "A = 1 and (B != 2 or any_of(C, 3))", "not (A = 1 or B = 2) and answered(D)",
    "A in (1, 2) or B >= 2.5", "not not A = 1", "all_of(C, 1, 2) or not any_of(C, 3, 4)",
])
def test_text_reads_back_as_the_same_condition(text):
    node = parse_condition(text)
    assert parse_condition(node.text()) == node
    assert node.text() == text


@pytest.mark.parametrize("text, position, problem", [
    ("ORG_x = 1 and A =", 18, "expected a value after '=', got the end of the condition"),
    ("A = 1 and", 10, "expected an item code, 'not', 'any_of', 'all_of', 'answered' or '(', "
                      "got the end of the condition"),
    ("(A = 1", 7, "expected ')', got the end of the condition"),
    ("A 1", 3, "expected =, !=, <, <=, >, >= or 'in' after 'A', got '1'"),
    ("A == 1", 4, "expected a value after '=', got '='"),
    ("any_of(C)", 9, "expected ',' and at least one answer code after 'C', got ')'"),
    ("A = 1 B = 2", 7, "expected 'and', 'or' or the end of the condition, got 'B'"),
    ("A in (1.5)", 7, "an answer code is a whole number, got 1.5"),
    ("A in ()", 7, "expected an answer code, got ')'"),
    ("A = 1 && B = 2", 7, "unexpected character '&'"),
    ("", 1, "empty condition"),
    ("A = 'x'", 5, "unexpected character \"'\""),
    ("__import__('os')", 1, "unexpected character '_'"),
    ("not " * 21 + "A = 1", 81, "brackets and 'not' nest more than 20 deep"),
])
def test_syntax_errors_give_the_position(text, position, problem):
    with pytest.raises(ConditionSyntaxError) as excinfo:
        parse_condition(text)
    assert (excinfo.value.position, excinfo.value.problem) == (position, problem)
    assert str(excinfo.value) == f"position {position}: {problem}"


# --------------------------------------------------------------------------- evaluation

@pytest.mark.parametrize("text, answers, met", [
    ("A = 1", {"A": 1}, True),
    ("A = 1", {}, False),
    ("A != 1", {"A": 2}, True),
    ("A != 1", {}, False),  # unanswered meets no test of its answer...
    ("not A = 1", {}, True),  # ...and not is plain negation
    ("not A != 1", {}, True),
    ("A < 3", {"A": None}, False),
    ("A in (1, 2)", {"A": 2}, True),
    ("answered(A)", {"A": 9}, True),
    ("answered(A)", {}, False),
    ("not answered(A)", {}, True),
    ("A > 2.5", {"A": "2.75"}, True),  # a decimal answer is stored as its written text
    ("A > 2.5", {"A": "2.5"}, False),
    ("A <= 10", {"A": 10}, True),
    ("A = 1 and (B != 2 or any_of(C, 3))", {"A": 1, "B": 2, "C": mask_of([3])}, True),
    ("A = 1 and (B != 2 or any_of(C, 3))", {"A": 1, "B": 2, "C": mask_of([1, 2])}, False),
    ("A = 1 and (B != 2 or any_of(C, 3))", {"A": 1, "C": mask_of([1])}, False),
    ("any_of(C, 1, 4)", {"C": mask_of([4])}, True),
    ("any_of(C, 1, 4)", {}, False),
    ("not any_of(C, 1, 4)", {}, True),
    ("all_of(C, 1, 4)", {"C": mask_of([1, 2, 4])}, True),
    ("all_of(C, 1, 4)", {"C": mask_of([1, 2])}, False),
    ("A = 1 or B = 1", {"B": 1}, True),
])
def test_evaluation(text, answers, met):
    assert parse_condition(text).is_met(answers) is met


def test_the_one_question_form_is_unchanged():
    cond = Condition("N04_P3", frozenset({1, 2, 3, 4, 5}))
    assert cond.is_met({"N04_P3": 3}) and not cond.is_met({"N04_P3": 9})
    assert not cond.is_met({})
    assert cond.to_dict() == {"item": "N04_P3", "values": [1, 2, 3, 4, 5]}


# --------------------------------------------------------------------------- in a wave

def _t(zh, en):
    return {"zh": zh, "en": en}


COLOURS = [{"code": c, "label": _t(f"颜色{c}", f"Colour {c}")} for c in range(1, 5)]


def conditions_wave_data(show_if="sex = 2 and (N05_P1 != 9 or any_of(DEMO_bins, 3))",
                         **follow) -> dict:
    """The typed wave plus a page 'follow' whose first item has ``show_if``."""
    data = typed_wave_data(YEAR)
    data["local_items"] += [
        {"code": "DEMO_follow", "scale": "frequency",
         "text": _t("您多久分类一次？", "How often do you sort?")},
        {"code": "DEMO_colour", "options": copy.deepcopy(COLOURS),
         "text": _t("您最喜欢哪种颜色的垃圾桶？", "Which bin colour do you like best?")},
    ]
    data["pages"].append({"key": "follow", "title": _t("追问", "Follow-up"),
                          "items": [{"item": "DEMO_follow", "show_if": show_if, **follow},
                                    "DEMO_colour"]})
    return data


def parse(data) -> Wave:
    return _WaveParser(Path(f"{YEAR}.yaml"), load_item_bank(), load_norms()).parse_data(data)


def load_error(data) -> QuestionnaireError:
    with pytest.raises(QuestionnaireError) as excinfo:
        parse(data)
    return excinfo.value


def test_a_compound_condition_loads_and_is_stored_as_its_text():
    wave = parse(conditions_wave_data())
    condition = wave.items["DEMO_follow"].condition
    assert condition.items == ("sex", "N05_P1", "DEMO_bins")
    stored = wave.to_dict()["pages"][-1]["items"][0]["condition"]
    assert stored == {"expression": "sex = 2 and (N05_P1 != 9 or any_of(DEMO_bins, 3))"}
    assert Wave.from_dict(wave.to_dict()) == wave
    assert Wave.from_dict(wave.to_dict()).content_hash == wave.content_hash
    row = next(r for r in codebook_rows(wave) if r["item"] == "DEMO_follow")
    assert row["show_if"] == "sex = 2 and (N05_P1 != 9 or any_of(DEMO_bins, 3))"


@pytest.mark.parametrize("text, values", [
    ("N05_P1 != 9", [1, 2, 3, 4, 5]),
    ("N05_P1 = 4 or N05_P1 = 5", [4, 5]),
    ("N05_P1 >= 4 and N05_P1 != 9", [4, 5]),
    ("N05_P1 in (2, 3)", [2, 3]),
])
def test_one_question_in_the_grammar_is_the_one_question_form(text, values):
    """Written either way, it is the same condition with the same content hash."""
    wave = parse(conditions_wave_data(text))
    legacy = parse(conditions_wave_data({"item": "N05_P1", "values": values}))
    assert wave.items["DEMO_follow"].condition == Condition("N05_P1", frozenset(values))
    assert wave.content_hash == legacy.content_hash
    row = next(r for r in codebook_rows(wave) if r["item"] == "DEMO_follow")
    assert row["show_if"] == f"N05_P1 in {{{','.join(map(str, values))}}}"


def test_not_keeps_its_own_form():
    """``not N05_P1 = 9`` is also met when N05_P1 was not answered: no list of codes says
    that."""
    wave = parse(conditions_wave_data("not N05_P1 = 9"))
    assert wave.items["DEMO_follow"].condition == Not(Comparison("N05_P1", "=", Decimal(9)))


@pytest.mark.parametrize("show_if, problem", [
    ("sex = 2 and N05_P1 =", "position 21: expected a value after '=', got the end of the "
                             "condition"),
    ("sex = 2 and N05_P9 = 1", "position 13: condition refers to unknown item 'N05_P9'"),
    ("sex = 2 or DEMO_colour = 1", "position 12: condition refers to 'DEMO_colour', which comes "
                                   "later in the wave (a condition can only use earlier "
                                   "answers)"),
    ("sex = 2 or DEMO_follow = 1", "position 12: an item cannot depend on its own answer"),
    ("sex = 3 or answered(N05_P1)", "position 1: 'sex' has no answer code 3 (its codes: 1, 2)"),
    ("sex in (1, 5) or answered(N05_P1)", "position 1: 'sex' has no answer code 5 (its codes: "
                                          "1, 2)"),
    ("sex = 1.5 or answered(N05_P1)", "position 1: 'sex' has whole-number answers; got 1.5"),
    ("DEMO_trips > 2.5 or sex = 1", "position 1: 'DEMO_trips' has whole-number answers; got 2.5"),
    ("DEMO_bins = 1 or sex = 1", "position 1: 'DEMO_bins' is a select_multiple question: test "
                                 "it with any_of(DEMO_bins, …) or all_of(DEMO_bins, …)"),
    ("any_of(DEMO_bins, 7) or sex = 1", "position 1: 'DEMO_bins' has no answer code 7 (its "
                                        "codes: 1, 2, 3, 4)"),
    ("any_of(sex, 1) or sex = 2", "position 1: any_of tests a select_multiple question; 'sex' "
                                  "is of type single_choice (write sex in (…) or sex = …)"),
    ("DEMO_comment = 1 or sex = 1", "position 1: 'DEMO_comment' is a text question: a "
                                    "condition can only test answered(DEMO_comment)"),
    ("DEMO_trips in (1, 2) or sex = 1", "position 1: 'in' tests the answer codes of a choice "
                                        "question; 'DEMO_trips' is of type integer (compare it "
                                        "with =, <, >, …)"),
    ("N05_P1 = 1 and N05_P1 = 2", "no answer to 'N05_P1' meets this condition (the item would "
                                  "never be shown)"),
    ("sex = 2 or " * 100 + "sex = 1", "is 1107 characters long; a condition may have at most "
                                      "1000"),
])
def test_condition_errors_name_the_file_item_and_position(show_if, problem):
    error = load_error(conditions_wave_data(show_if))
    assert (error.file, error.item, error.field) == (f"{YEAR}.yaml", "DEMO_follow", "show_if")
    assert error.problem == problem
    assert str(error) == f"{YEAR}.yaml: item 'DEMO_follow', field 'show_if': {problem}"


def test_an_item_of_the_same_page_in_a_condition_is_refused():
    data = conditions_wave_data("sex = 2 or DEMO_colour = 1")
    data["pages"][-1]["items"].reverse()
    assert load_error(data).problem == ("position 12: condition refers to 'DEMO_colour' on the "
                                        "same page 'follow'; move one of them to another page")


def test_a_later_item_in_a_condition_is_refused():
    data = conditions_wave_data("answered(DEMO_later)")
    data["local_items"].append({"code": "DEMO_later", "scale": "frequency",
                                "text": _t("之后", "Later")})
    data["pages"].append({"key": "later", "title": _t("之后", "Later"),
                          "items": ["DEMO_later"]})
    assert load_error(data).problem == ("position 1: condition refers to 'DEMO_later', which "
                                        "comes later in the wave (a condition can only use "
                                        "earlier answers)")


def test_decimal_and_integer_comparisons_load():
    wave = parse(conditions_wave_data("DEMO_spend >= 99.5 or DEMO_trips < 3"))
    condition = wave.items["DEMO_follow"].condition
    assert condition.is_met({"DEMO_spend": "100"}) and condition.is_met({"DEMO_trips": 2})
    assert not condition.is_met({"DEMO_spend": "99.49", "DEMO_trips": 3})


# --------------------------------------------------------------------------- XLSForm

@pytest.mark.parametrize("show_if, relevant", [
    ("sex = 2 and (N05_P1 != 9 or any_of(DEMO_bins, 3))",
     "${sex} = 2 and (${N05_P1} != 9 or selected(${DEMO_bins}, '3'))"),
    ("not (sex = 1 or answered(DEMO_comment))",
     "not(${sex} = 1 or ${DEMO_comment} != '')"),
    ("all_of(DEMO_bins, 1, 2) and sex in (1, 2)",
     "selected(${DEMO_bins}, '1') and selected(${DEMO_bins}, '2') and "
     "(selected(${sex}, '1') or selected(${sex}, '2'))"),
    ("DEMO_spend > 12.5 or any_of(DEMO_bins, 1, 4)",
     "${DEMO_spend} > 12.5 or selected(${DEMO_bins}, '1') or selected(${DEMO_bins}, '4')"),
    ("not N05_P1 = 9", "not(${N05_P1} = 9)"),
    ("N05_P1 != 9", "${N05_P1} != 9"),
])
def test_compound_conditions_survive_xlsform_export_and_import(tmp_path, show_if, relevant):
    wave = parse(conditions_wave_data(show_if))
    condition = wave.items["DEMO_follow"].condition
    assert odk_expression(condition, lambda code: wave.items[code].answer_codes) == relevant
    path = export_xlsform(wave, tmp_path / "form.xlsx")
    imported = import_xlsform(path, YEAR, "DEMO")
    assert imported.wave.items["DEMO_follow"].condition == condition
    assert imported.wave.content_hash == wave.content_hash


def test_pyxform_converts_a_compound_condition(tmp_path):
    pyxform = pytest.importorskip("pyxform.xls2xform")
    path = export_xlsform(parse(conditions_wave_data()), tmp_path / "form.xlsx")
    warnings: list = []
    xform = pyxform.convert(xlsform=str(path), validate=False, warnings=warnings).xform
    assert warnings == []
    assert ("relevant=\" /data/about_you/sex  = 2 and ( /data/N05/N05_P1  != 9 or "
            "selected( /data/local/DEMO_bins , '3'))\"") in xform


# --------------------------------------------------------------------------- randomised order

def test_randomised_order_is_stored_only_when_used():
    plain = parse(conditions_wave_data())
    assert "randomise" not in plain.to_dict()["pages"][-1]
    assert "randomise_options" not in plain.to_dict()["pages"][-1]["items"][1]
    data = conditions_wave_data()
    data["pages"][-1]["randomise"] = "items"
    data["pages"][-1]["items"][1] = {"item": "DEMO_colour", "randomise_options": True}
    wave = parse(data)
    assert wave.page("follow").randomise and wave.items["DEMO_colour"].randomise_options
    assert wave.content_hash != plain.content_hash
    assert Wave.from_dict(wave.to_dict()) == wave
    assert Wave.from_dict(wave.to_dict()).content_hash == wave.content_hash


def _randomised_wave() -> Wave:
    data = conditions_wave_data()
    data["pages"][-1]["randomise"] = "items"
    data["pages"][-1]["items"][1] = {"item": "DEMO_colour", "randomise_options": True}
    data["pages"][-1]["items"].append("N01_A1")
    return parse(data)


def test_orders_follow_the_seed_alone():
    wave = _randomised_wave()
    page, colour = wave.page("follow"), wave.items["DEMO_colour"]
    orders = {tuple(i.code for i in item_order(page, seed)) for seed in range(40)}
    assert len(orders) == 6  # every order of three items turns up
    assert all(sorted(o) == sorted(i.code for i in page.items) for o in orders)
    assert item_order(page, 7) == item_order(page, 7)
    assert len({option_order(colour, seed) for seed in range(60)}) > 12
    assert item_order(page, None) == page.items and option_order(colour, None) == colour.options
    assert presented(colour, 3).options == option_order(colour, 3)
    columns = order_columns(wave)
    assert [c for c, _ in columns] == ["order__follow", "order__DEMO_colour"]
    cells = order_cells(columns, 3)
    assert cells["order__follow"] == " ".join(i.code for i in item_order(page, 3))
    assert cells["order__DEMO_colour"] == " ".join(str(o.code) for o in option_order(colour, 3))
    assert order_cells(columns, None) == {"order__follow": None, "order__DEMO_colour": None}
    rows = {r["item"]: r for r in codebook_rows(wave)}
    assert (rows["order__follow"]["kind"], rows["order__follow"]["type"]) == ("paradata", "text")
    assert "DEMO_colour" in rows["order__DEMO_colour"]["text_en"]


@pytest.mark.parametrize("change, item, field, problem", [
    (lambda d: d["pages"][-1].update(randomise=True), None, "pages.follow.randomise",
     "must be 'items' (show the page's items in an order of their own per response), got True"),
    (lambda d: d["pages"][-1].update(randomise="items", items=["DEMO_colour"]), None,
     "pages.follow.randomise", "a page with one item has no order to randomise"),
    (lambda d: d["pages"][-1]["items"][0].update(randomise_options=True), "DEMO_follow",
     "randomise_options", "the answers of a scale are ordered and keep their order (shuffling "
     "them changes what the scale measures); only a list of unordered options can be shuffled"),
    (lambda d: d["pages"][0]["items"].__setitem__(0, {"item": "sex", "randomise_options": True}),
     "sex", "randomise_options", "the demographics keep the order of their categories (the "
     "weighting and the national questionnaire compare them); only a wave's own lists of "
     "unordered options can be shuffled"),
    (lambda d: d["pages"][-2]["items"].__setitem__(1, {"item": "DEMO_trips",
                                                       "randomise_options": True}),
     "DEMO_trips", "randomise_options", "a question of type integer has no options to shuffle"),
    (lambda d: d["pages"][-1]["items"].__setitem__(1, {"item": "DEMO_colour",
                                                       "randomise_options": "yes"}),
     "DEMO_colour", "randomise_options", "must be true or false, got str 'yes'"),
])
def test_randomisation_errors(change, item, field, problem):
    data = conditions_wave_data()
    change(data)
    error = load_error(data)
    assert (error.item, error.field, error.problem) == (item, field, problem)


def test_randomised_order_survives_xlsform_export_and_import(tmp_path):
    wave = _randomised_wave()
    path = export_xlsform(wave, tmp_path / "form.xlsx")
    imported = import_xlsform(path, YEAR, "DEMO")
    assert imported.wave.page("follow").randomise
    assert imported.wave.items["DEMO_colour"].randomise_options
    assert imported.wave.content_hash == wave.content_hash
    pyxform = pytest.importorskip("pyxform.xls2xform")
    warnings: list = []
    xform = pyxform.convert(xlsform=str(path), validate=False, warnings=warnings).xform
    assert warnings == [] and "randomize(instance('DEMO_colour')/root/item)" in xform
