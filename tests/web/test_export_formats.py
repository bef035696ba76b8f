"""Export formats: formula neutralisation, rows that contain line breaks, SPSS/Stata labels in
Chinese and English, the BOM option, the fieldwork summary, Parquet metadata, and never a half
written file."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pandas as pd
import pytest

from questionnaires import Item, Option, Page, codebook_rows

from .conftest import FULL, complete, install_wave, make_wave
from .test_export_codebook import READERS, read_csv

FORMULA = '=HYPERLINK("http://example.invalid/?leak","click")'
HOUSEHOLD = Item(
    code="household", norm=None, kind="demographic", wording_version=1,
    text={"zh": "您家几口人？\r\n（含您本人）", "en": "How many people live in your household?\r"},
    options=(Option(1, {"zh": "一人", "en": "@one"}, FORMULA),
             Option(2, {"zh": "两人", "en": "two"}, "two\r\nlines"),
             Option(3, {"zh": "负数", "en": "minus five"}, "-5")))


@pytest.fixture
def formula_wave(app):
    wave = make_wave()
    about = wave.pages[0]
    pages = (Page(about.key, about.title, (*about.items, HOUSEHOLD)), *wave.pages[1:])
    wave = dataclasses.replace(wave, pages=pages)
    install_wave(app, wave)
    return wave


def export(runner, out, *options):
    result = runner.invoke(args=["export", "--wave", "2031", "--out", str(out), *options])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".sav", ".dta"])
def test_formulas_are_neutralised_and_line_breaks_keep_the_rows(app, runner, formula_wave,
                                                                tmp_path, suffix):
    for n in range(12):
        about = {**FULL["about"], "household": str(n % 3 + 1)}
        complete(app.test_client(), answers={**FULL, "about": about})
    out = tmp_path / f"r{suffix}"
    export(runner, out)
    columns, rows = READERS[suffix](out)
    assert len(rows) == 12
    values = [r["household"] for r in rows]
    assert values[0] == "'" + FORMULA  # neutralised
    # a line break inside a value stays inside the value (XML, under .xlsx, reads CR LF as LF)
    assert values[1] == ("two\nlines" if suffix == ".xlsx" else "two\r\nlines")
    assert values[2] == "-5"  # a number is never changed
    assert all(isinstance(r["N01_A1"], str) or r["N01_A1"] == 5 for r in rows)
    if suffix == ".csv":
        assert len(pd.read_csv(out)) == 12  # pandas splits rows on a bare CR: it must be quoted
        assert pd.read_csv(out)["N01_A1"].tolist() == [5] * 12
    _, book = read_csv(tmp_path / "r.codebook.csv")
    assert len(book) == len(codebook_rows(formula_wave))
    household = next(r for r in book if r["item"] == "household")
    assert household["text_zh"] == "您家几口人？\r\n（含您本人）"
    assert household["answer_labels_en"].startswith("'" + FORMULA + "=@one; ")
    assert len(pd.read_csv(tmp_path / "r.codebook.csv")) == len(book)


def test_spss_and_stata_labels_in_chinese_and_english(app, runner, open_wave, tmp_path):
    import pyreadstat

    complete(app.test_client())
    export(runner, tmp_path / "zh.sav")
    _, meta = pyreadstat.read_sav(str(tmp_path / "zh.sav"))
    assert meta.column_names_to_labels["N01_P1"] == "您多久参加一次环保活动？"
    assert meta.variable_value_labels["N01_P1"][9] == "不适用"
    assert meta.variable_value_labels["N01_P1"][1] == "选项1"
    assert meta.variable_value_labels["sex"] == {"male": "男", "female": "女"}
    assert meta.variable_value_labels["flag_speeder"] == {0: "否", 1: "是"}
    assert meta.variable_value_labels["region"]["northeast"] == "东北"

    export(runner, tmp_path / "en.dta", "--language", "en")
    frame, meta = pyreadstat.read_dta(str(tmp_path / "en.dta"))
    assert meta.column_names_to_labels["N01_P1"] == "How often do you join green activities?"
    assert meta.variable_value_labels["N01_P1"][9] == "Not applicable"
    assert frame["N01_P1"].tolist() == [4] and frame["N02_P1"].tolist() == [9]

    export(runner, tmp_path / "zh.dta")
    _, meta = pyreadstat.read_dta(str(tmp_path / "zh.dta"))
    assert meta.variable_value_labels["N02_P1"][9] == "不适用"
    assert meta.column_names_to_labels["wave"] == "调查轮次（年份）"


def test_stata_labels_are_shortened_to_80_characters(app, runner, tmp_path):
    import pyreadstat

    wave = make_wave()
    long = dataclasses.replace(wave.pages[1].items[0],
                               text={"zh": "很长的问题" * 30, "en": "A long question. " * 10})
    pages = (wave.pages[0], dataclasses.replace(wave.pages[1], items=(
        long, wave.pages[1].items[1])), *wave.pages[2:])
    install_wave(app, dataclasses.replace(wave, pages=pages))
    result = export(runner, tmp_path / "long.dta")
    assert "1 variable labels were shortened to the .dta limit of 80 characters" in result.output
    _, meta = pyreadstat.read_dta(str(tmp_path / "long.dta"))
    label = meta.column_names_to_labels["N01_A1"]
    assert len(label) == 80 and label.endswith("…") and label.startswith("很长的问题")
    _, book = read_csv(tmp_path / "long.codebook.csv")
    assert next(r for r in book if r["item"] == "N01_A1")["text_zh"] == "很长的问题" * 30
    sav = export(runner, tmp_path / "long.sav")
    _, meta = pyreadstat.read_sav(str(tmp_path / "long.sav"))
    assert len(meta.column_names_to_labels["N01_A1"].encode()) <= 256
    assert "shortened" in sav.output


def test_bom_option_for_excel(app, runner, open_wave, tmp_path):
    complete(app.test_client())
    export(runner, tmp_path / "plain.csv")
    export(runner, tmp_path / "excel.csv", "--bom")
    assert not (tmp_path / "plain.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    for name in ("excel.csv", "excel.codebook.csv", "excel.fieldwork.csv"):
        assert (tmp_path / name).read_bytes().startswith(b"\xef\xbb\xbfwave" if "." in
                                                         name[6:] else b"\xef\xbb\xbf")
    assert (tmp_path / "excel.csv").read_bytes()[3:] == (tmp_path / "plain.csv").read_bytes()


def test_fieldwork_summary_beside_every_export(app, runner, open_wave, tmp_path):
    from survey.db import db
    from survey.models import Response

    for _ in range(3):
        complete(app.test_client())
    app.test_client().post("/2031/consent")  # started, not finished
    with app.app_context():  # one response began on an earlier (Shanghai) day
        first = db.session.get(Response, 1)
        first.started_at = dt.datetime(2020, 3, 1, 17, 30)  # 01:30 on 2 March in Shanghai
        db.session.commit()
    export(runner, tmp_path / "r.parquet")
    _, [row] = read_csv(tmp_path / "r.fieldwork.csv")
    assert row == {"wave": "2031", "opens": "2000-01-01", "closes": "2099-12-31",
                   "first_response_date": "2020-03-02", "last_response_date": row[
                       "last_response_date"], "started": "4", "completed": "3",
                   "broken_off": "1", "completion_rate": "0.7500"}
    assert dt.date.fromisoformat(row["last_response_date"])  # a date, never a time

    import pyarrow.parquet as pq

    metadata = pq.read_schema(tmp_path / "r.parquet").metadata
    assert json.loads(metadata[b"ten_norms.fieldwork"]) == [row]
    embedded = json.loads(metadata[b"ten_norms.codebook"])
    assert embedded == codebook_rows(open_wave)
    _, book = read_csv(tmp_path / "r.codebook.csv")
    assert embedded == book


def test_fieldwork_of_a_wave_nobody_started(app, runner, open_wave, tmp_path):
    export(runner, tmp_path / "empty.xlsx")
    _, [row] = read_csv(tmp_path / "empty.fieldwork.csv")
    assert (row["started"], row["completion_rate"], row["first_response_date"]) == ("0", "", "")
    columns, rows = READERS[".xlsx"](tmp_path / "empty.xlsx")
    assert rows == [] and columns[0] == "response_id"


def test_xlsx_carries_the_codebook_and_fieldwork_sheets(app, runner, formula_wave, tmp_path):
    from openpyxl import load_workbook

    complete(app.test_client(), answers={**FULL, "about": {**FULL["about"], "household": "1"}})
    export(runner, tmp_path / "r.xlsx")
    book = load_workbook(tmp_path / "r.xlsx", read_only=True)
    assert book.sheetnames == ["responses", "codebook", "fieldwork"]
    _, codebook_csv = read_csv(tmp_path / "r.codebook.csv")
    header, *rows = book["codebook"].iter_rows(values_only=True)
    as_text = [{k: "" if v is None else str(v) for k, v in zip(header, r, strict=True)}
               for r in rows]
    as_xml_reads = [{k: v.replace("\r\n", "\n").replace("\r", "\n") for k, v in r.items()}
                    for r in codebook_csv]
    assert as_text == as_xml_reads  # neutralised the same way (XML reads CR LF and CR as LF)
    _, fieldwork_csv = read_csv(tmp_path / "r.fieldwork.csv")
    header, *rows = book["fieldwork"].iter_rows(values_only=True)
    assert [dict(zip(header, map(str, r), strict=True)) for r in rows] == fieldwork_csv


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".sav", ".dta", ".xlsx"])
def test_a_failed_export_leaves_no_file(app, runner, open_wave, tmp_path, monkeypatch, suffix):
    from survey import export_formats

    complete(app.test_client())
    writer = export_formats.WRITERS[suffix]

    def fail(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer, "close", fail)
    result = runner.invoke(args=["export", "--wave", "2031", "--out",
                                 str(tmp_path / f"r{suffix}")])
    assert result.exit_code == 1 and "No space left" in result.output
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("survey.sqlite")] == []


def test_too_many_rows_for_excel_is_a_message(app, runner, open_wave, tmp_path, monkeypatch):
    from survey import export_formats

    monkeypatch.setattr(export_formats.XlsxTableWriter, "MAX_DATA_ROWS", 1)
    complete(app.test_client())
    complete(app.test_client())
    result = runner.invoke(args=["export", "--wave", "2031", "--out", str(tmp_path / "r.xlsx")])
    assert result.exit_code == 1 and "at most 1 responses" in result.output
    assert not (tmp_path / "r.xlsx").exists()
