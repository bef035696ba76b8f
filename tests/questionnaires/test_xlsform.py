"""XLSForm in and out: the round trip on every wave file, national and local items, conditions,
and one precise error (file, sheet, row, column) for each kind of malformed form."""

from __future__ import annotations

import dataclasses

import pytest

from questionnaires import available_waves, load_wave
from questionnaires.xlsform import export_xlsform, import_xlsform, wave_yaml
from questionnaires.xlsform.conditions import (
    ConditionSyntaxError,
    parse_relevant,
    relevant_expression,
)
from questionnaires.xlsform.workbook import echo

from .xlsform_helpers import EN, ZH, Form, assert_at, import_error


def _content(wave) -> dict:
    d = wave.to_dict()
    del d["source"]
    return d


# --------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("year", available_waves())
def test_export_then_import_gives_the_same_wave(year, tmp_path):
    wave = load_wave(year)
    path = export_xlsform(wave, tmp_path / f"{year}.xlsx")
    imported = import_xlsform(path, year)
    assert _content(imported.wave) == _content(wave)
    assert imported.wave.content_hash == wave.content_hash
    # ... and so does the wave file written from it
    written = tmp_path / "waves" / f"{year}.yaml"
    written.parent.mkdir()
    written.write_text(wave_yaml(imported.data, path.name), encoding="utf-8")
    assert load_wave(written).content_hash == wave.content_hash


@pytest.mark.parametrize("year", available_waves())
def test_exported_forms_convert_with_odk_pyxform(year, tmp_path):
    pyxform = pytest.importorskip("pyxform.xls2xform")
    path = export_xlsform(load_wave(year), tmp_path / f"{year}.xlsx")
    warnings: list[str] = []
    xform = pyxform.convert(xlsform=str(path), validate=False, warnings=warnings).xform
    assert warnings == []
    assert 'relevant=" /data/N04/N04_P3  != 9"' in xform
    assert 'lang="中文 (zh)" default="true()"' in xform


def test_the_2024_wave_keeps_its_older_wording_version(tmp_path):
    path = export_xlsform(load_wave(2024), tmp_path / "2024.xlsx")
    imported = import_xlsform(path, 2024)
    assert imported.wave.items["N02_P3"].wording_version == 1
    assert "N02_P3@1" in imported.data["pages"][2]["items"]


# --------------------------------------------------------------------------- a valid form


def test_import_a_form_with_local_items_and_conditions(tmp_path):
    form = Form()
    survey = form.sheet("survey")
    end = survey.max_row + 1
    rows = [
        ["begin_group", "local", "本地问题", "Local questions", "", "", "field-list", "", ""],
        ["select_one frequency_na", "recycling_station",
         "您多久去一次社区回收站？（附近没有回收站请选“不适用”）",
         "How often do you take recyclables to a community recycling station? (Choose 'not "
         "applicable' if there is none nearby.)", "yes", "", "", "", ""],
        ["select_one where", "DEMO_guidance", "您从哪里了解垃圾分类方法？",
         "Where did you learn how to sort waste?", "", "${N05_P1} != 9", "minimal", "", ""],
        ["end_group"],
    ]
    for offset, row in enumerate(rows):
        for column, value in enumerate(row, start=1):
            survey.cell(row=end + offset, column=column, value=value)
    choices = form.sheet("choices")
    for code, zh, en in ((1, "居委会", "Residents' committee"), (2, "垃圾桶旁的海报", "Posters"),
                         (3, "网上", "Online")):
        choices.append(["where", code, zh, en, None])
    path = form.save(tmp_path / "local.xlsx")

    wave = import_xlsform(path, 2027, org="DEMO").wave
    station, guidance = wave.items["DEMO_recycling_station"], wave.items["DEMO_guidance"]
    assert (station.kind, station.norm, station.required) == ("local", None, True)
    assert station.not_applicable.code == 9 and [o.code for o in station.options] == [1, 2, 3,
                                                                                       4, 5]
    assert guidance.widget == "select" and guidance.required is False
    assert [o.label["en"] for o in guidance.options] == ["Residents' committee", "Posters",
                                                         "Online"]
    assert guidance.condition.item == "N05_P1"
    assert guidance.condition.values == frozenset({1, 2, 3, 4, 5})
    assert wave.year == 2027 and wave.page("local").title["en"] == "Local questions"
    # national items keep their codes and wording
    assert wave.items["N02_P3"] == load_wave(2025).items["N02_P3"]

    again = import_xlsform(export_xlsform(wave, tmp_path / "again.xlsx"), 2027, org="DEMO")
    assert _content(again.wave) == _content(wave)


def test_labels_pick_the_wording_version_when_the_column_is_empty(tmp_path):
    form = Form(2024)
    for name in ("N02_P3", "N01_A1"):
        form.set(name, "wording_version", None)
    wave = import_xlsform(form.save(tmp_path / "f.xlsx"), 2024).wave
    assert wave.items["N02_P3"].wording_version == 1


def test_an_optional_item_and_a_page_that_is_no_grid(tmp_path):
    form = Form()
    form.set("ATTN1", "required", None)
    form.set("N01", "grid", "no")
    wave = import_xlsform(form.save(tmp_path / "f.xlsx"), 2025).wave
    assert wave.items["ATTN1"].required is False and wave.page("N01").grid is False


# --------------------------------------------------------------------------- conditions


@pytest.mark.parametrize(("expression", "values"), [
    ("${Q} = 4", {4}),
    ("${Q} = '4' or ${Q}='5'", {4, 5}),
    ("selected(${Q}, '4') or selected( ${Q} , '5' )", {4, 5}),
    ("${Q} != 9", {1, 2, 3, 4, 5}),
    ("${Q} != 1 and ${Q} != 9", {2, 3, 4, 5}),
])
def test_supported_relevant_expressions(expression, values):
    parsed = parse_relevant(expression)
    assert parsed.field == "Q"
    assert parsed.values(frozenset({1, 2, 3, 4, 5, 9})) == values


@pytest.mark.parametrize("expression", [
    "${Q} > 3", "${Q} = 1 and ${R} = 2", "${Q} = 1 and ${Q} = 2", "${Q} != 1 or ${Q} != 2",
    "${Q} = 1 or ${Q} != 2", "(${Q} = 1)", "not(${Q} = 1)", "${Q} = 1 and ${Q} = 2 or ${Q} = 3",
    "string-length(${Q}) > 0", "${Q} = 'yes'",
])
def test_other_relevant_expressions_are_refused(expression):
    with pytest.raises(ConditionSyntaxError):
        parse_relevant(expression)


def test_the_export_writes_the_shorter_expression():
    codes = frozenset({1, 2, 3, 4, 5, 9})
    assert relevant_expression("N04_P3", frozenset({1, 2, 3, 4, 5}), codes) == "${N04_P3} != 9"
    assert relevant_expression("N04_P3", frozenset({4, 5}), codes) == \
        "${N04_P3} = 4 or ${N04_P3} = 5"


# --------------------------------------------------------------------------- malformed forms


def _malformed(tmp_path, change):
    """Export 2025, apply ``change(form)`` (returns where the error should be), import."""
    form = Form()
    expected = change(form)
    path = form.save(tmp_path / "form.xlsx")
    return path, import_error(path), expected


CASES = {
    "unknown type": (
        lambda f: ("survey", f.set("N01_A1", "type", "select_won importance"), "type"),
        "unknown type 'select_won importance'"),
    "unsupported type": (
        lambda f: ("survey", f.set("N01_A1", "type", "range"), "type"),
        "unsupported type 'range'"),
    "or_other": (
        lambda f: ("survey", f.set("N01_A1", "type", "select_one importance or_other"), "type"),
        "or_other is not supported"),
    "missing choice list": (
        lambda f: ("survey", f.set("N01_A1", "type", "select_one importnce"), "type"),
        "missing choice list 'importnce'"),
    "duplicate name": (
        lambda f: ("survey", f.set("N01_P1", "name", "N01_A1"), "name"),
        "duplicate name 'N01_A1' (first on row"),
    "unknown field": (
        lambda f: ("survey", f.set("N04_P4", "relevant", "${N04_P9} != 9"), "relevant"),
        "reference to unknown field ${N04_P9}"),
    "later field": (
        lambda f: ("survey", f.set("N04_P4", "relevant", "${N05_P1} != 9"), "relevant"),
        "${N05_P1} comes later in the form"),
    "same page": (
        lambda f: ("survey", f.set("N04_P3", "relevant", "${N04_P2} != 9"), "relevant"),
        "on the same page 'N04'"),
    "not an answer code": (
        lambda f: ("survey", f.set("N04_P4", "relevant", "${N04_P3} = 7"), "relevant"),
        "'N04_P3' has no answer code 7"),
    "a group in a condition": (
        lambda f: ("survey", f.set("N04_P4", "relevant", "${N04} = 1"), "relevant"),
        "${N04} is a begin_group"),
    "an unsupported function": (
        lambda f: ("survey", f.set("N04_P4", "relevant", "string-length(${N04_P3}) > 0"),
                   "relevant"),
        "is not a supported condition at character 1"),
    "no answer meets it": (
        lambda f: ("survey", f.set("N04_P4", "relevant", "${N04_P3} = 1 and ${N04_P3} = 2"),
                   "relevant"),
        "no answer to 'N04_P3' meets this condition"),
    "missing translation": (
        lambda f: ("survey", f.set("N01_A1", EN, None), EN),
        "missing translation: question 'N01_A1' has no English (en) text"),
    "missing choice translation": (
        lambda f: ("choices", (f.set_cell("choices", 2, ZH, None), 2)[1], ZH),
        "missing translation: choice 1 of 'sex' has no 中文 (zh) text"),
    "missing page title": (
        lambda f: ("survey", f.set("N02", ZH, ""), ZH),
        "missing translation: page 'N02' has no 中文 (zh) text"),
    "hint": (
        lambda f: ("survey", f.set("N01_A1", "hint::English (en)", "Think of last month"),
                   "hint::English (en)"),
        "hints are not supported"),
    "constraint": (
        lambda f: ("survey", f.set("N01_A1", "constraint", ". != 3"), "constraint"),
        "constraints are supported only on integer, decimal, text and select_multiple "
        "questions"),
    "unsupported column": (
        lambda f: ("survey", f.set("N01_A1", "calculation", "1 + 1"), "calculation"),
        "unsupported column 'calculation'"),
    "condition on a page": (
        lambda f: ("survey", f.set("N04_car", "relevant", "${N04_P3} != 9"), "relevant"),
        "column 'relevant' is not supported on a begin_group row"),
    "appearance": (
        lambda f: ("survey", f.set("N01_A1", "appearance", "likert"), "appearance"),
        "unsupported appearance 'likert'"),
    "page without field-list": (
        lambda f: ("survey", f.set("N01", "appearance", None), "appearance"),
        "a page is a group with appearance field-list"),
    "changed national wording": (
        lambda f: ("survey", f.set("N01_A1", EN, "How important is the environment?"), EN),
        "differs from wording version 1 of N01_A1"),
    "unknown wording version": (
        lambda f: ("survey", f.set("N01_A1", "wording_version", 3), "wording_version"),
        "N01_A1 has no wording version '3'"),
    "bank answers changed": (
        lambda f: ("choices", (f.set_cell("choices", 2, EN, "Man"), 2)[1], EN),
        "the label of 1 in list 'sex' differs from the national item bank's 'Male'"),
    "local item without --org": (
        lambda f: ("survey", f.set("N01_A1", "name", "my_question"), "name"),
        "'my_question' is not an item of the national bank; import it as a local item with "
        "--org CODE"),
    "national-looking code": (
        lambda f: ("survey", f.set("N01_A1", "name", "N01_A7"), "name"),
        "N01_A7 looks like a national item code"),
    "choice name not a code": (
        lambda f: ("choices", (f.set_cell("choices", 2, "name", "male"), 2)[1], "name"),
        "choice names are the integer answer codes"),
    "bad date": (
        lambda f: ("settings", (f.set_cell("settings", 2, "opens", "1 Jan 2025"), 2)[1],
                   "opens"),
        "bad date '1 Jan 2025' (write YYYY-MM-DD)"),
    "dates in the wrong order": (
        lambda f: ("settings", (f.set_cell("settings", 2, "opens", "2026-01-01"), 2)[1],
                   "opens"),
        "opens 2026-01-01 is after closes 2025-12-31"),
    "unknown norms version": (
        lambda f: ("settings", (f.set_cell("settings", 2, "norms_version", "2020"), 2)[1],
                   "norms_version"),
        "unknown norms version '2020'"),
    "unsupported setting": (
        lambda f: ("settings", (f.set_cell("settings", 2, "style", "pages"), 2)[1], "style"),
        "unsupported column 'style'"),
    "unsupported language": (
        lambda f: ("survey", (f.column("survey", "label::Français (fr)"), 1)[1],
                   "label::Français (fr)"),
        "unsupported language"),
    "note outside the consent group": (
        lambda f: ("survey", f.set("N01_A1", "type", "note"), "type"),
        "notes are supported only in the 'consent' group"),
    "too long a page title": (
        lambda f: ("survey", f.set("N04_car", EN, "x" * 201), EN),
        "the en text is 201 characters long; a title may have at most 200"),
}


@pytest.mark.parametrize("case", CASES)
def test_malformed_form_names_file_sheet_row_and_column(case, tmp_path):
    change, problem = CASES[case]
    path, error, (sheet, row, column) = _malformed(tmp_path, change)
    assert_at(error, path, sheet, row, column, problem)


def test_missing_column(tmp_path):
    form = Form()
    form.sheet("survey").cell(row=1, column=form.column("survey", EN), value="label")
    path = form.save(tmp_path / "form.xlsx")
    assert_at(import_error(path), path, "survey", 1, "label",
              "give the language: label::中文 (zh) and label::English (en)")


def test_missing_sheet(tmp_path):
    form = Form()
    del form.book["choices"]
    path = form.save(tmp_path / "form.xlsx")
    error = import_error(path)
    assert error.sheet == "choices" and "no sheet named 'choices'" in str(error)


def test_nested_group_and_unclosed_group(tmp_path):
    form = Form()
    form.set("N01_A1", "type", "begin_group")
    path = form.save(tmp_path / "form.xlsx")
    assert_at(import_error(path), path, "survey", form.row_of("N01_A1"), "type",
              "groups inside groups are not supported")


def test_a_local_item_gets_the_organisation_prefix(tmp_path):
    form = Form()
    form.set("N01_A1", "name", "my_question")
    wave = import_xlsform(form.save(tmp_path / "form.xlsx"), 2025, org="GZ").wave
    assert wave.items["GZ_my_question"].kind == "local"
    assert wave.items["GZ_my_question"].options == load_wave(2025).items["N01_A1"].options


def test_a_bad_organisation_code_is_refused(tmp_path):
    path = export_xlsform(load_wave(2025), tmp_path / "2025.xlsx")
    error = import_error(path, org="N04")
    assert "--org 'N04': N04 looks like a norm code" in str(error)


def test_echoed_text_is_escaped_and_bounded(tmp_path):
    form = Form()
    hostile = "\u202e\u200b" + "x" * 5000  # right-to-left override, zero-width space
    row = form.set("N01_A1", "type", hostile)
    path = form.save(tmp_path / "form.xlsx")
    error = import_error(path)
    message = str(error)
    assert error.row == row and error.column == "type"
    assert "\u202e" not in message and "\\u202e" in message and "\\u200b" in message
    assert len(message) < 300 and "…" in message
    # control characters (which a hand-made workbook can hold) are escaped too
    assert echo("\x1b[2Jred\nline") == repr("\x1b[2Jred line")


def test_a_formula_is_refused(tmp_path):
    form = Form()
    row = form.set("N01_A1", "relevant", '=CONCAT("${N04_P3}", " != 9")')
    path = form.save(tmp_path / "form.xlsx")
    assert_at(import_error(path), path, "survey", row, "relevant", "a formula")


def test_text_starting_with_equals_is_exported_as_text(tmp_path):
    """A title like '=HYPERLINK(…)' is text in the exported workbook, never a formula."""
    wave = load_wave(2025)
    page = wave.page("N04_car")
    pages = tuple(dataclasses.replace(p, title={**p.title, "zh": '=HYPERLINK("x")'})
                  if p is page else p for p in wave.pages)
    changed = dataclasses.replace(wave, pages=pages)
    imported = import_xlsform(export_xlsform(changed, tmp_path / "f.xlsx"), 2025).wave
    assert imported.page("N04_car").title["zh"] == '=HYPERLINK("x")'


def test_the_documented_table_lists_every_supported_type_and_column():
    from pathlib import Path

    from questionnaires.xlsform import SETTINGS_COLUMNS, SUPPORTED_TYPES, SURVEY_COLUMNS

    docs = (Path(__file__).resolve().parents[2] / "docs" / "questionnaires.md").read_text(
        encoding="utf-8")
    section = docs[docs.index("### The supported subset"):docs.index("### National and local")]
    for name in (*SUPPORTED_TYPES, *SURVEY_COLUMNS):
        assert f"`{name}" in section, name
    layout = docs[docs.index("### Layout"):docs.index("### The supported subset")]
    for name in SETTINGS_COLUMNS:
        assert f"`{name}`" in layout, name


WRONG_CELLS = [None, 2.5, "x", True, "${"]


@pytest.mark.slow
def test_any_wrong_cell_gives_an_xlsform_error_or_a_wave(tmp_path):
    """A wrong value in any cell of some typical rows is an XLSFormError, never a crash."""
    import datetime as dt

    from questionnaires.xlsform import XLSFormError

    form = Form()
    places = [("survey", form.row_of(name)) for name in ("consent", "N04_car", "N04_P4")]
    places += [("choices", 2), ("settings", 2)]
    cases = 0
    for sheet, row in places:
        ws = form.sheet(sheet)
        for column in range(1, ws.max_column + 1):
            cell = ws.cell(row=row, column=column)
            original = cell.value
            for value in [*WRONG_CELLS, dt.datetime(2025, 1, 1, 12)]:
                cell.value = value
                path = form.save(tmp_path / "form.xlsx")
                cell.value = original
                cases += 1
                try:
                    import_xlsform(path, 2025)
                except XLSFormError:
                    pass
                except Exception as error:  # pragma: no cover - the failure report
                    pytest.fail(f"{sheet} row {row} column {column} = {value!r}: "
                                f"{type(error).__name__}: {error}")
    assert cases > 200


def test_a_wave_whose_names_clash_in_xlsform_is_not_exported(tmp_path):
    from questionnaires.xlsform import XLSFormError

    wave = load_wave(2025)
    pages = tuple(dataclasses.replace(p, key="consent") if p.key == "N04_car" else p
                  for p in wave.pages)
    with pytest.raises(XLSFormError, match="page key 'consent' is also the name of"):
        export_xlsform(dataclasses.replace(wave, pages=pages), tmp_path / "f.xlsx")
