"""The renderer on a small hand-built findings model (no analysis): wording, suppression, layout."""

import re
import shutil
import subprocess

import pytest

from analysis.report import render
from analysis.report.fonts import NoCJKFontError, find_cjk_font
from tests.report.fixture_model import make_findings

try:
    FONT = find_cjk_font()
except NoCJKFontError as exc:  # pragma: no cover - depends on the machine
    FONT = None
    NO_FONT = str(exc)

needs_font = pytest.mark.skipif(FONT is None, reason="no CJK font installed (fonts-noto-cjk)")


def test_summary_calls_only_significant_changes_changes():
    f = make_findings()
    zh = render.summary_sentences(f, "zh")
    en = render.summary_sentences(f, "en")
    # N04 practice rose 4.2 points with adjusted p 0.003: a change
    assert ("N04 Choose low-carbon travel: practice rose 4.2 points since 2024 (95% CI +2.2 to "
            "+6.2; unadjusted p < 0.001; Holm-adjusted p < 0.01 over the 30 norm scores (each "
            "norm's awareness, practice and gap)).") in en
    assert ("N04 选择低碳出行：践行得分较2024年上升4.2分（95%置信区间+2.2至+6.2；未校正p < 0.001；"
            "经Holm法对30项规范得分（各规范的认知、践行得分和知行差距）校正后p < 0.01）。") in zh
    # the 0.2-point moves are not significant: stable, never "rose"
    assert not any("N01" in s and "rose" in s for s in en)
    stable = [s for s in en if s.startswith("Stable since 2024 in practice")]
    assert stable and "N01 Care for the eco-environment" in stable[0]
    assert "N04" not in stable[0]
    # the practice index change is not significant, the awareness index change is
    assert any("overall practice index" in s and "stable since 2024" in s for s in en)
    assert any("overall awareness index" in s and "up 1.0 points since 2024" in s for s in en)


def test_summary_names_the_widest_gap_and_the_trends():
    en = render.summary_sentences(make_findings(), "en")
    gap = [s for s in en if s.startswith("The widest knowledge–action gap")]
    assert gap == ["The widest knowledge–action gap is for N01 Care for the eco-environment: "
                   "awareness 79.4, practice 55.4, a gap of 24.0 points."]
    assert ("Over 2023–2025, practice shows a significant linear trend for one norm: "
            "N04 Choose low-carbon travel (+4.2 points a year).") in en


def test_number_formats():
    assert render.fmt_p(0.0004) == "p < 0.001"
    assert render.fmt_p(0.004) == "p < 0.01"
    assert render.fmt_p(0.0234) == "p = 0.023"
    assert render.fmt_signed(-0.04) == "±0.0"
    assert render.fmt_signed(4.25) == "+4.2" or render.fmt_signed(4.25) == "+4.3"
    assert render.fmt_score(float("nan")) == "–"


@needs_font
def test_html_in_both_languages_with_small_groups_suppressed():
    f = make_findings()
    for lang in ("zh", "en"):
        html = render.render_html(f, lang)
        assert f'lang="{"zh-CN" if lang == "zh" else "en"}"' in html
        assert html.count("data:image/svg+xml;base64,") == 2 + 2 * len(f.norms)
        # the 18-24 group has n = 12 < 30: its estimate (58.0) is suppressed, its n shown
        block = html[html.index('id="N01"'):html.index('id="N02"')]
        assert "58.0" not in block and ">12<" in block
        assert "—" in block
    zh = render.render_html(f, "zh")
    assert "选择低碳出行" in zh and "方法说明" in zh
    assert "年年" not in zh  # years are passed bare; the Chinese strings add 年
    en = render.render_html(f, "en")
    assert not re.search(r"[\u4e00-\u9fff]", en.split("<body", 1)[1]), "Chinese in the English body"


@needs_font
def test_sections_can_be_switched_off():
    html = render.render_html(make_findings(), "en", sections=("summary", "methodology"))
    assert 'id="summary"' in html and 'id="methodology"' in html
    assert 'id="overview"' not in html and 'id="N01"' not in html
    assert html.count("data:image/svg+xml") == 1  # the index trend on the summary page


@needs_font
@pytest.mark.skipif(not (shutil.which("pdftotext") and shutil.which("pdffonts")),
                    reason="poppler-utils (pdftotext, pdffonts) not installed")
def test_pdf_embeds_the_cjk_font_and_chinese_is_extractable(tmp_path):
    out = tmp_path / "r.pdf"
    rendered = render.write_report(make_findings(), out, lang="zh",
                                   sections=("summary", "table", "methodology"))
    assert rendered.pages and rendered.pages >= 3
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True).stdout
    cjk = [line for line in fonts.splitlines() if "CJK" in line]
    assert cjk and all(" yes " in line for line in cjk), fonts  # embedded
    assert "DejaVu-Serif" not in fonts  # page numbers use the report font too
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True,
                          text=True).stdout
    assert "主要发现" in text and "选择低碳出行" in text and "指标汇总表" in text
    assert not list(tmp_path.glob("*.part"))


@needs_font
def test_html_format_from_suffix(tmp_path):
    rendered = render.write_report(make_findings(), tmp_path / "r.html", lang="en",
                                   sections=("summary",))
    assert rendered.format == "html" and rendered.pages is None
    assert "Executive summary" in (tmp_path / "r.html").read_text(encoding="utf-8")
