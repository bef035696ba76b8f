"""The REST API: token authentication, the permission check on every object (role ×
own/child/sibling), JSON errors, the OpenAPI document, the streamed export, open/close with
the audit trail, CSRF for cookie-authenticated calls, and no 5xx for random requests."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import select

from survey.db import db
from survey.models import AuditEvent, Wave

from .conftest import csrf_from
from .staff_tree import ROLES, build_tree, expected, staff, token_for

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


def test_the_openapi_document_describes_every_endpoint(tree):
    spec = tree.test_client().get("/api/v1/openapi.json")
    assert spec.status_code == 200
    assert set(spec.json["paths"]) == {
        "/api/v1/orgs", "/api/v1/orgs/{code}/waves", "/api/v1/waves/{code}/{year}",
        "/api/v1/waves/{code}/{year}/export", "/api/v1/waves/{code}/{year}/open",
        "/api/v1/waves/{code}/{year}/close", "/api/v1/waves/{code}/{year}/quotas"}
    assert spec.json["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


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


PATHS = ["/api/v1/orgs", "/api/v1/orgs/{org}/waves", "/api/v1/waves/{org}/{year}",
         "/api/v1/waves/{org}/{year}/export", "/api/v1/waves/{org}/{year}/open",
         "/api/v1/waves/{org}/{year}/close", "/api/v1/openapi.json", "/api/v1/{junk}"]
ORG_VALUES = ["SC", "CD", "HB", "national", "nowhere", "%00", "a" * 40, "..", "ＳＣ", "-"]
YEAR_VALUES = ["2031", "1999", "0", "99999", "٢٠٣١", "-1", "x", "2031.0"]
JUNK = ["", "%ff", "<script>", "a/b/c", "orgs/", "\u202e", "x" * 300]
QUERIES = ["", "?format=csv", "?format=parquet", "?format=", "?format=%00", "?format=sav",
           "?lang=en", "?format=csv&format=parquet"]
BODIES = [None, {}, {"opens": "2031-01-01"}, {"closes": None}, {"opens": 5}, [1, 2],
          "not json", {"closes": "9999-12-31"}, {"opens": "0001-01-01", "closes": "x"}]


def test_random_api_requests_never_get_a_5xx(tree):
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
