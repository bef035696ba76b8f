"""Every string a report reader sees exists in Chinese and English; no missing or unused key."""

import re
import string
from pathlib import Path

from analysis.report import i18n

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
# Keys built at run time from a prefix and a code (kind, direction, ...): a key with one of these
# prefixes counts as used.
DYNAMIC_PREFIXES = ("kind_", "kindlc_", "kindcap_", "kindidx_", "kindind_", "verdict_",
                    "sum_index_", "sum_change_", "adj_", "method_", "flag_", "cmp_", "var_", "cat_",
                    "family_", "dist_caption_", "mode_", "source_")


def _fields(text):
    return sorted({name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name})


def test_every_key_has_both_languages_with_the_same_placeholders():
    for key, entry in i18n.STRINGS.items():
        assert set(entry) == set(i18n.LANGUAGES), key
        for lang in i18n.LANGUAGES:
            assert entry[lang].strip(), f"{key}: empty {lang} text"
        # the Chinese text may leave out a value only the English one shows (an English reason
        # from the analysis package), never the other way round
        assert set(_fields(entry["zh"])) <= set(_fields(entry["en"])), key


def test_english_strings_have_no_chinese_and_chinese_strings_are_translated():
    for key, entry in i18n.STRINGS.items():
        assert not CJK.search(entry["en"]), f"{key}: Chinese characters in the English text"
        if not key.startswith(("cat_age_group_",)) and key not in {"adj_holm", "year"}:
            # a Chinese string equal to the English one is an untranslated string
            # (placeholders are names, not text)
            words = re.sub(r"\{[^}]*\}", "", entry["en"])
            assert entry["zh"] != entry["en"] or not re.search("[A-Za-z]{3}", words), key


def _used_keys():
    used = set()
    pattern = re.compile(r"""(?:_\(\s*|STRINGS\[)["']([a-z0-9_+\-]+)["']""")
    for path in list((ROOT / "analysis" / "report" / "templates").glob("*.html")) + \
            list((ROOT / "analysis" / "report").glob("*.py")):
        if path.name == "i18n.py":
            continue
        used |= {k for k in pattern.findall(path.read_text(encoding="utf-8"))
                 if not k.endswith("_")}  # "kind_" ~ kind: a dynamic prefix
    return used


def test_templates_and_modules_use_only_defined_keys():
    missing = sorted(k for k in _used_keys() if k not in i18n.STRINGS)
    assert not missing, f"keys used but not defined: {missing}"


def test_every_defined_key_is_used():
    used = _used_keys()
    unused = sorted(k for k in i18n.STRINGS
                    if k not in used and not k.startswith(DYNAMIC_PREFIXES))
    assert not unused, f"keys defined but never used: {unused}"


def test_translator_formats_and_rejects_unknown_language():
    _ = i18n.translator("zh")
    assert _("year", wave=2025) == "2025年"
    assert i18n.translator("en")("year", wave=2025) == "2025"
    import pytest

    with pytest.raises(ValueError):
        i18n.translator("fr")
    with pytest.raises(KeyError):
        _("no_such_key")


def test_category_labels_fall_back_to_the_value():
    assert i18n.category_label("region", "east", "zh") == "东部"
    assert i18n.category_label("region", "atlantis", "en") == "atlantis"


def test_every_plan_code_the_report_words_has_both_languages():
    from analysis.report.model import INDICATOR_KINDS, P_FAMILIES
    from analysis.report.plan import MODES, SAMPLE_SOURCES

    keys = ([f"mode_{m}" for m in MODES] + [f"source_{s}" for s in SAMPLE_SOURCES]
            + [f"family_{f}" for f in P_FAMILIES]
            + [f"dist_caption_{k}" for k in INDICATOR_KINDS if k != "gap"])
    for key in keys:
        assert set(i18n.STRINGS[key]) == set(i18n.LANGUAGES), key
