"""Writing SPSS .sav and Stata .dta files (and Parquet) by the output's suffix: values and
labels survive a round trip through the package's reader."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import AnalysisInputError, read_responses
from analysis.cli import main
from analysis.statfiles import read_labels
from analysis.synthetic import make_responses
from analysis.writers import TABLE_WRITERS, Labels, write_table

MARGINS = Path(__file__).resolve().parents[2] / "analysis" / "data" / \
    "census2020_adult_margins.csv"


@pytest.fixture(scope="module")
def responses(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "responses.csv"
    make_responses(400, waves=(2024,), seed=3).to_csv(path, index=False)
    return path


def test_the_registry_knows_the_formats():
    assert {".csv", ".parquet", ".sav", ".dta"} <= set(TABLE_WRITERS)


@pytest.mark.parametrize("suffix", [".sav", ".dta"])
def test_table_round_trip_keeps_values_and_labels(tmp_path, suffix):
    table = pd.DataFrame({
        "response_id": ["a1", "b2", None],
        "sex": ["male", "female", "male"],
        "N01_A1": pd.array([1, None, 5], dtype="Int64"),
        "weight": [1.5, 2.25, 1e6],
    })
    labels = Labels({"N01_A1": "遵守法律有多重要？", "weight": "survey weight"},
                    {"N01_A1": {1: "一点也不重要", 5: "非常重要"},
                     "sex": {"male": "男", "female": "女"}})
    path = tmp_path / f"t{suffix}"
    notes = write_table(table, path, labels)
    back = read_responses(path)
    assert back["response_id"].tolist()[:2] == ["a1", "b2"] and pd.isna(back["response_id"][2])
    assert back["sex"].tolist() == ["male", "female", "male"]
    assert back["N01_A1"].dtype == "Int64"
    assert back["N01_A1"].tolist()[0] == 1 and back["N01_A1"].tolist()[2] == 5
    assert pd.isna(back["N01_A1"][1])
    np.testing.assert_array_equal(back["weight"], table["weight"])
    variables, values = read_labels(path)
    assert variables["N01_A1"] == "遵守法律有多重要？"
    assert variables["weight"] == "survey weight"
    assert values["N01_A1"] == {1: "一点也不重要", 5: "非常重要"}
    if suffix == ".sav":
        assert values["sex"] == {"male": "男", "female": "女"}
    else:  # Stata labels only numbers: said in a note
        assert "sex" not in values and any("sex" in n for n in notes)


@pytest.mark.parametrize("suffix,language", [(".sav", "zh"), (".dta", "en")])
def test_weight_writes_labelled_statistics_files(tmp_path, responses, suffix, language):
    out = tmp_path / f"weighted{suffix}"
    assert main(["weight", str(responses), "--margins", str(MARGINS), "--base-weight",
                 "base_weight", "--out", str(out), "--language", language]) == 0
    csv = tmp_path / "weighted.csv"
    assert main(["weight", str(responses), "--margins", str(MARGINS), "--base-weight",
                 "base_weight", "--out", str(csv)]) == 0
    back, expected = read_responses(out), read_responses(csv)
    assert list(back.columns) == list(expected.columns)
    np.testing.assert_allclose(back["weight"], expected["weight"], rtol=1e-15)
    for col in ("N01_A1", "N04_P1", "ATTN1"):
        assert back[col].dtype == "Int64"
        np.testing.assert_array_equal(back[col].astype(float), expected[col].astype(float))
    assert back["sex"].tolist() == expected["sex"].astype(str).tolist()
    variables, values = read_labels(out)
    assert MARGINS.name in variables["weight"]
    assert ("调查权重" if language == "zh" else "survey weight") in variables["weight"]
    assert variables["N01_A1"] and variables["N01_A1"] != "N01_A1"
    assert values["N01_A1"][1.0]
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in variables["N01_A1"])
    assert chinese == (language == "zh")


@pytest.mark.parametrize("suffix", [".sav", ".dta", ".parquet"])
def test_estimate_results_in_every_format(tmp_path, responses, suffix):
    out = tmp_path / f"e{suffix}"
    assert main(["estimate", str(responses), "--items", "N01_A1", "--weight", "base_weight",
                 "--by", "region", "--out", str(out), "--language", "en"]) == 0
    back = read_responses(out)
    assert list(back.columns)[:5] == ["wave", "item", "by", "group", "estimate"]
    assert back["estimate"].notna().all()
    if suffix != ".parquet":
        assert read_labels(out)[0]["se"] == "standard error"


def test_stata_name_limit_is_one_line(tmp_path):
    table = pd.DataFrame({"a_column_name_longer_than_thirty_two": [1]})
    with pytest.raises(AnalysisInputError, match="a_column_name_longer_than_thirty_two.*Stata"):
        write_table(table, tmp_path / "t.dta")
    write_table(table, tmp_path / "t.sav")  # SPSS allows 64 bytes


def test_stata_text_limit_names_the_row(tmp_path):
    table = pd.DataFrame({"note": ["short", "x" * 3000]})
    with pytest.raises(AnalysisInputError, match="column 'note', row 2: text of 3000 bytes"):
        write_table(table, tmp_path / "t.dta")


def test_long_labels_are_shortened_with_a_note(tmp_path):
    notes = write_table(pd.DataFrame({"q": [1]}), tmp_path / "t.dta", Labels({"q": "长" * 100}))
    assert read_labels(tmp_path / "t.dta")[0]["q"].endswith("…")
    assert any("shortened" in n for n in notes)
