"""Export jobs (survey/export_jobs.py): every format through the console's job and the API's
job reads back as the export command writes it; the permission check on every job route; two
runners never run one job; a failed job records one line and offers no file; the form needs
its CSRF token; the old one-step download queues a job for a large wave; expired jobs and
their files go."""

from __future__ import annotations

import io
import math
import threading
import time
import zipfile
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from survey import export_jobs
from survey.db import db
from survey.models import AuditEvent, ExportJob, User, Wave, utc_now

from .conftest import csrf_from, sign_in
from .staff_tree import build_tree, staff, token_for
from .test_export_codebook import READERS, VARIED, read_parquet

JOB_PATH = "/console/{org}/2031/exports/{job}"


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def tree(app):
    build_tree(app)
    return app


def answered(app, org: str = "SC") -> None:
    """The varied answers, completed on ``org``'s wave 2031."""
    for answers in VARIED:
        client = app.test_client()
        assert client.post(f"/o/{org}/2031/consent").status_code == 303
        for key, data in answers.items():
            saved = client.post(f"/o/{org}/2031/page/{key}", data={**data, "nav": "next"})
            assert saved.status_code == 303, saved.text


def run_jobs(app) -> None:
    """Whatever is queued, run: the web process's thread where it runs (SQLite), else a
    worker."""
    assert export_jobs.inline_runner(app).wait(120)
    result = app.test_cli_runner().invoke(args=["run-export-jobs", "--once"])
    assert result.exit_code == 0, result.output


def job_row(app, job_id: int) -> ExportJob:
    with app.app_context():
        job = db.session.get(ExportJob, job_id)
        db.session.expunge(job)
        return job


def cli_export(app, tmp_path, name: str, *options: str):
    out = tmp_path / "cli" / name
    out.parent.mkdir(exist_ok=True)
    result = app.test_cli_runner().invoke(
        args=["export", "--wave", "2031", "--org", "SC", "--out", str(out), *options])
    assert result.exit_code == 0, result.output
    return out


def plain(rows: list[dict]) -> list[dict]:
    """NaN (pandas' empty cell) as None, so two readings compare equal."""
    return [{k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items()}
            for r in rows]


def partitioned_files(folder) -> dict:
    """Each file of a partitioned export by its path: a Parquet file's columns and rows, a
    CSV file's bytes."""
    return {path.relative_to(folder).as_posix():
            read_parquet(path) if path.suffix == ".parquet" else path.read_bytes()
            for path in sorted(folder.rglob("*.*"))}


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("file_format", sorted(export_jobs.JOB_FORMATS))
def test_every_format_through_a_console_job_reads_back_as_the_command_writes_it(
        tree, tmp_path, file_format):
    answered(tree)
    client = tree.test_client()
    email = staff(tree, "analyst")
    sign_in(client, email)
    created = client.post("/console/SC/2031/exports", data={"format": file_format})
    assert created.status_code == 303
    job_url = created.headers["Location"]
    job_id = int(job_url.rstrip("/").rsplit("/", 1)[1])
    assert job_url == JOB_PATH.format(org="SC", job=job_id)
    run_jobs(tree)
    page = client.get(job_url + "?lang=en")
    assert page.status_code == 200 and "Ready" in page.text and "data-refresh" not in page.text
    job = job_row(tree, job_id)
    assert (job.status, job.rows, job.requester_email) == ("done", 3, email)
    assert job.created_at.second == 0 and job.finished_at.second == 0  # to the minute
    download = client.get(f"{job_url}/file")
    assert download.status_code == 200
    assert int(download.headers["Content-Length"]) == len(download.data) == job.size_bytes
    assert download.headers["Content-Type"] == export_jobs.JOB_FORMATS[file_format].media_type
    name = export_jobs.download_name("SC", 2031, file_format)
    assert download.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    if file_format == "parquet-partitioned":
        unpacked = tmp_path / "job"
        zipfile.ZipFile(io.BytesIO(download.data)).extractall(unpacked)
        names = sorted(p.relative_to(unpacked).as_posix() for p in unpacked.rglob("*.*"))
        assert "organisation=SC/wave=2031/_codebook.csv" in names
        assert any(n.startswith("organisation=SC/wave=2031/province=") for n in names)
        cli = cli_export(tree, tmp_path, "partitioned/", "--partition", "province")
        files = partitioned_files(unpacked)
        assert files == partitioned_files(cli)
        assert sum(len(rows) for name, (_, rows) in ((n, f) for n, f in files.items()
                                                    if n.endswith(".parquet"))) == 3
    else:
        got = tmp_path / name
        got.write_bytes(download.data)
        want = cli_export(tree, tmp_path, name)
        read = READERS[want.suffix]
        (got_columns, got_rows), (want_columns, want_rows) = read(got), read(want)
        assert got_columns == want_columns and len(got_rows) == 3
        assert plain(got_rows) == plain(want_rows)
        if file_format == "csv":
            assert download.data == want.read_bytes()  # byte for byte
    with tree.app_context():
        actions = [(e.user_email, e.action) for e in db.session.execute(
            select(AuditEvent).where(AuditEvent.wave_id.is_not(None))  # not the sign-ins
            .order_by(AuditEvent.id)).scalars()]
    assert actions == [(email, "request_export"), (email, "export")]


def test_an_api_job_queues_reports_and_sends_its_file(tree, tmp_path):
    answered(tree)
    headers = bearer(token_for(tree, staff(tree, "analyst")))
    client = tree.test_client()
    created = client.post("/api/v1/waves/SC/2031/exports", json={"format": "parquet"},
                          headers=headers)
    assert created.status_code == 202
    job = created.json
    assert created.headers["Location"] == job["url"] == f"/api/v1/exports/{job['id']}"
    assert (job["status"], job["format"], job["organisation"], job["year"]) == (
        "queued", "parquet", "SC", 2031) or job["status"] in ("running", "done")
    run_jobs(tree)
    status = client.get(job["url"], headers=headers)
    assert status.status_code == 200
    assert (status.json["status"], status.json["rows"], status.json["error"]) == ("done", 3, None)
    assert status.json["file_url"] == f"/api/v1/exports/{job['id']}/file"
    download = client.get(status.json["file_url"], headers=headers)
    assert download.status_code == 200 and download.data[:4] == b"PAR1"
    assert int(download.headers["Content-Length"]) == status.json["size_bytes"]
    got = tmp_path / "got.parquet"
    got.write_bytes(download.data)
    assert read_parquet(got) == read_parquet(cli_export(tree, tmp_path, "want.parquet"))
    for body in ({"format": "exe"}, {}, {"format": None}, ["csv"]):
        refused = client.post("/api/v1/waves/SC/2031/exports", json=body, headers=headers)
        assert refused.status_code == 422 and refused.json["code"] == 422, body


# --------------------------------------------------------------------------- permissions


def test_only_who_may_export_the_waves_organisation_sees_its_jobs(tree):
    analyst = staff(tree, "analyst")  # SC: its own wave and its child CD's
    sibling = staff(tree, "analyst", "HB")
    viewer = staff(tree, "viewer")
    national = staff(tree, "analyst", "national")  # the parent reaches down
    tokens = {email: token_for(tree, email) for email in (analyst, sibling, viewer, national)}
    api = tree.test_client()
    created = api.post("/api/v1/waves/SC/2031/exports", json={"format": "csv"},
                       headers=bearer(tokens[analyst]))
    assert created.status_code == 202
    job_id = created.json["id"]
    assert api.post("/api/v1/waves/HB/2031/exports", json={"format": "csv"},
                    headers=bearer(tokens[analyst])).status_code == 403
    assert api.post("/api/v1/waves/SC/2031/exports", json={"format": "csv"},
                    headers=bearer(tokens[viewer])).status_code == 403
    assert api.post("/api/v1/waves/SC/1999/exports", json={"format": "csv"},
                    headers=bearer(tokens[analyst])).status_code == 404
    run_jobs(tree)
    for path in (f"/api/v1/exports/{job_id}", f"/api/v1/exports/{job_id}/file"):
        assert api.get(path).status_code == 401  # no token
        assert api.get(path, headers=bearer("tn_" + "x" * 43)).status_code == 401
        for email, code in ((analyst, 200), (national, 200), (sibling, 404), (viewer, 404)):
            response = api.get(path, headers=bearer(tokens[email]))
            assert response.status_code == code, (path, email)
            if code == 404:
                assert response.json["code"] == 404
        for other in ("999", "99999999999999999999"):  # past PostgreSQL's integer: 404
            assert api.get(path.replace(str(job_id), other),
                           headers=bearer(tokens[analyst])).status_code == 404
    page = JOB_PATH.format(org="SC", job=job_id)
    for email, code in ((analyst, 200), (national, 200), (sibling, 403), (viewer, 403)):
        client = tree.test_client()
        sign_in(client, email)
        assert client.get(page).status_code == code, email
        assert client.get(page + "/file").status_code == code, email
        assert client.get(JOB_PATH.format(org="SC", job="99999999999999999999")
                          ).status_code == 404  # no such address
        # the job under another wave's address is no job there
        assert client.get(JOB_PATH.format(org="CD", job=job_id)).status_code in (403, 404)
    signed_out = tree.test_client().get(page)
    assert signed_out.status_code in (302, 303) and "/login" in signed_out.headers["Location"]


# --------------------------------------------------------------------------- claiming


def test_two_concurrent_workers_never_run_one_job_twice(tree, monkeypatch):
    email = staff(tree, "analyst")
    with tree.app_context():
        user = db.session.execute(select(User).where(User.email == email)).scalar_one()
        waves = db.session.execute(select(Wave)).scalars().all()
        for n in range(12):
            export_jobs.create_job(user, waves[n % len(waves)], "csv")
        db.session.commit()
    runs: Counter = Counter()
    real = export_jobs.write_export

    def slow_write(file_format, year, org_code, folder):
        runs[int(folder.name)] += 1
        time.sleep(0.05)  # both workers are busy at once
        return real(file_format, year, org_code, folder)

    monkeypatch.setattr(export_jobs, "write_export", slow_write)
    done: dict[str, int] = {}

    def worker(name):
        with tree.app_context():
            done[name] = export_jobs.work(once=True)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert sorted(runs.values()) == [1] * 12, runs
    assert done["a"] + done["b"] == 12 and done["a"] and done["b"], done
    with tree.app_context():
        statuses = db.session.execute(select(ExportJob.status)).scalars().all()
    assert statuses == ["done"] * 12


@pytest.fixture
def pg_tree(make_app, pg_schema):
    """The staff tree on PostgreSQL only (skipped, or under CI failed, without a server)."""
    from .conftest import _truncate_all

    app = make_app(database=pg_schema, install=False)
    with app.app_context():
        _truncate_all(db)
    build_tree(app)
    return app


@pytest.mark.postgres
def test_a_locked_job_is_skipped_not_waited_for_on_postgresql(pg_tree):
    tree = pg_tree
    email = staff(tree, "analyst")
    with tree.app_context():
        user = db.session.execute(select(User).where(User.email == email)).scalar_one()
        wave = db.session.execute(select(Wave)).scalars().first()
        first, second = (export_jobs.create_job(user, wave, "csv").id for _ in range(2))
        db.session.commit()
        with db.engine.connect() as other:
            other.begin()
            other.execute(select(ExportJob.id).where(ExportJob.id == first).with_for_update())
            started = time.monotonic()
            assert export_jobs.claim_next() == second  # the locked row is skipped at once
            assert time.monotonic() - started < 5
            other.rollback()
        assert export_jobs.claim_next() == first
        assert export_jobs.claim_next() is None


# --------------------------------------------------------------------------- failures


def test_a_failed_job_records_one_line_and_offers_no_file(tree, monkeypatch):
    from survey.export_formats import XlsxTableWriter

    answered(tree)
    monkeypatch.setattr(XlsxTableWriter, "MAX_DATA_ROWS", 2)  # this wave has 3
    client = tree.test_client()
    sign_in(client, staff(tree, "analyst"))
    job_url = client.post("/console/SC/2031/exports", data={"format": "xlsx"}).headers["Location"]
    run_jobs(tree)
    job_id = int(job_url.rsplit("/", 1)[1])
    job = job_row(tree, job_id)
    assert (job.status, job.error_kind, job.file_name, job.rows) == (
        "failed", "format_limit", None, None)
    assert "\n" not in job.error and "Excel" in job.error and "/" not in job.error
    with tree.app_context():
        assert not export_jobs.job_folder(job_id).exists()  # nothing half written is kept
    english = client.get(job_url + "?lang=en")
    assert english.status_code == 200 and 'role="alert"' in english.text
    assert "This format cannot hold this wave's responses" in english.text
    assert "/file" not in english.text
    chinese = client.get(job_url + "?lang=zh")
    assert "此格式" in chinese.text and 'lang="zh-CN"' in chinese.text
    assert client.get(job_url + "/file").status_code == 409

    def broken(*_args):
        raise RuntimeError("disk said no\nand a second line")

    monkeypatch.setattr(export_jobs, "write_export", broken)
    headers = bearer(token_for(tree, staff(tree, "organiser")))
    api = tree.test_client()
    created = api.post("/api/v1/waves/SC/2031/exports", json={"format": "csv"}, headers=headers)
    run_jobs(tree)
    status = api.get(created.json["url"], headers=headers).json
    assert status["status"] == "failed" and status["error_kind"] == "internal"
    assert status["error"] == "RuntimeError: disk said no and a second line"
    assert status["file_url"] is None
    refused = api.get(f"{created.json['url']}/file", headers=headers)
    assert refused.status_code == 409 and "failed" in refused.json["message"]


def test_a_job_is_only_offered_once_its_file_is_complete(tree):
    """While queued or running the page has no download and reloads itself; the file route
    refuses."""
    client = tree.test_client()
    email = staff(tree, "analyst")
    sign_in(client, email)
    with tree.app_context():
        user = db.session.execute(select(User).where(User.email == email)).scalar_one()
        wave = db.session.execute(select(Wave).where(Wave.organisation.has(code="SC"))
                                  ).scalar_one()
        job = export_jobs.create_job(user, wave, "csv")
        job.status = "running"
        db.session.commit()
        job_id = job.id
        folder = export_jobs.job_folder(job_id)
    folder.mkdir(parents=True)
    (folder / "SC-2031.csv").write_text("half,")  # as a runner's file may look mid-way
    page = client.get(JOB_PATH.format(org="SC", job=job_id) + "?lang=en")
    assert "Being written" in page.text and 'data-refresh-seconds="3"' in page.text
    assert "/file" not in page.text and "<script" not in page.text.split("</head>")[1]
    assert client.get(JOB_PATH.format(org="SC", job=job_id) + "/file").status_code == 409


# --------------------------------------------------------- the form, the old download


def test_the_export_form_needs_the_csrf_token(make_app):
    app = make_app(install=False, WTF_CSRF_ENABLED=True)
    with app.app_context():
        db.create_all()
    build_tree(app)
    client = app.test_client()
    email = staff(app, "analyst")
    login = client.get("/login")
    client.post("/login", data={"email": email, "password": "correct horse battery staple",
                                "csrf_token": csrf_from(login.text)})
    refused = client.post("/console/SC/2031/exports?lang=en", data={"format": "csv"})
    assert refused.status_code == 400 and "The form had expired" in refused.text
    token = csrf_from(client.get("/console/SC/2031/").text)
    bad = client.post("/console/SC/2031/exports?lang=en",
                      data={"format": "exe", "csrf_token": token})
    assert bad.status_code == 400 and "Please choose one of the formats listed." in bad.text
    with app.app_context():
        assert db.session.execute(select(ExportJob)).first() is None
    created = client.post("/console/SC/2031/exports", data={"format": "sav", "csrf_token": token})
    assert created.status_code == 303
    assert export_jobs.inline_runner(app).wait(60)
    assert "/file" in client.get(created.headers["Location"]).text


def test_the_one_step_download_queues_a_job_for_a_large_wave(tree):
    answered(tree)
    tree.config["EXPORT_STREAM_ROWS"] = 2  # the wave has 3 completed responses
    client = tree.test_client()
    sign_in(client, staff(tree, "analyst"))
    moved = client.get("/console/SC/2031/export?format=xlsx")
    assert moved.status_code == 303
    assert moved.headers["Location"].startswith("/console/SC/2031/exports/")
    api = tree.test_client()
    headers = bearer(token_for(tree, staff(tree, "analyst", "national")))
    queued = api.get("/api/v1/waves/SC/2031/export?format=csv", headers=headers)
    assert queued.status_code == 202 and queued.json["format"] == "csv"
    assert queued.headers["Location"] == queued.json["url"]
    tree.config["EXPORT_STREAM_ROWS"] = 3  # at the threshold it still streams
    small = api.get("/api/v1/waves/SC/2031/export?format=dta", headers=headers)
    assert small.status_code == 200 and int(small.headers["Content-Length"]) == len(small.data)
    run_jobs(tree)


# --------------------------------------------------------------------------- housekeeping


def test_expired_jobs_and_stale_runs_are_swept(tree):
    answered(tree)
    client = tree.test_client()
    email = staff(tree, "analyst")
    sign_in(client, email)
    old = int(client.post("/console/SC/2031/exports", data={"format": "csv"})
              .headers["Location"].rsplit("/", 1)[1])
    run_jobs(tree)
    with tree.app_context():
        assert export_jobs.file_of(db.session.get(ExportJob, old)) is not None
        db.session.commit()  # SQLite: no read snapshot held across the write below
        now = utc_now()
        with db.engine.begin() as connection:
            connection.execute(update(ExportJob).where(ExportJob.id == old).values(
                finished_at=now - timedelta(hours=25)))
        user = db.session.execute(select(User).where(User.email == email)).scalar_one()
        wave = db.session.get(ExportJob, old).wave
        db.session.commit()
        stuck = export_jobs.create_job(user, wave, "csv")
        stuck.status, stuck.started_at = "running", now - timedelta(hours=3)
        db.session.commit()
        stuck_id = stuck.id
        orphan = export_jobs.export_dir() / "424242"
        orphan.mkdir()
        assert export_jobs.sweep() == {"interrupted": 1, "expired": 1, "folders": 0}
        db.session.rollback()  # a fresh snapshot after the sweep
        db.session.expunge_all()
        assert db.session.get(ExportJob, old) is None
        assert not export_jobs.job_folder(old).exists()
        swept = db.session.get(ExportJob, stuck_id)
        assert (swept.status, swept.error_kind) == ("failed", "interrupted")
        assert orphan.exists()  # too new to be an orphan yet
    page = client.get(JOB_PATH.format(org="SC", job=stuck_id) + "?lang=en")
    assert "The export stopped before it finished" in page.text
    assert client.get(JOB_PATH.format(org="SC", job=old)).status_code == 404



def test_a_job_nobody_runs_says_so_after_a_few_minutes(make_app):
    app = make_app(install=False, EXPORT_JOBS_INLINE=False)  # as PostgreSQL without a worker
    with app.app_context():
        db.create_all()
    build_tree(app)
    client = app.test_client()
    sign_in(client, staff(app, "analyst"))
    job_url = client.post("/console/SC/2031/exports", data={"format": "csv"}).headers["Location"]
    page = client.get(job_url + "?lang=en")
    assert "Waiting to start" in page.text and "job-stalled" not in page.text
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(update(ExportJob).values(
                created_at=utc_now() - timedelta(minutes=6)))
    page = client.get(job_url + "?lang=en")
    assert "the export worker may not be running" in page.text
    assert "工作进程" in client.get(job_url + "?lang=zh").text
    assert app.test_cli_runner().invoke(args=["run-export-jobs", "--once"]).exit_code == 0
    assert "Ready" in client.get(job_url + "?lang=en").text


def test_the_request_answers_before_the_export_runs(tree, monkeypatch):
    """The form's POST returns while the export is still held back: no request waits on it."""
    answered(tree)
    gate = threading.Event()
    real = export_jobs.write_export

    def held(*args):
        assert gate.wait(60)
        return real(*args)

    monkeypatch.setattr(export_jobs, "write_export", held)
    client = tree.test_client()
    sign_in(client, staff(tree, "analyst"))
    began = time.monotonic()
    created = client.post("/console/SC/2031/exports", data={"format": "parquet"})
    assert created.status_code == 303 and time.monotonic() - began < 10
    page = client.get(created.headers["Location"] + "?lang=en")
    assert ("Waiting to start" in page.text or "Being written" in page.text)
    assert "/file" not in page.text
    gate.set()
    run_jobs(tree)
    assert "Ready" in client.get(created.headers["Location"] + "?lang=en").text


def test_the_worker_stops_when_asked(app):
    stop = threading.Event()
    result = {}

    def worker():
        with app.app_context():
            result["ran"] = export_jobs.work(poll=0.1, stop=stop)

    thread = threading.Thread(target=worker)
    thread.start()
    time.sleep(0.3)
    assert thread.is_alive()  # an empty queue: it waits for jobs
    stop.set()
    thread.join(10)
    assert not thread.is_alive() and result["ran"] == 0
