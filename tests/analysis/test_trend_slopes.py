"""The trend slopes as a delta-method contrast of each wave's totals
(:func:`analysis.trend.slope_estimate`) equal the weighted least-squares fit with its
cluster-robust (influence-value) variance that the trend used to compute on its own, to 1e-10,
on designs with strata and PSUs, weights only, raking, lonely PSUs, fpc and missing answers."""

import numpy as np
import pandas as pd
import pytest

from analysis import Margins
from analysis.compare import DesignSpec
from analysis.synthetic import make_responses
from analysis.trend import pooled_design, slope_estimate, wave_fit

ITEMS = ["N01_A1", "N04_P1", "N05_P1", "N05_P2", "N09_P1"]
MARGINS = Margins.from_dict({"sex": {"female": 490_000, "male": 510_000}})


def influence_slopes(design, items, year):
    """The WLS slope per item and the design covariance of its influence values
    ``w (y - yhat_t) s_t`` (the trend's own computation before it became a contrast)."""
    y = design.item_matrix(list(items))
    w = design.weights
    answered = ~np.isnan(y)
    y0 = np.where(answered, y, 0.0)
    wa = np.where(answered, w[:, None], 0.0)
    years = np.unique(year)
    w_sum = np.array([wa[year == t].sum(axis=0) for t in years])
    wy_sum = np.array([(wa[year == t] * y0[year == t]).sum(axis=0) for t in years])
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = wave_fit(years, wy_sum / w_sum, w_sum)
    yr = year.astype(float)[:, None]
    z = wa * (y0 - fit.center(yr)) * fit.scale(yr)
    return fit.slope, design.vcov(z)


def frames(seed, lonely=False, drop_item_wave=False, fpc=False):
    data = make_responses(300, waves=(2022, 2024, 2025), seed=seed, items="core")
    rng = np.random.default_rng(seed)
    for col in ITEMS:  # scattered missing answers
        data.loc[rng.random(len(data)) < 0.1, col] = np.nan
    if lonely:  # one stratum of the first wave keeps a single PSU
        first = data[(data.wave == 2022)]
        stratum = first["stratum"].iloc[0]
        keep = first.loc[first.stratum == stratum, "psu"].iloc[0]
        data = data[~((data.wave == 2022) & (data.stratum == stratum) & (data.psu != keep))]
    if drop_item_wave:  # an item answered in one wave only: NaN slope
        data.loc[data.wave != 2024, "N09_P1"] = np.nan
    if fpc:
        data["n_psu"] = data.groupby(["wave", "stratum"])["psu"].transform("nunique") * 10
    return {y: g.reset_index(drop=True) for y, g in data.groupby("wave")}


CASES = {
    "strata_psu": (dict(), DesignSpec(weight="base_weight", strata="stratum", psu="psu")),
    "weights_only": (dict(drop_item_wave=True), DesignSpec(weight="base_weight")),
    "raked": (dict(), DesignSpec(base_weight="base_weight", strata="stratum", psu="psu",
                                 margins=MARGINS)),
    "lonely_adjust": (dict(lonely=True), DesignSpec(weight="base_weight", strata="stratum",
                                                    psu="psu", lonely_psu="adjust")),
    "lonely_average": (dict(lonely=True), DesignSpec(weight="base_weight", strata="stratum",
                                                     psu="psu", lonely_psu="average")),
    "fpc": (dict(fpc=True), DesignSpec(weight="base_weight", strata="stratum", psu="psu",
                                       fpc="n_psu")),
}


@pytest.mark.parametrize("case", list(CASES))
def test_contrast_slopes_equal_influence_slopes(case):
    options, spec = CASES[case]
    design, data = pooled_design(frames(7, **options), spec)
    year = data["_wave"].to_numpy()
    got = slope_estimate(design, ITEMS, year)
    slope, vcov = influence_slopes(design, ITEMS, year)
    np.testing.assert_array_equal(np.isnan(got.coef), np.isnan(slope))
    ok = ~np.isnan(slope)
    np.testing.assert_allclose(got.coef[ok], slope[ok], rtol=1e-10, atol=0)
    scale = np.sqrt(np.outer(np.diag(vcov), np.diag(vcov)))[np.ix_(ok, ok)]
    assert np.abs(got.vcov[np.ix_(ok, ok)] - vcov[np.ix_(ok, ok)]).max() <= 1e-10 * scale.max()
    # a combination of slopes (a norm score's) has the combination's covariance
    L = np.array([[0.5, 0.0, 0.25, 0.25, 0.0]])
    comb = got.contrast(L)
    np.testing.assert_allclose(comb.var, (L @ vcov @ L.T)[0], rtol=1e-10)
    assert got.item == tuple(ITEMS)
    assert not pd.isna(got.se[ok]).any()
