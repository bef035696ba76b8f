"""axe-core (WCAG 2.1 A and AA) on every page a citizen sees, zh and en, on a 360 px phone.

Landing, consent (with the study details and the honeypot), a questionnaire page, the same page
re-rendered with its errors, the resume form with an error and a 404 page (the thank-you page is
checked at the end of the full path in test_respondent_path.py only for fit, not by axe).
"""

from __future__ import annotations

import pytest

from tests.accessibility import axe_violations, describe

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _check(page, where: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"{where}: {describe(violations)}"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{where}: the page is {width} px wide on a 360 px phone"


def _first_form_submit(page) -> None:
    page.locator("form[method=post i] button[type=submit]").last.click()
    page.wait_for_load_state()


@pytest.fixture
def phone(browser):
    """A 360 px phone that lets axe-core in: the survey's CSP forbids injected scripts, so this
    context bypasses it (the pages are otherwise exactly what a citizen gets)."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                  has_touch=True, locale="zh-CN", bypass_csp=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_respondent_page_has_no_axe_violations(live_survey, phone, lang):
    base, year = live_survey.base_url, live_survey.year
    phone.goto(f"{base}/language/{lang}?next=/{year}/")
    _check(phone, f"landing ({lang})")
    phone.goto(f"{base}/{year}/consent")
    _check(phone, f"consent ({lang})")
    _first_form_submit(phone)  # agree: the first questionnaire page
    assert "/page/" in phone.url, phone.url
    _check(phone, f"first page ({lang})")
    _first_form_submit(phone)  # nothing answered: the page again, with its errors
    assert phone.locator("[role=alert]").count(), "no error summary after an empty submit"
    _check(phone, f"page with errors ({lang})")
    phone.goto(f"{base}/{year}/resume")
    _check(phone, f"resume ({lang})")
    phone.locator("form[method=post i] input[type=text]").first.fill("WRONG000")
    _first_form_submit(phone)
    _check(phone, f"resume with an error ({lang})")
    phone.goto(f"{base}/{year}/page/no-such-page")
    _check(phone, f"not found ({lang})")
