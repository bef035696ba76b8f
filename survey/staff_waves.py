"""What the console and the API do with a wave, behind their thin routes: find it with the
permission check, open and close it (with the audit event), export it as a streamed download.

Every lookup checks the permission on the object it returns: an unknown organisation or wave
is 404, a known organisation the user's roles do not reach for the action is 403 (whether
the wave exists or not, so a sibling learns nothing about another's waves)."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from flask import Response, abort, current_app
from flask_login import current_user
from sqlalchemy import select

from . import audit
from .db import db
from .definitions import database_key, survey_today
from .models import Organisation, Wave
from .models import Response as SurveyResponse
from .permissions import EXPORT, MANAGE_QUESTIONNAIRES, MANAGE_WAVES, READ_RESPONSES, can
from .wave_actions import Frozen, close_wave, freeze_questionnaire, open_wave
from .wave_cache import median_durations, wave_entry

# format → media type of the download (the export's writers are picked by the file ending)
EXPORT_FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
}
DOWNLOAD_BLOCK = 64 * 1024


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


def export_download(org: Organisation, wave: Wave, file_format: str) -> Response:
    """The wave's responses table through the export's one function, written to a private
    temporary folder and sent in blocks (never held in memory), the folder removed once sent.
    The export is recorded in the audit trail."""
    from .export import ExportError, export_responses  # pandas & co. only when exporting

    if file_format not in EXPORT_FORMATS:
        abort(400)
    folder = Path(tempfile.mkdtemp(prefix="survey-export-"))
    name = f"{org.code}-{wave.year}.{file_format}"
    try:
        result = export_responses(wave.year, folder / name, organisation=org.code)
    except ExportError:
        shutil.rmtree(folder, ignore_errors=True)
        abort(409)  # no questionnaire loaded: nothing to export
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    audit.record(current_user, "export", wave, f"{file_format}, {result.rows} rows")
    db.session.commit()
    size = result.path.stat().st_size
    return Response(_FileBlocks(result.path, folder), mimetype=None,
                    content_type=EXPORT_FORMATS[file_format], headers={
                        "Content-Disposition": f'attachment; filename="{name}"',
                        "Content-Length": str(size),
                        "Cache-Control": "no-store",
                    }, direct_passthrough=True)


class _FileBlocks:
    """The file in blocks; closing it (WSGI does, sent or not) removes its folder."""

    def __init__(self, path: Path, folder: Path) -> None:
        self.path, self.folder = path, folder

    def __iter__(self) -> Iterator[bytes]:
        with self.path.open("rb") as fh:
            while block := fh.read(DOWNLOAD_BLOCK):
                yield block

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
