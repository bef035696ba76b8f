"""The respondent's path: landing → consent → questionnaire pages → thank-you, plus resume.

URLs (``YEAR`` is the wave):

* ``/``                        → the current wave's landing page
* ``/YEAR/``                   landing (start, or continue an in-progress response)
* ``/YEAR/consent``            consent text; POST starts a response and sets the cookie
* ``/YEAR/page/KEY``           one questionnaire page; POST saves it and redirects (303)
* ``/YEAR/resume``             type a resume code from another device
* ``/YEAR/thanks``             after submitting

The default organisation's waves live at ``/YEAR/…``; every other organisation's at
``/o/CODE/YEAR/…`` (the same views, the organisation in the URL and in the cached wave state's
key, so it costs no query).

A response is found through the ``survey_response`` cookie (a random token; the database keeps
only its keyed hash).  Answers are saved per page, so Back, closing the tab and continuing
elsewhere lose nothing.  The last page's POST saves its answers and marks the response complete
in one transaction; the status guard ``UPDATE … WHERE status = 'in_progress'`` makes repeated
submits harmless.

Who may continue a response (the cookie bound to its device, new tokens at consent and resume,
nothing left after completion) is ``survey.credentials``; docs/web.md, "Who can see a response".
"""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from werkzeug.exceptions import BadRequest, TooManyRequests
from werkzeug.routing import BaseConverter, IntegerConverter

from questionnaires.presentation import item_order, presented

from . import credentials, limits, store
from .db import commit, rollback
from .definitions import current_wave_year, survey_today, wave_entry, wave_state
from .forms import Invalid, csrf_ok
from .i18n import current_language
from .limits import wait_seconds
from .models import (
    normalise_resume_code,
    resume_code_for,
    utc_now,
)
from .rendering import page_html, question_html
from .wave_cache import urls

bp = Blueprint("respondent", __name__)
_TOKEN = re.compile(r"[A-Za-z0-9_-]+")


class YearConverter(IntegerConverter):
    """``<year:year>``: a survey year, 1 to 4 ASCII digits.  Werkzeug's ``int`` takes any
    length and any Unicode digit (``/٢٠٣١/``), and a year beyond the database's integer range
    (PostgreSQL ``integer`` is 32-bit) made the query itself fail; such a URL is now simply
    not found."""

    regex = r"[0-9]{1,4}"


class OrganisationConverter(BaseConverter):
    """``<org:org>``: an organisation code as ``create-org`` allows it."""

    regex = r"[A-Za-z0-9_-]{1,32}"


def _add_converters(state) -> None:
    state.app.url_map.converters.setdefault("year", YearConverter)
    state.app.url_map.converters.setdefault("org", OrganisationConverter)
    # the respondent's templates link with wave_url: under /o/CODE the links stay there
    state.app.jinja_env.globals["wave_url"] = _url


# runs before the routes below are added (deferred functions run in order)
bp.record_once(_add_converters)
# every wave URL also exists under /o/CODE for the waves of other organisations: the
# endpoint "org_X" serves what "X" serves
ORG_PREFIX = "/o/<org:org>"


def _route(rule: str, **options):
    def register(view):
        bp.add_url_rule(rule, view_func=view, **options)
        bp.add_url_rule(ORG_PREFIX + rule, endpoint="org_" + view.__name__, view_func=view,
                        **options)
        return view
    return register


# the consent form's field that people never see or reach (templates/survey/consent.html)
HONEYPOT = "website"
# the session key that tells the thank-you page this browser's response was screened out
# (its quota cell was full; survey/quotas.py): the wave's id
SCREENED_OUT = "screened_out"
class TooManyNewResponses(TooManyRequests):
    """More new responses from this client than ``NEW_RESPONSE_RATE_LIMIT`` allows."""

    reason = "new_response"  # the error page explains this one (templates/errors/error.html)


class FileUpload(BadRequest):
    """Our forms never send files; a multipart upload to a respondent URL is refused."""

    reason = "upload"  # the error page explains this one (templates/errors/error.html)


@bp.before_request
def _refuse_uploads():
    if request.method == "POST" and request.mimetype == "multipart/form-data" and request.files:
        raise FileUpload()


# --------------------------------------------------------------------------- helpers


def _open_wave(year: int, org: str | None):
    """(state, wave cache entry) for an open wave; otherwise abort with the polite 'closed'
    page."""
    state = wave_state(year, org)
    if state is None:
        abort(404)
    availability = state.availability(survey_today())
    if availability != "open":
        wave = wave_entry(state).wave if state.questionnaire_id is not None else None
        status = 410 if availability == "closed" else 200
        abort(current_app.make_response(
            (render_template("survey/unavailable.html", state=state, wave=wave,
                             availability=availability), status)
        ))
    return state, wave_entry(state)


def _url(endpoint: str, **values) -> str:
    """``url_for`` for the respondent's few URLs, remembered per process (a URL depends only on
    the endpoint, its values and where the app is mounted)."""
    this_request = request._get_current_object()  # one context look-up, not three
    org = this_request.view_args.get("org") if this_request.view_args else None
    if org is not None:  # stay under /o/CODE
        endpoint, values = "respondent.org_" + endpoint.partition(".")[2], {**values, "org": org}
    key = (this_request.script_root, endpoint, *sorted(values.items()))
    url = urls.get(key)
    if url is None:
        url = urls.get_or_make(key, lambda: url_for(endpoint, **values))
    return url


def _see_other(endpoint: str, **values):
    return redirect(_url(endpoint, **values), code=303)


def _page_index(entry, key: str) -> int:
    index = entry.page_index.get(key)
    if index is None:
        abort(404)
    return index


def effective_answers(entry, answers: dict[str, int]) -> tuple[dict[str, int], dict[str, tuple]]:
    """Answers that count, page by page: an item hidden by its condition does not count, even if
    an old answer to it is stored, so conditions chained on it stay hidden too.

    Returns ``(effective, visible)`` where ``visible[page.key]`` is the page's visible items
    (shared: do not modify); ``entry`` is the wave's ``WaveEntry``, which keeps the visibility
    per combination of the answers that conditions refer to."""
    visible, order = entry.visibility(answers)
    return {code: answers[code] for code in order if code in answers}, visible


def _missing(items, answers) -> list:
    return [item for item in items if item.required and item.code not in answers]


def _neighbour(wave, visible, index: int, step: int) -> int | None:
    """The next (step=1) or previous (step=-1) page index that shows any item."""
    index += step
    while 0 <= index < len(wave.pages):
        if visible[wave.pages[index].key]:
            return index
        index += step
    return None


def _in_order(entry, page, visible, seed) -> tuple:
    """The page's visible items in the order this response sees them, their options too
    (questionnaires/presentation.py)."""
    items = visible[page.key]
    if page.key not in entry.reordered_pages:
        return items
    shown = {item.code for item in items}
    return tuple(presented(item, seed) for item in item_order(page, seed) if item.code in shown)


def _render_page(entry, page, index, response, visible, values, errors, *, notice=None,
                 status=200):
    wave = entry.wave
    items = _in_order(entry, page, visible, response.presentation_seed)
    lang = current_language()
    questions = [question_html(entry, item, values.get(item.code), errors.get(item.code), lang)
                 for item in items]
    context = dict(
        wave=wave, page=page, page_number=index + 1, page_count=len(wave.pages),
        # the button says "Submit" where no later page has anything to ask
        is_last=_neighbour(wave, visible, index, 1) is None,
        is_first=_neighbour(wave, visible, index, -1) is None,
        items=items, errors=errors, notice=notice,
    )
    csrf_token = generate_csrf()
    if not errors and notice is None:
        # the frame depends on the URL too (the language switch link leads back here)
        this_request = request._get_current_object()  # one context look-up, not four
        key = (lang, page.key, context["is_first"], context["is_last"],
               tuple(item.code for item in items), this_request.method,
               this_request.script_root, this_request.path, this_request.query_string)
        html = page_html(entry, key, context, csrf_token=csrf_token, questions=questions,
                         resume_code=response.resume_code,
                         render_code=current_app.jinja_env.filters["resume_code"])
        if html is not None:
            return html, status
    return render_template("survey/page.html", **context, response=response,
                           questions=questions, csrf_token=csrf_token), status


# --------------------------------------------------------------------------- views


@bp.get("/")
def index():
    year = current_wave_year()
    if year is None:
        return render_template("survey/no_survey.html")
    return _see_other("respondent.landing", year=year)


@_route("/<year:year>/", methods=["GET"])
def landing(year: int, org: str | None = None):
    state, entry = _open_wave(year, org)
    wave = entry.wave
    response = credentials.load_response(state)
    if response is None and session.get(credentials.SUBMITTED) == state.id:
        response = credentials.Submitted
    return render_template("survey/landing.html", wave=wave, response=response,
                           item_count=len(wave.items))


@_route("/<year:year>/consent", methods=["GET", "POST"])
def consent(year: int, org: str | None = None):
    state, entry = _open_wave(year, org)
    wave = entry.wave
    response = credentials.load_response(state)
    if request.method == "POST":
        if not csrf_ok():
            return render_template("survey/consent.html", wave=wave, csrf_failed=True,
                                   response=response, csrf_token=generate_csrf()), 400
        if response is not None:
            # a double tap on "start", or consent again: continue the same response, under a
            # new token (never one the client brought)
            target = _see_other("respondent.page", year=year,
                                key=wave.pages[response.page_index].key)
            token = credentials.rekey(response.id, token_hash=credentials.device_token_hash())
            return credentials.issue_token(target, state, token) if token else target
        redirect_to = _see_other("respondent.page", year=year, key=wave.pages[0].key)
        if request.form.get(HONEYPOT):
            # a bot that fills in every field: the usual answer, but nothing started or saved
            return redirect_to
        wait = wait_seconds("new_response")
        if wait:
            raise TooManyNewResponses(retry_after=wait)
        session.pop(credentials.SUBMITTED, None)
        session.pop(SCREENED_OUT, None)
        return credentials.issue_token(redirect_to, state, credentials.start_response(state.id))
    return render_template("survey/consent.html", wave=wave, csrf_failed=False,
                           response=response, csrf_token=generate_csrf())


@_route("/<year:year>/page/<key>", methods=["GET", "POST"])
def page(year: int, key: str, org: str | None = None):
    state, entry = _open_wave(year, org)
    wave = entry.wave
    index = _page_index(entry, key)
    page = wave.pages[index]
    device = credentials.device_token()
    row, stored = (store.response_with_answers(device.hash, state.id) if device is not None
                   else (None, {}))
    if row is None:
        if device is not None:
            # this device's response is gone from its token: completed (the other half of a
            # double tap, a refresh) or moved to another device by its resume code
            return credentials.forget_device(_see_other("respondent.thanks", year=year))
        if state.id in (session.get(credentials.SUBMITTED), session.get(SCREENED_OUT)):
            # submitted (or screened out) here; nothing links it
            return _see_other("respondent.thanks", year=year)
        return _see_other("respondent.landing", year=year)
    response = credentials.view(row, device.token)
    if index > response.page_index:  # no skipping ahead of the furthest page reached
        return _see_other("respondent.page", year=year, key=wave.pages[response.page_index].key)

    if request.method == "GET":
        effective, visible = effective_answers(entry, stored)
        items = visible[page.key]
        if not items:  # every question here is hidden by an earlier answer
            step = _neighbour(wave, visible, index, 1)
            target = step if step is not None and step <= response.page_index else None
            if target is None:
                target = _neighbour(wave, visible, index, -1) or 0
            return _see_other("respondent.page", year=year, key=wave.pages[target].key)
        errors = {}
        if request.args.get("check"):  # after a submit that found this page incomplete
            errors = entry.validator.check(items, effective)[1]
        return _render_page(entry, page, index, response, visible,
                            {i.code: stored.get(i.code) for i in items}, errors)
    return _save_page(state, entry, page, index, response, stored)


def _save_page(state, entry, page, index, response, stored):
    wave = entry.wave
    page_codes = [item.code for item in page.items]
    # every posted answer of the page, parsed once by its question type; ², ① and 5,000
    # digits as an option code are refused (400), a typed number or text gets a message
    form = request.form
    posted = entry.validator.read(page.items, form)
    # what the page would look like with the posted answers (conditions on the same page)
    answered = {code: value for code, value in posted.items()
                if value is not None and not isinstance(value, Invalid)}
    others = {c: v for c, v in stored.items() if c not in set(page_codes)}
    merged = {**others, **answered}
    effective, visible = effective_answers(entry, merged)
    items = visible[page.key]
    going_back = form.get("nav") == "back"
    values, errors = entry.validator.check(items, posted)
    if not csrf_ok():
        rollback()
        return _render_page(
            entry, page, index, response, visible, values, {},
            notice=_("This page was open too long or came from an old tab, so it could not be "
                     "saved. Your earlier pages are safe. Please check your answers here and "
                     "press the button again."),
            status=400,
        )
    if errors and not going_back:
        rollback()
        return _render_page(entry, page, index, response, visible, values, errors)

    # answers to save: every valid answer to a visible item (Back saves partial pages too)
    answers = {
        code: value for code, value in values.items()
        if value is not None and code not in errors
    }
    if going_back:
        target = _neighbour(wave, visible, index, -1)
        target = index if target is None else target
    else:
        target = _neighbour(wave, visible, index, 1)
    now = utc_now()
    furthest = max(response.page_index, target if target is not None else index)
    submitting = target is None and not going_back
    complete, drop, missing_page = False, [], None
    if submitting:  # the last page: complete only if every required question is answered
        everything = {**others, **answers}
        final, final_visible = effective_answers(entry, everything)
        missing_page = next(
            (p for p in wave.pages if _missing(final_visible[p.key], final)), None)
        complete = missing_page is None
        # answers to questions that a later change of answer hid are not kept
        drop = [code for code in everything if code not in final] if complete else []
    cell = None
    plan = state.quota
    if plan is not None and not going_back:
        if complete:  # the last page: take a place in the cell (survey/quotas.py)
            cell = plan.cell_of(final)
        elif plan.asks_on(page_codes):  # this page may complete the cell's questions
            placed = plan.cell_of(effective_answers(entry, {**others, **answers})[0])
            if placed is not None and store.screen_if_full(
                    response.id, placed, now=now, started_at=response.started_at,
                    language=current_language()):
                return _screened_out(state)
    saved = store.save_page(
        response.id, page_key=page.key, page_codes=page_codes, answers=answers,
        page_index=furthest, now=now, language=current_language(), complete=complete,
        drop=drop, started_at=response.started_at, quota_cell=cell,
    )
    if not saved:  # completed meanwhile, e.g. by the other half of a double tap
        rollback()
        return credentials.forget_device(_see_other("respondent.thanks", year=state.year))
    if saved == store.SCREENED_OUT:
        return _screened_out(state)
    commit()
    if not submitting:
        return _see_other("respondent.page", year=state.year, key=wave.pages[target].key)
    if not complete:  # keep this page's answers; show what is missing
        return _see_other("respondent.page", year=state.year, key=missing_page.key, check=1)
    session[credentials.SUBMITTED] = state.id  # the thank-you page says "submitted"
    return credentials.forget_device(_see_other("respondent.thanks", year=state.year))


def _screened_out(state):
    """The response was closed because its quota cell is full: commit, and the thank-you
    page says that the group is complete."""
    commit()
    session.pop(credentials.SUBMITTED, None)
    session[SCREENED_OUT] = state.id
    return credentials.forget_device(_see_other("respondent.thanks", year=state.year))


@_route("/<year:year>/thanks", methods=["GET"])
def thanks(year: int, org: str | None = None):
    state = wave_state(year, org)
    if state is None or state.questionnaire_id is None:
        abort(404)
    wave = wave_entry(state).wave
    response = credentials.load_response(state)
    if response is not None:
        return _see_other("respondent.page", year=year, key=wave.pages[response.page_index].key)
    if session.get(SCREENED_OUT) == state.id:  # the quota cell was full
        return render_template("survey/group_complete.html", wave=wave)
    submitted = session.get(credentials.SUBMITTED) == state.id
    return render_template("survey/thanks.html", wave=wave, submitted=submitted)


@_route("/<year:year>/resume", methods=["GET", "POST"])
def resume(year: int, org: str | None = None):
    """Typing a resume code moves the response to this device: a new token and a new resume
    code (shown here), and the typed code and every older device's token stop working."""
    state, entry = _open_wave(year, org)
    wave = entry.wave
    typed = request.form.get("code", "") if request.method == "POST" else ""
    error, status, retry_after = None, 200, 0
    if request.method == "POST":
        # a failed CSRF check or an empty field: nothing is counted
        if not csrf_ok():
            error, status = _("The form had expired. Please enter the code again."), 400
        elif not typed.strip():
            error = _("Please enter your resume code.")
        else:
            moved, retry_after = _try_resume_code(state, normalise_resume_code(typed))
            if moved is not None:
                token, page_index = moved
                page = render_template(
                    "survey/resume.html", wave=wave, typed_code=typed, error=None,
                    new_code=resume_code_for(current_app.config["SECRET_KEY"], token),
                    csrf_token=generate_csrf(),
                    continue_url=_url("respondent.page", year=year,
                                      key=wave.pages[page_index].key))
                return credentials.issue_token(current_app.make_response(page), state, token)
            if retry_after:
                error, status = _("Too many attempts. Please wait a few minutes and try "
                                  "again."), 429
            else:
                error = _("No questionnaire was found with this code. Please check it and try "
                          "again.")
    page = current_app.make_response((render_template(
        "survey/resume.html", wave=wave, typed_code=typed, error=error, new_code=None,
        csrf_token=generate_csrf()), status))
    if retry_after:
        page.headers["Retry-After"] = str(retry_after)
    return page


def _try_resume_code(state, code: str):
    """``((new token, furthest page), 0)`` when ``code`` opens an unfinished response of this
    wave (now re-keyed), else ``(None, seconds to wait)`` — 0 for a plain wrong code.

    Over a limit every code is refused unchecked: letting a right one through would tell a
    guesser which guess was right.  Wrong codes count against this browser and this address;
    right ones only against their response (survey/limits.py)."""
    address, browser = limits.address_key(), limits.browser_key()
    wait = max(limits.blocked_for("resume", browser),
               limits.blocked_for("resume_address", address))
    if wait:
        return None, wait
    found = credentials.resume_target(state, code) if 4 <= len(code) <= 16 else None
    if found is not None:
        response_id, page_index, hashed = found
        wait = limits.count("resume_code", limits.code_key(response_id))
        if wait:
            return None, wait
        token = credentials.rekey(response_id, code_hash=hashed)
        if token is not None:
            return (token, page_index), 0
    limits.count("resume", browser)
    limits.count("resume_address", address)
    return None, 0
