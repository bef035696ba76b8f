"""Rao-Scott chi-square (R's svychisq, "F" and "Chisq") and domain means (R's svyby svymean)
agree with R 4.2.2 / survey 4.1-1 (fixtures: tests/fixtures/r_indicators_trends/make_fixtures.R)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import Margins
from analysis.design import SurveyDesign
from analysis.errors import AnalysisInputError
from analysis.subgroups import association_tests, rao_scott_chisq, subgroup_table

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "r_indicators_trends"
MARGINS = Margins.from_dict({
    "sex": {"female": 490_000, "male": 510_000},
    "region": {"central": 260_000, "east": 400_000, "northeast": 70_000, "west": 270_000}})


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(FIX / "data.csv")


def make_design(df, kind):
    if kind == "stratclus":
        return SurveyDesign(df, weights="base_weight", strata="stratum", psu="psu")
    if kind == "weights":
        return SurveyDesign(df, weights="base_weight")
    if kind == "calibrated":  # R: calibrate(des, ~sex + region, calfun = "raking")
        return SurveyDesign(df, weights="base_weight", strata="stratum",
                            psu="psu").rake(MARGINS, epsilon=1e-13)
    if kind == "srs":
        return SurveyDesign(df)
    raise AssertionError(kind)


CASES = pd.read_csv(FIX / "chisq.csv")


@pytest.mark.parametrize(
    "case", CASES.to_dict("records"),
    ids=lambda r: f"{r['design']}-{r['row']}-{r['col']}-{r['statistic']}")
def test_rao_scott_matches_svychisq(data, case):
    df = data[data["wave"] == case["wave"]].reset_index(drop=True)
    res = rao_scott_chisq(make_design(df, case["design"]), case["row"], case["col"],
                          statistic=case["statistic"])
    np.testing.assert_allclose(res.value, case["value"], rtol=1e-6)
    np.testing.assert_allclose(res.ndf, case["ndf"], rtol=1e-6)
    if case["statistic"] == "F":
        np.testing.assert_allclose(res.ddf, case["ddf"], rtol=1e-6)
    else:
        assert res.ddf is None
    np.testing.assert_allclose(res.p_value, case["p_value"], rtol=1e-6)


def test_association_table(data):
    df = data[data["wave"] == 2025].reset_index(drop=True)
    design = make_design(df, "stratclus")
    t = association_tests(design, ["N02_P1", "N05_P1"], by=["sex", "region"])
    assert len(t) == 4
    ref = CASES[(CASES.design == "stratclus") & (CASES.statistic == "F")]
    got = t.set_index(["by", "item"]).loc[("sex", "N02_P1"), "value"]
    want = ref[(ref.row == "sex") & (ref.col == "N02_P1")]["value"].iloc[0]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert "Rao & Scott" in repr(rao_scott_chisq(design, "sex", "N02_P1"))


def test_single_category_is_an_input_error(data):
    df = data[(data["wave"] == 2025) & (data["sex"] == "male")].reset_index(drop=True)
    with pytest.raises(AnalysisInputError, match="column 'sex'"):
        rao_scott_chisq(make_design(df, "weights"), "sex", "N02_P1")


@pytest.mark.parametrize("design_kind", ["stratclus", "weights"])
def test_domain_means_match_svyby(data, design_kind):
    ref = pd.read_csv(FIX / "domain_means.csv", keep_default_na=False)
    ref = ref[ref["design"] == design_kind]
    for wave, g in ref.groupby("wave"):
        df = data[data["wave"] == wave].reset_index(drop=True)
        got = subgroup_table(make_design(df, design_kind), sorted(g["item"].unique()),
                             by=["region", "sex"])
        merged = g.merge(got, on=["item", "by", "group"], suffixes=("_r", ""))
        assert len(merged) == len(g)
        np.testing.assert_allclose(merged["estimate"], merged["estimate_r"], rtol=1e-6)
        np.testing.assert_allclose(merged["se"], merged["se_r"], rtol=1e-6)
