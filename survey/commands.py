"""Researcher commands: ``flask --app survey load-questionnaire|open-wave|close-wave|export``,
``import-xlsform`` and ``export-xlsform``.

Every failure a researcher can cause ends as one ``Error: …`` line and exit status 1, never a
traceback (click turns ``ClickException`` into exactly that).
"""

from __future__ import annotations

import functools
import json
from datetime import date
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from questionnaires import QuestionnaireError, load_wave

from .db import db
from .definitions import survey_today
from .models import (
    Questionnaire,
    Response,
    Wave,
    of_default_organisation,
    to_minute,
    utc_now,
)
from .wave_cache import forget_wave_states


def _database_errors_are_messages(command):
    """A missing table or unreachable server becomes a clear message instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except SQLAlchemyError as error:
            db.session.rollback()
            detail = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            raise click.ClickException(
                f"database error: {detail} (has `flask --app survey init-db` been run?)"
            ) from None

    return wrapper


def _wave(year: int) -> Wave:
    wave = db.session.execute(
        select(Wave).where(of_default_organisation(year))).scalar_one_or_none()
    if wave is None:
        raise click.ClickException(
            f"there is no wave {year}; load its questionnaire first "
            f"(flask --app survey load-questionnaire questionnaires/waves/{year}.yaml)"
        )
    return wave


def _response_counts(wave_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Response.status, func.count()).where(Response.wave_id == wave_id)
        .group_by(Response.status)
    )
    return dict(rows.all())


@click.command("load-questionnaire")
@click.argument("source")
@with_appcontext
@_database_errors_are_messages
def load_questionnaire_command(source: str):
    """Validate a wave definition (FILE, or a YEAR under questionnaires/waves/) and freeze it
    into the database as that wave's questionnaire."""
    target = int(source) if source.isdigit() and not Path(source).exists() else source
    try:
        definition = load_wave(target)
    except QuestionnaireError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"{source}: {error.strerror or error}") from None

    _freeze_questionnaire(definition, source)


def _freeze_questionnaire(definition, source: str) -> None:
    """Freeze a validated wave definition into the database as its wave's questionnaire
    (refused once the wave has responses); shared by load-questionnaire and import-xlsform."""
    frozen = json.dumps(definition.to_dict(), ensure_ascii=False, sort_keys=True)
    wave = db.session.execute(
        select(Wave).where(of_default_organisation(definition.year))
    ).scalar_one_or_none()
    if wave is None:
        wave = Wave(year=definition.year, status="draft", opens=definition.opens,
                    closes=definition.closes)
        db.session.add(wave)
        db.session.flush()
    questionnaire = wave.questionnaire
    if questionnaire is not None and questionnaire.content_hash == definition.content_hash:
        click.echo(f"Wave {definition.year}: questionnaire unchanged "
                   f"({definition.content_hash[:12]}), nothing to do.")
        return
    if questionnaire is not None:
        counts = _response_counts(wave.id)
        if counts:
            raise click.ClickException(
                f"wave {definition.year} already has {sum(counts.values())} responses on "
                f"questionnaire {questionnaire.content_hash[:12]}; its questionnaire can no "
                f"longer change (use a new wave for a changed questionnaire)"
            )
        questionnaire.definition = frozen
        questionnaire.content_hash = definition.content_hash
        questionnaire.source = str(definition.source or source)[:500]
        questionnaire.loaded_at = utc_now()
        action = "replaced"
    else:
        db.session.add(Questionnaire(wave_id=wave.id, definition=frozen,
                                     content_hash=definition.content_hash,
                                     source=str(definition.source or source)[:500]))
        action = "loaded"
    wave.opens, wave.closes = definition.opens, definition.closes
    db.session.commit()
    forget_wave_states()
    click.echo(
        f"Wave {definition.year}: questionnaire {action} ({len(definition.pages)} pages, "
        f"{len(definition.items)} items, hash {definition.content_hash[:12]}); "
        f"status {wave.status}, dates {wave.opens} to {wave.closes}."
    )


@click.command("open-wave")
@click.argument("year", type=int)
@click.option("--opens", type=click.DateTime(["%Y-%m-%d"]), help="First day (YYYY-MM-DD).")
@click.option("--closes", type=click.DateTime(["%Y-%m-%d"]), help="Last day (YYYY-MM-DD).")
@with_appcontext
@_database_errors_are_messages
def open_wave_command(year: int, opens, closes):
    """Open wave YEAR for respondents from today (or --opens) until its last day (or --closes)."""
    wave = _wave(year)
    if wave.questionnaire is None:
        raise click.ClickException(f"wave {year} has no questionnaire; load it first")
    today = survey_today()
    new_opens: date | None = opens.date() if opens else wave.opens
    new_closes: date | None = closes.date() if closes else wave.closes
    if opens is None and new_opens is not None and new_opens > today:
        new_opens = today  # opening now: an explicit command beats the planned first day
    if new_opens and new_closes and new_closes < new_opens:
        raise click.ClickException(f"wave {year} would close ({new_closes}) before it opens "
                                   f"({new_opens})")
    if closes is None and new_closes is not None and new_closes < today:
        raise click.ClickException(
            f"wave {year} closed on {new_closes} by its definition; to reopen it give the new "
            f"last day: flask --app survey open-wave {year} --closes YYYY-MM-DD"
        )
    wave.status, wave.opens, wave.closes = "open", new_opens, new_closes
    db.session.commit()
    forget_wave_states()
    when = "now" if not new_opens or new_opens <= today else f"on {new_opens}"
    click.echo(f"Wave {year} is open: respondents can answer from {new_opens or 'now'} "
               f"to {new_closes or 'when it is closed'} (starts {when}).")


@click.command("close-wave")
@click.argument("year", type=int)
@with_appcontext
@_database_errors_are_messages
def close_wave_command(year: int):
    """Close wave YEAR: respondents see a polite 'closed' page; answers stay in the database.

    Unfinished responses can no longer be continued, so what still links them to a device goes:
    their token and resume-code hashes, and the exact start time (kept to the minute from here,
    as completed responses are)."""
    wave = _wave(year)
    wave.status = "closed"
    _unlink_unfinished(wave.id)
    db.session.commit()
    forget_wave_states()
    counts = _response_counts(wave.id)
    click.echo(f"Wave {year} is closed: {counts.get('complete', 0)} completed and "
               f"{counts.get('in_progress', 0)} unfinished responses.")


def _unlink_unfinished(wave_id: int) -> None:
    unfinished = db.session.execute(
        select(Response.id, Response.started_at)
        .where(Response.wave_id == wave_id, Response.status == "in_progress")).all()
    if not unfinished:
        return
    db.session.execute(
        update(Response.__table__).where(Response.__table__.c.id == bindparam("rid"))
        .values(token_hash=None, resume_code_hash=None, started_at=bindparam("start")),
        [{"rid": rid, "start": to_minute(started)} for rid, started in unfinished])


@click.command("export")
@click.option("--wave", "year", type=int, required=True, help="Survey year.")
@click.option("--out", type=click.Path(path_type=str), required=True,
              help="FILE.csv, .parquet, .sav (SPSS), .dta (Stata) or .xlsx (Excel); "
                   "FILE.codebook.csv and FILE.fieldwork.csv are written beside it. A folder "
                   "(DIR/) writes partitioned Parquet: DIR/wave=YEAR/…/part-0.parquet.")
@click.option("--partition", metavar="COLUMN",
              help="Partitioned Parquet, one file per value of this category column "
                   "(e.g. province): DIR/wave=YEAR/province=VALUE/part-0.parquet.")
@click.option("--language", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the variable and value labels in .sav and .dta files.")
@click.option("--bom", is_flag=True,
              help="Start every CSV with a UTF-8 byte-order mark (Excel on Chinese Windows).")
@with_appcontext
@_database_errors_are_messages
def export_command(year: int, out: str, partition: str | None, language: str, bom: bool):
    """Write the responses table of wave YEAR (one row per completed response), its codebook
    and its fieldwork summary."""
    from .export import ExportError, export_responses  # pandas & co. only when exporting

    try:
        result = export_responses(year, out, language=language, bom=bom, partition=partition)
    except ExportError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"{out}: {error.strerror or error}") from None
    click.echo(f"Wrote {result.rows} completed responses of wave {year} to {result.path}, "
               f"the codebook to {result.codebook_path} and the fieldwork summary to "
               f"{result.fieldwork_path}.")
    for note in result.notes:
        click.echo(f"Note: {note}")


@click.command("import-xlsform")
@click.argument("form", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--year", type=int, required=True, help="The wave the form defines.")
@click.option("--org", help="Organisation code: local items (not in the national item bank) "
                            "are coded ORG_name.")
@click.option("--yaml", "yaml_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the wave file (e.g. questionnaires/waves/YEAR.yaml).")
@click.option("--force", is_flag=True, help="Overwrite the --yaml file if it exists.")
@click.option("--check", is_flag=True, help="Validate only: do not touch the database.")
@with_appcontext
@_database_errors_are_messages
def import_xlsform_command(form: Path, year: int, org: str | None, yaml_out: Path | None,
                           force: bool, check: bool):
    """Import the XLSForm FORM (.xlsx) as wave YEAR and freeze it into the database as
    load-questionnaire does (supported subset: docs/questionnaires.md, "XLSForm")."""
    from questionnaires.xlsform import import_xlsform, write_wave_yaml

    if yaml_out is not None and yaml_out.exists() and not force:
        raise click.ClickException(f"{yaml_out} exists; give --force to overwrite it")
    try:
        imported = import_xlsform(form, year, org)
    except QuestionnaireError as error:
        raise click.ClickException(str(error)) from None
    wave = imported.wave
    local = sum(1 for item in wave.items.values() if item.kind == "local")
    click.echo(f"{form}: wave {year}, {len(wave.pages)} pages, {len(wave.items)} items "
               f"({local} local), hash {wave.content_hash[:12]}.")
    if yaml_out is not None:
        try:
            write_wave_yaml(imported.data, yaml_out, source=form.name)
            reread = load_wave(yaml_out)
        except QuestionnaireError as error:
            raise click.ClickException(str(error)) from None
        except OSError as error:
            raise click.ClickException(f"{yaml_out}: {error.strerror or error}") from None
        if reread.content_hash != wave.content_hash:  # pragma: no cover - a writer bug
            raise click.ClickException(f"{yaml_out} does not read back as the imported wave")
        click.echo(f"Wrote the wave file {yaml_out}.")
    if not check:
        _freeze_questionnaire(wave, str(form))


@click.command("export-xlsform")
@click.argument("source")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The XLSForm workbook to write (.xlsx).")
@click.option("--frozen", is_flag=True,
              help="Export the questionnaire frozen in the database for wave SOURCE (a year) "
                   "instead of the wave file.")
@with_appcontext
@_database_errors_are_messages
def export_xlsform_command(source: str, out: Path, frozen: bool):
    """Write wave SOURCE (a YEAR under questionnaires/waves/, or a wave FILE) as an XLSForm
    workbook for KoboToolbox or ODK."""
    from questionnaires import Wave as WaveDefinition
    from questionnaires.xlsform import export_xlsform

    if out.suffix.lower() != ".xlsx":
        raise click.ClickException(f"{out}: an XLSForm is an .xlsx workbook")
    try:
        if frozen:
            if not source.isdigit():
                raise click.ClickException("--frozen takes a year")
            questionnaire = _wave(int(source)).questionnaire
            if questionnaire is None:
                raise click.ClickException(f"wave {source} has no questionnaire")
            definition = WaveDefinition.from_dict(json.loads(questionnaire.definition))
        else:
            target = int(source) if source.isdigit() and not Path(source).exists() else source
            definition = load_wave(target)
        export_xlsform(definition, out)
    except QuestionnaireError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"{out}: {error.strerror or error}") from None
    click.echo(f"Wrote wave {definition.year} ({len(definition.pages)} pages, "
               f"{len(definition.items)} items) as an XLSForm to {out}.")


def init_app(app: Flask) -> None:
    for command in (load_questionnaire_command, open_wave_command, close_wave_command,
                    export_command, import_xlsform_command, export_xlsform_command):
        app.cli.add_command(command)
