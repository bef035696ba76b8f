"""Covariances of estimates and contrasts of them agree with R's survey package.

Fixture: tests/fixtures/r_contrasts (make_fixture.R, R 4.2.2, survey 4.1-1): svymean(~y3+y4)
vcov, svycontrast of it (linear, and y3/y4 by the delta method), svyby(~y3+y4, ~region,
covmat=TRUE) and a contrast across its groups, and the covariance of two item means with
missing answers (each over its own respondents), on a stratified clustered design and on the
same design raked with calibrate(calfun="raking").
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign, read_margins

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RTOL = 1e-9


@pytest.fixture(scope="module")
def expected():
    t = pd.read_csv(FIXTURES / "r_contrasts" / "contrasts.csv", keep_default_na=False)
    t["value"] = t["value"].astype(float)
    return t


@pytest.fixture(scope="module")
def designs():
    core = pd.read_csv(FIXTURES / "r_core" / "core.csv")
    base = SurveyDesign(core, weights="w", strata="stratum", psu="psu")
    raked = base.rake(read_margins(FIXTURES / "r_core" / "margins.csv"), epsilon=1e-13)
    return {"strat_clustered": base, "calibrated": raked}


def r_vector(expected, design, quantity):
    t = expected[(expected.design == design) & (expected.quantity == quantity)]
    return pd.Series(t["value"].to_numpy(), index=t["row"].to_numpy())


def r_matrix(expected, design, quantity):
    t = expected[(expected.design == design) & (expected.quantity == quantity)]
    return t.pivot(index="row", columns="col", values="value")


def close(got, want):
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    scale = np.max(np.abs(want))
    assert np.max(np.abs(got - want)) <= RTOL * scale, (got, want)


@pytest.mark.parametrize("name", ["strat_clustered", "calibrated"])
def test_vcov_of_two_means_and_contrasts(expected, designs, name):
    est = designs[name].mean(["y3", "y4"], covariance="group")
    close(est.coef, r_vector(expected, name, "mean_coef")[["y3", "y4"]])
    close(est.vcov, r_matrix(expected, name, "mean_vcov").loc[["y3", "y4"], ["y3", "y4"]])

    lin = est.contrast([[1, -1], [0.5, 0.5]], names=["diff", "avg"])
    close(lin.coef, r_vector(expected, name, "lin_coef")[["diff", "avg"]])
    close(lin.vcov, r_matrix(expected, name, "lin_vcov").loc[["diff", "avg"], ["diff", "avg"]])

    for ratio in (est.ratio("y3", "y4"), est.contrast_fn(lambda x: x[0] / x[1])):
        close(ratio.coef, r_vector(expected, name, "ratio_coef"))
        close(ratio.se, r_vector(expected, name, "ratio_se"))


@pytest.mark.parametrize("name", ["strat_clustered", "calibrated"])
def test_svyby_covmat_and_a_contrast_across_groups(expected, designs, name):
    est = designs[name].mean(["y3", "y4"], by="region", covariance="by")
    in_region = np.array([b == "region" for b in est.by])
    by_region = est.select(in_region)
    r_names = [f"{g}:{i}" for g, i in zip(by_region.group, by_region.item, strict=True)]
    close(by_region.coef, r_vector(expected, name, "by_coef")[r_names])
    close(by_region.vcov, r_matrix(expected, name, "by_vcov").loc[r_names, r_names])

    diff = est.contrast({"east-west": {"region=east:y3": 1, "region=west:y3": -1}})
    close(diff.coef, r_vector(expected, name, "by_lin_coef"))
    close(diff.se, r_vector(expected, name, "by_lin_se"))


@pytest.mark.parametrize("name", ["strat_clustered", "calibrated"])
def test_covariance_of_means_with_missing_answers(expected, designs, name):
    est = designs[name].mean(["y1", "y2"], covariance="group")
    close(est.coef, r_vector(expected, name, "miss_coef")[["y1", "y2"]])
    close(est.vcov, r_matrix(expected, name, "miss_vcov").loc[["y1", "y2"], ["y1", "y2"]])
    ratio = est.ratio(0, 1)
    close(ratio.coef, r_vector(expected, name, "miss_ratio_coef"))
    close(ratio.se, r_vector(expected, name, "miss_ratio_se"))


def test_covariance_across_domain_variables_needs_all(designs):
    est = designs["strat_clustered"].mean(["y3"], by="region", covariance="by")
    with pytest.raises(ValueError, match="covariance='group'.*'by'.*'all'"):
        est.contrast({"east-overall": {"region=east:y3": 1, "y3": -1}})
    full = designs["strat_clustered"].mean(["y3"], by="region", covariance="all")
    assert np.isfinite(full.contrast({"d": {"region=east:y3": 1, "y3": -1}}).se).all()
