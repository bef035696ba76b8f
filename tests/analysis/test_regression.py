"""analysis.regression.fit_glm: the result's API, missing values, outcomes and bad input.

(Agreement with R's svyglm is in test_regression_r.py.)
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.design import SurveyDesign
from analysis.errors import AnalysisInputError
from analysis.regression import COEFFICIENT_COLUMNS, fit_glm, formula_variables

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "r_svyglm"


@pytest.fixture(scope="module")
def api():
    return pd.read_csv(FIX / "apistrat.csv")


@pytest.fixture(scope="module")
def strat(api):
    return SurveyDesign(api, weights="pw", strata="stype", fpc="fpc")


def test_result_has_the_shared_result_attributes(strat):
    fit = fit_glm(strat, "api00 ~ ell + meals")
    assert fit.names == ("Intercept", "ell", "meals")
    assert fit.coef.shape == (3,) and fit.vcov.shape == (3, 3) and fit.se.shape == (3,)
    assert np.allclose(fit.se ** 2, np.diag(fit.vcov))
    assert fit.confint().shape == (3, 2)
    assert list(fit.to_frame().columns) == list(COEFFICIENT_COLUMNS)
    assert fit.df == 200 - 3 + 1 - 3 and fit.n == 200
    assert fit.terms == {"ell": ("ell",), "meals": ("meals",)}
    # normal intervals on request are narrower than the t intervals
    assert (np.diff(fit.confint(df=np.inf), axis=1) < np.diff(fit.confint(), axis=1)).all()
    assert "api00 ~ ell + meals" in str(fit)


def test_coefficients_compose_with_contrasts_as_every_estimate(strat):
    """svycontrast on a svyglm: the coefficients are an Estimate like any other."""
    fit = fit_glm(strat, "api00 ~ ell + meals")
    est = fit.estimate
    assert tuple(est.names) == fit.names
    assert np.array_equal(est.coef, fit.coef) and est.df == fit.df
    diff = fit.contrast({"ell - meals": {"ell": 1, "meals": -1}})
    L = np.array([0.0, 1.0, -1.0])
    assert diff.coef[0] == pytest.approx(L @ fit.coef, rel=1e-14)
    assert diff.se[0] == pytest.approx(np.sqrt(L @ fit.vcov @ L), rel=1e-12)
    ratio = est.ratio("ell", "meals")
    assert ratio.coef[0] == pytest.approx(fit.coef[1] / fit.coef[2], rel=1e-14)


def test_a_single_coefficient_wald_test_is_the_squared_t(strat):
    fit = fit_glm(strat, "api00 ~ ell + meals")
    test = fit.wald_test("ell")
    assert test.F == pytest.approx(fit.t[1] ** 2)
    assert test.p_value == pytest.approx(fit.p_value[1])
    chisq = fit.wald_test(["meals", "ell"], df=np.inf)
    assert chisq.ndf == 2 and np.isinf(chisq.ddf)
    assert chisq.as_dict()["terms"] == "meals + ell"


def test_interaction_terms_match_in_either_order(api, strat):
    fit = fit_glm(strat, "api00 ~ C(comp_imp) * meals")
    assert fit.wald_test("meals:C(comp_imp)").chisq == fit.wald_test("C(comp_imp):meals").chisq


def test_coefficients_and_ses_do_not_depend_on_the_scale_of_the_weights(api, strat):
    scaled = SurveyDesign(api.assign(pw=api["pw"] * 1000), weights="pw", strata="stype",
                          fpc="fpc")
    for family, formula in (("gaussian", "api00 ~ ell"), ("poisson", "enroll ~ meals")):
        a, b = fit_glm(strat, formula, family), fit_glm(scaled, formula, family)
        np.testing.assert_allclose(a.coef, b.coef, rtol=1e-10)
        np.testing.assert_allclose(a.se, b.se, rtol=1e-9)


def test_a_two_category_outcome_models_its_second_category(api, strat):
    by_text = fit_glm(strat, "sch_wide ~ ell + meals", "binomial")
    numeric = SurveyDesign(api.assign(yes=(api["sch_wide"] == "Yes").astype(int)),
                           weights="pw", strata="stype", fpc="fpc")
    by_number = fit_glm(numeric, "yes ~ ell + meals", "binomial")
    assert by_text.event == "Yes" and by_number.event is None
    np.testing.assert_allclose(by_text.coef, by_number.coef, rtol=1e-12)
    np.testing.assert_allclose(by_text.se, by_number.se, rtol=1e-12)
    condition = fit_glm(strat, "I(api00 >= 700) ~ ell", "binomial")
    assert condition.event == "True"


def test_a_row_missing_a_variable_is_out_even_inside_a_condition():
    """``I(x >= 4)`` of a missing x would be False to patsy; the row must leave the model."""
    rng = np.random.default_rng(3)
    n = 300
    x = rng.integers(1, 6, n).astype(float)
    x[:40] = np.nan
    df = pd.DataFrame({"x": x, "z": rng.normal(size=n), "w": rng.uniform(1, 2, n)})
    design = SurveyDesign(df, weights="w")
    fit = fit_glm(design, "I(x >= 4) ~ z", "binomial")
    # the same rows as a domain of a design where the missing answers were 5 ("True")
    filled = SurveyDesign(df.fillna({"x": 5.0}), weights="w")
    complete = fit_glm(filled, "I(x >= 4) ~ z", "binomial", domain=~np.isnan(x))
    assert fit.n == n - 40
    np.testing.assert_allclose(fit.coef, complete.coef, rtol=1e-12)
    np.testing.assert_allclose(fit.se, complete.se, rtol=1e-12)


def test_nullable_and_text_columns_as_the_pipeline_gives_them():
    rng = np.random.default_rng(4)
    n = 200
    y = pd.array(rng.integers(1, 6, n), dtype="Int64")
    y[:10] = pd.NA
    df = pd.DataFrame({"N04_P1": y, "sex": pd.array(rng.choice(["male", "female"], n),
                                                    dtype="str"),
                       "w": rng.uniform(1, 2, n)})
    df.loc[5:12, "sex"] = None
    fit = fit_glm(SurveyDesign(df, weights="w"), "N04_P1 ~ C(sex)")
    assert fit.names == ("Intercept", "C(sex)[T.male]")
    assert fit.n == n - 13  # rows 0-12 miss the outcome or sex


def test_domain_is_a_subset_that_keeps_the_design(api, strat):
    mask = (api["comp_imp"] == "Yes").to_numpy()
    fit = fit_glm(strat, "api00 ~ ell", domain=mask)
    assert fit.n == mask.sum()
    with pytest.raises(ValueError, match="domain"):
        fit_glm(strat, "api00 ~ ell", domain=mask[:-1])


def test_aliased_columns_get_no_coefficient_as_in_r(strat):
    fit = fit_glm(strat, "api00 ~ ell + I(2 * ell) + meals")
    plain = fit_glm(strat, "api00 ~ ell + meals")
    assert fit.aliased == ("I(2 * ell)",)
    assert np.isnan(fit.coef[2]) and np.isnan(fit.se[2])
    np.testing.assert_allclose(fit.coef[[0, 1, 3]], plain.coef, rtol=1e-10)
    np.testing.assert_allclose(fit.se[[0, 1, 3]], plain.se, rtol=1e-10)
    assert fit.df == plain.df
    assert fit.wald_test("meals").F == pytest.approx(plain.wald_test("meals").F)


def test_formula_variables():
    assert formula_variables('y ~ C(sex) + np.log(x) + Q("a b") + I(z >= 4)') == [
        "y", "sex", "x", "a b", "z"]


@pytest.mark.parametrize(("formula", "family", "message"), [
    ("api00 ~ (ell", "gaussian", "formula 'api00 ~ (ell': Unmatched '('"),
    ("~ ell", "gaussian", "needs one outcome"),
    ("api00 ~ nosuch", "gaussian", "unknown column 'nosuch'"),
    ("api00 ~ ell", "binomial", "outcome 'api00': value 840 in row 1 is not 0 or 1"),
    ("stype ~ ell", "binomial", "outcome 'stype' has 3 categories (E, H, M)"),
    ("sch_wide ~ ell", "gaussian", "outcome 'sch_wide' is not numeric"),
    ("I(-enroll) ~ ell", "poisson", "is negative"),
    ("api00 ~ np.log(ell)", "gaussian", "'np.log(ell)' is -inf in row 6"),
    ("api00 ~ ell", "logit", "family 'logit' is not one of gaussian, binomial, poisson"),
    ("api00 ~ nosuch_function(ell)", "gaussian", "NameError"),
])
def test_bad_input_is_one_line_naming_what(strat, formula, family, message):
    with pytest.raises(AnalysisInputError) as err:
        fit_glm(strat, formula, family)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_unknown_test_term_names_the_model_terms(strat):
    fit = fit_glm(strat, "api00 ~ ell + C(stype)")
    with pytest.raises(AnalysisInputError, match=r"'sex' is not a term .*C\(stype\), ell"):
        fit.wald_test("sex")


def test_no_rows_left(api):
    design = SurveyDesign(api.assign(acs_k3=np.nan), weights="pw")
    with pytest.raises(AnalysisInputError, match="no rows with every variable"):
        fit_glm(design, "api00 ~ acs_k3")


def test_separation_is_refused_in_one_line():
    df = pd.DataFrame({"y": [0, 0, 0, 1, 1, 1], "x": [1.0, 2, 3, 4, 5, 6]})
    with pytest.raises(AnalysisInputError) as err:
        fit_glm(SurveyDesign(df), "y ~ x", "binomial")
    assert "\n" not in str(err.value)


def test_c_of_a_column_is_the_column_as_categories(strat):
    """``C(x)`` takes a fast path; it must mean what patsy's ``C`` means."""
    wrapped = fit_glm(strat, "api00 ~ C(comp_imp) + C(mobility > 15)")
    plain = fit_glm(strat, "api00 ~ comp_imp + I(mobility > 15)")
    np.testing.assert_allclose(wrapped.coef, plain.coef, rtol=1e-12)
    np.testing.assert_allclose(wrapped.se, plain.se, rtol=1e-12)
    assert wrapped.names[1] == "C(comp_imp)[T.Yes]"
    summed = fit_glm(strat, "api00 ~ C(comp_imp, Sum)")
    assert summed.names == ("Intercept", "C(comp_imp, Sum)[S.No]")
    reordered = fit_glm(strat, 'api00 ~ C(comp_imp, levels=["Yes", "No"])')
    assert reordered.coef[1] == pytest.approx(-fit_glm(strat, "api00 ~ comp_imp").coef[1])
