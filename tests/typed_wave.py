"""A wave with local items of every question type, built through the wave loader (so the
definition format itself is exercised): the web, export and analysis tests answer it."""

from __future__ import annotations

import copy
from pathlib import Path

from questionnaires import Wave, load_item_bank, load_norms
from questionnaires.loader import _WaveParser

from .questionnaires.helpers import WAVE


def _t(zh: str, en: str) -> dict:
    return {"zh": zh, "en": en}


TYPED_ITEMS = [
    {"code": "DEMO_bins", "type": "select_multiple", "max_choices": 3,
     "text": _t("您家附近有哪些分类垃圾桶？", "Which sorting bins are near your home?"),
     "options": [{"code": 1, "label": _t("可回收物", "Recyclables")},
                 {"code": 2, "label": _t("有害垃圾", "Hazardous waste")},
                 {"code": 3, "label": _t("厨余垃圾", "Food waste")},
                 {"code": 4, "label": _t("其他垃圾", "Other waste")}]},
    {"code": "DEMO_trips", "type": "integer", "min": 0, "max": 60,
     "unit_zh": "次", "unit_en": "trips",
     "text": _t("上个月您骑共享单车出行几次？",
                "How many trips did you make by shared bike last month?")},
    {"code": "DEMO_spend", "type": "decimal", "min": 0, "max": 10000, "decimals": 2,
     "unit_zh": "元", "unit_en": "yuan",
     "text": _t("上个月您在二手物品上花了多少钱？",
                "How much did you spend on second-hand goods last month?")},
    {"code": "DEMO_comment", "type": "text", "max_length": 100,
     "text": _t("关于垃圾分类，您还有什么想说的？",
                "Anything else you would like to say about waste sorting?")},
]
TYPED_CODES = [entry["code"] for entry in TYPED_ITEMS]


def typed_wave_data(year: int = 2031) -> dict:
    data = copy.deepcopy(WAVE)
    data["year"] = year
    data["opens"], data["closes"] = "2000-01-01", "2099-12-31"
    data["local_items"] = copy.deepcopy(TYPED_ITEMS)
    data["pages"] = [p for p in data["pages"] if p["key"] in ("about_you", "N05", "N06")]
    data["pages"].append({
        "key": "local", "title": _t("本地问题", "Local questions"),
        "items": ["DEMO_bins", "DEMO_trips", "DEMO_spend",
                  {"item": "DEMO_comment", "required": False}]})
    return data


# a complete response to the wave's choice pages (form values as a browser posts them)
CHOICE_PAGES = {
    "about_you": {"sex": "2", "age_group": "3", "province": "110000", "urban_rural": "1",
                  "education": "5"},
    "N05": {"N05_A1": "5", "N05_P1": "4", "N05_P2": "9", "N05_P3": "3"},
    "N06": {"N06_A1": "4", "N06_P1": "3", "ATTN1": "4", "N06_P2": "5", "N06_P3": "2"},
}


def typed_wave(year: int = 2031, data: dict | None = None) -> Wave:
    data = typed_wave_data(year) if data is None else data
    return _WaveParser(Path(f"{year}.yaml"), load_item_bank(), load_norms()).parse_data(data)
