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


PHONE_WIDTH = 360

# Every data table, the region around it, and whether that region is what scrolls.
TABLE_REGIONS_JS = """
() => [...document.querySelectorAll('table.data')].map(table => {
  const region = table.closest('.table-scroll');
  return {
    table: table.className,
    region: region && {
      role: region.getAttribute('role'),
      tabindex: region.getAttribute('tabindex'),
      label: region.getAttribute('aria-label') || '',
      overflow: getComputedStyle(region).overflowX,
      fits: region.getBoundingClientRect().right <= innerWidth + 0.5,
    },
    wider: table.getBoundingClientRect().width > innerWidth,
  };
})
"""


@pytest.mark.parametrize("lang", LANGS)
def test_report_reads_on_a_360px_phone(report_page, lang):
    page = report_page(lang, width=PHONE_WIDTH)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_WIDTH, \
        f"the {lang} page scrolls sideways on a {PHONE_WIDTH} px screen"

    tables = page.evaluate(TABLE_REGIONS_JS)
    assert tables, "no data table found"
    labels = []
    for t in tables:
        region = t["region"]
        assert region, f"table.{t['table']} is not in a scroll region"
        assert region["role"] == "region" and region["tabindex"] == "0", region
        assert region["label"].strip(), f"scroll region of table.{t['table']} has no label"
        assert region["overflow"] == "auto" and region["fits"], region
        labels.append(region["label"])
    assert len(set(labels)) == len(labels), "two table regions share a label"
    assert any(t["wider"] for t in tables), "no table is wider than the phone: test proves nothing"

    charts = page.evaluate("""() => [...document.querySelectorAll('img.chart')].map(img => {
        const r = img.getBoundingClientRect();
        return {right: r.right, ratio: r.width / r.height,
                natural: img.naturalWidth / img.naturalHeight};
    })""")
    assert charts
    for c in charts:
        assert c["right"] <= PHONE_WIDTH + 0.5, c  # scaled down to the screen
        assert c["ratio"] == pytest.approx(c["natural"], rel=0.02), c  # not distorted

    # scrollable regions bring their own rule (focusable): axe at phone width too
    violations = axe_violations(page, WCAG_TAGS + ("best-practice",))
    assert violations == [], f"{lang} report at {PHONE_WIDTH} px:\n{describe(violations)}"
    page.context.close()
