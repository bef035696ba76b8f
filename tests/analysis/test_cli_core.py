"""`survey-analysis weight` and `estimate` through analysis.cli.main."""

import numpy as np
import pandas as pd
import pytest

from analysis import Margins, SurveyDesign
from analysis.cli import main

COLUMNS = ["wave", "item", "by", "group", "estimate", "se", "ci_low", "ci_high", "n", "deff"]


@pytest.fixture
def responses():
    rng = np.random.default_rng(5)
    frames = []
    for wave in (2024, 2025):
        n = 400
        frames.append(pd.DataFrame({
            "response_id": [f"{wave}-{i}" for i in range(n)],
            "wave": wave,
            "sex": rng.choice(["male", "female"], n, p=[0.6, 0.4]),
            "region": rng.choice(["east", "central", "west", "northeast"], n),
            "stratum": rng.choice(["a", "b"], n),
            "psu": rng.integers(1, 9, n),  # ids repeat across waves
            "base_weight": rng.uniform(1, 3, n),
            "N01_A1": rng.integers(1, 6, n).astype(float),
            "N01_P1": np.where(rng.random(n) < 0.1, np.nan, rng.integers(1, 6, n)),
        }))
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def files(tmp_path, responses):
    data = tmp_path / "responses.csv"
    responses.to_csv(data, index=False)
    m = tmp_path / "margins.csv"
    m.write_text("variable,category,target\nsex,male,0.49\nsex,female,0.51\n"
                 "region,east,0.4\nregion,central,0.26\nregion,west,0.27\nregion,northeast,0.07\n")
    return tmp_path, data, m


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(capsys, *argv) -> str:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_weight_by_wave(files, capsys, responses):
    tmp, data, m = files
    out = tmp / "weighted.parquet"
    code, stdout, stderr = run(capsys, "weight", data, "--margins", m, "--base-weight",
                               "base_weight", "--by", "wave", "--out", out)
    # reports go to stderr, as every other command's (stdout stays free for data)
    assert code == 0 and "wave 2024: rake: converged" in stderr and stdout == ""
    w = pd.read_parquet(out)
    assert list(w.columns) == list(responses.columns) + ["weight"]
    for _wave, part in w.groupby("wave"):
        assert part.weight.sum() == pytest.approx(400)
        assert part.weight[part.sex == "female"].sum() == pytest.approx(0.51 * 400)


def test_weight_margins_per_wave_and_count_bases(files, capsys):
    tmp, data, _ = files
    m = tmp / "waves.csv"
    m.write_text("variable,category,target,wave\nsex,male,0.5,2024\nsex,female,0.5,2024\n"
                 "sex,male,0.3,2025\nsex,female,0.7,2025\n")
    out = tmp / "w.csv"
    assert run(capsys, "weight", data, "--margins", m, "--by", "wave", "--out", out)[0] == 0
    w = pd.read_csv(out)
    part = w[w.wave == 2025]
    assert part.weight[part.sex == "female"].sum() == pytest.approx(0.7 * 400)
    err = one_line_error(capsys, "weight", data, "--margins", m, "--out", out)
    assert "use --by wave" in err
    counts = tmp / "counts.csv"
    counts.write_text("variable,category,target\nsex,male,500\nsex,female,500\n"
                      "region,east,400\nregion,central,300\nregion,west,200\nregion,northeast,150\n")
    err = one_line_error(capsys, "weight", data, "--margins", counts, "--by", "wave", "--out", out)
    assert "different bases" in err and "--rescale" in err
    assert run(capsys, "weight", data, "--margins", counts, "--by", "wave", "--rescale",
               "--out", out)[0] == 0
    w = pd.read_csv(out)
    assert w[w.wave == 2024].weight.sum() == pytest.approx(1000)


def test_estimate_blocks_per_wave_and_waves_never_merge(files, capsys, responses):
    tmp, data, _ = files
    out = tmp / "e.csv"
    code, _, _ = run(capsys, "estimate", data, "--items", "N01_A1,N01_P1", "--weight",
                     "base_weight", "--strata", "stratum", "--psu", "psu", "--by", "region,sex",
                     "--out", out)
    assert code == 0
    e = pd.read_csv(out, keep_default_na=False, na_values={"deff": [""]})
    assert list(e.columns) == COLUMNS
    assert list(e.wave.unique()) == [2024, 2025]
    assert len(e) == 2 * 2 * (1 + 4 + 2)
    first = e[(e.wave == 2024) & (e.by == "")]
    assert list(first.item) == ["N01_A1", "N01_P1"] and (first.group == "").all()
    # each wave is its own design: equal to estimating the wave alone
    alone = SurveyDesign(responses[responses.wave == 2025], weights="base_weight",
                         strata="stratum", psu="psu").mean(["N01_A1", "N01_P1"],
                                                           by=["region", "sex"]).table
    mine = e[e.wave == 2025].reset_index(drop=True)
    np.testing.assert_allclose(mine.se, alone.se, rtol=1e-12)
    np.testing.assert_allclose(mine.estimate, alone.estimate, rtol=1e-12)
    merged = SurveyDesign(responses, weights="base_weight", strata="stratum", psu="psu").mean(
        "N01_A1").table.se.iloc[0]
    assert not np.isclose(merged, mine.se.iloc[0])


def test_estimate_with_margins_and_proportion(files, capsys, responses):
    tmp, data, m = files
    out = tmp / "e.csv"
    code, _, _ = run(capsys, "estimate", data, "--items", "N01_A1", "--margins", m,
                     "--base-weight", "base_weight", "--strata", "stratum", "--psu", "psu",
                     "--proportion", "4,5", "--out", out)
    assert code == 0
    e = pd.read_csv(out)
    margins = Margins.from_dict({"sex": {"male": 0.49, "female": 0.51},
                                 "region": {"east": .4, "central": .26, "west": .27,
                                            "northeast": .07}})
    part = responses[responses.wave == 2024]
    api = SurveyDesign(part, weights="base_weight", strata="stratum", psu="psu").rake(
        margins).proportion("N01_A1", levels=[4, 5], deff="replace").table
    assert e.estimate.iloc[0] == pytest.approx(api.estimate.iloc[0], rel=1e-12)
    assert e.se.iloc[0] == pytest.approx(api.se.iloc[0], rel=1e-12)
    # weights sum to the sample size: --deff auto uses R's deff="replace"
    assert e.deff.iloc[0] == pytest.approx(api.deff.iloc[0], rel=1e-12)
    code, _, _ = run(capsys, "estimate", data, "--items", "N01_A1", "--margins", m,
                     "--base-weight", "base_weight", "--strata", "stratum", "--psu", "psu",
                     "--proportion", "4,5", "--rake-variance", "rake", "--out", out)
    rake_se = pd.read_csv(out).se.iloc[0]
    api_rake = SurveyDesign(part, weights="base_weight", strata="stratum", psu="psu").rake(
        margins, variance="rake").proportion("N01_A1", levels=[4, 5]).table
    assert code == 0 and rake_se == pytest.approx(api_rake.se.iloc[0], rel=1e-12)
    assert rake_se != pytest.approx(e.se.iloc[0], rel=1e-9)


def test_estimate_accepts_parquet(files, capsys, responses):
    tmp, _, _ = files
    pq = tmp / "r.parquet"
    responses.to_parquet(pq)
    out = tmp / "e.csv"
    assert run(capsys, "estimate", pq, "--items", "N01_A1", "--total", "--out", out)[0] == 0
    e = pd.read_csv(out)
    assert e.estimate.iloc[0] == pytest.approx(responses[responses.wave == 2024].N01_A1.sum())


def test_cli_bad_input_is_one_line_exit_2(files, capsys, responses):
    tmp, data, m = files
    out = tmp / "e.csv"
    base = ["estimate", data, "--out", out]
    assert "unknown column 'N99'" in one_line_error(capsys, *base, "--items", "N01_A1,N99")
    assert "unknown column 'nope'" in one_line_error(capsys, *base, "--items", "N01_A1",
                                                     "--by", "nope")
    bad = responses.astype({"N01_A1": object})
    bad.loc[7, "N01_A1"] = "often"
    bad_file = tmp / "bad.csv"
    bad.to_csv(bad_file, index=False)
    err = one_line_error(capsys, "estimate", bad_file, "--items", "N01_A1", "--out", out)
    assert "column 'N01_A1', row 8: value 'often' is not an answer code" in err
    empty = tmp / "empty.csv"
    empty.write_text("")
    assert "empty" in one_line_error(capsys, "estimate", empty, "--items", "A", "--out", out)
    assert "level 'x'" in one_line_error(capsys, *base, "--items", "N01_A1",
                                         "--proportion", "4,x")
    # category mismatch, margin category without respondents, missing weighting value
    m2 = tmp / "m2.csv"
    m2.write_text("variable,category,target\nsex,male,0.49\nsex,female,0.5\nsex,other,0.01\n")
    err = one_line_error(capsys, "weight", data, "--margins", m2, "--by", "wave", "--out", out)
    assert "category 'other' of 'sex' has no respondents" in err
    m3 = tmp / "m3.csv"
    m3.write_text("variable,category,target\nsex,male,1.0\n")
    err = one_line_error(capsys, "weight", data, "--margins", m3, "--by", "wave", "--out", out)
    assert "column 'sex': value 'female' is not a category of the margins" in err
    holes = responses.astype({"sex": object})
    holes.loc[3, "sex"] = None
    holes_file = tmp / "holes.csv"
    holes.to_csv(holes_file, index=False)
    err = one_line_error(capsys, "estimate", holes_file, "--items", "N01_A1", "--margins", m,
                         "--out", out)
    assert "column 'sex': missing value in row 4" in err
    # non-convergence: region confounded with sex
    conf = responses.assign(region=np.where(responses.sex == "male", "east", "west"))
    conf_file = tmp / "conf.csv"
    conf.to_csv(conf_file, index=False)
    m4 = tmp / "m4.csv"
    m4.write_text("variable,category,target\nsex,male,0.5\nsex,female,0.5\n"
                  "region,east,0.7\nregion,west,0.3\n")
    err = one_line_error(capsys, "weight", conf_file, "--margins", m4, "--by", "wave",
                         "--max-iter", "20", "--out", out)
    assert "did not converge in 20 iterations" in err
    assert "--base-weight needs --margins" in one_line_error(
        capsys, *base, "--items", "N01_A1", "--base-weight", "base_weight")
    lonely = responses.copy()
    lonely.loc[lonely.stratum == "b", "psu"] = 1
    lonely_file = tmp / "lonely.csv"
    lonely.to_csv(lonely_file, index=False)
    err = one_line_error(capsys, "estimate", lonely_file, "--items", "N01_A1", "--strata",
                         "stratum", "--psu", "psu", "--out", out)
    assert "stratum 'b' (column 'stratum') has only one PSU" in err
    code, _, _ = run(capsys, "estimate", lonely_file, "--items", "N01_A1", "--strata",
                     "stratum", "--psu", "psu", "--lonely-psu", "adjust", "--out", out)
    assert code == 0


def test_database_requests_that_need_no_survey_database_are_one_line(tmp_path, capsys,
                                                                      monkeypatch):
    """`--database`/`--org` mistakes found before or on opening the database (the ones that
    need the app's tables are in tests/web/test_analysis_database.py)."""
    import sqlite3

    from analysis.database import URL_VARIABLE

    monkeypatch.delenv(URL_VARIABLE, raising=False)
    out = ["--items", "N01_A1", "--out", tmp_path / "e.csv"]
    assert "--org needs --database URL (or the environment variable " \
        "SURVEY_ANALYSIS_DATABASE_URL)" in one_line_error(capsys, "estimate", "--org", "X", *out)
    assert "give a DATA file, or --database URL --org CODE" in one_line_error(
        capsys, "compare", "--base", "2024", "--current", "2025", *out)
    assert "--include-children needs --database URL --org CODE" in one_line_error(
        capsys, "model", "d.csv", "--formula", "N01_A1 ~ 1", "--include-children", "--out",
        tmp_path / "m.csv")
    assert "--database: 'nonsense' is not a database URL" in one_line_error(
        capsys, "estimate", "--database", "nonsense", "--org", "X", *out)
    hidden = one_line_error(capsys, "estimate", "--database", "::user:pw@host", "--org", "X",
                            *out)
    assert "'::user:***@host' is not a database URL" in hidden and "pw" not in hidden
    empty = tmp_path / "empty.sqlite"
    sqlite3.connect(empty).close()  # a SQLite file without the survey's tables
    err = one_line_error(capsys, "trend", "--database", f"sqlite:///{empty}", "--org", "X",
                         "--items", "N01_A1", "--out", tmp_path / "t.csv")
    assert f"database sqlite:///{empty}: cannot read (no such table: organisations)" in err
    assert empty.stat().st_size == 0  # opened read-only: not even a header written
