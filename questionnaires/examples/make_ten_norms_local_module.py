"""Writes ten_norms_local_module.xlsx beside this script: the worked XLSForm example of
docs/questionnaires.md ("XLSForm", "Worked example").

A local organisation (code DEMO) asks part of the national core (demographics, four norms, the
attention check, the car follow-up with its condition) plus a module of its own, coded with its
prefix, that uses every question type:

* DEMO_recycling_station: a scale (the bank's frequency scale with "not applicable");
* DEMO_sorting_source: a single choice from its own list, shown only to people who sort
  their waste;
* DEMO_bins (select_multiple, options shuffled per response), DEMO_trips (integer with a
  unit), DEMO_spend (decimal with a unit), on a page whose items are shuffled per response;
* DEMO_bins_reason (single choice) behind a compound condition (and, or, not, selected()),
  and DEMO_comment (short optional text).

The form is built as a wave and written by the exporter, so it is exactly what export-xlsform
produces.

    python questionnaires/examples/make_ten_norms_local_module.py
    flask --app survey import-xlsform questionnaires/examples/ten_norms_local_module.xlsx \\
        --year 2027 --org DEMO --check
"""

from __future__ import annotations

import copy
from pathlib import Path

from questionnaires import load_item_bank, load_norms
from questionnaires.errors import read_yaml
from questionnaires.loader import _WaveParser, wave_path
from questionnaires.xlsform import export_xlsform

HERE = Path(__file__).resolve().parent
OUT = HERE / "ten_norms_local_module.xlsx"
YEAR = 2027
NATIONAL_PAGES = ("about_you", "N02", "N04", "N04_car", "N05", "N06")

LOCAL_ITEMS = [
    {"code": "DEMO_recycling_station", "scale": "frequency", "not_applicable": True,
     "text": {"zh": "您多久把可回收物送到社区回收站一次？（附近没有回收站请选“不适用”）",
              "en": "How often do you take recyclables to a community recycling station? "
                    "(Choose 'not applicable' if there is none near you.)"}},
    {"code": "DEMO_sorting_source",
     "options": [
         {"code": 1, "label": {"zh": "居委会或村委会", "en": "Residents' or village committee"}},
         {"code": 2, "label": {"zh": "垃圾桶旁的指引", "en": "Signs at the bins"}},
         {"code": 3, "label": {"zh": "网络或手机应用", "en": "The internet or an app"}},
         {"code": 4, "label": {"zh": "家人、朋友或同事", "en": "Family, friends or colleagues"}},
         {"code": 5, "label": {"zh": "其他途径", "en": "Somewhere else"}}],
     "text": {"zh": "您主要是从哪里了解垃圾分类方法的？",
              "en": "Where did you mainly learn how to sort your waste?"}},
    {"code": "DEMO_bins", "type": "select_multiple", "max_choices": 3,
     "options": [
         {"code": 1, "label": {"zh": "可回收物", "en": "Recyclables"}},
         {"code": 2, "label": {"zh": "有害垃圾", "en": "Hazardous waste"}},
         {"code": 3, "label": {"zh": "厨余垃圾", "en": "Food waste"}},
         {"code": 4, "label": {"zh": "其他垃圾", "en": "Other waste"}}],
     "text": {"zh": "您家附近有哪些分类垃圾桶？",
              "en": "Which sorting bins are near your home?"}},
    {"code": "DEMO_trips", "type": "integer", "min": 0, "max": 60,
     "unit_zh": "次", "unit_en": "trips",
     "text": {"zh": "上个月您骑共享单车出行几次？",
              "en": "How many trips did you make by shared bike last month?"}},
    {"code": "DEMO_spend", "type": "decimal", "min": 0, "max": 10000, "decimals": 2,
     "unit_zh": "元", "unit_en": "yuan",
     "text": {"zh": "上个月您在二手物品上花了多少钱？",
              "en": "How much did you spend on second-hand goods last month?"}},
    {"code": "DEMO_bins_reason",
     "options": [
         {"code": 1, "label": {"zh": "离家近", "en": "They are close to home"}},
         {"code": 2, "label": {"zh": "有人指导", "en": "Someone shows how to use them"}},
         {"code": 3, "label": {"zh": "干净整洁", "en": "They are clean and tidy"}},
         {"code": 4, "label": {"zh": "其他原因", "en": "Another reason"}}],
     "text": {"zh": "什么最能让您坚持使用分类垃圾桶？",
              "en": "What most helps you keep using the sorting bins?"}},
    {"code": "DEMO_comment", "type": "text", "max_length": 200,
     "text": {"zh": "关于垃圾分类，您还有什么想说的？",
              "en": "Anything else you would like to say about waste sorting?"}},
]
# asked of people who have a food-waste bin or often ride shared bikes, unless they live in
# the countryside (where the city's bins are not the question)
BINS_REASON_CONDITION = "(any_of(DEMO_bins, 3) or DEMO_trips >= 10) and not urban_rural = 2"
LOCAL_PAGES = [
    {"key": "local",
     "title": {"zh": "本地问题", "en": "Questions from your city"},
     "items": ["DEMO_recycling_station",
               {"item": "DEMO_sorting_source", "show_if": {"item": "N05_P1",
                                                           "values": [1, 2, 3, 4, 5]}}]},
    {"key": "local_habits",
     "title": {"zh": "垃圾桶与出行", "en": "Bins and trips"},
     "randomise": "items",
     "items": [{"item": "DEMO_bins", "randomise_options": True}, "DEMO_trips", "DEMO_spend"]},
    {"key": "local_follow_up",
     "title": {"zh": "追问", "en": "Follow-up"},
     "items": [{"item": "DEMO_bins_reason", "show_if": BINS_REASON_CONDITION},
               {"item": "DEMO_comment", "required": False}]},
]


def example_wave_data() -> dict:
    """The example as wave-file data: the 2026 wave's texts for 2027, fewer pages, the local
    pages last."""
    data = copy.deepcopy(read_yaml(wave_path(2026)))
    data = {key: value for key, value in data.items() if key != "schema"}
    data.update(year=YEAR, opens="2027-03-01", closes="2027-06-30")
    data["title"] = {"zh": "2027年公民生态环境行为调查（地方模块示例）",
                     "en": "Citizens' Ecological and Environmental Behaviour Survey 2027 "
                           "(local module example)"}
    data["consent"] = {lang: text.replace("2026", "2027") for lang, text in
                       data["consent"].items()}
    data["study"] = {field: {lang: text.replace("2026", "2027") for lang, text in value.items()}
                     for field, value in data["study"].items()}
    data["pages"] = [p for p in data["pages"] if p["key"] in NATIONAL_PAGES] + LOCAL_PAGES
    data["local_items"] = LOCAL_ITEMS
    return data


def main() -> Path:
    wave = _WaveParser(OUT, load_item_bank(), load_norms(),
                       year_in_name=False).parse_data(example_wave_data())
    return export_xlsform(wave, OUT)


if __name__ == "__main__":
    print(f"Wrote {main()}")
