"""The researcher commands: init-db, load-questionnaire, open-wave, close-wave, export."""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from questionnaires import load_wave, region_of_province
from survey.db import db
from survey.models import Questionnaire, Response, Wave

from .codebook_check import assert_described
from .conftest import FULL, _truncate_all, complete, install_wave

REAL_YEAR = 2026
REAL_FILE = Path(__file__).resolve().parents[2] / "questionnaires" / "waves" / f"{REAL_YEAR}.yaml"


def invoke(runner, *args):
    result = runner.invoke(args=[str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def wave_row(app, year):
    with app.app_context():
        return db.session.execute(select(Wave).where(Wave.year == year)).scalar_one_or_none()


# --------------------------------------------------------------------------- init-db


@pytest.fixture
def empty_app(app):
    """The app with no tables at all (init-db's starting point)."""
    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
    yield app
    with app.app_context():  # leave the shared PostgreSQL schema as the other tests expect it
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.drop_all()
        db.create_all()
        if db.engine.dialect.name == "postgresql":
            _truncate_all(db)


def test_init_db_runs_the_migrations_and_is_repeatable(empty_app):
    runner = empty_app.test_cli_runner()
    first = invoke(runner, "init-db")
    assert first.exit_code == 0, first.output
    assert "Database ready" in first.output
    with empty_app.app_context():
        tables = set(inspect(db.engine).get_table_names())
        assert {"waves", "questionnaires", "responses", "answers", "page_saves",
                "alembic_version"} <= tables
        version = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == "0008"
    again = invoke(runner, "init-db")
    assert again.exit_code == 0, again.output


def test_migrations_build_exactly_the_models_schema(empty_app):
    """Alembic's autogenerate finds nothing to do after the migrations: same tables, columns,
    types, constraints and indexes as ``db.metadata`` (what create_all builds in the tests)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from survey.db import upgrade_database

    with empty_app.app_context():
        upgrade_database()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []


def test_commands_explain_a_missing_database(empty_app):
    result = invoke(empty_app.test_cli_runner(), "open-wave", "2031")
    assert result.exit_code == 1
    assert "init-db" in result.output


# --------------------------------------------------------------------------- questionnaires


@pytest.mark.skipif(not REAL_FILE.exists(), reason=f"{REAL_FILE} not present")
def test_load_open_close_the_real_questionnaire(app, runner):
    loaded = invoke(runner, "load-questionnaire", REAL_FILE)
    assert loaded.exit_code == 0, loaded.output
    definition = load_wave(REAL_FILE)
    row = wave_row(app, REAL_YEAR)
    assert row.status == "draft"
    assert (row.opens, row.closes) == (definition.opens, definition.closes)
    with app.app_context():
        q = db.session.execute(select(Questionnaire)).scalar_one()
        assert q.content_hash == definition.content_hash

    unchanged = invoke(runner, "load-questionnaire", str(REAL_YEAR))  # a year works too
    assert unchanged.exit_code == 0 and "unchanged" in unchanged.output

    client = app.test_client()
    assert "尚未开始" in client.get(f"/{REAL_YEAR}/").text
    opened = invoke(runner, "open-wave", REAL_YEAR, "--closes", "2099-12-31")
    assert opened.exit_code == 0, opened.output
    assert wave_row(app, REAL_YEAR).status == "open"
    assert client.get(f"/{REAL_YEAR}/").status_code == 200

    closed = invoke(runner, "close-wave", REAL_YEAR)
    assert closed.exit_code == 0 and "0 completed" in closed.output
    assert client.get(f"/{REAL_YEAR}/").status_code == 410


def test_a_broken_questionnaire_file_is_one_clear_error(app, runner, tmp_path):
    bad = tmp_path / "2030.yaml"
    bad.write_text("year: 2030\ntitle: {zh: 测试, en: Test}\npages:\n  - key: a\n"
                   "    items: [NO_SUCH_ITEM]\n", encoding="utf-8")
    result = invoke(runner, "load-questionnaire", bad)
    assert result.exit_code == 1
    assert result.output.startswith("Error:")
    assert "2030.yaml" in result.output
    assert wave_row(app, 2030) is None

    missing = invoke(runner, "load-questionnaire", tmp_path / "nope.yaml")
    assert missing.exit_code != 0 and "nope.yaml" in missing.output


@pytest.mark.skipif(not REAL_FILE.exists(), reason=f"{REAL_FILE} not present")
def test_questionnaire_cannot_change_under_existing_responses(app, runner, tmp_path):
    assert invoke(runner, "load-questionnaire", REAL_FILE).exit_code == 0
    invoke(runner, "open-wave", REAL_YEAR, "--closes", "2099-12-31")
    app.test_client().post(f"/{REAL_YEAR}/consent")
    changed = tmp_path / f"{REAL_YEAR}.yaml"
    changed.write_text(REAL_FILE.read_text(encoding="utf-8").replace(
        f"closes: {REAL_YEAR}-12-31", f"closes: {REAL_YEAR}-12-30"), encoding="utf-8")
    result = invoke(runner, "load-questionnaire", changed)
    assert result.exit_code == 1 and "already has 1 responses" in result.output


def test_open_wave_needs_a_known_wave_and_sane_dates(app, runner, wave):
    assert "no wave 2040" in invoke(runner, "open-wave", "2040").output
    install_wave(app, wave, status="draft")
    bad = invoke(runner, "open-wave", "2031", "--opens", "2031-05-01", "--closes", "2031-04-01")
    assert bad.exit_code == 1 and "before it opens" in bad.output
    past = invoke(runner, "open-wave", "2031", "--closes", "2001-01-01")
    assert past.exit_code == 0  # explicit dates are the researcher's call
    assert app.test_client().get("/2031/").status_code == 410
    assert invoke(runner, "open-wave", "2031", "--closes", "2099-01-01").exit_code == 0
    assert app.test_client().get("/2031/").status_code == 200


# --------------------------------------------------------------------------- export


EXPECTED_COLUMNS = ["response_id", "wave", "sex", "age_group", "province", "region",
                    "urban_rural", "education", "N01_A1", "N01_P1", "N04_P4", "ATTN1", "N02_P1",
                    "started_at", "submitted_at", "duration_s", "flag_speeder",
                    "flag_straightliner", "flag_attention"]
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_export_csv_one_row_per_completed_response(app, runner, open_wave, tmp_path):
    complete(app.test_client())
    other = {**FULL, "n01": {"N01_A1": "3", "N01_P1": "9"},
             "about": {"sex": "1", "province": "3"}}
    del other["walk"]  # hidden: N01_P1 is "not applicable"
    complete(app.test_client(), answers=other)
    app.test_client().post("/2031/consent")  # unfinished: not exported

    out = tmp_path / "responses.csv"
    result = invoke(runner, "export", "--wave", "2031", "--out", out)
    assert result.exit_code == 0, result.output
    assert "2 completed responses" in result.output
    with open(out, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == EXPECTED_COLUMNS
        rows = list(reader)
    assert len(rows) == 2
    first, second = rows
    assert first["wave"] == "2031"
    assert (first["sex"], first["province"], first["region"], first["education"]) == \
        ("female", "510000", region_of_province("510000"), "primary")
    assert first["age_group"] == "" and first["urban_rural"] == ""  # not asked in this wave
    assert (first["N01_A1"], first["N01_P1"], first["N04_P4"], first["ATTN1"]) == \
        ("5", "4", "3", "4")
    assert first["N02_P1"] == "9"  # not applicable is its own code, never an empty cell
    assert (second["sex"], second["province"], second["region"]) == ("male", "230000",
                                                                     "northeast")
    assert second["N01_P1"] == "9"  # not applicable
    assert second["N04_P4"] == "" and second["education"] == ""  # not shown; not answered
    for row in rows:
        assert re.fullmatch(r"[0-9a-f]{32}", row["response_id"])
        assert ISO_UTC.match(row["started_at"]) and ISO_UTC.match(row["submitted_at"])
        assert float(row["duration_s"]) >= 0
    assert first["response_id"] != second["response_id"]


def test_export_parquet_has_typed_columns(app, runner, open_wave, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    complete(app.test_client())
    out = tmp_path / "responses.parquet"
    assert invoke(runner, "export", "--wave", "2031", "--out", out).exit_code == 0
    table = pq.read_table(out)
    assert table.column_names == EXPECTED_COLUMNS
    assert table.schema.field("N01_A1").type == pa.int64()
    assert table.schema.field("started_at").type == pa.timestamp("ms", tz="UTC")
    row = table.to_pylist()[0]
    assert row["sex"] == "female" and row["N01_A1"] == 5 and row["N02_P1"] == 9
    # the times keep the minute; the duration is the stored whole seconds
    assert row["started_at"].second == row["submitted_at"].second == 0
    assert row["started_at"].microsecond == row["submitted_at"].microsecond == 0
    with app.app_context():
        assert row["duration_s"] == db.session.scalar(select(Response.duration_s))
    assert (tmp_path / "responses.codebook.csv").exists()


def test_export_writes_the_codebook_beside_the_table(app, runner, open_wave, tmp_path):
    out = tmp_path / "w.csv"
    assert invoke(runner, "export", "--wave", "2031", "--out", out).exit_code == 0
    with open(out, encoding="utf-8") as fh:
        assert fh.read().strip() == ",".join(EXPECTED_COLUMNS)  # no responses yet: header only
    with open(tmp_path / "w.codebook.csv", newline="", encoding="utf-8") as fh:
        book = list(csv.DictReader(fh))
    assert [r["item"] for r in book] == EXPECTED_COLUMNS  # every column, in order
    assert list(book[0]) == ["wave", "item", "norm", "kind", "type", "wording_version",
                             "text_zh", "text_en", "answer_labels_zh", "answer_labels_en",
                             "not_applicable_code", "show_if", "page", "grid", "norms_version"]
    by_item = {r["item"]: r for r in book}
    n01 = by_item["N01_P1"]
    assert n01["text_zh"] == "您多久参加一次环保活动？" and n01["wording_version"] == "2"
    assert (n01["not_applicable_code"], n01["page"], n01["grid"]) == ("9", "n01", "1")
    assert by_item["N04_P4"]["show_if"] == "N01_P1 in {4,5}"
    assert by_item["N04_P4"]["grid"] == "0" and by_item["N04_P4"]["not_applicable_code"] == ""
    assert by_item["region"]["answer_labels_zh"] == \
        "east=东部; central=中部; west=西部; northeast=东北"
    assert by_item["flag_speeder"]["answer_labels_en"] == "0=no; 1=yes"
    assert {r["norms_version"] for r in book} == {"2023"}


def test_export_errors_are_messages(app, runner, open_wave, tmp_path):
    assert "no wave 1999" in invoke(runner, "export", "--wave", "1999", "--out",
                                    tmp_path / "x.csv").output
    bad = invoke(runner, "export", "--wave", "2031", "--out", tmp_path / "x.xls")
    assert bad.exit_code == 1 and ".csv, .parquet, .sav, .dta, .xlsx" in bad.output
    nowhere = invoke(runner, "export", "--wave", "2031", "--out", tmp_path / "no" / "x.csv")
    assert nowhere.exit_code == 1 and "does not exist" in nowhere.output


def test_export_streams_many_responses(app, runner, open_wave, tmp_path, monkeypatch):
    """More rows than one fetch chunk: grouping answers by response across chunk borders."""
    from survey import export

    monkeypatch.setattr(export, "CHUNK_ROWS", 7)
    for _ in range(6):
        complete(app.test_client())
    out = tmp_path / "many.csv"
    assert invoke(runner, "export", "--wave", "2031", "--out", out).exit_code == 0
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 6 and all(r["N01_A1"] == "5" and r["sex"] == "female" for r in rows)
    pq_out = tmp_path / "many.parquet"
    assert invoke(runner, "export", "--wave", "2031", "--out", pq_out).exit_code == 0
    import pyarrow.parquet as pq

    assert pq.read_table(pq_out).num_rows == 6


# --------------------------------------------------------------------------- the real survey


def _fill_page(html: str, rng: random.Random) -> dict[str, str]:
    data = {"nav": "next"}
    for name in dict.fromkeys(re.findall(r'type="radio" name="([^"]+)"', html)):
        values = re.findall(rf'type="radio" name="{re.escape(name)}" id="[^"]+" value="(\d+)"',
                            html)
        data[name] = rng.choice(values)
    for name, body in re.findall(r'<select name="([^"]+)".*?>(.*?)</select>', html, re.S):
        data[name] = rng.choice(re.findall(r'<option value="(\d+)"', body))
    return data


@pytest.mark.skipif(not REAL_FILE.exists(), reason=f"{REAL_FILE} not present")
def test_real_questionnaire_answers_arrive_in_the_export(app, runner, tmp_path):
    assert invoke(runner, "load-questionnaire", REAL_FILE).exit_code == 0
    assert invoke(runner, "open-wave", REAL_YEAR, "--closes", "2099-12-31").exit_code == 0
    definition = load_wave(REAL_FILE)
    client = app.test_client()
    rng = random.Random(7)
    given: dict[str, str] = {}
    page = client.get(client.post(f"/{REAL_YEAR}/consent").headers["Location"])
    for _ in range(len(definition.pages) + 1):
        data = _fill_page(page.text, rng)
        given.update({k: v for k, v in data.items() if k != "nav"})
        moved = client.post(re.search(r'<form method="post" action="([^"]+)"', page.text)[1],
                            data=data)
        assert moved.status_code == 303, moved.text
        if moved.headers["Location"].endswith("/thanks"):
            break
        page = client.get(moved.headers["Location"])
        while page.status_code == 303:  # a page whose questions are all hidden
            page = client.get(page.headers["Location"])
    else:
        pytest.fail("never reached the thank-you page")

    out = tmp_path / "real.csv"
    assert invoke(runner, "export", "--wave", REAL_YEAR, "--out", out).exit_code == 0
    with open(out, newline="", encoding="utf-8") as fh:
        [row] = list(csv.DictReader(fh))
    for code, item in definition.items.items():
        value = given.get(code)
        if item.kind == "demographic":
            expected = item.option(int(value)).value if value else ""
        else:
            expected = "" if value is None else value
        assert row[code] == expected, code
    assert row["region"] == region_of_province(row["province"])
    with open(tmp_path / "real.codebook.csv", newline="", encoding="utf-8") as fh:
        book = list(csv.DictReader(fh))
    with open(out, newline="", encoding="utf-8") as fh:
        columns = next(csv.reader(fh))
    assert_described(columns, [row], book)  # the real wave's export, described by its codebook


def test_export_flags_quality_with_the_analysis_rule_across_chunks(app, runner, open_wave,
                                                                   tmp_path, monkeypatch):
    """The flag columns equal analysis.quality.flag_quality over the whole wave, even when the
    export writes one row per chunk (the speeder median is the wave's, not the chunk's)."""
    import pandas as pd

    from analysis.quality import flag_quality
    from survey import export
    from survey.db import db
    from survey.models import Response

    for attention in ("4", "2", "4", "4"):
        complete(app.test_client(), answers={**FULL, "last": {"ATTN1": attention,
                                                              "N02_P1": "9"}})
    with app.app_context():  # three slow respondents, so the fourth is a speeder
        for i, r in enumerate(db.session.scalars(select(Response).order_by(Response.id))):
            # the duration is stored at submission (the times keep the minute only)
            r.duration_s = (10 + i) * 60 if i < 3 else 30
        db.session.commit()
    monkeypatch.setattr(export, "CHUNK_ROWS", 1)
    out = tmp_path / "flags.csv"
    assert invoke(runner, "export", "--wave", "2031", "--out", out).exit_code == 0
    table = pd.read_csv(out)
    assert table.flag_attention.tolist() == [0, 1, 0, 0]
    assert table.flag_speeder.tolist() == [0, 0, 0, 1]
    expected = flag_quality(table, open_wave)
    for column in expected.columns:
        assert table[column].tolist() == expected[column].tolist()
