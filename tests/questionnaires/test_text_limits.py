"""Length bounds on every text an administrator writes (questionnaires/_checks.py TEXT_LIMITS)
and size caps on every file the questionnaire package reads."""

import pytest

from questionnaires import QuestionnaireError, load_item_bank, load_provinces, load_wave
from questionnaires._checks import TEXT_LIMITS

from .helpers import assert_error, item_entry, page_entry, write_yaml


def _limit(kind: str) -> int:
    return TEXT_LIMITS[kind][0]


def _set_top(key, lang, length):
    def mutate(d):
        d[key][lang] = "字" * length
    return mutate


def _set_study(field, length):
    def mutate(d):
        d["study"][field]["en"] = "a" * length
    return mutate


def _set_page(key, field, value):
    def mutate(d):
        page_entry(d, key)[field] = value
    return mutate


WAVE_CASES = [
    (_set_top("consent", "zh", 20_001), None, "consent",
     "the zh text of the consent text is 20,001 characters long; the consent text may have at "
     "most 20,000"),
    (_set_top("title", "en", 201), None, "title",
     "the en text is 201 characters long; a title may have at most 200"),
    (_set_study("purpose", 2_001), None, "study.purpose",
     "the en text is 2,001 characters long; a study detail may have at most 2,000"),
    (_set_page("about_you", "title", {"zh": "关于您" * 67, "en": "About you"}), None,
     "pages.about_you.title", "the zh text is 201 characters long; a title may have at most 200"),
    (_set_page("about_you", "key", "p" * 101), None, "pages #1.key",
     "the text is 101 characters long; a code, key or value may have at most 100"),
]


@pytest.mark.parametrize("mutate,item,field,problem", WAVE_CASES,
                         ids=["consent", "title", "study", "page-title", "page-key"])
def test_wave_text_over_its_limit(tmp_path, wave_data, mutate, item, field, problem):
    mutate(wave_data)
    path = write_yaml(tmp_path / "2025.yaml", wave_data)
    with pytest.raises(QuestionnaireError) as excinfo:
        load_wave(path)
    assert_error(excinfo, path, item, field, problem)


def test_texts_at_their_limits_load(tmp_path, wave_data, bank_data):
    wave_data["consent"]["zh"] = "字" * _limit("consent")
    wave_data["study"]["purpose"]["en"] = "a" * _limit("study")
    wave_data["title"]["en"] = "t" * _limit("title")
    sex = item_entry(bank_data, "sex")
    sex["versions"][0]["text"]["zh"] = "问" * _limit("item")
    sex["options"][0]["label"]["en"] = "l" * _limit("label")
    bank = load_item_bank(write_yaml(tmp_path / "items.yaml", bank_data))
    wave = load_wave(write_yaml(tmp_path / "2025.yaml", wave_data), bank=bank)
    assert len(wave.consent["zh"]) == _limit("consent")
    assert len(wave.items["sex"].text["zh"]) == _limit("item")


def test_a_huge_consent_is_refused_without_echoing_it(tmp_path, wave_data):
    """Megabytes of consent text (under the 5 MiB file cap): one short line, none of the text."""
    wave_data["consent"]["en"] = "Agree? " * 500_000
    path = write_yaml(tmp_path / "2025.yaml", wave_data)
    with pytest.raises(QuestionnaireError) as excinfo:
        load_wave(path)
    message = str(excinfo.value)
    assert excinfo.value.field == "consent"
    assert "3,500,000 characters long" in message and "at most 20,000" in message
    assert "Agree?" not in message and len(message) < 250 and "\n" not in message


def _version_text(code, lang, length):
    def mutate(d):
        item_entry(d, code)["versions"][0]["text"][lang] = "问" * length
    return mutate


def _option(code, field, value):
    def mutate(d):
        option = item_entry(d, code)["options"][0]
        if field == "label":
            option["label"]["en"] = value
        else:
            option[field] = value
    return mutate


def _scale_label(length):
    def mutate(d):
        d["scales"]["frequency"]["options"][0]["label"]["zh"] = "常" * length
    return mutate


def _note(length):
    def mutate(d):
        item_entry(d, "sex")["note"] = "n" * length
    return mutate


def _code(length):
    def mutate(d):
        item_entry(d, "sex")["code"] = "s" * length
    return mutate


BANK_CASES = [
    (_version_text("sex", "zh", 1_001), "sex", "versions.text",
     "the zh text of version 1 is 1,001 characters long; a question's wording may have at most "
     "1,000"),
    (_option("sex", "label", "M" * 201), "sex", "options",
     "the en text of the label of option 1 is 201 characters long; an option label may have at "
     "most 200"),
    (_option("sex", "value", "m" * 101), "sex", "options",
     "the value of option 1 is 101 characters long; a code, key or value may have at most 100"),
    (_scale_label(201), "scale frequency", "options",
     "the zh text of the label of option 1 is 201 characters long; an option label may have at "
     "most 200"),
    (_note(2_001), "sex", "note",
     "the text is 2,001 characters long; a note may have at most 2,000"),
]


@pytest.mark.parametrize("mutate,item,field,problem", BANK_CASES,
                         ids=["item-text", "option-label", "option-value", "scale-label", "note"])
def test_item_bank_text_over_its_limit(tmp_path, bank_data, mutate, item, field, problem):
    mutate(bank_data)
    path = write_yaml(tmp_path / "items.yaml", bank_data)
    with pytest.raises(QuestionnaireError) as excinfo:
        load_item_bank(path)
    assert_error(excinfo, path, item, field, problem)


def test_an_overlong_item_code_is_refused_without_echoing_it(tmp_path, bank_data):
    _code(101)(bank_data)
    path = write_yaml(tmp_path / "items.yaml", bank_data)
    with pytest.raises(QuestionnaireError) as excinfo:
        load_item_bank(path)
    assert excinfo.value.field == "code" and excinfo.value.item.startswith("#")
    assert excinfo.value.problem == (
        "the text is 101 characters long; a code, key or value may have at most 100")
    assert "s" * 100 not in str(excinfo.value)


def test_item_bank_file_size_cap(tmp_path):
    path = tmp_path / "items.yaml"
    path.write_text("scales: {}\n" + "# padding\n" * 600_000, encoding="utf-8")
    with pytest.raises(QuestionnaireError) as excinfo:
        load_item_bank(path)
    assert excinfo.value.problem == (
        "the file is 6000011 bytes, more than the limit of 5 MiB for this kind of file")


def test_provinces_file_size_cap(tmp_path):
    path = tmp_path / "provinces.csv"
    header = "province_code,province_zh,province_en,region,population_2020\n"
    path.write_text(header + "110000,北京市,Beijing,east,21893095\n" * 40_000, encoding="utf-8")
    with pytest.raises(QuestionnaireError) as excinfo:
        load_provinces(path)
    size = path.stat().st_size
    assert excinfo.value.problem == (
        f"the file is {size} bytes, more than the limit of 1 MiB for this kind of file")
