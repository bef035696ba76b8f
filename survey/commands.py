"""Researcher commands: ``flask --app survey load-questionnaire|open-wave|close-wave|export``,
``import-xlsform`` and ``export-xlsform``.

Every failure a researcher can cause ends as one ``Error: …`` line and exit status 1, never a
traceback (click turns ``ClickException`` into exactly that).
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from questionnaires import QuestionnaireError, load_wave

from .db import db
from .definitions import survey_today
from .models import DEFAULT_ORGANISATION, Organisation, Wave
from .wave_actions import (
    WaveRefused,
    close_wave,
    freeze_questionnaire,
    open_wave,
    response_counts,
)


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


ORG_OPTION_HELP = "Organisation code (default: the default national organisation)."


def _organisation(code: str | None, option: str = "--org") -> Organisation:
    """The organisation ``option`` names (None: the default one)."""
    code = code if code is not None else DEFAULT_ORGANISATION["code"]
    org = db.session.execute(
        select(Organisation).where(Organisation.code == code)).scalar_one_or_none()
    if org is None:
        raise click.ClickException(f"{option} {code!r}: there is no such organisation "
                                   f"(create it with: flask --app survey create-org {code} …)")
    return org


def _org_flag(org: Organisation) -> str:
    """The ``--org`` a message's example command needs (none for the default organisation)."""
    return "" if org.code == DEFAULT_ORGANISATION["code"] else f" --org {org.code}"


def _of(org: Organisation) -> str:
    return "" if org.code == DEFAULT_ORGANISATION["code"] else f" of {org.code}"


def _wave(year: int, org_code: str | None = None) -> Wave:
    org = _organisation(org_code)
    wave = db.session.execute(
        select(Wave).where(Wave.organisation_id == org.id, Wave.year == year)
    ).scalar_one_or_none()
    if wave is None:
        raise click.ClickException(
            f"there is no wave {year}{_of(org)}; load its questionnaire first "
            f"(flask --app survey load-questionnaire questionnaires/waves/{year}.yaml"
            f"{_org_flag(org)})"
        )
    return wave


@click.command("load-questionnaire")
@click.argument("source")
@click.option("--org", "org_code", help=ORG_OPTION_HELP)
@with_appcontext
@_database_errors_are_messages
def load_questionnaire_command(source: str, org_code: str | None):
    """Validate a wave definition (FILE, or a YEAR under questionnaires/waves/) and freeze it
    into the database as the questionnaire of that wave of the organisation."""
    org = _organisation(org_code)
    target = int(source) if source.isdigit() and not Path(source).exists() else source
    try:
        definition = load_wave(target)
    except QuestionnaireError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"{source}: {error.strerror or error}") from None

    _freeze_questionnaire(definition, source, org)


def _freeze_questionnaire(definition, source: str, org: Organisation) -> None:
    """Freeze a validated wave definition into the database as its wave's questionnaire
    (refused once the wave has responses); shared by load-questionnaire and import-xlsform."""
    year = definition.year
    try:
        frozen = freeze_questionnaire(definition, source, org.id)
    except WaveRefused as refused:
        raise click.ClickException(_refusal(year, refused)) from None
    wave = frozen.wave
    if frozen.action == "unchanged":
        click.echo(f"Wave {year}{_of(org)}: questionnaire unchanged "
                   f"({definition.content_hash[:12]}), nothing to do.")
        return
    click.echo(
        f"Wave {year}{_of(org)}: questionnaire {frozen.action} ({len(definition.pages)} pages, "
        f"{len(definition.items)} items, hash {definition.content_hash[:12]}); "
        f"status {wave.status}, dates {wave.opens} to {wave.closes}."
    )


@click.command("open-wave")
@click.argument("year", type=int)
@click.option("--opens", type=click.DateTime(["%Y-%m-%d"]), help="First day (YYYY-MM-DD).")
@click.option("--closes", type=click.DateTime(["%Y-%m-%d"]), help="Last day (YYYY-MM-DD).")
@click.option("--org", "org_code", help=ORG_OPTION_HELP)
@with_appcontext
@_database_errors_are_messages
def open_wave_command(year: int, opens, closes, org_code: str | None):
    """Open wave YEAR for respondents from today (or --opens) until its last day (or --closes)."""
    wave = _wave(year, org_code)
    today = survey_today()
    try:
        open_wave(wave, opens.date() if opens else None, closes.date() if closes else None,
                  today)
    except WaveRefused as refused:
        raise click.ClickException(_refusal(year, refused)) from None
    new_opens, new_closes = wave.opens, wave.closes
    when = "now" if not new_opens or new_opens <= today else f"on {new_opens}"
    click.echo(f"Wave {year} is open: respondents can answer from {new_opens or 'now'} "
               f"to {new_closes or 'when it is closed'} (starts {when}).")


def _refusal(year: int, refused: WaveRefused) -> str:
    return {
        "no_questionnaire": f"wave {year} has no questionnaire; load it first",
        "closes_before_opens": f"wave {year} would close ({refused.closes}) before it opens "
                               f"({refused.opens})",
        "closed_by_definition":
            f"wave {year} closed on {refused.closes} by its definition; to reopen it give the "
            f"new last day: flask --app survey open-wave {year} --closes YYYY-MM-DD",
        "has_responses":
            f"wave {year} already has {refused.responses} responses on questionnaire "
            f"{refused.content_hash[:12]}; its questionnaire can no longer change (use a new "
            f"wave for a changed questionnaire)",
    }[refused.reason]


@click.command("close-wave")
@click.argument("year", type=int)
@click.option("--org", "org_code", help=ORG_OPTION_HELP)
@with_appcontext
@_database_errors_are_messages
def close_wave_command(year: int, org_code: str | None):
    """Close wave YEAR: respondents see a polite 'closed' page; answers stay in the database.

    Unfinished responses can no longer be continued, so what still links them to a device goes:
    their token and resume-code hashes, and the exact start time (kept to the minute from here,
    as completed responses are)."""
    wave = _wave(year, org_code)
    close_wave(wave)
    counts = response_counts(wave.id)
    click.echo(f"Wave {year} is closed: {counts.get('complete', 0)} completed and "
               f"{counts.get('in_progress', 0)} unfinished responses.")


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
@click.option("--org", "org_code", help=ORG_OPTION_HELP)
@with_appcontext
@_database_errors_are_messages
def export_command(year: int, out: str, partition: str | None, language: str, bom: bool,
                   org_code: str | None):
    """Write the responses table of wave YEAR (one row per completed response), its codebook
    and its fieldwork summary."""
    from .export import ExportError, export_responses  # pandas & co. only when exporting

    org = _organisation(org_code)
    try:
        result = export_responses(year, out, language=language, bom=bom, partition=partition,
                                  organisation=org.code)
    except ExportError as error:
        raise click.ClickException(str(error)) from None
    except OSError as error:
        raise click.ClickException(f"{out}: {error.strerror or error}") from None
    click.echo(f"Wrote {result.rows} completed responses of wave {year}{_of(org)} to "
               f"{result.path}, "
               f"the codebook to {result.codebook_path} and the fieldwork summary to "
               f"{result.fieldwork_path}.")
    for note in result.notes:
        click.echo(f"Note: {note}")


@click.command("import-xlsform")
@click.argument("form", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--year", type=int, required=True, help="The wave the form defines.")
@click.option("--org", help="Prefix of the local items (not in the national item bank): they "
                            "are coded ORG_name.")
@click.option("--wave-org", "wave_org", help="Code of the organisation whose wave it is "
                                              "(default: the default national organisation).")
@click.option("--yaml", "yaml_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the wave file (e.g. questionnaires/waves/YEAR.yaml).")
@click.option("--force", is_flag=True, help="Overwrite the --yaml file if it exists.")
@click.option("--check", is_flag=True, help="Validate only: do not touch the database.")
@with_appcontext
@_database_errors_are_messages
def import_xlsform_command(form: Path, year: int, org: str | None, wave_org: str | None,
                           yaml_out: Path | None, force: bool, check: bool):
    """Import the XLSForm FORM (.xlsx) as wave YEAR and freeze it into the database as
    load-questionnaire does (supported subset: docs/questionnaires.md, "XLSForm")."""
    from questionnaires.xlsform import import_xlsform, write_wave_yaml

    if yaml_out is not None and yaml_out.exists() and not force:
        raise click.ClickException(f"{yaml_out} exists; give --force to overwrite it")
    owner = None if check else _organisation(wave_org, "--wave-org")
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
    if owner is not None:
        _freeze_questionnaire(wave, str(form), owner)


@click.command("export-xlsform")
@click.argument("source")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The XLSForm workbook to write (.xlsx).")
@click.option("--frozen", is_flag=True,
              help="Export the questionnaire frozen in the database for wave SOURCE (a year) "
                   "instead of the wave file.")
@click.option("--org", "org_code", help="With --frozen: " + ORG_OPTION_HELP)
@with_appcontext
@_database_errors_are_messages
def export_xlsform_command(source: str, out: Path, frozen: bool, org_code: str | None):
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
            questionnaire = _wave(int(source), org_code).questionnaire
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
