"""Totals, ratios and quantiles agree with R's survey package, in the API and the command line.

Fixtures: tests/fixtures/r_totals_ratios_quantiles/make_fixture.R (R 4.2.2, survey 4.1-1):
``svytotal``, ``svyratio`` and ``svyquantile`` (qrule "math", interval.type "mean") and their
``svyby`` on R's apistrat (stratified, fpc), apiclus1 (one-stage cluster, fpc) and apiclus1
raked by R's ``rake()`` to apipop's school types (and to school types and sch.wide).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import SurveyDesign, read_margins
from analysis.ciprop import domain_df
from analysis.cli import main
from analysis.commands.estimate import STATISTICS
from analysis.estimates import domain_codes
from analysis.quantiles import quantile_estimates, quantile_name
from analysis.ratios import ratio_estimates

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "r_totals_ratios_quantiles"
RTOL = 1e-9
TOTAL_ITEMS = ["api00", "enroll", "acs.k3"]
RATIOS = ["api00/api99", "acs.k3/enroll", "api.stu/enroll"]
QUANTILE_ITEMS = ["api00", "enroll", "avg.ed"]
PROBS = [0.1, 0.25, 0.5, 0.75, 0.9]
DESIGNS = ["dstrat", "dclus1", "raked", "raked2"]


@pytest.fixture(scope="module")
def data():
    return {name: pd.read_csv(FIXTURES / f"{name}.csv") for name in ("apistrat", "apiclus1")}


@pytest.fixture(scope="module")
def stype_margins(tmp_path_factory):
    margins = pd.read_csv(FIXTURES / "margins.csv")
    path = tmp_path_factory.mktemp("margins") / "stype.csv"
    margins[margins.variable == "stype"].to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def designs(data, stype_margins):
    dclus1 = SurveyDesign(data["apiclus1"], weights="pw", psu="dnum", fpc="fpc")
    return {
        "dstrat": SurveyDesign(data["apistrat"], weights="pw", strata="stype", fpc="fpc"),
        "dclus1": dclus1,
        # R's rake(): svyrecvar's residual sweeps
        "raked": dclus1.rake(read_margins(stype_margins), variance="rake", epsilon=1e-13),
        "raked2": dclus1.rake(read_margins(FIXTURES / "margins.csv"), variance="rake",
                              epsilon=1e-13),
    }


@pytest.fixture(scope="module")
def expected():
    table = pd.read_csv(FIXTURES / "results.csv", keep_default_na=False, na_values=["NA"],
                        dtype={"by": str, "group": str, "quantile": str, "denominator": str})
    ratio = table.statistic == "ratio"
    quantile = table.statistic == "quantile"
    table["key"] = table["item"]
    table.loc[ratio, "key"] = table["item"] + "/" + table["denominator"]
    table.loc[quantile, "key"] = [quantile_name(i, float(q)) for i, q in
                                  zip(table.loc[quantile, "item"], table.loc[quantile, "quantile"],
                                      strict=True)]
    return table


def relative(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.abs(a - b) / np.maximum(np.abs(b), 1e-300)


def matched(got: pd.DataFrame, want: pd.DataFrame) -> pd.DataFrame:
    merged = want.merge(got, left_on=["key", "by", "group"], right_on=["item", "by", "group"],
                        suffixes=("_r", ""))
    assert len(merged) == len(want) == len(got)
    return merged


def assert_agree(merged: pd.DataFrame, columns) -> None:
    """Equal to 1e-9 relative where R has a number, missing where R has NA/NaN."""
    for col in columns:
        mine, r = merged[col].to_numpy(float), merged[f"{col}_r"].to_numpy(float)
        assert (np.isnan(mine) == np.isnan(r)).all(), col
        both = ~np.isnan(r)
        assert relative(mine[both], r[both]).max(initial=0) < RTOL, col


@pytest.mark.parametrize("name", DESIGNS)
def test_totals_agree_with_r(name, designs, expected):
    got = designs[name].total(TOTAL_ITEMS, by="stype").table
    want = expected[(expected.design == name) & (expected.statistic == "total")]
    assert_agree(matched(got, want), ["estimate", "se", "ci_low", "ci_high", "deff"])


@pytest.mark.parametrize("name", DESIGNS)
def test_ratios_agree_with_r(name, designs, expected):
    got = ratio_estimates(designs[name], RATIOS, by="stype").table
    want = expected[(expected.design == name) & (expected.statistic == "ratio")]
    merged = matched(got, want)
    # acs.k3 (grades K-3) is missing for every high and middle school: R gives NA (and an SE
    # of 0 or NA); a domain without answers has no ratio and no SE here, as for a mean
    empty = merged["estimate_r"].isna()
    assert merged.loc[empty, "se"].isna().all() and (merged.loc[empty, "n"] == 0).all()
    assert_agree(merged[~empty], ["estimate", "se", "ci_low", "ci_high", "deff"])


@pytest.mark.parametrize("name", DESIGNS)
def test_quantiles_agree_with_r(name, designs, expected):
    got = quantile_estimates(designs[name], QUANTILE_ITEMS, PROBS, by="stype").table
    want = expected[(expected.design == name) & (expected.statistic == "quantile")]
    merged = matched(got, want)
    # a limit whose CDF probability leaves [0, 1] is NaN in R, and so is the SE: both here
    # (the cluster samples' small domains have such limits)
    assert merged["se_r"].isna().any() == (name != "dstrat")
    assert_agree(merged, ["estimate", "se", "ci_low", "ci_high"])
    assert merged["deff"].isna().all()


@pytest.mark.parametrize("name", DESIGNS)
def test_quantile_degrees_of_freedom_are_those_of_the_answered_domain(name, designs,
                                                                       expected):
    design = designs[name]
    want = expected[(expected.design == name) & (expected.statistic == "quantile")
                    & (expected["quantile"] == "0.5")]
    codes, labels = domain_codes(design.data, "stype")
    for item in QUANTILE_ITEMS:
        answered = design.data[item].notna().to_numpy()
        rows = want[want.item == item].set_index("group")["df"].astype(int)
        overall = domain_df(design, np.zeros(design.n, dtype=np.int64), 1, answered)
        assert overall[0] == rows[""]
        assert domain_df(design, codes, len(labels), answered).tolist() == \
            [rows[g] for g in labels]


def test_rows_go_group_by_group_as_every_estimator(designs):
    design = designs["dclus1"]
    means = design.mean(["api00", "enroll"], by="stype").table
    ratios = ratio_estimates(design, ["api00/enroll", "api99/enroll"], by="stype").table
    quantiles = quantile_estimates(design, ["api00", "enroll"], [0.5, 0.25], by="stype").table
    assert list(ratios.columns) == list(means.columns) == list(quantiles.columns)
    assert ratios["group"].tolist() == means["group"].tolist()
    assert ratios["item"].tolist()[:4] == ["api00/enroll", "api99/enroll"] * 2
    assert quantiles["item"].tolist()[:4] == ["api00:q0.5", "api00:q0.25", "enroll:q0.5",
                                              "enroll:q0.25"]


def test_a_ratio_is_the_mean_when_the_denominator_is_one(data):
    """With x = 1 the ratio is the weighted mean and its linearisation the mean's."""
    design = SurveyDesign(data["apiclus1"].assign(one=1.0), weights="pw", psu="dnum",
                          fpc="fpc").rake(read_margins(FIXTURES / "margins.csv"))
    ratio = ratio_estimates(design, [("api00", "one")], by="stype").table
    mean = design.mean(["api00"], by="stype").table
    assert relative(ratio["estimate"], mean["estimate"]).max() < 1e-13
    assert relative(ratio["se"], mean["se"]).max() < 1e-11


def test_ratio_and_quantile_errors_name_the_input(designs):
    from analysis import AnalysisInputError

    design = designs["dclus1"]
    with pytest.raises(AnalysisInputError, match="ratio 'api00' is not NUMERATOR/DENOMINATOR"):
        ratio_estimates(design, ["api00"])
    with pytest.raises(AnalysisInputError, match="unknown column 'nosuch'"):
        ratio_estimates(design, ["api00/nosuch"])
    with pytest.raises(AnalysisInputError, match="quantile 1.5 is not between 0 and 1"):
        quantile_estimates(design, ["api00"], [0.5, 1.5])
    with pytest.raises(AnalysisInputError, match="quantile 0 is not between 0 and 1"):
        quantile_estimates(design, ["api00"], [0])


def test_statistics_are_a_registry():
    assert set(STATISTICS) == {"mean", "total", "proportion", "ratio", "quantile"}
    assert all(callable(f) for f in STATISTICS.values())


# ---------------------------------------------------------------------- command line
def run_cli(args, capsys):
    code = main([str(a) for a in args])
    return code, capsys.readouterr().err


def read_output(path) -> pd.DataFrame:
    got = pd.read_csv(path, keep_default_na=False, na_values=[""],
                      dtype={"by": str, "group": str, "wave": str})
    got[["by", "group"]] = got[["by", "group"]].fillna("")
    return got


@pytest.fixture()
def files(tmp_path, data):
    """The data with '_' for '.' in the column names: --items reads a name with a dot as a
    Ten Norms indicator (N04.practice)."""
    paths = {}
    for name, frame in data.items():
        paths[name] = tmp_path / f"{name}.csv"
        frame.rename(columns=lambda c: c.replace(".", "_")).to_csv(paths[name], index=False)
    return paths


def underscored(want: pd.DataFrame) -> pd.DataFrame:
    return want.assign(key=want["key"].str.replace(".", "_", regex=False))


def test_total_command_matches_r(tmp_path, files, expected, capsys):
    out = tmp_path / "t.csv"
    code, err = run_cli(["estimate", files["apistrat"], "--items", "api00,enroll,acs_k3",
                         "--weight", "pw", "--strata", "stype", "--fpc", "fpc", "--by", "stype",
                         "--total", "--deff", "wor", "--out", out], capsys)
    assert code == 0, err
    want = underscored(expected[(expected.design == "dstrat") & (expected.statistic == "total")])
    assert_agree(matched(read_output(out), want), ["estimate", "se", "ci_low", "ci_high",
                                                   "deff"])


def test_ratio_command_on_a_raked_design_matches_r(tmp_path, files, stype_margins, expected,
                                                   capsys):
    out = tmp_path / "r.csv"
    code, err = run_cli(["estimate", files["apiclus1"], "--ratio", "api00/api99,acs_k3/enroll",
                         "--ratio", "api_stu/enroll", "--weight", "pw", "--psu", "dnum",
                         "--fpc", "fpc", "--margins", stype_margins, "--rake-variance", "rake",
                         "--by", "stype", "--deff", "wor", "--out", out], capsys)
    assert code == 0, err
    want = underscored(expected[(expected.design == "raked") & (expected.statistic == "ratio")])
    merged = matched(read_output(out), want)
    empty = merged["estimate_r"].isna()
    assert merged.loc[empty, "estimate"].isna().all()
    assert_agree(merged[~empty], ["estimate", "se", "ci_low", "ci_high", "deff"])


def test_quantile_command_matches_r(tmp_path, files, expected, capsys):
    out = tmp_path / "q.csv"
    code, err = run_cli(["estimate", files["apiclus1"], "--items", "api00,enroll",
                         "--quantile", ",".join(map(str, PROBS)), "--weight", "pw", "--psu",
                         "dnum", "--fpc", "fpc", "--by", "stype", "--out", out], capsys)
    assert code == 0, err
    want = expected[(expected.design == "dclus1") & (expected.statistic == "quantile")
                    & expected.item.isin(["api00", "enroll"])]
    merged = matched(read_output(out), want)
    assert_agree(merged, ["estimate", "se", "ci_low", "ci_high"])
    assert merged["deff"].isna().all()


@pytest.mark.parametrize("options, message", [
    (["--ratio", "api00"], "--ratio: ratio 'api00' is not NUMERATOR/DENOMINATOR"),
    (["--ratio", "api00/nosuch"], "apiclus1.csv: unknown column 'nosuch'"),
    (["--ratio", "api00/zero"], "ratio api00/zero: the weighted total of 'zero' is 0"),
    (["--ratio", "api00/zero_in_e", "--by", "stype"],
     "the weighted total of 'zero_in_e' is 0 in group stype=E"),
    (["--items", "api00", "--quantile", "0.5,1.5"],
     "--quantile: quantile 1.5 is not between 0 and 1"),
    (["--items", "api00", "--quantile", "0"], "--quantile: quantile 0 is not between 0 and 1"),
    (["--items", "api00", "--quantile", "half"], "--quantile: quantile 'half' is not a number"),
    (["--items", "nosuch", "--quantile", "0.5"], "apiclus1.csv: unknown column 'nosuch'"),
    (["--items", "api00", "--ratio", "api00/enroll"], "--ratio names its own columns"),
    ([], "--items: give the items to estimate"),
    (["--items", "N04.practice", "--quantile", "0.5"],
     "--quantile applies to raw items, not to indicators such as 'N04.practice'"),
])
def test_bad_ratio_or_quantile_is_one_line(tmp_path, data, options, message, capsys):
    frame = data["apiclus1"].assign(zero=0, zero_in_e=lambda d: np.where(d.stype == "E", 0, 1))
    path = tmp_path / "apiclus1.csv"
    frame.to_csv(path, index=False)
    code, err = run_cli(["estimate", path, "--weight", "pw", "--psu", "dnum", *options,
                         "--out", tmp_path / "e.csv"], capsys)
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert message in lines[0]


def test_each_wave_is_its_own_design_for_ratios_and_quantiles(tmp_path, capsys):
    from analysis.commands.estimate import design_effect_kind
    from analysis.pipeline import DesignSpec, load_survey
    from analysis.synthetic import make_responses

    path = tmp_path / "r.parquet"
    make_responses(1200, waves=(2024, 2025), seed=3).to_parquet(path)
    design_options = ["--weight", "base_weight", "--strata", "stratum", "--psu", "psu",
                      "--by", "region"]
    survey = load_survey(str(path))
    spec = DesignSpec(weight="base_weight", strata="stratum", psu="psu")
    for option, api in [
        (["--ratio", "N01_A1/N01_P1"],
         lambda d: ratio_estimates(d, ["N01_A1/N01_P1"], by=["region"],
                                   deff=design_effect_kind("auto", d))),
        (["--items", "N01_P1", "--quantile", "0.25,0.5"],
         lambda d: quantile_estimates(d, ["N01_P1"], [0.25, 0.5], by=["region"])),
    ]:
        out = tmp_path / "e.csv"
        code, err = run_cli(["estimate", path, *design_options, *option, "--out", out], capsys)
        assert code == 0, err
        got = read_output(out)
        for wave in (2024, 2025):
            want = api(survey.design(wave, spec)).table
            mine = got[got.wave == str(wave)].reset_index(drop=True)
            assert mine["item"].tolist() == want["item"].tolist()
            assert mine["group"].tolist() == want["group"].tolist()
            for col in ("estimate", "se", "ci_low", "ci_high", "deff"):
                assert np.allclose(mine[col], want[col], rtol=1e-12, equal_nan=True), col


def test_quantile_covariances_are_unknown_and_contrasts_needing_them_refused(designs):
    from analysis.results import combine_independent

    est = quantile_estimates(designs["dclus1"], ["api00", "enroll"], [0.25, 0.5],
                             by="stype")
    off = ~np.eye(len(est), dtype=bool)
    assert np.isnan(est.vcov[off]).all()
    # one quantile at a time has its SE; two need a covariance R does not give
    half = est.contrast({"half median": {"api00:q0.5": 0.5}})
    np.testing.assert_allclose(half.se, est.se[est.names.index("api00:q0.5")] / 2)
    for pair in ({"api00:q0.5": 1, "api00:q0.25": -1},      # two levels of one item
                 {"api00:q0.5": 1, "stype=E:api00:q0.5": -1}):  # a domain and the whole
        with pytest.raises(ValueError, match="is unknown .R's svyquantile.*no SE"):
            est.contrast({"d": pair})
    # medians of independent samples: the difference's variance is the sum
    other = quantile_estimates(designs["dstrat"], ["api00"], [0.5])
    diff = combine_independent([(other, np.array([[1.0]])),
                                (est.select([est.names.index("api00:q0.5")]),
                                 np.array([[-1.0]]))])
    np.testing.assert_allclose(diff.var, other.var + est.var[est.names.index("api00:q0.5")])
