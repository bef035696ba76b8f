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
