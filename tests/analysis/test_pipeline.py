"""The one pipeline every command uses: the commands agree with each other, indicators in
`estimate`, "not applicable", answer-code validation, weighting diagnostics, --digits."""

import numpy as np
import pandas as pd
import pytest

from analysis import cli
from analysis.compare import DesignSpec, compare_waves
from analysis.indicators import estimate_targets
from analysis.pipeline import load_survey
from analysis.synthetic import make_responses
from questionnaires import load_wave
from tests.analysis.codebooks import codebook_rows, write_codebook

DESIGN = ["--weight", "base_weight", "--strata", "stratum", "--psu", "psu"]
SPEC = DesignSpec(weight="base_weight", strata="stratum", psu="psu")
WEIGHTING_COLUMNS = ("wave,n,weight_sum,weight_min,weight_max,weight_ratio,kish_deff,"
                     "n_effective,n_trimmed")


@pytest.fixture(scope="module")
def synth():
    return make_responses(500, waves=(2024, 2025, 2026), seed=8)


def run(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    return code, capsys.readouterr().err


def test_estimate_takes_indicators_on_a_one_wave_file(synth, tmp_path, capsys):
    data = tmp_path / "one.csv"
    synth[synth.wave == 2025].to_csv(data, index=False)
    out = tmp_path / "e.csv"
    code, err = run(capsys, "estimate", data, "--items", "N04_P1,N04.practice,index.gap",
                    "--by", "urban_rural", *DESIGN, "--out", out)
    assert code == 0, err
    e = pd.read_csv(out, keep_default_na=False)
    assert ",".join(e.columns) == "wave,item,by,group,estimate,se,ci_low,ci_high,n,deff"
    assert e["item"].tolist()[:3] == ["N04_P1", "N04.practice", "index.gap"]
    assert e["by"].tolist()[:3] == ["", "", ""] and len(e) == 9
    # the numbers compare gives an indicator: the same estimator on the same cleaned rows
    survey = load_survey(synth[synth.wave == 2025])
    design = survey.design(2025, SPEC)
    targets = ["N04.practice", "index.gap"]
    from analysis.indicators import parse_targets

    scales, _ = survey.indicator_scales(2025, parse_targets(targets))
    ref = estimate_targets(design, targets, scales, by="urban_rural")
    got = e[e["item"] != "N04_P1"]
    np.testing.assert_allclose(got["estimate"].astype(float),
                               ref.set_index(["item", "by", "group"]).loc[
                                   list(zip(got["item"], got["by"], got["group"],
                                            strict=True)), "estimate"], rtol=1e-12)
    assert (got["deff"] == "").all()  # no design effect for a score


def test_estimate_and_compare_clean_the_same_way(synth, tmp_path, capsys):
    # a wave without a wave file here, carrying its codebook: both commands read it, exclude
    # the same responses and give the same estimate
    other = synth[synth.wave.isin([2024, 2025])].assign(
        wave=lambda d: d["wave"].map({2024: 2022, 2025: 2023}))
    data = tmp_path / "other.csv"
    other.to_csv(data, index=False)
    write_codebook(tmp_path / "other.codebook.csv",
                   [r for y, new in ((2024, 2022), (2025, 2023))
                    for r in codebook_rows(load_wave(y), year=new)])
    code, err = run(capsys, "estimate", data, "--items", "N01_P1", *DESIGN,
                    "--out", tmp_path / "e.csv")
    assert code == 0, err
    code, err2 = run(capsys, "compare", data, "--items", "N01_P1", "--base", "2022",
                     "--current", "2023", *DESIGN, "--out", tmp_path / "c.csv")
    assert code == 0, err2
    e = pd.read_csv(tmp_path / "e.csv").set_index("wave")["estimate"]
    c = pd.read_csv(tmp_path / "c.csv").iloc[0]
    # (estimate's raw-item estimator and compare's differ in the last bits of the arithmetic)
    assert c["base"] == pytest.approx(e[2022], rel=1e-13)
    assert c["current"] == pytest.approx(e[2023], rel=1e-13)

    def exclusions(text):
        return [line.split(": ", 1)[1] for line in text.splitlines() if "excluded" in line]

    assert exclusions(err) == exclusions(err2) and len(exclusions(err)) == 2


def test_not_applicable_is_left_out_and_its_share_kept(synth, tmp_path, capsys):
    df = synth[synth.wave == 2025].copy()
    answered = df.index[df["N02_P3"].notna()]
    df.loc[answered[:40], "N02_P3"] = 9  # N02_P3 offers "not applicable" in 2025
    data = tmp_path / "na.csv"
    df.to_csv(data, index=False)
    code, err = run(capsys, "estimate", data, "--items", "N02_P3", "--keep-flagged",
                    "--out", tmp_path / "e.csv")
    assert code == 0, err
    e = pd.read_csv(tmp_path / "e.csv").iloc[0]
    kept = df["N02_P3"].astype(float).replace(9, np.nan)
    assert e["estimate"] == pytest.approx(kept.mean(), rel=1e-12)
    assert e["n"] == kept.notna().sum()
    survey = load_survey(data, keep_flagged=True)
    assert survey.not_applicable[2025]["N02_P3"].sum() == 40
    share = survey.not_applicable_share(2025)["N02_P3"]
    assert share == pytest.approx(40 / df["N02_P3"].notna().sum())


@pytest.mark.parametrize("command", [
    ["estimate", "--items", "N01_P1"],
    ["compare", "--items", "N01_P1", "--base", "2024", "--current", "2025"],
    ["trend", "--items", "N01_P1"],
])
def test_out_of_range_codes_are_refused_or_recoded(synth, tmp_path, capsys, command):
    df = synth.copy()
    row = int(np.flatnonzero((df["wave"] == 2024) & df["N01_P1"].notna())[3])
    df.loc[row, "N01_P1"] = 7
    data = tmp_path / "bad.csv"
    df.to_csv(data, index=False)
    argv = [command[0], data, *command[1:], "--keep-flagged", "--out", tmp_path / "o.csv"]
    code, err = run(capsys, *argv)
    assert code == 2 and err.count("\n") == 1
    assert "column 'N01_P1'" in err and f"row {row + 1}: value 7 " in err
    code, err = run(capsys, *argv, "--recode-invalid")
    assert code == 0, err
    assert "column 'N01_P1': 1 out-of-range answer code set to missing" in err


def _kish(w):
    return len(w) * (w ** 2).sum() / w.sum() ** 2


def test_weighting_diagnostics_sidecar_and_stderr(synth, tmp_path, capsys):
    data = tmp_path / "d.csv"
    synth.to_csv(data, index=False)
    runs = {
        "estimate": ["estimate", data, "--items", "N01_P1", *DESIGN],
        "compare": ["compare", data, "--items", "N01_P1", "--base", "2024", "--current",
                    "2026", *DESIGN],
        "trend": ["trend", data, "--items", "N01_P1", *DESIGN],
    }
    survey = load_survey(data)
    for name, argv in runs.items():
        out = tmp_path / f"{name}.csv"
        code, err = run(capsys, *argv, "--out", out)
        assert code == 0, err
        side = pd.read_csv(tmp_path / f"{name}.weighting.csv")
        assert ",".join(side.columns) == WEIGHTING_COLUMNS
        waves = side["wave"].tolist()
        assert waves == ([2024, 2026] if name == "compare" else [2024, 2025, 2026])
        for r in side.itertuples():
            w = survey.frames[r.wave]["base_weight"].to_numpy(float)
            assert r.n == len(w) and r.kish_deff == pytest.approx(_kish(w), rel=1e-12)
            assert r.n_effective == pytest.approx(len(w) / _kish(w), rel=1e-12)
            assert r.weight_ratio == pytest.approx(w.max() / w.min())
        lines = [x for x in err.splitlines() if "Kish design effect of weighting" in x]
        assert len(lines) == len(waves) and lines[0].startswith(
            f"survey-analysis {name}: wave {waves[0]}: weighting: ")
    # unweighted: nothing to diagnose, no sidecar
    code, _ = run(capsys, "estimate", data, "--items", "N01_P1", "--out", tmp_path / "u.csv")
    assert code == 0 and not (tmp_path / "u.weighting.csv").exists()


def test_weight_writes_its_diagnostics(tmp_path, capsys):
    df = make_responses(300, waves=(2025,), seed=2)
    df["bw"] = np.random.default_rng(1).uniform(0.5, 2.0, len(df))
    data = tmp_path / "d.csv"
    df.to_csv(data, index=False)
    m = tmp_path / "m.csv"
    m.write_text("variable,category,target\nsex,male,0.51\nsex,female,0.49\n")
    argv = ["weight", data, "--margins", m, "--base-weight", "bw", "--out", tmp_path / "w.csv"]
    assert run(capsys, *argv)[0] == 0
    top = pd.read_csv(tmp_path / "w.csv")["weight"].max()
    code, err = run(capsys, *argv, "--trim-upper", f"{0.9 * top}")
    assert code == 0, err
    w = pd.read_csv(tmp_path / "w.csv")["weight"].to_numpy()
    side = pd.read_csv(tmp_path / "w.weighting.csv")
    assert ",".join(side.columns) == WEIGHTING_COLUMNS and len(side) == 1
    assert side["kish_deff"].iloc[0] == pytest.approx(_kish(w), rel=1e-9)
    assert side["n_trimmed"].iloc[0] > 0
    assert "trimmed" in [x for x in err.splitlines() if "Kish" in x][0]


def test_full_precision_by_default_and_digits(synth, tmp_path, capsys):
    data = tmp_path / "d.csv"
    synth.to_csv(data, index=False)
    out = tmp_path / "e.csv"
    assert run(capsys, "estimate", data, "--items", "N01_P1", *DESIGN, "--out", out)[0] == 0
    full = pd.read_csv(out)
    design = load_survey(data).design(2024, SPEC)
    assert full["se"].iloc[0] == design.mean(["N01_P1"]).table["se"].iloc[0]  # exact
    for argv in (["estimate", data, "--items", "N01_P1,N04.practice"],
                 ["compare", data, "--items", "N01_P1", "--base", "2024", "--current", "2025"],
                 ["trend", data, "--items", "N01_P1"]):
        assert run(capsys, *argv, *DESIGN, "--digits", "3", "--out", out)[0] == 0
        t = pd.read_csv(out)
        floats = t.select_dtypes("float")
        assert not floats.empty
        np.testing.assert_array_equal(floats.to_numpy(), floats.round(3).to_numpy())
    series = pd.read_csv(tmp_path / "e.series.csv")
    np.testing.assert_array_equal(series["se"], series["se"].round(3))
    weighting = pd.read_csv(tmp_path / "e.weighting.csv")
    np.testing.assert_array_equal(weighting["kish_deff"], weighting["kish_deff"].round(3))


def test_the_older_entry_points_are_the_pipeline(synth):
    from analysis.compare import prepare_waves

    prepared = prepare_waves(synth, [2024, 2025])
    survey = load_survey(synth, waves=[2024, 2025])
    for y in (2024, 2025):
        pd.testing.assert_frame_equal(prepared.frames[y],
                                      survey.frames[y].reset_index(drop=True))
    res = compare_waves(survey, ["N01_P1"], 2024, 2025, design=SPEC)
    again = compare_waves(synth, ["N01_P1"], 2024, 2025, design=SPEC)
    pd.testing.assert_frame_equal(res.table, again.table)


def test_in_memory_data_with_repeated_index_and_given_codebook(synth):
    # two frames glued together keep their own indexes; the codebook comes as rows
    a = synth[synth.wave == 2024].assign(wave=2019)
    b = synth[synth.wave == 2025].assign(wave=2020)
    data = pd.concat([a.reset_index(drop=True), b.reset_index(drop=True)])
    rows = [r for y, new in ((2024, 2019), (2025, 2020))
            for r in codebook_rows(load_wave(y), year=new)]
    survey = load_survey(data, codebook=rows)
    assert survey.metadata_sources == {2019: "codebook", 2020: "codebook"}
    assert sum(len(f) for f in survey.frames.values()) + sum(
        r.total for r in survey.exclusions.values()) == len(data)
    res = compare_waves(survey, ["N02_P3", "N01_P1"], 2019, 2020)
    assert res.table["item"].tolist() == ["N01_P1"]


def test_estimate_names_the_wave_an_indicator_lacks_items_in(synth, tmp_path, capsys):
    data = tmp_path / "d.csv"
    synth.drop(columns=[c for c in synth.columns if c.startswith("N04_P")]).to_csv(data,
                                                                               index=False)
    code, err = run(capsys, "estimate", data, "--items", "N04.practice", "--keep-flagged",
                    "--out", tmp_path / "e.csv")
    assert code == 2 and err.count("\n") == 1
    assert "wave 2024: indicator 'N04.practice': the wave has no practice items for N04" in err


def test_trend_reads_waves_described_only_by_their_codebook(synth, tmp_path, capsys):
    years = {2024: 2019, 2025: 2020, 2026: 2021}
    data = tmp_path / "old.csv"
    synth.assign(wave=synth["wave"].map(years)).drop(columns="N04_P2").to_csv(data, index=False)
    write_codebook(tmp_path / "old.codebook.csv",
                   [r for y, new in years.items() for r in codebook_rows(load_wave(y), year=new)])
    out = tmp_path / "t.csv"
    code, err = run(capsys, "trend", data, "--items", "N01_P1,N04.awareness", *DESIGN,
                    "--out", out)
    assert code == 0, err
    same = pd.read_csv(out)
    assert same["item"].tolist() == ["N01_P1", "N04.awareness"]
    # estimate says which of a score's items the data lack
    code, err = run(capsys, "estimate", data, "--items", "N04.practice", "--out",
                    tmp_path / "e.csv")
    assert code == 0 and "N04.practice: the data have no answers to N04_P2" in err


def test_weight_checks_answer_codes_and_keeps_not_applicable(tmp_path, capsys):
    df = make_responses(200, waves=(2025,), seed=5)
    df.loc[3, "N01_P1"] = 0
    na_rows = df.index[df["N02_P3"].notna()][:5]
    df.loc[na_rows, "N02_P3"] = 9
    data = tmp_path / "d.csv"
    df.to_csv(data, index=False)
    m = tmp_path / "m.csv"
    m.write_text("variable,category,target\nsex,male,0.51\nsex,female,0.49\n")
    argv = ["weight", data, "--margins", m, "--out", tmp_path / "w.csv"]
    code, err = run(capsys, *argv)
    assert code == 2 and "column 'N01_P1', row 4: value 0" in err
    code, err = run(capsys, *argv, "--recode-invalid")
    assert code == 0 and "column 'N01_P1': 1 out-of-range answer code set to missing" in err
    w = pd.read_csv(tmp_path / "w.csv")
    assert pd.isna(w.loc[3, "N01_P1"]) and len(w) == len(df)
    assert (w.loc[na_rows, "N02_P3"] == 9).all()  # the data written back keep code 9


def test_quality_flags_count_not_applicable_as_an_answer(synth):
    """The pipeline flags the rows it reads as the export would (flag_quality on the answers as
    given): "not applicable" is recoded to missing only afterwards, so a respondent whose
    answered-question floor needs those answers is still a speeder."""
    from analysis.quality import flag_quality

    wave = load_wave(2025)
    offered = [c for c, i in wave.items.items() if i.not_applicable is not None and c in synth]
    df = synth[synth.wave == 2025].reset_index(drop=True).copy()
    df.loc[:, offered] = 9.0  # every such item answered "not applicable"
    floor = wave.quality.min_seconds_per_item
    answered = df[list(wave.items)].notna().sum(axis=1)
    # fast enough to pass without the "not applicable" answers, too fast with them
    df["duration_s"] = (answered - len(offered) / 2) * floor
    # the others take twice the floor; the median rule (0.3 x the median) then flags nobody
    df["duration_s"] = df["duration_s"].where(df.index % 2 == 0, 2 * answered * floor)
    expected = flag_quality(df, wave)
    assert expected["flag_speeder"].sum() == (df.index % 2 == 0).sum()
    survey = load_survey(df, waves=[2025])
    kept = survey.frames[2025].index
    flagged = expected.index[expected.any(axis=1)]
    assert sorted(kept) == sorted(set(df.index) - set(flagged))
    assert survey.exclusions[2025].by_reason["speeder"] == expected["flag_speeder"].sum()
