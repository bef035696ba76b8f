"""Intervals of proportions: logit as R's svyciprop(method="logit"), Wilson on the effective
sample size checked against an independent computation (R, and statsmodels' Wilson interval).

Fixtures: tests/fixtures/r_ciprop/make_fixture.R (R 4.2.2, survey 4.1-1).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from analysis import SurveyDesign
from analysis.ciprop import design_df, proportion_intervals
from analysis.cli import main

HERE = Path(__file__).resolve().parents[1] / "fixtures"
RTOL = 1e-9
ITEMS = ["sch_wide_yes", "yr_rnd_yes"]


def indicators(path):
    data = pd.read_csv(path)
    data["sch_wide_yes"] = (data["sch.wide"] == "Yes").astype(int)
    data["yr_rnd_yes"] = (data["yr.rnd"] == "Yes").astype(int)
    return data


@pytest.fixture(scope="module")
def designs():
    strat = indicators(HERE / "r_ciprop" / "apistrat.csv")
    clus1 = indicators(HERE / "r_ciprop" / "apiclus1.csv")
    clus2 = indicators(HERE / "r_multistage" / "apiclus2.csv")
    return {
        "dstrat": SurveyDesign(strat, weights="pw", strata="stype", fpc="fpc"),
        "dclus1": SurveyDesign(clus1, weights="pw", psu="dnum", fpc="fpc"),
        "dclus2": SurveyDesign(clus2, weights="pw", psu=["dnum", "snum"],
                               fpc=["fpc1", "fpc2"]),
    }


@pytest.fixture(scope="module")
def expected():
    return pd.read_csv(HERE / "r_ciprop" / "intervals.csv", keep_default_na=False,
                       dtype={"by": str, "group": str})


def relative(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.abs(a - b) / np.maximum(np.abs(b), 1e-300)


@pytest.mark.parametrize("name", ["dstrat", "dclus1", "dclus2"])
@pytest.mark.parametrize("method", ["logit", "wilson"])
def test_intervals_agree_with_r(designs, expected, name, method):
    design = designs[name]
    table = design.proportion(ITEMS, levels=[1], by="stype").table
    got = proportion_intervals(design, table, method).set_index(["item", "by", "group"])
    want = expected[expected.design == name].set_index(["item", "by", "group"])
    got = got.loc[want.index]
    assert relative(got["se"], want["se"]).max() < RTOL
    # p = 0 (no year-round school among the sampled H or M schools of a cluster sample):
    # the logit is infinite, R's glm stops at limits of ~1e-11 and R's Wilson formula at 0/0;
    # ours: no logit interval, and the plain Wilson interval on the n answers
    empty = want["estimate"] == 0
    assert got.loc[empty, "estimate"].eq(0).all()
    if method == "logit":
        assert got.loc[empty, "ci_low"].isna().all()
    else:
        n = got.loc[empty, "n"].to_numpy()
        low, high = proportion_confint(0, n, method="wilson")
        assert np.allclose(got.loc[empty, "ci_high"], high, rtol=1e-12)
    got, want = got[~empty.to_numpy()], want[~empty]
    # logit: R's svyglm fitted to convergence (svyciprop's own fit stops at glm's default
    # epsilon 1e-8, which leaves its limits up to ~3e-8 off: checked to 1e-6)
    column = "glm" if method == "logit" else method
    assert relative(got["ci_low"], want[f"{column}_low"]).max() < RTOL
    assert relative(got["ci_high"], want[f"{column}_high"]).max() < RTOL
    if method == "logit":
        assert relative(got["ci_low"], want["logit_low"]).max() < 1e-6
        assert relative(got["ci_high"], want["logit_high"]).max() < 1e-6


@pytest.mark.parametrize("name", ["dstrat", "dclus1", "dclus2"])
def test_degrees_of_freedom_are_r_degf(designs, expected, name):
    want = expected[(expected.design == name) & (expected.item == ITEMS[0])]
    got = {"": design_df(designs[name])[""], **design_df(designs[name], "stype")}
    assert [got[g] for g in want["group"]] == want["df"].tolist()


def test_wilson_equals_statsmodels_on_the_effective_sample_size(designs):
    design = designs["dclus2"]
    table = design.proportion(ITEMS, levels=[1], by="stype").table
    got = proportion_intervals(design, table, "wilson")
    got = got[got["se"] > 0]  # (p = 0 is the next test's)
    p, se = got["estimate"].to_numpy(), got["se"].to_numpy()
    n_eff = p * (1 - p) / se**2
    low, high = proportion_confint(p * n_eff, n_eff, alpha=0.05, method="wilson")
    assert relative(got["ci_low"], low).max() < 1e-12
    assert relative(got["ci_high"], high).max() < 1e-12


def test_wald_is_the_estimators_interval(designs):
    table = designs["dclus1"].proportion(ITEMS, levels=[1]).table
    assert proportion_intervals(designs["dclus1"], table, "wald").equals(table)


def test_wilson_without_variance_is_the_plain_wilson_interval():
    data = pd.DataFrame({"y": [0] * 10, "g": ["a"] * 10})
    table = SurveyDesign(data).proportion(["y"], levels=[1]).table
    got = proportion_intervals(SurveyDesign(data), table, "wilson")
    low, high = proportion_confint(0, 10, method="wilson")
    assert got["ci_low"].iloc[0] == pytest.approx(low, abs=1e-15)
    assert got["ci_high"].iloc[0] == pytest.approx(high, rel=1e-12)


def test_estimate_command_ci(tmp_path, designs, expected, capsys):
    data = tmp_path / "apiclus2.csv"
    designs["dclus2"].data.to_csv(data, index=False)
    base = ["estimate", str(data), "--items", "yr_rnd_yes", "--weight", "pw", "--psu",
            "dnum,snum", "--fpc", "fpc1,fpc2", "--by", "stype"]
    for method in ("logit", "wilson"):
        out = tmp_path / f"{method}.csv"
        assert main([*base, "--proportion", "1", "--ci", method, "--out", str(out)]) == 0
        got = pd.read_csv(out, dtype={"by": str, "group": str}).fillna({"by": "", "group": ""})
        want = expected[(expected.design == "dclus2") & (expected.item == "yr_rnd_yes")]
        merged = want.merge(got, on=["item", "by", "group"])
        assert len(merged) == 4
        merged = merged[merged["se_x"] > 0]  # H: p = 0 (above)
        column = "glm" if method == "logit" else method
        assert relative(merged["ci_low"], merged[f"{column}_low"]).max() < RTOL
        assert relative(merged["ci_high"], merged[f"{column}_high"]).max() < RTOL
    capsys.readouterr()
    assert main([*base, "--ci", "logit", "--out", str(tmp_path / "x.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--ci logit applies to proportions" in err
