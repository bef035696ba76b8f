"""XLSForm rows of the typed question types (select_multiple, integer, decimal, text): the round
trip, ODK's converter, and one precise error per malformed case."""

from __future__ import annotations

import re

import pytest

from questionnaires.xlsform import build_workbook, export_xlsform, import_xlsform, wave_yaml
from questionnaires.xlsform.constraints import (
    ConstraintSyntaxError,
    constraint_expression,
    parse_constraint,
)
from tests.typed_wave import typed_wave

from .xlsform_helpers import Form, assert_at, import_error

YEAR = 2025


class TypedForm(Form):
    def __init__(self) -> None:
        self.book = build_workbook(typed_wave(YEAR))


def test_typed_questions_survive_export_and_import(tmp_path):
    wave = typed_wave(YEAR)
    path = export_xlsform(wave, tmp_path / "typed.xlsx")
    imported = import_xlsform(path, YEAR, "DEMO")
    assert imported.wave.content_hash == wave.content_hash
    yaml_text = wave_yaml(imported.data, path.name)
    assert "type: select_multiple" in yaml_text and "max_choices: 3" in yaml_text
    assert "unit_zh: 次" in yaml_text and "decimals: 2" in yaml_text


def test_the_rows_say_what_xlsform_says(tmp_path):
    form = TypedForm()
    ws = form.sheet("survey")
    headings = [c.value for c in ws[1]]
    rows = {ws.cell(row=r, column=2).value: dict(zip(headings, (c.value for c in ws[r]),
                                                     strict=True))
            for r in range(2, ws.max_row + 1)}
    assert rows["DEMO_bins"]["type"] == "select_multiple DEMO_bins"
    assert rows["DEMO_bins"]["constraint"] == ("count-selected(.) >= 1 and "
                                               "count-selected(.) <= 3")
    assert (rows["DEMO_trips"]["type"], rows["DEMO_trips"]["constraint"]) == (
        "integer", ". >= 0 and . <= 60")
    assert rows["DEMO_trips"]["unit::English (en)"] == "trips"
    assert (rows["DEMO_spend"]["type"], rows["DEMO_spend"]["decimals"]) == ("decimal", "2")
    assert rows["DEMO_comment"]["constraint"] == "string-length(.) <= 100"
    assert rows["DEMO_comment"]["required"] in ("", None)


def test_a_wave_of_choices_gets_no_typed_columns():
    from questionnaires import load_wave

    headings = [c.value for c in build_workbook(load_wave(2026))["survey"][1]]
    assert "constraint" not in headings and "unit::English (en)" not in headings


def test_typed_forms_convert_with_odk_pyxform(tmp_path):
    pyxform = pytest.importorskip("pyxform.xls2xform")
    path = export_xlsform(typed_wave(YEAR), tmp_path / "typed.xlsx")
    warnings: list[str] = []
    xform = pyxform.convert(xlsform=str(path), validate=False, warnings=warnings).xform
    assert warnings == []
    assert 'type="int"' in xform and 'type="decimal"' in xform
    assert "count-selected( . ) &lt;= 3" in xform or "count-selected(.) &lt;= 3" in xform


@pytest.mark.parametrize(("kind", "expression", "settings"), [
    ("integer", ". >= 0 and . <= 60", {"min": 0, "max": 60}),
    ("integer", ".>='-5' and .<=5", {"min": -5, "max": 5}),
    ("decimal", ". >= 0.5 and . <= 99.25", {"min": 0.5, "max": 99.25}),
    ("select_multiple", "count-selected(.) <= 2", {"max_choices": 2}),
    ("select_multiple", "count-selected( . ) >= 2 AND count-selected(.) <= 3",
     {"min_choices": 2, "max_choices": 3}),
    ("text", "string-length(.) <= 50", {"max_length": 50}),
    ("text", "", {}),
])
def test_constraints_read(kind, expression, settings):
    assert parse_constraint(kind, expression) == settings


@pytest.mark.parametrize(("kind", "expression", "problem"), [
    ("integer", ". > 0 and . <= 60", "uses '>'; write the bounds with <= and >="),
    ("integer", ". >= 0 or . <= 60", "is not a supported constraint for a integer question"),
    ("integer", "string-length(.) <= 5", "is not a supported constraint"),
    ("text", ". <= 5", "is not a supported constraint for a text question"),
    ("select_multiple", "count-selected(.) <= 2 and count-selected(.) <= 3",
     "gives the upper bound twice"),
    ("integer", "regex(., '^[0-9]+$')", "is not a supported constraint"),
])
def test_constraints_refused(kind, expression, problem):
    with pytest.raises(ConstraintSyntaxError, match=re.escape(problem)):
        parse_constraint(kind, expression)


def test_constraint_expressions_read_back():
    for kind, settings in (("integer", {"min": -3, "max": 7}),
                           ("select_multiple", {"min_choices": 1, "max_choices": 2}),
                           ("text", {"max_length": 9})):
        assert parse_constraint(kind, constraint_expression(kind, settings)) == settings


@pytest.mark.parametrize(("name", "heading", "value", "column", "problem"), [
    ("DEMO_trips", "constraint", ". <= 60", "constraint",
     "an integer question needs its range as a constraint: . >= 0 and . <= 60"),
    ("DEMO_trips", "constraint", ". > 1 and . <= 60", "constraint", "uses '>'"),
    ("DEMO_trips", "constraint", ". >= 0 and . <= 2.5", "constraint",
     "must be a whole number, got 2.5"),
    ("DEMO_trips", "unit::English (en)", None, "unit::English (en)",
     "missing translation: the unit has no English (en) text"),
    ("DEMO_spend", "decimals", "two", "decimals", "decimals is a number of digits"),
    ("DEMO_spend", "decimals", "9", "decimals", "must be 1..6, got 9"),
    ("DEMO_comment", "constraint", "string-length(.) <= 900", "constraint",
     "must be 1..500 characters, got 900"),
    ("DEMO_bins", "constraint", "count-selected(.) <= 9", "constraint",
     "must be 1..4 (the number of options), got 9"),
    ("DEMO_bins", "type", "select_multiple nosuchlist", "type", "missing choice list"),
    ("DEMO_trips", "appearance", "minimal", "appearance",
     "column 'appearance' is not supported on a integer row"),
    ("DEMO_trips", "constraint_message::English (en)", "too big",
     "constraint_message::English (en)", "constraint messages are not supported"),
    ("N05_A1", "constraint", ". >= 1", "constraint",
     "constraints are supported only on integer, decimal, text and select_multiple"),
])
def test_typed_row_errors_name_the_cell(tmp_path, name, heading, value, column, problem):
    form = TypedForm()
    row = form.set(name, heading, value)
    path = form.save(tmp_path / "typed.xlsx")
    error = import_error(path, YEAR, "DEMO")
    assert_at(error, path, "survey", row, column, problem)


def test_a_condition_on_a_typed_answer_of_the_same_page_is_refused(tmp_path):
    form = TypedForm()
    row = form.set("DEMO_comment", "relevant", "${DEMO_trips} = 1")
    path = form.save(tmp_path / "typed.xlsx")
    assert_at(import_error(path, YEAR, "DEMO"), path, "survey", row, "relevant",
              "condition refers to 'DEMO_trips' on the same page 'local'")


def test_a_national_item_cannot_become_typed(tmp_path):
    form = TypedForm()
    row = form.set("N05_A1", "type", "integer")
    path = form.save(tmp_path / "typed.xlsx")
    assert_at(import_error(path, YEAR, "DEMO"), path, "survey", row, "type",
              "N05_A1 is a select_one question in the national item bank")
