"""The worked XLSForm example, imported with the real commands, answered in Chromium on a 360 px
phone in Chinese and in English (partly with the keyboard), and found again in the export.

The example (questionnaires/examples/ten_norms_local_module.xlsx) asks the national core (scale
items, the demographics) and organisation DEMO's local module of every question type: a scale
with "not applicable", single choices, a multiple choice with shuffled options, an integer and a
decimal with units on a page of shuffled order, a short text, and a question behind a compound
condition. Each run hides some questions by its answers; axe-core checks every page it sees.
"""

from __future__ import annotations

import re
import secrets
import threading
from pathlib import Path

import pytest

from questionnaires import province_regions
from questionnaires.xlsform import import_xlsform
from tests.accessibility import axe_violations, describe

from .conftest import invoke

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EXAMPLE = (Path(__file__).resolve().parents[2] / "questionnaires" / "examples"
           / "ten_norms_local_module.xlsx")
YEAR = 2027
ORG = "DEMO"
PHONE_WIDTH = 360
CJK = re.compile(r"[\u4e00-\u9fff]")

# What each run answers, by item code: a choice's code, the set of a multiple choice's codes,
# a number or a text as typed. An item a run's answers hide is absent.
ANSWERS = {
    "zh": {
        "sex": 1, "age_group": 2, "province": 440000, "urban_rural": 2, "education": 4,
        "N02_A1": 5, "N02_P1": 4, "N02_P2": 2, "N02_P3": 9, "N02_P4": 3,
        "N04_A1": 4, "N04_P1": 3, "N04_P2": 1, "N04_P3": 9,  # never by car: N04_P4 hidden
        "N05_A1": 5, "N05_P1": 4, "N05_P2": 9, "N05_P3": 5,  # sorts waste: source asked
        "N06_A1": 3, "N06_P1": 2, "ATTN1": 4, "N06_P2": 5, "N06_P3": 9,
        "DEMO_recycling_station": 9, "DEMO_sorting_source": 2,
        "DEMO_bins": {1, 3}, "DEMO_trips": "12", "DEMO_spend": "8.5",
        # rural: (food-waste bin or 10+ trips) and not rural is false, DEMO_bins_reason hidden
        "DEMO_comment": "=1+1 少用塑料袋",
    },
    "en": {
        "sex": 2, "age_group": 5, "province": 110000, "urban_rural": 1, "education": 5,
        "N02_A1": 4, "N02_P1": 5, "N02_P2": 3, "N02_P3": 4, "N02_P4": 9,
        "N04_A1": 5, "N04_P1": 4, "N04_P2": 9, "N04_P3": 3, "N04_P4": 5,
        "N05_A1": 3, "N05_P1": 9, "N05_P2": 2, "N05_P3": 4,  # no sorting bins: source hidden
        "N06_A1": 5, "N06_P1": 1, "ATTN1": 4, "N06_P2": 4, "N06_P3": 3,
        "DEMO_recycling_station": 3,
        "DEMO_bins": {2, 3, 4}, "DEMO_trips": "0", "DEMO_spend": "1234.56",
        "DEMO_bins_reason": 3,  # urban with a food-waste bin: shown
        # DEMO_comment is optional and left empty
    },
}
HIDDEN = {"zh": {"N04_P4", "DEMO_bins_reason"}, "en": {"DEMO_sorting_source"}}
RANDOMISED = ("local_habits", "DEMO_bins")  # the page of shuffled order, the shuffled options


class _Live:
    def __init__(self, app, base_url: str, workdir: Path):
        self.app, self.base_url, self.workdir = app, base_url, workdir

    def export_rows(self) -> list[dict[str, str]]:
        import csv

        out = self.workdir / "every_type.csv"
        invoke(self.app, "export", "--wave", str(YEAR), "--org", ORG, "--out", str(out))
        with open(out, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def wave():
    return import_xlsform(EXAMPLE, YEAR, org=ORG).wave


@pytest.fixture(scope="module")
def imported_survey(tmp_path_factory):
    """The example imported, frozen and opened through the real commands, served on a port."""
    from werkzeug.serving import make_server

    from survey import create_app

    workdir = tmp_path_factory.mktemp("xlsform_every_type")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'survey.sqlite'}",
                      "SECRET_KEY": secrets.token_hex(16), "WTF_CSRF_ENABLED": True})
    invoke(app, "init-db")
    invoke(app, "create-org", ORG, "--name-zh", "示例市", "--name-en", "Demo City")
    # --org codes the form's local questions DEMO_…; --wave-org makes the wave DEMO's, so
    # respondents answer at /o/DEMO/YEAR/
    out = invoke(app, "import-xlsform", str(EXAMPLE), "--year", str(YEAR), "--org", ORG,
                 "--wave-org", ORG)
    assert "7 local" in out and "questionnaire loaded" in out, out
    # from today, whatever the form's first day
    invoke(app, "open-wave", str(YEAR), "--org", ORG)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-xlsform", daemon=True)
    thread.start()
    try:
        yield _Live(app, f"http://127.0.0.1:{server.server_port}", workdir)
    finally:
        server.shutdown()
        thread.join(10)


@pytest.fixture
def phone(browser):
    """A 360 px phone asking for Chinese that lets axe-core in (the CSP forbids injected
    scripts)."""
    context = browser.new_context(viewport={"width": PHONE_WIDTH, "height": 740},
                                  device_scale_factor=2, is_mobile=True, has_touch=True,
                                  locale="zh-CN", bypass_csp=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
    context.close()


def _check_page(page, lang: str, checked: list[str]) -> None:
    """axe-core without violations, no sideways scrolling, the run's language, no JS error."""
    where = page.url.split(str(YEAR), 1)[-1] or "/"
    violations = axe_violations(page)
    assert not violations, f"{where} ({lang}): {describe(violations)}"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{where} ({lang}) is {width} px wide on a 360 px phone"
    assert page.locator("html").get_attribute("lang").startswith(lang), where
    if lang == "en":
        texts = " ".join(page.locator("main legend, main label").all_inner_texts())
        assert not CJK.search(texts), f"{where}: Chinese question text in the English run"
    assert page.js_errors == [], f"{where}: {page.js_errors}"
    checked.append(where)


def _click_and_wait(page, locator) -> None:
    with page.expect_navigation(wait_until="load"):
        locator.click()


def _choose_radio(page, code: str, value: int, by_keyboard: bool) -> None:
    radios = page.locator(f'input[type=radio][name="{code}"]')
    target = page.locator(f'input[type=radio][name="{code}"][value="{value}"]')
    if by_keyboard:  # focus the group, then arrow keys (which select) or Space
        values = [int(v) for v in radios.evaluate_all("els => els.map(e => e.value)")]
        radios.first.focus()
        steps = values.index(value)
        if steps == 0:
            page.keyboard.press("Space")
        for _ in range(steps):
            page.keyboard.press("ArrowDown")
    else:
        target.check()
    assert target.is_checked(), f"{code}: {value} was not selected"


def _choose_boxes(page, code: str, values: set[int], by_keyboard: bool) -> None:
    for value in sorted(values):
        box = page.locator(f"#{code}-{value}")
        if by_keyboard:
            box.focus()
            page.keyboard.press("Space")
        else:
            box.check()
        assert box.is_checked(), f"{code}: {value} was not ticked"


def _type(page, code: str, text: str) -> None:
    field = page.locator(f"#{code}")
    field.focus()
    page.keyboard.type(text)
    assert field.input_value() == text


def _answer_page(page, wave, key: str, answers: dict, lang: str, shown: list[str]) -> None:
    """Answer the page's visible questions; half the choices and all typing by keyboard in the
    Chinese run, a quarter of the choices by keyboard in the English run."""
    for item in next(p for p in wave.pages if p.key == key).items:
        if not page.locator(f'[name="{item.code}"]').count():
            continue
        shown.append(item.code)
        if item.code not in answers:
            continue
        value = answers[item.code]
        by_keyboard = len(shown) % (2 if lang == "zh" else 4) == 0
        if item.widget == "select":
            page.locator(f'select[name="{item.code}"]').select_option(str(value))
        elif item.type == "select_multiple":
            _choose_boxes(page, item.code, value, by_keyboard=(lang == "zh"))
        elif item.type in ("integer", "decimal", "text"):
            _type(page, item.code, value)
        else:
            _choose_radio(page, item.code, value, by_keyboard)


def _shown_order(page, key: str) -> dict[str, str]:
    """The order the respondent saw on the page of shuffled order, as the export writes it."""
    if key != RANDOMISED[0]:
        return {}
    items = page.locator("main [id^='q-']").evaluate_all("els => els.map(e => e.id.slice(2))")
    options = page.locator(f"input[name='{RANDOMISED[1]}']").evaluate_all(
        "els => els.map(e => e.value)")
    return {f"order__{key}": " ".join(items), f"order__{RANDOMISED[1]}": " ".join(options)}


def _answer_survey(page, base_url: str, wave, lang: str) -> tuple[list[str], dict, list]:
    """Landing → consent → every page → thank-you; returns the questions shown, the orders
    seen and the pages checked."""
    shown: list[str] = []
    orders: dict[str, str] = {}
    checked: list[str] = []
    page.goto(f"{base_url}/o/{ORG}/{YEAR}/")
    _check_page(page, "zh", checked)
    if lang == "en":
        _click_and_wait(page, page.get_by_role("link", name="English"))
        _check_page(page, "en", checked)
    _click_and_wait(page, page.locator(f"main a[href$='/{YEAR}/consent']"))
    _check_page(page, lang, checked)
    _click_and_wait(page, page.locator("form[method=post i] button[type=submit]").last)
    while f"/{YEAR}/page/" in page.url:
        key = page.url.rsplit("/", 1)[-1].split("?")[0]
        _check_page(page, lang, checked)
        orders.update(_shown_order(page, key))
        _answer_page(page, wave, key, ANSWERS[lang], lang, shown)
        _click_and_wait(page, page.locator("form[method=post i] button[value=next]"))
    assert page.url.endswith(f"/o/{ORG}/{YEAR}/thanks"), f"{lang}: ended on {page.url}"
    _check_page(page, lang, checked)
    return shown, orders, checked


def _neutralised(text: str) -> str:
    """The export's guard against spreadsheet formulas: a leading ' before = + - @."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _expected_row(wave, answers: dict) -> dict[str, str]:
    """Every export column of every question, from the answers given."""
    row: dict[str, str] = {}
    for code, item in wave.items.items():
        value = answers.get(code)
        if item.type == "select_multiple":
            for option in item.options:
                row[f"{code}__{option.code}"] = (
                    "" if value is None else str(int(option.code in value)))
        elif value is None:
            row[code] = ""
        elif item.kind == "demographic":
            row[code] = item.option(value).value
        elif item.type == "text":
            row[code] = _neutralised(value)
        else:
            row[code] = str(value)
    row["region"] = province_regions()[row["province"]]
    return row


def test_the_imported_example_answered_in_both_languages_is_the_export(
        imported_survey, wave, phone):
    runs = {}
    for lang in ("zh", "en"):
        if lang == "en":  # a second respondent: a new phone with its own cookies
            phone.context.clear_cookies()
        runs[lang] = _answer_survey(phone, imported_survey.base_url, wave, lang)

    for lang, (shown, orders, checked) in runs.items():
        asked = {item.code for page in wave.pages for item in page.items}
        assert set(shown) == asked - HIDDEN[lang], f"{lang}: questions shown"
        assert set(ANSWERS[lang]) == set(shown) - ({"DEMO_comment"} if lang == "en" else set())
        assert set(orders) == {f"order__{RANDOMISED[0]}", f"order__{RANDOMISED[1]}"}
        # landing, (English landing,) consent, every page seen, thanks
        assert len(checked) >= len(wave.pages) + 2

    rows = imported_survey.export_rows()
    assert len(rows) == 2
    types_checked = set()
    for lang, (_shown, orders, _checked) in runs.items():
        sex = wave.items["sex"].option(ANSWERS[lang]["sex"]).value
        row = next(r for r in rows if r["sex"] == sex)
        expected = _expected_row(wave, ANSWERS[lang])
        assert {column: row[column] for column in expected} == expected, lang
        assert {c: row[c] for c in row if c.startswith("order__")} == orders, lang
        assert sorted(orders[f"order__{RANDOMISED[1]}"].split()) == ["1", "2", "3", "4"]
        types_checked |= {wave.items[code].type for code in ANSWERS[lang]}
    assert types_checked == {"scale", "single_choice", "select_multiple", "integer",
                             "decimal", "text"}
