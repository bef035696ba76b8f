"""Pooling independent surveys (several data files) agrees with R's survey package.

Fixture: tests/fixtures/r_pooling/make_fixture.R (R 4.2.2, survey 4.1-1) on a.csv, b.csv, c.csv
(made by make_data.py): the files stacked with rbind and
``svydesign(ids=~interaction(source, psu), strata=~interaction(source, stratum), nest=TRUE)``,
without strata (each file one stratum), and with each file's fpc.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import AnalysisInputError
from analysis.cli import main
from analysis.pipeline import DesignSpec
from analysis.pooling import load_pooled

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "r_pooling"
FILES = [str(FIXTURES / f"{name}.csv") for name in ("a", "b", "c")]
RTOL = 1e-9
DESIGNS = {
    "stratified": ["--strata", "stratum", "--psu", "psu"],
    "clustered": ["--psu", "psu"],
    "fpc": ["--strata", "stratum", "--psu", "psu", "--fpc", "fpc"],
}


@pytest.fixture(scope="module")
def expected():
    return pd.read_csv(FIXTURES / "estimates.csv", keep_default_na=False,
                       dtype={"by": str, "group": str})


def run_estimate(tmp_path, design, statistic, *extra):
    out = tmp_path / f"{design}_{statistic}.csv"
    argv = ["estimate", *FILES, "--items", "N01_A1,N04_P1", "--weight", "base_weight",
            *DESIGNS[design], "--by", "region,source", "--keep-flagged", "--out", str(out),
            *extra]
    if statistic == "total":
        argv.append("--total")
    assert main(argv) == 0
    return pd.read_csv(out, keep_default_na=False, dtype={"by": str, "group": str})


@pytest.mark.parametrize("design", list(DESIGNS))
@pytest.mark.parametrize("statistic", ["mean", "total"])
def test_pooled_estimates_match_r(tmp_path, expected, design, statistic):
    got = run_estimate(tmp_path, design, statistic)
    want = expected[(expected["design"] == design) & (expected["statistic"] == statistic)]
    merged = want.merge(got, on=["item", "by", "group"], suffixes=("_r", ""))
    assert len(merged) == len(want) == len(got)
    np.testing.assert_allclose(merged["estimate"], merged["estimate_r"], rtol=RTOL)
    np.testing.assert_allclose(merged["se"], merged["se_r"], rtol=RTOL)


def test_each_file_sum_of_weights_is_said(tmp_path, capsys):
    run_estimate(tmp_path, "stratified", "mean")
    lines = [x for x in capsys.readouterr().err.splitlines() if "pooled " in x]
    assert len(lines) == 3
    assert "source 'c'" in lines[2] and "weight sum" in lines[2]


def test_pool_labels_name_the_sources(tmp_path):
    got = run_estimate(tmp_path, "stratified", "mean", "--pool-labels", "anhui,beijing,chongqing")
    assert set(got.loc[got["by"] == "source", "group"]) == {"anhui", "beijing", "chongqing"}


def test_api_pools_a_list_of_files(expected):
    survey = load_pooled(FILES, keep_flagged=True)
    design = survey.design(2024, DesignSpec(weight="base_weight", strata="stratum", psu="psu"))
    est = design.mean(["N01_A1"])
    want = expected.query("design == 'stratified' and statistic == 'mean' and "
                          "item == 'N01_A1' and by == ''")
    np.testing.assert_allclose(est.se, want["se"], rtol=RTOL)
    assert list(survey.frames[2024]["source"].unique()) == ["a", "b", "c"]


# --------------------------------------------------------------------------- bad input
def _write(tmp_path, name, frame):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return str(path)


def _one_line_error(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_different_waves_are_refused(tmp_path, capsys):
    other = pd.read_csv(FILES[1]).assign(wave=2025)
    b = _write(tmp_path, "b.csv", other)
    err = _one_line_error(["estimate", FILES[0], b, "--items", "N01_A1", "--keep-flagged",
                           "--out", str(tmp_path / "e.csv")], capsys)
    assert "b.csv: waves 2025 differ" in err


def test_a_file_missing_a_design_column_is_named(tmp_path, capsys):
    b = _write(tmp_path, "b.csv", pd.read_csv(FILES[1]).drop(columns="stratum"))
    err = _one_line_error(["estimate", FILES[0], b, "--items", "N01_A1", "--keep-flagged",
                           "--strata", "stratum", "--out", str(tmp_path / "e.csv")], capsys)
    assert "b.csv" in err and "'stratum'" in err


def test_clashing_column_types_are_refused(tmp_path, capsys):
    b = _write(tmp_path, "b.csv", pd.read_csv(FILES[1]).assign(psu=lambda d: "P" +
                                                               d["psu"].astype(str)))
    err = _one_line_error(["estimate", FILES[0], b, "--items", "N01_A1", "--keep-flagged",
                           "--psu", "psu", "--out", str(tmp_path / "e.csv")], capsys)
    assert "b.csv: column 'psu' holds text" in err


def test_same_stems_need_labels(tmp_path, capsys):
    (tmp_path / "x").mkdir()
    copy = _write(tmp_path / "x", "a.csv", pd.read_csv(FILES[0]))
    err = _one_line_error(["estimate", FILES[0], copy, "--items", "N01_A1", "--keep-flagged",
                           "--out", str(tmp_path / "e.csv")], capsys)
    assert "--pool-labels" in err


def test_an_item_one_file_lacks_is_not_pooled(tmp_path):
    b = _write(tmp_path, "b.csv", pd.read_csv(FILES[1]).drop(columns="N04_P1"))
    with pytest.raises(AnalysisInputError, match="N04_P1"):
        load_pooled([FILES[0], b], keep_flagged=True, columns=["N01_A1", "N04_P1"])
    survey = load_pooled([FILES[0], b], keep_flagged=True)
    assert "N04_P1" not in survey.frames[2024].columns
    assert any(k == "not_comparable" and i == "N04_P1" for k, i, _ in survey.notes)
