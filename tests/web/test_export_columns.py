"""The columnar export (answers read in bulk and pivoted per item) writes exactly what the
row-by-row export wrote: the same CSV bytes and the same Parquet values and metadata, on a wave
with every question type, awkward texts, unknown codes, missing times and unfinished responses
between the completed ones, across several batches; and on another organisation's wave of the
same year with randomised order (the ``order__`` columns)."""

from __future__ import annotations

import datetime as dt
import json
import random

import pytest
from sqlalchemy import insert, select

from tests.typed_wave import typed_wave, typed_wave_data

from .conftest import add_org, install_wave
from .export_reference import reference_parquet_table, reference_rows, write_reference_csv

YEAR = 2031
TEXTS = ['=HYPERLINK("http://x","y")', "+1", "-5", "－１２", "@home", "\tTab", "\rreturn",
         "plain", 'say "hi", then go', "two\r\nlines", "line\nbreak", "逗号，中文", " lead",
         "", "1e5", "-", "'quoted'", "a,b", '"', "emoji 🌱"]
DECIMALS = ["0", "0.1", "2.675", "12.5", "9999.99", "1e3", "7", "0.01", "3.14159"]


def _answer(rng: random.Random, item) -> dict | None:
    """A stored answer of ``item`` (``code`` or ``value``), or None for no answer row."""
    if rng.random() < 0.15:
        return None
    kind = item.type
    if kind in ("scale", "single_choice"):
        codes = list(item.answer_codes) + [77]  # 77: no such option
        return {"code": rng.choice(codes)}
    if kind == "select_multiple":
        return {"code": rng.randrange(1, 1 << 5) << 1 | (rng.random() < 0.1) << 9}
    if kind == "integer":
        return {"code": rng.choice([0, 1, 12, 60, -3, 1_000_000_000])}
    if kind == "decimal":
        return {"value": rng.choice(DECIMALS)}
    return {"value": rng.choice(TEXTS)}


def _store_responses(app, wave, wave_id: int, ids, rng: random.Random, seed=None) -> None:
    """Responses ``ids`` to ``wave`` (every sixth unfinished, #11 without a submission time,
    every 13th without a duration, #17 without answers, #5 with an unknown province code)
    with answers of every item and of an item the wave does not have; ``seed(rid)`` their
    presentation seeds (default: the model's random one)."""
    from survey.db import db
    from survey.models import Answer, Response

    with app.app_context():
        responses, answers = [], []
        for rid in ids:
            complete = rid % 6 != 0  # every sixth is unfinished
            started = dt.datetime(2031, 3, 1, 8, rid % 60, rid % 7, 123000)
            responses.append({
                "id": rid, "public_id": f"{rid:032x}", "wave_id": wave_id,
                "status": "complete" if complete else "in_progress", "language": "zh",
                "page_index": 0, "started_at": started, "updated_at": started,
                "submitted_at": None if rid == 11 else started + dt.timedelta(minutes=rid % 90),
                "duration_s": None if rid % 13 == 0 else rng.choice([20, 95, 400, 610, 900]),
                **({} if seed is None else {"presentation_seed": seed(rid)})})
            if rid == 17:
                continue  # a completed response without any answer
            for item in wave.items.values():
                stored = _answer(rng, item)
                if stored is not None:
                    answers.append({"response_id": rid, "item": item.code, "code": None,
                                    "value": None, **stored})
            answers.append({"response_id": rid, "item": "GONE_item", "code": 3, "value": None})
        if 5 in ids:  # a province code that is no option of the item
            answers = [a for a in answers if (a["response_id"], a["item"]) != (5, "province")]
            answers.append({"response_id": 5, "item": "province", "code": 999999,
                            "value": None})
        db.session.execute(insert(Response.__table__), responses)
        db.session.execute(insert(Answer.__table__), answers)
        db.session.commit()


def _wave_id(app, organisation: str) -> int:
    from survey.db import db
    from survey.models import Organisation, Wave

    with app.app_context():
        return db.session.execute(
            select(Wave.id).join(Organisation, Wave.organisation_id == Organisation.id)
            .where(Wave.year == YEAR, Organisation.code == organisation)).scalar_one()


@pytest.fixture
def varied_wave(app):
    wave = typed_wave(YEAR)
    install_wave(app, wave)
    _store_responses(app, wave, _wave_id(app, "national"), range(1, 61), random.Random(7))
    return wave


@pytest.fixture
def randomised_wave(app, varied_wave):
    """Organisation CITY's wave of the same year with randomised order: the page 'local'
    shows its items and DEMO_bins its options in each response's order.  Its responses (even
    ids 62..180) interleave with more of the default organisation's (odd ids 61..179), so a
    batch's id range holds the other wave's answers; some have no seed (started before orders
    were recorded), one has seed 0."""
    from survey.db import db
    from survey.models import Organisation, Questionnaire, Wave

    data = typed_wave_data(YEAR)
    local = next(p for p in data["pages"] if p["key"] == "local")
    local["randomise"] = "items"
    local["items"][0] = {"item": "DEMO_bins", "randomise_options": True}
    wave = typed_wave(YEAR, data)
    add_org(app, "CITY", "national")
    with app.app_context():
        org = db.session.execute(
            select(Organisation).where(Organisation.code == "CITY")).scalar_one()
        row = Wave(year=YEAR, status="open", opens=wave.opens, closes=wave.closes,
                   organisation=org)
        db.session.add(row)
        db.session.flush()
        db.session.add(Questionnaire(wave_id=row.id, content_hash=wave.content_hash,
                                     definition=json.dumps(wave.to_dict(), ensure_ascii=False)))
        db.session.commit()
    rng = random.Random(11)
    city = range(62, 182, 2)
    seeds = {rid: None if rid % 5 == 0 else 0 if rid == 64 else rng.randrange(2**31)
             for rid in city}
    _store_responses(app, wave, _wave_id(app, "CITY"), city, rng, seeds.get)
    _store_responses(app, varied_wave, _wave_id(app, "national"), range(61, 181, 2), rng)
    return wave


@pytest.mark.parametrize("batch", [7, 20_000])
def test_csv_is_byte_for_byte_the_row_by_row_export(app, runner, varied_wave, tmp_path,
                                                    monkeypatch, batch):
    from survey import export

    monkeypatch.setattr(export, "CHUNK_ROWS", batch)
    for options, name in (((), "new.csv"), (("--bom",), "bom.csv")):
        result = runner.invoke(args=["export", "--wave", str(YEAR), "--out",
                                     str(tmp_path / name), *options])
        assert result.exit_code == 0, result.output
    with app.app_context():
        layout, rows = reference_rows(YEAR)
    assert len(rows) == 50
    write_reference_csv(tmp_path / "old.csv", layout, rows)
    write_reference_csv(tmp_path / "old-bom.csv", layout, rows, bom=True)
    assert (tmp_path / "new.csv").read_bytes() == (tmp_path / "old.csv").read_bytes()
    assert (tmp_path / "bom.csv").read_bytes() == (tmp_path / "old-bom.csv").read_bytes()
    # the data had what the comparison is about
    text = (tmp_path / "new.csv").read_bytes().decode("utf-8")
    assert "'=HYPERLINK" in text and '"two\r\nlines"' in text and "1000000000" in text


@pytest.mark.parametrize("batch", [7, 20_000])
def test_parquet_is_value_for_value_the_row_by_row_export(app, runner, varied_wave, tmp_path,
                                                          monkeypatch, batch):
    import pyarrow.parquet as pq

    from survey import export
    from survey.export_formats import TableSpec
    from survey.fieldwork import fieldwork_rows

    monkeypatch.setattr(export, "CHUNK_ROWS", batch)
    out = tmp_path / "new.parquet"
    result = runner.invoke(args=["export", "--wave", str(YEAR), "--out", str(out)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        layout, rows = reference_rows(YEAR)
        spec = TableSpec(columns=layout.columns, codebook=layout.codebook,
                         fieldwork=fieldwork_rows(YEAR))
    expected = reference_parquet_table(spec, rows)
    written = pq.read_table(out)
    assert written.schema.equals(expected.schema, check_metadata=True)
    assert written.to_pylist() == expected.to_pylist()
    flags = [r["flag_speeder"] + r["flag_straightliner"] + r["flag_attention"] for r in rows]
    assert any(flags) and not all(flags)


def test_partitioned_parquet_by_province(app, runner, varied_wave, tmp_path, monkeypatch):
    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from analysis.dask_engine import parquet_files
    from survey import export

    monkeypatch.setattr(export, "CHUNK_ROWS", 7)
    single = tmp_path / "all.parquet"
    assert runner.invoke(args=["export", "--wave", str(YEAR), "--out", str(single)]
                         ).exit_code == 0
    folder = tmp_path / "data"  # created by the export
    for _ in range(2):  # a second export replaces the first
        result = runner.invoke(args=["export", "--wave", str(YEAR), "--out", f"{folder}/",
                                     "--partition", "province"])
        assert result.exit_code == 0, result.output
    assert [p.name for p in folder.iterdir()] == [f"wave={YEAR}"]
    assert (folder / f"wave={YEAR}" / "_codebook.csv").read_bytes() == (
        tmp_path / "all.codebook.csv").read_bytes()
    assert (folder / f"wave={YEAR}" / "_fieldwork.csv").exists()
    files = parquet_files(folder)  # what `survey-analysis estimate DIR --engine dask` reads
    whole = pq.read_table(single)
    provinces = set(whole["province"].to_pylist())
    assert None in provinces and len(provinces) > 3
    assert sorted(f.parent.name for f in files) == sorted(
        f"province={'__HIVE_DEFAULT_PARTITION__' if p is None else p}" for p in provinces)
    assert all(f.name == "part-0.parquet" and f.parent.parent.name == f"wave={YEAR}"
               for f in files)
    for f in files:  # every file is a whole export file of its rows
        assert pq.read_schema(f).equals(whole.schema, check_metadata=True)
    parts = pa.concat_tables(pq.read_table(f) for f in files).sort_by("response_id")
    assert parts.to_pylist() == whole.sort_by("response_id").to_pylist()
    # and the folder reads as one Hive-partitioned data set, with the files' own types
    # (inferred from the folder names a province code would be a number)
    dataset = ds.dataset(folder, format="parquet", partitioning="hive",
                         schema=pq.read_schema(files[0]))
    assert dataset.to_table().sort_by("response_id").equals(whole.sort_by("response_id"))
    unsplit = tmp_path / "unsplit"
    unsplit.mkdir()
    assert runner.invoke(args=["export", "--wave", str(YEAR), "--out", f"{unsplit}/"]
                         ).exit_code == 0
    assert pq.read_table(unsplit / f"wave={YEAR}" / "part-0.parquet").equals(whole)


def test_partition_errors_are_messages(app, runner, varied_wave, tmp_path):
    bad = runner.invoke(args=["export", "--wave", str(YEAR), "--out", f"{tmp_path}/",
                              "--partition", "N05_A1"])
    assert bad.exit_code == 1 and "not a category column" in bad.output
    assert "province" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(args=["export", "--wave", str(YEAR), "--out",
                                  f"{tmp_path}/no/where/", "--partition", "province"])
    assert missing.exit_code == 1 and "does not exist" in missing.output
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("survey.sqlite")] == []


@pytest.mark.parametrize("batch", [7, 20_000])
def test_randomised_order_of_another_organisation_is_the_row_by_row_export(
        app, runner, randomised_wave, tmp_path, monkeypatch, batch):
    import pyarrow.parquet as pq

    from survey import export
    from survey.export_formats import TableSpec
    from survey.fieldwork import fieldwork_rows

    monkeypatch.setattr(export, "CHUNK_ROWS", batch)
    for name in ("new.csv", "new.parquet"):
        result = runner.invoke(args=["export", "--wave", str(YEAR), "--org", "CITY", "--out",
                                     str(tmp_path / name)])
        assert result.exit_code == 0, result.output
    with app.app_context():
        layout, rows = reference_rows(YEAR, "CITY")
        spec = TableSpec(columns=layout.columns, codebook=layout.codebook,
                         fieldwork=fieldwork_rows(YEAR, "CITY"))
    assert len(rows) == 40 and {r["response_id"] for r in rows} == {
        f"{rid:032x}" for rid in range(62, 182, 2) if rid % 6}
    write_reference_csv(tmp_path / "old.csv", layout, rows)
    assert (tmp_path / "new.csv").read_bytes() == (tmp_path / "old.csv").read_bytes()
    expected = reference_parquet_table(spec, rows)
    written = pq.read_table(tmp_path / "new.parquet")
    assert written.schema.equals(expected.schema, check_metadata=True)
    assert written.to_pylist() == expected.to_pylist()
    # the data had what the comparison is about: orders that differ between responses,
    # empty without a seed, in the columns before started_at
    columns = written.column_names
    assert columns[columns.index("started_at") - 2:columns.index("started_at")] == [
        "order__local", "order__DEMO_bins"]
    pages = [r["order__local"] for r in written.to_pylist()]
    assert None in pages and len(set(pages) - {None}) > 3
    bins = [r["order__DEMO_bins"] for r in written.to_pylist() if r["order__DEMO_bins"]]
    assert all(sorted(b.split()) == ["1", "2", "3", "4"] for b in bins)
    assert len(set(bins)) > 3


def test_the_default_organisations_wave_of_the_same_year_has_no_order_columns(
        app, runner, randomised_wave, tmp_path):
    import pyarrow.parquet as pq

    out = tmp_path / "national.parquet"
    result = runner.invoke(args=["export", "--wave", str(YEAR), "--out", str(out)])
    assert result.exit_code == 0, result.output
    written = pq.read_table(out)
    assert not [c for c in written.column_names if c.startswith("order__")]
    assert set(written["response_id"].to_pylist()) == {
        f"{rid:032x}" for rid in [*range(1, 61), *range(61, 181, 2)] if rid % 6}


def test_two_organisations_waves_of_one_year_share_a_partitioned_folder(
        app, runner, randomised_wave, tmp_path):
    """The default organisation's wave under DIR/wave=YEAR, CITY's of the same year under
    DIR/organisation=CITY/wave=YEAR: neither export replaces the other."""
    import pyarrow.parquet as pq

    from analysis.dask_engine import parquet_files

    folder = tmp_path / "data"
    for org in ("national", "CITY"):
        result = runner.invoke(args=["export", "--wave", str(YEAR), "--org", org, "--out",
                                     f"{folder}/"])
        assert result.exit_code == 0, result.output
    national = folder / f"wave={YEAR}" / "part-0.parquet"
    city = folder / "organisation=CITY" / f"wave={YEAR}" / "part-0.parquet"
    assert sorted(parquet_files(folder)) == sorted([national, city])
    national_ids = set(pq.read_table(national)["response_id"].to_pylist())
    city_ids = set(pq.read_table(city)["response_id"].to_pylist())
    assert national_ids and city_ids and not national_ids & city_ids
    assert (folder / "organisation=CITY" / f"wave={YEAR}" / "_codebook.csv").exists()
