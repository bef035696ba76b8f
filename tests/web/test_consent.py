"""The consent page lists the study information of the wave file, in Chinese and in English."""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

import pytest

from questionnaires import load_wave
from questionnaires.model import STUDY_FIELDS

from .conftest import install_wave

WAVE_FILE = Path(__file__).resolve().parents[2] / "questionnaires" / "waves" / "2026.yaml"
OPEN_UNTIL = dt.date(2099, 12, 31)  # the shipped wave closes; these tests must not
HEADINGS = {
    "zh": ["调查组织者", "联系方式", "调查目的", "数据保存期限", "参与对象"],
    "en": ["Who runs it", "Contact", "What it is for", "How long the data are kept",
           "Who can take part"],
}


def study_list(page: str) -> tuple[str, list[str], list[str]]:
    """The heading before the description list, its terms and its descriptions."""
    match = re.search(r"<h2>([^<]*)</h2>\s*<dl class=\"study\">(.*?)</dl>", page, re.S)
    assert match, "no study description list under a heading"
    terms = [html.unescape(t).strip() for t in re.findall(r"<dt>(.*?)</dt>", match[2], re.S)]
    details = [html.unescape(d).strip() for d in re.findall(r"<dd>(.*?)</dd>", match[2], re.S)]
    return match[1], terms, details


@pytest.mark.parametrize("lang, heading", [("zh", "关于本调查"), ("en", "About this survey")])
def test_consent_page_lists_the_study_information(app, client, lang, heading):
    wave = load_wave(WAVE_FILE)
    install_wave(app, wave, closes=OPEN_UNTIL)
    page = client.get(f"/2026/consent?lang={lang}")
    assert page.status_code == 200
    title, terms, details = study_list(page.text)
    assert title == heading
    assert terms == HEADINGS[lang]
    assert details == [getattr(wave.study, field)[lang] for field in STUDY_FIELDS]
    assert "survey@example.org" in details[1]
    assert ("18" in details[4]) and ("周岁" in details[4] if lang == "zh" else
                                     "aged 18 or over" in details[4])


def test_consent_page_without_study_information_still_renders(app, client, open_wave):
    page = client.get("/2031/consent")
    assert page.status_code == 200 and 'class="study"' not in page.text
    assert "同意说明第一段。" in page.text


def test_study_text_is_escaped(app, client):
    import dataclasses

    wave = load_wave(WAVE_FILE)
    study = dataclasses.replace(wave.study, organiser={"zh": "<script>x()</script>",
                                                       "en": "A & B"})
    install_wave(app, dataclasses.replace(wave, study=study), closes=OPEN_UNTIL)
    zh = client.get("/2026/consent").text
    assert "<script>x()</script>" not in zh and "&lt;script&gt;" in zh
    assert "A &amp; B" in client.get("/2026/consent?lang=en").text
