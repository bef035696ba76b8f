"""Covariances of ratios agree with R's survey package: ``vcov(svyratio(~a + b, ~c + d,
design, covmat = TRUE))`` (several numerators and denominators, the whole sample and a domain)
and ``vcov(svyby(~a, ~g, design, svyratio, denominator = ~d, covmat = TRUE))`` (across the
groups of a domain variable), on a stratified, a cluster, a raked and a JK1 replicate design.
Fixture: tests/fixtures/r_ratio_covariance/make_fixture.R (R 4.2.2, survey 4.1-1)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign, read_margins
from analysis.ratios import ratio_estimates

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
DATA = FIXTURES / "r_totals_ratios_quantiles"
PAIRS = ["api00/api99", "api.stu/api99", "api00/enroll", "api.stu/enroll"]
RTOL = 1e-9


@pytest.fixture(scope="module")
def designs(tmp_path_factory):
    strat = pd.read_csv(DATA / "apistrat.csv")
    clus = pd.read_csv(DATA / "apiclus1.csv")
    margins = pd.read_csv(DATA / "margins.csv")
    path = tmp_path_factory.mktemp("margins") / "stype.csv"
    margins[margins.variable == "stype"].to_csv(path, index=False)
    dclus1 = SurveyDesign(clus, weights="pw", psu="dnum", fpc="fpc")
    return {
        "dstrat": SurveyDesign(strat, weights="pw", strata="stype", fpc="fpc"),
        "dclus1": dclus1,
        "raked": dclus1.rake(read_margins(path), variance="rake", epsilon=1e-13),
        "jk1": dclus1.replicate("jk1"),
    }


@pytest.fixture(scope="module")
def expected():
    return pd.read_csv(FIXTURES / "r_ratio_covariance" / "vcov.csv")


def r_matrix(expected, design, call):
    part = expected[(expected.design == design) & (expected.call == call)]
    names = list(dict.fromkeys(part["row"]))
    V = part.pivot(index="row", columns="col", values="value").loc[names, names].to_numpy()
    coef = part.drop_duplicates("row").set_index("row").loc[names, "estimate_row"].to_numpy()
    return names, coef, V


def assert_matches(est, names, coef, V):
    at = [est.names.index(n) for n in names]
    np.testing.assert_allclose(est.coef[at], coef, rtol=RTOL)
    scale = np.sqrt(np.outer(np.diag(V), np.diag(V)))
    assert (np.abs(est.vcov[np.ix_(at, at)] - V) <= RTOL * scale).all()


@pytest.mark.parametrize("name", ["dstrat", "dclus1", "raked", "jk1"])
def test_several_ratios_whole_sample_and_domain(name, designs, expected):
    est = ratio_estimates(designs[name], PAIRS, by="stype", covariance="group")
    assert_matches(est, *r_matrix(expected, name, "svyratio"))
    names, coef, V = r_matrix(expected, name, "svyratio_E")
    assert_matches(est, [f"stype=E:{n}" for n in names], coef, V)
    # covariance="group": nothing across groups, and a contrast that needs it is refused
    with pytest.raises(ValueError, match="was not computed"):
        est.contrast({"d": {"api00/api99": 1, "stype=E:api00/api99": -1}})


@pytest.mark.parametrize("name", ["dstrat", "dclus1", "jk1"])
def test_ratios_across_groups(name, designs, expected):
    est = ratio_estimates(designs[name], ["api00/enroll", "api.stu/enroll"], by="sch.wide",
                          covariance="by")
    names, coef, V = r_matrix(expected, name, "svyby")
    for numerator in ("api00", "api.stu"):
        keep = [i for i, n in enumerate(names) if n.endswith(f"{numerator}/enroll")]
        mine = [f"sch.wide={names[i].split(':')[0]}:{numerator}/enroll" for i in keep]
        assert_matches(est, mine, coef[keep], V[np.ix_(keep, keep)])


@pytest.mark.parametrize("name", ["dclus1", "jk1"])
def test_all_covariances_are_the_blocks(name, designs):
    """covariance='all' (the default) has every block the narrower levels compute, and a
    contrast of a domain's ratio with the whole sample's works."""
    full = ratio_estimates(designs[name], PAIRS, by=["stype", "sch.wide"])
    by = ratio_estimates(designs[name], PAIRS, by=["stype", "sch.wide"], covariance="by")
    known = ~np.isnan(by.vcov)
    np.testing.assert_allclose(full.vcov[known], by.vcov[known], rtol=1e-12)
    assert not np.isnan(full.vcov).any()
    np.testing.assert_allclose(full.se, by.se, rtol=1e-12)
    diff = full.contrast({"E - all": {"stype=E:api00/enroll": 1, "api00/enroll": -1}})
    assert diff.se[0] > 0
