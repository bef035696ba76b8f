"""The API's export jobs (registered on ``survey.api.bp``): ``POST /waves/CODE/YEAR/exports``
queues one (202 and its URL), ``GET /exports/ID`` says where it stands, ``GET
/exports/ID/file`` sends the finished file.  A job's number reaches only those who may export
its organisation's responses: anyone else gets 404, as for a number that does not exist."""

from __future__ import annotations

from flask import url_for
from marshmallow import Schema, fields, validate

from . import export_jobs, staff_waves
from .api import ApiErrorSchema, UtcDateTime, bp
from .models import EXPORT_JOB_STATUSES
from .permissions import EXPORT


class ExportRequestSchema(Schema):
    format = fields.String(required=True, validate=validate.OneOf(list(export_jobs.JOB_FORMATS)),
                           metadata={"description": "csv, parquet, xlsx, sav (SPSS), dta "
                                     "(Stata) or parquet-partitioned (a .zip of Parquet files, "
                                     "one per province)"})


class ExportJobSchema(Schema):
    id = fields.Integer(required=True)
    organisation = fields.Function(lambda job: job.organisation.code)
    year = fields.Function(lambda job: job.wave.year)
    format = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": list(EXPORT_JOB_STATUSES)})
    requested_by = fields.String(attribute="requester_email")
    rows = fields.Integer(allow_none=True, metadata={"description": "when done"})
    size_bytes = fields.Integer(allow_none=True, metadata={"description": "when done"})
    error_kind = fields.String(allow_none=True, metadata={
        "description": "when failed: " + ", ".join(export_jobs.FAILURES)})
    error = fields.String(allow_none=True, metadata={"description": "when failed: one line"})
    created_at = UtcDateTime(metadata={"description": "UTC, to the minute"})
    finished_at = UtcDateTime(allow_none=True, metadata={"description": "UTC, to the minute"})
    url = fields.Function(lambda job: url_for("api.export_job", job_id=job.id))
    file_url = fields.Function(
        lambda job: url_for("api.export_job_file", job_id=job.id)
        if export_jobs.file_of(job) is not None else None, allow_none=True,
        metadata={"description": "when done and the file is still kept"})


def job_created(job):
    """202 with the job and its address (``Location``)."""
    return job, 202, {"Location": url_for("api.export_job", job_id=job.id)}


@bp.post("/waves/<org:code>/<year:year>/exports")
@bp.arguments(ExportRequestSchema, location="json")
@bp.response(202, ExportJobSchema, description="queued; poll the job's url")
@bp.alt_response(403, schema=ApiErrorSchema)
@bp.alt_response(404, schema=ApiErrorSchema)
@bp.alt_response(409, schema=ApiErrorSchema, description="the wave has no questionnaire")
def request_export(body, code, year):
    """Queue an export of the wave's responses table in any format the export command
    writes (``{"format": "xlsx"}``); recorded in the audit trail."""
    _org, wave = staff_waves.find_wave(code, year, EXPORT)
    return job_created(staff_waves.request_export(wave, body["format"]))


@bp.get("/exports/<int(max=2147483647):job_id>")
@bp.response(200, ExportJobSchema)
@bp.alt_response(404, schema=ApiErrorSchema)
def export_job(job_id):
    """An export job: queued, running, done (rows, size, ``file_url``) or failed (a one-line
    ``error`` and its ``error_kind``)."""
    return staff_waves.job_by_id(job_id)


@bp.get("/exports/<int(max=2147483647):job_id>/file")
@bp.response(200, content_type="application/octet-stream",
             description="the file, streamed with Content-Length")
@bp.alt_response(404, schema=ApiErrorSchema)
@bp.alt_response(409, schema=ApiErrorSchema, description="not done (yet), or removed")
def export_job_file(job_id):
    """A finished job's file; recorded in the audit trail."""
    return staff_waves.job_download(staff_waves.job_by_id(job_id))
