"""The shared accessibility helper (tests/accessibility.py): axe-core finds what it should, and a
missing tool skips locally but fails under CI."""

from __future__ import annotations

import pytest

from tests import accessibility
from tests.accessibility import axe_violations

pytestmark = pytest.mark.browser

CLEAN = """<!doctype html><html lang="en"><head><title>Clean</title></head>
<body><main><h1>Report</h1><p>Text.</p><img src="data:," alt="A chart"></main></body></html>"""


def test_axe_reports_an_image_without_alt_text_and_low_contrast(browser):
    page = browser.new_page()
    page.set_content(CLEAN.replace(' alt="A chart"', "").replace(
        "<p>Text.</p>", '<p style="color:#aaa">Pale text.</p>'))
    found = {v["id"] for v in axe_violations(page)}
    assert {"image-alt", "color-contrast"} <= found, accessibility.describe(axe_violations(page))
    page.close()


def test_axe_passes_a_clean_page(browser):
    page = browser.new_page()
    page.set_content(CLEAN)
    violations = axe_violations(page, accessibility.WCAG_TAGS + ("best-practice",))
    assert violations == [], accessibility.describe(violations)
    page.close()


@pytest.mark.parametrize("ci, outcome", [("true", pytest.fail.Exception),
                                         ("", pytest.skip.Exception)])
def test_missing_tool_fails_under_ci_and_skips_otherwise(monkeypatch, ci, outcome):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="axe-core"):
        accessibility.missing_tool("tests need axe-core")


def test_missing_axe_script_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("CI", "")
    monkeypatch.setattr(accessibility, "AXE_SCRIPT", tmp_path / "node_modules" / "axe.min.js")
    monkeypatch.setattr(accessibility, "PROJECT", tmp_path)
    with pytest.raises(pytest.skip.Exception, match="npm ci"):
        accessibility.axe_source()
