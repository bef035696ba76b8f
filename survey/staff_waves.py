"""What the console and the API do with a wave, behind their thin routes: find it with the
permission check, open and close it (with the audit event), export it (an export job, or a
streamed download for a small wave) and hand out a finished job's file.

Every lookup checks the permission on the object it returns: an unknown organisation or wave
is 404, a known organisation the user's roles do not reach for the action is 403 (whether
the wave exists or not, so a sibling learns nothing about another's waves)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import date
from pathlib import Path
from types import SimpleNamespace

from flask import Response, abort, current_app
from flask_login import current_user
from sqlalchemy import select

from . import audit, export_jobs
from .db import db
from .definitions import database_key, survey_today
from .export_jobs import JOB_FORMATS
from .models import AuditEvent, ExportJob, Organisation, Wave
from .models import Response as SurveyResponse
from .permissions import EXPORT, MANAGE_QUESTIONNAIRES, MANAGE_WAVES, READ_RESPONSES, can
from .wave_actions import Frozen, close_wave, freeze_questionnaire, open_wave
from .wave_cache import median_durations, wave_entry

# format → media type of the download: every format the export command writes
# (survey/export_jobs.py, JOB_FORMATS)
EXPORT_FORMATS = {key: f.media_type for key, f in JOB_FORMATS.items()}


def organisation(code: str, action: str) -> Organisation:
    org = db.session.execute(
        select(Organisation).where(Organisation.code == code)).scalar_one_or_none()
    if org is None:
        abort(404)
    if not can(current_user, action, org):
        abort(403)
    return org


def wave_of(org: Organisation, year: int) -> Wave:
    wave = db.session.execute(
        select(Wave).where(Wave.organisation_id == org.id, Wave.year == year)
    ).scalar_one_or_none()
    if wave is None:
        abort(404)
    return wave


def find_wave(code: str, year: int, action: str) -> tuple[Organisation, Wave]:
    """The organisation and its wave, when the signed-in user may do ``action`` there."""
    org = organisation(code, action)
    return org, wave_of(org, year)


def waves_of(org: Organisation) -> list[Wave]:
    return list(db.session.execute(
        select(Wave).where(Wave.organisation_id == org.id).order_by(Wave.year.desc())
    ).scalars())


def open_now(wave: Wave, opens: date | None, closes: date | None) -> None:
    """Open ``wave`` (raises ``WaveRefused``) and record who did it, in one transaction."""
    def record():
        audit.record(current_user, "open_wave", wave,
                     f"{wave.opens or ''} – {wave.closes or ''}")
    open_wave(wave, opens, closes, survey_today(), before_commit=record)


def close_now(wave: Wave) -> None:
    close_wave(wave, before_commit=lambda: audit.record(current_user, "close_wave", wave))


def create_wave(org: Organisation, definition, source: str) -> Frozen:
    """Freeze ``definition`` as the questionnaire of its year's wave of ``org`` (a new draft
    wave, or a replaced questionnaire while it has no responses: raises ``WaveRefused``),
    with the audit event, in one transaction."""
    def record(wave, action):
        audit.record(current_user, "create_wave", wave,
                     f"{action}: {len(definition.items)} items, {source}, "
                     f"hash {definition.content_hash[:12]}")
    return freeze_questionnaire(definition, source, org.id, before_commit=record)


def wave_entry_of(wave: Wave):
    """The cached entry (definition, rendered questions) of the wave's frozen questionnaire."""
    from questionnaires import Wave as WaveDefinition

    questionnaire = wave.questionnaire
    return wave_entry(questionnaire.content_hash, lambda: (
        questionnaire.content_hash,
        WaveDefinition.from_dict(json.loads(questionnaire.definition))))


def definition_of(wave: Wave):
    """The wave's frozen questionnaire (a ``questionnaires.Wave``); 404 without one."""
    if wave.questionnaire is None:
        abort(404, description=f"wave {wave.year} has no questionnaire yet")
    return wave_entry_of(wave).wave


class UnknownCursor(Exception):
    """``after`` names no completed response of the wave."""


def read_responses(wave: Wave, after: str | None, limit: int):
    """One page of the wave's responses table (``survey.export.response_page``) after the
    completed response whose ``response_id`` is ``after`` (None: from the start), recorded in
    the audit trail: one event per page read.  The speeder flag's median duration of the wave
    is cached as the monitoring numbers are (``MONITORING_SECONDS``).  Raises
    ``UnknownCursor``; 409 without a questionnaire (nothing to read, as for the export)."""
    from .export import median_duration, response_page  # pandas & co. only when reading

    if wave.questionnaire is None:
        abort(409, description=f"wave {wave.year} has no questionnaire loaded")
    after_id = 0
    if after is not None:
        after_id = db.session.execute(select(SurveyResponse.id).where(
            SurveyResponse.public_id == after, SurveyResponse.wave_id == wave.id,
            SurveyResponse.status == "complete")).scalar_one_or_none()
        if after_id is None:
            raise UnknownCursor(after)
    config = current_app.config
    seconds = (config["CLOSED_MONITORING_SECONDS"] if wave.status == "closed"
               else config["MONITORING_SECONDS"])
    median = median_durations.fresh((database_key(), wave.id, wave.status), seconds,
                                    lambda: median_duration(wave.id))
    page = response_page(wave.id, wave_entry_of(wave).wave, after_id, limit, median)
    audit.record(current_user, "read_responses", wave,
                 f"{len(page.rows)} rows, limit {limit}, "
                 f"{'after a cursor' if after is not None else 'from the start'}")
    db.session.commit()
    return page


def may_manage_questionnaires(org: Organisation) -> bool:
    return can(current_user, MANAGE_QUESTIONNAIRES, org)


def may_manage(org: Organisation) -> bool:
    return can(current_user, MANAGE_WAVES, org)


def may_export(org: Organisation) -> bool:
    return can(current_user, EXPORT, org)


def may_read_responses(org: Organisation) -> bool:
    return can(current_user, READ_RESPONSES, org)


def text_items_of(wave: Wave) -> list:
    """The wave's free-text items (none without a questionnaire)."""
    from .free_texts import text_items

    return text_items(wave_entry_of(wave).wave) if wave.questionnaire else []


def record_texts_read(wave: Wave, page) -> None:
    """The audit event of a page of free texts shown (which item, which page, how many)."""
    audit.record(current_user, "view_texts", wave,
                 f"{page.item.code}, page {page.number} of {page.pages}, {len(page.rows)} texts")
    db.session.commit()


def export_download(org: Organisation, wave: Wave, file_format: str) -> Response | ExportJob:
    """The old one-step download (``GET …/export?format=``): a wave with at most
    ``EXPORT_STREAM_ROWS`` completed responses is exported at once into a private temporary
    folder and sent in blocks (never held in memory), the folder removed once sent, with the
    audit event; a larger one becomes an export job (returned: the caller points to it), so
    the request never outlasts a proxy's timeout."""
    from .export import ExportError  # pandas & co. only when exporting

    if file_format not in EXPORT_FORMATS:
        abort(400)
    if wave.questionnaire is None:
        abort(409)  # no questionnaire loaded: nothing to export
    if export_jobs.completed_responses(wave) > current_app.config["EXPORT_STREAM_ROWS"]:
        return request_export(wave, file_format)
    folder = Path(tempfile.mkdtemp(prefix="survey-export-"))
    try:
        path, rows = export_jobs.write_export(file_format, wave.year, org.code, folder)
    except ExportError:
        shutil.rmtree(folder, ignore_errors=True)
        abort(409)  # e.g. more rows than the format holds
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    _record_alone("export", wave, f"{file_format}, {rows} rows")
    return _file_response(path, file_format, path.name,
                          on_close=lambda: shutil.rmtree(folder, ignore_errors=True))


def request_export(wave: Wave, file_format: str) -> ExportJob:
    """A queued export job of ``wave`` for the signed-in user, with its audit event; the web
    process's thread starts on it when jobs run inline."""
    if file_format not in EXPORT_FORMATS:
        abort(400)
    if wave.questionnaire is None:
        abort(409)
    # the reads end before the writes begin (SQLite: a GET's read transaction that later
    # writes fails at once when a runner committed in between, see _record_alone)
    user = SimpleNamespace(id=current_user.id, email=current_user.email)
    target = SimpleNamespace(id=wave.id, organisation_id=wave.organisation_id)
    db.session.commit()
    job = export_jobs.create_job(user, target, file_format)
    audit.record(user, "request_export", target, f"{file_format}, job {job.id}")
    db.session.commit()
    export_jobs.job_added()
    return job


def find_job(code: str, year: int, job_id: int) -> tuple[Organisation, Wave, ExportJob]:
    """A job of the wave, for a user who may export the wave's organisation's responses."""
    org, wave = find_wave(code, year, EXPORT)
    job = db.session.get(ExportJob, job_id)
    if job is None or job.wave_id != wave.id:
        abort(404)
    return org, wave, job


def job_by_id(job_id: int) -> ExportJob:
    """A job by its number alone (the API): 404 as well for one the user may not see, so its
    number says nothing about another organisation's exports."""
    job = db.session.get(ExportJob, job_id)
    if job is None or not can(current_user, EXPORT, job.organisation):
        abort(404)
    return job


def job_download(job: ExportJob) -> Response:
    """The finished job's file in blocks with its length, and the audit event; 409 while the
    job is not done (or its file was removed)."""
    path = export_jobs.file_of(job)
    if path is None:
        abort(409, description=f"the export is {job.status}, there is no file to download")
    name, file_format = path.name, job.format
    _record_alone("export", job.wave, f"{job.format}, {job.rows} rows, job {job.id}")
    return _file_response(path, file_format, name)


def _record_alone(action: str, wave: Wave, detail: str) -> None:
    """The audit event of a GET request, in a transaction of its own whose first statement
    is the insert: on SQLite a read transaction that later writes fails at once ("database
    is locked") when another writer (an export job's runner) committed in between."""
    user_id, email = current_user.id, current_user.email
    organisation_id, wave_id = wave.organisation_id, wave.id
    db.session.commit()  # ends the reads
    db.session.add(AuditEvent(user_id=user_id, user_email=email, action=action,
                              organisation_id=organisation_id, wave_id=wave_id,
                              detail=detail[:500]))
    db.session.commit()


def _file_response(path: Path, file_format: str, name: str, on_close=None) -> Response:
    blocks = export_jobs.FileBlocks(path, on_close)  # opened now: a sweep cannot cut it short
    size = os.fstat(blocks.fh.fileno()).st_size
    return Response(blocks, mimetype=None, content_type=EXPORT_FORMATS[file_format], headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "Content-Length": str(size),
        "Cache-Control": "no-store",
    }, direct_passthrough=True)
