"""An organiser's whole path in Chromium, against the real app on a real port.

The organisation and the organiser's account come from the real CLI commands (``create-org``,
``create-user --password-stdin``); everything after that goes through the browser as a person
does it: sign in through the form, create a wave from the item bank (some norms, some of a
norm's items, the attention check), preview every page of it, open it; a citizen on a 360 px
phone (a second browser context, its own cookies) answers it in Chinese to the thank-you page;
back in the console the completed count and the funnel have moved (monitoring is recomputed
every second in this app, every minute by default), and the CSV export, downloaded from the
wave's page, holds the citizen's response with the answer codes given.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import time
from pathlib import Path

import pytest

from .conftest import create_account, invoke, new_password, serve, sign_in, staff_app
from .test_respondent_path import (
    Answerer,
    assert_fits_phone,
    expected_row,
    fill_page,
    forward_button,
    navigate,
    post_form,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ORG = "CITYPATH"
YEAR = 2031
EMAIL = "organiser@citypath.example.org"
# the wave's questions: the demographics, all of N01, three of N03's four, the attention check
CHOSEN = ("sex", "age_group", "province", "urban_rural", "education",
          "N01_A1", "N01_P1", "N01_P2", "N03_A1", "N03_P1", "N03_P3", "ATTN1")
BANK_TEXTS = {
    "title": ("城市文明行为调查", "City civility survey"),
    "consent": ("本调查匿名。\n\n您可以随时停止。",
                "This survey is anonymous.\n\nYou may stop at any time."),
    "study_organiser": ("市文明办", "City civility office"),
    "study_contact": ("survey@citypath.example.org", "survey@citypath.example.org"),
    "study_purpose": ("了解市民行为", "To learn how citizens act"),
    "study_retention": ("五年", "Five years"),
    "study_eligibility": ("18岁及以上居民", "Residents aged 18 and over"),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    app = staff_app(tmp_path_factory.mktemp("console-path"))
    invoke(app, "create-org", ORG, "--name-zh", "路径市", "--name-en", "Path City")
    password = new_password()
    create_account(app, EMAIL, ORG, "organiser", password)
    with serve(app) as base_url:
        yield app, base_url, password


def _fieldwork(page) -> dict[str, int]:
    """The wave page's counts as the organiser reads them: the responses table's rows and the
    funnel's "saved" column, by row heading."""
    counts = {}
    for table in ("Responses", "Funnel and break-off by page"):
        rows = page.locator("table").filter(
            has=page.locator("caption", has_text=table)).locator("tbody tr")
        for i in range(rows.count()):
            row = rows.nth(i)
            cell = row.locator("td").first.inner_text().strip()
            if cell.isdigit():  # not the completion rate
                counts[f"{table}: {row.locator('th').inner_text().strip()}"] = int(cell)
    return counts


def _fieldwork_when(page, done, seconds: float = 10.0) -> dict[str, int]:
    """Reload the wave's page (as a person waiting for the numbers does) until ``done``."""
    deadline = time.monotonic() + seconds
    while True:
        counts = _fieldwork(page)
        if done(counts) or time.monotonic() > deadline:
            return counts
        time.sleep(0.5)
        page.reload()


def _download_csv(page, seconds: float = 60.0) -> str:
    """The CSV export as a person gets it: on the wave's page choose CSV and ask for the
    export; the export job's page reloads itself until it offers the file."""
    page.check("#format-csv")
    navigate(page, page.locator("form[action$='/exports'] button[type=submit]").click)
    assert "/exports/" in page.url, page.url
    link = page.locator("a[href$='/file']")
    link.wait_for(timeout=seconds * 1000)
    with page.expect_download() as download:
        link.click()
    return Path(download.value.path()).read_text(encoding="utf-8-sig")


def test_an_organiser_creates_opens_watches_and_exports_a_wave(site, browser):
    app, base, password = site
    began = time.monotonic()
    desk = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB",
                               accept_downloads=True)
    desk.set_default_timeout(10_000)
    organiser = desk.new_page()
    errors: list[str] = []
    organiser.on("pageerror", lambda exc: errors.append(str(exc)))

    # sign in, then the organisation's page from the console's list
    sign_in(organiser, base, EMAIL, password, lang="en")
    navigate(organiser, organiser.get_by_role("link", name="Path City").click)
    assert organiser.url.endswith(f"/console/{ORG}/")
    assert organiser.get_by_text("No waves yet.").is_visible()

    # a new wave from the item bank: the checklist comes with the national core chosen
    navigate(organiser, organiser.get_by_role("link", name="New wave").click)
    boxes = organiser.locator("input[type=checkbox][name=items]")
    assert boxes.count() >= 40 and organiser.locator("#item-N10_P2").is_checked()
    today = dt.datetime.now(dt.UTC).date()
    organiser.fill("#year", str(YEAR))
    organiser.fill("#opens", (today - dt.timedelta(days=1)).isoformat())
    organiser.fill("#closes", (today + dt.timedelta(days=60)).isoformat())
    for name, (zh, en) in BANK_TEXTS.items():
        organiser.fill(f"#{name}_zh", zh)
        organiser.fill(f"#{name}_en", en)
    for code in boxes.evaluate_all("boxes => boxes.map(b => b.value)"):
        organiser.locator(f"#item-{code}").set_checked(code in CHOSEN)
    navigate(organiser, organiser.get_by_role("button", name="Create the wave",
                                              exact=True).click)
    assert organiser.url.endswith(f"/console/{ORG}/{YEAR}/"), organiser.url
    assert organiser.locator("dl.study dd").first.inner_text().strip().lower() == "draft"
    assert _fieldwork(organiser)["Responses: Completed"] == 0

    # preview: the consent page, then every page, to the last
    navigate(organiser, organiser.get_by_role("link", name="Preview the respondents' pages").click)
    assert organiser.get_by_role("heading", name="Before you start").is_visible()
    assert "This survey is anonymous." in organiser.locator(".consent").inner_text()
    previewed = []
    while organiser.get_by_role("link", name="Next page").count():
        navigate(organiser, organiser.get_by_role("link", name="Next page").click)
        previewed.append(organiser.locator("h1").inner_text())
        assert not organiser.locator("form[method=post i]").filter(
            has=organiser.locator("input[type=radio], select")).count(), "a preview posts nothing"
    names = organiser.locator("input[type=radio], select").evaluate_all(
        "els => [...new Set(els.map(e => e.name))]")
    assert len(previewed) == 3, previewed  # about you, N01, N03 with the attention check
    assert "ATTN1" in names and "N03_P2" not in names, names

    # open it (the dates of the definition), back on the wave's page
    navigate(organiser, organiser.get_by_role("link", name=re.compile(f"Wave {YEAR}")).click)
    navigate(organiser, organiser.get_by_role("button", name="Open the wave").click)
    assert organiser.locator("dl.study dd").first.inner_text().strip().lower() == "open"
    address = organiser.locator("dl.study code").inner_text()
    assert address == f"/o/{ORG}/{YEAR}/", address
    before = _fieldwork(organiser)
    assert before["Responses: Started"] == before["Responses: Completed"] == 0

    # a citizen on a phone, in Chinese, answers to the end
    definition = _definition(app)
    phone_context = browser.new_context(viewport={"width": 360, "height": 740},
                                        device_scale_factor=2, is_mobile=True, has_touch=True,
                                        locale="zh-CN")
    phone_context.set_default_timeout(10_000)
    phone = phone_context.new_page()
    phone.on("pageerror", lambda exc: errors.append(str(exc)))
    answerer = Answerer(definition, seed=2, fixed={})
    phone.goto(base + address)
    assert phone.locator("html").get_attribute("lang").startswith("zh")
    assert "城市文明行为调查" in phone.locator("body").inner_text()
    assert_fits_phone(phone)
    navigate(phone, phone.locator('main a[href$="/consent"]').first.click)
    assert "市文明办" in phone.locator("dl.study").inner_text()
    pages = 0
    while (form := post_form(phone)) is not None and pages < 10:
        named = fill_page(phone, form, answerer)
        pages += bool(named)
        navigate(phone, forward_button(form).click)
        assert_fits_phone(phone)
    assert phone.url.endswith(f"/o/{ORG}/{YEAR}/thanks"), phone.url
    assert pages == 3 and set(answerer.given) == set(CHOSEN), sorted(answerer.given)
    phone_context.close()

    # back in the console: one started, one completed, every page saved once
    organiser.reload()
    after = _fieldwork_when(organiser, lambda c: c["Responses: Completed"] == 1)
    assert after["Responses: Started"] == after["Responses: Completed"] == 1, after
    saved = [v for k, v in after.items() if k.startswith("Funnel") and re.search(r": \d+\. ", k)]
    assert saved == [1, 1, 1], after
    assert after["Funnel and break-off by page: Completed"] == 1
    per_day = organiser.locator("table").filter(
        has=organiser.locator("caption", has_text="Completions per day")).locator("tbody tr")
    assert per_day.count() == 1 and per_day.locator("td").inner_text() == "1"

    # the CSV export holds the citizen's response with the codes given
    rows = list(csv.DictReader(io.StringIO(_download_csv(organiser))))
    assert len(rows) == 1, f"{len(rows)} rows in the export"
    row = rows[0]
    assert row["wave"] == str(YEAR)
    expected = expected_row(definition, answerer.given)
    assert {code: row.get(code) for code in expected} == expected
    assert "N03_P2" not in row and "N10_P2" not in row  # only the chosen questions
    assert not errors, errors
    desk.close()
    elapsed = time.monotonic() - began
    assert elapsed < 60, f"the organiser's path took {elapsed:.0f} s"


def _definition(app):
    """The wave as frozen in the database (what the citizen's pages are made of)."""
    from questionnaires import Wave as WaveDefinition
    from survey.db import db
    from survey.models import Organisation, Questionnaire, Wave

    with app.app_context():
        text = db.session.execute(
            db.select(Questionnaire.definition).join(Wave).join(Organisation)
            .where(Organisation.code == ORG, Wave.year == YEAR)).scalar_one()
    return WaveDefinition.from_dict(json.loads(text))
