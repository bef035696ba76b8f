"""Design-based regression agrees with R's svyglm and regTermTest.

Reference: tests/fixtures/r_svyglm (R 4.2.2, survey 4.1-1; make_fixture.R says how, and why R
is refitted from its own estimates). Cases: stratified with fpc (apistrat), one-stage cluster
sample with fpc (apiclus1), raked by rake() and calibrated by calibrate(calfun="raking");
gaussian, quasibinomial and quasipoisson; categorical terms, an interaction, missing values
(na.omit) and domains (subset). Coefficients, SEs, t, CIs and covariances agree to 1e-9
relative (a coefficient near 0 to 1e-9 of its SE); p-values, derived through the t and F tails,
to 1e-6 relative.
"""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import Margins
from analysis.design import SurveyDesign
from analysis.regression import fit_glm

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "r_svyglm"
CASES = pd.read_csv(FIX / "cases.csv", keep_default_na=False)
COEFS = pd.read_csv(FIX / "coefs.csv")
VCOV = pd.read_csv(FIX / "vcov.csv")
TESTS = pd.read_csv(FIX / "tests.csv")
STYPE = {"E": 4421, "H": 755, "M": 1018}
RTOL = 1e-9
P_RTOL = 1e-6


@pytest.fixture(scope="module")
def designs():
    strat = SurveyDesign(pd.read_csv(FIX / "apistrat.csv"), weights="pw", strata="stype",
                         fpc="fpc")
    clus1 = SurveyDesign(pd.read_csv(FIX / "apiclus1.csv"), weights="pw", psu="dnum",
                         fpc="fpc")
    return {
        "strat": strat,
        "clus1": clus1,
        "rake_clus1": clus1.rake(Margins.from_dict({"stype": STYPE}), variance="rake",
                                 epsilon=1e-13),
        "cal_clus1": clus1.rake(Margins.from_dict({"stype": STYPE,
                                                   "comp_imp": {"No": 1712, "Yes": 4482}}),
                                epsilon=1e-13),
    }


def r_name(patsy_name: str) -> str:
    """patsy's ``stype[T.H]:meals`` is R's ``stypeH:meals``."""
    return "(Intercept)" if patsy_name == "Intercept" else re.sub(r"\[T\.(.*?)\]", r"\1",
                                                                   patsy_name)


def fitted(designs, case):
    design = designs[case.design]
    domain = design.data.eval(case.subset).to_numpy() if case.subset else None
    return fit_glm(design, case.formula, case.family, domain=domain)


@pytest.mark.parametrize("case", list(CASES.itertuples(index=False)), ids=lambda c: c.case)
def test_coefficients_and_standard_errors_equal_r(designs, case):
    fit = fitted(designs, case)
    expected = COEFS[COEFS["case"] == case.case].set_index("term")
    order = [list(map(r_name, fit.names)).index(t) for t in expected.index]
    table = fit.to_frame().iloc[order]
    se = expected["se"].to_numpy()
    for col in ("estimate", "ci_low", "ci_high"):
        ours, r = table[col].to_numpy(), expected[col].to_numpy()
        scale = np.maximum(np.abs(r), se)  # a coefficient near 0: relative to its SE
        assert (np.abs(ours - r) <= RTOL * scale).all(), (col, ours, r)
    np.testing.assert_allclose(table["se"], se, rtol=RTOL, atol=0)
    np.testing.assert_allclose(table["t"], expected["t"], rtol=RTOL, atol=RTOL)
    np.testing.assert_allclose(table["p_unadjusted"], expected["p"], rtol=P_RTOL, atol=0)
    assert (table["df"].to_numpy() == expected["df"].to_numpy()).all()

    v = VCOV[VCOV["case"] == case.case]
    r_vcov = np.zeros((len(expected), len(expected)))
    r_vcov[v["i"] - 1, v["j"] - 1] = v["value"]
    ours = fit.vcov[np.ix_(order, order)]
    np.testing.assert_allclose(ours, r_vcov, rtol=0, atol=RTOL * np.abs(r_vcov).max())


@pytest.mark.parametrize("row", list(TESTS.itertuples(index=False)),
                         ids=lambda r: f"{r.case}-{r.terms}")
def test_wald_tests_equal_regtermtest(designs, row):
    case = next(CASES[CASES["case"] == row.case].itertuples(index=False))
    test = fitted(designs, case).wald_test(row.terms)
    assert test.ndf == row.ndf and test.ddf == row.ddf
    assert test.F == pytest.approx(row.F, rel=RTOL)
    assert test.chisq == pytest.approx(row.chisq, rel=RTOL)
    assert test.p_value == pytest.approx(row.p, rel=P_RTOL)


def test_the_fixture_covers_every_family_and_design():
    assert set(CASES["family"]) == {"gaussian", "binomial", "poisson"}
    assert set(CASES["design"]) == {"strat", "clus1", "rake_clus1", "cal_clus1"}
    versions = pd.read_csv(FIX / "versions.csv")
    assert versions["survey"].iloc[0] == "4.1.1"
