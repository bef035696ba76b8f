"""The researchers' console (server-rendered, zh/en): ``/console/`` lists the organisations
and waves the signed-in user may see; an organisation's page lists its waves and its audit
trail; a wave's page shows its status and dates, the open and close buttons (organisers),
the monitoring panel and the export download (analysts and organisers).

Routes are thin: the permission check on every object and the actions are
``survey.staff_waves``, the numbers ``survey.monitoring``.  Every form is a POST with the
session's CSRF token; a refused action shows the page again with the reason (400), never a
500.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf.csrf import generate_csrf

from . import audit, staff_waves
from .definitions import survey_today
from .forms import csrf_ok
from .models import DEFAULT_ORGANISATION
from .monitoring import wave_monitoring
from .permissions import EXPORT, MANAGE_WAVES, MONITOR
from .research import monitored_organisations, waves_of
from .wave_actions import WaveRefused

bp = Blueprint("console", __name__, url_prefix="/console")


def respondent_url(org, wave) -> str:
    """Where respondents answer this wave: ``/YEAR/`` for the default organisation's,
    ``/o/CODE/YEAR/`` for the others'."""
    if org.code == DEFAULT_ORGANISATION["code"]:
        return url_for("respondent.landing", year=wave.year)
    return url_for("respondent.org_landing", org=org.code, year=wave.year)


@bp.record_once
def _setup(state) -> None:
    state.app.config.setdefault("MONITORING_SECONDS", 60.0)
    state.app.config.setdefault("CLOSED_MONITORING_SECONDS", 3600.0)


@bp.get("/")
@login_required
def index():
    organisations = monitored_organisations()
    waves: dict[int, list] = {}
    for wave, _hash, _loaded in waves_of(organisations):
        waves.setdefault(wave.organisation_id, []).append(wave)
    depth = {}
    for org in organisations:  # parents come before their children
        depth[org.id] = depth.get(org.parent_id, -1) + 1 if org.parent_id in depth else 0
    return render_template("console/index.html", organisations=organisations, waves=waves,
                           depth=depth, csrf_token=generate_csrf())


@bp.get("/<code>/")
@login_required
def organisation(code: str):
    org = staff_waves.organisation(code, MONITOR)
    return render_template("console/organisation.html", org=org,
                           waves=staff_waves.waves_of(org),
                           events=audit.events_of([org.id]), csrf_token=generate_csrf())


@bp.get("/<code>/<year:year>/")
@login_required
def wave(code: str, year: int):
    org, wave = staff_waves.find_wave(code, year, MONITOR)
    return _wave_page(org, wave)


def _wave_page(org, wave, *, problem: str | None = None, status: int = 200, form=None):
    return render_template(
        "console/wave.html", org=org, row=wave, monitoring=wave_monitoring(wave),
        may_manage=staff_waves.may_manage(org), may_export=staff_waves.may_export(org),
        export_formats=staff_waves.EXPORT_FORMATS, respondent_url=respondent_url,
        problem=problem, form=form or {},
        today=survey_today(), csrf_token=generate_csrf()), status


@bp.post("/<code>/<year:year>/open")
@login_required
def open_wave(code: str, year: int):
    org, wave = staff_waves.find_wave(code, year, MANAGE_WAVES)
    form = {"opens": request.form.get("opens", "")[:20],
            "closes": request.form.get("closes", "")[:20]}
    if not csrf_ok():
        return _wave_page(org, wave, problem=_expired(), status=400, form=form)
    try:
        opens, closes = _date(form["opens"]), _date(form["closes"])
    except ValueError:
        return _wave_page(org, wave, problem=_("Please give dates as YYYY-MM-DD."),
                          status=400, form=form)
    try:
        staff_waves.open_now(wave, opens, closes)
    except WaveRefused as refused:
        return _wave_page(org, wave, problem=refusal_message(refused), status=400, form=form)
    return redirect(url_for("console.wave", code=org.code, year=wave.year), code=303)


@bp.post("/<code>/<year:year>/close")
@login_required
def close_wave(code: str, year: int):
    org, wave = staff_waves.find_wave(code, year, MANAGE_WAVES)
    if not csrf_ok():
        return _wave_page(org, wave, problem=_expired(), status=400)
    staff_waves.close_now(wave)
    return redirect(url_for("console.wave", code=org.code, year=wave.year), code=303)


@bp.get("/<code>/<year:year>/export")
@login_required
def export(code: str, year: int):
    org, wave = staff_waves.find_wave(code, year, EXPORT)
    file_format = request.args.get("format", "csv")
    if file_format not in staff_waves.EXPORT_FORMATS:
        abort(404)
    return staff_waves.export_download(org, wave, file_format)


def _date(text: str) -> date | None:
    text = text.strip()
    return date.fromisoformat(text) if text else None


def _expired() -> str:
    return _("The form had expired. Please press the button again.")


def refusal_message(refused: WaveRefused) -> str:
    """Why a wave could not be opened, in the request's language."""
    messages = {
        "no_questionnaire": lambda: _("This wave has no questionnaire yet. Load it first."),
        "closes_before_opens": lambda: _(
            "The last day (%(closes)s) is before the first day (%(opens)s).",
            closes=refused.closes, opens=refused.opens),
        "closed_by_definition": lambda: _(
            "This wave's last day (%(closes)s) has passed. Give a new last day to reopen it.",
            closes=refused.closes),
    }
    return messages[refused.reason]()
