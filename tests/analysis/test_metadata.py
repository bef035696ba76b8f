"""Metadata that travels with the data: codebooks (new and old format, CSV beside the file or
Parquet schema metadata), the fieldwork summary, and the fallbacks when the data carry none."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analysis import cli
from analysis.compare import DesignSpec, compare_waves
from analysis.errors import AnalysisInputError
from analysis.metadata import waves_from_codebook
from analysis.pipeline import load_survey
from analysis.synthetic import make_responses
from questionnaires import load_wave
from tests.analysis.codebooks import (
    codebook_rows,
    fieldwork_rows,
    write_codebook,
    write_fieldwork,
    write_parquet_with_metadata,
)

SPEC = DesignSpec(weight="base_weight", strata="stratum", psu="psu")
RELABEL = {2024: 2022, 2025: 2023}  # years without a wave file in questionnaires/waves/


@pytest.fixture(scope="module")
def synth():
    return make_responses(600, waves=(2024, 2025), seed=21)


@pytest.fixture(scope="module")
def elsewhere(synth):
    """The same responses as another survey's: years this checkout has no wave files for."""
    return synth.assign(wave=synth["wave"].map(RELABEL))


def relabelled_codebook():
    return [r for y, new in RELABEL.items() for r in codebook_rows(load_wave(y), year=new)]


def test_codebook_rows_become_the_wave_definitions():
    wave = load_wave(2025)
    rows = codebook_rows(wave)
    # a weighting column the wave does not ask: described, but no wording version and no page
    sex = next(r for r in rows if r["item"] == "sex")
    rows.insert(2, sex | {"item": "religion", "wording_version": "", "page": "", "grid": ""})
    built = waves_from_codebook(rows, "cb.csv")[2025]
    assert list(built.items) == list(wave.items)
    assert [p.key for p in built.pages] == [p.key for p in wave.pages]
    assert [p.grid for p in built.pages] == [p.grid for p in wave.pages]
    assert built.norms_version == wave.norms_version
    for code, item in wave.items.items():
        got = built.items[code]
        assert (got.norm, got.kind, got.wording_version) == (item.norm, item.kind,
                                                             item.wording_version)
        if item.kind != "demographic":  # the export writes a demographic's value, not its code
            assert got.answer_codes == item.answer_codes
        assert got.condition == item.condition
        assert (got.not_applicable is None) == (item.not_applicable is None)
        assert [o.label for o in got.options] == [o.label for o in item.options]
        assert [o.value for o in got.options] == [o.value for o in item.options]
    assert built.opens is None  # no fieldwork summary: the dates are unknown, not made up


def test_compare_uses_the_codebook_beside_the_file(synth, elsewhere, tmp_path, capsys):
    # today's failure: "wave 2023: no usable questionnaire definition"
    data = tmp_path / "other.csv"
    elsewhere.to_csv(data, index=False)
    write_codebook(tmp_path / "other.codebook.csv", relabelled_codebook())
    out = tmp_path / "c.csv"
    status = cli.main(["compare", str(data), "--items", "N01_P1,N02_P3,N04.practice",
                       "--base", "2022", "--current", "2023", "--weight", "base_weight",
                       "--strata", "stratum", "--psu", "psu", "--out", str(out)])
    assert status == 0, capsys.readouterr().err
    got = pd.read_csv(out)
    # the same numbers as the same responses under the years whose wave files are here
    same = compare_waves(synth, ["N01_P1", "N02_P3", "N04.practice"], 2024, 2025, design=SPEC)
    np.testing.assert_allclose(got["diff"], same.table["diff"], rtol=1e-12)
    assert got["item"].tolist() == ["N01_P1", "N04.practice"]  # N02_P3: wording 1 -> 2
    notes = pd.read_csv(tmp_path / "c.notes.csv")
    assert notes["message"].str.contains("wording changed: version 1 in 2022, version 2 in "
                                         "2023").any()


def test_old_nine_column_codebook(elsewhere, tmp_path):
    data = tmp_path / "old.csv"
    elsewhere.to_csv(data, index=False)
    write_codebook(tmp_path / "old.codebook.csv", relabelled_codebook(), old=True)
    survey = load_survey(data, keep_flagged=True)
    assert survey.metadata_sources == {2022: "codebook", 2023: "codebook"}
    n02 = survey.definitions[2023].items["N02_P3"]
    assert n02.wording_version == 2 and n02.not_applicable.code == 9
    assert survey.metadata[2023].origin == str(tmp_path / "old.codebook.csv")


def test_parquet_schema_metadata_and_fieldwork(elsewhere, tmp_path):
    data = tmp_path / "other.parquet"
    write_parquet_with_metadata(elsewhere, data, relabelled_codebook(),
                                fieldwork_rows([2022, 2023]))
    survey = load_survey(data, waves=[2022, 2023])
    assert survey.metadata_sources == {2022: "codebook", 2023: "codebook"}
    assert "ten_norms.codebook" in survey.metadata[2022].origin
    fw = survey.fieldwork
    assert fw["wave"].tolist() == [2022, 2023] and fw["completed"].tolist() == [100, 100]
    assert fw["opens"].iloc[0] == dt.date(2022, 6, 5)
    assert survey.definitions[2022].opens == dt.date(2022, 6, 5)
    # flags computed from the codebook's grid pages: straight-liners are still found
    assert survey.exclusions[2022].by_reason["straightliner"] > 0


def test_fieldwork_sidecar_and_its_absence(elsewhere, tmp_path):
    data = tmp_path / "x.csv"
    elsewhere.to_csv(data, index=False)
    assert load_survey(data, keep_flagged=True).fieldwork is None
    write_fieldwork(tmp_path / "x.fieldwork.csv", fieldwork_rows([2022, 2023]))
    fw = load_survey(data, keep_flagged=True).fieldwork
    assert fw["started"].tolist() == [120, 120]
    assert fw["completion_rate"].iloc[0] == pytest.approx(100 / 120)


@pytest.mark.parametrize("field, value, message", [
    ("wording_version", "two", "row {row}, field 'wording_version': value 'two' is not an "
                               "integer"),
    ("show_if", "N05_P1 == 2", "row {row}, field 'show_if': 'N05_P1 == 2' is not"),
    ("kind", "opinion", "row {row}, field 'kind': value 'opinion' is not one of"),
    ("answer_labels_zh", "1=从不; often", "row {row}, field 'answer_labels_zh': 'often' is not "
                                         "code=label"),
    ("not_applicable_code", "8", "row {row}, field 'not_applicable_code': code 8 is not among"),
    ("answer_labels_zh", "", "row {row}, field 'answer_labels_zh': empty"),
])
def test_malformed_codebook_names_file_row_and_field(elsewhere, tmp_path, field, value,
                                                     message):
    rows = relabelled_codebook()
    row = next(i for i, r in enumerate(rows) if r["item"] == "N04_P1") + 1
    rows[row - 1][field] = value
    data = tmp_path / "d.csv"
    elsewhere.to_csv(data, index=False)
    write_codebook(tmp_path / "d.codebook.csv", rows)
    with pytest.raises(AnalysisInputError) as err:
        load_survey(data)
    assert str(err.value).startswith(str(tmp_path / "d.codebook.csv"))
    assert message.format(row=row) in str(err.value)


def test_codebook_missing_a_column_is_named(elsewhere, tmp_path):
    data = tmp_path / "d.csv"
    elsewhere.to_csv(data, index=False)
    pd.DataFrame(relabelled_codebook()).drop(columns="grid").to_csv(
        tmp_path / "d.codebook.csv", index=False)
    with pytest.raises(AnalysisInputError, match="d.codebook.csv: field 'grid' is missing"):
        load_survey(data)


def test_no_metadata_compares_by_code_with_one_note(elsewhere, tmp_path, capsys):
    data = tmp_path / "bare.csv"
    elsewhere.to_csv(data, index=False)
    out = tmp_path / "c.csv"
    status = cli.main(["compare", str(data), "--items", "N01_P1,N02_P3,N04.practice",
                       "--base", "2022", "--current", "2023", "--keep-flagged",
                       "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 0, err
    # every target compared by its code; the wording versions could not be checked: one line
    assert pd.read_csv(out)["item"].tolist() == ["N01_P1", "N02_P3", "N04.practice"]
    assert [line for line in err.splitlines() if "could not be checked" in line] == [
        "survey-analysis compare: waves 2022, 2023: no codebook and no questionnaire "
        "definition, so wording versions could not be checked: items with the same code are "
        "compared as the same question (answer codes 1-5 and 9 assumed)"]
    notes = pd.read_csv(tmp_path / "c.notes.csv")
    assert (notes["kind"] == "metadata").sum() == 1


def test_repository_wave_files_only_when_the_data_carry_no_metadata(synth, tmp_path):
    data = tmp_path / "d.csv"
    synth.to_csv(data, index=False)
    assert load_survey(data).metadata_sources == {2024: "repository", 2025: "repository"}
    # a codebook beside the file wins over the wave files (here it says N01_P1 changed wording)
    rows = [r for y in (2024, 2025)
            for r in codebook_rows(load_wave(y), versions={"N01_P1": 7} if y == 2025 else None)]
    write_codebook(tmp_path / "d.codebook.csv", rows)
    survey = load_survey(data)
    assert survey.metadata_sources == {2024: "codebook", 2025: "codebook"}
    res = compare_waves(survey, ["N01_P1"], 2024, 2025)
    assert res.table.empty and "version 1 in 2024, version 7 in 2025" in \
        res.not_comparable["reason"].iloc[0]


def test_formula_neutralised_codebook_text_reads_back(elsewhere, tmp_path):
    # contract section 5: a text cell starting with = + - @ gets a leading apostrophe in the CSV
    rows = relabelled_codebook()
    n01 = next(r for r in rows if r["item"] == "N01_P1")
    n01["text_en"] = "'=HYPERLINK(\"x\")"
    n01["answer_labels_en"] = n01["answer_labels_en"].replace("1=", "1='-never", 1)
    data = tmp_path / "d.csv"
    elsewhere.to_csv(data, index=False)
    write_codebook(tmp_path / "d.codebook.csv", rows)
    item = load_survey(data, keep_flagged=True).definitions[2022].items["N01_P1"]
    assert item.text["en"] == '=HYPERLINK("x")'
    assert item.options[0].label["en"].startswith("'-never")  # inside a cell: left as written


def test_an_item_described_twice_is_refused(elsewhere, tmp_path):
    rows = relabelled_codebook()
    first = next(i for i, r in enumerate(rows) if r["item"] == "N04_P1")
    rows.insert(first + 2, dict(rows[first]))
    data = tmp_path / "d.csv"
    elsewhere.to_csv(data, index=False)
    write_codebook(tmp_path / "d.codebook.csv", rows)
    with pytest.raises(AnalysisInputError, match=f"row {first + 3}, field 'item': 'N04_P1' is "
                                                 f"already described for wave 2022 "
                                                 f"\\(row {first + 1}\\)"):
        load_survey(data)


def test_a_codebook_with_compound_conditions_and_order_columns_reads_back():
    from analysis.metadata import waves_from_codebook
    from questionnaires.codebook import codebook_rows
    from tests.questionnaires.test_conditions import conditions_wave_data, parse

    data = conditions_wave_data()
    data["pages"][-1]["randomise"] = "items"
    wave = parse(data)
    read = waves_from_codebook(codebook_rows(wave), "x.codebook.csv")[wave.year]
    assert read.items["DEMO_follow"].condition == wave.items["DEMO_follow"].condition
    assert not any(code.startswith("order__") for code in read.items)
