"""Fixtures for the end-to-end browser tests: the real app on a real port, Debian's Chromium.

The app is the product's ``create_app`` with a temporary SQLite database and CSRF on; the wave is
loaded and opened through the real CLI commands (``init-db``, ``load-questionnaire``,
``open-wave``), and responses are read back through the real ``export`` command.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import secrets
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.accessibility import CHROMIUM, CHROMIUM_ARGS, open_chromium  # noqa: F401 (re-export)

PROJECT = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT / "docs" / "screenshots"

CHROMIUM_MISSING = (
    f"end-to-end browser tests need Debian's Chromium at {CHROMIUM} "
    "(scripts/install-system-packages.sh installs it)"
)


def current_wave_file() -> Path:
    """This year's wave definition (the wave `make run` opens), else the newest one."""
    waves = PROJECT / "questionnaires" / "waves"
    this_year = waves / f"{dt.date.today().year}.yaml"
    if this_year.exists():
        return this_year
    files = sorted(p for p in waves.glob("*.yaml") if p.stem.isdigit())
    if not files:
        pytest.fail(f"no wave definition in {waves}")
    return files[-1]


def invoke(app, *args: str) -> str:
    """Run one of the app's Flask CLI commands; fail the test with its output if it fails."""
    # inside an app context, as `flask --app survey ...` (FlaskGroup) runs every command
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
    if result.exit_code != 0:
        detail = result.output
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            detail += f"\n{result.exception!r}"
        pytest.fail(f"flask {' '.join(args)} failed ({result.exit_code}):\n{detail}")
    return result.output


class LiveSurvey:
    """The running app: its base URL, the wave it serves and a way to read the export."""

    def __init__(self, app, base_url: str, wave_file: Path, workdir: Path):
        self.app = app
        self.base_url = base_url
        self.wave_file = wave_file
        self.year = int(wave_file.stem)
        self.workdir = workdir
        self._exports = 0

    def export_rows(self) -> list[dict[str, str]]:
        """The responses table as the real ``export`` command writes it (CSV), as strings."""
        self._exports += 1
        out = self.workdir / f"export-{self._exports}.csv"
        invoke(self.app, "export", "--wave", str(self.year), "--out", str(out))
        with open(out, newline="", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))


@pytest.fixture(scope="session")
def live_survey(tmp_path_factory):
    from survey import create_app

    workdir = tmp_path_factory.mktemp("e2e")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'e2e.sqlite'}",
            "SECRET_KEY": secrets.token_hex(16),
            "WTF_CSRF_ENABLED": True,  # the browser goes through CSRF like any citizen
            "EXPORT_DIR": str(workdir / "exports"),
        }
    )
    wave_file = current_wave_file()
    invoke(app, "init-db")
    invoke(app, "load-questionnaire", str(wave_file))
    invoke(app, "open-wave", wave_file.stem)

    with serve(app) as base_url:
        yield LiveSurvey(app, base_url, wave_file, workdir)


@contextmanager
def serve(app):
    """Serve ``app`` on a free port of 127.0.0.1 (a threaded WSGI server, as in production
    several requests at once); yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def staff_app(workdir: Path, **config):
    """A fresh app for the console's browser tests: its own SQLite database (created with the
    real ``init-db``), CSRF on, and monitoring recomputed every second instead of every
    minute, so that a response shows on the wave's page while the test waits."""
    from survey import create_app

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'console.sqlite'}",
        "SECRET_KEY": secrets.token_hex(16),
        "WTF_CSRF_ENABLED": True,
        "MONITORING_SECONDS": 1.0,
        "CLOSED_MONITORING_SECONDS": 1.0,
        **config,
    })
    invoke(app, "init-db")
    return app


def new_password() -> str:
    return "Pw-" + secrets.token_urlsafe(12)


def create_account(app, email: str, org: str, role: str, password: str) -> None:
    """The account through the real ``create-user --password-stdin``."""
    with app.app_context():
        result = app.test_cli_runner().invoke(
            args=["create-user", email, "--org", org, "--role", role, "--password-stdin"],
            input=password + "\n")
    if result.exit_code != 0:
        pytest.fail(f"create-user {email} failed: {result.output}")


def sign_in(page, base_url: str, email: str, password: str, lang: str = "en") -> None:
    """Sign in through the form as a person does; ends on the console."""
    page.goto(f"{base_url}/language/{lang}?next=/login")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.locator("form[method=post i] button[type=submit]").click()
    assert page.url.endswith("/console/"), f"signing in ended at {page.url}"


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium (skips when it or playwright is missing, fails under CI)."""
    with open_chromium() as b:
        yield b


@pytest.fixture
def phone(browser):
    """A fresh 360x740 phone (own cookies) whose browser asks for Chinese, like most citizens."""
    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
    context.close()


def save_screenshot(page, name: str) -> None:
    """Rewrite docs/screenshots/NAME.png only when UPDATE_SCREENSHOTS=1 (keeps the tree clean)."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
