"""A wave's own questions (``local_items``): codes ORG_name, kind 'local', no norm."""

import copy
from pathlib import Path

import pytest

from questionnaires import QuestionnaireError, Wave, load_item_bank, load_norms
from questionnaires.loader import _WaveParser

from .helpers import WAVE

LOCAL = [
    {"code": "GZ_station", "scale": "frequency", "not_applicable": True,
     "text": {"zh": "您多久去一次社区回收站？",
              "en": "How often do you go to the recycling station?"}},
    {"code": "GZ_bins", "options": [{"code": 1, "label": {"zh": "有", "en": "Yes"}},
                                    {"code": 2, "label": {"zh": "没有", "en": "No"}}],
     "text": {"zh": "您的小区有分类垃圾桶吗？", "en": "Does your estate have sorting bins?"}},
]


def _wave_data():
    data = copy.deepcopy(WAVE)
    data["local_items"] = copy.deepcopy(LOCAL)
    data["pages"].append({
        "key": "local", "title": {"zh": "本地问题", "en": "Local questions"},
        "items": ["GZ_station", {"item": "GZ_bins", "required": False,
                                 "show_if": {"item": "N05_P1", "values": [1, 2, 3, 4, 5]}}]})
    return data


def _parse(data) -> Wave:
    return _WaveParser(Path("2025.yaml"), load_item_bank(), load_norms()).parse_data(data)


def test_local_items_join_the_wave_as_kind_local():
    wave = _parse(_wave_data())
    station, bins = wave.items["GZ_station"], wave.items["GZ_bins"]
    assert (station.kind, station.norm, station.wording_version) == ("local", None, 1)
    assert station.not_applicable.code == 9 and len(station.options) == 5
    assert [o.code for o in bins.options] == [1, 2] and bins.required is False
    assert bins.condition.item == "N05_P1"
    assert Wave.from_dict(wave.to_dict()) == wave


@pytest.mark.parametrize(("code", "problem"), [
    ("N01_A1", "an item of the national bank; list it under pages, not local_items"),
    ("gz_station", "local item codes are the organisation's code, _ and a name"),
    ("G_station", "local item codes are the organisation's code, _ and a name"),
    ("N04_P9", "N04 looks like a norm code (N01..N10); choose another organisation code"),
    ("GZ_bins", "duplicate local item code"),
])
def test_local_item_code_errors(code, problem):
    data = _wave_data()
    data["local_items"][0]["code"] = code
    with pytest.raises(QuestionnaireError) as excinfo:
        _parse(data)
    assert excinfo.value.field == "local_items.code"
    assert problem in str(excinfo.value)


def test_local_item_needs_both_translations_and_known_fields():
    data = _wave_data()
    del data["local_items"][0]["text"]["en"]
    with pytest.raises(QuestionnaireError, match="missing en translation"):
        _parse(data)
    data = _wave_data()
    data["local_items"][1]["kind"] = "practice"
    with pytest.raises(QuestionnaireError, match="unknown field"):
        _parse(data)


def test_the_national_bank_cannot_hold_local_items(bank_data):
    from questionnaires.loader import _BankParser

    bank_data["items"][0]["kind"] = "local"
    with pytest.raises(QuestionnaireError, match="unknown kind 'local'"):
        _BankParser(Path("items.yaml"), load_norms()).parse_data(bank_data)


def test_any_wrong_value_in_local_items_is_a_questionnaire_error():
    from .test_robustness import _check_all

    base = _wave_data()
    base["pages"] = base["pages"][-3:]  # keep it quick: the local page and two before it
    base["pages"][-1]["items"][1]["show_if"]["item"] = "N09_P1"
    assert _check_all(base, _parse) > 50
