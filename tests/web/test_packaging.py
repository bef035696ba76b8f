"""What the app reads at run time lives inside its packages (the flaskr layout), so an installed
wheel behaves as a checkout does; tests/test_wheel.py checks a real wheel end to end."""

from __future__ import annotations

import gettext
import io
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import analysis.report
import survey
from analysis.report import render

TRANSLATIONS = Path(survey.__file__).with_name("translations")
PO_FILES = sorted(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"))


def _messages(mo_bytes: bytes) -> dict:
    return dict(gettext.GNUTranslations(io.BytesIO(mo_bytes))._catalog)


def test_both_interface_languages_have_a_catalogue():
    assert {po.parts[-3] for po in PO_FILES} == {"zh", "en"}


@pytest.mark.parametrize("po_path", PO_FILES, ids=lambda p: p.parts[-3])
def test_committed_mo_matches_its_po(po_path):
    """The compiled catalogue ships as committed; it must say what the .po says (as
    `pybabel compile -f` would write it), or the pages show stale or English text."""
    mo_path = po_path.with_suffix(".mo")
    assert mo_path.is_file(), (
        f"{mo_path} is missing: run `pybabel compile -d survey/translations -f` and commit it")
    with open(po_path, "rb") as fh:
        catalog = read_po(fh)
    expected = io.BytesIO()
    write_mo(expected, catalog, use_fuzzy=True)
    stale = {msgid for msgid, text in _messages(expected.getvalue()).items()
             if _messages(mo_path.read_bytes()).get(msgid) != text}
    extra = set(_messages(mo_path.read_bytes())) - set(_messages(expected.getvalue()))
    assert not stale and not extra, (
        f"{mo_path} is out of date with {po_path.name} ({len(stale)} changed, {len(extra)} "
        f"removed messages): run `pybabel compile -d survey/translations -f` and commit it")


def test_web_templates_and_static_files_are_package_data(make_app):
    app = make_app(install=False)
    package = Path(survey.__file__).parent
    assert [Path(p) for p in app.jinja_loader.searchpath] == [package / "templates"]
    assert Path(app.static_folder) == package / "static"
    assert (package / "templates" / "survey" / "page.html").is_file()


def test_report_templates_are_loaded_through_the_analysis_package():
    package = Path(analysis.report.__file__).parent
    env = render._environment()
    source, filename, _ = env.loader.get_source(env, "report.html")
    assert Path(filename) == package / "templates" / "report.html"
    assert '{% include "report.css" %}' in source
    assert env.get_template("report.css") is not None
