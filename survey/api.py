"""The REST API, ``/api/v1/`` (flask-smorest; the OpenAPI document at
``/api/v1/openapi.json``).

Authenticated by an API token (``Authorization: Bearer tn_…``, ``flask --app survey
create-token``) or the console's session cookie; a cookie-authenticated POST must carry the
session's CSRF token in ``X-CSRFToken`` (``survey.auth.api_csrf_ok``).  Every object is
checked with ``survey.permissions.can`` through ``survey.staff_waves``, as in the console:
401 without a valid token, 403 for an organisation the roles do not reach for the action
(a sibling's), 404 for what does not exist.  Errors are JSON (``{"code": 404, "status":
"Not Found", "message": …}``), never an HTML page and never a 500.

Endpoints: ``GET /orgs``, ``GET /orgs/CODE/waves``, ``GET /waves/CODE/YEAR`` (status and
monitoring), ``GET /waves/CODE/YEAR/export?format=csv|parquet`` (streamed),
``GET /waves/CODE/YEAR/quotas`` (quota cells, caps and counts), ``POST
/waves/CODE/YEAR/open`` and ``/close`` (organisers).
"""

from __future__ import annotations

from types import SimpleNamespace

from flask import abort, request
from flask_login import current_user
from flask_smorest import Api, Blueprint
from marshmallow import Schema, fields, validate

from . import quotas, staff_waves
from .auth import api_csrf_ok
from .monitoring import wave_monitoring
from .permissions import EXPORT, MANAGE_WAVES, MONITOR
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


# --------------------------------------------------------------------------- every request


@bp.before_request
def _authenticated():
    if not current_user.is_authenticated:
        abort(401)
    if not api_csrf_ok():
        abort(400, description="the X-CSRFToken header is missing or stale")


def _wave_detail(wave):
    return SimpleNamespace(organisation=wave.organisation, year=wave.year, status=wave.status,
                           opens=wave.opens, closes=wave.closes,
                           monitoring=wave_monitoring(wave).to_json())


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


@bp.get("/waves/<org:code>/<year:year>")
@bp.response(200, WaveDetailSchema)
@bp.alt_response(403, schema=ApiErrorSchema)
@bp.alt_response(404, schema=ApiErrorSchema)
def wave(code, year):
    """A wave's status, dates and monitoring numbers (refreshed at most every
    MONITORING_SECONDS)."""
    _org, wave = staff_waves.find_wave(code, year, MONITOR)
    return _wave_detail(wave)


@bp.get("/waves/<org:code>/<year:year>/export")
@bp.arguments(ExportQuerySchema, location="query")
@bp.response(200, content_type="text/csv", description="the responses table, streamed")
@bp.alt_response(403, schema=ApiErrorSchema)
@bp.alt_response(404, schema=ApiErrorSchema)
def export(query, code, year):
    """The wave's responses table (one row per completed response), as the export command
    writes it; recorded in the audit trail."""
    org, wave = staff_waves.find_wave(code, year, EXPORT)
    return staff_waves.export_download(org, wave, query["format"])


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
def close_wave(code, year):
    """Close the wave (organisers of the wave's own organisation)."""
    _org, wave = staff_waves.find_wave(code, year, MANAGE_WAVES)
    staff_waves.close_now(wave)
    return wave


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
