"""`survey-analysis model` through analysis.cli.main: R's numbers, waves, the pipeline's
cleaning ("not applicable" is missing, flagged responses out), Wald tests and one-line errors."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.pipeline import DesignSpec, load_survey
from analysis.regression import fit_glm

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "r_svyglm"
COLUMNS = ["wave", "term", "estimate", "se", "t", "df", "p_unadjusted", "ci_low", "ci_high",
           "n"]
STRAT = ["--weight", "pw", "--strata", "stype", "--fpc", "fpc"]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.err


def one_line_error(capsys, *argv) -> str:
    code, err = run(capsys, *argv)
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_model_writes_r_svyglm_numbers(tmp_path, capsys):
    out = tmp_path / "m.csv"
    code, err = run(capsys, "model", FIX / "apistrat.csv", "--formula",
                    "api00 ~ ell + meals + mobility", *STRAT, "--test", "ell",
                    "--test", "meals + mobility", "--out", out)
    assert code == 0, err
    table = pd.read_csv(out, keep_default_na=False)
    assert list(table.columns) == COLUMNS
    r = pd.read_csv(FIX / "coefs.csv").query("case == 'strat_gaussian'")
    np.testing.assert_allclose(table["estimate"].astype(float), r["estimate"], rtol=1e-9)
    np.testing.assert_allclose(table["se"].astype(float), r["se"], rtol=1e-9)
    assert (table["df"].astype(int).to_numpy() == r["df"].to_numpy()).all()
    assert (table["n"].astype(int) == 200).all() and (table["wave"] == "").all()
    tests = pd.read_csv(tmp_path / "m.tests.csv", keep_default_na=False)
    assert list(tests.columns) == ["wave", "terms", "chisq", "F", "ndf", "ddf", "p_unadjusted"]
    r_tests = pd.read_csv(FIX / "tests.csv").query("case == 'strat_gaussian'")
    assert list(tests["terms"]) == list(r_tests["terms"])
    np.testing.assert_allclose(tests["F"].astype(float), r_tests["F"], rtol=1e-9)
    assert (tests["ddf"].astype(int).to_numpy() == r_tests["ddf"].to_numpy()).all()
    assert (tmp_path / "m.weighting.csv").exists()


@pytest.fixture(scope="module")
def responses(tmp_path_factory):
    from analysis.synthetic import make_responses

    data = make_responses(1200, waves=[2024, 2025], seed=2, not_applicable_as_code=True)
    path = tmp_path_factory.mktemp("model") / "responses.csv"
    data.to_csv(path, index=False)
    return path, data


def test_one_model_per_wave_through_the_pipeline(responses, tmp_path, capsys):
    path, data = responses
    out = tmp_path / "m.csv"
    formula = "N05_P1 ~ C(sex) + C(region)"
    code, err = run(capsys, "model", path, "--formula", formula, "--weight", "base_weight",
                    "--strata", "stratum", "--psu", "psu", "--out", out)
    assert code == 0, err
    table = pd.read_csv(out)
    assert sorted(set(table["wave"])) == [2024, 2025]
    survey = load_survey(path)
    spec = DesignSpec(weight="base_weight", strata="stratum", psu="psu")
    for wave in (2024, 2025):
        fit = fit_glm(survey.design(wave, spec), formula)
        rows = table[table["wave"] == wave]
        assert list(rows["term"]) == list(fit.names)
        np.testing.assert_allclose(rows["estimate"], fit.coef, rtol=1e-12)
        np.testing.assert_allclose(rows["se"], fit.se, rtol=1e-12)
        # "not applicable" (9) is missing, never a value; flagged responses are out
        frame = survey.frames[wave]
        raw = data.loc[frame.index, "N05_P1"]
        assert (raw == 9).sum() > 10
        assert fit.n == (raw.between(1, 5) & frame[["sex", "region"]].notna().all(axis=1)).sum()
        assert len(frame) < (data["wave"] == wave).sum()
    assert "miss a variable of the formula" in err
    assert "excluded" in err  # quality exclusions said, as for `estimate`


def test_wave_option_and_binomial_condition(responses, tmp_path, capsys):
    path, _ = responses
    out = tmp_path / "m.csv"
    code, err = run(capsys, "model", path, "--formula", "I(N04_P1 >= 4) ~ C(age_group)",
                    "--family", "binomial", "--wave", "2025", "--test", "C(age_group)",
                    "--out", out)
    assert code == 0, err
    table = pd.read_csv(out)
    assert set(table["wave"]) == {2025}
    assert "modelled: I(N04_P1 >= 4) = True" in err
    assert len(pd.read_csv(tmp_path / "m.tests.csv")) == 1


def test_margins_rake_each_wave(responses, tmp_path, capsys):
    path, _ = responses
    margins = tmp_path / "margins.csv"
    margins.write_text("variable,category,target\nsex,male,0.49\nsex,female,0.51\n")
    out = tmp_path / "m.csv"
    code, err = run(capsys, "model", path, "--formula", "N01_A1 ~ C(region)", "--margins",
                    margins, "--base-weight", "base_weight", "--strata", "stratum", "--psu",
                    "psu", "--out", out)
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "m.weighting.csv")) == 2


@pytest.mark.parametrize(("args", "message"), [
    (["--formula", "api00 ~ (ell"], "formula 'api00 ~ (ell': Unmatched '('"),
    (["--formula", "api00 ~ nosuch"], "apistrat.csv: unknown column 'nosuch'"),
    (["--formula", "api00 ~ ell", "--family", "binomial"], "is not 0 or 1"),
    (["--formula", "sch_wide ~ ell"], "outcome 'sch_wide' is not numeric"),
    (["--formula", "api00 ~ ell", "--test", "meals"], "'meals' is not a term of the model"),
    (["--formula", "api00 ~ ell", "--level", "2"], "--level 2 must be between 0 and 1"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, args, message):
    err = one_line_error(capsys, "model", FIX / "apistrat.csv", *STRAT, *args,
                         "--out", tmp_path / "m.csv")
    assert err.startswith("survey-analysis model: error: ") and message in err


def test_bad_family_is_refused_by_the_parser(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["model", str(FIX / "apistrat.csv"), "--formula", "api00 ~ ell", "--family",
              "logit", "--out", str(tmp_path / "m.csv")])
    assert exc.value.code == 2
    assert "invalid choice: 'logit'" in capsys.readouterr().err
