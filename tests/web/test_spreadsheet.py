"""Formula neutralisation of text cells (OWASP CSV injection) and the CSV dialect."""

from __future__ import annotations

import csv

import pytest

from survey.spreadsheet import neutralise, neutralise_all, write_text_csv


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-A1", "@SUM(A1)", "\t=1", "\r=1",
                                  '=HYPERLINK("http://x.invalid","y")', "-", "+", "-1=拒答"])
def test_formula_starts_get_an_apostrophe(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["-5", "+2.5", "-0.125", "-1e3", "5", "male", "", "'=1",
                                  "a=b", " =1", "东部"])
def test_numbers_and_ordinary_text_are_unchanged(text):
    assert neutralise(text) == text


def test_only_text_cells_are_touched():
    assert neutralise_all(["=1", -5, -2.5, None, "x"]) == ["'=1", -5, -2.5, None, "x"]


def test_text_csv_keeps_rows_with_line_breaks_and_neutralises(tmp_path):
    path = tmp_path / "t.csv"
    rows = [{"a": "one\rtwo", "b": "=cmd"}, {"a": "three\nfour", "b": "-7"}, {"a": None, "b": 3}]
    write_text_csv(path, ["a", "b"], rows, bom=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbfa,b\r\n")
    with open(path, newline="", encoding="utf-8-sig") as fh:
        back = list(csv.DictReader(fh))
    assert back == [{"a": "one\rtwo", "b": "'=cmd"}, {"a": "three\nfour", "b": "-7"},
                    {"a": "", "b": "3"}]
