"""axe-core (WCAG 2.1 A and AA) on every page of the researchers' console, on a 360 px phone (in
Chinese and in English) and on a desktop screen: 0 violations, and nothing wider than the phone.

The pages come from the app's ``url_map``: every GET route of the ``console`` blueprint is a
test of its own, so a page added later is checked without anyone remembering to.  A route whose
arguments are only the organisation's code and the wave's year is visited as it is; a route
that needs more (another argument, a query string, a form with a mistake in it) names its
visits in ``PAGES``; a route that gives a file, not a page, is in ``FILES`` with what it gives.
A route none of this covers fails its test, and so does a page that does not answer 200 to a
signed-in organiser (or, for the pages of user management, to an administrator).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.accessibility import axe_violations, describe

from .conftest import (
    create_account,
    current_wave_file,
    invoke,
    new_password,
    serve,
    sign_in,
    staff_app,
)
from .console_data import add_responses

ORG = "AXE"
TEXTS_YEAR = 2027  # the worked XLSForm example: several question types and a free text
CLOSED_YEAR = 2025
EXAMPLE = (Path(__file__).resolve().parents[2] / "questionnaires" / "examples"
           / "ten_norms_local_module.xlsx")
SCREENS = {  # name: (viewport, mobile)
    "phone": ({"width": 360, "height": 740}, True),
    "desktop": ({"width": 1280, "height": 900}, False),
}
PHONE_WIDTH = 360


@dataclass(frozen=True)
class Site:
    app: object
    base_url: str
    org: str
    year: int  # the open wave, with responses
    pages: int  # its questionnaire pages
    texts_year: int  # a draft wave with a free-text question and 60 answers to it
    texts_pages: int
    closed_year: int
    export_job: int  # a finished export job of the open wave


@dataclass(frozen=True)
class Visit:
    """One state of a page: go to ``path``, then (optionally) do ``then`` on it (fill in and
    submit a form with a mistake: the page comes back with its errors)."""

    label: str
    path: str
    then: Callable | None = None


def _submit_error(form: str, fill: dict[str, str], error: str) -> Callable:
    def then(page):
        for selector, value in fill.items():
            page.fill(selector, value)
        with page.expect_navigation():
            page.locator(f"{form} button[type=submit]").click()
        assert page.locator(error).count(), f"no {error} after submitting {form} with a mistake"
    return then


def _wave(site: Site) -> list[Visit]:
    base = f"/console/{site.org}"
    return [
        Visit("open wave with responses", f"{base}/{site.year}/"),
        Visit("open wave, dates refused", f"{base}/{site.year}/", _submit_error(
            "form[action$='/open']", {"#closes": "1999-01-01"}, "[role=alert]")),
        Visit("draft wave", f"{base}/{site.texts_year}/"),
        Visit("closed wave", f"{base}/{site.closed_year}/"),
    ]


def _new_wave(site: Site) -> list[Visit]:
    path = f"/console/{site.org}/new-wave"
    return [
        Visit("the item bank", path),
        Visit("an error next to the year", path, _submit_error(
            "form[action$='/new-wave']", {"#year": "20x7"}, "#year-error")),
        Visit("an upload without a file", path, _submit_error(
            "form[action$='/xlsform']", {"#upload_year": "2028"}, "#form_file-error")),
    ]


def _preview(site: Site) -> list[Visit]:
    return [Visit(f"{year} page {n}", f"/console/{site.org}/{year}/preview?page={n}")
            for year, count in ((site.year, site.pages), (site.texts_year, site.texts_pages))
            for n in range(count + 1)]


def _texts(site: Site) -> list[Visit]:
    path = f"/console/{site.org}/{site.texts_year}/texts"
    return [Visit("first page", path), Visit("last page", f"{path}?page=2")]


def _export_job(site: Site) -> list[Visit]:
    return [Visit("a finished export", f"/console/{site.org}/{site.year}/exports/"
                                       f"{site.export_job}")]


PAGES: dict[str, Callable[[Site], list[Visit]]] = {
    "console.export_job": _export_job,
    "console.wave": _wave,
    "console.new_wave": _new_wave,
    "console.preview": _preview,
    "console.texts": _texts,
}
"""Console routes whose pages need more than the organisation's code and a wave's year."""

FILES: dict[str, str] = {
    "console.export": "the responses table as a CSV or Parquet download",
    "console.export_job_file": "a finished export job's file",
}
"""Console GET routes that give a file, not a page (checked to be a download, not HTML)."""

SIMPLE_ARGUMENTS = {"code", "year"}


def console_routes() -> dict[str, set[str]]:
    """Every GET route of the console blueprint: endpoint → the arguments of its rule."""
    from survey import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "routes"})
    return {rule.endpoint: set(rule.arguments) for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("console.") and "GET" in (rule.methods or ())}


ROUTES = console_routes()


def visits_of(endpoint: str, site: Site) -> list[Visit]:
    if endpoint in PAGES:
        return PAGES[endpoint](site)
    arguments = ROUTES[endpoint]
    if not arguments <= SIMPLE_ARGUMENTS:
        pytest.fail(f"{endpoint} takes {sorted(arguments - SIMPLE_ARGUMENTS)}: say in PAGES "
                    f"(tests/e2e/test_console_accessibility.py) which of its pages to check")
    return [Visit("as it is", _path(site, endpoint))]


def _path(site: Site, endpoint: str) -> str:
    """The route's path for the open wave of the test's organisation."""
    from flask import url_for

    values = {"code": site.org, "year": site.year, "job_id": site.export_job}
    with site.app.test_request_context():
        return url_for(endpoint, **{name: values[name] for name in ROUTES[endpoint]})


def test_every_console_get_route_is_covered():
    """No browser needed: each GET route is a page the axe test can reach, or a file."""
    assert "console.index" in ROUTES and "console.wave" in ROUTES, sorted(ROUTES)
    uncovered = [endpoint for endpoint, arguments in sorted(ROUTES.items())
                 if endpoint not in PAGES and endpoint not in FILES
                 and not arguments <= SIMPLE_ARGUMENTS]
    assert not uncovered, f"console routes without an axe check: {uncovered} (add them to PAGES)"
    stale = [endpoint for endpoint in (*PAGES, *FILES) if endpoint not in ROUTES]
    assert not stale, f"PAGES or FILES name routes that no longer exist: {stale}"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    app = staff_app(tmp_path_factory.mktemp("console-axe"))
    wave_file = current_wave_file()
    year = int(wave_file.stem)
    invoke(app, "create-org", ORG, "--name-zh", "无障碍市", "--name-en", "Access City",
           "--parent", "national")
    invoke(app, "load-questionnaire", str(wave_file), "--org", ORG)
    invoke(app, "open-wave", str(year), "--org", ORG)
    invoke(app, "load-questionnaire", str(wave_file.with_stem(str(CLOSED_YEAR))), "--org", ORG)
    invoke(app, "open-wave", str(CLOSED_YEAR), "--org", ORG, "--closes", "2099-12-31")
    invoke(app, "close-wave", str(CLOSED_YEAR), "--org", ORG)
    invoke(app, "import-xlsform", str(EXAMPLE), "--year", str(TEXTS_YEAR), "--org", "DEMO",
           "--wave-org", ORG)
    add_responses(app, ORG, year, completed=40, unfinished=8, days=3, seed=1)
    add_responses(app, ORG, TEXTS_YEAR, completed=60, seed=2)
    accounts = {}
    for role in ("organiser", "admin"):
        accounts[role] = (f"{role}@axe.example.org", new_password())
        create_account(app, *accounts[role][:1], ORG, role, accounts[role][1])
    _audit_trail(app, accounts["organiser"][0], year)
    export_job = _finished_export(app, accounts["organiser"][0], year)
    from questionnaires import load_wave
    from questionnaires.xlsform import import_xlsform

    pages = len(load_wave(wave_file).pages)
    texts_pages = len(import_xlsform(EXAMPLE, TEXTS_YEAR, "DEMO").wave.pages)
    with serve(app) as base_url:
        yield Site(app, base_url, ORG, year, pages, TEXTS_YEAR, texts_pages, CLOSED_YEAR,
                   export_job), accounts


# both languages on the phone (English words are longer: the narrow screen is where they
# would overflow), Chinese, the survey's first language, on the desktop
COMBINATIONS = [("phone", "zh"), ("phone", "en"), ("desktop", "zh")]


def _finished_export(app, email: str, year: int) -> int:
    """A CSV export job of the open wave, run to its end as the worker runs it."""
    from survey import export_jobs
    from survey.db import db
    from survey.models import Organisation, User, Wave

    with app.app_context():
        user = db.session.execute(db.select(User).where(User.email == email)).scalar_one()
        wave = db.session.execute(db.select(Wave).join(Organisation).where(
            Organisation.code == ORG, Wave.year == year)).scalar_one()
        job_id = export_jobs.create_job(user, wave, "csv").id
        db.session.commit()
        assert export_jobs.run_pending() == 1
        return job_id


def _audit_trail(app, email: str, year: int) -> None:
    """The organisation's audit trail as the console writes it: an opening, an export and a
    questionnaire loaded from a file with a long name."""
    from survey import audit
    from survey.db import db
    from survey.models import Organisation, User, Wave

    with app.app_context():
        user = db.session.execute(db.select(User).where(User.email == email)).scalar_one()
        waves = dict(db.session.execute(db.select(Wave.year, Wave).join(Organisation)
                                        .where(Organisation.code == ORG)).all())
        audit.record(user, "open_wave", waves[year], f"{year}-01-01 – {year}-12-31")
        audit.record(user, "export", waves[year], "csv, 40 rows")
        audit.record(user, "create_wave", waves[TEXTS_YEAR],
                     "loaded: 31 items, XLSForm ten_norms_local_module_with_a_long_name.xlsx, "
                     "hash 0fe0a52aab36")
        db.session.commit()


@pytest.fixture(scope="module", params=COMBINATIONS, ids=lambda p: f"{p[0]}-{p[1]}")
def screens(request, site, browser):
    """Signed-in pages on one screen in one language: the organiser's and the administrator's
    (the pages of user management are theirs)."""
    site_data, accounts = site
    name, lang = request.param
    viewport, mobile = SCREENS[name]
    contexts, pages = [], {}
    for role, (email, password) in accounts.items():
        # the console's CSP forbids injected scripts: bypass it so axe-core can run
        context = browser.new_context(viewport=viewport, is_mobile=mobile, has_touch=mobile,
                                      locale="zh-CN" if lang == "zh" else "en-GB",
                                      bypass_csp=True)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        sign_in(page, site_data.base_url, email, password, lang=lang)
        pages[role] = page
    yield name, lang, pages
    for context in contexts:
        context.close()


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_console_page_has_no_axe_violations(site, screens, endpoint):
    site_data, _accounts = site
    name, lang, pages = screens
    if endpoint in FILES:
        _check_file(pages["organiser"], site_data, endpoint)
        return
    for visit in visits_of(endpoint, site_data):
        where = f"{endpoint} ({visit.label}, {name}, {lang}): {visit.path}"
        page = _reaching(pages, site_data.base_url + visit.path, where)
        if visit.then is not None:
            visit.then(page)
        assert page.locator("html").get_attribute("lang").startswith(lang), where
        violations = axe_violations(page)
        assert not violations, f"{where}\n{describe(violations)}"
        if name == "phone":
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE_WIDTH, f"{where}: {width} px wide on a {PHONE_WIDTH} px phone"


def _reaching(pages: dict, url: str, where: str):
    """The signed-in page (organiser first) for which ``url`` answers 200 with HTML."""
    statuses = []
    for role, page in pages.items():
        response = page.goto(url)
        statuses.append(f"{role}: {response.status}")
        if response.status == 200:
            assert "text/html" in response.headers.get("content-type", ""), where
            return page
    pytest.fail(f"{where} does not answer 200 ({', '.join(statuses)})")


def _check_file(page, site_data: Site, endpoint: str) -> None:
    response = page.request.get(site_data.base_url + _path(site_data, endpoint))
    assert response.status == 200, f"{endpoint}: {response.status}"
    assert "attachment" in response.headers.get("content-disposition", ""), endpoint
    assert not re.match(r"\s*<", response.text()[:100]), f"{endpoint} gave a page, not a file"
