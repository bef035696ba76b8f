"""The data model: conditions, visibility, wording versions, round-trip and hashing."""

import datetime as dt
import json
import subprocess
import sys

import pytest

import questionnaires as q
from questionnaires import Condition, Item, Option, Wave

from .helpers import page_entry, write_yaml


def test_condition_is_met():
    cond = Condition("N04_P3", frozenset({1, 2, 3, 4, 5}))
    assert cond.is_met({"N04_P3": 1})
    assert cond.is_met({"N04_P3": 5, "other": 9})
    assert not cond.is_met({"N04_P3": 9})
    assert not cond.is_met({"N04_P3": None})
    assert not cond.is_met({})


def test_visible_items_follow_earlier_answers(tmp_path, wave_data):
    # a second follow-up that depends on a demographic answer, to see mixed pages
    page_entry(wave_data, "N04_car")["items"].append(
        {"item": "N04_P2", "show_if": {"item": "urban_rural", "values": [1]}}
    )
    page_entry(wave_data, "N04")["items"].remove("N04_P2")
    wave = q.load_wave(write_yaml(tmp_path / "2025.yaml", wave_data))
    codes = lambda answers: [i.code for i in wave.visible_items("N04_car", answers)]  # noqa: E731
    assert codes({"N04_P3": 2, "urban_rural": 1}) == ["N04_P4", "N04_P2"]
    assert codes({"N04_P3": 9, "urban_rural": 1}) == ["N04_P2"]
    assert codes({"N04_P3": 4, "urban_rural": 2}) == ["N04_P4"]
    assert codes({}) == []
    page = wave.page("N04_car")
    assert wave.visible_items(page, {"N04_P3": 3, "urban_rural": 1}) == page.items


def test_required_defaults_and_override(tmp_path, wave_data):
    wave = q.load_wave(2025)
    assert all(item.required for item in wave.items.values())
    page_entry(wave_data, "N06")["items"][2] = {"item": "ATTN1", "required": False}
    changed = q.load_wave(write_yaml(tmp_path / "2025.yaml", wave_data))
    assert changed.items["ATTN1"].required is False
    assert Wave.from_dict(changed.to_dict()).items["ATTN1"].required is False
    assert changed.content_hash != wave.content_hash


def test_item_versions_and_comparability():
    bank = q.load_item_bank()
    definition = bank["N02_P3"]
    assert [v.version for v in definition.versions] == [1, 2]
    assert definition.latest_version == 2
    assert definition.to_item().wording_version == 2
    old = definition.to_item(1)
    assert old.wording_version == 1 and "26" in old.text["en"]
    assert q.comparable(old, definition.to_item(1))
    assert not q.comparable(old, definition.to_item(2))
    assert not q.comparable(bank["N02_P1"].to_item(), bank["N02_P2"].to_item())
    with pytest.raises(KeyError, match="no wording version 3"):
        definition.to_item(3)


def test_item_options():
    item = q.load_item_bank()["N05_P1"].to_item()
    assert [o.code for o in item.all_options] == [1, 2, 3, 4, 5, 9]
    assert item.answer_codes == frozenset({1, 2, 3, 4, 5, 9})
    assert item.option(9) == item.not_applicable
    with pytest.raises(KeyError):
        item.option(6)
    assert isinstance(item.options[0], Option) and item.options[0].value is None


def test_item_bank_is_a_mapping():
    bank = q.load_item_bank()
    assert "N01_A1" in bank and "N99_A1" not in bank
    assert len(bank) == len(list(bank))
    assert [d.code for d in bank.for_norm("N04", "practice")] == [
        "N04_P1",
        "N04_P2",
        "N04_P3",
        "N04_P4",
    ]
    assert set(bank.scales) == {"importance", "frequency"}
    assert q.load_item_bank() is bank  # cached while the file is unchanged


def test_round_trip_is_exact_for_every_field():
    wave = q.load_wave(2024)
    d = json.loads(json.dumps(wave.to_dict()))
    again = Wave.from_dict(d)
    assert again == wave
    for a, b in zip(again.items.values(), wave.items.values(), strict=True):
        assert a == b and type(a.condition) is type(b.condition)
    assert isinstance(again.opens, dt.date) and again.source == wave.source
    n04 = again.items["N04_P4"]
    assert isinstance(n04.condition.values, frozenset)
    assert again.pages[0].items[2].widget == "select"


def test_from_dict_rejects_other_data():
    with pytest.raises(ValueError, match="not a frozen wave definition"):
        Wave.from_dict({"year": 2025})


def test_content_hash_ignores_the_file_location_but_not_the_content(tmp_path, wave_data):
    wave = q.load_wave(2025)
    copy = q.load_wave(write_yaml(tmp_path / "2025.yaml", wave_data))
    assert copy.source != wave.source
    assert copy.content_hash == wave.content_hash
    wave_data["consent"]["en"] += " Thank you."
    (tmp_path / "other").mkdir()
    changed = q.load_wave(write_yaml(tmp_path / "other" / "2025.yaml", wave_data))
    assert changed.content_hash != wave.content_hash


def test_item_round_trip_without_optional_parts():
    item = Item(
        code="x",
        norm=None,
        kind="demographic",
        wording_version=1,
        text={"zh": "甲", "en": "A"},
        options=(Option(1, {"zh": "是", "en": "yes"}, "yes"),),
    )
    assert Item.from_dict(json.loads(json.dumps(item.to_dict()))) == item


def test_norm_lookup():
    norms = q.load_norms()
    with pytest.raises(KeyError, match="unknown norm code 'N11'"):
        norms.norm("N11")
    with pytest.raises(KeyError, match="unknown norms version '2020'"):
        norms.changed_between("2018", "2020")


def test_package_imports_no_web_or_analysis_code():
    code = (
        "import sys, questionnaires as q; q.load_wave(2025); "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'survey', 'analysis', 'pandas', 'sqlalchemy')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_model_objects_are_hashable():
    wave = q.load_wave(2025)
    again = Wave.from_dict(wave.to_dict())
    assert hash(again) == hash(wave) and len({wave, again}) == 1
    assert len(set(wave.items.values())) == len(wave.items)
    assert hash(again.pages[3]) == hash(wave.pages[3])
    assert {again.items["N04_P4"]} == {wave.items["N04_P4"]}


def test_quality_settings_round_trip_and_default():
    import dataclasses

    wave = q.load_wave(2026)
    assert wave.quality == q.QualityRules(min_seconds_per_item=1.0)
    changed = dataclasses.replace(wave, quality=q.QualityRules(min_seconds_per_item=2.5))
    again = Wave.from_dict(json.loads(json.dumps(changed.to_dict())))
    assert again == changed and again.quality.min_seconds_per_item == 2.5
    assert changed.content_hash != wave.content_hash
    frozen_before = changed.to_dict()
    del frozen_before["quality"]  # a definition frozen into the database before this setting
    del frozen_before["study"]
    old = Wave.from_dict(frozen_before)
    assert old.quality == q.QualityRules() and old.study is None


def test_study_information_round_trips():
    wave = q.load_wave(2025)
    assert wave.study.eligibility["en"].endswith("aged 18 or over.")
    again = Wave.from_dict(json.loads(json.dumps(wave.to_dict(), ensure_ascii=False)))
    assert again == wave and again.study == wave.study
    assert again.content_hash == wave.content_hash
