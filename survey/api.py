"""The REST API, ``/api/v1/`` (flask-smorest; the OpenAPI document at
``/api/v1/openapi.json``).

Authenticated by an API token (``Authorization: Bearer tn_…``, ``flask --app survey
create-token``) or the console's session cookie; a cookie-authenticated POST must carry the
session's CSRF token in ``X-CSRFToken`` (``survey.auth.api_csrf_ok``).  Every object is
checked with ``survey.permissions.can`` through ``survey.staff_waves``, as in the console:
401 without a valid token, 403 for an organisation the roles do not reach for the action
(a sibling's), 404 for what does not exist.  Errors are JSON (``{"code": 404, "status":
"Not Found", "message": …}``), never an HTML page and never a 500.

Each API token may make ``API_RATE_LIMIT`` requests (default 600 a minute, counted per token
in ``RATELIMIT_STORAGE_URI``, survey/limits.py); beyond it the answer is a JSON 429 with
``Retry-After``.

Endpoints: ``GET /orgs``, ``GET /orgs/CODE/waves``, ``POST /orgs/CODE/waves`` (a draft
wave from the item bank, organisers), ``GET /waves/CODE/YEAR`` (status and monitoring),
``GET /waves/CODE/YEAR/questionnaire``, ``/codebook`` and ``/quotas`` (quota cells, caps
and counts),
``GET /waves/CODE/YEAR/responses?after=…&limit=…`` (the export's table in pages, audited),
``GET /waves/CODE/YEAR/export?format=…`` (streamed for a small wave, else a job),
``POST /waves/CODE/YEAR/open`` and ``/close`` (organisers); export jobs
(``POST /waves/CODE/YEAR/exports``, ``GET /exports/ID``, ``GET /exports/ID/file``) are
``survey.api_exports``.
"""

from __future__ import annotations

import json
from datetime import UTC
from types import SimpleNamespace

from flask import abort, g, jsonify, request, url_for
from flask_login import current_user
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import TooManyRequests, UnprocessableEntity

from questionnaires import CODEBOOK_COLUMNS, codebook_rows
from questionnaires.model import STUDY_FIELDS

from . import limits, quotas, staff_waves, wave_builder
from .auth import api_csrf_ok
from .errors import json_error
from .models import ExportJob
from .monitoring import wave_monitoring
from .permissions import (
    EXPORT,
    MANAGE_QUESTIONNAIRES,
    MANAGE_WAVES,
    MONITOR,
    READ_RESPONSES,
)
from .research import monitored_organisations
from .respondent import OrganisationConverter, YearConverter
from .wave_actions import WaveRefused

PREFIX = "/api/v1"

bp = Blueprint("api", __name__, url_prefix=PREFIX,
               description="Organisations, waves, monitoring and exports")


class JsonErrorsElsewhere(Api):
    """flask-smorest's ``Api`` without its application-wide error handler: the HTML pages
    keep theirs, and ``survey.errors`` answers in JSON under ``/api/``."""

    def _register_error_handlers(self):
        pass


# --------------------------------------------------------------------------- schemas


class UtcDateTime(fields.DateTime):
    """A time the database keeps as naive UTC, sent with its offset (``…+00:00``), as the
    OpenAPI ``date-time`` format requires."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


class OrganisationSchema(Schema):
    code = fields.String(required=True)
    name_zh = fields.String(required=True)
    name_en = fields.String(required=True)
    parent = fields.Function(lambda org: org.parent.code if org.parent else None,
                             allow_none=True)


class WaveSchema(Schema):
    organisation = fields.Function(lambda wave: wave.organisation.code)
    year = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": ["draft", "open", "closed"]})
    opens = fields.Date(allow_none=True)
    closes = fields.Date(allow_none=True)


class WaveDetailSchema(WaveSchema):
    monitoring = fields.Dict(metadata={
        "description": "started, completed, unfinished, completion_rate, "
                       "completions_per_day, funnel, quality_flags, composition"})


class ExportQuerySchema(Schema):
    format = fields.String(load_default="csv",
                           validate=validate.OneOf(list(staff_waves.EXPORT_FORMATS)))


class OpenSchema(Schema):
    opens = fields.Date(load_default=None, allow_none=True,
                        metadata={"description": "first day; default today or as planned"})
    closes = fields.Date(load_default=None, allow_none=True,
                         metadata={"description": "last day; default as planned"})


class QuotaCellSchema(Schema):
    answers = fields.Dict(keys=fields.String(), values=fields.Integer(), metadata={
        "description": "item code → option code of the cell"})
    values = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True),
                         metadata={"description": "item code → the option's category value "
                                                  "(demographics), else null"})
    cap = fields.Integer(allow_none=True, metadata={"description": "null: no cap"})
    filled = fields.Integer(metadata={"description": "completed responses counted"})
    screened_out = fields.Integer(metadata={"description": "responses turned away, cell full"})
    full = fields.Boolean()


class QuotasSchema(Schema):
    organisation = fields.String()
    year = fields.Integer()
    items = fields.List(fields.String(), metadata={
        "description": "the quota's questions, in the order of a cell's key; empty: no quota"})
    cells = fields.List(fields.Nested(QuotaCellSchema))


class ApiErrorSchema(Schema):
    code = fields.Integer()
    status = fields.String()
    message = fields.String()
    errors = fields.Dict(metadata={"description": "location → field → messages (422 only)"})


class QuestionnaireSchema(Schema):
    organisation = fields.Function(lambda q: q.organisation.code)
    year = fields.Integer(required=True)
    content_hash = fields.String(required=True, metadata={
        "description": "sha256 of the canonical JSON of the definition without its source"})
    source = fields.String(allow_none=True)
    loaded_at = fields.DateTime(metadata={"description": "when it was frozen (UTC)"})
    item_types = fields.Dict(keys=fields.String(), values=fields.String(), metadata={
        "description": "item code → question type (the definition names only non-choice "
                       "types)"})
    definition = fields.Dict(required=True, metadata={
        "description": "the frozen wave definition: year, title, dates, consent, study, "
                       "quality and pages with their items (texts, options and labels in zh "
                       "and en, conditions)"})


CodebookRowSchema = Schema.from_dict(
    {column: fields.String() for column in CODEBOOK_COLUMNS}, name="CodebookRow")


class ResponsesQuerySchema(Schema):
    after = fields.String(load_default=None, validate=validate.Regexp(r"^[0-9a-f]{32}$"),
                          metadata={"description": "the response_id of the last row of the "
                                                   "previous page (its `next`)"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000),
                           metadata={"description": "rows per page, at most 1000"})


class ResponsesPageSchema(Schema):
    columns = fields.List(fields.String(), required=True,
                          metadata={"description": "the export's columns, in order"})
    rows = fields.List(fields.Dict(), required=True, metadata={
        "description": "one object per completed response, keyed by column: codes and "
                       "numbers as in the export file, times as ISO 8601 UTC text"})
    next = fields.String(allow_none=True, required=True, metadata={
        "description": "the `after` of the next page; null on the last page"})


class TextSchema(Schema):
    zh = fields.String(load_default="", validate=validate.Length(max=wave_builder.MAX_VALUE))
    en = fields.String(load_default="", validate=validate.Length(max=wave_builder.MAX_VALUE))


StudySchema = Schema.from_dict(
    {name: fields.Nested(TextSchema, load_default=dict) for name in STUDY_FIELDS},
    name="Study")


class NewWaveSchema(Schema):
    """What the console's new-wave form asks, as JSON."""

    year = fields.Integer(required=True, strict=True)
    items = fields.List(fields.String(validate=validate.Length(max=64)), load_default=list,
                        validate=validate.Length(max=1000),
                        metadata={"description": "item codes of the item bank"})
    norms = fields.List(fields.String(validate=validate.Length(max=64)), load_default=list,
                        validate=validate.Length(max=100), metadata={
                            "description": "whole groups of the item bank: norm codes (N01…), "
                                           "demographic, attention"})
    opens = fields.Date(load_default=None, allow_none=True)
    closes = fields.Date(load_default=None, allow_none=True)
    title = fields.Nested(TextSchema, load_default=dict)
    consent = fields.Nested(TextSchema, load_default=dict)
    study = fields.Nested(StudySchema, load_default=dict)


# the OpenAPI document's example of a new wave (the API test sends it: it must be valid)
NEW_WAVE_EXAMPLE = {
    "year": 2040, "norms": ["N01", "N02"], "items": ["sex", "age_group", "province"],
    "opens": "2040-03-01", "closes": "2040-04-30",
    "title": {"zh": "2040年生态环境行为调查", "en": "Ecological behaviour survey 2040"},
    "consent": {"zh": "本调查匿名进行。", "en": "This survey is anonymous."},
    "study": {"organiser": {"zh": "四川课题组", "en": "The Sichuan team"},
              "contact": {"zh": "survey@example.org", "en": "survey@example.org"},
              "purpose": {"zh": "了解公众的生态环境行为。",
                          "en": "To learn how people care for the environment."},
              "retention": {"zh": "数据保存至2045年。", "en": "Kept until 2045."},
              "eligibility": {"zh": "年满18岁的居民。", "en": "Residents aged 18 or over."}},
}


class CreatedWaveSchema(WaveSchema):
    questionnaire = fields.String(metadata={
        "enum": ["loaded", "replaced", "unchanged"],
        "description": "loaded (a new wave), replaced (a draft's questionnaire, no responses "
                       "yet) or unchanged"})
    content_hash = fields.String()


# --------------------------------------------------------------------------- every request


@bp.before_request
def _authenticated():
    if not current_user.is_authenticated:
        abort(401)
    if g.get("api_token_hash"):
        wait = limits.api_token_wait(g.api_token_hash)
        if wait:
            return _too_many(wait)
    if not api_csrf_ok():
        abort(400, description="the X-CSRFToken header is missing or stale")


def _too_many(wait: int):
    """429 in JSON with ``Retry-After``: this token made more than ``API_RATE_LIMIT``."""
    response = json_error(429, TooManyRequests(
        description=f"this API token is over its rate limit; retry after {wait} seconds"))
    response.headers["Retry-After"] = str(wait)
    return response


def _wave_detail(wave):
    return SimpleNamespace(organisation=wave.organisation, year=wave.year, status=wave.status,
                           opens=wave.opens, closes=wave.closes,
                           monitoring=wave_monitoring(wave).to_json())


def _form_of(body: dict) -> dict[str, str]:
    """The console's new-wave form fields of a JSON body (the builder reads the form)."""
    form = {"year": str(body["year"]),
            "opens": body["opens"].isoformat() if body["opens"] else "",
            "closes": body["closes"].isoformat() if body["closes"] else ""}
    for name in wave_builder.TEXT_FIELDS:
        form.update({f"{name}_{lang}": text for lang, text in body[name].items()})
    for name in STUDY_FIELDS:
        form.update({f"study_{name}_{lang}": text
                     for lang, text in body["study"].get(name, {}).items()})
    return form


def _json_field(form_field: str) -> str:
    """The JSON field of a builder problem's form field (``study_contact`` → ``study.contact``)."""
    if form_field in wave_builder.STUDY_FORM_FIELDS:
        return "study." + form_field.removeprefix("study_")
    return form_field


def _unprocessable(location: str, field: str, message: str):
    """A 422 shaped as the schemas' own (``errors.LOCATION.FIELD``), the message in
    ``message`` too."""
    error = UnprocessableEntity(description=f"{field}: {message}")
    error.data = {"messages": {location: {field: [message]}}}
    raise error


# --------------------------------------------------------------------------- routes


@bp.get("/orgs")
@bp.response(200, OrganisationSchema(many=True))
@bp.alt_response(401, schema=ApiErrorSchema)
def organisations():
    """The organisations whose waves the token's user may see (parents before children)."""
    return monitored_organisations()


@bp.get("/orgs/<org:code>/waves")
@bp.response(200, WaveSchema(many=True))
@bp.alt_response(403, schema=ApiErrorSchema)
@bp.alt_response(404, schema=ApiErrorSchema)
def organisation_waves(code):
    """An organisation's waves, newest first."""
    return staff_waves.waves_of(staff_waves.organisation(code, MONITOR))


@bp.post("/orgs/<org:code>/waves")
@bp.arguments(NewWaveSchema, location="json", example=NEW_WAVE_EXAMPLE)
@bp.response(201, CreatedWaveSchema)
@bp.alt_response(200, schema=CreatedWaveSchema,
                 description="the year's wave existed: its questionnaire replaced or unchanged")
@bp.alt_response(403, schema=ApiErrorSchema)
@bp.alt_response(404, schema=ApiErrorSchema)
@bp.alt_response(409, schema=ApiErrorSchema)
@bp.alt_response(422, schema=ApiErrorSchema)
def create_wave(body, code):
    """Create a draft wave from the item bank (organisers of the organisation), as the
    console's new-wave form does: ``items`` (item codes) and/or ``norms`` (whole norms, or
    ``demographic``, ``attention``), ``year``, ``opens``, ``closes``, ``title``, ``consent``
    and ``study`` texts in zh and en.  A problem is a 422 naming the field; a year whose wave
    already has responses is a 409.  Recorded in the audit trail."""
    org = staff_waves.organisation(code, MANAGE_QUESTIONNAIRES)
    try:
        chosen = [*body["items"], *wave_builder.items_of_groups(body["norms"])]
        definition = wave_builder.build_from_form(_form_of(body), chosen)
    except wave_builder.BuildProblem as problem:
        _unprocessable("json", _json_field(problem.field), wave_builder.problem_text(problem))
    try:
        frozen = staff_waves.create_wave(org, definition, definition.source)
    except WaveRefused as refused:
        abort(409, description=refused.reason)
    wave = frozen.wave
    created = SimpleNamespace(organisation=org, year=wave.year, status=wave.status,
                              opens=wave.opens, closes=wave.closes,
                              questionnaire=frozen.action,
                              content_hash=wave.questionnaire.content_hash)
    location = url_for("api.wave", code=org.code, year=wave.year)
    return created, 201 if frozen.action == "loaded" else 200, {"Location": location}


@bp.get("/waves/<org:code>/<year:year>")
@bp.response(200, WaveDetailSchema)
@bp.alt_response(403, schema=ApiErrorSchema)
@bp.alt_response(404, schema=ApiErrorSchema)
def wave(code, year):
    """A wave's status, dates and monitoring numbers (refreshed at most every
    MONITORING_SECONDS)."""
    _org, wave = staff_waves.find_wave(code, year, MONITOR)
    return _wave_detail(wave)


@bp.get("/waves/<org:code>/<year:year>/questionnaire")
@bp.response(200, QuestionnaireSchema)
@bp.alt_response(403, schema=ApiErrorSchema)
@bp.alt_response(404, schema=ApiErrorSchema)
def questionnaire(code, year):
    """The wave's questionnaire as frozen: pages, items, their types, options and labels in
    zh and en, conditions, and its content hash (404 while it has none)."""
    org, wave = staff_waves.find_wave(code, year, MONITOR)
    definition = staff_waves.definition_of(wave)
    stored = wave.questionnaire
    return SimpleNamespace(organisation=org, year=wave.year, content_hash=stored.content_hash,
                           source=stored.source,
                           loaded_at=stored.loaded_at.replace(tzinfo=UTC),  # stored naive UTC
                           item_types={code: item.type for code, item in definition.items.items()},
                           definition=json.loads(stored.definition))


@bp.get("/waves/<org:code>/<year:year>/codebook")
@bp.response(200, CodebookRowSchema(many=True))
@bp.alt_response(403, schema=ApiErrorSchema)
@bp.alt_response(404, schema=ApiErrorSchema)
def codebook(code, year):
    """The codebook of the wave's responses table: one row per column, in column order, the
    rows the export writes beside its file (every value a string)."""
    _org, wave = staff_waves.find_wave(code, year, MONITOR)
    return codebook_rows(staff_waves.definition_of(wave))


@bp.get("/waves/<org:code>/<year:year>/responses")
@bp.arguments(ResponsesQuerySchema, location="query")
@bp.response(200, ResponsesPageSchema)
@bp.alt_response(403, schema=ApiErrorSchema)
@bp.alt_response(404, schema=ApiErrorSchema)
@bp.alt_response(409, schema=ApiErrorSchema)
@bp.alt_response(422, schema=ApiErrorSchema)
def responses(query, code, year):
    """The wave's completed responses in the export's columns and codes, ``limit`` (at most
    1000, default 100) at a time in response order; the next page is ``?after=NEXT`` (also in
    the ``Link`` header, rel="next").  Each page read is one event in the audit trail."""
    org, wave = staff_waves.find_wave(code, year, READ_RESPONSES)
    try:
        page = staff_waves.read_responses(wave, query["after"], query["limit"])
    except staff_waves.UnknownCursor:
        _unprocessable("query", "after", "not a completed response of this wave")
    following = page.rows[-1]["response_id"] if page.last_id is not None else None
    headers = {"Cache-Control": "no-store"}
    if following is not None:
        link = url_for("api.responses", code=org.code, year=wave.year, after=following,
                       limit=query["limit"])
        headers["Link"] = f'<{link}>; rel="next"'
    return {"columns": page.columns, "rows": page.rows, "next": following}, 200, headers


@bp.get("/waves/<org:code>/<year:year>/export")
@bp.arguments(ExportQuerySchema, location="query")
@bp.response(200, content_type="text/csv", description="the responses table, streamed")
@bp.alt_response(202, description="a large wave: an export job was queued instead (the "
                 "body is the job, as GET /exports/ID gives it; Location is its URL)")
@bp.alt_response(403, schema=ApiErrorSchema)
@bp.alt_response(404, schema=ApiErrorSchema)
def export(query, code, year):
    """The wave's responses table (one row per completed response), as the export command
    writes it, at once for a wave of at most EXPORT_STREAM_ROWS completed responses; for a
    larger one an export job is queued (202, as ``POST …/exports``).  Recorded in the audit
    trail."""
    from .api_exports import ExportJobSchema

    org, wave = staff_waves.find_wave(code, year, EXPORT)
    result = staff_waves.export_download(org, wave, query["format"])
    if isinstance(result, ExportJob):
        response = jsonify(ExportJobSchema().dump(result))
        response.status_code = 202
        response.headers["Location"] = url_for("api.export_job", job_id=result.id)
        return response
    return result


@bp.get("/waves/<org:code>/<year:year>/quotas")
@bp.response(200, QuotasSchema)
@bp.alt_response(403, schema=ApiErrorSchema)
@bp.alt_response(404, schema=ApiErrorSchema)
def wave_quotas(code, year):
    """The wave's quota: its questions and every cell's answers, cap, count and screened-out
    responses (read now, not cached)."""
    org, wave = staff_waves.find_wave(code, year, MONITOR)
    definition = staff_waves.wave_entry_of(wave).wave if wave.questionnaire else None
    return {"organisation": org.code, "year": wave.year,
            **quotas.cells_json(quotas.quota_of(wave), definition)}


@bp.post("/waves/<org:code>/<year:year>/open")
@bp.arguments(OpenSchema, location="json", required=False)
@bp.response(200, WaveSchema)
@bp.alt_response(403, schema=ApiErrorSchema)
@bp.alt_response(404, schema=ApiErrorSchema)
@bp.alt_response(409, schema=ApiErrorSchema)
def open_wave(dates, code, year):
    """Open the wave (organisers of the wave's own organisation); optional JSON body
    ``{"opens": "YYYY-MM-DD", "closes": "YYYY-MM-DD"}``."""
    _org, wave = staff_waves.find_wave(code, year, MANAGE_WAVES)
    try:
        staff_waves.open_now(wave, dates.get("opens"), dates.get("closes"))
    except WaveRefused as refused:
        abort(409, description=refused.reason)
    return wave


@bp.post("/waves/<org:code>/<year:year>/close")
@bp.response(200, WaveSchema)
@bp.alt_response(403, schema=ApiErrorSchema)
@bp.alt_response(404, schema=ApiErrorSchema)
def close_wave(code, year):
    """Close the wave (organisers of the wave's own organisation)."""
    _org, wave = staff_waves.find_wave(code, year, MANAGE_WAVES)
    staff_waves.close_now(wave)
    return wave


# the export jobs' routes, on this blueprint (before init_app registers it)
from . import api_exports  # noqa: E402,F401


def is_api_request() -> bool:
    return request.path == PREFIX or request.path.startswith(PREFIX + "/")


def init_app(app) -> None:
    app.config.setdefault("API_TITLE", "Ten Norms survey")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", "3.0.3")
    app.config.setdefault("OPENAPI_URL_PREFIX", PREFIX)
    app.config.setdefault("OPENAPI_JSON_PATH", "openapi.json")
    api = JsonErrorsElsewhere(app, spec_kwargs={"components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer"}}}, "security": [{"bearer": []}]})
    api.register_converter(YearConverter, lambda _c: {"type": "integer", "maximum": 9999})
    api.register_converter(OrganisationConverter,
                           lambda c: {"type": "string", "pattern": c.regex})
    api.register_blueprint(bp)
