"""axe-core (WCAG 2.1 A and AA) on the staff pages, zh and en, on a 360 px phone: sign-in (empty,
with errors), the sign-in code step, the console and the survey waves page, the new-wave form
(with errors), a wave's preview and its free texts, an export job's page (waiting, done,
failed), the members and roles page (with an error next to a field, and with a new account's
one-time password), an organisation's audit trail with account events, and "my API tokens"
(empty, a new token shown once, a revoked one)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.accessibility import axe_violations, describe

from .conftest import invoke
from .test_respondent_accessibility import _check, phone  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# the worked XLSForm example: organisation TXT's wave, for its short free-text question
EXAMPLE = (Path(__file__).resolve().parents[2] / "questionnaires" / "examples"
           / "ten_norms_local_module.xlsx")
TEXTS_YEAR = 2027


@pytest.fixture(scope="module")
def texts_wave(live_survey, demo_password):
    """Organisation TXT's wave with a free-text question and 60 completed responses, hostile
    texts among them; the demo account reads it as analyst."""
    from survey.db import db
    from survey.models import Answer, Organisation, Response, Wave

    app = live_survey.app
    invoke(app, "create-org", "TXT", "--name-zh", "文字市", "--name-en", "Text City")
    invoke(app, "import-xlsform", str(EXAMPLE), "--year", str(TEXTS_YEAR), "--org", "DEMO",
           "--wave-org", "TXT")
    invoke(app, "create-user", "demo@example.org", "--org", "TXT", "--role", "analyst")
    texts = ["<script>alert(1)</script>", "=1+1 少用塑料袋", "多建回收站\n第二行"]
    with app.app_context():
        wave = db.session.execute(db.select(Wave).join(Organisation).where(
            Organisation.code == "TXT", Wave.year == TEXTS_YEAR)).scalar_one()
        for n in range(60):
            response = Response(wave_id=wave.id, status="complete")
            db.session.add(response)
            db.session.flush()
            db.session.add(Answer(response_id=response.id, item="DEMO_comment",
                                  value=texts[n % len(texts)]))
        db.session.commit()
    return f"/console/TXT/{TEXTS_YEAR}"


@pytest.fixture(scope="module")
def demo_password(live_survey):
    output = invoke(live_survey.app, "create-demo-account")
    return re.search(r"password (\S+) ", output).group(1)


def _submit(page) -> None:
    page.locator("form[method=post i] button[type=submit]").last.click()
    page.wait_for_load_state()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_staff_page_has_no_axe_violations(live_survey, phone, demo_password,  # noqa: F811
                                                texts_wave, accounts_org, lang):
    base = live_survey.base_url
    phone.goto(f"{base}/language/{lang}?next=/login")
    _check(phone, f"sign-in ({lang})")
    _submit(phone)  # nothing typed: both fields say so
    assert phone.locator("[role=alert]").count()
    _check(phone, f"sign-in with errors ({lang})")
    phone.fill("#email", "demo@example.org")
    phone.fill("#password", demo_password)
    _submit(phone)
    assert phone.url.endswith("/console/"), phone.url
    _check(phone, f"console ({lang})")
    phone.goto(f"{base}/research/status")
    _check(phone, f"survey waves ({lang})")
    year = live_survey.wave_file.stem
    phone.goto(f"{base}/console/national/")
    _check(phone, f"an organisation's waves and audit trail ({lang})")
    phone.goto(f"{base}/console/national/{year}/")
    assert phone.locator("caption").count() >= 4  # the monitoring tables
    _check(phone, f"a wave's monitoring ({lang})")
    # the demo account becomes organiser of national too: the page then has its forms
    invoke(live_survey.app, "create-user", "demo@example.org", "--org", "national", "--role",
           "organiser")
    phone.goto(f"{base}/console/national/{year}/")
    phone.fill("#closes", "1999-01-01")  # before the first day: refused with the reason
    phone.locator("form[action$='/open'] button[type=submit]").click()
    phone.wait_for_load_state()
    assert phone.locator("[role=alert]").count()
    _check(phone, f"a wave's page with the open and close forms and an error ({lang})")
    phone.goto(f"{base}/console/national/new-wave")
    _check(phone, f"the new-wave form with the item bank ({lang})")
    phone.fill("#year", "20x7")
    phone.locator("form[action$='/new-wave'] button[type=submit]").click()
    phone.wait_for_load_state()
    assert phone.locator("#year-error").count()
    _check(phone, f"the new-wave form with an error next to a field ({lang})")
    phone.locator("form[action$='/xlsform'] button[type=submit]").click()
    phone.wait_for_load_state()
    assert phone.locator("#upload_year-error").count()
    _check(phone, f"the XLSForm upload with an error ({lang})")
    phone.goto(f"{base}/console/national/{year}/preview?page=1")
    _check(phone, f"a wave's preview ({lang})")
    phone.goto(f"{base}{texts_wave}/")
    phone.locator(f"a[href^='{texts_wave}/texts']").click()
    phone.wait_for_load_state()
    assert phone.locator("td.free-text").count() == 50 and not phone.locator("main script").count()
    _check(phone, f"a wave's free texts ({lang})")
    phone.locator("nav.nav a").first.click()  # the next page
    phone.wait_for_load_state()
    assert phone.locator("td.free-text").count() == 10
    _check(phone, f"a wave's free texts, the last page ({lang})")
    _check_accounts_pages(live_survey, phone, lang)
    phone.locator("nav.staff form button[type=submit]").click()  # sign out
    phone.wait_for_load_state()
    assert "/login" in phone.url
    violations = axe_violations(phone)
    assert not violations, describe(violations)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_export_job_page_has_no_axe_violations(live_survey, phone, demo_password,  # noqa: F811
                                                   lang):
    from sqlalchemy import select

    from survey import export_jobs
    from survey.db import db
    from survey.models import Organisation, User, Wave, utc_now

    app, base = live_survey.app, live_survey.base_url
    year = live_survey.wave_file.stem
    invoke(app, "create-user", "demo@example.org", "--org", "national", "--role", "organiser")
    phone.goto(f"{base}/language/{lang}?next=/login")
    phone.fill("#email", "demo@example.org")
    phone.fill("#password", demo_password)
    _submit(phone)
    phone.goto(f"{base}/console/national/{year}/")
    phone.check("#format-xlsx")
    phone.locator("form[action$='/exports'] button[type=submit]").click()
    phone.wait_for_load_state()
    assert "/exports/" in phone.url, phone.url
    _check(phone, f"an export job's page ({lang})")
    phone.wait_for_selector("a[href$='/file']", timeout=60_000)  # the page reloads itself
    _check(phone, f"a finished export job with its download ({lang})")
    with app.app_context():
        user = db.session.execute(select(User).where(User.email == "demo@example.org")
                                  ).scalar_one()
        wave = db.session.execute(select(Wave).join(Organisation).where(
            Organisation.code == "national", Wave.year == int(year))).scalar_one()
        running = export_jobs.create_job(user, wave, "sav")
        running.status, running.started_at = "running", utc_now()
        failed = export_jobs.create_job(user, wave, "xlsx")
        failed.status, failed.finished_at = "failed", utc_now()
        failed.error_kind, failed.error = "format_limit", "an Excel sheet holds at most …"
        db.session.commit()
        pages = {"running": running.id, "failed": failed.id}
    for state, job_id in pages.items():
        phone.goto(f"{base}/console/national/{year}/exports/{job_id}")
        assert phone.locator("[role=alert]").count() == (state == "failed")
        _check(phone, f"a {state} export job ({lang})")
    phone.goto(f"{base}/console/national/{year}/")
    assert phone.locator("form[action$='/exports'] input[type=radio]").count() == 6
    _check(phone, f"a wave's page with its recent exports ({lang})")


@pytest.fixture(scope="module")
def accounts_org(live_survey, demo_password):
    """Organisation ACC, whose admin the demo account is, with one more member."""
    app = live_survey.app
    invoke(app, "create-org", "ACC", "--name-zh", "账号市", "--name-en", "Accounts City",
           "--parent", "national")
    invoke(app, "create-user", "demo@example.org", "--org", "ACC", "--role", "admin")
    invoke(app, "create-user", "member@example.org", "--org", "ACC", "--role", "viewer")
    return "ACC"


def _check_accounts_pages(live_survey, phone, lang: str) -> None:  # noqa: F811
    base = live_survey.base_url
    phone.goto(f"{base}/console/ACC/members")
    assert phone.locator("ul.members li").count() >= 2
    _check(phone, f"members and roles ({lang})")
    phone.fill("#email", "not an address")
    phone.locator("form[action$='/members'] button[type=submit]").click()
    phone.wait_for_load_state()
    assert phone.locator("#email-error").count()
    _check(phone, f"members and roles with an error next to a field ({lang})")
    phone.fill("#email", f"new-{lang}@example.org")
    phone.locator("form[action$='/members'] button[type=submit]").click()
    phone.wait_for_load_state()
    assert phone.locator("code.secret").count()
    _check(phone, f"members and roles with a one-time password ({lang})")
    phone.goto(f"{base}/console/ACC/")
    assert phone.locator("#audit ~ div table td").count()
    _check(phone, f"an organisation's audit trail with account events ({lang})")
    phone.goto(f"{base}/console/tokens")
    _check(phone, f"my API tokens ({lang})")
    phone.locator("form[action$='/tokens'] button[type=submit]").click()
    phone.wait_for_load_state()
    assert phone.locator("code.secret").count()
    _check(phone, f"my API tokens with a new token ({lang})")
    phone.locator("form[action$='/revoke'] button[type=submit]").first.click()
    phone.wait_for_load_state()
    _check(phone, f"my API tokens with a revoked token ({lang})")
