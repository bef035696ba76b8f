"""Every bad-input message of the design, estimators, margins, weighting and readers."""

import numpy as np
import pandas as pd
import pytest

from analysis import AnalysisInputError, ConvergenceError, Margins, SurveyDesign
from analysis.io import read_margins, read_responses


@pytest.fixture
def df():
    rng = np.random.default_rng(3)
    n = 60
    return pd.DataFrame({
        "stratum": np.repeat(["A", "B", "C"], 20),
        "psu": np.tile(np.repeat([1, 2, 3, 4], 5), 3),
        "w": rng.uniform(1, 3, n),
        "y": rng.integers(1, 6, n).astype(float),
        "sex": np.tile(["male", "female"], 30),
        "region": np.tile(["east", "west", "east"], 20),
        "fpc": np.repeat([10.0, 8.0, 0.5], 20),
    })


def err(fn, *args, **kwargs) -> str:
    with pytest.raises(AnalysisInputError) as exc:
        fn(*args, **kwargs)
    msg = str(exc.value)
    assert "\n" not in msg
    return msg


@pytest.mark.parametrize("role", ["weights", "strata", "psu", "fpc"])
def test_unknown_design_column(df, role):
    assert "unknown column 'nope'" in err(SurveyDesign, df, **{role: "nope"})


def test_empty_data_and_bad_rule(df):
    assert "no rows" in err(SurveyDesign, df.iloc[:0])
    assert "lonely_psu 'x'" in err(SurveyDesign, df, lonely_psu="x")


def test_weight_errors(df):
    bad = df.astype({"w": object})
    bad.loc[4, "w"] = "heavy"
    assert "column 'w': value 'heavy' in row 5 is not a number" in err(SurveyDesign, bad,
                                                                        weights="w")
    miss = df.copy()
    miss.loc[2, "w"] = np.nan
    assert "column 'w': missing weight in row 3" in err(SurveyDesign, miss, weights="w")
    neg = df.copy()
    neg.loc[0, "w"] = -1.0
    assert "negative" in err(SurveyDesign, neg, weights="w")


def test_missing_stratum_and_psu(df):
    a = df.astype({"stratum": object})
    a.loc[7, "stratum"] = None
    assert "column 'stratum': missing stratum in row 8" in err(SurveyDesign, a, strata="stratum")
    b = df.astype({"psu": float})
    b.loc[9, "psu"] = np.nan
    assert "column 'psu': missing PSU in row 10" in err(SurveyDesign, b, psu="psu")


def test_fpc_errors(df):
    varies = df.copy()
    varies.loc[0, "fpc"] = 11.0
    assert "varies within stratum 'A'" in err(SurveyDesign, varies, strata="stratum", psu="psu",
                                              fpc="fpc")
    small = df.copy()
    small.loc[small.stratum == "B", "fpc"] = 3.0
    assert "population size 3 in stratum 'B' is smaller than its 4 sampled PSUs" in err(
        SurveyDesign, small, strata="stratum", psu="psu", fpc="fpc")
    zero = df.copy()
    zero.loc[zero.stratum == "C", "fpc"] = 0.0
    assert "is not positive" in err(SurveyDesign, zero, strata="stratum", psu="psu", fpc="fpc")


def test_lonely_psu_fail_names_the_stratum(df):
    d = df.copy()
    d.loc[d.stratum == "B", "psu"] = 1
    msg = err(SurveyDesign, d, strata="stratum", psu="psu")
    assert "stratum 'B' (column 'stratum') has only one PSU" in msg
    # R: "Stratum (S6) has only one PSU at stage 1"; ours names it the same way
    SurveyDesign(d, strata="stratum", psu="psu", lonely_psu="adjust")
    # a certainty stratum (fpc = sample) is not lonely, as in R
    d["fpc"] = np.where(d.stratum == "B", 1.0, 10.0)
    SurveyDesign(d, strata="stratum", psu="psu", fpc="fpc")


def test_item_errors(df):
    d = SurveyDesign(df, weights="w")
    assert "unknown column 'zz' (item)" in err(d.mean, ["y", "zz"])
    bad = df.astype({"y": object})
    bad.loc[3, "y"] = "often"
    assert "column 'y': value 'often' in row 4 is not a number" in err(
        SurveyDesign(bad).mean, "y")
    assert "no items" in err(d.mean, [])
    assert "level 'high' is not a number" in err(d.proportion, "y", levels=["high"])
    assert "needs the answer levels" in err(d.proportion, "y", levels=None)
    assert "unknown column 'nope' (by)" in err(d.mean, "y", by="nope")


def test_blank_strings_in_an_item_are_missing_not_errors(df):
    d = df.astype({"y": object})
    d.loc[0, "y"] = "  "
    est = SurveyDesign(d).mean("y").table
    assert est.n.iloc[0] == len(df) - 1


# ---------------------------------------------------------------------- margins
def margins(rows, **kw):
    return Margins(pd.DataFrame(rows, columns=["variable", "category", "target"]), **kw)


def test_margins_table_errors():
    assert "missing column 'target'" in err(Margins, pd.DataFrame({"variable": ["sex"],
                                                                   "category": ["male"]}))
    assert "unexpected column 'weight'" in err(
        Margins, pd.DataFrame({"variable": ["sex"], "category": ["m"], "target": [1],
                               "weight": [1]}))
    assert "no margins" in err(Margins, pd.DataFrame(columns=["variable", "category", "target"]))
    assert "row 3: target 'many' of sex='female' is not a number" in err(
        margins, [("sex", "male", 1), ("sex", "female", "many")])
    assert "is negative" in err(margins, [("sex", "male", -1)])
    assert "sex='male' is given twice" in err(margins, [("sex", "male", 1), ("sex", "male", 2)])
    assert "empty category" in err(margins, [("sex", "", 1)])


def test_count_bases_must_agree_unless_rescaled():
    m = margins([("sex", "male", 50), ("sex", "female", 50),
                 ("region", "east", 70), ("region", "west", 60)])
    msg = err(m.targets, 10)
    assert "'sex' sums to 100 but 'region' to 130" in msg and "--rescale" in msg
    t = m.targets(10, rescale=True)
    assert t["region"].sum() == pytest.approx(100)
    assert t["region"]["east"] == pytest.approx(70 / 130 * 100)


def test_counts_within_tolerance_are_harmonised_and_shares_follow_counts():
    m = margins([("sex", "male", 500), ("sex", "female", 500),
                 ("region", "east", 600.5), ("region", "west", 400),
                 ("urban", "yes", 0.25), ("urban", "no", 0.75)])
    t = m.targets(10)
    assert t["region"].sum() == pytest.approx(1000)
    assert t["urban"]["yes"] == pytest.approx(250)
    shares = margins([("sex", "male", 0.4), ("sex", "female", 0.6)])
    assert shares.targets(50)["sex"]["female"] == pytest.approx(30)


def test_margins_waves():
    m = Margins(pd.DataFrame({"variable": ["sex"] * 4, "category": ["male", "female"] * 2,
                              "target": [0.5, 0.5, 0.4, 0.6], "wave": [2024, 2024, 2025, 2025]}))
    assert m.waves == ["2024", "2025"]
    assert "several waves (2024, 2025)" in err(m.targets, 10)
    assert m.for_wave(2025).targets(10)["sex"]["female"] == pytest.approx(6)
    assert "no margins for wave 2030" in err(m.for_wave, 2030)


# ---------------------------------------------------------------------- weighting
def test_rake_errors(df):
    d = SurveyDesign(df, weights="w")
    ok = [("sex", "male", 0.5), ("sex", "female", 0.5)]
    assert "unknown column 'age'" in err(d.rake, margins(ok + [("age", "old", 1.0)]))
    assert "column 'sex': value 'female' is not a category of the margins for 'sex' (male)" in \
        err(d.rake, margins([("sex", "male", 1.0)]))
    assert "category 'other' of 'sex' has no respondents" in err(
        d.rake, margins(ok[:1] + [("sex", "female", 0.4), ("sex", "other", 0.1)]))
    assert "has target 0 but 30 respondent(s)" in err(
        d.rake, margins([("sex", "male", 1.0), ("sex", "female", 0)]))
    miss = df.astype({"sex": object})
    miss.loc[5, "sex"] = None
    assert "column 'sex': missing value in row 6" in err(SurveyDesign(miss).rake, margins(ok))


def test_rake_non_convergence_is_reported(df):
    d = df.copy()
    d["region"] = np.where(d.sex == "male", "east", "west")  # confounded with sex
    m = margins([("sex", "male", 0.5), ("sex", "female", 0.5),
                 ("region", "east", 0.7), ("region", "west", 0.3)])
    with pytest.raises(ConvergenceError) as exc:
        SurveyDesign(d).rake(m, max_iter=50)
    assert "did not converge in 50 iterations" in str(exc.value)


def test_poststratify_errors(df):
    d = SurveyDesign(df, weights="w")
    table = pd.DataFrame({"sex": ["male", "female", "male", "female"],
                          "region": ["east", "east", "west", "west"],
                          "target": [30, 30, 20, 20]})
    assert "no 'target' column" in err(d.poststratify, table.rename(columns={"target": "n"}))
    short = table.iloc[:3]
    assert "respondents with sex='female', region='west' have no row in the table" in err(
        d.poststratify, short)
    extra = pd.concat([table, pd.DataFrame({"sex": ["male"], "region": ["north"],
                                            "target": [5]})])
    assert "column 'region': value 'north'" not in err(d.poststratify, extra)
    assert "the cell sex='male', region='north' (target 5) has no respondents" in err(
        d.poststratify, extra)
    dup = pd.concat([table, table.iloc[:1]])
    assert "is given twice" in err(d.poststratify, dup)
    bad = table.astype({"target": object})
    bad.loc[1, "target"] = "x"
    assert "row 3: target 'x'" in err(d.poststratify, bad)


def test_trim_errors(df):
    raked = SurveyDesign(df, weights="w").rake(margins([("sex", "male", 0.5),
                                                        ("sex", "female", 0.5)]))
    assert "needs a lower or an upper bound" in err(raked.trim)
    assert "lower 3 is not below upper 2" in err(raked.trim, lower=3, upper=2)
    with pytest.raises(ConvergenceError):
        raked.trim(lower=0.999, upper=1.0001, max_iter=5)


# ---------------------------------------------------------------------- readers
def test_reader_errors(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "the file is empty" in err(read_responses, empty)
    header = tmp_path / "header.csv"
    header.write_text("a,b\n")
    assert "has a header but no rows" in err(read_responses, header)
    data = tmp_path / "d.csv"
    data.write_text("a,b\n1,2\n")
    assert "unknown column 'c'" in err(read_responses, data, columns=["a", "c"])
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    assert "not a readable Parquet file" in err(read_responses, bad)
    with pytest.raises(FileNotFoundError):
        read_responses(tmp_path / "missing.csv")
    m = tmp_path / "m.csv"
    m.write_text("")
    assert "margins file is empty" in err(read_margins, m)


def test_remaining_messages(df, tmp_path):
    inf = df.copy()
    inf.loc[1, "y"] = np.inf
    assert "column 'y': value 'inf' in row 2 is not a finite number" in err(
        SurveyDesign(inf).mean, "y")
    d = SurveyDesign(df, weights="w")
    assert "at least one answer level" in err(d.proportion, "y", levels=[])
    assert "the targets of 'sex' sum to 0" in err(
        margins([("sex", "male", 0), ("sex", "female", 0)]).targets, 10)
    ok = margins([("sex", "male", 0.5), ("sex", "female", 0.5)])
    assert "max_iter must be at least 1" in err(d.rake, ok, max_iter=0)
    assert "raking variance 'exact' is not one of calibrate, rake" in err(d.rake, ok,
                                                                          variance="exact")
    zero = df.assign(w=np.where(df.sex == "female", 0.0, df.w))
    assert "has no respondents with a positive weight" in err(
        SurveyDesign(zero, weights="w").rake, ok)
    assert "no variables besides the target" in err(d.poststratify,
                                                    pd.DataFrame({"target": [1.0]}))
    table = pd.DataFrame({"sex": ["male", "female"], "target": [0.5, 0.5]})
    assert "sex='female' has no respondents with a positive weight" in err(
        SurveyDesign(zero, weights="w").poststratify, table)
    with pytest.raises(ConvergenceError, match="every weight is outside the bounds"):
        SurveyDesign(df).trim(upper=0.5)
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("a,b\n1,2\n1,2,3,4\n")  # ragged
    assert "not a readable CSV file" in err(read_responses, bad_csv)


def test_remaining_cli_messages(df, tmp_path, capsys):
    from analysis.cli import main

    data = tmp_path / "d.csv"
    df.to_csv(data, index=False)
    m = tmp_path / "m.csv"
    m.write_text("variable,category,target,wave\nsex,male,0.5,2024\nsex,female,0.5,2024\n")
    cases = [
        (["estimate", data, "--items", " , ", "--out", tmp_path / "e.csv"],
         "--items: give at least one column name"),
        (["estimate", data, "--items", "y", "--proportion", ",", "--out", tmp_path / "e.csv"],
         "--proportion: give the answer levels"),
        (["estimate", data, "--items", "y", "--margins", m, "--out", tmp_path / "e.csv"],
         "has no 'wave' column"),
    ]
    wave_hole = df.assign(wave=[2024.0] * 59 + [None])
    holes = tmp_path / "holes.csv"
    wave_hole.to_csv(holes, index=False)
    cases.append((["estimate", holes, "--items", "y", "--out", tmp_path / "e.csv"],
                  "column 'wave', row 60: missing wave year"))
    cases.append((["weight", holes, "--margins", m, "--by", "wave", "--out", tmp_path / "w.csv"],
                  "column 'wave', row 60: missing wave year"))
    cases.append((["estimate", tmp_path / "nope.csv", "--items", "y", "--out",
                   tmp_path / "e.csv"], "No such file or directory"))
    for argv, message in cases:
        assert main([str(a) for a in argv]) == 2
        err_text = capsys.readouterr().err
        assert message in err_text and err_text.count("\n") == 1, (argv, err_text)
