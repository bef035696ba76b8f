"""The Wald test of equal domain scores and the pairwise differences agree with R.

Reference: tests/fixtures/r_domain_wald (R 4.2 / survey 4.1-1; make_fixtures.R says how): the
domain scores from svytotal + svycontrast with their joint covariance, the Wald statistic of
the differences and its F p-value; for a single-item score also svyglm + regTermTest.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import Margins
from analysis.design import SurveyDesign
from analysis.domain_tests import equal_means_test, pairwise_differences, score_by_domain
from analysis.errors import AnalysisInputError

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "r_domain_wald"
MARGINS = Margins.from_dict({
    "sex": {"female": 490_000, "male": 510_000},
    "region": {"central": 260_000, "east": 400_000, "northeast": 70_000, "west": 270_000}})
SCORES = {"N01.practice": (["N01_P1", "N01_P2"], [12.5, 12.5]),
          "N05.practice": (["N05_P1", "N05_P2"], [12.5, 12.5]),
          "N04_P1": (["N04_P1"], [25.0])}


@pytest.fixture(scope="module")
def designs():
    df = pd.read_csv(FIX / "data.csv")
    plain = SurveyDesign(df, weights="base_weight", strata="stratum", psu="psu")
    return {"stratclus": plain, "calibrated": plain.rake(MARGINS, epsilon=1e-13)}


WALD = pd.read_csv(FIX / "wald.csv")
PAIRS = pd.read_csv(FIX / "pairs.csv")


@pytest.mark.parametrize("row", list(WALD.itertuples(index=False)),
                         ids=lambda r: f"{r.design}-{r.score}-{r.by}-{r.route}")
def test_wald_test_equals_r(designs, row):
    items, coef = SCORES[row.score]
    scores = score_by_domain(designs[row.design], items, coef, row.by, offset=-25.0)
    test = equal_means_test(scores)
    assert test.chisq == pytest.approx(row.chisq, rel=1e-6, abs=1e-9)
    assert test.ndf == row.ndf and test.ddf == row.ddf
    assert test.p_value == pytest.approx(row.p_value, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("kind", ["stratclus", "calibrated"])
def test_pairwise_differences_equal_r_and_are_holm_adjusted(designs, kind):
    from statsmodels.stats.multitest import multipletests

    for (score, by), expected in PAIRS[PAIRS["design"] == kind].groupby(["score", "by"]):
        items, coef = SCORES[score]
        table = pairwise_differences(score_by_domain(designs[kind], items, coef, by,
                                                     offset=-25.0))
        assert list(table["group_a"]) == list(expected["group_a"])
        assert np.allclose(table["diff"], expected["diff"], rtol=1e-6, atol=1e-9)
        assert np.allclose(table["se"], expected["se"], rtol=1e-6, atol=1e-9)
        holm = multipletests(table["p_value"], method="holm")[1]
        assert np.allclose(table["p_adjusted"], holm)


def test_domain_scores_equal_the_indicator_module(designs):
    """The domain scores are the norm scores of analysis.indicators for the same groups."""
    from analysis.indicators import Scale, norm_scores

    design = designs["calibrated"]
    scores = score_by_domain(design, ["N01_P1", "N01_P2"], [12.5, 12.5], "region",
                             offset=-25.0)
    table = norm_scores(design, [Scale("N01", "practice", ("N01_P1", "N01_P2"))],
                        by="region").table
    rows = table[(table["indicator"] == "N01.practice") & (table["by"] == "region")]
    rows = rows.set_index("group").loc[list(scores.groups)]
    assert np.allclose(scores.estimates, rows["estimate"], rtol=0, atol=1e-10)
    assert np.allclose(scores.se, rows["se"], rtol=1e-10, atol=1e-12)
    assert scores.n == tuple(rows["n"])


def test_one_group_is_not_a_test(designs):
    df = designs["stratclus"].data.assign(one="all")
    design = SurveyDesign(df, weights="base_weight", strata="stratum", psu="psu")
    with pytest.raises(AnalysisInputError, match="'one': a test of equal means needs at least"):
        equal_means_test(score_by_domain(design, ["N04_P1"], [25.0], "one"))


@pytest.mark.parametrize("method, name", [("holm", "holm"), ("bh", "fdr_bh")])
def test_adjust_equals_statsmodels(method, name):
    from statsmodels.stats.multitest import multipletests

    from analysis.domain_tests import adjust

    rng = np.random.default_rng(1)
    for size in (1, 2, 5, 15, 40):
        p = rng.uniform(0, 1, size) ** 3
        p[rng.random(size) < 0.2] = p[0]  # ties
        assert np.allclose(adjust(p, method), multipletests(p, method=name)[1], rtol=0,
                           atol=1e-15)
    with_nan = np.array([0.01, np.nan, 0.04, 0.03])
    got = adjust(with_nan, method)
    assert np.isnan(got[1])
    assert np.allclose(got[[0, 2, 3]], multipletests(with_nan[[0, 2, 3]], method=name)[1])
