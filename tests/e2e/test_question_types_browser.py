"""The typed question widgets in Chromium on a 360 px phone, in Chinese and in English: answered
with the keyboard, refused with messages next to the fields, axe-core without violations, and
the answers in the export row."""

from __future__ import annotations

import secrets
import threading

import pytest
import yaml

from tests.accessibility import axe_violations, describe
from tests.typed_wave import typed_wave_data

from .conftest import invoke

pytestmark = [pytest.mark.browser, pytest.mark.slow]
YEAR = 2031


class _Live:
    def __init__(self, app, base_url, workdir):
        self.app, self.base_url, self.workdir = app, base_url, workdir

    def export_rows(self):
        import csv

        out = self.workdir / "typed.csv"
        invoke(self.app, "export", "--wave", str(YEAR), "--out", str(out))
        with open(out, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def typed_survey(tmp_path_factory):
    from werkzeug.serving import make_server

    from survey import create_app

    workdir = tmp_path_factory.mktemp("typed")
    wave_file = workdir / f"{YEAR}.yaml"
    wave_file.write_text(yaml.safe_dump(typed_wave_data(YEAR), allow_unicode=True,
                                        sort_keys=False), encoding="utf-8")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'typed.sqlite'}",
                      "SECRET_KEY": secrets.token_hex(16), "WTF_CSRF_ENABLED": True})
    invoke(app, "init-db")
    invoke(app, "load-questionnaire", str(wave_file))
    invoke(app, "open-wave", str(YEAR))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield _Live(app, f"http://127.0.0.1:{server.server_port}", workdir)
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture
def phone(browser):
    """A 360 px phone that lets axe-core in (the CSP forbids injected scripts)."""
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                  has_touch=True, locale="zh-CN", bypass_csp=True)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _check(page, where: str) -> None:
    violations = axe_violations(page)
    assert not violations, f"{where}: {describe(violations)}"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{where}: the page is {width} px wide on a 360 px phone"


def _submit(page) -> None:
    page.locator("form[method=post i] button[value=next]").click()
    page.wait_for_load_state()


def _answer_choice_pages(page) -> None:
    """Pick an answer for every choice question until the page of local items."""
    while "/page/local" not in page.url:
        for select in page.locator("select").all():
            select.select_option(index=1)
        for fieldset in page.locator("fieldset.question").all():
            radios = fieldset.locator("input[type=radio]")
            if radios.count():
                code = fieldset.get_attribute("id")
                radios.nth(3 if code == "q-ATTN1" else 0).check()
        _submit(page)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_typed_widgets_on_a_phone(typed_survey, phone, lang):
    base = typed_survey.base_url
    phone.goto(f"{base}/language/{lang}?next=/{YEAR}/consent")
    phone.locator("form[method=post i] button[type=submit]").last.click()
    phone.wait_for_load_state()
    _answer_choice_pages(phone)
    _check(phone, f"typed questions ({lang})")
    # wrong answers, typed as a person would
    phone.get_by_role("checkbox").nth(0).check()
    for n in (1, 2, 3):
        phone.get_by_role("checkbox").nth(n).check()
    phone.locator("#DEMO_trips").fill("１２")
    phone.locator("#DEMO_spend").fill("12.345")
    phone.locator("#DEMO_comment").fill("x" * 100)
    _submit(phone)
    errors = phone.locator(".field-error")
    assert errors.count() == 3, phone.content()[:2000]
    assert phone.locator("#DEMO_trips").get_attribute("aria-invalid") == "true"
    assert "DEMO_trips-error" in phone.locator("#DEMO_trips").get_attribute("aria-describedby")
    expected = {"zh": "请用数字0到9输入数值。",
                "en": "Please type the number with the digits 0 to 9."}
    assert phone.locator("#DEMO_trips-error").inner_text() == expected[lang]
    _check(phone, f"typed questions with errors ({lang})")
    # corrected
    phone.get_by_role("checkbox").nth(3).uncheck()
    phone.locator("#DEMO_trips").fill("12")
    phone.locator("#DEMO_spend").fill("12.34")
    phone.locator("#DEMO_comment").fill(f"=SUM(A1) {lang}")
    _submit(phone)
    assert phone.url.endswith(f"/{YEAR}/thanks"), phone.url
    row = next(r for r in typed_survey.export_rows() if r["DEMO_comment"].endswith(lang))
    assert [row[f"DEMO_bins__{k}"] for k in range(1, 5)] == ["1", "1", "1", "0"]
    assert (row["DEMO_trips"], row["DEMO_spend"]) == ("12", "12.34")
    assert row["DEMO_comment"] == f"'=SUM(A1) {lang}"
