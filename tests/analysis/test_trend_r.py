"""Linear trends agree with R's svyglm on the pooled design (strata = wave x stratum, PSUs =
wave x stratum x psu): slopes, SEs, df and p-values, for items and for norm scores (25 x the
mean of the items' slopes, variance from the combined influence functions through R's
svyrecvar). Fixtures: tests/fixtures/r_indicators_trends (R 4.2.2, survey 4.1-1)."""

import numpy as np
import pandas as pd
import pytest

from analysis import Margins
from analysis.compare import DesignSpec
from analysis.trend import SERIES_COLUMNS, TREND_COLUMNS, linear_trend, pooled_design
from tests.analysis.fixture_waves import FIX, fixture_wave

MARGINS = Margins.from_dict({
    "sex": {"female": 490_000, "male": 510_000},
    "region": {"central": 260_000, "east": 400_000, "northeast": 70_000, "west": 270_000}})
SPECS = {"stratclus": DesignSpec(weight="base_weight", strata="stratum", psu="psu"),
         "weights": DesignSpec(weight="base_weight"),
         # each wave raked to the margins; R: calibrate(pooled, ~wave:sex + wave:region, raking)
         "calibrated": DesignSpec(base_weight="base_weight", strata="stratum", psu="psu",
                                  margins=MARGINS)}


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(FIX / "data.csv")


@pytest.mark.parametrize("design_kind", ["stratclus", "weights", "calibrated"])
def test_trend_matches_svyglm(data, design_kind):
    ref = pd.read_csv(FIX / "trend.csv")
    ref = ref[ref["design"] == design_kind]
    res = linear_trend(data, list(ref["target"]), design=SPECS[design_kind], keep_flagged=True,
                       load_wave=fixture_wave)
    got = res.table.set_index("item").loc[ref["target"]]
    assert list(res.table.columns) == list(TREND_COLUMNS)
    # 1e-9 relative; a slope (and its t) near 0 to 1e-9 of its SE (largest seen: 5e-11)
    se = ref["se"].to_numpy()
    slope = ref["slope"].to_numpy()
    assert (np.abs(got["slope"].to_numpy() - slope) <= 1e-9 * (np.abs(slope) + se)).all()
    np.testing.assert_allclose(got["se"], se, rtol=1e-9)
    np.testing.assert_allclose(got["t"], ref["t"].to_numpy(), rtol=1e-9, atol=1e-9)
    assert (got["df"].to_numpy() == ref["df"].to_numpy()).all()
    np.testing.assert_allclose(got["p_value"], ref["p_value"].to_numpy(), rtol=1e-9)


def test_series_matches_per_wave_indicators(data):
    res = linear_trend(data, ["N03.practice", "N01_P1", "index.gap"],
                       design=SPECS["stratclus"], keep_flagged=True, load_wave=fixture_wave)
    s = res.series
    assert list(s.columns) == list(SERIES_COLUMNS)
    assert s["item"].tolist() == ["N03.practice"] * 3 + ["N01_P1"] * 3 + ["index.gap"] * 3
    ref = pd.read_csv(FIX / "indicators.csv", keep_default_na=False)
    ref = ref[(ref["design"] == "stratclus") & (ref["by"] == "")]
    for _, r in s[s["item"] != "N01_P1"].iterrows():
        want = ref[(ref["wave"] == r["wave"]) & (ref["indicator"] == r["item"])].iloc[0]
        np.testing.assert_allclose([r["estimate"], r["se"]], [want["estimate"], want["se"]],
                                   rtol=1e-6)


def test_pooled_ids_never_merge_across_waves(data):
    frames = {y: g.reset_index(drop=True) for y, g in data.groupby("wave")}
    design, _ = pooled_design(frames, SPECS["stratclus"])
    per_wave = sum(g.groupby(["stratum", "psu"]).ngroups for g in frames.values())
    assert design.structure.n_psus == per_wave == 3 * 24
    assert design.structure.n_strata == 3 * 4


def test_pooled_raking_reproduces_each_waves_own_raking(data):
    frames = {y: g.reset_index(drop=True) for y, g in data.groupby("wave")}
    spec = SPECS["calibrated"]
    design, _ = pooled_design(frames, spec)
    separate = np.concatenate([spec.build(f, y).weights for y, f in frames.items()])
    np.testing.assert_allclose(design.weights, separate, rtol=1e-9)
    assert design.calibrated
