"""Wave comparisons: formulas, multiple testing, comparability rules, notes and bad input."""

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from analysis import cli
from analysis.compare import COMPARE_COLUMNS, DesignSpec, compare_waves
from analysis.design import SurveyDesign
from analysis.errors import AnalysisInputError
from analysis.indicators import Scale, estimate_targets
from analysis.synthetic import make_responses
from tests.analysis.fixture_waves import FIX, fixture_wave

SPEC = DesignSpec(weight="base_weight", strata="stratum", psu="psu")


@pytest.fixture(scope="module")
def synth():
    return make_responses(800, waves=(2024, 2025, 2026), seed=11)


@pytest.fixture(scope="module")
def fixdata():
    return pd.read_csv(FIX / "data.csv")


def test_difference_se_and_p_value(fixdata):
    res = compare_waves(fixdata, ["N01_P1", "N03.practice"], 2024, 2026, design=SPEC,
                        keep_flagged=True, load_wave=fixture_wave)
    t = res.table.set_index("item")
    assert list(res.table.columns) == list(COMPARE_COLUMNS)
    scales = [Scale("N03", "practice", ("N03_P1", "N03_P2", "N03_P3"))]
    per_wave = {}
    for y in (2024, 2026):
        df = fixdata[fixdata.wave == y].reset_index(drop=True)
        d = SurveyDesign(df, weights="base_weight", strata="stratum", psu="psu")
        per_wave[y] = estimate_targets(d, ["N01_P1", "N03.practice"], scales).set_index("item")
        # raw items agree with the core's estimator
        m = d.mean(["N01_P1"]).table.set_index("item")
        np.testing.assert_allclose(per_wave[y].loc["N01_P1", ["estimate", "se"]].astype(float),
                                   m.loc["N01_P1", ["estimate", "se"]].astype(float), rtol=1e-12)
    for item in ("N01_P1", "N03.practice"):
        b, c = per_wave[2024].loc[item], per_wave[2026].loc[item]
        se = np.hypot(b["se"], c["se"])
        diff = c["estimate"] - b["estimate"]
        np.testing.assert_allclose(t.loc[item, ["base", "current", "diff", "se"]].astype(float),
                                   [b["estimate"], c["estimate"], diff, se], rtol=1e-12)
        from scipy import stats
        np.testing.assert_allclose(t.loc[item, "p_value"], 2 * stats.norm.sf(abs(diff / se)))
        np.testing.assert_allclose(t.loc[item, "ci_low"], diff - 1.959963984540054 * se)


@pytest.mark.parametrize("method, sm_method, word", [("holm", "holm", "Holm"),
                                                     ("bh", "fdr_bh", "Benjamini-Hochberg")])
def test_multiple_testing_over_the_rows_of_one_call(fixdata, method, sm_method, word):
    items = ["N01_P1", "N02_P1", "N03_P1", "N04_P1", "index.practice"]
    res = compare_waves(fixdata, items, 2024, 2026, design=SPEC, by="sex", method=method,
                        keep_flagged=True, load_wave=fixture_wave)
    t = res.table
    assert len(t) == len(items) * 3
    np.testing.assert_allclose(t["p_adjusted"], multipletests(t["p_value"], method=sm_method)[1])
    assert (t["significant"] == (t["p_adjusted"] < 0.05)).all()
    assert word in res.method_note and "15 comparisons" in res.method_note
    assert res.notes.iloc[0]["kind"] == "method"
    # rows in the order asked, whole sample first
    assert t["item"].tolist()[:3] == ["N01_P1"] * 3 and t["by"].tolist()[:3] == ["", "sex", "sex"]


def test_wording_change_is_not_compared(synth):
    # the real waves: N02_P3 asks wording version 1 in 2024 and version 2 in 2025
    data = synth.copy()
    data["N02_P3"] = data["N02_P1"]
    res = compare_waves(data, ["N02_P3", "N02_P1"], 2024, 2025, design=SPEC)
    assert res.table["item"].tolist() == ["N02_P1"]
    nc = res.not_comparable.set_index("item")
    assert "wording changed: version 1 in 2024, version 2 in 2025" in nc.loc["N02_P3", "reason"]
    assert res.notes["message"].str.contains("N02_P3: not comparable").any()
    # between 2025 and 2026 both ask version 2: compared
    res = compare_waves(data, ["N02_P3"], 2025, 2026, design=SPEC)
    assert res.table["item"].tolist() == ["N02_P3"] and res.not_comparable.empty


def test_item_one_wave_lacks_is_not_comparable(fixdata):
    def waves(y):
        return fixture_wave(y, drop=("N04_P2",) if y == 2024 else ())

    res = compare_waves(fixdata, ["N04_P2", "N04_P1", "N04.practice", "index.practice"], 2024,
                        2025, design=SPEC, keep_flagged=True, load_wave=waves)
    assert res.table["item"].unique().tolist() == ["N04_P1"]
    reasons = res.not_comparable.set_index("item")["reason"]
    assert reasons["N04_P2"] == "not asked in wave 2024"
    assert "N04.practice uses N04_P1@1 in 2024 but N04_P1@1, N04_P2@1 in 2025" \
        in reasons["N04.practice"]
    assert "N04.practice" in reasons["index.practice"]


def test_indicator_with_changed_item_wording(fixdata):
    def waves(y):
        return fixture_wave(y, versions={"N02_P2": 2} if y == 2025 else None)

    res = compare_waves(fixdata, ["N02.practice", "N02.gap", "N02.awareness"], 2024, 2025,
                        design=SPEC, keep_flagged=True, load_wave=waves)
    assert res.table["item"].tolist() == ["N02.awareness"]
    assert set(res.not_comparable["item"]) == {"N02.practice", "N02.gap"}
    # common_items: both waves re-scored on N02_P1 only, and the note says so
    res = compare_waves(fixdata, ["N02.practice"], 2024, 2025, design=SPEC, keep_flagged=True,
                        load_wave=waves, common_items=True)
    assert res.table["item"].tolist() == ["N02.practice"]
    only_p1 = compare_waves(fixdata, ["N02_P1"], 2024, 2025, design=SPEC, keep_flagged=True,
                            load_wave=fixture_wave).table.iloc[0]
    np.testing.assert_allclose(res.table.iloc[0]["diff"], 25 * only_p1["diff"], rtol=1e-10)
    assert res.notes["message"].str.contains("without N02_P2@1, N02_P2@2").any()


def test_norm_wording_change_between_2018_and_2023_is_noted(fixdata):
    def waves(y):
        return fixture_wave(y, norms_version="2018" if y == 2024 else "2023")

    res = compare_waves(fixdata, ["N01_P1", "N04_P1", "N09.practice"], 2024, 2025,
                        design=SPEC, keep_flagged=True, load_wave=waves)
    assert len(res.table) == 3  # still compared: the items' own wording is the same
    notes = res.notes[res.notes["kind"] == "norm_wording"].set_index("item")["message"]
    assert "关注生态环境 -> 关爱生态环境" in notes["N01_P1"]
    assert "N09" in notes["N09.practice"]
    assert "N04_P1" not in notes.index  # N04's wording did not change
    same = compare_waves(fixdata, ["N01_P1"], 2024, 2025, design=SPEC, keep_flagged=True,
                         load_wave=fixture_wave)
    assert (same.notes["kind"] != "norm_wording").all()


def test_group_missing_in_one_wave_is_listed(fixdata):
    data = fixdata[~((fixdata.wave == 2025) & (fixdata.region == "northeast"))]
    res = compare_waves(data, ["N01_P1"], 2024, 2025, design=SPEC, by="region",
                        keep_flagged=True, load_wave=fixture_wave)
    assert "northeast" not in res.table["group"].tolist()
    r = res.not_comparable.iloc[0]
    assert (r["by"], r["group"]) == ("region", "northeast")
    assert "wave 2025" in r["reason"]


def test_quality_exclusion_by_default(synth):
    res = compare_waves(synth, ["N01_P1"], 2024, 2025, design=SPEC)
    kept = compare_waves(synth, ["N01_P1"], 2024, 2025, design=SPEC, keep_flagged=True)
    q = res.notes[res.notes["kind"] == "quality"]["message"]
    assert len(q) == 2 and q.str.contains("excluded").all()
    # with --keep-flagged every command says so, in one line (as `estimate` always did)
    kept_q = kept.notes[kept.notes["kind"] == "quality"]["message"]
    assert kept_q.tolist() == ["quality flags ignored (--keep-flagged): no response excluded"]
    assert res.table["base"].iloc[0] != kept.table["base"].iloc[0]


@pytest.mark.parametrize("kwargs, message", [
    ({"items": ["N01_P1"], "base": 2023, "current": 2025}, "wave 2023 is not in the data"),
    ({"items": ["N01_P1"], "base": 2025, "current": 2025}, "same wave"),
    ({"items": ["N99_P9"], "base": 2024, "current": 2025}, "item 'N99_P9' is not in wave"),
    ({"items": ["N04.often"], "base": 2024, "current": 2025}, "NORM.KIND"),
])
def test_bad_input(synth, kwargs, message):
    with pytest.raises(AnalysisInputError, match=message):
        compare_waves(synth, design=SPEC, **kwargs)


def test_item_asked_but_without_answers_is_refused(synth):
    # both waves ask N04_P3; the data of wave 2024 have none of its answers
    data = synth.copy()
    data.loc[data.wave == 2024, "N04_P3"] = pd.NA
    with pytest.raises(AnalysisInputError, match="wave 2024 asks it but the data have no "
                                                 "answers to it"):
        compare_waves(data, ["N04_P3"], 2024, 2025, design=SPEC)
    with pytest.raises(AnalysisInputError, match="no answers to it"):
        compare_waves(synth.drop(columns="N04_P3"), ["N04_P3"], 2024, 2025, design=SPEC)


def test_command_writes_exact_columns_and_notes(synth, tmp_path, capsys):
    data = tmp_path / "data.csv"
    synth.to_csv(data, index=False)
    out = tmp_path / "c.csv"
    status = cli.main(["compare", str(data), "--items", "N04_P1,N04.practice,index.gap",
                       "--base", "2024", "--current", "2026", "--weight", "base_weight",
                       "--strata", "stratum", "--psu", "psu", "--by", "urban_rural",
                       "--method", "bh", "--out", str(out)])
    assert status == 0
    t = pd.read_csv(out, keep_default_na=False)
    assert ",".join(t.columns) == ("item,by,group,base,current,diff,se,ci_low,ci_high,"
                                   "p_value,p_adjusted,significant")
    # index.gap is not comparable 2024 -> 2026 (N02_P3 changed wording): no rows, but a note
    assert t["item"].unique().tolist() == ["N04_P1", "N04.practice"] and len(t) == 6
    notes = pd.read_csv(tmp_path / "c.notes.csv")
    assert notes.iloc[0]["kind"] == "method" and "Benjamini-Hochberg" in notes.iloc[0]["message"]
    gap = notes[(notes["kind"] == "not_comparable") & (notes["item"] == "index.gap")]
    assert len(gap) == 1 and "N02_P3@1" in gap["message"].iloc[0]
    err = capsys.readouterr().err
    assert "Benjamini-Hochberg" in err and "excluded" in err
    assert "index.gap: not comparable" in err
    # --common-items re-scores both waves on the items they share: all three targets compare
    status = cli.main(["compare", str(data), "--items", "N04_P1,N04.practice,index.gap",
                       "--base", "2024", "--current", "2026", "--weight", "base_weight",
                       "--strata", "stratum", "--psu", "psu", "--by", "urban_rural",
                       "--method", "bh", "--common-items", "--out", str(out)])
    assert status == 0
    t = pd.read_csv(out, keep_default_na=False)
    assert len(t) == 9 and t["item"].unique().tolist() == ["N04_P1", "N04.practice", "index.gap"]


def test_command_bad_input_exits_2(synth, tmp_path, capsys):
    data = tmp_path / "data.csv"
    synth[synth.wave == 2024].to_csv(data, index=False)
    status = cli.main(["compare", str(data), "--items", "N04_P1", "--base", "2024",
                       "--current", "2025", "--out", str(tmp_path / "c.csv")])
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "wave 2025 is not in the data" in err
    assert not (tmp_path / "c.csv").exists()


def test_differences_of_waves_are_contrasts_of_their_stacked_estimates(synth):
    from analysis.results import Estimate, combine_independent

    est = {}
    for y in (2024, 2026):
        d = SurveyDesign(synth[synth.wave == y].reset_index(drop=True), weights="base_weight",
                         strata="stratum", psu="psu")
        est[y] = d.mean(["N01_P1", "N02_P1"], by="sex", covariance="group")
    m = len(est[2024])
    # the stack of two independent waves: block-diagonal covariance, every entry computed
    a, b = est[2024], est[2026]
    stacked = Estimate(coef=np.r_[a.coef, b.coef],
                       vcov=np.block([[np.nan_to_num(a.vcov), np.zeros((m, m))],
                                      [np.zeros((m, m)), np.nan_to_num(b.vcov)]]),
                       item=a.item + b.item, by=a.by + b.by, group=a.group + b.group)
    L = np.eye(m)
    want = stacked.contrast(np.hstack([-L[:2], L[:2]]))  # whole sample: 2026 - 2024
    got = combine_independent([(a, -L[:2]), (b, L[:2])])
    np.testing.assert_allclose(got.coef, want.coef, rtol=1e-15)
    np.testing.assert_allclose(got.vcov, want.vcov, rtol=1e-14)
    assert got.df == a.df + b.df
    # the covariance within a wave that was not computed (across domain groups) stays an error
    across = np.zeros((1, m))
    across[0, [0, m - 1]] = [1, -1]
    with pytest.raises(ValueError, match="covariance"):
        combine_independent([(a, across), (b, np.zeros((1, m)))])
