"""Calibration with R's calibration functions (linear/GREG, raking, logit) and bounds agrees with
R's survey package: weights, means and totals with their SEs and design effects.

Fixtures: tests/fixtures/r_calibration/make_fixture.R (R 4.2.2, survey 4.1-1): R's apiclus1
(``svydesign(id=~dnum, weights=~pw, fpc=~fpc)``) calibrated to apipop's ``stype`` and
``stype + sch.wide`` counts, and the project's synthetic responses (stratified, clustered,
with and without base weights) calibrated to the census margins of sex, age group and region.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import AnalysisInputError, ConvergenceError, SurveyDesign, read_margins
from analysis.cli import main
from analysis.diagnostics import weight_diagnostics

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "r_calibration"
RTOL = 1e-9
CASES = pd.read_csv(FIXTURES / "cases.csv", keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def data():
    return {"apiclus1": pd.read_csv(FIXTURES / "apiclus1.csv"),
            "synthetic": pd.read_csv(FIXTURES / "synthetic.csv")}


@pytest.fixture(scope="module")
def expected():
    return pd.read_csv(FIXTURES / "estimates.csv", keep_default_na=False, na_values=["NA"],
                       dtype={"by": str, "group": str})


@pytest.fixture(scope="module")
def r_weights():
    return pd.read_csv(FIXTURES / "weights.csv")


def case(name) -> dict:
    return CASES.set_index("case").loc[name].to_dict()


def margins(name):
    return read_margins(FIXTURES / f"margins_{name}.csv")


def design_of(kind, data) -> SurveyDesign:
    if kind == "dclus1":
        return SurveyDesign(data["apiclus1"], weights="pw", psu="dnum", fpc="fpc")
    weights = "base_weight" if kind == "synth_weighted" else None
    return SurveyDesign(data["synthetic"], weights=weights, strata="stratum", psu="psu")


def bounds_of(c) -> tuple[float, float] | None:
    return None if np.isinf(c["lower"]) else (c["lower"], c["upper"])


def calibrated(name, data, **kwargs) -> SurveyDesign:
    c = case(name)
    return design_of(c["data"], data).calibrate(margins(c["margins"]), calfun=c["calfun"],
                                                bounds=bounds_of(c), epsilon=1e-13, **kwargs)


def relative(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.abs(a - b) / np.maximum(np.abs(b), 1e-300)


# ---------------------------------------------------------------------- agreement with R
@pytest.mark.parametrize("name", list(CASES["case"]))
def test_weights_agree_with_r(name, data, r_weights):
    got = calibrated(name, data).weights
    want = r_weights.loc[r_weights.case == name, "weight"].to_numpy()
    assert len(got) == len(want)
    assert relative(got, want).max() < RTOL


@pytest.mark.parametrize("name", list(CASES["case"]))
def test_estimates_agree_with_r(name, data, expected):
    design = calibrated(name, data)
    rows = expected[expected.case == name]
    assert len(rows)
    for (statistic, by), block in rows.groupby(["statistic", "by"]):
        items = list(dict.fromkeys(block["item"]))
        got = getattr(design, statistic)(items, **({"by": by} if by else {})).table
        want = block.set_index(["item", "group"])
        got = got[got["by"] == by].set_index(["item", "group"]).loc[want.index]
        for col in ("estimate", "se", "deff"):
            worst = relative(got[col], want[col]).max()
            assert worst < RTOL, (name, statistic, by, col, worst)


def test_bounds_hold_and_bind(data):
    base = design_of("dclus1", data).weights
    g = calibrated("both_linear_bounded", data).weights / base
    assert g.min() >= 0.5 - 1e-12 and g.max() == pytest.approx(1.6, rel=1e-12)
    g = calibrated("both_logit_tight", data).weights / base
    assert (g > 0.85).all() and (g < 1.8).all()


def test_rescaling_of_r_is_reported(data):
    """Unit weights calibrated to population counts: R's grake first rescales the weights by
    the mean ratio of target to sample total, and the bounds apply after it."""
    report = calibrated("synth_unweighted_logit", data).weighting
    assert report.rescaled == pytest.approx(2.5e6, rel=0.01)
    assert "input weights rescaled by" in str(report)
    assert calibrated("synth_logit", data).weighting.rescaled is None


def test_the_report_says_how(data):
    d = calibrated("both_logit", data)
    assert str(d.weighting).startswith("calibrate (logit, g in [0.5, 2]): converged after")
    assert d.weighting.method == "calibrate" and d.weighting.calfun == "logit"
    assert "calibrated: logit(stype+sch.wide)" in repr(d)


def test_raking_without_bounds_is_rake(data):
    d = design_of("dclus1", data)
    m = margins("stype_schwide")
    a, b = d.calibrate(m, calfun="raking"), d.rake(m)
    assert np.array_equal(a.weights, b.weights) and a.weighting == b.weighting
    assert np.array_equal(d.calibrate(m, calfun="raking", variance="rake").mean("api00")
                          .table.se, d.rake(m, variance="rake").mean("api00").table.se)


def test_weight_diagnostics_of_calibrated_weights(data):
    d = calibrated("both_logit", data)
    diag = d.weight_diagnostics
    w = d.weights
    assert diag.n_effective == pytest.approx(w.sum() ** 2 / (w ** 2).sum(), rel=1e-14)
    assert diag.kish_deff == pytest.approx(len(w) * (w ** 2).sum() / w.sum() ** 2, rel=1e-14)
    assert diag == weight_diagnostics(w)
    assert (diag.weight_min, diag.weight_max) == (w.min(), w.max())


def test_trimming_a_calibrated_design_recalibrates_with_its_function(data):
    d = calibrated("both_logit", data)
    trimmed = d.trim(upper=55)
    w = trimmed.weights
    assert w.max() <= 55 * (1 + 1e-9) and trimmed.weighting.n_trimmed > 0
    api = data["apiclus1"]
    by_type = pd.Series(w).groupby(api["stype"].to_numpy()).sum()
    assert by_type["H"] == pytest.approx(755, rel=1e-9)
    assert "logit(stype+sch.wide)" in repr(trimmed)


# ---------------------------------------------------------------------- bad input
def err(fn, *args, **kwargs) -> str:
    with pytest.raises(AnalysisInputError) as exc:
        fn(*args, **kwargs)
    assert "\n" not in str(exc.value)
    return str(exc.value)


def test_bad_bounds_and_calfun(data):
    d = design_of("dclus1", data)
    m = margins("stype")
    assert err(d.calibrate, m, bounds=(2, 1)) == (
        "bounds 2,1: the lower bound 2 is not below the upper bound 1")
    assert "start at 1, which must lie strictly between" in err(d.calibrate, m, bounds=(1.1, 2))
    assert "give two numbers" in err(d.calibrate, m, bounds=("a", 2))
    assert "logit calibration needs finite bounds" in err(d.calibrate, m, calfun="logit")
    assert "needs finite bounds" in err(d.calibrate, m, calfun="logit", bounds=(0.5, np.inf))
    assert "is not one of raking, linear, logit" in err(d.calibrate, m, calfun="sinh")
    assert "not for linear calibration" in err(d.calibrate, m, variance="rake")


def test_bounds_too_tight_fail_in_one_line(data):
    """R: 'Failed to converge: eps=0.0585 in 51 iterations' and 'Calibration failed'."""
    assert "Failed to converge" in (FIXTURES / "versions.txt").read_text()
    d = design_of("dclus1", data)
    with pytest.raises(ConvergenceError) as exc:
        d.calibrate(margins("stype_schwide"), calfun="logit", bounds=(0.8, 1.5))
    msg = str(exc.value)
    assert msg == ("logit calibration with g-weights in [0.8, 1.5] failed to converge in 50 "
                   "iterations: 'stype'='H' is still 0.0586 (relative) off its target; widen "
                   "the bounds, or check that the margins are consistent")


# ---------------------------------------------------------------------- command line
def run_cli(args, capsys):
    code = main(args)
    return code, capsys.readouterr().err


@pytest.fixture
def api_file(tmp_path, data):
    path = tmp_path / "apiclus1.csv"
    data["apiclus1"].to_csv(path, index=False)
    return path


def test_weight_command_calibrates_as_r(tmp_path, api_file, r_weights, capsys):
    out = tmp_path / "w.csv"
    code, err_text = run_cli(["weight", str(api_file), "--margins",
                              str(FIXTURES / "margins_stype_schwide.csv"), "--base-weight", "pw",
                              "--calfun", "logit", "--bounds", "0.5,2", "--epsilon", "1e-13",
                              "--out", str(out)], capsys)
    assert code == 0, err_text
    assert "calibrate (logit, g in [0.5, 2]): converged" in err_text
    w = pd.read_csv(out)["weight"].to_numpy()
    want = r_weights.loc[r_weights.case == "both_logit", "weight"].to_numpy()
    assert relative(w, want).max() < RTOL
    diag = pd.read_csv(tmp_path / "w.weighting.csv").iloc[0]
    assert diag["kish_deff"] == pytest.approx(len(w) * (w ** 2).sum() / w.sum() ** 2, rel=1e-12)


@pytest.mark.parametrize("name", ["both_linear", "both_logit", "both_raking_bounded"])
def test_estimate_command_matches_r(name, tmp_path, api_file, expected, capsys):
    c = case(name)
    out = tmp_path / "e.csv"
    bounds = [] if bounds_of(c) is None else ["--bounds", f"{c['lower']:g},{c['upper']:g}"]
    code, err_text = run_cli(["estimate", str(api_file), "--items", "api00,enroll",
                              "--base-weight", "pw", "--margins",
                              str(FIXTURES / f"margins_{c['margins']}.csv"), "--calfun",
                              c["calfun"], *bounds, "--psu", "dnum", "--fpc", "fpc", "--by",
                              "stype", "--out", str(out)], capsys)
    assert code == 0, err_text
    got = pd.read_csv(out, keep_default_na=False, dtype={"by": str, "group": str})
    want = expected[(expected.case == name) & (expected.statistic == "mean")]
    merged = want.merge(got, on=["item", "by", "group"], suffixes=("_r", ""))
    assert len(merged) == len(want) == 8
    # the command stops at epsilon = 1e-10 (R's fixture at 1e-13): still far below 1e-9
    for col in ("estimate", "se", "deff"):
        assert relative(merged[col], merged[f"{col}_r"]).max() < RTOL


def test_raking_stays_the_default(tmp_path, api_file, capsys):
    outs = []
    for extra in ([], ["--calfun", "raking"]):
        out = tmp_path / f"e{len(extra)}.csv"
        code, err_text = run_cli(["estimate", str(api_file), "--items", "api00",
                                  "--base-weight", "pw", "--margins",
                                  str(FIXTURES / "margins_stype_schwide.csv"), *extra,
                                  "--psu", "dnum", "--out", str(out)], capsys)
        assert code == 0, err_text
        outs.append(out.read_text())
    assert outs[0] == outs[1]


@pytest.mark.parametrize(("options", "message"), [
    (["--calfun", "linear", "--bounds", "2,1"],
     "--bounds 2,1: the lower bound 2 is not below the upper bound 1"),
    (["--calfun", "linear", "--bounds", "a,2"], "--bounds a,2: 'a' is not a number"),
    (["--calfun", "linear", "--bounds", "0.5"], "--bounds 0.5: give two numbers L,U"),
    (["--calfun", "logit"], "logit calibration needs finite bounds on the g-weights (--bounds)"),
    (["--calfun", "logit", "--bounds", "0.8,1.5"],
     "logit calibration with g-weights in [0.8, 1.5] failed to converge"),
])
def test_bad_calibration_options_are_one_line(options, message, tmp_path, api_file, capsys):
    for command in (["weight"], ["estimate", "--items", "api00", "--psu", "dnum"]):
        code, err_text = run_cli([*command[:1], str(api_file), *command[1:], "--margins",
                                  str(FIXTURES / "margins_stype_schwide.csv"), "--base-weight",
                                  "pw", *options, "--out", str(tmp_path / "o.csv")], capsys)
        lines = err_text.strip().splitlines()
        assert code == 2 and len(lines) == 1, err_text
        assert message in lines[0]


def test_calibration_options_need_margins(tmp_path, api_file, capsys):
    code, err_text = run_cli(["estimate", str(api_file), "--items", "api00", "--calfun", "logit",
                              "--bounds", "0.5,2", "--out", str(tmp_path / "o.csv")], capsys)
    assert code == 2 and "--bounds needs --margins" in err_text
    code, err_text = run_cli(["estimate", str(api_file), "--items", "api00", "--margins",
                              str(FIXTURES / "margins_stype.csv"), "--base-weight", "pw",
                              "--calfun", "linear", "--rake-variance", "rake",
                              "--out", str(tmp_path / "o.csv")], capsys)
    assert code == 2 and "--rake-variance rake" in err_text
