"""The commands: flask import-xlsform / export-xlsform, python -m questionnaires.xlsform, and the
worked example they are documented with."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from questionnaires import load_wave
from questionnaires.xlsform import export_xlsform, import_xlsform
from questionnaires.xlsform.__main__ import main as xlsform_main

from .xlsform_helpers import Form

EXAMPLES = Path(__file__).resolve().parents[2] / "questionnaires" / "examples"
EXAMPLE = EXAMPLES / "ten_norms_local_module.xlsx"


def _content(wave) -> dict:
    d = wave.to_dict()
    del d["source"]
    return d


@pytest.fixture
def app(tmp_path):
    from survey import create_app
    from survey.db import db

    app = create_app({"TESTING": True, "SECRET_KEY": "test secret",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'survey.sqlite'}",
                      "WAVE_CACHE_SECONDS": 0})
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _invoke(app, *args):
    result = app.test_cli_runner().invoke(args=[str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def _frozen(app, year: int):
    from sqlalchemy import select

    from questionnaires import Wave as WaveDefinition
    from survey.db import db
    from survey.models import Questionnaire, Wave

    with app.app_context():
        row = db.session.execute(
            select(Questionnaire).join(Wave, Questionnaire.wave_id == Wave.id)
            .where(Wave.year == year)).scalar_one()
        return WaveDefinition.from_dict(json.loads(row.definition))


# --------------------------------------------------------------------------- the example


def test_the_worked_example_imports_with_its_local_items():
    wave = import_xlsform(EXAMPLE, 2027, org="DEMO").wave
    local = {code: item for code, item in wave.items.items() if item.kind == "local"}
    assert {code: item.type for code, item in local.items()} == {
        "DEMO_recycling_station": "scale", "DEMO_sorting_source": "single_choice",
        "DEMO_bins": "select_multiple", "DEMO_trips": "integer", "DEMO_spend": "decimal",
        "DEMO_bins_reason": "single_choice", "DEMO_comment": "text"}
    assert local["DEMO_sorting_source"].condition.item == "N05_P1"
    assert local["DEMO_trips"].settings["unit"] == {"zh": "次", "en": "trips"}
    assert local["DEMO_bins"].randomise_options
    assert [page.key for page in wave.pages if page.randomise] == ["local_habits"]
    assert local["DEMO_bins_reason"].condition.text() == (
        "(any_of(DEMO_bins, 3) or DEMO_trips >= 10) and not urban_rural = 2")
    national_types = {item.type for item in wave.items.values() if item.kind != "local"}
    assert national_types == {"scale", "single_choice"}
    assert wave.items["N04_P4"].condition.values == frozenset({1, 2, 3, 4, 5})
    assert "ATTN1" in wave.items and wave.items["ATTN1"] == load_wave(2026).items["ATTN1"]


def test_the_worked_example_is_what_its_script_makes(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_example", EXAMPLES / "make_ten_norms_local_module.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "OUT", tmp_path / "example.xlsx")
    fresh = import_xlsform(module.main(), 2027, org="DEMO").wave
    assert _content(fresh) == _content(import_xlsform(EXAMPLE, 2027, org="DEMO").wave)


def test_odk_converts_the_worked_example_without_a_warning():
    pyxform = pytest.importorskip("pyxform.xls2xform")
    warnings: list = []
    xform = pyxform.convert(xlsform=str(EXAMPLE), validate=False, warnings=warnings).xform
    assert warnings == []
    assert "selected( /data/local_habits/DEMO_bins , '3')" in xform


# --------------------------------------------------------------------------- flask commands


def test_import_xlsform_freezes_the_wave_like_load_questionnaire(app, tmp_path):
    yaml_out = tmp_path / "2027.yaml"
    result = _invoke(app, "import-xlsform", EXAMPLE, "--year", 2027, "--org", "DEMO",
                     "--yaml", yaml_out)
    assert result.exit_code == 0, result.output
    assert "7 local" in result.output and "questionnaire loaded" in result.output
    imported = import_xlsform(EXAMPLE, 2027, org="DEMO").wave
    assert _frozen(app, 2027).content_hash == imported.content_hash
    assert load_wave(yaml_out).content_hash == imported.content_hash

    again = _invoke(app, "import-xlsform", EXAMPLE, "--year", 2027, "--org", "DEMO")
    assert again.exit_code == 0 and "unchanged" in again.output
    refused = _invoke(app, "import-xlsform", EXAMPLE, "--year", 2027, "--org", "DEMO",
                      "--yaml", yaml_out)
    assert refused.exit_code == 1 and "--force" in refused.output

    # and out again from the database: the same questionnaire
    out = tmp_path / "frozen.xlsx"
    exported = _invoke(app, "export-xlsform", 2027, "--frozen", "--out", out)
    assert exported.exit_code == 0, exported.output
    assert _content(import_xlsform(out, 2027, org="DEMO").wave) == _content(imported)


def test_import_xlsform_errors_are_one_line(app, tmp_path):
    form = Form()
    row = form.set("N04_P4", "relevant", "${N04_P9} != 9")
    path = form.save(tmp_path / "bad.xlsx")
    result = _invoke(app, "import-xlsform", path, "--year", 2025)
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines == [f"Error: {path}: sheet 'survey', row {row}, column 'relevant' (F): "
                     "reference to unknown field ${N04_P9}"]


def test_import_xlsform_check_leaves_the_database_alone(app, tmp_path):
    path = export_xlsform(load_wave(2025), tmp_path / "2025.xlsx")
    result = _invoke(app, "import-xlsform", path, "--year", 2031, "--check")
    assert result.exit_code == 0 and "loaded" not in result.output
    from sqlalchemy import func, select

    from survey.db import db
    from survey.models import Wave

    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Wave)).scalar() == 0


def test_export_xlsform_from_a_wave_file(app, tmp_path):
    out = tmp_path / "2026.xlsx"
    result = _invoke(app, "export-xlsform", 2026, "--out", out)
    assert result.exit_code == 0, result.output
    assert _content(import_xlsform(out, 2026).wave) == _content(load_wave(2026))
    wrong = _invoke(app, "export-xlsform", 2026, "--out", tmp_path / "2026.csv")
    assert wrong.exit_code == 1 and "an XLSForm is an .xlsx workbook" in wrong.output
    missing = _invoke(app, "export-xlsform", 2031, "--out", out)
    assert missing.exit_code == 1 and "no wave file for 2031" in missing.output


# --------------------------------------------------------------------------- python -m


def test_module_entry_exports_and_imports(tmp_path, capsys):
    out = tmp_path / "2025.xlsx"
    assert xlsform_main(["export", "2025", "--out", str(out)]) == 0
    wave_file = tmp_path / "2025.yaml"
    assert xlsform_main(["import", str(out), "--year", "2025", "--out", str(wave_file)]) == 0
    assert load_wave(wave_file).content_hash == load_wave(2025).content_hash
    capsys.readouterr()
    assert xlsform_main(["import", str(tmp_path / "absent.xlsx"), "--year", "2025"]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'absent.xlsx'}: file not found"
