"""A citizen fills in the whole survey in Chromium on a 360 px phone, in Chinese and in English.

Answers are chosen deterministically (some with the keyboard: Tab, Space, arrow keys), submitted
through the real pages (CSRF on), and the response must then appear in the real export with exactly
the answers given: every item column and the demographics.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from questionnaires import load_wave, province_regions

from .conftest import save_screenshot

# a missing Chromium or playwright skips through the `browser` fixture (fails under CI)
pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE_WIDTH = 360
CJK = re.compile(r"[\u4e00-\u9fff]")
BACKWARD = re.compile(r"back|prev|上一|返回", re.I)

# One JS round trip describes every question on the page: name, widget, offered codes, checked.
QUESTIONS_JS = """
(form) => {
  const out = [];
  const seen = new Set();
  for (const el of form.querySelectorAll('input[type=radio], select')) {
    const name = el.name;
    if (!name || seen.has(name)) continue;
    seen.add(name);
    if (el.tagName === 'SELECT') {
      out.push({name, widget: 'select',
                values: [...el.options].map(o => o.value).filter(v => v !== '')});
    } else {
      const radios = [...form.querySelectorAll('input[type=radio]')].filter(r => r.name === name);
      out.push({name, widget: 'radio', values: radios.map(r => r.value)});
    }
  }
  return out;
}
"""


def assert_fits_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{page.url} scrolls sideways on a 360 px phone: {width}px wide"


def navigate(page, action) -> None:
    """Do ``action`` (a click) and wait until the page it leads to has loaded."""
    with page.expect_navigation(wait_until="load"):
        action()


def post_form(page):
    """The page's questionnaire form (method=post), or None on a page without one."""
    forms = page.locator("form[method=post i]")
    for i in range(forms.count()):
        form = forms.nth(i)
        if form.locator("input[type=radio], select, input[type=checkbox], button").count():
            if (
                not form.locator("input[type=text]").count()
                or form.locator("input[type=radio], select").count()
            ):
                return form
    return None


def forward_button(form):
    buttons = form.locator("button[type=submit], button:not([type]), input[type=submit]")
    candidates = []
    for i in range(buttons.count()):
        b = buttons.nth(i)
        label = f"{b.get_attribute('name') or ''} {b.get_attribute('value') or ''} {b.inner_text()}"
        if not BACKWARD.search(label):
            candidates.append(b)
    assert candidates, "no button that moves forward"
    return candidates[0]


class Answerer:
    """Chooses answers deterministically and enters them, some with the keyboard only."""

    def __init__(self, wave, seed: int, fixed: dict[str, str]):
        self.wave = wave
        self.seed = seed
        self.fixed = fixed  # answers chosen on purpose (e.g. to show or hide a condition)
        self.given: dict[str, str] = {}  # item code -> answer code as sent
        self.by_keyboard = 0
        self.by_tab = 0
        self.n = 0

    def choose(self, name: str, values: list[str]) -> str:
        item = self.wave.items[name]
        if name in self.fixed and self.fixed[name] in values:
            return self.fixed[name]
        if item.expected is not None:  # the attention check: answer attentively
            return str(item.expected)
        self.n += 1
        # walk through the scale so different answers (and "not applicable") all occur
        return values[(self.n * 3 + self.seed) % len(values)]

    def answer(self, page, form, question: dict, *, previous_by_keyboard: bool) -> bool:
        """Enter one answer; returns True when it was entered with the keyboard."""
        name, values = question["name"], question["values"]
        value = self.choose(name, values)
        self.given[name] = value
        if question["widget"] == "select":
            form.locator(f'select[name="{name}"]').select_option(value)
            return False
        radios = form.locator(f'input[type=radio][name="{name}"]')
        target = radios.nth(values.index(value))
        if self.n % 2 == 0:
            target.check()  # a tap
            assert target.is_checked()
            return False
        # keyboard: reach the group with Tab from the previous one when possible
        reached = False
        if previous_by_keyboard:
            page.keyboard.press("Tab")
            reached = page.evaluate("document.activeElement && document.activeElement.name") == name
            self.by_tab += reached
        if not reached:
            radios.first.focus()
        focused = page.evaluate("document.activeElement.value")
        index = values.index(focused)
        if index == values.index(value):
            page.keyboard.press("Space")
        else:
            key = "ArrowDown" if values.index(value) > index else "ArrowUp"
            for _ in range(abs(values.index(value) - index)):
                page.keyboard.press(key)
        assert target.is_checked(), f"{name}: keyboard did not select {value}"
        self.by_keyboard += 1
        return True


def fill_page(page, form, answerer: Answerer, skip: str | None = None) -> list[str]:
    questions = form.evaluate(QUESTIONS_JS)
    names = []
    keyboard = False
    for q in questions:
        assert q["name"] in answerer.wave.items, f"field {q['name']!r} is not an item code"
        names.append(q["name"])
        if q["name"] == skip:
            keyboard = False
            continue
        keyboard = answerer.answer(page, form, q, previous_by_keyboard=keyboard)
    return names


def check_validation_error(page, answerer: Answerer, skipped: str) -> None:
    """A skipped required question: the message sits in its fieldset, the fieldset (or its
    inputs) point at it with aria-describedby, and a role=alert region announces it."""
    group = page.locator(f'fieldset:has([name="{skipped}"])')
    assert group.count() == 1, f"question {skipped} is not one fieldset"
    assert group.locator("legend").count() == 1, f"question {skipped} has no legend"
    message = page.evaluate(
        """(fieldset) => {
            const owners = [fieldset, ...fieldset.querySelectorAll('input, select')];
            for (const el of owners) {
                for (const id of (el.getAttribute('aria-describedby') || '').split(/\\s+/)) {
                    const target = id && document.getElementById(id);
                    if (target && fieldset.contains(target) && target.textContent.trim())
                        return target.textContent.trim();
                }
            }
            return null;
        }""",
        group.element_handle(),
    )
    assert message, f"no error message inside {skipped}'s fieldset tied by aria-describedby"
    assert group.locator(f"text={message}").first.is_visible()
    announced = page.locator('[role="alert"]').filter(has_text=message)
    assert announced.count() >= 1, f"the error {message!r} is not in a role=alert region"
    # the answers already given on the page were kept
    for name, value in answerer.given.items():
        box = page.locator(f'input[type=radio][name="{name}"]')
        if box.count():
            assert page.locator(f'input[name="{name}"][value="{value}"]').is_checked(), (
                f"{name} lost its answer when the page came back with an error"
            )
        elif page.locator(f'select[name="{name}"]').count():
            assert page.locator(f'select[name="{name}"]').input_value() == value


def expected_row(wave, given: dict[str, str]) -> dict[str, str]:
    regions = province_regions()
    expected = {}
    for code, item in wave.items.items():
        value = given.get(code)
        if value is None:  # not shown exports empty; not applicable exports its code 9
            expected[code] = ""
        elif item.kind == "demographic":
            expected[code] = item.option(int(value)).value
        else:
            expected[code] = str(int(value))
    if expected.get("province"):
        expected["region"] = regions[expected["province"]]
    return expected


def condition_answers(wave, show: bool) -> dict[str, str]:
    """Answers to the items that conditions depend on: all met (show) or none met (hide)."""
    fixed = {}
    for item in wave.items.values():
        if item.condition is None:
            continue
        trigger = wave.items[item.condition.item]
        codes = [o.code for o in trigger.all_options if (o.code in item.condition.values) == show]
        if codes:
            fixed[trigger.code] = str(codes[-1])
    return fixed


def check_study_information(page, wave, lang: str) -> None:
    """The consent page lists organiser, contact, purpose, retention and who may take part,
    under a heading, as a description list in the page's language."""
    assert page.get_by_role("heading", name="关于本调查" if lang == "zh" else "About this survey")
    terms = page.locator("dl.study dt")
    assert terms.count() == 5
    details = page.locator("dl.study dd").all_inner_texts()
    study = wave.study
    assert details == [getattr(study, f)[lang] for f in
                       ("organiser", "contact", "purpose", "retention", "eligibility")]


def walk_survey(page, live, lang: str, *, check_error: bool) -> Answerer:
    wave = load_wave(live.wave_file)
    # the Chinese run hides the conditional questions, the English run shows them
    answerer = Answerer(
        wave, seed=0 if lang == "zh" else 1, fixed=condition_answers(wave, show=(lang == "en"))
    )

    page.goto(live.base_url + "/")
    assert page.locator("html").get_attribute("lang").startswith("zh"), "Chinese is the default"
    assert_fits_phone(page)
    if lang == "en":
        switch = (
            page.get_by_role("link", name=re.compile("English"))
            .or_(page.get_by_role("button", name=re.compile("English")))
            .first
        )
        navigate(page, switch.click)
        assert page.locator("html").get_attribute("lang").startswith("en")
        assert_fits_phone(page)

    seen_questions = norm_page_shot = False
    for _step in range(40):
        form = post_form(page)
        if form is None:
            if seen_questions:
                break  # thank-you page
            # landing page: its main link leads to the consent page
            navigate(page, page.locator('main a[href$="/consent"]').first.click)
            assert_fits_phone(page)
            check_study_information(page, wave, lang)
            continue
        names = fill_page(page, form, answerer)
        if names and answerer.wave.items[names[0]].norm and not norm_page_shot:
            norm_page_shot = True  # the first Ten Norms page, answered
            save_screenshot(page, f"questionnaire-{lang}")
        if lang == "en" and names:
            legends = " ".join(form.locator("legend").all_inner_texts())
            assert not CJK.search(legends), f"Chinese question text in English: {legends[:200]}"
        if names and not seen_questions:
            seen_questions = True
            if check_error:
                # skip the first question: the page comes back with the error next to it
                skipped = names[0]
                del answerer.given[skipped]
                page.locator(f'[name="{skipped}"]').first.evaluate(
                    "e => document.getElementsByName(e.name).forEach(r => { r.checked = false; })"
                )
                navigate(page, forward_button(form).click)
                check_validation_error(page, answerer, skipped)
                assert_fits_phone(page)
                save_screenshot(page, f"validation-error-{lang}")
                form = post_form(page)
                fill_page(page, form, answerer)
        button = forward_button(form)
        label = button.inner_text()
        assert bool(CJK.search(label)) == (lang == "zh"), f"button {label!r} on a {lang} page"
        navigate(page, button.click)
        assert_fits_phone(page)
        body = page.locator("body").inner_text()
        if lang == "zh":
            assert CJK.search(body), f"{page.url} shows no Chinese"
    else:
        pytest.fail("the survey did not end within 40 pages")

    save_screenshot(page, f"thank-you-{lang}")
    assert not page.js_errors, page.js_errors
    return answerer


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_whole_survey_on_a_phone_lands_in_the_export(live_survey, phone, lang):
    before = {row["response_id"] for row in live_survey.export_rows()}

    answerer = walk_survey(phone, live_survey, lang, check_error=(lang == "zh"))

    rows = [r for r in live_survey.export_rows() if r["response_id"] not in before]
    assert len(rows) == 1, f"expected one new response in the export, found {len(rows)}"
    row = rows[0]
    assert row["wave"] == str(live_survey.year)
    started = dt.datetime.fromisoformat(row["started_at"].replace("Z", "+00:00"))
    submitted = dt.datetime.fromisoformat(row["submitted_at"].replace("Z", "+00:00"))
    # times carry the minute only; the duration is the stored whole seconds (README.md,
    # "Data protection")
    assert started.second == submitted.second == 0
    assert started <= submitted <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=5)
    duration = float(row["duration_s"])
    assert duration == int(duration) and 0 < duration
    assert (submitted - started).total_seconds() - 60 < duration < (
        submitted - started).total_seconds() + 60
    expected = expected_row(answerer.wave, answerer.given)
    got = {code: row.get(code) for code in expected}
    assert got == expected
    conditional = [code for code, item in answerer.wave.items.items() if item.condition]
    for code in conditional:
        shown = code in answerer.given
        assert shown == (lang == "en"), f"conditional question {code} shown={shown} in {lang}"
    assert answerer.by_keyboard >= 3 and answerer.by_tab >= 1, (
        f"keyboard answers {answerer.by_keyboard}, reached by Tab {answerer.by_tab}"
    )
