"""Quality-flag rules that involve the wave definition: "not applicable" on grid pages and the
speeder floor of seconds per answered item."""

import numpy as np
import pandas as pd
import pytest

from analysis.quality import flag_quality
from questionnaires import NOT_APPLICABLE_CODE, load_wave


@pytest.fixture(scope="module")
def wave():
    return load_wave(2026)


def grid_pages(wave):
    return [[i for i in p.items if i.kind in ("awareness", "practice")]
            for p in wave.pages if p.grid]


def test_not_applicable_neither_makes_nor_breaks_a_uniform_grid(wave):
    pages = grid_pages(wave)
    rows = []
    # row 0: 4 on every item, but "not applicable" wherever an item offers it: still uniform
    rows.append({i.code: NOT_APPLICABLE_CODE if i.not_applicable else 4
                 for page in pages for i in page})
    # row 1: "not applicable" wherever offered, varying answers elsewhere: not a straight-liner
    rng = np.random.default_rng(3)
    rows.append({i.code: NOT_APPLICABLE_CODE if i.not_applicable else int(rng.integers(1, 6))
                 for page in pages for i in page})
    rows[1][pages[0][0].code], rows[1][pages[0][1].code] = 1, 5
    df = pd.DataFrame(rows)
    df["duration_s"] = 600.0
    assert flag_quality(df, wave)["flag_straightliner"].tolist() == [1, 0]


def answered_rows(wave, durations, seed=0):
    """Responses that answered every question of ``wave`` (demographics as category values)."""
    rng = np.random.default_rng(seed)
    n = len(durations)
    df = pd.DataFrame({"duration_s": durations})
    for code, item in wave.items.items():
        if item.kind == "demographic":
            df[code] = [item.options[k].value for k in rng.integers(0, len(item.options), n)]
        else:
            df[code] = rng.integers(1, 6, n)
    df["ATTN1"] = wave.items["ATTN1"].expected
    return df


def test_speeders_under_the_floor_are_flagged_even_when_the_median_is_low(wave):
    assert len(wave.items) == 44 and wave.quality.min_seconds_per_item == 1
    # 16 normal responses (4-8 minutes) and 4 that answered all 44 questions in 6-12 s
    normal = list(np.linspace(240, 480, 16))
    df = answered_rows(wave, [6, 8, 10, 12] + normal)
    flags = flag_quality(df, wave)["flag_speeder"].tolist()
    assert flags == [1, 1, 1, 1] + [0] * 16
    # the floor matters where the relative rule misses: a wave whose median is low because
    # many people sped (median 12 s -> 0.3 x median = 3.6 s flags nobody of 6-12 s)
    fast = answered_rows(wave, [6, 8, 10, 12, 12, 12, 12, 300, 400])
    assert flag_quality(fast, wave, min_seconds_per_item=0.001)["flag_speeder"].sum() == 0
    assert flag_quality(fast, wave)["flag_speeder"].tolist() == [1] * 7 + [0, 0]


def test_the_floor_counts_answered_questions_only(wave):
    df = answered_rows(wave, [30.0, 30.0, 600.0])
    skipped = [c for c in wave.items if c not in ("sex", "N01_A1")][:20]
    df.loc[1, skipped] = np.nan  # row 1 answered 24 questions: 30 s is enough
    df.loc[0, "N02_P3"] = NOT_APPLICABLE_CODE  # "not applicable" is an answer
    flags = flag_quality(df, wave, min_seconds_per_item=1)["flag_speeder"].tolist()
    assert flags == [1, 0, 0]  # 44 answered in 30 s; 24 answered in 30 s; slow
    assert flag_quality(df, wave, min_seconds_per_item=0.5)["flag_speeder"].tolist() == [0, 0, 0]
