"""Multistage designs with an fpc at each stage agree with R's survey package.

Fixtures: tests/fixtures/r_multistage/make_fixture.R (R 4.2.2, survey 4.1-1): R's apiclus2
(``svydesign(id=~dnum+snum, fpc=~fpc1+fpc2, data=apiclus2)`` and the same without fpc),
its raking, and a stratified three-stage sample under three lonely-PSU rules.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import AnalysisInputError, SurveyDesign, read_margins
from analysis.cli import main

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "r_multistage"
RTOL = 1e-9


@pytest.fixture(scope="module")
def api():
    data = pd.read_csv(FIXTURES / "apiclus2.csv")
    data["sch_wide_yes"] = (data["sch.wide"] == "Yes").astype(int)
    sampled = data.groupby("dnum")["snum"].transform("size")
    data["f1"] = 40 / data["fpc1"]
    data["f2"] = sampled / data["fpc2"]
    return data


@pytest.fixture(scope="module")
def three():
    return pd.read_csv(FIXTURES / "threestage.csv")


@pytest.fixture(scope="module")
def expected():
    return pd.read_csv(FIXTURES / "estimates.csv", keep_default_na=False,
                       na_values=["NA"], dtype={"by": str, "group": str})


def dclus2(api, **kwargs):
    return SurveyDesign(api, weights="pw", psu=["dnum", "snum"], fpc=["fpc1", "fpc2"], **kwargs)


def build(name, api, three):
    if name == "dclus2":
        return dclus2(api)
    if name == "dclus2_fraction":
        return SurveyDesign(api, weights="pw", psu=["dnum", "snum"], fpc=["f1", "f2"])
    if name == "dclus2_nofpc":
        return SurveyDesign(api, weights="pw", psu=["dnum", "snum"])
    if name in ("raked", "calibrated"):
        return dclus2(api).rake(read_margins(FIXTURES / "margins.csv"), epsilon=1e-13,
                                variance="rake" if name == "raked" else "calibrate")
    if name.startswith("three_"):
        return SurveyDesign(three, weights="w", strata="stratum", psu=["psu", "ssu", "person"],
                            fpc=["fpc1", "fpc2", "fpc3"], lonely_psu=name.removeprefix("three_"))
    raise KeyError(name)


def relative(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.abs(a - b) / np.maximum(np.abs(b), 1e-300)


@pytest.mark.parametrize("name", ["dclus2", "dclus2_fraction", "dclus2_nofpc", "raked",
                                  "calibrated", "three_adjust", "three_remove",
                                  "three_certainty"])
def test_estimates_agree_with_r(name, api, three, expected):
    design = build(name, api, three)
    rows = expected[expected.design == name]
    assert len(rows)
    for (statistic, by), block in rows.groupby(["statistic", "by"]):
        items = list(dict.fromkeys(block["item"]))
        kwargs = {"by": by} if by else {}
        if statistic == "proportion":
            got = design.proportion(items, levels=[1], **kwargs).table
        else:
            got = getattr(design, statistic)(items, **kwargs).table
        got = got[got["by"] == by].set_index(["item", "group"])
        want = block.set_index(["item", "group"])
        got = got.loc[want.index]
        for col in ("estimate", "se", "deff"):
            worst = relative(got[col], want[col]).max()
            assert worst < RTOL, (name, statistic, by, col, worst)


def test_fpc_as_fractions_equals_population_sizes(api):
    a = dclus2(api).mean(["api00", "enroll"], by="stype").table
    b = SurveyDesign(api, weights="pw", psu=["dnum", "snum"], fpc=["f1", "f2"]).mean(
        ["api00", "enroll"], by="stype").table
    assert relative(b["se"], a["se"]).max() < 1e-13


def test_second_stage_counts_only_with_fpc(api):
    """Without fpc the SSU column changes nothing (R: first stage with replacement)."""
    two = SurveyDesign(api, weights="pw", psu=["dnum", "snum"]).mean(["api00"]).table
    one = SurveyDesign(api, weights="pw", psu="dnum").mean(["api00"]).table
    assert two["se"].iloc[0] == one["se"].iloc[0]


def test_calibrated_weights_agree_with_r(api):
    want = pd.read_csv(FIXTURES / "weights.csv")
    margins = read_margins(FIXTURES / "margins.csv")
    for name in ("raked", "calibrated"):
        got = dclus2(api).rake(margins, epsilon=1e-13).weights
        assert relative(got, want[name]).max() < RTOL


@pytest.mark.parametrize("name", ["dclus2", "calibrated"])
def test_vcov_agrees_with_r(name, api, three):
    design = build(name, api, three)
    want = pd.read_csv(FIXTURES / "covariances.csv")
    want = want[want.design == name].pivot(index="row", columns="col", values="value")
    want = want.loc[["api00", "api99"], ["api00", "api99"]].to_numpy()
    _, z = design.linearize_mean(api[["api00", "api99"]].to_numpy(float))
    assert relative(design.vcov(z), want).max() < RTOL


@pytest.mark.parametrize("name", ["dclus2", "calibrated"])
@pytest.mark.parametrize("level", ["group", "by", "all"])
def test_the_estimators_covariance_agrees_with_r(name, level, api, three):
    """The engine's covariance of item means (the Estimate's vcov) on a multistage design."""
    want = pd.read_csv(FIXTURES / "covariances.csv")
    want = want[want.design == name].pivot(index="row", columns="col", values="value")
    want = want.loc[["api00", "api99"], ["api00", "api99"]].to_numpy()
    est = build(name, api, three).mean(["api00", "api99"], covariance=level)
    assert relative(est.vcov, want).max() < RTOL
    by = build(name, api, three).mean(["api00", "api99"], by="stype", covariance=level)
    assert np.allclose(np.diag(by.vcov), by.se ** 2, rtol=1e-12)
    ratio = est.ratio(0, 1)
    assert np.isfinite(ratio.se).all()


def test_degrees_of_freedom_are_the_first_stage(api, three):
    s = dclus2(api).structure
    assert (s.n_psus, s.n_strata) == (40, 1)
    s3 = build("three_adjust", api, three).structure
    assert (s3.n_psus - s3.n_strata, s3.n_stages) == (9 - 3, 3)


# ---------------------------------------------------------------------- bad input
def err(fn, *args, **kwargs) -> str:
    with pytest.raises(AnalysisInputError) as exc:
        fn(*args, **kwargs)
    assert "\n" not in str(exc.value)
    return str(exc.value)


def test_lonely_unit_at_a_later_stage(three):
    msg = err(SurveyDesign, three, weights="w", strata="stratum", psu=["psu", "ssu", "person"],
              fpc=["fpc1", "fpc2", "fpc3"])
    assert "the unit 'P02' of column 'psu'" in msg
    assert "only one sampled unit at stage 2" in msg
    assert "row " in msg
    msg = err(SurveyDesign, three, weights="w", strata="stratum", psu=["psu", "ssu", "person"],
              fpc=["fpc1", "fpc2", "fpc3"], lonely_psu="average")
    assert "NaN" in msg


def test_wrong_number_of_fpc_columns(api):
    msg = err(SurveyDesign, api, psu=["dnum", "snum"], fpc="fpc1")
    assert "1 column(s) (fpc1) for 2 sampling stage(s)" in msg
    msg = err(SurveyDesign, api, psu="dnum", fpc=["fpc1", "fpc2"])
    assert "2 column(s) (fpc1, fpc2) for 1 sampling stage(s)" in msg


def second_school(api) -> int:
    """Position of the second sampled school of the first district with several."""
    return int(np.flatnonzero(api["dnum"].duplicated())[0])


def test_fpc_not_constant_within_the_unit_above(api):
    bad = api.copy()
    i = second_school(api)
    bad.loc[i, "fpc2"] = 99
    msg = err(dclus2, bad)
    first = int(np.flatnonzero(api["dnum"] == api["dnum"].iloc[i])[0])
    assert msg == ("column 'fpc2': the fpc varies within a unit of column 'dnum': 99 in "
                   f"row {i + 1}, {api['fpc2'].iloc[i]:g} in row {first + 1}")


def test_fpc_smaller_than_the_sampled_units(api):
    bad = api.copy()
    rows = bad["dnum"] == bad.loc[bad.groupby("dnum")["snum"].transform("size") == 5,
                                  "dnum"].iloc[0]
    bad.loc[rows, "fpc2"] = 4
    msg = err(dclus2, bad)
    assert "column 'fpc2': population size 4 in row" in msg
    assert "smaller than the 5 sampled units of column 'snum'" in msg
    first = api.copy()
    first["fpc1"] = 30
    assert "population size 30 in stratum '(all)' is smaller than its 40 sampled PSUs" in err(
        dclus2, first)


def test_missing_later_stage_unit(api):
    bad = api.copy()
    bad["snum"] = bad["snum"].astype(float)
    bad.loc[3, "snum"] = np.nan
    assert "column 'snum': missing sampling unit" in err(dclus2, bad)
    assert "row 4" in err(SurveyDesign, bad, psu=["dnum", "snum"])


# ---------------------------------------------------------------------- command line
def run_cli(args, capsys):
    code = main(args)
    return code, capsys.readouterr().err


def test_estimate_command_matches_r(tmp_path, api, expected, capsys):
    data = tmp_path / "apiclus2.csv"
    api.to_csv(data, index=False)
    out = tmp_path / "e.csv"
    code, err_text = run_cli(["estimate", str(data), "--items", "api00,enroll", "--weight", "pw",
                              "--psu", "dnum,snum", "--fpc", "fpc1,fpc2", "--by", "stype",
                              "--deff", "wor", "--out", str(out)], capsys)
    assert code == 0, err_text
    got = pd.read_csv(out, keep_default_na=False, dtype={"by": str, "group": str})
    want = expected[(expected.design == "dclus2") & (expected.statistic == "mean")]
    merged = want.merge(got, on=["item", "by", "group"], suffixes=("_r", ""))
    assert len(merged) == len(want) == 8
    for col in ("estimate", "se", "deff"):
        assert relative(merged[col], merged[f"{col}_r"]).max() < RTOL
    out2 = tmp_path / "p.csv"
    code, err_text = run_cli(["estimate", str(data), "--items", "sch_wide_yes", "--weight", "pw",
                              "--psu", "dnum,snum", "--fpc", "fpc1,fpc2", "--proportion", "1",
                              "--out", str(out2)], capsys)
    assert code == 0, err_text
    got = pd.read_csv(out2)
    want = expected[(expected.design == "dclus2") & (expected.statistic == "proportion")
                    & (expected.by == "")]
    assert relative(got["se"], want["se"]).max() < RTOL


def test_estimate_command_bad_fpc_is_one_line(tmp_path, api, capsys):
    data = tmp_path / "apiclus2.csv"
    bad = api.copy()
    i = second_school(api)
    bad.loc[i, "fpc2"] = 99
    bad.to_csv(data, index=False)
    code, err_text = run_cli(["estimate", str(data), "--items", "api00", "--weight", "pw",
                              "--psu", "dnum,snum", "--fpc", "fpc1,fpc2",
                              "--out", str(tmp_path / "e.csv")], capsys)
    lines = err_text.strip().splitlines()
    assert code == 2 and len(lines) == 1
    assert f"{data}: column 'fpc2'" in lines[0] and f"99 in row {i + 1}" in lines[0]
    code, err_text = run_cli(["estimate", str(data), "--items", "api00", "--psu", "dnum,snum",
                              "--fpc", "fpc1", "--out", str(tmp_path / "e.csv")], capsys)
    assert code == 2 and "--fpc: 1 column(s) (fpc1) for 2 sampling stage(s)" in err_text


@pytest.fixture(scope="module")
def waves_two_stage():
    """Synthetic waves with a second stage: pairs of respondents within each PSU, fpc per
    stage (first stage: 4 times the sampled PSUs of the stratum; second: 3 times the pairs)."""
    from analysis.synthetic import make_responses

    data = make_responses(1500, waves=(2024, 2025, 2026), seed=5)
    data["ssu"] = data.groupby(["wave", "stratum", "psu"]).cumcount() // 2
    psus = data.groupby(["wave", "stratum"])["psu"].transform("nunique")
    pairs = data.groupby(["wave", "stratum", "psu"])["ssu"].transform("nunique")
    data["fpc1"] = 4 * psus
    data["fpc2"] = 3 * pairs
    return data


def test_every_design_command_takes_stages(tmp_path, waves_two_stage, capsys):
    from analysis.pipeline import DesignSpec, load_survey

    data = tmp_path / "r.parquet"
    waves_two_stage.to_parquet(data)
    design = ["--weight", "base_weight", "--strata", "stratum", "--psu", "psu,ssu", "--fpc",
              "fpc1,fpc2"]
    runs = {
        "estimate": ["--items", "N04_P1,N04.practice"],
        "compare": ["--items", "N04_P1", "--base", "2024", "--current", "2026"],
        "trend": ["--items", "N04_P1", "--waves", "2024,2025,2026"],
    }
    for command, extra in runs.items():
        out = tmp_path / f"{command}.csv"
        code, err_text = run_cli([command, str(data), *extra, *design, "--out", str(out)],
                                 capsys)
        assert code == 0, (command, err_text)
    # the trend's per-wave series are the waves' own two-stage designs
    survey = load_survey(str(data))
    spec = DesignSpec(weight="base_weight", strata="stratum", psu=("psu", "ssu"),
                      fpc=("fpc1", "fpc2"))
    series = pd.read_csv(tmp_path / "trend.series.csv")
    estimates = pd.read_csv(tmp_path / "estimate.csv")
    for year in (2024, 2025, 2026):
        mean = survey.design(year, spec).mean(["N04_P1"]).table
        one_stage = survey.design(year, DesignSpec(weight="base_weight", strata="stratum",
                                                   psu="psu", fpc="fpc1")).mean(["N04_P1"])
        assert mean["se"].iloc[0] > one_stage.table["se"].iloc[0]  # the second stage adds
        row = series[(series.wave == year) & (series.item == "N04_P1")]
        assert relative(row["se"], mean["se"]).max() < 1e-9
        row = estimates[(estimates.wave == year) & (estimates.item == "N04_P1")]
        assert relative(row["se"], mean["se"]).max() < 1e-12


@pytest.mark.parametrize("fpc", [["fpc1", "fpc2"], ["f1", "f2"]])
def test_weights_come_from_the_fpc_when_none_are_given_as_in_r(api, fpc):
    """R's svydesign(id=~dnum+snum, fpc=~fpc1+fpc2) with no weights: 1 / (f1 f2) per row."""
    derived = SurveyDesign(api, psu=["dnum", "snum"], fpc=fpc)
    np.testing.assert_allclose(derived.weights, api["pw"], rtol=1e-12)
    given = dclus2(api).total(["enroll"]).table
    np.testing.assert_allclose(derived.total(["enroll"]).table[["estimate", "se"]],
                               given[["estimate", "se"]], rtol=1e-12)


def test_weights_come_from_a_stratified_fpc_when_none_are_given():
    """One stage, stratified, no PSU column (R's apistrat): the weight is N_h / n_h."""
    strat = pd.read_csv(FIXTURES.parent / "r_ciprop" / "apistrat.csv")
    derived = SurveyDesign(strat, strata="stype", fpc="fpc")
    # apistrat's pw is stored in single precision (44.2099990844727 for 4421/100)
    np.testing.assert_allclose(derived.weights, strat["pw"], rtol=1e-7)
    np.testing.assert_allclose(derived.weights, strat["fpc"] / strat.groupby("stype")[
        "stype"].transform("size"), rtol=1e-14)
