"""Trend command and API: planted trends are found, bad input is refused with exit status 2."""

import numpy as np
import pandas as pd
import pytest

from analysis import cli
from analysis.compare import DesignSpec
from analysis.errors import AnalysisInputError
from analysis.synthetic import PRACTICE_TREND_PER_YEAR, make_responses
from analysis.trend import SERIES_COLUMNS, TREND_COLUMNS, linear_trend

SPEC = DesignSpec(weight="base_weight", strata="stratum", psu="psu")


@pytest.fixture(scope="module")
def synth():
    return make_responses(2500, waves=(2024, 2025, 2026), seed=21)


def test_planted_trends_are_recovered(synth):
    norms = ["N04", "N05", "N01"]
    res = linear_trend(synth, [f"{n}.practice" for n in norms], design=SPEC)
    t = res.table.set_index("item")
    for n in norms:
        planted = PRACTICE_TREND_PER_YEAR[n]
        row = t.loc[f"{n}.practice"]
        # the planted change is in unweighted points on the generator's latent scale; rounding
        # to 1..5, clipping and weighting move the realised slope by up to about a point
        assert abs(row["slope"] - planted) < 4 * row["se"] + 1.5, n
    assert t.loc["N04.practice", "p_value"] < 1e-6
    assert t.loc["N01.practice", "p_value"] > 0.001


def test_series_and_slope_are_consistent(synth):
    res = linear_trend(synth, ["N04_P1"], design=SPEC)
    s = res.series
    assert list(s.columns) == list(SERIES_COLUMNS) and len(s) == 3
    assert (s["ci_low"] < s["estimate"]).all() and (s["estimate"] < s["ci_high"]).all()
    # a straight line through the three wave means has about the regression's slope
    fit = np.polyfit(s["wave"], s["estimate"], 1)[0]
    assert abs(fit - res.table["slope"].iloc[0]) < 2 * res.table["se"].iloc[0]


@pytest.mark.parametrize("waves, message", [
    ([2024, 2025], "at least 3 waves"),
    ([2024, 2024, 2025], "at least 3 waves"),
    ([2024, 2025, 2027], "wave 2027 is not in the data"),
])
def test_bad_waves(synth, waves, message):
    with pytest.raises(AnalysisInputError, match=message):
        linear_trend(synth, ["N04_P1"], waves, design=SPEC)


def test_single_wave_data(synth):
    with pytest.raises(AnalysisInputError, match="got 1 .2025"):
        linear_trend(synth[synth.wave == 2025], ["N04_P1"], design=SPEC)


def test_not_comparable_items(synth):
    # the synthetic data ask N02_P3 as the waves do: version 1 in 2024, version 2 later
    assert synth.groupby("wave")["N02_P3"].count().gt(0).all()
    res = linear_trend(synth, ["N02_P3", "N02_P1"], design=SPEC)
    assert res.table["item"].tolist() == ["N02_P1"]
    assert res.notes["message"].str.contains("N02_P3: not comparable, wording changed").any()
    with pytest.raises(AnalysisInputError, match="nothing to analyse: N02_P3"):
        linear_trend(synth, ["N02_P3"], design=SPEC)
    data = synth.copy()
    data.loc[data.wave == 2024, "N04_P3"] = pd.NA
    with pytest.raises(AnalysisInputError, match="item 'N04_P3': wave 2024 asks it"):
        linear_trend(data, ["N04_P3"], design=SPEC)


def test_command(synth, tmp_path, capsys):
    data = tmp_path / "data.parquet"
    synth.to_parquet(data)
    out = tmp_path / "t.csv"
    status = cli.main(["trend", str(data), "--items", "N04_P1,N04.practice,index.gap",
                       "--waves", "2024,2025,2026", "--weight", "base_weight", "--strata",
                       "stratum", "--psu", "psu", "--out", str(out)])
    assert status == 0
    t = pd.read_csv(out)
    # index.gap is not comparable across 2024-2026 (N02_P3 changed wording): listed, no row
    assert list(t.columns) == list(TREND_COLUMNS) and len(t) == 2
    assert t["item"].tolist() == ["N04_P1", "N04.practice"]
    s = pd.read_csv(tmp_path / "t.series.csv")
    assert list(s.columns) == list(SERIES_COLUMNS) and len(s) == 6
    notes = pd.read_csv(tmp_path / "t.notes.csv")
    assert ((notes["kind"] == "not_comparable") & (notes["item"] == "index.gap")).sum() == 1
    err = capsys.readouterr().err
    assert "excluded" in err and "index.gap: not comparable" in err
    status = cli.main(["trend", str(data), "--items", "N04_P1,N04.practice,index.gap",
                       "--waves", "2024,2025,2026", "--weight", "base_weight", "--strata",
                       "stratum", "--psu", "psu", "--common-items", "--out", str(out)])
    assert status == 0
    assert pd.read_csv(out)["item"].tolist() == ["N04_P1", "N04.practice", "index.gap"]
    assert len(pd.read_csv(tmp_path / "t.series.csv")) == 9
    capsys.readouterr()
    status = cli.main(["trend", str(data), "--items", "N04_P1", "--waves", "2024,2025",
                       "--out", str(out)])
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "at least 3 waves" in err


def test_indicator_comparability_across_all_waves():
    from tests.analysis.fixture_waves import FIX, fixture_wave

    data = pd.read_csv(FIX / "data.csv")

    def waves(y):  # N02_P2 reworded in the last wave only
        return fixture_wave(y, versions={"N02_P2": 2} if y == 2026 else None)

    spec = DesignSpec(weight="base_weight", strata="stratum", psu="psu")
    res = linear_trend(data, ["N02.practice", "N02_P1"], design=spec, keep_flagged=True,
                       load_wave=waves)
    assert res.table["item"].tolist() == ["N02_P1"]
    msg = res.notes.set_index("item").loc["N02.practice", "message"]
    assert "N02_P2@2 in 2026" in msg
    common = linear_trend(data, ["N02.practice", "N02_P1"], design=spec, keep_flagged=True,
                          load_wave=waves, common_items=True).table.set_index("item")
    np.testing.assert_allclose(common.loc["N02.practice", "slope"],
                               25 * common.loc["N02_P1", "slope"], rtol=1e-10)
    np.testing.assert_allclose(common.loc["N02.practice", "se"],
                               25 * common.loc["N02_P1", "se"], rtol=1e-10)


@pytest.mark.parametrize("calfun, bounds", [("raking", None), ("linear", None)])
def test_the_pooled_design_calibrates_each_wave_as_its_own_design(calfun, bounds):
    """--calfun and --bounds reach the pooled design of the trend: its weights are each wave's
    own calibrated weights (the wave-crossed margins make the calibration block-diagonal)."""
    from analysis.data import CENSUS_2020_ADULT_MARGINS
    from analysis.io import read_margins
    from analysis.trend import pooled_design

    data = make_responses(900, waves=[2024, 2025, 2026], seed=11, items="core")
    frames = {y: d.reset_index(drop=True) for y, d in data.groupby("wave")}
    spec = DesignSpec(strata="stratum", psu="psu", margins=read_margins(CENSUS_2020_ADULT_MARGINS),
                      calfun=calfun, bounds=bounds)
    design, pooled = pooled_design(frames, spec)
    for year, frame in frames.items():
        own = spec.build(frame, year).weights
        np.testing.assert_allclose(design.weights[pooled["_wave"].to_numpy() == year], own,
                                   rtol=1e-8)


def test_bounded_calibration_is_refused_for_the_pooled_trend_design():
    from analysis.data import CENSUS_2020_ADULT_MARGINS
    from analysis.io import read_margins
    from analysis.trend import pooled_design

    data = make_responses(300, waves=[2024, 2025, 2026], seed=11, items="core")
    frames = {y: d.reset_index(drop=True) for y, d in data.groupby("wave")}
    spec = DesignSpec(margins=read_margins(CENSUS_2020_ADULT_MARGINS), calfun="logit",
                      bounds=(0.3, 3.0))
    with pytest.raises(AnalysisInputError, match="--bounds cannot be applied to the pooled"):
        pooled_design(frames, spec)
