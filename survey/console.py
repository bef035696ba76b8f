"""The researchers' console (server-rendered, zh/en): ``/console/`` lists the organisations
and waves the signed-in user may see; an organisation's page lists its waves and its audit
trail; a wave's page shows its status and dates, the open and close buttons (organisers),
the monitoring panel and the export form (analysts and organisers: an export job in any
format the export command writes, with a page that shows its status and then its download).
Organisers create a wave from the item bank or an XLSForm (``new-wave``) and preview its
pages read-only; analysts and organisers read the answers to its short text questions
(``texts``, audited).

Admins manage accounts (``members``): the members of their organisation and of its
descendants, a new account or role, a changed or removed role, an account deactivated or
reactivated (``survey.staff_accounts``).  Every signed-in user lists, creates and revokes their
own API tokens (``tokens``).

Routes are thin: the permission check on every object and the actions are
``survey.staff_waves``, the numbers ``survey.monitoring``.  Every form is a POST with the
session's CSRF token; a refused action shows the page again with the reason (400), never a
500.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from . import (
    audit,
    export_jobs,
    free_texts,
    quotas,
    staff_accounts,
    staff_waves,
    wave_builder,
)
from .accounts import PASSWORD_MIN_LENGTH
from .definitions import survey_today
from .forms import csrf_ok
from .models import DEFAULT_ORGANISATION, ExportJob
from .monitoring import wave_monitoring
from .permissions import (
    EXPORT,
    MANAGE_QUESTIONNAIRES,
    MANAGE_QUOTAS,
    MANAGE_USERS,
    MANAGE_WAVES,
    MONITOR,
    READ_RESPONSES,
    VIEW_ACCOUNTS,
    can,
)
from .rendering import question_html
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
    # an XLSForm uploaded in the console (the 2026 wave as XLSForm is about 20 KB)
    state.app.config.setdefault("XLSFORM_UPLOAD_BYTES", 1024 * 1024)


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
    admin = staff_accounts.may_view(org)
    # admins also see the account events of the organisation and of those below it
    accounts_of = [o.id for o in staff_accounts.descendants(org)] if admin else []
    events = audit.visible_events([org.id], accounts_of,
                                  unattached=admin and org.parent_id is None)
    return render_template("console/organisation.html", org=org,
                           waves=staff_waves.waves_of(org),
                           may_create=staff_waves.may_manage_questionnaires(org),
                           may_view_members=admin, events=events, csrf_token=generate_csrf())


@bp.get("/<code>/<year:year>/")
@login_required
def wave(code: str, year: int):
    org, wave = staff_waves.find_wave(code, year, MONITOR)
    return _wave_page(org, wave)


def _wave_page(org, wave, *, problem: str | None = None, status: int = 200, form=None):
    return render_template(
        "console/wave.html", org=org, row=wave, monitoring=wave_monitoring(wave),
        may_manage=staff_waves.may_manage(org), may_export=staff_waves.may_export(org),
        may_preview=staff_waves.may_manage_questionnaires(org),
        has_texts=staff_waves.may_read_responses(org) and bool(staff_waves.text_items_of(wave)),
        export_formats=export_jobs.JOB_FORMATS, respondent_url=respondent_url,
        jobs=export_jobs.jobs_of(wave) if staff_waves.may_export(org) else [],
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
    """The one-step download (small waves); a large wave's export becomes a job."""
    org, wave = staff_waves.find_wave(code, year, EXPORT)
    file_format = request.args.get("format", "csv")
    if file_format not in staff_waves.EXPORT_FORMATS:
        abort(404)
    result = staff_waves.export_download(org, wave, file_format)
    if isinstance(result, ExportJob):
        return redirect(_job_url(org, wave, result), code=303)
    return result


# ------------------------------------------------------------------ export jobs


@bp.post("/<code>/<year:year>/exports")
@login_required
def request_export(code: str, year: int):
    """The export form: a job in the chosen format, then its page."""
    org, wave = staff_waves.find_wave(code, year, EXPORT)
    file_format = request.form.get("format", "")[:40]
    if not csrf_ok():
        return _wave_page(org, wave, problem=_expired(), status=400)
    if file_format not in export_jobs.JOB_FORMATS:
        return _wave_page(org, wave, problem=_("Please choose one of the formats listed."),
                          status=400)
    if wave.questionnaire is None:
        return _wave_page(org, wave, problem=_(
            "This wave has no questionnaire, so there is nothing to export."), status=400)
    job = staff_waves.request_export(wave, file_format)
    return redirect(_job_url(org, wave, job), code=303)


@bp.get("/<code>/<year:year>/exports/<int(max=2147483647):job_id>")
@login_required
def export_job(code: str, year: int, job_id: int):
    """A job's status (the page reloads itself while the job waits or runs) and, once done,
    its download link."""
    org, wave, job = staff_waves.find_job(code, year, job_id)
    if job.status == "queued" and current_app.config["EXPORT_JOBS_INLINE"]:
        export_jobs.job_added()  # a job left queued by a restarted process starts again
    return render_template(
        "console/export_job.html", org=org, row=wave, job=job,
        job_format=export_jobs.JOB_FORMATS[job.format],
        failure=export_jobs.FAILURES.get(job.error_kind or "", ""),
        ready=export_jobs.file_of(job) is not None, stalled=export_jobs.stalled(job),
        keep_hours=current_app.config["EXPORT_KEEP_HOURS"], csrf_token=generate_csrf())


@bp.get("/<code>/<year:year>/exports/<int(max=2147483647):job_id>/file")
@login_required
def export_job_file(code: str, year: int, job_id: int):
    _org, _wave, job = staff_waves.find_job(code, year, job_id)
    return staff_waves.job_download(job)


def _job_url(org, wave, job) -> str:
    return url_for("console.export_job", code=org.code, year=wave.year, job_id=job.id)


@bp.get("/<code>/<year:year>/texts")
@login_required
def texts(code: str, year: int):
    """The free texts of the wave's ``text`` items, one item at a time (``?item=CODE``), 50 to
    a page (``&page=N``), for those who may read its answers; each view is audited."""
    org, wave = staff_waves.find_wave(code, year, READ_RESPONSES)
    items = staff_waves.text_items_of(wave)
    if not items:
        abort(404)
    chosen = request.args.get("item", items[0].code)
    item = next((i for i in items if i.code == chosen), None)
    if item is None:
        abort(404)
    number = request.args.get("page", "1")
    page = free_texts.texts_page(wave, item, int(number) if number.isdigit()
                                 and len(number) < 7 else 1)
    staff_waves.record_texts_read(wave, page)
    return render_template("console/texts.html", org=org, row=wave, items=items, page=page,
                           csrf_token=generate_csrf())


# ------------------------------------------------------------------ a new wave

FORM_FIELDS = ("year", "opens", "closes",
               *(f"{name}_{lang}" for name in (*wave_builder.TEXT_FIELDS,
                                                *wave_builder.STUDY_FORM_FIELDS)
                 for lang in ("zh", "en")))


@bp.get("/<code>/new-wave")
@login_required
def new_wave(code: str):
    org = staff_waves.organisation(code, MANAGE_QUESTIONNAIRES)
    return _new_wave_page(org, form={}, chosen=wave_builder.national_core())


@bp.post("/<code>/new-wave")
@login_required
def create_wave(code: str):
    org = staff_waves.organisation(code, MANAGE_QUESTIONNAIRES)
    form = {name: request.form.get(name, "")[:wave_builder.MAX_VALUE] for name in FORM_FIELDS}
    chosen = [c[:64] for c in request.form.getlist("items")[:1000]]
    if not csrf_ok():
        return _new_wave_page(org, form=form, chosen=chosen, problem=_expired(), status=400)
    try:
        definition = wave_builder.build_from_form(form, chosen)
    except wave_builder.BuildProblem as problem:
        return _new_wave_page(org, form=form, chosen=chosen, errors={
            problem.field: wave_builder.problem_text(problem)}, status=400)
    return _created(org, definition, form=form, chosen=chosen)


@bp.post("/<code>/new-wave/xlsform")
@login_required
def upload_wave(code: str):
    org = staff_waves.organisation(code, MANAGE_QUESTIONNAIRES)
    limit = current_app.config["XLSFORM_UPLOAD_BYTES"]
    # a little room for the other fields and the multipart framing
    request.max_content_length = limit + 64 * 1024
    if request.content_length is not None and request.content_length > limit + 64 * 1024:
        too_large = wave_builder.BuildProblem("form_file", reason="too_large", size=limit // 1024)
        return _new_wave_page(org, form={}, chosen=wave_builder.national_core(),
                              errors={"form_file": wave_builder.problem_text(too_large)},
                              status=413)
    year = request.form.get("upload_year", "")[:20]
    if not csrf_ok():
        return _new_wave_page(org, form={"upload_year": year}, chosen=wave_builder.national_core(),
                              problem=_expired(), status=400)
    try:
        definition = wave_builder.build_from_upload(request.files.get("form_file"), year,
                                                    org.code, limit)
    except wave_builder.BuildProblem as problem:
        return _new_wave_page(org, form={"upload_year": year}, chosen=wave_builder.national_core(),
                              errors={problem.field: wave_builder.problem_text(problem)},
                              status=400)
    return _created(org, definition, form={"upload_year": year},
                    chosen=wave_builder.national_core())


def _created(org, definition, *, form, chosen):
    try:
        frozen = staff_waves.create_wave(org, definition, definition.source)
    except WaveRefused as refused:
        return _new_wave_page(org, form=form, chosen=chosen,
                              problem=refusal_message(refused), status=400)
    return redirect(url_for("console.wave", code=org.code, year=frozen.wave.year), code=303)


def _new_wave_page(org, *, form, chosen, errors=None, problem=None, status=200):
    return render_template(
        "console/new_wave.html", org=org, form=form, chosen=set(chosen), errors=errors or {},
        problem=problem, groups=wave_builder.bank_groups(), study_fields=STUDY_LABELS,
        upload_kib=current_app.config["XLSFORM_UPLOAD_BYTES"] // 1024,
        csrf_token=generate_csrf()), status


# the wave file's study fields (docs/questionnaires.md), labelled as on the consent page
STUDY_LABELS = {
    "study_organiser": lambda: _("Who runs it"),
    "study_contact": lambda: _("Contact"),
    "study_purpose": lambda: _("What it is for"),
    "study_retention": lambda: _("How long the data are kept"),
    "study_eligibility": lambda: _("Who can take part"),
}


# ------------------------------------------------------------------ quotas


@bp.get("/<code>/<year:year>/quotas")
@login_required
def wave_quotas(code: str, year: int):
    """The wave's quota cells with their caps and counts (everyone who monitors the wave);
    organisers choose the questions (draft waves) and set the caps."""
    org, wave = staff_waves.find_wave(code, year, MONITOR)
    return _quotas_page(org, wave)


@bp.post("/<code>/<year:year>/quotas/questions")
@login_required
def define_quotas(code: str, year: int):
    org, wave = staff_waves.find_wave(code, year, MANAGE_QUOTAS)
    chosen = [c[:64] for c in request.form.getlist("items")[:100]]
    if not csrf_ok():
        return _quotas_page(org, wave, chosen=chosen, problem=_expired(), status=400)
    definition = _definition_of(wave)
    if definition is None:
        abort(404)
    try:
        quotas.define(wave, definition, chosen, current_user)
    except quotas.QuotaProblem as problem:
        return _quotas_page(org, wave, chosen=chosen,
                            errors={problem.field: _quota_problem_text(problem)}, status=400)
    return redirect(url_for("console.wave_quotas", code=org.code, year=wave.year), code=303)


@bp.post("/<code>/<year:year>/quotas/caps")
@login_required
def set_quota_caps(code: str, year: int):
    org, wave = staff_waves.find_wave(code, year, MANAGE_QUOTAS)
    quota = quotas.quota_of(wave)
    if quota is None:
        abort(404)
    typed = {f"cap-{cell.id}": request.form.get(f"cap-{cell.id}", "")[:20]
             for cell in quota.cells}
    if not csrf_ok():
        return _quotas_page(org, wave, typed=typed, problem=_expired(), status=400)
    caps, reasons = quotas.parse_caps(quota, typed)
    if reasons:
        return _quotas_page(org, wave, typed=typed, status=400, errors={
            name: _("Give the cap as a whole number from 0 to %(limit)s, or leave it empty "
                    "for no cap.", limit=f"{quotas.MAX_CAP:,}") for name in reasons})
    quotas.set_caps(wave, quota, caps, current_user)
    return redirect(url_for("console.wave_quotas", code=org.code, year=wave.year), code=303)


def _definition_of(wave):
    return staff_waves.wave_entry_of(wave).wave if wave.questionnaire else None


QUOTA_PROBLEMS = {
    "not_draft": lambda problem: _(
        "The questions of a quota can be chosen only while the wave is a draft: the counts so "
        "far belong to its cells. The caps can still be changed."),
    "too_many_items": lambda problem: _(
        "Choose at most %(limit)s questions.", limit=problem.details["limit"]),
    "not_eligible": lambda problem: _(
        "Only single-choice questions of this wave's questionnaire can define a quota."),
    "too_many_cells": lambda problem: _(
        "These questions make %(cells)s cells; at most %(limit)s are possible. Choose fewer "
        "questions or questions with fewer answers.",
        cells=f"{problem.details['cells']:,}", limit=f"{problem.details['limit']:,}"),
}


def _quota_problem_text(problem) -> str:
    return QUOTA_PROBLEMS[problem.reason](problem)


def _quotas_page(org, wave, *, chosen=None, typed=None, errors=None, problem=None, status=200):
    definition = _definition_of(wave)
    quota = quotas.quota_of(wave)
    items, cells = quotas.cell_views(quota, definition) if quota is not None else ([], [])
    if chosen is None:
        chosen = quota.items.split(",") if quota is not None else []
    return render_template(
        "console/quotas.html", org=org, row=wave, definition=definition, quota=quota,
        quota_items=items, cells=cells, chosen=chosen, typed=typed or {},
        eligible=quotas.eligible_items(definition) if definition is not None else [],
        may_manage=can(current_user, MANAGE_QUOTAS, org), errors=errors or {},
        problem=problem, max_items=quotas.MAX_ITEMS, csrf_token=generate_csrf()), status


# ------------------------------------------------------------------ preview


@bp.get("/<code>/<year:year>/preview")
@login_required
def preview(code: str, year: int):
    """The wave's respondent pages, read only, one after the other (``?page=N``; 0 is the
    consent text): nothing is stored, the form posts nowhere."""
    org, wave = staff_waves.find_wave(code, year, MANAGE_QUESTIONNAIRES)
    if wave.questionnaire is None:
        abort(404)
    entry = staff_waves.wave_entry_of(wave)
    definition = entry.wave
    number = request.args.get("page", "0")
    number = int(number) if number.isdigit() and len(number) < 4 else 0
    number = min(number, len(definition.pages))
    page = definition.pages[number - 1] if number else None
    questions = [] if page is None else [
        question_html(entry, item, None) for item in page.items]
    return render_template("console/preview.html", org=org, row=wave, wave=definition,
                           page=page, number=number, count=len(definition.pages),
                           questions=questions, csrf_token=generate_csrf())


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
        "has_responses": lambda: _(
            "Wave %(year)s already has %(count)s responses: its questionnaire can no longer "
            "change. Use a new year for a changed questionnaire.",
            year=refused.year, count=refused.responses),
    }
    return messages[refused.reason]()


# ------------------------------------------------------------------ accounts and roles

ROLE_LABELS = {
    "admin": lambda: _("admin"),
    "organiser": lambda: _("organiser"),
    "analyst": lambda: _("analyst"),
    "viewer": lambda: _("viewer"),
}

ACCOUNT_PROBLEMS = {
    "no_email": lambda r: _("Please enter the e-mail address."),
    "bad_email": lambda r: _("This is not an e-mail address."),
    "unknown_role": lambda r: _("Please choose one of the roles."),
    "already_member": lambda r: _(
        "This account has a role here already: change it in the list below."),
    "existing_account": lambda r: _(
        "This account exists already and keeps its password: leave the password empty."),
    "short_password": lambda r: _(
        "The password must have at least %(length)s characters.", **r.details),
    "long_password": lambda r: _(
        "The password must have at most %(length)s characters.", **r.details),
    "last_root_admin": lambda r: _(
        "%(org)s would have no active admin left. Give another account the admin role "
        "there first.", **r.details),
    "own_account": lambda r: _("You cannot deactivate your own account."),
    "elsewhere": lambda r: _(
        "This account also has roles in organisations where you are not an admin: only an "
        "admin of each of them may deactivate or reactivate it."),
}

ADD_FIELDS = ("email", "role", "password")


@bp.get("/<code>/members")
@login_required
def members(code: str):
    org = staff_waves.organisation(code, VIEW_ACCOUNTS)
    return _members_page(org)


@bp.post("/<code>/members")
@login_required
def add_member(code: str):
    org = staff_waves.organisation(code, MANAGE_USERS)
    form = {"email": request.form.get("email", "")[:300],
            "role": request.form.get("role", "")[:20]}
    password = request.form.get("password", "")[:1100]
    if not csrf_ok():
        return _members_page(org, form=form, problem=_expired(), status=400)
    try:
        user, shown = staff_accounts.add_member(org, form["email"], form["role"], password)
    except staff_accounts.AccountRefused as refused:
        return _members_page(org, form=form, status=400, errors={
            refused.field: ACCOUNT_PROBLEMS[refused.reason](refused)})
    if shown is None:
        return redirect(url_for("console.members", code=org.code), code=303)
    # the one time the new password is shown: no redirect (it is stored nowhere)
    page, status = _members_page(org, created=(user.email, shown))
    response = current_app.make_response((page, status))
    response.headers["Cache-Control"] = "no-store"
    return response


def _member_action(code: str, user_id: int, change):
    """A change to one membership of organisation ``code`` (admins of it): ``change`` gets
    the membership; a refusal shows the page again with the reason."""
    org = staff_waves.organisation(code, MANAGE_USERS)
    found = staff_accounts.membership(org, user_id)
    if not csrf_ok():
        return _members_page(org, problem=_expired(), status=400)
    try:
        change(found)
    except staff_accounts.AccountRefused as refused:
        return _members_page(org, problem=ACCOUNT_PROBLEMS[refused.reason](refused),
                             status=400)
    return redirect(url_for("console.members", code=org.code), code=303)


@bp.post("/<code>/members/<int(max=2147483647):user_id>/role")
@login_required
def change_role(code: str, user_id: int):
    role = request.form.get("role", "")[:20]
    return _member_action(code, user_id, lambda found: staff_accounts.change_role(found, role))


@bp.post("/<code>/members/<int(max=2147483647):user_id>/remove")
@login_required
def remove_member(code: str, user_id: int):
    return _member_action(code, user_id, staff_accounts.remove_member)


@bp.post("/<code>/members/<int(max=2147483647):user_id>/active")
@login_required
def set_active(code: str, user_id: int):
    active = request.form.get("active") == "1"
    return _member_action(code, user_id,
                          lambda found: staff_accounts.set_active(found.user, active))


def _members_page(org, *, form=None, errors=None, problem=None, created=None, status=200):
    rows = staff_accounts.members(org)
    groups: dict[int, tuple] = {}
    for row in rows:
        groups.setdefault(row.membership.organisation_id,
                          (row.membership.organisation, []))[1].append(row)
    return render_template(
        "console/members.html", org=org, groups=list(groups.values()),
        may_add=staff_accounts.may_manage(org), roles=ROLE_LABELS, form=form or {},
        errors={k: v for k, v in (errors or {}).items() if k}, problem=problem,
        created=created, min_length=PASSWORD_MIN_LENGTH,
        csrf_token=generate_csrf()), status


# ------------------------------------------------------------------ own API tokens


@bp.get("/tokens")
@login_required
def tokens():
    return _tokens_page()


@bp.post("/tokens")
@login_required
def create_token():
    if not csrf_ok():
        return _tokens_page(problem=_expired(), status=400)
    token = staff_accounts.create_my_token()
    page, status = _tokens_page(created=token)
    response = current_app.make_response((page, status))
    response.headers["Cache-Control"] = "no-store"  # the token is shown this once
    return response


@bp.post("/tokens/<int(max=2147483647):token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    if not csrf_ok():
        return _tokens_page(problem=_expired(), status=400)
    staff_accounts.revoke_my_token(token_id)
    return redirect(url_for("console.tokens"), code=303)


def _tokens_page(*, created=None, problem=None, status=200):
    return render_template("console/tokens.html", tokens=staff_accounts.my_tokens(),
                           created=created, problem=problem,
                           csrf_token=generate_csrf()), status
