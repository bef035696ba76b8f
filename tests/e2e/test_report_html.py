"""The HTML trend report in Chromium: no axe-core violations (WCAG 2.1 A/AA and axe's best
practices: landmarks, table headers) in Chinese and English."""

from __future__ import annotations

import pytest

from analysis.report.fonts import NoCJKFontError, find_cjk_font
from analysis.report.render import write_report
from tests.accessibility import WCAG_TAGS, axe_violations, describe
from tests.report.sample import sample_findings

try:
    find_cjk_font()
    NO_FONT = None
except NoCJKFontError as exc:  # pragma: no cover - depends on the machine
    NO_FONT = str(exc)

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(NO_FONT is not None, reason=f"no CJK font: {NO_FONT}")]

LANGS = ("zh", "en")


@pytest.fixture(scope="module")
def report_files(tmp_path_factory):
    """The sample report as HTML files, one per language."""
    tmp = tmp_path_factory.mktemp("report-html")
    findings = sample_findings()
    return {lang: write_report(findings, tmp / f"report-{lang}.html", lang=lang).path
            for lang in LANGS}


@pytest.fixture
def report_page(browser, report_files):
    def open_report(lang: str, width: int = 1280):
        context = browser.new_context(viewport={"width": width, "height": 800})
        page = context.new_page()
        page.goto(report_files[lang].as_uri())
        return page
    return open_report


@pytest.mark.parametrize("lang", LANGS)
def test_report_has_no_axe_violations(report_page, lang):
    page = report_page(lang)
    violations = axe_violations(page, WCAG_TAGS + ("best-practice",))
    assert violations == [], f"{lang} report:\n{describe(violations)}"
    page.context.close()
