"""The questionnaire annex: every item's wording in the report's language, its answers, its
wording version and the waves that asked it, from the wave definitions."""

from __future__ import annotations

import re
from dataclasses import replace

from analysis.report import render
from analysis.report.findings import questionnaire_items
from questionnaires import load_wave
from tests.report.fixture_model import make_findings

YEARS = (2024, 2025, 2026)
CJK = re.compile(r"[\u3400-\u9fff]")


def _items():
    return questionnaire_items({y: load_wave(y) for y in YEARS}, YEARS)


def test_every_item_of_every_wave_once_per_wording_version():
    items = _items()
    for y in YEARS:
        for code, item in load_wave(y).items.items():
            rows = [q for q in items
                    if q.code == code and q.wording_version == item.wording_version]
            assert len(rows) == 1 and y in rows[0].waves, (y, code)
            assert rows[0].text == dict(item.text)
    n02_p3 = sorted((q.wording_version, q.waves) for q in items if q.code == "N02_P3")
    assert n02_p3 == [(1, (2024,)), (2, (2025, 2026))]


def _annex(html):
    return html[html.index('id="questionnaire"'):]


def test_annex_in_both_languages():
    f = replace(make_findings(), questionnaire=_items())
    zh = _annex(render.render_html(f, "zh", sections=("methodology",)))
    en = _annex(render.render_html(f, "en", sections=("methodology",)))
    n05 = load_wave(2026).items["N05_P1"]
    assert n05.text["zh"] in zh.replace("&#34;", '"')
    assert n05.text["en"] in en.replace("&#34;", '"')
    assert "1 从不 · 2 很少 · 3 有时 · 4 经常 · 5 总是；9 不适用" in zh
    assert "1 never · 2 rarely · 3 sometimes · 4 often · 5 always; 9 not applicable" in en
    assert "从31个选项中选择一项" in zh and "one of 31 options" in en
    assert "2025、2026年" in zh and "2025 and 2026" in en
    text = re.sub(r"<[^>]+>", " ", en)
    assert not CJK.search(text), CJK.search(text)
