"""Post-stratifying a design with replicate weights is R's ``postStratify`` of a
``svrepdesign``: the main weights and every replicate post-stratified on its own, then means,
totals, ratios and domain means with their replicate SEs and covariance. Trimming one is
refused with the reason. Fixture: tests/fixtures/r_replicate_poststratify/make_fixture.R
(R 4.2.2, survey 4.1-1)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign
from analysis.errors import AnalysisInputError
from analysis.ratios import ratio_estimates

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FIXTURE = FIXTURES / "r_replicate_poststratify"
DATA = FIXTURES / "r_totals_ratios_quantiles"
RTOL = 1e-9


def base_design(case):
    if case == "jk1_stype":
        return SurveyDesign(pd.read_csv(DATA / "apiclus1.csv"), weights="pw", psu="dnum",
                            fpc="fpc").replicate("jk1")
    return SurveyDesign(pd.read_csv(DATA / "apistrat.csv"), weights="pw", strata="stype",
                        fpc="fpc").replicate("jkn")


@pytest.fixture(scope="module", params=["jk1_stype", "jkn_schwide"])
def case(request):
    name = request.param
    table = pd.read_csv(FIXTURE / f"population_{name}.csv")
    return name, base_design(name).poststratify(table)


def expected(name, stat):
    r = pd.read_csv(FIXTURE / "results.csv")
    return r[(r.case == name) & (r.stat == stat)].reset_index(drop=True)


def close(actual, want):
    np.testing.assert_allclose(np.asarray(actual, float), np.asarray(want, float), rtol=RTOL)


def test_every_replicate_is_poststratified_as_r(case):
    name, design = case
    want = pd.read_csv(FIXTURE / f"weights_{name}.csv")
    close(design.weights, want.pop("main"))
    close(design.replicates.matrix(), want.to_numpy())


def test_estimates_and_covariance_agree_with_r(case):
    name, design = case
    mean = design.mean(["api00", "api99"], covariance="all")
    close(mean.coef, expected(name, "mean").estimate)
    close(mean.se, expected(name, "mean").se)
    v = pd.read_csv(FIXTURE / f"vcov_{name}.csv")
    close(mean.vcov.ravel(order="F"), v.value)
    total = design.total("enroll")
    close(total.coef, expected(name, "total").estimate)
    close(total.se, expected(name, "total").se)
    ratio = ratio_estimates(design, ["api00/enroll"])
    close(ratio.coef, expected(name, "ratio").estimate)
    close(ratio.se, expected(name, "ratio").se)
    by = design.mean("api00", by="stype").select(slice(1, None))
    assert list(by.group) == list(expected(name, "by_mean").name)
    close(by.coef, expected(name, "by_mean").estimate)
    close(by.se, expected(name, "by_mean").se)


def test_trimming_a_replicate_design_is_refused_with_the_reason():
    design = base_design("jk1_stype")
    with pytest.raises(AnalysisInputError, match="trimming .*R's trimWeights of a replicate"):
        design.trim(upper=40)
