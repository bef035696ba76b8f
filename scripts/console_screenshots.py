"""Screenshots of the researchers' console for the README: docs/images/console-*.png.

Starts the app on a free port of 127.0.0.1 with a throw-away SQLite database and demo data —
the demo organisation's waves (2026 with some 400 synthetic responses over the last nine days,
2025 closed), the demo organiser account of ``make run`` — signs in through the form in Debian's
headless Chromium, opens 2026, exports it and creates 2027 from the worked XLSForm example
through the console (so the audit trail has entries) and writes:

* ``console-waves.png``: an organisation's waves and audit trail (desktop, English);
* ``console-monitoring.png``: a wave's fieldwork — responses, completions per day, the funnel
  with break-off by page, quality flags (desktop, English);
* ``console-new-wave.png``: the new-wave form's item bank (desktop, English);
* ``console-preview-phone.png``: a wave's preview on a 360 px phone (Chinese).

The PNGs are reduced to a 64-colour palette (Pillow, which matplotlib installs) so that each
stays well under 150 KB.  Run from the project root, with the test extras installed::

    .venv/bin/python scripts/console_screenshots.py [--out docs/images]
"""

from __future__ import annotations

import argparse
import re
import secrets
import sys
import tempfile
import threading
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ORG = "demo"  # create-demo-account's organisation
OPEN_YEAR, CLOSED_YEAR, DRAFT_YEAR = 2026, 2025, 2027
EXAMPLE = PROJECT / "questionnaires" / "examples" / "ten_norms_local_module.xlsx"
COLOURS = 64
WIDTH = 900  # the desktop's width (the pages are at most 42rem wide)


def flask(app, *args: str) -> str:
    """One of the app's CLI commands, as ``flask --app survey ...`` runs it."""
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
    if result.exit_code != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{result.output}")
    return result.output


def demo_app(folder: Path):
    """The app with the demo data; returns it and the demo account's password."""
    from survey import create_app
    from tests.e2e.console_data import add_responses

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'demo.sqlite'}",
        "SECRET_KEY": secrets.token_hex(16),
        "WTF_CSRF_ENABLED": True,
        "MONITORING_SECONDS": 0.0,
    })
    waves = PROJECT / "questionnaires" / "waves"
    flask(app, "init-db")
    flask(app, "load-questionnaire", str(waves / f"{OPEN_YEAR}.yaml"))
    flask(app, "open-wave", str(OPEN_YEAR))
    password = re.search(r"password (\S+) ", flask(app, "create-demo-account")).group(1)
    flask(app, "load-questionnaire", str(waves / f"{OPEN_YEAR}.yaml"), "--org", ORG)
    flask(app, "load-questionnaire", str(waves / f"{CLOSED_YEAR}.yaml"), "--org", ORG)
    add_responses(app, ORG, OPEN_YEAR, completed=372, unfinished=41, days=9, seed=7)
    add_responses(app, ORG, CLOSED_YEAR, completed=120, days=3, seed=8)
    _closed_last_year(app)
    return app, password


def _closed_last_year(app) -> None:
    """Last year's wave as it stands after its fieldwork: closed on its planned last day (the
    commands cannot open a wave whose last day has passed, so history is written directly)."""
    from survey.db import db
    from survey.models import Organisation, Wave

    with app.app_context():
        wave = db.session.execute(db.select(Wave).join(Organisation).where(
            Organisation.code == ORG, Wave.year == CLOSED_YEAR)).scalar_one()
        wave.status = "closed"
        db.session.commit()


def save(page, path: Path, *, full_page: bool = False, clip: dict | None = None) -> None:
    from PIL import Image

    page.screenshot(path=str(path), full_page=full_page or clip is not None, clip=clip)
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(COLOURS, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)
    print(f"{path.relative_to(PROJECT) if path.is_relative_to(PROJECT) else path}: "
          f"{path.stat().st_size // 1024} KB")


def shoot(base: str, password: str, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    console = f"{base}/console/{ORG}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        desk = browser.new_context(viewport={"width": WIDTH, "height": 900}, locale="en-GB")
        page = desk.new_page()
        page.goto(f"{base}/language/en?next=/login")
        page.fill("#email", "demo@example.org")
        page.fill("#password", password)
        with page.expect_navigation():
            page.locator("form[method=post i] button[type=submit]").click()
        # through the console, so that the audit trail shows them: open this year's wave,
        # export it, create next year's from the worked XLSForm example
        page.goto(f"{console}/{OPEN_YEAR}/")
        with page.expect_navigation():
            page.get_by_role("button", name="Open the wave").click()
        assert page.request.get(f"{console}/{OPEN_YEAR}/export?format=csv").ok
        page.goto(f"{console}/new-wave")
        page.fill("#upload_year", str(DRAFT_YEAR))
        page.set_input_files("#form_file", str(EXAMPLE))
        with page.expect_navigation():
            page.get_by_role("button", name="Create the wave from the file").click()
        assert page.url.endswith(f"/{DRAFT_YEAR}/"), page.url

        page.goto(f"{console}/")
        save(page, out / "console-waves.png", full_page=True)
        page.goto(f"{console}/{OPEN_YEAR}/")
        # the fieldwork: from its heading to the quality flags
        top = page.get_by_role("heading", name="Fieldwork").bounding_box()
        flags = page.locator("table").filter(has=page.locator(
            "caption", has_text="Quality flags")).bounding_box()
        save(page, out / "console-monitoring.png", clip={
            "x": 0, "y": top["y"] - 16, "width": WIDTH,
            "height": flags["y"] + flags["height"] - top["y"] + 18})
        page.goto(f"{console}/new-wave")
        page.fill("#year", "2027")
        # the item bank's checklist, the national core already chosen
        page.locator("#field-items").scroll_into_view_if_needed()
        page.evaluate("window.scrollTo(0, document.querySelector('#field-items')"
                      ".getBoundingClientRect().top + window.scrollY - 8)")
        save(page, out / "console-new-wave.png")

        cookies = desk.cookies()
        phone = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True,
                                    has_touch=True, device_scale_factor=2, locale="zh-CN")
        phone.add_cookies([c for c in cookies if c["name"] != "lang"])
        preview = phone.new_page()
        preview.goto(f"{console}/{OPEN_YEAR}/preview?page=2&lang=zh")
        save(preview, out / "console-preview-phone.png", full_page=False)
        browser.close()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT / "docs" / "images",
                        help="folder for the PNGs (default: docs/images)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    from werkzeug.serving import make_server

    with tempfile.TemporaryDirectory(prefix="console-screenshots-") as folder:
        app, password = demo_app(Path(folder))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            shoot(f"http://127.0.0.1:{server.server_port}", password, args.out.resolve())
        finally:
            server.shutdown()
            thread.join(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
