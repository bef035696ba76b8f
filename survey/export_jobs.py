"""Export jobs: an export of a wave's responses table that runs outside the web request, so a
download never waits behind a proxy's or gunicorn's timeout (docs/web.md, "Export jobs").

The console's export form and ``POST /api/v1/waves/CODE/YEAR/exports`` add a row to
``export_jobs`` (status ``queued``) and answer at once.  A runner claims the oldest queued job
atomically, writes the file with the export's one function
(:func:`survey.export.export_responses`, which writes under a temporary name and renames only
when complete) into ``EXPORT_DIR/<job id>/``, and records ``done`` (rows, bytes) or ``failed``
(a one-line error and its kind).  Only a ``done`` job's file is ever offered.

Runners (both claim the same way, so any number of them can run side by side):

* ``flask --app survey run-export-jobs``: a worker process that polls the table (the
  deployment with PostgreSQL and several web instances runs one or more);
* the web process's own background thread (``EXPORT_JOBS_INLINE``, default on with SQLite,
  off with PostgreSQL, where the worker runs): the embedded default needs no other process.

Claiming: ``UPDATE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED)`` on PostgreSQL (a second
worker skips the row the first has locked instead of waiting for it), one conditional
``UPDATE … WHERE id = (the oldest queued) AND status = 'queued'`` on SQLite (a write from its
first step: SQLite has one writer at a time, so two runners take turns and never both see the
same row queued).

Why the table and not a queue library (RQ, Celery): the job row has to exist anyway (the
status page, the permission check, the audit trail), the embedded SQLite default must work
without Redis, and a second store would split one job's state in two (a Redis restart would
leave rows "queued" that no queue knows).  PostgreSQL's ``SKIP LOCKED`` is the queue.

Housekeeping (:func:`sweep`, by every runner at most once a minute): a job ``running`` for
longer than ``EXPORT_RUNNING_LIMIT_MINUTES`` (its runner died) becomes ``failed``
(``interrupted``); jobs finished more than ``EXPORT_KEEP_HOURS`` ago are deleted with their
files, and so are folders under ``EXPORT_DIR`` that no job row names.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from .db import db
from .models import ExportJob, Organisation, Response, User, Wave, to_minute, utc_now

log = logging.getLogger(__name__)

DOWNLOAD_BLOCK = 64 * 1024
SWEEP_EVERY_SECONDS = 60.0


# --------------------------------------------------------------------------- the formats


@dataclass(frozen=True)
class JobFormat:
    """One format a job can write: its label in the console, the download's media type and
    file ending, and how the export is asked for it (a file name or a folder)."""

    key: str
    label: object  # a lazy translated string
    media_type: str
    ending: str
    folder: bool = False


JOB_FORMATS: dict[str, JobFormat] = {f.key: f for f in (
    JobFormat("csv", _l("CSV (UTF-8)"), "text/csv; charset=utf-8", ".csv"),
    JobFormat("parquet", _l("Parquet"), "application/vnd.apache.parquet", ".parquet"),
    JobFormat("xlsx", _l("Excel (.xlsx)"),
              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    JobFormat("sav", _l("SPSS (.sav)"), "application/x-spss-sav", ".sav"),
    JobFormat("dta", _l("Stata (.dta)"), "application/x-stata-dta", ".dta"),
    JobFormat("parquet-partitioned", _l("Parquet partitioned by province (.zip)"),
              "application/zip", ".zip", folder=True),
)}
# the partitioned format's column, when the wave has it as a category column; without it the
# folder holds one file, wave=YEAR/part-0.parquet (the export command without --partition)
PARTITION_COLUMN = "province"


def download_name(org_code: str, year: int, file_format: str) -> str:
    job_format = JOB_FORMATS[file_format]
    stem = f"{org_code}-{year}" + ("-partitioned" if job_format.folder else "")
    return stem + job_format.ending


def write_export(file_format: str, year: int, org_code: str, folder: Path) -> tuple[Path, int]:
    """Write wave ``year`` of ``org_code`` in ``file_format`` into ``folder`` (which exists);
    returns the file to hand out and its number of rows.  Raises the export's ``ExportError``;
    on any failure the file to hand out does not exist."""
    from .export import export_responses

    job_format = JOB_FORMATS[file_format]
    target = folder / download_name(org_code, year, file_format)
    if not job_format.folder:
        result = export_responses(year, target, organisation=org_code)
        return result.path, result.rows
    tree = folder / "partitioned"
    tree.mkdir(exist_ok=True)
    partition = PARTITION_COLUMN if _has_category(year, org_code, PARTITION_COLUMN) else None
    result = export_responses(year, f"{tree}{os.sep}", partition=partition,
                              organisation=org_code)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_STORED,
                             allowZip64=True) as archive:
            for path in sorted(tree.rglob("*")):
                if path.is_file():  # Parquet compresses its own pages: stored, not deflated
                    archive.write(path, path.relative_to(tree).as_posix())
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()
        shutil.rmtree(tree, ignore_errors=True)
    return target, result.rows


def _has_category(year: int, org_code: str, column: str) -> bool:
    import json

    from questionnaires import Wave as WaveDefinition
    from questionnaires import codebook_rows

    from .models import Questionnaire

    definition = db.session.execute(
        select(Questionnaire.definition).join(Wave, Wave.id == Questionnaire.wave_id)
        .join(Organisation, Organisation.id == Wave.organisation_id)
        .where(Wave.year == year, Organisation.code == org_code)).scalar_one_or_none()
    if definition is None:
        return False
    rows = codebook_rows(WaveDefinition.from_dict(json.loads(definition)))
    return any(r["item"] == column and r["type"] == "category" for r in rows)


# --------------------------------------------------------------------------- why a job failed

# error_kind → the console's message; the API gives the kind and the one-line ``error``
FAILURES: dict[str, object] = {
    "format_limit": _l("This format cannot hold this wave's responses. Export CSV or Parquet "
                       "instead."),
    "no_questionnaire": _l("This wave has no questionnaire, so there is nothing to export."),
    "storage": _l("The export could not be stored (the export folder is full or not "
                  "writable). Please tell the administrator."),
    "interrupted": _l("The export stopped before it finished (its worker ended). Please "
                      "request it again."),
    "internal": _l("The export failed. Please request it again; if it fails again, tell the "
                   "administrator."),
}


def one_line(text: str, limit: int = 500) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 1] + "…"


def _failure(error: BaseException, folder: Path) -> tuple[str, str]:
    from .export import ExportError

    if isinstance(error, ExportError):
        detail = str(error).replace(str(folder) + os.sep, "")  # no server paths shown
        kind = "no_questionnaire" if "questionnaire" in detail else "format_limit"
        return kind, one_line(detail)
    if isinstance(error, OSError):
        return "storage", one_line(error.strerror or type(error).__name__)
    return "internal", one_line(f"{type(error).__name__}: {error}")


# --------------------------------------------------------------------------- configuration


def init_app(app) -> None:
    app.extensions["export_jobs"] = _AppJobs(app)
    app.cli.add_command(run_export_jobs_command)
    app.config.setdefault("EXPORT_DIR", os.path.join(app.instance_path, "exports"))
    app.config.setdefault("EXPORT_KEEP_HOURS", 24.0)
    app.config.setdefault("EXPORT_RUNNING_LIMIT_MINUTES", 120.0)
    app.config.setdefault("EXPORT_POLL_SECONDS", 2.0)
    app.config.setdefault("EXPORT_STALLED_MINUTES", 5.0)
    # waves with at most this many completed responses still stream at once from the old
    # GET …/export?format= (a few seconds); larger ones get a job
    app.config.setdefault("EXPORT_STREAM_ROWS", 50_000)
    if app.config.get("EXPORT_JOBS_INLINE") is None:
        app.config["EXPORT_JOBS_INLINE"] = str(
            app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite")


def export_dir() -> Path:
    return Path(current_app.config["EXPORT_DIR"])


def job_folder(job_id: int) -> Path:
    return export_dir() / str(job_id)


# --------------------------------------------------------------------------- creating


def create_job(user: User, wave: Wave, file_format: str) -> ExportJob:
    """A queued job (added to the session: the caller records the audit event and commits,
    then calls :func:`job_added`)."""
    if file_format not in JOB_FORMATS:
        raise ValueError(f"unknown export format {file_format!r}")
    job = ExportJob(organisation_id=wave.organisation_id, wave_id=wave.id,
                    requested_by=user.id, requester_email=user.email, format=file_format,
                    status="queued", created_at=to_minute(utc_now()))
    db.session.add(job)
    db.session.flush()
    return job


def job_added() -> None:
    """After the commit of a new job: the web process's thread runs it when inline."""
    if current_app.config["EXPORT_JOBS_INLINE"]:
        inline_runner(current_app._get_current_object()).kick()


def completed_responses(wave: Wave) -> int:
    return db.session.execute(select(func.count()).select_from(Response).where(
        Response.wave_id == wave.id, Response.status == "complete")).scalar_one()


def jobs_of(wave: Wave, limit: int = 10) -> list[ExportJob]:
    return list(db.session.execute(
        select(ExportJob).where(ExportJob.wave_id == wave.id)
        .order_by(ExportJob.id.desc()).limit(limit)).scalars())


def file_of(job: ExportJob) -> Path | None:
    """The finished job's file, or None (not done, or already removed)."""
    if job.status != "done" or not job.file_name:
        return None
    path = job_folder(job.id) / job.file_name
    return path if path.is_file() else None


def stalled(job: ExportJob) -> bool:
    """Queued for longer than ``EXPORT_STALLED_MINUTES``: no runner seems to be there (no
    ``run-export-jobs`` worker with PostgreSQL), which the job page says."""
    limit = timedelta(minutes=float(current_app.config["EXPORT_STALLED_MINUTES"]))
    return job.status == "queued" and utc_now() - job.created_at > limit


class FileBlocks:
    """An open file sent in blocks; WSGI closes it when sent (or when the client left).  The
    file is opened before the response starts, so a sweep that removes it meanwhile does not
    cut the download short (the open handle keeps the data)."""

    def __init__(self, path: Path, on_close: Callable[[], None] | None = None) -> None:
        self.fh = path.open("rb")
        self.on_close = on_close

    def __iter__(self) -> Iterator[bytes]:
        while block := self.fh.read(DOWNLOAD_BLOCK):
            yield block

    def close(self) -> None:
        self.fh.close()
        if self.on_close is not None:
            self.on_close()


# --------------------------------------------------------------------------- claiming


def claim_next() -> int | None:
    """Atomically take the oldest queued job: its id, or None when none is queued."""
    engine = db.engine
    now = to_minute(utc_now())
    if engine.dialect.name == "postgresql":
        oldest = (select(ExportJob.id).where(ExportJob.status == "queued")
                  .order_by(ExportJob.id).limit(1)
                  .with_for_update(skip_locked=True).scalar_subquery())
        with engine.begin() as connection:
            return connection.execute(
                update(ExportJob).where(ExportJob.id == oldest)
                .values(status="running", started_at=now).returning(ExportJob.id)
            ).scalar_one_or_none()
    # SQLite: one conditional UPDATE, a write from its first step (so it waits for the
    # write lock instead of failing to upgrade a read snapshot another writer has passed)
    oldest = (select(ExportJob.id).where(ExportJob.status == "queued")
              .order_by(ExportJob.id).limit(1).scalar_subquery())
    with engine.begin() as connection:
        return connection.execute(
            update(ExportJob).where(ExportJob.id == oldest, ExportJob.status == "queued")
            .values(status="running", started_at=now).returning(ExportJob.id)
        ).scalar_one_or_none()


def _finish(job_id: int, **values) -> None:
    """Record a running job's end (a job swept as interrupted meanwhile stays failed)."""
    with db.engine.begin() as connection:
        connection.execute(update(ExportJob).where(
            ExportJob.id == job_id, ExportJob.status == "running").values(
            finished_at=to_minute(utc_now()), **values))


def run_job(job_id: int) -> str:
    """Write a claimed job's file and record the outcome; returns the final status."""
    row = db.session.execute(
        select(ExportJob.format, Wave.year, Organisation.code)
        .join(Wave, Wave.id == ExportJob.wave_id)
        .join(Organisation, Organisation.id == ExportJob.organisation_id)
        .where(ExportJob.id == job_id)).one()
    db.session.rollback()  # no read transaction held open during the export
    folder = job_folder(job_id)
    started = time.perf_counter()
    try:
        shutil.rmtree(folder, ignore_errors=True)  # a leftover of an interrupted run
        folder.mkdir(parents=True)
        path, rows = write_export(row.format, row.year, row.code, folder)
        size = path.stat().st_size
    except Exception as error:  # every failure is the job's, never the runner's
        db.session.rollback()
        shutil.rmtree(folder, ignore_errors=True)
        kind, detail = _failure(error, folder)
        log.warning("export job %s failed (%s): %s", job_id, kind, detail,
                    exc_info=kind == "internal")
        _finish(job_id, status="failed", error_kind=kind, error=detail)
        return "failed"
    finally:
        db.session.remove()
    # beside the table the export wrote the codebook and the fieldwork summary: only the
    # table is handed out, so the folder holds just the one file a download sends
    for other in folder.iterdir():
        if other != path:
            _remove(other)
    _finish(job_id, status="done", rows=rows, size_bytes=size, file_name=path.name)
    log.info("export job %s done: %s rows, %s bytes in %.1f s", job_id, rows, size,
             time.perf_counter() - started)
    return "done"


def run_pending(limit: int | None = None) -> int:
    """Claim and run queued jobs until none is left (or ``limit`` ran); returns how many."""
    ran = 0
    maybe_sweep()
    while limit is None or ran < limit:
        job_id = claim_next()
        if job_id is None:
            break
        run_job(job_id)
        ran += 1
    return ran


# --------------------------------------------------------------------------- housekeeping

def maybe_sweep() -> None:
    """Sweep when this app last swept ``SWEEP_EVERY_SECONDS`` ago or more."""
    state = current_app.extensions["export_jobs"]
    if time.monotonic() - state.last_sweep >= SWEEP_EVERY_SECONDS:
        state.last_sweep = time.monotonic()
        sweep()


def sweep() -> dict[str, int]:
    """Fail jobs whose runner died, delete expired jobs and their files, and remove folders
    no job names.  Returns how many of each."""
    config = current_app.config
    now = utc_now()
    stale = now - timedelta(minutes=float(config["EXPORT_RUNNING_LIMIT_MINUTES"]))
    expired = now - timedelta(hours=float(config["EXPORT_KEEP_HOURS"]))
    with db.engine.begin() as connection:
        interrupted = connection.execute(update(ExportJob).where(
            ExportJob.status == "running", ExportJob.started_at < stale).values(
            status="failed", error_kind="interrupted", finished_at=to_minute(now),
            error="the job ran longer than EXPORT_RUNNING_LIMIT_MINUTES: its runner "
                  "stopped")).rowcount
        removed = connection.execute(delete(ExportJob).where(
            ExportJob.finished_at.is_not(None), ExportJob.finished_at < expired)
            .returning(ExportJob.id)).scalars().all()
        known = set(connection.execute(select(ExportJob.id)).scalars())
    for job_id in removed:
        _remove(job_folder(job_id))
    # a folder no job names (its row deleted by hand, a crash between the two steps): only
    # once it is as old as an expired job's, so a job created since the query above is safe
    folders = 0
    base = export_dir()
    if base.is_dir():
        for folder in base.iterdir():
            if (folder.name.isdigit() and int(folder.name) not in known
                    and folder.stat().st_mtime < time.time() - (now - expired).total_seconds()):
                _remove(folder)
                folders += 1
    return {"interrupted": interrupted, "expired": len(removed), "folders": folders}


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


# --------------------------------------------------------------------------- the inline thread


class InlineRunner:
    """The web process's own runner: one daemon thread that drains the queue whenever a job
    is added (and ends when it is empty).  Several web processes each have one; they claim
    like workers, so a job still runs once."""

    def __init__(self, app) -> None:
        self.app = app
        self.lock = threading.Lock()
        self.wanted = threading.Event()
        self.thread: threading.Thread | None = None

    def kick(self) -> None:
        self.wanted.set()
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._drain, name="export-jobs",
                                               daemon=True)
                self.thread.start()

    def _drain(self) -> None:
        while True:
            self.wanted.clear()
            try:
                with self.app.app_context():
                    run_pending()
            except Exception:  # the database is away: the next kick tries again
                log.exception("the export jobs thread stopped")
            with self.lock:
                if not self.wanted.is_set():
                    self.thread = None
                    return

    def wait(self, timeout: float = 60.0) -> bool:
        """Until the thread has nothing left to do (tests, the benchmark)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                thread = self.thread
            if thread is None:
                return True
            thread.join(0.05)
        return False


class _AppJobs:
    """What the export jobs keep per app (``app.extensions["export_jobs"]``, not module state:
    each test app, each web process has its own): the inline runner and the last sweep."""

    def __init__(self, app) -> None:
        self.runner = InlineRunner(app)
        self.last_sweep = 0.0


def inline_runner(app) -> InlineRunner:
    return app.extensions["export_jobs"].runner


# --------------------------------------------------------------------------- the worker


def work(*, once: bool = False, poll: float | None = None,
         stop: threading.Event | None = None) -> int:
    """The ``run-export-jobs`` loop: run queued jobs, sleep ``poll`` seconds when there are
    none; ``once`` runs what is queued now and returns.  Returns how many jobs ran."""
    poll = float(current_app.config["EXPORT_POLL_SECONDS"] if poll is None else poll)
    stop = stop or threading.Event()
    total = 0
    while not stop.is_set():
        try:
            ran = run_pending(limit=1)
        except SQLAlchemyError as error:  # the database is away: wait and look again
            db.session.rollback()
            if once:
                raise
            log.warning("export jobs: database error, retrying: %s",
                        one_line(str(getattr(error, "orig", None) or error), 200))
            stop.wait(poll)
            continue
        total += ran
        if ran:
            continue
        if once:
            break
        stop.wait(poll)
    return total


@click.command("run-export-jobs")
@click.option("--once", is_flag=True, help="Run the jobs queued now, then stop.")
@click.option("--poll", type=click.FloatRange(min=0.1), default=None,
              help="Seconds between looks at the queue when it is empty "
                   "(default EXPORT_POLL_SECONDS, 2).")
@with_appcontext
def run_export_jobs_command(once: bool, poll: float | None):
    """Run the queued export jobs of the console and the API (a worker: any number may run,
    on any machine that sees the database and EXPORT_DIR).  Stops after the job in hand on
    SIGTERM or Ctrl-C."""
    import signal

    stop = threading.Event()

    def finish(_signum, _frame):
        stop.set()

    previous = {signum: signal.signal(signum, finish)
                for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        folder = export_dir()
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise click.ClickException(f"EXPORT_DIR {folder}: {error.strerror}") from None
        click.echo(f"Running export jobs into {folder}" + (" (once)" if once else ""))
        ran = work(once=once, poll=poll, stop=stop)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    click.echo(f"Ran {ran} export jobs.")
