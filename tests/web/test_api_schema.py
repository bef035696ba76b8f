"""Schemathesis over the API's own OpenAPI document (``/api/v1/openapi.json``): requests
generated from every operation's parameters and bodies, valid and invalid, sent with an
organiser's token to a tree with responses; no answer may be a 5xx and every answer must match
the response schema the document declares for its status.

The path parameters are steered to the tree's organisations and years most of the time (a
random organisation code is always a 404), so the generated requests reach the questionnaires,
the responses pages and the new-wave builder.  Bounded: EXAMPLES per operation and mode, about
500 requests, 7 s of CPU per database back end.  Schemathesis's own pytest plugin is not used
(its lazy schema reads a private attribute pytest 9 no longer has): the operations' Hypothesis
strategies are driven directly."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from .staff_tree import ORGS, add_responses, build_tree, staff, token_for

EXAMPLES = 20  # per operation and generation mode
# the tree's waves, a missing year and a year of the new-wave tests
PLACES = [{"code": code, "year": year} for code in ORGS for year in (2031, 2031, 1999, 2040)]
CHECKS = [not_a_server_error, response_schema_conformance]


def cases(operation, mode: GenerationMode, example, places: list[dict]):
    """Generated requests: most with path parameters of the tree (the rest as generated), and
    the document's example body sent there too (so a new wave is created, not only refused)."""
    generated = operation.as_strategy(mode)
    names = {parameter.name for parameter in operation.path_parameters}
    if not names:
        return generated
    places = [{name: value for name, value in place.items() if name in names}
              for place in places]
    placed = [operation.as_strategy(mode, path_parameters=place) for place in places]
    if example is not None and mode == GenerationMode.POSITIVE:
        placed += [operation.as_strategy(mode, path_parameters=place, body=example)
                   for place in places]
    return st.one_of(generated, *placed)


def example_bodies(spec: dict) -> dict[str, dict]:
    """``METHOD /path`` → the example JSON body the OpenAPI document gives."""
    return {f"{method.upper()} {path}": operation["requestBody"]["content"][
                "application/json"]["example"]
            for path, operations in spec["paths"].items()
            for method, operation in operations.items() if method != "parameters"
            and "example" in operation.get("requestBody", {}).get("content", {}).get(
                "application/json", {})}


def test_the_api_never_fails_and_answers_as_documented(app):
    build_tree(app)
    for code in ORGS:
        add_responses(app, code, 4, in_progress=1)
    email = staff(app, "organiser", "SC")
    headers = {"Authorization": f"Bearer {token_for(app, email)}"}
    # export jobs to read: a finished one of SC and one a sibling's organiser asked for (404)
    jobs = [_finished_export_job(app, email, "SC"),
            _finished_export_job(app, staff(app, "organiser", "HB"), "HB")]
    places = [dict(place, job_id=jobs[i % 2]) for i, place in enumerate(PLACES)]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    examples = example_bodies(app.test_client().get("/api/v1/openapi.json").json)
    assert "POST /api/v1/orgs/{code}/waves" in examples
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 10
    sent = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=cases(operation, mode, examples.get(operation.label), places))
            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def check(case):
                response = case.call_and_validate(headers=headers, checks=CHECKS)
                sent.append((case.operation.label, response.status_code))

            check()
    # the generated requests reached real data and made a wave, not only 404s and 422s
    assert {label for label, status in sent if status == 200} >= {
        operation.label for operation in operations if operation.method.upper() == "GET"}
    assert ("POST /api/v1/orgs/{code}/waves", 201) in sent


def _finished_export_job(app, email: str, code: str) -> int:
    """A CSV export job of the organisation's 2031 wave, run to its end."""
    from sqlalchemy import select

    from survey import export_jobs
    from survey.db import db
    from survey.models import Organisation, User, Wave

    with app.app_context():
        user = db.session.execute(select(User).where(User.email == email)).scalar_one()
        wave = db.session.execute(select(Wave).join(Organisation).where(
            Organisation.code == code, Wave.year == 2031)).scalar_one()
        job_id = export_jobs.create_job(user, wave, "csv").id
        db.session.commit()
        assert export_jobs.run_pending() == 1
    return job_id
