"""The REST API: token authentication, the permission check on every object (role ×
own/child/sibling), JSON errors, the OpenAPI document, the streamed export, open/close with
the audit trail, CSRF for cookie-authenticated calls, and no 5xx for random requests.  The
route list is read from the app (``api_routes``): a new route without an entry in
``ROUTE_CALLS`` fails here."""

from __future__ import annotations

import random
import re

import pytest
from sqlalchemy import select

from survey.db import db
from survey.models import ACCOUNT_ACTIONS, AuditEvent, Wave

from .conftest import csrf_from
from .staff_tree import ROLES, add_responses, build_tree, expected, staff, token_for
from .test_api_questionnaires import new_wave

TARGETS = ("SC", "CD", "HB")


@pytest.fixture
def tree(app):
    build_tree(app)
    return app


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_no_token_or_a_bad_one_is_401_in_json(tree):
    client = tree.test_client()
    for headers in ({}, bearer("tn_" + "x" * 43), bearer("nonsense"),
                    {"Authorization": "Basic abc"}):
        response = client.get("/api/v1/orgs", headers=headers)
        assert response.status_code == 401, headers
        assert response.json["code"] == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("role", ROLES)
def test_every_endpoint_checks_the_role_and_the_organisation(tree, role):
    email = staff(tree, role)
    headers = bearer(token_for(tree, email))
    client = tree.test_client()
    orgs = client.get("/api/v1/orgs", headers=headers)
    assert [org["code"] for org in orgs.json] == ["SC", "CD"]
    assert orgs.json[1]["parent"] == "SC"
    for target in TARGETS:
        code = 200 if expected(role, "monitor", target) else 403
        assert client.get(f"/api/v1/orgs/{target}/waves", headers=headers).status_code == code
        detail = client.get(f"/api/v1/waves/{target}/2031", headers=headers)
        assert detail.status_code == code
        if code == 200:
            assert detail.json["status"] == "open" and "funnel" in detail.json["monitoring"]
        else:
            assert detail.json["code"] == 403
        export = client.get(f"/api/v1/waves/{target}/2031/export?format=csv", headers=headers)
        assert export.status_code == (200 if expected(role, "export", target) else 403)
        manage = 200 if expected(role, "manage", target) else 403
        closed = client.post(f"/api/v1/waves/{target}/2031/close", headers=headers)
        assert closed.status_code == manage, (role, target)
        opened = client.post(f"/api/v1/waves/{target}/2031/open", headers=headers,
                             json={"closes": "2099-03-31"})
        assert opened.status_code == manage
        if manage == 200:
            assert opened.json["status"] == "open" and opened.json["closes"] == "2099-03-31"
    for path in ("/api/v1/orgs/nowhere/waves", "/api/v1/waves/nowhere/2031",
                 "/api/v1/waves/SC/1999", "/api/v1/nothing"):
        response = client.get(path, headers=headers)
        assert response.status_code == 404 and response.json["code"] == 404, path


def test_open_close_and_export_are_in_the_audit_trail(tree):
    email = staff(tree, "organiser")
    headers = bearer(token_for(tree, email))
    client = tree.test_client()
    assert client.post("/api/v1/waves/SC/2031/close", headers=headers).status_code == 200
    assert client.post("/api/v1/waves/SC/2031/open", headers=headers).status_code == 200
    export = client.get("/api/v1/waves/SC/2031/export?format=parquet", headers=headers)
    assert export.status_code == 200 and export.data[:4] == b"PAR1"
    assert export.headers["Content-Type"] == "application/vnd.apache.parquet"
    with tree.app_context():
        rows = db.session.execute(select(AuditEvent.user_email, AuditEvent.action, Wave.year)
                                  .join(Wave, Wave.id == AuditEvent.wave_id)
                                  .order_by(AuditEvent.id)).all()
    assert [tuple(r) for r in rows] == [(email, "close_wave", 2031), (email, "open_wave", 2031),
                                        (email, "export", 2031)]


def test_bad_requests_are_json_errors(tree):
    headers = bearer(token_for(tree, staff(tree, "organiser")))
    client = tree.test_client()
    bad_format = client.get("/api/v1/waves/SC/2031/export?format=exe", headers=headers)
    assert bad_format.status_code == 422 and "format" in str(bad_format.json["errors"])
    bad_date = client.post("/api/v1/waves/SC/2031/open", headers=headers,
                           json={"closes": "yesterday"})
    assert bad_date.status_code == 422 and "closes" in str(bad_date.json["errors"])
    backwards = client.post("/api/v1/waves/SC/2031/open", headers=headers,
                            json={"opens": "2030-05-01", "closes": "2030-04-01"})
    assert backwards.status_code == 409 and backwards.json["message"] == "closes_before_opens"
    assert client.delete("/api/v1/orgs", headers=headers).status_code == 405


# Every route of the API, as (method, OpenAPI path), with what a call to the sibling HB's
# objects sends.  The tests below read the routes from the app's url_map and its OpenAPI
# document and fail for a route missing here, so a new route cannot go untested.
ROUTE_CALLS: dict[tuple[str, str], dict] = {
    ("GET", "/api/v1/orgs"): {},
    ("GET", "/api/v1/orgs/{code}/waves"): {},
    ("POST", "/api/v1/orgs/{code}/waves"): {"json": new_wave(2040)},
    ("GET", "/api/v1/waves/{code}/{year}"): {},
    ("GET", "/api/v1/waves/{code}/{year}/questionnaire"): {},
    ("GET", "/api/v1/waves/{code}/{year}/codebook"): {},
    ("GET", "/api/v1/waves/{code}/{year}/quotas"): {},
    ("GET", "/api/v1/waves/{code}/{year}/responses"): {"query_string": {"limit": 2}},
    ("GET", "/api/v1/waves/{code}/{year}/export"): {"query_string": {"format": "csv"}},
    ("POST", "/api/v1/waves/{code}/{year}/open"): {"json": {"closes": "2099-03-31"}},
    ("POST", "/api/v1/waves/{code}/{year}/close"): {},
    ("POST", "/api/v1/waves/{code}/{year}/exports"): {"json": {"format": "csv"}},
    ("GET", "/api/v1/exports/{job_id}"): {},
    ("GET", "/api/v1/exports/{job_id}/file"): {},
}
# routes that answer without a token: the OpenAPI document itself
PUBLIC_ENDPOINTS = {"api-docs.openapi_json"}


def api_routes(app) -> set[tuple[str, str]]:
    """(method, OpenAPI-style path) of every rule the app serves under /api/v1/, the public
    ones aside (HEAD and OPTIONS come with GET)."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)
        routes |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes


def openapi_routes(spec: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, operations in spec["paths"].items()
            for method in operations if method != "parameters"}


def test_the_openapi_document_describes_every_route(tree):
    spec = tree.test_client().get("/api/v1/openapi.json")
    assert spec.status_code == 200
    served = api_routes(tree)
    assert len(served) >= 10
    assert openapi_routes(spec.json) == served
    assert served == set(ROUTE_CALLS), "a route without an entry in ROUTE_CALLS"
    assert spec.json["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for (method, path), operation in ((key, spec.json["paths"][key[1]][key[0].lower()])
                                      for key in served):
        documented = set(operation["responses"])
        if "{code}" in path:
            assert {"403", "404"} <= documented, (method, path)


def _call(client, method: str, path: str, headers: dict, job_id: int = 0):
    options = ROUTE_CALLS[(method, path)]
    url = path.format(code="HB", year=2031, job_id=job_id)
    return client.open(url, method=method, headers=headers, **options)


@pytest.mark.parametrize("route", sorted(ROUTE_CALLS), ids="{0[0]} {0[1]}".format)
def test_every_route_refuses_no_token_and_a_sibling_s_token(tree, route):
    method, path = route
    assert route in api_routes(tree)
    add_responses(tree, "HB", 2)
    job_id = _export_job_of(tree, "HB", 2031)
    client = tree.test_client()
    anonymous = _call(client, method, path, {}, job_id)
    assert anonymous.status_code == 401 and anonymous.json["code"] == 401
    for role in ROLES:  # every role of the sibling SC, even the one with every right
        sibling = _call(client, method, path, bearer(token_for(tree, staff(tree, role))),
                        job_id)
        if "{code}" in path or "{job_id}" in path:
            assert sibling.status_code in (403, 404), (role, sibling.json)
            assert sibling.json["code"] == sibling.status_code
        else:  # a list: HB is not in it
            assert sibling.status_code == 200 and "HB" not in {o["code"] for o in sibling.json}
    with tree.app_context():  # nothing changed, nothing read (making the tokens is audited)
        waves = db.session.execute(select(Wave.year, Wave.status)).all()
        actions = db.session.execute(select(AuditEvent.action).where(
            AuditEvent.action.not_in(ACCOUNT_ACTIONS))).scalars().all()
    assert sorted(waves) == [(2031, "open")] * 4 and actions == []


def _export_job_of(app, code: str, year: int) -> int:
    """A queued export job of the wave, asked for by one of its own organisation's organisers
    (not run: the refusals are what is tested)."""
    from survey import export_jobs
    from survey.models import Organisation, User

    email = staff(app, "organiser", code)
    with app.app_context():
        user = db.session.execute(select(User).where(User.email == email)).scalar_one()
        wave = db.session.execute(select(Wave).join(Organisation).where(
            Organisation.code == code, Wave.year == year)).scalar_one()
        job_id = export_jobs.create_job(user, wave, "csv").id
        db.session.commit()
    return job_id


def test_a_cookie_authenticated_call_needs_the_csrf_header_to_change_anything(make_app):
    app = make_app(install=False, WTF_CSRF_ENABLED=True)
    with app.app_context():
        db.create_all()
    build_tree(app)
    email = staff(app, "organiser")
    client = app.test_client()
    login = client.get("/login")
    client.post("/login", data={"email": email, "password": "correct horse battery staple",
                                "csrf_token": csrf_from(login.text)})
    assert client.get("/api/v1/waves/SC/2031").status_code == 200  # reading needs none
    refused = client.post("/api/v1/waves/SC/2031/close")
    assert refused.status_code == 400 and refused.json["code"] == 400
    token = csrf_from(client.get("/console/SC/2031/").text)
    assert client.post("/api/v1/waves/SC/2031/close",
                       headers={"X-CSRFToken": token}).status_code == 200
    api_token = token_for(app, email)  # a token needs no CSRF header
    assert app.test_client().post("/api/v1/waves/SC/2031/open",
                                  headers=bearer(api_token)).status_code == 200


PATHS = sorted({path.replace("{code}", "{org}").replace("{job_id}", "{year}")
                for _method, path in ROUTE_CALLS}) + [
    "/api/v1/openapi.json", "/api/v1/{junk}", "/api/v1/exports/{junk}"]
ORG_VALUES = ["SC", "CD", "HB", "national", "nowhere", "%00", "a" * 40, "..", "ＳＣ", "-"]
YEAR_VALUES = ["2031", "1999", "0", "99999", "٢٠٣١", "-1", "x", "2031.0"]
JUNK = ["", "%ff", "<script>", "a/b/c", "orgs/", "\u202e", "x" * 300]
QUERIES = ["", "?format=csv", "?format=parquet", "?format=", "?format=%00", "?format=sav",
           "?lang=en", "?format=csv&format=parquet", "?limit=1", "?limit=0", "?limit=-5",
           "?limit=99999999999999999999", "?after=" + "0" * 32, "?after=%00", "?after=",
           "?limit=1&after=zz", "?limit=2&limit=3"]
BODIES = [None, {}, {"format": "xlsx"}, {"format": ["csv"]}, {"opens": "2031-01-01"},
          {"closes": None}, {"opens": 5}, [1, 2],
          "not json", {"closes": "9999-12-31"}, {"opens": "0001-01-01", "closes": "x"},
          new_wave(2041), new_wave(2031), new_wave(9999), new_wave(2042, norms=[None]),
          new_wave(2043, items=["x" * 64] * 1000), new_wave(2044, study=[]),
          new_wave(2045, title={"zh": 5}), {"year": 2046, "items": ["N01_P1"]}]


def test_random_api_requests_never_get_a_5xx(tree):
    add_responses(tree, "SC", 3, in_progress=1)
    rng = random.Random(20261214)
    tokens = [token_for(tree, staff(tree, role, member))
              for role in ("organiser", "analyst", "viewer") for member in ("SC", "national")]
    client = tree.test_client()
    for n in range(300):
        path = rng.choice(PATHS).format(org=rng.choice(ORG_VALUES), year=rng.choice(YEAR_VALUES),
                                        junk=rng.choice(JUNK)) + rng.choice(QUERIES)
        method = rng.choice(["GET", "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS"])
        headers = rng.choice([{}, bearer(rng.choice(tokens)), bearer("tn_bad"),
                              {"Authorization": rng.choice(["Bearer", "", "Bearer  ", "x y z"])}])
        body = rng.choice(BODIES)
        kwargs = ({"json": body} if isinstance(body, (dict, list)) else
                  {"data": body, "content_type": rng.choice(["application/json", "text/plain"])}
                  if body is not None else {})
        response = client.open(path, method=method, headers=headers, **kwargs)
        assert response.status_code < 500, (n, method, path, headers, body, response.data[:300])
        if path.startswith("/api/v1/") and response.status_code >= 400 and method != "HEAD":
            assert response.is_json, (n, method, path, response.data[:200])
