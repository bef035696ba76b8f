"""Charts a reader without sight or with low vision can use: alt texts that say what a chart
shows and where its numbers are, and chart lines with enough contrast (WCAG 1.1.1, 1.4.11)."""

from __future__ import annotations

import re

import pytest

from analysis.report import charts, render
from analysis.report.fonts import NoCJKFontError, find_cjk_font
from tests.report.fixture_model import make_findings

try:
    find_cjk_font()
    NO_FONT = None
except NoCJKFontError:  # pragma: no cover - depends on the machine
    NO_FONT = "no CJK font installed (fonts-noto-cjk)"


def contrast_on_white(colour: str) -> float:
    """WCAG 2.1 contrast ratio of an sRGB ``#rrggbb`` colour against white."""
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def test_contrast_formula():
    assert contrast_on_white("#000000") == pytest.approx(21.0)
    assert contrast_on_white("#767676") == pytest.approx(4.54, abs=0.01)


def test_chart_lines_and_markers_have_3_to_1_contrast():
    colours = {kind: style["color"] for kind, style in charts.KIND_STYLE.items()}
    colours["reference line"] = charts.REFERENCE_LINE
    low = {name: round(contrast_on_white(c), 2) for name, c in colours.items()
           if contrast_on_white(c) < 3.0}
    assert not low, f"below 3:1 on white: {low}"


@pytest.mark.skipif(NO_FONT is not None, reason=str(NO_FONT))
@pytest.mark.parametrize("lang, pointer", [("zh", "数值见"), ("en", "values in")])
def test_every_chart_alt_text_says_where_its_numbers_are(lang, pointer):
    html = render.render_html(make_findings(), lang)
    alts = re.findall(r'<img class="chart[^"]*" src="[^"]*" alt="([^"]*)"', html)
    assert len(alts) == html.count('<img class="chart')
    assert alts and all(pointer in alt for alt in alts), alts
