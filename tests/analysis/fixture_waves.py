"""Wave definitions for the data of the indicator and trend R fixtures
(tests/fixtures/r_indicators_trends/scales.csv).

The fixture data use their own item set (some norms with two awareness or three practice items),
so the tests build matching :class:`questionnaires.Wave` objects instead of loading the real
waves.
"""

import datetime as dt
from pathlib import Path

import pandas as pd

from questionnaires import Item, Option, Page, Wave

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "r_indicators_trends"
OPTIONS = tuple(Option(code=c, label={"zh": str(c), "en": str(c)}) for c in range(1, 6))


def fixture_wave(year: int, versions: dict[str, int] | None = None,
                 norms_version: str = "2023", drop: tuple[str, ...] = ()) -> Wave:
    sc = pd.read_csv(FIX / "scales.csv")
    versions = versions or {}
    pages = []
    for norm, g in sc.groupby("norm", sort=True):
        items = tuple(
            Item(code=code, norm=norm, kind=kind, wording_version=versions.get(code, 1),
                 text={"zh": code, "en": code}, options=OPTIONS)
            for code, kind in zip(g["item"], g["kind"], strict=True) if code not in drop)
        pages.append(Page(key=norm, title={"zh": norm, "en": norm}, items=items, grid=True))
    return Wave(year=year, title={"zh": "t", "en": "t"}, norms_version=norms_version,
                opens=dt.date(year, 1, 1), closes=dt.date(year, 12, 31),
                consent={"zh": "c", "en": "c"}, pages=tuple(pages))
