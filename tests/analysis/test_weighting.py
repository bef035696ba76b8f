"""Raking, post-stratification and trimming behave as documented; the design API holds together."""

import numpy as np
import pandas as pd
import pytest

from analysis import Margins, SurveyDesign
from analysis.data import CENSUS_2020_ADULT_MARGINS, CENSUS_2020_ALLAGES_SHARES
from analysis.io import read_margins


@pytest.fixture
def sample():
    rng = np.random.default_rng(11)
    n = 2000
    df = pd.DataFrame({
        "stratum": rng.integers(0, 4, n),
        "psu": rng.integers(0, 25, n),
        "base": rng.uniform(0.5, 4, n),
        "sex": rng.choice(["male", "female"], n, p=[0.6, 0.4]),
        "age_group": rng.choice(["18-24", "25-34", "35-44", "45-54", "55-64", "65+"], n),
        "region": rng.choice(["east", "central", "west", "northeast"], n, p=[.5, .2, .2, .1]),
        "urban_rural": rng.choice(["urban", "rural"], n, p=[.8, .2]),
        "education": rng.choice(["below_primary", "primary", "junior_secondary",
                                 "senior_secondary", "university"], n),
    })
    df["y"] = rng.integers(1, 6, n) + (df.sex == "female")
    df.loc[rng.choice(n, 100, replace=False), "y"] = np.nan
    return df


def shares():
    return Margins.from_dict({"sex": {"male": 0.49, "female": 0.51},
                              "region": {"east": .4, "central": .26, "west": .27,
                                         "northeast": .07}})


def test_raking_meets_margins_and_reports(sample):
    d = SurveyDesign(sample, weights="base", strata="stratum", psu="psu")
    r = d.rake(shares(), epsilon=1e-12)
    rep = r.weighting
    assert rep.converged and rep.iterations >= 2 and rep.max_relative_error < 1e-12
    assert r.weights.sum() == pytest.approx(len(sample))  # shares -> sample size
    by_sex = pd.Series(r.weights).groupby(sample.sex.to_numpy()).sum()
    assert by_sex["female"] == pytest.approx(0.51 * len(sample))
    assert "converged after" in str(rep)
    assert d.weighting is None and not d.calibrated and r.calibrated
    assert "calibrated: rake(sex+region)" in repr(r)


def test_project_census_margins_rake_a_sample(sample):
    m = read_margins(CENSUS_2020_ADULT_MARGINS)
    # the default targets are the ones valid for adults, on one base (persons 18+)
    assert m.variables == ["sex", "age_group", "region"]
    r = SurveyDesign(sample, weights="base").rake(m)
    assert r.weights.sum() == pytest.approx(1_112_784_302, rel=1e-9)
    female = r.weights[sample.sex.to_numpy() == "female"].sum()
    assert female == pytest.approx(549_393_493, rel=1e-8)


def test_all_ages_shares_are_kept_apart_and_still_rake(sample):
    # urban/rural and education exist only for all ages: shipped, but never a default
    allages = pd.read_csv(CENSUS_2020_ALLAGES_SHARES)
    assert set(allages["variable"]) == {"urban_rural", "education"}
    assert allages["caveat_en"].str.contains("not used by the default").all()
    both = pd.concat([pd.read_csv(CENSUS_2020_ADULT_MARGINS), allages])
    from analysis import Margins

    r = SurveyDesign(sample, weights="base").rake(Margins(both), rescale=True)
    urban = r.weights[sample.urban_rural.to_numpy() == "urban"].sum() / r.weights.sum()
    assert urban == pytest.approx(0.6389040624, rel=1e-8)


def test_calibration_lowers_the_se_of_a_calibration_variable(sample):
    # the SE of the share of women is ~0 after raking on sex: the calibration is in the variance
    sample = sample.assign(female=(sample.sex == "female").astype(float))
    d = SurveyDesign(sample, weights="base", strata="stratum", psu="psu")
    r = d.rake(shares())
    assert d.mean("female").table.se.iloc[0] > 0.005
    assert r.mean("female").table.se.iloc[0] < 1e-8
    assert r.mean("female").table.estimate.iloc[0] == pytest.approx(0.51)


def test_trim_bounds_and_margins_hold(sample):
    r = SurveyDesign(sample, weights="base").rake(shares())
    hi = np.quantile(r.weights, 0.9)
    t = r.trim(upper=hi)
    assert t.weights.max() <= hi * (1 + 1e-9)
    by_region = pd.Series(t.weights).groupby(sample.region.to_numpy()).sum() / len(sample)
    assert by_region["northeast"] == pytest.approx(0.07, rel=1e-8)
    assert t.weighting.method == "trim" and t.weighting.n_trimmed > 0
    assert len(t.calibration_steps) == 1  # the trimmed raking replaces the raking
    assert np.isfinite(t.mean("y").table.se).all()


def test_trim_uncalibrated_keeps_the_total(sample):
    d = SurveyDesign(sample, weights="base")
    t = d.trim(upper=3.0, strict=True)
    assert t.weights.max() <= 3.0
    assert t.weights.sum() == pytest.approx(d.weights.sum())
    once = d.trim(upper=3.0)  # R's default: one round
    assert once.weights.sum() == pytest.approx(d.weights.sum())
    assert once.weighting.iterations == 1 <= t.weighting.iterations


def test_poststratify_then_rake_runs_and_meets_both(sample):
    d = SurveyDesign(sample, weights="base", strata="stratum", psu="psu")
    table = pd.DataFrame({"urban_rural": ["urban", "rural"], "target": [0.6, 0.4]})
    ps = d.poststratify(table)
    r = ps.rake(shares())
    assert len(r.calibration_steps) == 2
    est = r.mean("y", by="region").table
    assert np.isfinite(est.se).all() and (est.se > 0).all()


def test_domain_is_not_a_subset(sample):
    """A domain keeps the full design (R's svyby): its SE differs from the SE of the subset
    analysed as if it were the whole sample, while the estimate is the same."""
    d = SurveyDesign(sample, weights="base", strata="stratum", psu="psu")
    dom = d.mean("y", by="region").table.set_index("group").loc["northeast"]
    # some PSUs have no one from the northeast: the subset design sees fewer PSUs per stratum
    sub = SurveyDesign(sample[sample.region == "northeast"], weights="base", strata="stratum",
                       psu="psu").mean("y").table.iloc[0]
    assert dom.estimate == pytest.approx(sub.estimate)
    assert dom.se != pytest.approx(sub.se, rel=1e-6)


def test_linearize_and_vcov_match_the_estimators(sample):
    r = SurveyDesign(sample, weights="base", strata="stratum", psu="psu").rake(shares())
    est, z = r.linearize_mean(sample["y"].to_numpy(dtype=float),
                              domain=(sample.region == "west").to_numpy())
    table = r.mean("y", by="region").table.set_index("group").loc["west"]
    assert est[0] == pytest.approx(table.estimate, rel=1e-12)
    assert np.sqrt(r.vcov(z)[0, 0]) == pytest.approx(table.se, rel=1e-10)
    # vcov of two columns: symmetric, diagonal = the single-column variances
    y2 = r.item_matrix(["y", "y"])
    _, z2 = r.linearize_mean(y2)
    cov = r.vcov(z2)
    assert cov.shape == (2, 2) and cov[0, 1] == pytest.approx(cov[0, 0])


def test_estimates_print_and_columns(sample):
    d = SurveyDesign(sample, weights="base")
    est = d.proportion("y", levels=[4, 5], by=["sex", "region"])
    assert list(est.table.columns) == ["item", "by", "group", "estimate", "se", "ci_low",
                                       "ci_high", "n", "deff"]
    assert len(est.table) == 1 + 2 + 4
    text = str(est)
    assert "proportion of answers in 4, 5" in text and "female" in text
    assert est.table.ci_low.iloc[0] < est.table.estimate.iloc[0] < est.table.ci_high.iloc[0]
    assert est.table.n.iloc[0] == sample.y.notna().sum()


def test_na_rm_false_gives_nan_where_answers_are_missing(sample):
    d = SurveyDesign(sample, weights="base")
    t = d.mean("y", na_rm=False).table
    assert np.isnan(t.estimate.iloc[0])


def test_deff_replace_is_r_deff_replace(sample):
    d = SurveyDesign(sample, weights="base", strata="stratum", psu="psu")
    wor = d.mean("y").table.deff.iloc[0]
    wr = d.mean("y", deff="replace").table.deff.iloc[0]
    # wor = wr / (1 - n/N) with N = sum of weights of the answered rows
    n = sample.y.notna().sum()
    big_n = sample.base[sample.y.notna()].sum()
    assert wor == pytest.approx(wr / (1 - n / big_n), rel=1e-10)


def test_missing_by_values_and_empty_domains(sample):
    d = SurveyDesign(sample.assign(grp=np.where(np.arange(len(sample)) % 7 == 0, None,
                                                sample.region)),
                     weights="base", strata="stratum", psu="psu")
    with_by = d.mean("y", by="grp").table
    alone = d.mean("y").table
    assert with_by.estimate.iloc[0] == pytest.approx(alone.estimate.iloc[0], rel=1e-13)
    assert with_by.se.iloc[0] == pytest.approx(alone.se.iloc[0], rel=1e-12)
    assert set(with_by.group[1:]) == {"east", "central", "west", "northeast"}
    # a domain without answers: no estimate and no SE rather than a fake 0
    empty = sample.assign(y2=np.where(sample.region == "west", np.nan, sample.y))
    t = SurveyDesign(empty, weights="base").mean("y2", by="region").table.set_index("group")
    assert np.isnan(t.loc["west", "estimate"]) and np.isnan(t.loc["west", "se"])
    assert t.loc["west", "n"] == 0


def test_many_psus_are_processed_in_item_chunks(sample, monkeypatch):
    import analysis.estimates as estimates

    d = SurveyDesign(sample, weights="base", strata="stratum")  # one PSU per row
    whole = d.mean(["y", "y"], by="region").table
    monkeypatch.setattr(estimates, "MAX_AGGREGATE_CELLS", 1000)
    chunked = d.mean(["y", "y"], by="region").table
    pd.testing.assert_frame_equal(whole, chunked)


def test_row_numbers_in_messages_survive_splitting():
    from analysis import AnalysisInputError

    df = pd.DataFrame({"w": [1.0, 2.0, 3.0, None], "wave": [1, 1, 2, 2]})
    with pytest.raises(AnalysisInputError, match="missing weight in row 4"):
        SurveyDesign(df[df.wave == 2], weights="w")
