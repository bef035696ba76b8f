"""axe-core (WCAG 2.1 A and AA) on a 360 px phone, zh and en: the console's quotas page (the
question checklist, the cells with their caps, a cap refused next to its field) and the
respondent's "your group is complete" page."""

from __future__ import annotations

import re

import pytest

from .conftest import invoke
from .test_respondent_accessibility import _check, phone  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def quota_orgs(live_survey):
    """QTA: a draft wave and an organiser; QTB: an open wave whose quota on sex takes no
    one (every cell's cap 0)."""
    from sqlalchemy import select

    from survey.db import db
    from survey.models import Organisation, Quota, QuotaCell, Wave

    app, wave_file = live_survey.app, str(live_survey.wave_file)
    for code, name in (("QTA", "Quota A"), ("QTB", "Quota B")):
        invoke(app, "create-org", code, "--name-zh", f"{code}市", "--name-en", name)
        invoke(app, "load-questionnaire", wave_file, "--org", code)
    invoke(app, "open-wave", str(live_survey.year), "--org", "QTB")
    output = invoke(app, "create-user", "quotas@example.org", "--org", "QTA", "--role",
                    "organiser")
    password = re.search(r"Password \(shown once\): (\S+)", output).group(1)
    with app.app_context():
        wave = db.session.execute(select(Wave).join(Organisation).where(
            Organisation.code == "QTB", Wave.year == live_survey.year)).scalar_one()
        quota = Quota(wave_id=wave.id, items="sex")
        quota.cells = [QuotaCell(key=str(code), cap=0, filled=0, screened=0) for code in (1, 2)]
        db.session.add(quota)
        db.session.commit()
    return password


def _submit(page, selector: str) -> None:
    page.locator(selector).click()
    page.wait_for_load_state()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_quota_pages_have_no_axe_violations(live_survey, phone, quota_orgs,  # noqa: F811
                                            lang):
    base, year = live_survey.base_url, live_survey.year
    phone.goto(f"{base}/language/{lang}?next=/login")
    phone.fill("#email", "quotas@example.org")
    phone.fill("#password", quota_orgs)
    _submit(phone, "form[method=post i] button[type=submit]")
    phone.goto(f"{base}/console/QTA/{year}/quotas")
    _check(phone, f"quotas, no quota yet ({lang})")
    phone.check("#item-sex")
    phone.check("#item-age_group")
    _submit(phone, "form[action$='/quotas/questions'] button[type=submit]")
    assert phone.locator("input.cap").count() >= 4
    _check(phone, f"quotas with cells and caps ({lang})")
    phone.locator("input.cap").first.fill("many")
    _submit(phone, "form[action$='/quotas/caps'] button[type=submit]")
    assert phone.locator("[role=alert]").count() and phone.locator(".field-error").count()
    _check(phone, f"quotas with a cap refused ({lang})")
    phone.goto(f"{base}/console/QTA/{year}/")
    _check(phone, f"a wave's page with its quota fill ({lang})")

    phone.goto(f"{base}/o/QTB/{year}/consent")
    _submit(phone, "form[method=post i] button[type=submit]")
    assert "/page/" in phone.url, phone.url
    phone.evaluate("""() => {
        for (const radio of document.querySelectorAll('input[type=radio]')) {
            const name = `input[name="${radio.name}"]:checked`;
            if (!document.querySelector(name)) radio.checked = true;
        }
        for (const select of document.querySelectorAll('select')) {
            select.selectedIndex = select.options.length - 1;
        }
    }""")
    _submit(phone, "form[method=post i] button[type=submit][name=nav][value=next], "
                   "form[method=post i] button[type=submit]:not([value=back])")
    assert phone.url.endswith(f"/o/QTB/{year}/thanks"), phone.url
    assert phone.locator("[role=status]").count()
    _check(phone, f"the group is complete ({lang})")
