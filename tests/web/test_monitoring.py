"""Monitoring numbers against a hand count on a small seeded wave; the quality flags are the
export's; the census targets are the analysis's margins; N viewers cost one computation per
MONITORING_SECONDS."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import event, select

from survey import wave_cache
from survey.db import db
from survey.models import Wave
from survey.monitoring import census_targets, compute

from .conftest import FULL, add_user, answer, sign_in, start

ROOT = Path(__file__).resolve().parents[2]


def seed(app):
    """R1 completes (female, Sichuan → west, walks: sees every page); R2 completes (male,
    Beijing → east, N01_P1=2 hides the walk page, fails the attention check); R3 saves the
    first page only; R4 only consents."""
    r1 = app.test_client()
    start(r1)
    for key, data in FULL.items():
        assert answer(r1, 2031, key, data).status_code == 303
    r2 = app.test_client()
    start(r2)
    for key, data in [("about", {"sex": "1", "province": "1", "education": "2"}),
                      ("n01", {"N01_A1": "3", "N01_P1": "2"}),
                      ("last", {"ATTN1": "3", "N02_P1": "5"})]:
        assert answer(r2, 2031, key, data).status_code == 303
    r3 = app.test_client()
    start(r3)
    assert answer(r3, 2031, "about", FULL["about"]).status_code == 303
    start(app.test_client())


def wave_id(app) -> int:
    with app.app_context():
        return db.session.execute(select(Wave.id)).scalar_one()


def test_the_numbers_are_the_hand_count(app, open_wave, runner, tmp_path):
    seed(app)
    with app.app_context():
        numbers = compute(wave_id(app))
    assert (numbers.started, numbers.completed, numbers.unfinished) == (4, 2, 2)
    today = datetime.now(ZoneInfo(app.config["SURVEY_TIMEZONE"])).date()
    assert numbers.completions_per_day == [(today, 2)]
    assert [(s.key, s.saved, s.stopped_here) for s in numbers.pages] == [
        ("about", 3, 1), ("n01", 2, 1), ("walk", 1, 0), ("last", 2, 0)]
    assert numbers.flags["attention"] == 1 and numbers.flags["straightliner"] == 0
    shares = {variable: {s.category: (s.count, s.sample_share) for s in rows}
              for variable, rows in numbers.composition.items()}
    assert set(shares) == {"sex", "region"}  # the test wave asks no age group
    assert shares["sex"] == {"male": (1, 0.5), "female": (1, 0.5)}
    assert shares["region"] == {"east": (1, 0.5), "central": (0, 0.0), "west": (1, 0.5),
                                "northeast": (0, 0.0)}
    # the flags are the export's own, response for response
    out = tmp_path / "r.csv"
    assert runner.invoke(args=["export", "--wave", "2031", "--out", str(out)]).exit_code == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    for name in ("speeder", "straightliner", "attention"):
        assert numbers.flags[name] == sum(int(r[f"flag_{name}"]) for r in rows), name
    assert numbers.flagged_any == sum(
        max(int(r[f"flag_{n}"]) for n in ("speeder", "straightliner", "attention"))
        for r in rows)


def test_the_wave_page_and_the_api_show_the_numbers(app, open_wave):
    seed(app)
    add_user(app, "viewer@example.org", ("national", "viewer"))
    client = app.test_client()
    sign_in(client, "viewer@example.org")
    page = client.get("/console/national/2031/?lang=en").text
    assert '<tr><th scope="row">Started</th><td>4</td></tr>' in page
    assert '<tr><th scope="row">3. Short trips</th><td>1</td><td>0</td></tr>' in page
    assert "<caption>Sample against census targets: sex</caption>" in page
    detail = client.get("/api/v1/waves/national/2031").json["monitoring"]
    assert detail["funnel"][0] == {"page": "about", "saved": 3, "stopped_here": 1}
    assert detail["completion_rate"] == 0.5 and detail["quality_flags"]["attention"] == 1


def test_the_census_targets_are_the_analysis_margins():
    copy = (ROOT / "survey" / "data" / "census2020_adult_margins.csv").read_bytes()
    assert copy == (ROOT / "analysis" / "data" / "census2020_adult_margins.csv").read_bytes()
    targets = census_targets()
    assert set(targets) == {"sex", "age_group", "region"}
    assert all(abs(sum(shares.values()) - 1) < 1e-12 for shares in targets.values())


def test_many_views_cost_one_computation_per_period(app, open_wave, monkeypatch):
    app.config.update(MONITORING_SECONDS=60, CLOSED_MONITORING_SECONDS=3600)
    wave_cache.monitoring.clear()
    clock = [1000.0]
    monkeypatch.setattr(wave_cache.time, "monotonic", lambda: clock[0])
    seed(app)
    add_user(app, "viewer@example.org", ("national", "viewer"))
    viewers = [app.test_client() for _ in range(3)]
    for viewer in viewers:
        sign_in(viewer, "viewer@example.org")
    statements: list[str] = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute",
                     lambda conn, cursor, statement, *a: statements.append(statement))

    def scans() -> int:
        return sum("page_saves" in s for s in statements)

    for viewer in viewers * 3:
        assert viewer.get("/console/national/2031/").status_code == 200
        assert viewer.get("/api/v1/waves/national/2031").status_code == 200
    assert scans() == 1
    clock[0] += 61
    viewers[0].get("/console/national/2031/")
    assert scans() == 2
    wave_cache.monitoring.clear()
