"""Norm scores, gaps, the overall index and Cronbach's alpha agree with R's survey package.

Fixtures: tests/fixtures/r_indicators_trends (make_fixtures.R, R 4.2.2, survey 4.1-1):
svycontrast of the
ratio estimators total(y * answered) / total(answered), i.e. every item mean on its own
respondents, with the covariance between items.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import Margins, indicators
from analysis.design import SurveyDesign

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "r_indicators_trends"
MARGINS = Margins.from_dict({
    "sex": {"female": 490_000, "male": 510_000},
    "region": {"central": 260_000, "east": 400_000, "northeast": 70_000, "west": 270_000}})


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(FIX / "data.csv")


@pytest.fixture(scope="module")
def scales():
    sc = pd.read_csv(FIX / "scales.csv")
    out = []
    for (norm, kind), g in sc.groupby(["norm", "kind"], sort=True):
        out.append(indicators.Scale(norm, kind, tuple(g["item"])))
    return tuple(out)


def make_design(df, kind):
    if kind == "stratclus":
        return SurveyDesign(df, weights="base_weight", strata="stratum", psu="psu")
    if kind == "weights":
        return SurveyDesign(df, weights="base_weight")
    if kind == "calibrated":  # R: calibrate(des, ~sex + region, calfun = "raking")
        return SurveyDesign(df, weights="base_weight", strata="stratum",
                            psu="psu").rake(MARGINS, epsilon=1e-13)
    raise AssertionError(kind)


# "raked" rows of the fixture hold R's rake() variance, the other calibration variance R offers;
# the analysis core follows calibrate(calfun="raking"), so the test uses the "calibrated" rows.
@pytest.mark.parametrize("design_kind", ["stratclus", "weights", "calibrated"])
@pytest.mark.parametrize("wave", [2024, 2025, 2026])
def test_indicators_match_r(data, scales, design_kind, wave):
    ref = pd.read_csv(FIX / "indicators.csv", keep_default_na=False)
    ref = ref[(ref["design"] == design_kind) & (ref["wave"] == wave)]
    design = make_design(data[data["wave"] == wave].reset_index(drop=True), design_kind)
    got = indicators.norm_scores(design, scales, by=["region", "sex"]).table
    merged = ref.merge(got, on=["by", "group", "indicator"], suffixes=("_r", ""))
    assert len(merged) == len(ref) == len(got) == 33 * 7
    np.testing.assert_allclose(merged["estimate"], merged["estimate_r"], rtol=1e-6)
    np.testing.assert_allclose(merged["se"], merged["se_r"], rtol=1e-6)


def test_scores_are_not_a_naive_average_of_item_ses(data, scales):
    design = make_design(data[data["wave"] == 2025].reset_index(drop=True), "stratclus")
    got = indicators.norm_scores(design, scales).table.set_index("indicator")
    n01 = [s for s in scales if s.name == "N01.practice"][0]
    items = design.mean(list(n01.items)).table
    naive = 25 * items["se"].mean()
    assert abs(got.loc["N01.practice", "se"] - naive) > 1e-3


def test_ci_and_table_shape(data, scales):
    design = make_design(data[data["wave"] == 2026].reset_index(drop=True), "stratclus")
    est = indicators.norm_scores(design, scales, level=0.9)
    t = est.table
    assert list(t.columns) == list(indicators.INDICATOR_COLUMNS)
    z = 1.6448536269514722
    np.testing.assert_allclose(t["ci_high"] - t["estimate"], z * t["se"], rtol=1e-12)
    gap = t.set_index("indicator")
    np.testing.assert_allclose(gap.loc["N03.gap", "estimate"],
                               gap.loc["N03.awareness", "estimate"]
                               - gap.loc["N03.practice", "estimate"], rtol=1e-12)
    assert "index.practice" in repr(est)


def test_cronbach_alpha_matches_r(data, scales):
    ref = pd.read_csv(FIX / "alpha.csv")
    for wave, g in ref.groupby("wave"):
        got = indicators.scale_alphas(data[data["wave"] == wave], scales)
        merged = g.merge(got, on=["norm", "kind"], suffixes=("_r", ""))
        assert len(merged) == len(g)
        np.testing.assert_allclose(merged["alpha"], merged["alpha_r"], rtol=1e-9)
        assert (merged["n"] == merged["n_r"]).all()
