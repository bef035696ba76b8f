"""Estimates and standard errors agree with R's survey package (fixtures in tests/fixtures/r_core).

The numbers were computed by tests/fixtures/r_core/make_fixtures.R (R 4.2.2, survey 4.1-1);
these tests read the stored CSVs and need no R.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "r_core"
RTOL = 1e-6
ITEMS = ["y1", "y2", "y3", "y4"]


@pytest.fixture(scope="module")
def core():
    return pd.read_csv(FIXTURES / "core.csv")


@pytest.fixture(scope="module")
def lonely():
    return pd.read_csv(FIXTURES / "lonely.csv")


@pytest.fixture(scope="module")
def expected():
    est = pd.read_csv(FIXTURES / "estimates.csv")
    est["by"] = est["by"].fillna("").astype(str)
    est["group"] = est["group"].fillna("").astype(str)
    return est


def build(name, core, lonely):
    if name.startswith("lonely_"):
        return SurveyDesign(lonely, weights="w", strata="stratum", psu="psu",
                            lonely_psu=name.removeprefix("lonely_"))
    if name == "srs":
        return SurveyDesign(core)
    if name == "srs_weighted":
        return SurveyDesign(core, weights="w")
    if name == "stratified":
        return SurveyDesign(core, weights="w", strata="stratum")
    if name == "clustered":
        return SurveyDesign(core, weights="w", psu="psu")
    if name == "strat_clustered":
        return SurveyDesign(core, weights="w", strata="stratum", psu="psu")
    if name == "fpc_count":
        return SurveyDesign(core, weights="w", strata="stratum", psu="psu", fpc="fpc_count")
    if name == "fpc_fraction":
        return SurveyDesign(core, weights="w", strata="stratum", psu="psu", fpc="fpc_fraction")
    base = SurveyDesign(core, weights="w", strata="stratum", psu="psu")
    if name in ("raked", "calibrated"):
        from analysis import read_margins

        variance = "rake" if name == "raked" else "calibrate"
        return base.rake(read_margins(FIXTURES / "margins.csv"), epsilon=1e-13,
                         variance=variance)
    if name == "poststratified":
        return base.poststratify(pd.read_csv(FIXTURES / "poststrata.csv"))
    raise KeyError(name)


def ours(design, statistic):
    if statistic == "mean":
        return design.mean(ITEMS, by="region").table
    if statistic == "total":
        return design.total(ITEMS, by="region").table
    return design.proportion(ITEMS, levels=[4, 5], by="region").table


def rel_diff(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.abs(a - b) / np.maximum(np.abs(b), 1e-300)
    return np.where(same, 0.0, d)


NON_CALIBRATED = ["srs", "srs_weighted", "stratified", "clustered", "strat_clustered",
                  "fpc_count", "fpc_fraction", "lonely_remove", "lonely_adjust",
                  "lonely_average", "lonely_certainty"]
CALIBRATED = ["calibrated", "raked", "poststratified"]


def merged(name, statistic, core, lonely, expected):
    design = build(name, core, lonely)
    got = ours(design, statistic)
    got["by"] = got["by"].astype(str)
    exp = expected[(expected.design == name) & (expected.statistic == statistic)]
    m = exp.merge(got, on=["item", "by", "group"], suffixes=("_r", ""), how="left")
    assert len(m) == len(exp) and m["estimate"].notna().all()
    return m


@pytest.mark.parametrize("statistic", ["mean", "total", "proportion"])
@pytest.mark.parametrize("name", NON_CALIBRATED + CALIBRATED)
def test_estimates_and_se_agree_with_r(name, statistic, core, lonely, expected):
    m = merged(name, statistic, core, lonely, expected)
    for col in ("estimate", "se", "deff"):
        worst = rel_diff(m[col], m[f"{col}_r"]).max()
        assert worst < RTOL, f"{name} {statistic} {col}: max relative difference {worst:.3g}"
    assert (m["n"] == m["n_r"]).all()


def test_the_two_raking_variances_differ(core, lonely):
    """calibrate() and rake() designs have the same weights and estimates but not the same SEs
    (so the tests above do tell them apart)."""
    cal = build("calibrated", core, lonely).mean(ITEMS).table
    rake = build("raked", core, lonely).mean(ITEMS).table
    assert rel_diff(rake.estimate, cal.estimate).max() < 1e-12
    assert rel_diff(rake.se, cal.se).max() > 1e-3


@pytest.mark.parametrize("name,column", [("raked", "raked"), ("calibrated", "calibrated"),
                                         ("poststratified", "poststratified")])
def test_calibrated_weights_agree_with_r(name, column, core, lonely):
    expected = pd.read_csv(FIXTURES / "weights.csv")[column].to_numpy()
    got = build(name, core, lonely).weights
    assert rel_diff(got, expected).max() < RTOL


@pytest.mark.parametrize("name", ["strat_clustered", "fpc_count", "calibrated", "poststratified"])
def test_vcov_of_linearised_means_agrees_with_r(name, core, lonely):
    exp = pd.read_csv(FIXTURES / "covariances.csv")
    exp = exp[exp.design == name].pivot(index="row", columns="col", values="value")
    design = build(name, core, lonely)
    est, z = design.linearize_mean(core[["y3", "y4"]].to_numpy(dtype=float))
    cov = design.vcov(z)
    assert rel_diff(cov, exp.loc[["y3", "y4"], ["y3", "y4"]].to_numpy()).max() < RTOL


@pytest.mark.parametrize("rule", ["adjust", "average"])
def test_vcov_with_a_domain_and_lonely_psus_agrees_with_r(rule, core, lonely, expected):
    """vcov(z, domain) is R's SE of the domain mean, including lonely_psu='average' where R
    averages over the strata the domain reaches (S6 has no one from the west)."""
    design = build(f"lonely_{rule}", core, lonely)
    west = (lonely.region == "west").to_numpy()
    est, z = design.linearize_mean(lonely["y1"].to_numpy(dtype=float), domain=west)
    exp = expected[(expected.design == f"lonely_{rule}") & (expected.statistic == "mean")
                   & (expected.item == "y1") & (expected.group == "west")].iloc[0]
    assert rel_diff(est[0], exp.estimate) < RTOL
    assert rel_diff(np.sqrt(design.vcov(z, domain=west)[0, 0]), exp.se) < RTOL


def test_row_level_calibration_residuals_give_the_calibrated_variance(core, lonely):
    """The variance of a calibrated design is the plain design variance of the residualised
    influence values (what Calibration.residuals returns), for both raking variances."""
    plain = build("strat_clustered", core, lonely)
    for name in ("calibrated", "raked", "poststratified"):
        design = build(name, core, lonely)
        _, z = design.linearize_mean(core[["y3", "y4"]].to_numpy(dtype=float))
        resid = design.calibration.residuals(z)
        assert rel_diff(plain.vcov(resid), design.vcov(z)).max() < 1e-10


@pytest.mark.slow
def test_fixtures_are_what_the_r_script_produces(tmp_path):
    """Re-run the R script (when R and survey are installed) and compare with the stored
    fixtures, so the numbers the tests trust are reproducible."""
    import shutil
    import subprocess

    if shutil.which("Rscript") is None:
        pytest.skip("Rscript is not installed (R 4.2.2 with survey 4.1-1 made the fixtures)")
    root = FIXTURES.parents[2]
    done = subprocess.run(["Rscript", str(FIXTURES / "make_fixtures.R"), str(tmp_path)],
                          cwd=root, capture_output=True, text=True, timeout=300)
    if done.returncode != 0 and "there is no package called" in done.stderr:
        pytest.skip("R's survey package is not installed")
    assert done.returncode == 0, done.stderr
    for name in ("core.csv", "estimates.csv", "covariances.csv", "weights.csv"):
        new = pd.read_csv(tmp_path / name)
        old = pd.read_csv(FIXTURES / name)
        pd.testing.assert_frame_equal(new, old, check_exact=False, rtol=1e-12)
