"""`survey-analysis … --database URL --org CODE`: an organisation's waves read straight from the
survey database give the same numbers as the export files of the same waves (written by
`flask export`), only that organisation's waves are read (its descendants' with
--include-children), the database is opened read-only (SQLite ``mode=ro``; PostgreSQL READ ONLY
transactions, and a role with SELECT only suffices), and every bad request is one line."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import re
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import insert

from analysis.cli import main
from analysis.database import URL_VARIABLE

from .conftest import add_org
from .staff_tree import add_wave

YEARS = (2030, 2031, 2032)
ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- data
def _install(app, year: int, organisation: str) -> int:
    """Wave ``year`` of ``organisation`` (the test wave), its id."""
    return add_wave(app, organisation, year)


def _responses(app, wave_id: int, n: int, rng: random.Random, first_id: int) -> None:
    """``n`` responses (every tenth unfinished), answers drawn with a shift by wave so that
    the waves differ; some speeders and failed attention checks."""
    from survey.db import db
    from survey.models import Answer, Response

    shift = wave_id % 3
    responses, answers = [], []
    for k in range(n):
        rid = first_id + k
        started = dt.datetime(2031, 3, 1, 8, 0) + dt.timedelta(minutes=7 * k)
        responses.append({
            "id": rid, "public_id": f"{rid:032x}", "wave_id": wave_id,
            "status": "in_progress" if k % 10 == 9 else "complete", "language": "zh",
            "page_index": 0, "started_at": started, "updated_at": started,
            "submitted_at": started + dt.timedelta(minutes=5),
            "duration_s": rng.choice([25, 240, 300, 420, 600, 900])})
        p1 = rng.choice([1, 2, 3, 4, 5, 5, 9])
        coded = {"sex": rng.choice([1, 2]), "province": rng.choice([1, 2, 3]),
                 "education": rng.choice([1, 2, None]),
                 "N01_A1": min(5, rng.choice([1, 2, 3, 4, 5]) + shift // 2), "N01_P1": p1,
                 "N04_P4": rng.choice([1, 2, 3, 4, 5]) if p1 in (4, 5) else None,
                 "ATTN1": 4 if rng.random() < 0.93 else 2,
                 "N02_P1": rng.choice([1, 2, 3, 4, 5, 9])}
        answers += [{"response_id": rid, "item": item, "code": code, "value": None}
                    for item, code in coded.items() if code is not None]
    with app.app_context():
        db.session.execute(insert(Response.__table__), responses)
        db.session.execute(insert(Answer.__table__), answers)
        db.session.commit()


@pytest.fixture
def surveyed(app, database_url):
    """National waves 2030-2032; PROV (below national) and CITY (below PROV) waves 2031 and
    2032; an organisation OTHER (not below national) with a wave 2031."""
    add_org(app, "PROV", "national")
    add_org(app, "CITY", "PROV")
    add_org(app, "OTHER")
    rng, first = random.Random(5), 1
    plan = [("national", y, 220) for y in YEARS] + [
        ("PROV", 2031, 90), ("PROV", 2032, 80), ("CITY", 2031, 60), ("CITY", 2032, 70),
        ("OTHER", 2031, 50)]
    for org, year, n in plan:
        _responses(app, _install(app, year, org), n, rng, first)
        first += n
    with app.app_context():
        from survey.db import db

        db.engine.dispose()  # nothing of the app holds the database open
    url, backend = database_url
    return url, backend


def _export(runner, tmp_path: Path, years, org: str = "national") -> Path:
    """The waves' export CSVs (`flask export`) as one file: the tables stacked, the codebooks
    and fieldwork summaries concatenated (what an analyst does with one export per wave)."""
    tables, codebooks, fieldwork = [], [], []
    for year in years:
        out = tmp_path / f"{org}-{year}.csv"
        result = runner.invoke(args=["export", "--wave", str(year), "--out", str(out),
                                     "--org", org])
        assert result.exit_code == 0, result.output
        tables.append(pd.read_csv(out, dtype=str, keep_default_na=False))
        codebooks.append(pd.read_csv(out.with_name(f"{out.stem}.codebook.csv"), dtype=str,
                                     keep_default_na=False))
        fieldwork.append(pd.read_csv(out.with_name(f"{out.stem}.fieldwork.csv"), dtype=str,
                                     keep_default_na=False))
    if len(years) == 1:
        return out
    combined = tmp_path / f"{org}-waves.csv"
    pd.concat(tables, ignore_index=True).fillna("").to_csv(combined, index=False)
    pd.concat(codebooks).to_csv(tmp_path / f"{org}-waves.codebook.csv", index=False)
    pd.concat(fieldwork).to_csv(tmp_path / f"{org}-waves.fieldwork.csv", index=False)
    return combined


def _cli(capsys, *argv) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    return code, capsys.readouterr().err


def _same_numbers(a: Path, b: Path) -> None:
    left, right = pd.read_csv(a), pd.read_csv(b)
    assert list(left.columns) == list(right.columns)
    assert len(left) == len(right) and len(left) > 0
    for column in left.columns:
        if pd.api.types.is_numeric_dtype(left[column]):
            np.testing.assert_allclose(left[column].to_numpy(float),
                                       right[column].to_numpy(float), rtol=1e-12, atol=1e-12,
                                       equal_nan=True, err_msg=column)
        else:  # a CSV's province codes read back as numbers name a model's terms with ".0"
            assert ([_label(v) for v in left[column]] == [_label(v) for v in right[column]]
                    ), column


def _label(value) -> str:
    return "" if pd.isna(value) else re.sub(r"(\d)\.0\b", r"\1", str(value))


# --------------------------------------------------------------------------- the same numbers
COMMANDS = {
    "estimate": ["--items", "N01_A1,N01_P1,N02_P1,N01.practice", "--by", "sex,region"],
    "compare": ["--base", "2031", "--current", "2032", "--items",
                "N01_A1,N01_P1,N01.gap,index.practice"],
    "trend": ["--waves", "2030,2031,2032", "--items", "N01_A1,N01_P1"],
    "model": ["--formula", "N01_A1 ~ C(sex) + C(province)", "--wave", "2032"],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_database_gives_the_numbers_of_the_export_files(surveyed, runner, tmp_path,
                                                            capsys, command):
    url, _ = surveyed
    data = _export(runner, tmp_path, YEARS)
    options = COMMANDS[command]
    waves = [] if command == "trend" else ["--waves", ",".join(map(str, YEARS))]
    code, err = _cli(capsys, command, data, *options, "--out", tmp_path / "file.csv")
    assert code == 0, err
    code, err = _cli(capsys, command, "--database", url, "--org", "national", *waves, *options,
                     "--out", tmp_path / "db.csv")
    assert code == 0, err
    _same_numbers(tmp_path / "file.csv", tmp_path / "db.csv")


def test_one_wave_equals_its_export_file_and_the_url_may_come_from_the_environment(
        surveyed, runner, tmp_path, capsys, monkeypatch):
    url, _ = surveyed
    data = _export(runner, tmp_path, [2031], "PROV")
    items = ["--items", "N01_A1,N01_P1,N02_P1,N01.gap", "--by", "sex"]
    assert _cli(capsys, "estimate", data, *items, "--out", tmp_path / "file.csv")[0] == 0
    monkeypatch.setenv(URL_VARIABLE, url)
    code, err = _cli(capsys, "estimate", "--org", "PROV", "--waves", "2031", *items,
                     "--out", tmp_path / "db.csv")
    assert code == 0, err
    assert url not in err
    _same_numbers(tmp_path / "file.csv", tmp_path / "db.csv")


def test_weight_writes_the_same_weights(surveyed, runner, tmp_path, capsys):
    url, _ = surveyed
    data = _export(runner, tmp_path, [2031, 2032])
    margins = tmp_path / "margins.csv"
    margins.write_text("variable,category,target\nsex,male,0.51\nsex,female,0.49\n"
                       "province,110000,0.3\nprovince,510000,0.5\nprovince,230000,0.2\n",
                       encoding="utf-8")
    for args, out in (([data], "file.csv"),
                      (["--database", url, "--org", "national", "--waves", "2031,2032"],
                       "db.csv")):
        code, err = _cli(capsys, "weight", *args, "--margins", margins, "--by", "wave",
                         "--out", tmp_path / out)
        assert code == 0, err
    _same_numbers(tmp_path / "file.csv", tmp_path / "db.csv")


REPORT_PLAN = """
waves: [2030, 2031, 2032]
current_wave: 2032
base_wave: 2031
language: en
min_n: 20
subgroups: [sex, region]
exclude_flagged: true
publisher: {zh: 测试中心, en: Test Centre}
"""


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # one back end is enough
@pytest.mark.slow
def test_the_report_from_the_database_is_the_report_from_the_export(surveyed, runner,
                                                                    tmp_path, capsys):
    from analysis.report.fonts import NoCJKFontError, find_cjk_font

    try:
        find_cjk_font()
    except NoCJKFontError as exc:
        pytest.skip(f"no CJK font: {exc}")
    url, _ = surveyed
    data = _export(runner, tmp_path, YEARS)
    plan = tmp_path / "plan.yaml"
    plan.write_text(REPORT_PLAN, encoding="utf-8")
    pages = {}
    for name, args in (("file", [data]), ("db", ["--database", url, "--org", "national"])):
        code, err = _cli(capsys, "report", *args, "--plan", plan, "--format", "html",
                         "--out", tmp_path / f"{name}.html")
        assert code == 0, err
        pages[name] = (tmp_path / f"{name}.html").read_text(encoding="utf-8")
    assert "Test Centre" in pages["db"]
    # every figure and table the same; the charts' SVG differ only in matplotlib's random ids
    charts = re.compile(r"data:image/svg\+xml;base64,[A-Za-z0-9+/=]+")
    assert len(charts.findall(pages["db"])) == len(charts.findall(pages["file"])) > 0
    assert charts.sub("", pages["db"]) == charts.sub("", pages["file"])


# --------------------------------------------------------------------------- whose waves
def test_only_the_organisations_own_waves_and_with_children_its_descendants(surveyed, tmp_path,
                                                                            capsys):
    url, _ = surveyed
    base = ["--database", url, "--waves", "2031", "--items", "N01_A1", "--keep-flagged"]
    counts = {}
    for org in ("national", "PROV", "CITY", "OTHER"):
        code, err = _cli(capsys, "estimate", *base, "--org", org, "--out",
                         tmp_path / f"{org}.csv")
        assert code == 0, err
        counts[org] = int(pd.read_csv(tmp_path / f"{org}.csv")["n"].iloc[0])
    # completed responses (nine in ten), N01_A1 always answered
    assert counts == {"national": 198, "PROV": 81, "CITY": 54, "OTHER": 45}
    code, err = _cli(capsys, "estimate", *base, "--org", "PROV", "--include-children",
                     "--by", "source", "--out", tmp_path / "tree.csv")
    assert code == 0, err
    tree = pd.read_csv(tmp_path / "tree.csv")
    by_source = dict(zip(tree["group"].dropna(), tree["n"][tree["group"].notna()], strict=True))
    assert by_source == {"PROV": 81, "CITY": 54}
    assert int(tree["n"].iloc[0]) == 81 + 54


def test_without_waves_every_wave_of_the_organisation_is_read(surveyed, tmp_path, capsys):
    url, _ = surveyed
    code, err = _cli(capsys, "estimate", "--database", url, "--org", "PROV", "--items",
                     "N01_A1", "--out", tmp_path / "e.csv")
    assert code == 0, err
    assert sorted(pd.read_csv(tmp_path / "e.csv")["wave"].unique()) == [2031, 2032]


# --------------------------------------------------------------------------- one line each
def _one_line(capsys, *argv) -> str:
    code, err = _cli(capsys, *argv)
    assert code == 2, err
    assert err.startswith("survey-analysis ") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    return err.strip()


def test_bad_requests_are_one_line(surveyed, tmp_path, capsys, monkeypatch):
    url, backend = surveyed
    out = ["--items", "N01_A1", "--out", tmp_path / "e.csv"]
    db = ["--database", url]
    monkeypatch.delenv(URL_VARIABLE, raising=False)
    assert "--org NOPE: no such organisation" in _one_line(
        capsys, "estimate", *db, "--org", "NOPE", *out)
    assert "organisation PROV has no wave 2030 (its waves: 2031, 2032)" in _one_line(
        capsys, "estimate", *db, "--org", "PROV", "--waves", "2030", *out)
    assert "organisation PROV (below national) has no wave 2030 (its waves: 2031, 2032)" \
        in _one_line(capsys, "compare", *db, "--org", "national", "--include-children",
                     "--waves", "2030,2031", "--base", "2030", "--current", "2031", *out)
    assert "--include-children: organisation CITY has no organisations below it" in _one_line(
        capsys, "estimate", *db, "--org", "CITY", "--include-children", *out)
    assert "--waves: '20x1' is not a year" in _one_line(
        capsys, "estimate", *db, "--org", "PROV", "--waves", "20x1", *out)
    assert "--database needs --org CODE" in _one_line(capsys, "estimate", *db, *out)
    assert "--org needs --database URL (or the environment variable " \
        f"{URL_VARIABLE})" in _one_line(capsys, "estimate", "--org", "PROV", *out)
    assert "give DATA (x.csv) or --database, not both" in _one_line(
        capsys, "estimate", "x.csv", *db, "--org", "PROV", *out)
    assert "give a DATA file, or --database URL --org CODE" in _one_line(
        capsys, "trend", "--items", "N01_A1", "--out", tmp_path / "t.csv")
    assert "is not a database URL" in _one_line(
        capsys, "estimate", "--database", "not a url", "--org", "PROV", *out)
    assert "only SQLite and PostgreSQL" in _one_line(
        capsys, "estimate", "--database", "mysql://u@h/db", "--org", "PROV", *out)
    missing = tmp_path / "missing.sqlite"
    assert f"{missing}: no such SQLite database file" in _one_line(
        capsys, "report", "--database", f"sqlite:///{missing}", "--org", "PROV", "--plan",
        ROOT / "analysis/report/example_plan.yaml", "--out", tmp_path / "r.html")
    refused = _one_line(capsys, "estimate", "--database",
                        "postgresql://someone:secret@127.0.0.1:1/nothing", "--org", "PROV",
                        *out)
    assert "database postgresql+psycopg://someone:***@127.0.0.1:1/nothing: cannot connect" \
        in refused and "secret" not in refused
    assert "the Dask engine" in _one_line(capsys, "estimate", *db, "--org", "PROV",
                                          "--engine", "dask", *out)
    assert "--include-children pools several organisations" in _one_line(
        capsys, "report", *db, "--org", "PROV", "--include-children", "--plan",
        ROOT / "analysis/report/example_plan.yaml", "--out", tmp_path / "r.html")
    assert "--timezone Mars/Base: not a time zone" in _one_line(
        capsys, "estimate", *db, "--org", "PROV", "--timezone", "Mars/Base", *out)


# --------------------------------------------------------------------------- read-only
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # one back end is enough
def test_sqlite_is_opened_read_only_and_never_written(surveyed, tmp_path, capsys):
    url, _ = surveyed
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    from response_table.connect import read_only_engine

    path = Path(url.removeprefix("sqlite:///"))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    code, err = _cli(capsys, "trend", "--database", url, "--org", "national", "--items",
                     "N01_A1", "--out", tmp_path / "t.csv")
    assert code == 0, err
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    # a reader of a WAL database shares its index (-shm, as the app's readers do); its write
    # log stays empty: nothing was written
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    engine = read_only_engine(url)
    try:
        with engine.connect() as connection, pytest.raises(OperationalError,
                                                           match="readonly|read-only|query_only"):
            connection.execute(text("DELETE FROM answers"))
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgresql_with_a_select_only_role_in_read_only_transactions(pg_schema, tmp_path,
                                                                      capsys, make_app):
    """A role of its own with SELECT on the five tables (docs/analysis.md) reads the waves; its
    transactions are READ ONLY, so even a role that may write could not through the reader."""
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    from response_table.connect import read_only_engine
    from response_table.schema import READ_TABLES

    app = make_app(database=pg_schema, install=False)
    from .conftest import _truncate_all

    with app.app_context():
        from survey.db import db

        _truncate_all(db)
    _responses(app, _install(app, 2031, "national"), 40, random.Random(3), 1)
    schema = make_url(pg_schema).query["options"].split("=")[-1]
    role = f"analysis_reader_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_schema)
    with admin.begin() as connection:
        connection.execute(sa.text(f'CREATE ROLE "{role}" LOGIN'))
        connection.execute(sa.text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
        connection.execute(sa.text(f'GRANT SELECT ON {", ".join(READ_TABLES)} TO "{role}"'))
    try:
        url = make_url(pg_schema).set(username=role).render_as_string(hide_password=False)
        code, err = _cli(capsys, "estimate", "--database", url, "--org", "national", "--items",
                         "N01_A1", "--keep-flagged", "--out", tmp_path / "e.csv")
        assert code == 0, err
        assert int(pd.read_csv(tmp_path / "e.csv")["n"].iloc[0]) == 36
        engine = read_only_engine(pg_schema)  # the owner, who could write
        try:
            with engine.connect() as connection:
                assert connection.execute(sa.text("SHOW transaction_read_only")).scalar() == "on"
                with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
                    connection.execute(sa.text("DELETE FROM answers"))
        finally:
            engine.dispose()
        with admin.connect() as connection:
            assert connection.execute(sa.text("SELECT count(*) FROM answers")).scalar() > 0
        # the role reads nothing else: another table is refused, in one line
        with admin.begin() as connection:
            connection.execute(sa.text(f'REVOKE SELECT ON questionnaires FROM "{role}"'))
        refused = _one_line(capsys, "estimate", "--database", url, "--org", "national",
                            "--items", "N01_A1", "--out", tmp_path / "e.csv")
        assert "cannot read (permission denied" in refused
    finally:
        with admin.begin() as connection:
            connection.execute(sa.text(f'DROP OWNED BY "{role}"'))
            connection.execute(sa.text(f'DROP ROLE "{role}"'))
        admin.dispose()
        with app.app_context():
            db.engine.dispose()


# --------------------------------------------------------------------------- no web code
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # one back end is enough
def test_reading_the_database_loads_neither_flask_nor_the_app(surveyed, tmp_path):
    import os
    import subprocess
    import sys

    url, _ = surveyed
    code = ("import sys; from analysis.cli import main; "
            f"rc = main(['estimate', '--database', {url!r}, '--org', 'national', '--items', "
            f"'N01_A1', '--out', {str(tmp_path / 'e.csv')!r}]); assert rc == 0; "
            "bad = sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'survey', "
            "'flask_sqlalchemy', 'werkzeug'}); assert not bad, bad; "
            "assert 'response_table' in sys.modules")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=tmp_path, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
