"""The codebook describes the export exactly: a row per column, and every value in every column
is one the codebook lists (types, codes, category values), in every export format."""

from __future__ import annotations

import csv

import pytest

from analysis.quality import FLAG_COLUMNS
from questionnaires import codebook
from questionnaires.codebook import codebook_rows, export_columns

from .codebook_check import assert_described
from .conftest import FULL, complete

VARIED = [
    FULL,  # education answered, N02_P1 "not applicable"
    {"about": {"sex": "1", "province": "3"},  # education not answered
     "n01": {"N01_A1": "3", "N01_P1": "9"},  # not applicable: the follow-up is not shown
     "last": {"ATTN1": "2", "N02_P1": "5"}},
    {"about": {"sex": "2", "province": "1"},
     "n01": {"N01_A1": "1", "N01_P1": "2"},  # condition not met: N04_P4 not shown
     "last": {"ATTN1": "4", "N02_P1": "1"}},
]


def read_csv(path) -> tuple[list[str], list[dict]]:
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames), list(reader)


def read_parquet(path) -> tuple[list[str], list[dict]]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    return table.column_names, table.to_pylist()


def read_statistics_file(path) -> tuple[list[str], list[dict]]:
    import pyreadstat

    read = pyreadstat.read_sav if path.suffix == ".sav" else pyreadstat.read_dta
    frame, _ = read(str(path))
    return list(frame.columns), frame.to_dict("records")


def read_xlsx(path) -> tuple[list[str], list[dict]]:
    from openpyxl import load_workbook

    sheet = load_workbook(path, read_only=True)["responses"]
    header, *rows = sheet.iter_rows(values_only=True)
    return list(header), [dict(zip(header, row, strict=True)) for row in rows]


READERS = {".csv": read_csv, ".parquet": read_parquet, ".sav": read_statistics_file,
           ".dta": read_statistics_file, ".xlsx": read_xlsx}


@pytest.mark.parametrize("suffix", sorted(READERS))
def test_every_value_of_every_column_is_in_the_codebook(app, runner, open_wave, tmp_path,
                                                        suffix):
    for answers in VARIED:
        complete(app.test_client(), answers=answers)
    out = tmp_path / f"responses{suffix}"
    result = runner.invoke(args=["export", "--wave", "2031", "--out", str(out)])
    assert result.exit_code == 0, result.output
    columns, rows = READERS[suffix](out)
    _, book = read_csv(tmp_path / "responses.codebook.csv")
    assert len(rows) == 3
    seen = assert_described(columns, rows, book)
    # the check saw the interesting values: 9, hidden items, unanswered and unasked columns
    assert [int(r["N01_P1"]) for r in rows] == [4, 9, 2]
    assert seen["N04_P4"] == 1 and seen["education"] == 1
    assert seen["age_group"] == seen["urban_rural"] == 0  # not asked by this wave
    assert seen["region"] == 3 and seen["flag_attention"] == 3
    assert [int(r["flag_attention"]) for r in rows] == [0, 1, 0]


def test_codebook_rows_cover_every_column_of_the_shipped_waves():
    from questionnaires import load_wave

    for year in (2024, 2025, 2026):
        wave = load_wave(year)
        rows = codebook_rows(wave)
        assert all(tuple(r) == codebook.CODEBOOK_COLUMNS for r in rows)
        assert all(isinstance(v, str) for r in rows for v in r.values())
        columns = export_columns(wave)
        assert len(columns) == len(set(columns))
        assert columns[:8] == ["response_id", "wave", "sex", "age_group", "province", "region",
                               "urban_rural", "education"]
        assert columns[-6:] == ["started_at", "submitted_at", "duration_s", *FLAG_COLUMNS]
        assert set(wave.items) <= set(columns)
        for r in rows:
            assert r["norms_version"] == wave.norms_version and r["wave"] == str(year)
            if r["item"] in wave.items:
                assert r["page"] and r["grid"] in ("0", "1") and r["wording_version"].isdigit()
            else:
                assert r["page"] == r["grid"] == r["wording_version"] == ""
            if r["type"] in ("category", "flag") or r["kind"] in codebook.KINDS:
                assert r["answer_labels_zh"] and r["answer_labels_en"], r["item"]
        na = {r["item"] for r in rows if r["not_applicable_code"] == "9"}
        assert na == {c for c, i in wave.items.items() if i.not_applicable}


def test_flag_columns_are_the_analysis_flags():
    assert codebook.FLAG_COLUMNS == FLAG_COLUMNS
