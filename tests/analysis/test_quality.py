"""Response-quality flags: speeders, straight-liners, attention checks, and their exclusion."""

import numpy as np
import pandas as pd
import pytest

from analysis.errors import AnalysisInputError
from analysis.quality import add_quality_flags, exclude_flagged, flag_quality
from analysis.synthetic import make_responses
from questionnaires import load_wave


@pytest.fixture(scope="module")
def wave():
    return load_wave(2025)


def grid_codes(wave):
    return [[i.code for i in p.items if i.kind in ("awareness", "practice")]
            for p in wave.pages if p.grid]


def honest_rows(wave, n, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"duration_s": rng.uniform(300, 600, n)})
    for page in grid_codes(wave):
        for code in page:
            df[code] = rng.integers(1, 6, n)
    df["ATTN1"] = wave.items["ATTN1"].expected
    return df


def test_speeder_threshold_is_relative_to_the_wave_median(wave):
    df = honest_rows(wave, 9)
    df["duration_s"] = [100, 400, 400, 400, 400, 400, 400, 119.9, np.nan]
    flags = flag_quality(df, wave)
    # median 400 -> threshold 120 s; a missing duration is not flagged
    assert flags["flag_speeder"].tolist() == [1, 0, 0, 0, 0, 0, 0, 1, 0]
    assert flag_quality(df, wave, speeder_fraction=0.2)["flag_speeder"].sum() == 0


def test_straightliner_needs_every_grid_page_uniform(wave):
    df = honest_rows(wave, 4, seed=1)
    pages = grid_codes(wave)
    for page in pages:  # row 0: the same answer everywhere
        df.loc[0, page] = 4
    for k, page in enumerate(pages):  # row 1: uniform within each page, varying across pages
        df.loc[1, page] = 1 + k % 5
    for page in pages[:3]:  # row 2: uniform on three pages only
        df.loc[2, page] = 5
    flags = flag_quality(df, wave)
    assert flags["flag_straightliner"].tolist() == [1, 1, 0, 0]
    assert flag_quality(df, wave, straightline_rule="any_page")["flag_straightliner"][2] == 1


def test_straightliner_ignores_pages_with_fewer_than_three_answers(wave):
    df = honest_rows(wave, 2, seed=2)
    pages = grid_codes(wave)
    for page in pages:
        df.loc[0, page] = 3
    # row 0 answers only two items of the first page, differently: that page does not count
    df.loc[0, pages[0]] = np.nan
    df.loc[0, pages[0][:2]] = [1, 5]
    assert flag_quality(df, wave)["flag_straightliner"][0] == 1
    # no qualifying page at all: never a straight-liner
    empty = df.copy()
    for page in pages:
        empty.loc[1, page] = np.nan
        empty.loc[1, page[:2]] = 2
    assert flag_quality(empty, wave)["flag_straightliner"][1] == 0


def test_attention_check(wave):
    expected = wave.items["ATTN1"].expected
    df = honest_rows(wave, 3)
    df["ATTN1"] = [expected, (expected % 5) + 1, np.nan]
    assert flag_quality(df, wave)["flag_attention"].tolist() == [0, 1, 0]


def test_flags_recover_the_planted_problems_in_synthetic_data():
    df = make_responses(3000, waves=(2024, 2025, 2026), seed=5, include_truth=True)
    flagged = add_quality_flags(df)
    for flag, truth in [("flag_speeder", "true_speeder"),
                        ("flag_straightliner", "true_straightliner"),
                        ("flag_attention", "true_attention_fail")]:
        f = flagged[flag].astype(bool)
        t = flagged[truth].astype(bool)
        assert (f & t).sum() == t.sum(), flag  # every planted case is caught
        assert (f & ~t).sum() <= 0.01 * len(df), flag  # few false alarms


def test_exclude_flagged_counts_each_reason():
    df = pd.DataFrame({"x": range(5), "flag_speeder": [1, 0, 0, 1, 0],
                       "flag_straightliner": [0, 1, 0, 1, 0],
                       "flag_attention": [0, 0, 0, 1, None]})
    kept, report = exclude_flagged(df)
    assert kept["x"].tolist() == [2, 4]
    assert report.by_reason == {"speeder": 2, "straightliner": 2, "attention": 1}
    assert report.total == 3 and report.n_rows == 5
    assert "excluded 3 of 5" in report.message()
    kept, report = exclude_flagged(df, reasons=["attention"])
    assert len(kept) == 4


def test_exclude_flagged_bad_input():
    with pytest.raises(AnalysisInputError, match="flag_speeder"):
        exclude_flagged(pd.DataFrame({"x": [1]}))
    bad = pd.DataFrame({"flag_speeder": [2], "flag_straightliner": [0], "flag_attention": [0]})
    with pytest.raises(AnalysisInputError, match="not 0 or 1"):
        exclude_flagged(bad)


def test_add_quality_flags_unknown_wave():
    df = make_responses(50, waves=(1999,), seed=1)
    with pytest.raises(AnalysisInputError, match="wave 1999"):
        add_quality_flags(df)


def test_reading_some_columns_flags_as_reading_them_all(tmp_path):
    """A command that reads only its columns reads what the rules need, not the response id,
    the timestamps or the display-order columns, and excludes the same rows."""
    from analysis.pipeline import load_survey
    from analysis.quality import quality_columns

    df = make_responses(600, waves=(2025,), seed=4, include_truth=False)
    df["order__N01"] = "1 2 3"
    path = tmp_path / "r.csv"
    df.to_csv(path, index=False)
    needed = quality_columns(df.columns)
    assert {"response_id", "started_at", "submitted_at", "order__N01"}.isdisjoint(needed)
    assert {"duration_s", "ATTN1", "sex", "N01_A1"} <= set(needed)
    some = load_survey(path, columns=["N01_P1", "base_weight"])
    every = load_survey(path)
    assert "response_id" not in some.frames[2025] and "response_id" in every.frames[2025]
    assert some.exclusions[2025].total > 0
    assert some.exclusions[2025] == every.exclusions[2025]
    assert list(some.frames[2025].index) == list(every.frames[2025].index)
