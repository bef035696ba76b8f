"""Anonymous means anonymous: what the database keeps of a device (a keyed hash of its token and
resume code, only until the response is complete), how long the cookie lives, and times to the
minute with the duration kept in seconds (README.md, "Data protection")."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import json
import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import inspect, select, text

from survey.db import db
from survey.models import PageSave, Response, resume_code_hash, token_hash

from .conftest import FULL, _truncate_all, answer, complete, install_wave, make_wave, start

SECRET = "test secret"  # conftest's SECRET_KEY
CODE = re.compile(r'class="code" lang="en">([A-Z0-9]{4})-([A-Z0-9]{4})<')
WAVES = Path(__file__).resolve().parents[2] / "questionnaires" / "waves"


def stored_rows(app) -> list[dict]:
    with app.app_context():
        return [dict(row._mapping) for row in db.session.execute(text("SELECT * FROM responses"))]


def shown_code(html: str) -> str:
    return "".join(CODE.search(html).groups())


def response_row(app) -> Response:
    with app.app_context():
        row = db.session.execute(select(Response)).scalar_one()
        db.session.expunge(row)
        return row


# --------------------------------------------------------------------------- what is stored


def test_the_database_keeps_only_keyed_hashes_of_token_and_resume_code(app, client, open_wave):
    page = start(client)
    token = client.get_cookie("survey_response").value
    code = shown_code(page.text)
    [row] = stored_rows(app)
    values = {str(value) for value in row.values()}
    assert token not in values and code not in values
    assert not any(token in value or code in value for value in values)
    assert "token" not in row and "resume_code" not in row
    assert row["token_hash"] == token_hash(SECRET, token)
    assert row["resume_code_hash"] == resume_code_hash(SECRET, code)
    # keyed: a plain hash of the token (no key) is not what is stored
    assert row["token_hash"] != hashlib.sha256(token.encode()).hexdigest()
    key = hmac.new(SECRET.encode(), b"ten-norms survey: response token", hashlib.sha256).digest()
    assert row["token_hash"] == hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def test_completing_drops_every_link_between_device_and_response(app, client, open_wave):
    page = start(client)
    code = shown_code(page.text)
    token = client.get_cookie("survey_response").value
    for key, data in FULL.items():
        last = answer(client, 2031, key, data)
    assert last.headers["Location"].endswith("/2031/thanks")
    cleared = [c for c in last.headers.getlist("Set-Cookie") if c.startswith("survey_response=")]
    assert cleared and ("Max-Age=0" in cleared[0] or "1970" in cleared[0]), cleared
    assert client.get_cookie("survey_response") is None
    row = response_row(app)
    assert row.status == "complete"
    assert row.token_hash is None and row.resume_code_hash is None
    # the code that was shown no longer finds the answers, nor does the old token
    other = app.test_client()
    found = other.post("/2031/resume", data={"code": code})
    assert "没有找到" in found.text and "survey_response=" not in found.headers.get(
        "Set-Cookie", "")
    thief = app.test_client()
    thief.set_cookie("survey_response", token)
    assert thief.get("/2031/page/about").headers["Location"].endswith("/2031/")
    # the thank-you page still thanks this browser
    assert "您的回答已提交" in client.get("/2031/thanks").text


def test_the_cookie_lives_until_the_wave_closes_and_at_most_30_days(app, client):
    soon = dt.date.today() + dt.timedelta(days=3)
    install_wave(app, make_wave(closes=soon))
    cookie = client.post("/2031/consent").headers["Set-Cookie"]
    max_age = int(re.search(r"Max-Age=(\d+)", cookie).group(1))
    assert 2 * 86400 < max_age <= 4 * 86400 + 3600, max_age


def test_the_cookie_lives_at_most_30_days_in_a_long_wave(client, open_wave):
    cookie = client.post("/2031/consent").headers["Set-Cookie"]
    assert int(re.search(r"Max-Age=(\d+)", cookie).group(1)) == 30 * 86400


# --------------------------------------------------------------------------- times


def _is_minute(moment) -> bool:
    return moment is not None and moment.second == 0 and moment.microsecond == 0


def test_times_keep_the_minute_and_the_duration_is_stored(app, client, open_wave):
    start(client)
    answer(client, 2031, "about", FULL["about"])
    row = response_row(app)
    assert _is_minute(row.updated_at)  # every page save: the minute only
    with app.app_context():
        assert all(_is_minute(s.saved_at) and _is_minute(s.first_saved_at)
                   for s in db.session.scalars(select(PageSave)))
        # an exact start 754.6 s ago (kept exactly only while in progress)
        exact = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=754.6)
        db.session.execute(text("UPDATE responses SET started_at = :t"), {"t": exact})
        db.session.commit()
    for key in ("n01", "walk", "last"):
        answer(client, 2031, key, FULL[key])
    row = response_row(app)
    assert row.status == "complete"
    assert _is_minute(row.started_at) and _is_minute(row.submitted_at)
    assert _is_minute(row.updated_at)
    assert row.started_at == exact.replace(second=0, microsecond=0)
    assert 755 <= row.duration_s <= 765


def test_the_export_carries_minutes_and_the_stored_duration(app, runner, open_wave, tmp_path):
    complete(app.test_client())
    with app.app_context():
        db.session.execute(text("UPDATE responses SET duration_s = 612"))
        db.session.commit()
    out = tmp_path / "responses.csv"
    result = runner.invoke(args=["export", "--wave", "2031", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with open(out, encoding="utf-8", newline="") as fh:
        [row] = list(csv.DictReader(fh))
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z", row["started_at"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:00\.000Z", row["submitted_at"])
    assert float(row["duration_s"]) == 612


# --------------------------------------------------------------------------- consent text


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_the_consent_text_says_what_is_kept(year):
    consent = yaml.safe_load((WAVES / f"{year}.yaml").read_text(encoding="utf-8"))["consent"]
    assert "to the minute" in consent["en"] and "精确到分钟" in consent["zh"]
    assert "nothing links this device" in consent["en"].lower()
    assert "不再有任何信息把这台设备" in consent["zh"]
    assert "30 days" in consent["en"] and "30天" in consent["zh"]


# --------------------------------------------------------------------------- the migration


@pytest.fixture
def old_database(app):
    """The app's database at revision 0001 (plain tokens and exact times)."""
    from survey.db import upgrade_database

    with app.app_context():
        db.drop_all()
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        upgrade_database("0001")
    yield app
    with app.app_context():
        db.session.execute(text("DROP TABLE IF EXISTS alembic_version"))
        db.session.commit()
        db.drop_all()
        db.create_all()
        if db.engine.dialect.name == "postgresql":
            _truncate_all(db)


def test_the_migration_hashes_codes_cuts_times_and_unlinks_completed(old_database):
    from survey.db import upgrade_database

    app = old_database
    wave = make_wave()
    started = dt.datetime(2026, 3, 1, 8, 0, 17, 250000)
    with app.app_context():
        # the tables of revision 0001 (today's models have more columns)
        wave_id = db.session.execute(text(
            "INSERT INTO waves (year, status, opens, closes, created_at) "
            "VALUES (:y, 'open', :o, :c, :n) RETURNING id"),
            {"y": wave.year, "o": wave.opens, "c": wave.closes, "n": started}).scalar_one()
        db.session.execute(text(
            "INSERT INTO questionnaires (wave_id, content_hash, definition, loaded_at) "
            "VALUES (:w, :h, :d, :n)"),
            {"w": wave_id, "h": wave.content_hash, "n": started,
             "d": json.dumps(wave.to_dict(), ensure_ascii=False)})
        insert = text(
            "INSERT INTO responses (public_id, token, resume_code, wave_id, status, language,"
            " page_index, started_at, updated_at, submitted_at) VALUES (:p, :t, :c, :w, :s,"
            " 'zh', :i, :a, :u, :b)")
        db.session.execute(insert, [
            {"p": "a" * 32, "t": "T" * 43, "c": "ACDEFGHJ", "w": wave_id, "s": "complete",
             "i": 3, "a": started, "u": started + dt.timedelta(seconds=700.6),
             "b": started + dt.timedelta(seconds=700.6)},
            {"p": "b" * 32, "t": "U" * 43, "c": "KMNPQRTU", "w": wave_id, "s": "in_progress",
             "i": 1, "a": started, "u": started + dt.timedelta(seconds=65.5), "b": None},
        ])
        db.session.execute(text(
            "INSERT INTO answers (response_id, item, code) SELECT id, 'sex', 1 FROM responses"))
        db.session.commit()
        upgrade_database()
        columns = {c["name"] for c in inspect(db.engine).get_columns("responses")}
        assert {"token_hash", "resume_code_hash", "duration_s"} <= columns
        assert not {"token", "resume_code"} & columns
        # SQLite copies the responses table: their answers must not go with the old copy
        assert db.session.execute(text("SELECT count(*) FROM answers")).scalar() == 2
    done, unfinished = sorted(stored_rows(app), key=lambda r: r["public_id"])
    assert done["token_hash"] is None and done["resume_code_hash"] is None
    assert done["duration_s"] == 701
    for name in ("started_at", "submitted_at", "updated_at"):
        value = done[name]
        if isinstance(value, str):  # SQLite's raw text
            value = dt.datetime.fromisoformat(value)
        assert _is_minute(value), (name, value)
    assert unfinished["token_hash"] is None
    assert unfinished["resume_code_hash"] == resume_code_hash(SECRET, "KMNPQRTU")
    # the code the person was shown still opens the response, once, under a new code
    phone = app.test_client()
    moved = phone.post("/2031/resume", data={"code": "kmnp-qrtu"})
    assert moved.status_code == 200 and 'href="/2031/page/n01"' in moved.text
    assert shown_code(moved.text) != "KMNPQRTU"
    assert phone.get("/2031/page/n01").status_code == 200
