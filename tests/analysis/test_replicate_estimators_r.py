"""Regression, quantiles and the Rao-Scott test on replicate-weight designs agree with R's
survey package (tests/fixtures/r_replicate_estimators, made by make_fixture.R with R 4.2.2 and
survey 4.1-1) on ``as.svrepdesign(dclus1, type="JK1")`` and ``as.svrepdesign(dstrat,
type="JKn")``: svyglm (gaussian, quasibinomial, a domain), svyquantile with its default
Woodruff interval overall and by stype (svyby on a replicate design is svyquantile on each
subset), and svychisq. Coefficients, SEs and covariances to 1e-9 relative (R's glm refits each
replicate iteratively; the fixture tightens its tolerance to 1e-12 so that R's numbers are the
limit); quantiles, intervals, SEs and test statistics to 1e-9.

The answer distributions and the domain Wald tests on a replicate design are checked against
the package's own replicate means (those are checked against R in test_replicates_r.py).
"""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import cli
from analysis.design import SurveyDesign
from analysis.distributions import answer_distributions
from analysis.domain_tests import equal_means_test, score_by_domain
from analysis.quantiles import quantile_estimates
from analysis.regression import fit_glm
from analysis.subgroups import rao_scott_chisq

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "r_replicate_estimators"
RTOL = 1e-9
COEFS = pd.read_csv(FIXTURE / "coefs.csv")
QUANTILES = pd.read_csv(FIXTURE / "quantiles.csv").fillna({"by": "", "group": ""})
CHISQ = pd.read_csv(FIXTURE / "chisq.csv")
DATA = {"jk1": "apiclus1.csv", "jkn": "apistrat.csv"}
MODELS = {  # name in the fixture: formula, family, domain (pandas expression)
    "gaussian": ("api00 ~ ell + meals + stype", "gaussian", None),
    "quasibinomial": ("awards01 ~ ell + meals", "binomial", None),
    "gaussian_domain": ("api00 ~ ell + meals", "gaussian", "stype != 'E'"),
}


def read(case: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURE / DATA[case])


DESIGNS = {
    "jk1": lambda: SurveyDesign(read("jk1"), weights="pw", psu="dnum",
                                fpc="fpc").replicate("jk1"),
    "jkn": lambda: SurveyDesign(read("jkn"), weights="pw", strata="stype",
                                fpc="fpc").replicate("jkn"),
}


def close(actual, expected, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(actual, dtype=float),
                               np.asarray(expected, dtype=float), rtol=rtol, atol=0)


def r_name(patsy_name: str) -> str:
    return "(Intercept)" if patsy_name == "Intercept" else re.sub(r"\[T\.(.*?)\]", r"\1",
                                                                   patsy_name)


@pytest.mark.parametrize("case", list(DESIGNS))
@pytest.mark.parametrize("model", list(MODELS))
def test_svyglm_on_replicates_is_rs(case, model):
    design = DESIGNS[case]()
    formula, family, subset = MODELS[model]
    domain = design.data.eval(subset).to_numpy() if subset else None
    fit = fit_glm(design, formula, family, domain=domain)
    r = COEFS[(COEFS.case == case) & (COEFS.model == model)].set_index("term")
    order = [list(r.index).index(r_name(n)) for n in fit.names]
    r = r.iloc[order]
    close(fit.coef, r.estimate)
    close(fit.se, r.se)
    vcov = pd.read_csv(FIXTURE / f"vcov_{case}_{model}.csv").to_numpy()[np.ix_(order, order)]
    scale = np.sqrt(np.outer(np.diag(vcov), np.diag(vcov)))
    assert np.max(np.abs(fit.vcov - vcov) / scale) < RTOL
    assert fit.df == r.df.iloc[0]


@pytest.mark.parametrize("case", list(DESIGNS))
@pytest.mark.parametrize("item", ["api00", "avg.ed"])
def test_svyquantile_on_replicates_is_rs(case, item):
    design = DESIGNS[case]()
    t = quantile_estimates(design, [item], [0.25, 0.5], by="stype").table
    r = QUANTILES[(QUANTILES.case == case) & (QUANTILES.item == item)]
    assert list(t.group) == list(r.group)
    for ours, rs in (("estimate", "quantile"), ("ci_low", "ci_low"), ("ci_high", "ci_high"),
                     ("se", "se")):
        np.testing.assert_allclose(t[ours], r[rs], rtol=RTOL, atol=0, equal_nan=True)
    assert "replicates" in quantile_estimates(design, [item], [0.5]).interval_note


@pytest.mark.parametrize("case", list(DESIGNS))
@pytest.mark.parametrize("statistic", ["F", "Chisq"])
def test_svychisq_on_replicates_is_rs(case, statistic):
    t = rao_scott_chisq(DESIGNS[case](), "stype", "sch.wide", statistic=statistic)
    r = CHISQ[(CHISQ.case == case) & (CHISQ.statistic == statistic)].iloc[0]
    close(t.value, r.value)
    close(t.ndf, r.ndf)
    if statistic == "F":
        close(t.ddf, r.ddf)
    close(t.p_value, r.p, rtol=1e-7)


def scored():
    """The api data with 1..5 codes (meals in fifths, 9 where ell is 0) to score."""
    data = read("jkn")
    data["q1"] = np.minimum(data.meals // 20 + 1, 5).astype(float)
    data["q2"] = np.where(data.ell == 0, 9.0, np.minimum(data.ell // 15 + 1, 5))
    return data


def test_distributions_on_replicates_are_replicate_proportions():
    design = SurveyDesign(scored(), weights="pw", strata="stype", fpc="fpc").replicate("jkn")
    dist = answer_distributions(design, ["q2"])
    answers = dist[dist.code != 9]
    plain = design.replace(data=design.data.assign(q2=design.data.q2.where(
        design.data.q2 != 9))).replicate("jkn")
    for code, share, se in zip(answers.code, answers.share, answers.se, strict=True):
        p = plain.proportion(["q2"], [code])
        close(share, p.coef[0], rtol=1e-12)
        close(se, p.se[0], rtol=1e-12)


def test_domain_wald_on_replicates_is_the_contrast_of_replicate_means():
    design = SurveyDesign(scored(), weights="pw", psu="dnum").replicate("jk1")
    scores = score_by_domain(design, ["q1", "api00"], [0.5, 0.5], "sch.wide", offset=1.0)
    means = design.mean(["q1", "api00"], by="sch.wide", covariance="by")
    by = means.select(np.asarray(means.by) == "sch.wide")
    combined = by.contrast_within_groups([[0.5, 0.5]], names=["score"], offset=1.0)
    close(scores.estimates, combined.coef, rtol=1e-12)
    close(scores.vcov, combined.vcov, rtol=1e-10)
    assert scores.design_df == design.replicates.df
    test = equal_means_test(scores)
    assert test.ddf == design.replicates.df - 1 and 0 <= test.p_value <= 1


# --------------------------------------------------------------------------- command line
def test_cli_model_with_replicates_is_rs(tmp_path):
    out = tmp_path / "m.csv"
    code = cli.main(["model", str(FIXTURE / "apistrat.csv"), "--keep-flagged", "--weight",
                     "pw", "--strata", "stype", "--fpc", "fpc", "--replicates", "jkn",
                     "--formula", "awards01 ~ ell + meals", "--family", "binomial",
                     "--out", str(out)])
    assert code == 0
    t = pd.read_csv(out)
    r = COEFS[(COEFS.case == "jkn") & (COEFS.model == "quasibinomial")]
    close(t.estimate, r.estimate)
    close(t.se, r.se)
    assert (t.df == r.df.iloc[0]).all()


def test_cli_quantiles_with_supplied_replicate_weights_are_rs(tmp_path):
    design = DESIGNS["jk1"]()
    reps = design.replicates
    data = read("jk1").join(pd.DataFrame(reps.matrix()).add_prefix("rw"))
    path = tmp_path / "clus1.csv"
    data.to_csv(path, index=False)
    out = tmp_path / "q.csv"
    code = cli.main(["estimate", str(path), "--keep-flagged", "--items", "api00", "--by",
                     "stype", "--quantile", "0.25,0.5", "--weight", "pw", "--repweights",
                     "rw*", "--reptype", "JK1", "--rscale", repr(reps.scale), "--out",
                     str(out)])
    assert code == 0
    t = pd.read_csv(out, keep_default_na=False, na_values=[""]).fillna({"by": "", "group": ""})
    r = QUANTILES[(QUANTILES.case == "jk1") & (QUANTILES.item == "api00")]
    np.testing.assert_allclose(t.estimate, r["quantile"], rtol=RTOL, atol=0)
    np.testing.assert_allclose(t.se, r.se, rtol=RTOL, atol=0, equal_nan=True)
    np.testing.assert_allclose(t.ci_low, r.ci_low, rtol=RTOL, atol=0, equal_nan=True)
