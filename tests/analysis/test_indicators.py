"""Indicators from the wave definitions: scales, targets, proportions, alpha, bad input."""

import numpy as np
import pandas as pd
import pytest

from analysis.design import SurveyDesign
from analysis.errors import AnalysisInputError
from analysis.indicators import (
    Scale,
    cronbach_alpha,
    estimate_targets,
    norm_scores,
    parse_target,
    scale_alphas,
    scales_in_data,
    wave_scales,
)
from analysis.synthetic import make_responses
from questionnaires import load_wave


@pytest.fixture(scope="module")
def synth():
    return make_responses(1500, waves=(2025,), seed=4)


def test_scales_come_from_the_wave_definition():
    wave = load_wave(2025)
    scales = {s.name: s for s in wave_scales(wave)}
    assert len(scales) == 20
    assert scales["N02.practice"].items == ("N02_P1", "N02_P2", "N02_P3", "N02_P4")
    assert scales["N02.practice"].versions == (1, 1, 2, 1)
    assert scales["N01.awareness"].items == ("N01_A1",)
    assert "ATTN1" not in {c for s in scales.values() for c in s.items}
    old = {s.name: s for s in wave_scales(load_wave(2024))}
    assert old["N02.practice"].signature != scales["N02.practice"].signature


def test_scales_in_data_drops_absent_items(synth):
    scales = wave_scales(load_wave(2025))
    # the synthetic wave asks every item of its definition: nothing to drop
    kept, dropped = scales_in_data(scales, synth)
    assert dropped == {} and {s.name: s for s in kept} == {s.name: s for s in scales}
    # data without N02_P3 (no column) and N02_P4 (a column without answers)
    data = synth.drop(columns="N02_P3").assign(N02_P4=pd.NA)
    kept, dropped = scales_in_data(scales, data)
    kept = {s.name: s for s in kept}
    assert kept["N02.practice"].items == ("N02_P1", "N02_P2")
    assert dropped["N02.practice"] == ("N02_P3", "N02_P4")


def test_norm_scores_from_a_wave(synth):
    design = SurveyDesign(synth, weights="base_weight", strata="stratum", psu="psu")
    est = norm_scores(design, wave=load_wave(2025), by="sex")
    t = est.table
    overall = t[t["by"] == ""].set_index("indicator")
    assert len(overall) == 33 and set(t["group"]) == {"", "female", "male"}
    # N04_P4 is asked only of car travellers: each item mean on its own respondents
    n04 = ["N04_P1", "N04_P2", "N04_P3", "N04_P4"]
    means = design.mean(n04).table["estimate"].to_numpy()
    np.testing.assert_allclose(overall.loc["N04.practice", "estimate"],
                               25 * (means.mean() - 1), rtol=1e-12)
    norms = overall.loc[[f"N{k:02d}.practice" for k in range(1, 11)], "estimate"]
    np.testing.assert_allclose(overall.loc["index.practice", "estimate"], norms.mean())
    assert (overall["se"] > 0).all() and (overall["estimate"].between(-100, 100)).all()
    assert overall.loc["N04.practice", "n_items"] == 4
    assert overall.loc["N02.practice", "n_items"] == 4
    assert not est.dropped
    # without the columns of N02_P3 and N02_P4 the N02 score uses the other two, and says so
    fewer = SurveyDesign(synth.drop(columns=["N02_P3", "N02_P4"]), weights="base_weight",
                         strata="stratum", psu="psu")
    est = norm_scores(fewer, wave=load_wave(2025))
    assert est.dropped["N02.practice"] == ("N02_P3", "N02_P4")
    row = est.table.set_index("indicator").loc["N02.practice"]
    means = fewer.mean(["N02_P1", "N02_P2"]).table["estimate"].to_numpy()
    assert row["n_items"] == 2
    np.testing.assert_allclose(row["estimate"], 25 * (means.mean() - 1), rtol=1e-12)


def test_parse_target():
    assert parse_target("N04.practice").norm == "N04"
    assert parse_target("index.gap").kind == "gap"
    assert parse_target("N04_P1").item == "N04_P1"
    with pytest.raises(AnalysisInputError, match="NORM.KIND"):
        parse_target("N04.pratice")


def test_estimate_targets_proportion_and_errors(synth):
    design = SurveyDesign(synth, weights="base_weight")
    scales = [Scale("N04", "practice", ("N04_P1", "N04_P2"))]
    got = estimate_targets(design, ["N04_P1"], scales, proportion=[4, 5]).iloc[0]
    core = design.proportion(["N04_P1"], levels=[4, 5]).table.iloc[0]
    np.testing.assert_allclose([got["estimate"], got["se"]], [core["estimate"], core["se"]],
                               rtol=1e-12)
    with pytest.raises(AnalysisInputError, match="raw items"):
        estimate_targets(design, ["N04.practice"], scales, proportion=[4, 5])
    with pytest.raises(AnalysisInputError, match="no awareness items for N04"):
        estimate_targets(design, ["N04.awareness"], scales)
    with pytest.raises(AnalysisInputError, match="unknown column 'N99_P1'"):
        estimate_targets(design, ["N99_P1"], scales)


def test_cronbach_alpha_known_values():
    # two parallel items: alpha = 2r / (1 + r)
    rng = np.random.default_rng(0)
    common = rng.normal(size=20000)
    df = pd.DataFrame({"a": common + rng.normal(size=20000), "b": common + rng.normal(size=20000)})
    a, n = cronbach_alpha(df, ["a", "b"])
    assert n == 20000 and abs(a - 2 * 0.5 / 1.5) < 0.02
    # perfectly consistent items: alpha 1; weights that are all equal change nothing
    df = pd.DataFrame({"a": [1, 2, 3, 4], "b": [1, 2, 3, 4], "c": [2, 3, 4, 5]})
    assert cronbach_alpha(df, ["a", "b", "c"])[0] == pytest.approx(1.0)
    assert cronbach_alpha(df, ["a", "b"], weights=np.full(4, 7.0))[0] == pytest.approx(1.0)
    assert np.isnan(cronbach_alpha(df, ["a"])[0])
    t = scale_alphas(df, [Scale("N01", "practice", ("a", "b", "c")),
                          Scale("N02", "practice", ("a",))])
    assert t["norm"].tolist() == ["N01"]
