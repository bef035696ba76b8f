"""Accessibility checks any test can use: Debian's Chromium driven by Playwright, and axe-core.

axe-core comes from the npm registry (``package.json`` at the project root pins it; ``make test``
runs ``npm ci``). :func:`axe_violations` injects ``node_modules/axe-core/axe.min.js`` into a page
and returns what ``axe.run`` reports against WCAG 2.0/2.1 levels A and AA.

A test that needs the browser or axe-core skips with a reason naming what is missing, except
under CI (``CI=true``), where a missing tool fails the test: CI must never pass by skipping the
checks it exists to run.

Use in a test module (tests/e2e/conftest.py has it as the ``browser`` fixture)::

    @pytest.fixture(scope="module")
    def browser():
        with open_chromium() as b:
            yield b

    def test_page(browser):
        page = browser.new_page()
        page.set_content(html)
        violations = axe_violations(page)
        assert violations == [], describe(violations)
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    # this machine's network is closed: no update, sync or metrics connections at start-up
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_SCRIPT = PROJECT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
"""The rules checked: WCAG 2.0 and 2.1, levels A and AA."""


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def missing_tool(reason: str):
    """Skip the test naming what is missing; under CI fail instead (never a silent pass)."""
    if under_ci():
        pytest.fail(f"{reason} (CI=true: a missing test tool is a failure, not a skip)",
                    pytrace=False)
    pytest.skip(reason)


def axe_source() -> str:
    """The text of axe.min.js; skips (fails under CI) when ``npm ci`` has not installed it."""
    if not AXE_SCRIPT.is_file():
        missing_tool(f"accessibility tests need axe-core at {AXE_SCRIPT.relative_to(PROJECT)} "
                     "(run `npm ci` in the project root; `make test` does)")
    return AXE_SCRIPT.read_text(encoding="utf-8")


def launch_chromium(playwright):
    """Debian's headless Chromium with the flags this machine needs."""
    if not CHROMIUM.exists():
        missing_tool(f"browser tests need Debian's Chromium at {CHROMIUM} "
                     "(scripts/install-system-packages.sh installs it)")
    try:
        return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                          args=CHROMIUM_ARGS)
    except Exception as exc:  # noqa: BLE001 - a broken Chromium install is an environment problem
        missing_tool(f"could not launch {CHROMIUM}: {exc}")


@contextmanager
def open_chromium():
    """One headless Chromium (skips, or fails under CI, when it or playwright is missing);
    wrap it in a fixture: ``with open_chromium() as browser: yield browser``."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_tool("browser tests need the playwright package (pip install -e '.[test]')")
    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            yield browser
        finally:
            browser.close()


def axe_violations(page, tags: tuple[str, ...] = WCAG_TAGS) -> list[dict]:
    """Run axe-core on the page as it is now; return its violations (empty when none).

    Each violation is axe's dict: ``id``, ``impact``, ``help``, ``nodes`` (with ``target`` and
    ``failureSummary``); :func:`describe` turns the list into a readable assertion message.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=axe_source())
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})", list(tags))
    return result["violations"]


def describe(violations: list[dict], max_nodes: int = 3) -> str:
    """One line per violation and up to ``max_nodes`` offending elements under it."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v.get('impact')}): {v['help']} — {len(v['nodes'])} element(s)")
        for node in v["nodes"][:max_nodes]:
            summary = " ".join((node.get("failureSummary") or "").split())
            lines.append(f"    {' '.join(map(str, node['target']))}: {summary[:200]}")
    return "\n".join(lines)
