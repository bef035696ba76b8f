"""Replicate-weight designs agree with R's survey package (tests/fixtures/r_replicates,
made by make_fixture.R with R 4.2.2 and survey 4.1-1): the replicate weights R builds (JK1,
JKn, BRR, Fay, and a raked JK1 design), their scales and degrees of freedom, and svymean,
svytotal, proportions, svyby with its covariance, svycontrast and svyratio on them; R's
bootstrap replicates read back as columns."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import cli
from analysis.design import SurveyDesign
from analysis.errors import AnalysisInputError
from analysis.indicators import norm_scores
from analysis.margins import Margins
from analysis.ratios import ratio_estimates
from analysis.replicates import matching_columns, supplied_weights

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "r_replicates"
RTOL = 1e-9
RESULTS = pd.read_csv(FIXTURE / "results.csv")
API_ITEMS = ("api00", "api99", "stype", "enroll", "awards01")
SCD_ITEMS = ("arrests", "alive", "ESA", "arrests", "busy")


def read(name: str) -> pd.DataFrame:
    return pd.read_csv(FIXTURE / name, dtype={"ESA": str})


def raked_jk1():
    clus = read("apiclus1.csv")
    margins = Margins(pd.DataFrame({"variable": ["stype"] * 3, "category": ["E", "H", "M"],
                                    "target": [6194 - 755 - 1018, 755, 1018]}))
    design = SurveyDesign(clus, weights="pw", psu="dnum", fpc="fpc").replicate("jk1")
    return design.calibrate(margins, calfun="raking", epsilon=1e-13)


DESIGNS = {
    "jkn": lambda: SurveyDesign(read("apistrat.csv"), weights="pw", strata="stype",
                                fpc="fpc").replicate("jkn"),
    "jkn_mse": lambda: SurveyDesign(read("apistrat.csv"), weights="pw",
                                    strata="stype").replicate("jkn", mse=True),
    "jk1": lambda: SurveyDesign(read("apiclus1.csv"), weights="pw", psu="dnum",
                                fpc="fpc").replicate("jk1"),
    "jk1_raked": raked_jk1,
    "brr": lambda: SurveyDesign(read("scd.csv"), strata="ESA", psu="ambulance").replicate("brr"),
    "fay": lambda: SurveyDesign(read("scd.csv"), strata="ESA",
                                psu="ambulance").replicate("brr", fay_rho=0.3),
}


def boot_design(scale=None):
    data = read("boot.csv")
    base = SurveyDesign(data, weights="pw")
    columns = matching_columns(data.columns, "bw*")
    return base.with_replicates(supplied_weights(base, columns, "bootstrap", scale=scale))


def r_rows(case: str, stat: str) -> pd.DataFrame:
    return RESULTS[(RESULTS.case == case) & (RESULTS.stat == stat)]


def close(actual, expected, rtol=RTOL):
    np.testing.assert_allclose(np.asarray(actual, dtype=float),
                               np.asarray(expected, dtype=float), rtol=rtol, atol=0)


@pytest.mark.parametrize("case", ["jkn", "jk1", "jk1_raked", "brr", "fay"])
def test_replicate_weights_are_rs(case):
    reps = DESIGNS[case]().replicates
    close(reps.matrix(), read(f"weights_{case}.csv").to_numpy(), rtol=1e-11)
    scales = read(f"scales_{case}.csv")
    close(reps.scale, scales.scale[0], rtol=1e-14)
    close(reps.rscales, scales.rscales, rtol=1e-14)
    assert reps.df == scales.degf[0]


def check_estimates(case: str, design, items):
    mean = design.mean(list(items[:2]), covariance="group")
    r = r_rows(case, "mean")
    close(mean.coef, r.estimate)
    close(mean.se, r.se)
    close(mean.deff, r.deff)
    total = design.total([items[3]])
    close(total.coef, r_rows(case, "total").estimate)
    close(total.se, r_rows(case, "total").se)
    prop = design.proportion([items[4]], levels=[1])
    close(prop.coef, r_rows(case, "proportion").estimate)
    close(prop.se, r_rows(case, "proportion").se)
    difference = mean.contrast([1, -1])
    close(difference.coef, r_rows(case, "contrast").estimate)
    close(difference.se, r_rows(case, "contrast").se)
    by = design.mean([items[0]], by=items[2], covariance="by").select(slice(1, None))
    close(by.coef, r_rows(case, "by_mean").estimate)
    r_vcov = read(f"vcov_by_{case}.csv").to_numpy()
    np.testing.assert_allclose(by.vcov, r_vcov, rtol=0, atol=RTOL * np.abs(r_vcov).max())
    first_second = by.contrast([1, -1] + [0] * (len(by) - 2))
    close(first_second.coef, r_rows(case, "by_contrast").estimate)
    close(first_second.se, r_rows(case, "by_contrast").se)
    ratio = ratio_estimates(design, [(items[0], items[1])])
    close(ratio.coef, r_rows(case, "ratio").estimate)
    close(ratio.se, r_rows(case, "ratio").se)


@pytest.mark.parametrize("case", list(DESIGNS))
def test_estimates_with_replicates_are_rs(case):
    check_estimates(case, DESIGNS[case](), SCD_ITEMS if case in ("brr", "fay") else API_ITEMS)


def test_rs_bootstrap_replicates_read_back_as_columns():
    # the scale of R's as.svrepdesign bootstrap, and svrepdesign's default 1/(R-1)
    scale = read("scales_bootstrap.csv").scale[0]
    check_estimates("bootstrap", boot_design(scale), API_ITEMS)
    check_estimates("bootstrap_supplied", boot_design(), API_ITEMS)
    assert boot_design().replicates.df == read("scales_bootstrap.csv").degf[0]


def test_bootstrap_draws_n_h_psus_and_its_se_matches_linearisation():
    data = read("apistrat.csv")
    design = SurveyDesign(data, weights="pw", strata="stype")
    boot = design.replicate("bootstrap", replicates=2000, seed=1).replicates
    strata = data["stype"].to_numpy()
    for h in np.unique(strata):
        draws = boot.factors[np.unique(boot.unit[strata == h])].sum(axis=0)
        assert (draws == (strata == h).sum()).all()  # n_h PSUs drawn in every replicate
    linear = design.mean(["api00", "enroll"]).se
    for method in ("bootstrap", "subbootstrap"):
        se = design.replicate(method, replicates=2000, seed=2).mean(["api00", "enroll"]).se
        close(se, linear, rtol=0.06)
    sub = design.replicate("subbootstrap", replicates=50, seed=3).replicates
    n_h = pd.Series(strata).value_counts()
    for h in n_h.index:
        rows = np.unique(sub.unit[strata == h])
        counts = sub.factors[rows].sum(axis=0) * (n_h[h] - 1) / n_h[h]
        np.testing.assert_allclose(counts, n_h[h] - 1)  # Rao-Wu: n_h - 1 drawn, rescaled


def test_a_contrast_of_replicate_means_is_the_contrast_in_every_replicate():
    design = DESIGNS["jkn"]()
    means = design.mean(["api00", "api99"], by="stype", covariance="by")
    reps = design.replicates
    w = reps.matrix()
    data = design.data
    L = np.array([0.25, 0.75])
    diffs = []
    for r in range(reps.n_replicates):
        e = data[data.stype == "E"]
        m = [np.average(e[c], weights=w[(data.stype == "E").to_numpy(), r])
             for c in ("api00", "api99")]
        diffs.append(L @ m)
    combo = means.contrast_within_groups([L], names=["mix"])
    e_row = list(combo.group).index("E")
    coef = combo.coef[e_row]
    assert reps.variance(np.array([diffs]), np.array([coef]))[0] == pytest.approx(
        combo.var[e_row], rel=1e-10)


def test_norm_scores_work_on_a_replicate_design():
    from analysis.synthetic import make_responses
    from questionnaires import load_wave

    synth = make_responses(600, waves=(2025,), seed=4)
    design = SurveyDesign(synth, weights="base_weight", strata="stratum", psu="psu")
    jk = design.replicate("jkn")
    linear = norm_scores(design, wave=load_wave(2025), by="sex").table
    replicated = norm_scores(jk, wave=load_wave(2025), by="sex").table
    np.testing.assert_allclose(replicated.estimate, linear.estimate, rtol=1e-12)
    # the jackknife and linearisation SEs of a smooth statistic are close, not equal
    ratio = replicated.se / linear.se
    assert (ratio.between(0.8, 1.25)).all() and not np.allclose(ratio, 1.0, rtol=1e-6)


def test_what_replicates_do_not_support_says_so():
    design = DESIGNS["jk1"]()
    with pytest.raises(AnalysisInputError, match="replicate weights is not supported"):
        design.vcov(np.ones(design.n))
    with pytest.raises(AnalysisInputError, match="before calibrating"):
        raked_jk1().replicate("jk1")


# --------------------------------------------------------------------------- command line
def run_cli(tmp_path, data: str, *flags: str) -> pd.DataFrame:
    out = tmp_path / "e.csv"
    code = cli.main(["estimate", str(FIXTURE / data), "--keep-flagged", "--out", str(out),
                     *flags])
    assert code == 0
    return pd.read_csv(out, dtype={"group": str}, keep_default_na=False)


def test_cli_jkn_and_fay_replicates_are_rs(tmp_path):
    t = run_cli(tmp_path, "apistrat.csv", "--items", "api00,api99", "--by", "stype",
                "--weight", "pw", "--strata", "stype", "--fpc", "fpc", "--replicates", "jkn",
                "--deff", "wor")
    overall = t[t.by == ""]
    close(overall.estimate, r_rows("jkn", "mean").estimate)
    close(overall.se, r_rows("jkn", "mean").se)
    close(overall.deff, r_rows("jkn", "mean").deff)
    api00 = t[(t.by == "stype") & (t.item == "api00")]
    close(api00.se, r_rows("jkn", "by_mean").se)
    t = run_cli(tmp_path, "scd.csv", "--items", "arrests", "--strata", "ESA", "--psu",
                "ambulance", "--replicates", "brr:fay=0.3")
    close(t.se, r_rows("fay", "mean").se[:1])


def test_cli_repweights_are_read_as_svrepdesign(tmp_path):
    t = run_cli(tmp_path, "boot.csv", "--items", "api00,api99", "--weight", "pw",
                "--repweights", "bw*", "--reptype", "bootstrap")
    close(t.se, r_rows("bootstrap_supplied", "mean").se)
    scale = read("scales_bootstrap.csv").scale[0]
    t = run_cli(tmp_path, "boot.csv", "--items", "api00,api99", "--weight", "pw",
                "--repweights", "bw*", "--reptype", "bootstrap", "--rscale", repr(float(scale)))
    close(t.se, r_rows("bootstrap", "mean").se)


@pytest.mark.parametrize("flags, message", [
    (["--weight", "pw", "--strata", "stype", "--replicates", "brr"],
     "stratum 'E' (stype) has 100"),
    (["--repweights", "zz*", "--reptype", "BRR"], "boot.csv: no column matches"),
    (["--repweights", "bw*", "--reptype", "BRR", "--psu", "snum"], "drop --psu snum"),
    (["--repweights", "stype", "--reptype", "BRR"], "column 'stype': value 'E' in row 1"),
    (["--repweights", "bw*"], "needs --reptype"),
    (["--repweights", "bw*", "--reptype", "JKn"], "need their rscales"),
    (["--replicates", "jk1", "--strata", "stype"], "use jkn"),
    (["--replicates", "jkn"], "for a stratified design"),
    (["--replicates", "nope"], "not a replicate method"),
    (["--replicates", "bootstrap:x"], "'x' is not a number of replicates"),
    (["--mse"], "--mse needs --replicates or --repweights"),
    (["--replicates", "jkn", "--repweights", "bw*"], "give one"),
])
def test_cli_replicate_errors_are_one_line(tmp_path, capsys, flags, message):
    code = cli.main(["estimate", str(FIXTURE / "boot.csv"), "--items", "api00",
                     "--keep-flagged", "--out", str(tmp_path / "e.csv"), *flags])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
