"""Speed and memory of ``flask --app survey export`` on a large wave.

Fills a throw-away database with N synthetic completed responses to the 2026 wave (plus one
unfinished response per 50, which the export must skip) straight through the driver, not through
the web: ``executemany`` on SQLite, ``COPY`` on PostgreSQL, from the answers of
:func:`analysis.synthetic.make_responses` turned into one stored answer row per item. Then it runs
the real command in a subprocess per format and prints its wall time, rows per second and peak
memory (``ru_maxrss`` of that process, read with ``os.wait4``).

    .venv/bin/python benchmarks/export_bench.py 100000 --backend sqlite,postgres
    .venv/bin/python benchmarks/export_bench.py 1000000 --backend sqlite --formats csv \\
        --database /tmp/big.sqlite          # keeps the filled file; a second run reuses it
    .venv/bin/python benchmarks/export_bench.py 100000 --backend sqlite --project /work/main

``--project`` runs another checkout's export against the same database (old against new).
``--partition province`` adds a partitioned Parquet export (``--out DIR/ --partition
province``). ``--jobs csv,xlsx,…`` times the export job path instead, as the console and the
API use it: ``POST /api/v1/waves/national/YEAR/exports`` (how long the request takes), a
``flask run-export-jobs`` worker in a subprocess (from the request until the job is done, and
the worker's peak memory), then ``GET /api/v1/exports/ID/file`` read to the end:

    .venv/bin/python benchmarks/export_bench.py 1000000 --backend postgres \
        --jobs csv,parquet,xlsx,sav,dta,parquet-partitioned --formats ""

Figures and findings: benchmarks/README.md, "Export".
"""

from __future__ import annotations

import argparse
import io
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

PROJECT = Path(__file__).resolve().parent.parent
YEAR = 2026
FILL_CHUNK = 100_000  # responses per insert batch: bounds the filler's memory
UNFINISHED_EVERY = 50


# --------------------------------------------------------------------------- the database


class SqliteDatabase:
    def __init__(self, path: Path):
        self.path = path
        self.url = f"sqlite:///{path}"

    def connect(self):
        import sqlite3

        connection = sqlite3.connect(self.path)
        connection.execute("PRAGMA synchronous=OFF")
        return connection

    def insert(self, connection, table: str, columns: list[str], data: dict) -> None:
        marks = ", ".join("?" for _ in columns)
        rows = zip(*(data[c].tolist() for c in columns), strict=True)
        connection.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                               rows)

    def drop(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


class PostgresDatabase:
    """A database of its own on the shared server (dropped at the end unless kept)."""

    def __init__(self, admin_url: str, name: str, fresh: bool):
        import psycopg

        self.psycopg, self.admin_url, self.name = psycopg, admin_url, name
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as c:
            if fresh:
                c.execute(f'DROP DATABASE IF EXISTS "{name}"')
            if fresh or not c.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                                      (name,)).fetchone():
                c.execute(f'CREATE DATABASE "{name}"')
        self.url = f"postgresql+psycopg://{urlsplit(admin_url).netloc}/{name}"

    def connect(self):
        return self.psycopg.connect(self.url.replace("+psycopg", ""))

    def insert(self, connection, table: str, columns: list[str], data: dict) -> None:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        buffer = io.BytesIO()
        pacsv.write_csv(pa.table({c: data[c] for c in columns}), buffer,
                        pacsv.WriteOptions(include_header=False, quoting_style="needed"))
        with connection.cursor().copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(buffer.getbuffer())

    def drop(self) -> None:
        with self.psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def flask(project: Path, url: str, *args: str, check: bool = True):
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "export benchmark",
           "PYTHONPATH": str(project)}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "survey", *args],
                          env=env, cwd=project, capture_output=True, text=True, check=check)


def completed_count(database) -> int:
    with database.connect() as connection:
        try:
            return connection.execute(
                "SELECT count(*) FROM responses WHERE status = 'complete'").fetchone()[0]
        except Exception:  # no tables yet
            return 0


# --------------------------------------------------------------------------- synthetic answers


def stored_time(moments: np.ndarray) -> np.ndarray:
    """Times to the minute in the text form SQLAlchemy stores on SQLite (PostgreSQL reads it
    too): ``2026-03-01 08:41:00.000000``."""
    text = np.datetime_as_string(moments.astype("datetime64[m]"), unit="s")
    return np.char.add(np.char.replace(text, "T", " "), ".000000")


def stored_answers(wave, frame, first_id: int) -> tuple[dict, dict]:
    """The responses and answers rows of a synthetic export frame, as the web app stores them:
    demographics as option codes, one answer row per answered item (in key order)."""
    n = len(frame)
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    start = frame["started_at"].dt.tz_localize(None).to_numpy("datetime64[s]")
    duration = frame["duration_s"].to_numpy(dtype=float)
    submitted = start + duration.astype("timedelta64[s]")
    public = np.frombuffer(os.urandom(16 * n), dtype="S16")
    responses = {
        "id": ids, "public_id": np.array([p.hex() for p in public.tolist()]),
        "wave_id": np.ones(n, dtype=np.int64), "status": np.full(n, "complete"),
        "language": np.full(n, "zh"), "page_index": np.full(n, len(wave.pages)),
        "started_at": stored_time(start), "updated_at": stored_time(submitted),
        "submitted_at": stored_time(submitted), "duration_s": duration.astype(np.int64)}
    parts = []
    for code in sorted(wave.items):  # the primary key's order within a response
        item = wave.items[code]
        column = frame[code] if code in frame else None
        if column is None:
            continue
        if item.kind == "demographic":
            codes = {o.value: o.code for o in item.all_options}
            values = column.map(codes).to_numpy(dtype=float, na_value=np.nan)
        else:
            values = column.to_numpy(dtype=float, na_value=np.nan)
        answered = ~np.isnan(values)
        parts.append((ids[answered], np.full(answered.sum(), code),
                      values[answered].astype(np.int64)))
    rid = np.concatenate([p[0] for p in parts])
    order = np.argsort(rid, kind="stable")
    answers = {"response_id": rid[order],
               "item": np.concatenate([p[1] for p in parts])[order],
               "code": np.concatenate([p[2] for p in parts])[order]}
    return responses, answers


def unfinished(wave, ids: np.ndarray) -> tuple[dict, dict]:
    """In-progress responses that answered the demographics' first item only."""
    n = len(ids)
    now = np.full(n, "2026-05-01 08:00:00.000000")
    responses = {"id": ids, "public_id": np.array([os.urandom(16).hex() for _ in range(n)]),
                 "wave_id": np.ones(n, dtype=np.int64), "status": np.full(n, "in_progress"),
                 "language": np.full(n, "zh"), "page_index": np.zeros(n, dtype=np.int64),
                 "started_at": now, "updated_at": now}
    first = next(iter(wave.items))
    answers = {"response_id": ids, "item": np.full(n, first), "code": np.ones(n, np.int64)}
    return responses, answers


def open_database(url: str, admin_url: str):
    if url.startswith("sqlite:///"):
        return SqliteDatabase(Path(url.removeprefix("sqlite:///")))
    return PostgresDatabase(admin_url, urlsplit(url).path.lstrip("/"), fresh=False)


def fill(url: str, admin_url: str, n: int) -> None:
    """Insert ``n`` completed responses (and the unfinished ones between them)."""
    from analysis.synthetic import make_responses
    from questionnaires import load_wave

    database = open_database(url, admin_url)
    wave = load_wave(YEAR)
    began = time.perf_counter()
    next_id = 1
    with database.connect() as connection:
        for offset in range(0, n, FILL_CHUNK):
            size = min(FILL_CHUNK, n - offset)
            frame = make_responses(size, waves=(YEAR,), seed=offset, design=False,
                                   not_applicable_as_code=True)
            # ids with a gap every UNFINISHED_EVERY for an unfinished response
            ids = next_id + np.arange(size) + np.arange(size) // UNFINISHED_EVERY
            responses, answers = stored_answers(wave, frame, 0)
            answers["response_id"] = ids[answers["response_id"]]
            responses["id"] = ids
            gaps = np.setdiff1d(np.arange(next_id, ids[-1] + 1), ids)
            open_responses, open_answers = unfinished(wave, gaps)
            for table, data in (("responses", responses), ("responses", open_responses),
                                ("answers", answers), ("answers", open_answers)):
                database.insert(connection, table, list(data), data)
            connection.commit()
            next_id = int(ids[-1]) + 1
            print(f"  filled {offset + size:,} responses "
                  f"({time.perf_counter() - began:.0f} s)", flush=True)


# --------------------------------------------------------------------------- the export


def run_export(project: Path, url: str, out: Path, *extra: str) -> tuple[float, float, str]:
    """Wall seconds, peak RSS (MB) and output of one ``flask export`` in a subprocess."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "export benchmark",
           "PYTHONPATH": str(project)}
    began = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "flask", "--app", "survey", "export",
                             "--wave", str(YEAR), "--out", str(out), *extra],
                            env=env, cwd=project, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"export failed:\n{output}")
    return wall, usage.ru_maxrss / 1024.0, output


def size_of(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def bench_jobs(url: str, have: int, formats: list[str], work: Path) -> None:
    """Each format through an export job: the API request, a worker process, the download."""
    import signal

    sys.path.insert(0, str(PROJECT))
    from sqlalchemy import select

    from survey import create_app
    from survey.accounts import create_api_token
    from survey.db import db
    from survey.models import Membership, Organisation, User

    exports = work / "exports"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "export benchmark",
                      "EXPORT_DIR": str(exports), "EXPORT_JOBS_INLINE": False})
    with app.app_context():
        user = db.session.execute(select(User).where(User.email == "bench@example.org")
                                  ).scalar_one_or_none()
        if user is None:
            user = User(email="bench@example.org", password_hash="")
            national = db.session.execute(select(Organisation).where(
                Organisation.code == "national")).scalar_one()
            user.memberships.append(Membership(organisation=national, role="analyst"))
            db.session.add(user)
            db.session.commit()
        headers = {"Authorization": f"Bearer {create_api_token(user)}"}
    client = app.test_client()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "export benchmark",
           "PYTHONPATH": str(PROJECT), "EXPORT_DIR": str(exports)}
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "survey",
                               "run-export-jobs", "--poll", "0.2"], env=env, cwd=PROJECT,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for file_format in formats:
            began = time.perf_counter()
            created = client.post(f"/api/v1/waves/national/{YEAR}/exports",
                                  json={"format": file_format}, headers=headers)
            asked = time.perf_counter() - began
            if created.status_code != 202:
                raise SystemExit(f"{file_format}: {created.status_code} {created.text}")
            while True:
                job = client.get(created.json["url"], headers=headers).json
                if job["status"] in ("done", "failed"):
                    break
                if worker.poll() is not None:
                    raise SystemExit(f"the worker stopped:\n{worker.stdout.read()}")
                time.sleep(0.2)
            ready = time.perf_counter() - began
            if job["status"] == "failed":
                print(f"  job {file_format:<22} failed: {job['error']}", flush=True)
                continue
            began = time.perf_counter()
            download = client.get(job["file_url"], headers=headers, buffered=False)
            size = sum(len(block) for block in download.response)
            download.close()
            fetched = time.perf_counter() - began
            assert size == job["size_bytes"] == int(download.headers["Content-Length"])
            print(f"  job {file_format:<22} request {asked * 1000:5.0f} ms  done after "
                  f"{ready:6.1f} s  {have / ready:9,.0f} rows/s  download {fetched:5.1f} s  "
                  f"{size / 1e6:7.1f} MB", flush=True)
    finally:
        worker.send_signal(signal.SIGTERM)  # stops after the job in hand
        _, status, usage = os.wait4(worker.pid, 0)
        print(f"  worker peak RSS {usage.ru_maxrss / 1024:.0f} MB", flush=True)
        shutil.rmtree(exports, ignore_errors=True)


def bench_backend(backend: str, args, work: Path) -> None:
    if backend == "sqlite":
        database = SqliteDatabase(Path(args.database) if args.database else work / "big.sqlite")
    elif backend == "postgres":
        name = args.pg_database or f"bench_export_{os.getpid()}"
        database = PostgresDatabase(args.pg_admin_url, name, fresh=not args.pg_database)
    else:
        raise SystemExit(f"unknown backend {backend!r} (sqlite, postgres)")
    keep = args.database if backend == "sqlite" else args.pg_database
    try:
        have = completed_count(database)
        if have == 0:
            flask(PROJECT, database.url, "init-db")
            flask(PROJECT, database.url, "load-questionnaire", str(YEAR))
            print(f"== {backend}: filling {args.rows:,} responses", flush=True)
            # in a process of its own: a child forked from a big parent would count the
            # parent's pages in its peak RSS (ru_maxrss survives exec)
            filler = multiprocessing.get_context("spawn").Process(
                target=fill, args=(database.url, args.pg_admin_url, args.rows))
            filler.start()
            filler.join()
            if filler.exitcode != 0:
                raise SystemExit(f"{backend}: filling the database failed")
            have = completed_count(database)
        elif have != args.rows:
            raise SystemExit(f"{backend}: the database holds {have:,} completed responses, "
                             f"not {args.rows:,}")
        print(f"== {backend}: {have:,} completed responses, export from {args.project}",
              flush=True)
        if args.jobs:
            bench_jobs(database.url, have, args.jobs, work)
        runs = [(f, ()) for f in args.formats]
        if args.partition:
            runs.append(("parquet", ("--partition", args.partition)))
        for suffix, extra in runs:
            out = work / (f"parts-{backend}/" if extra else f"responses-{backend}.{suffix}")
            load = os.getloadavg()[0]
            wall, rss, _ = run_export(Path(args.project), database.url, out, *extra)
            label = suffix + (f" --partition {args.partition}" if extra else "")
            print(f"  {label:<28} {wall:7.1f} s  {have / wall:9,.0f} rows/s  "
                  f"peak RSS {rss:6.0f} MB  {size_of(out) / 1e6:7.1f} MB  "
                  f"load {load:.1f}", flush=True)
            if out.is_dir():
                shutil.rmtree(out)
            else:
                out.unlink()
    finally:
        if not keep:
            database.drop()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("rows", type=int, help="completed responses")
    p.add_argument("--backend", default="sqlite", help="comma list: sqlite,postgres")
    p.add_argument("--formats", default="csv,parquet", help="comma list of file endings")
    p.add_argument("--partition", choices=["province"], help="also a partitioned Parquet export")
    p.add_argument("--jobs", default="", help="comma list of export job formats to time "
                   "through the API and a run-export-jobs worker (csv, parquet, xlsx, sav, dta, "
                   "parquet-partitioned)")
    p.add_argument("--project", default=str(PROJECT), help="checkout whose export runs")
    p.add_argument("--database", help="SQLite file to fill once and keep (reused when filled)")
    p.add_argument("--pg-database", help="PostgreSQL database to fill once and keep")
    p.add_argument("--pg-admin-url",
                   default=os.environ.get("BENCH_PG_URL", "postgresql://127.0.0.1:5432/test"))
    args = p.parse_args(argv)
    args.formats = [f.strip().lstrip(".") for f in args.formats.split(",") if f.strip()]
    args.jobs = [f.strip() for f in args.jobs.split(",") if f.strip()]
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}", flush=True)
    with tempfile.TemporaryDirectory(prefix="export_bench_") as work:
        for backend in args.backend.split(","):
            bench_backend(backend.strip(), args, Path(work))
    return 0


if __name__ == "__main__":
    sys.exit(main())
