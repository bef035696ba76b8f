"""Security headers on every response, HSTS only over TLS, trusted hosts and proxies, and the
language cookie's Secure flag (survey/security.py, survey/i18n.py).

The headers do not depend on the database, so these tests run on SQLite only.
"""

from __future__ import annotations

import re

import pytest

from .conftest import FULL, answer, start


def every_kind_of_response(client):
    """One response of each kind a respondent can meet: pages, redirects, errors, files."""
    yield "front page redirect", client.get("/")
    yield "landing", client.get("/2031/")
    yield "consent", client.get("/2031/consent")
    yield "start redirect", client.post("/2031/consent")
    yield "page", client.get("/2031/page/about")
    yield "page with errors", answer(client, 2031, "about", {"sex": "7"})
    yield "bad answer", answer(client, 2031, "about", {"sex": "²"})
    yield "resume", client.get("/2031/resume")
    yield "thanks", client.get("/2031/thanks")
    yield "language switch", client.get("/language/en?next=/2031/")
    yield "not found", client.get("/2031/page/nope")
    yield "wrong method", client.post("/2031/thanks")
    yield "status page", client.get("/research/status")
    yield "stylesheet", client.get("/static/survey.css")
    yield "script", client.get("/static/survey.js")
    yield "unroutable host", client.get("/2031/", headers={"Host": "a" * 300})


def test_every_response_carries_the_security_headers(make_app):
    client = make_app().test_client()
    for what, response in every_kind_of_response(client):
        headers = response.headers
        csp = headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp, (what, csp)
        assert "script-src 'self'" in csp and "default-src 'none'" in csp, (what, csp)
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (what, csp)
        assert headers.get("X-Frame-Options") == "DENY", what
        assert headers.get("X-Content-Type-Options") == "nosniff", what
        assert headers.get("Referrer-Policy") == "same-origin", what
        assert "Strict-Transport-Security" not in headers, what  # plain HTTP


INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I),
    "style element": re.compile(r"<style\b", re.I),
    "style attribute": re.compile(r"<[^>]+\sstyle\s*=", re.I),
    "event handler": re.compile(r"<[^>]+\son[a-z]+\s*=", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
}


def test_no_page_needs_what_the_policy_forbids(make_app):
    """The CSP allows no inline script or style: no page may contain any."""
    app = make_app()
    client = app.test_client()
    pages = [(what, r) for what, r in every_kind_of_response(client)
             if r.mimetype == "text/html"]
    en = app.test_client()
    start(en)
    pages += [("english page", en.get("/2031/page/about?lang=en"))]
    for key, data in FULL.items():
        answer(en, 2031, key, data)
    pages += [("thanks", en.get("/2031/thanks")), ("closed", _closed_wave_page(make_app))]
    assert len(pages) >= 15
    for what, response in pages:
        html = response.get_data(as_text=True)
        for kind, pattern in INLINE.items():
            assert not pattern.search(html), (what, kind, pattern.search(html).group(0))
        if response.status_code < 300 or what == "page with errors":
            assert '<script src="/static/survey.js" defer></script>' in html, what


def _closed_wave_page(make_app):
    app = make_app()
    from survey.db import db
    from survey.models import Wave

    with app.app_context():
        db.session.query(Wave).update({"status": "closed"})
        db.session.commit()
    return app.test_client().get("/2031/")


# --------------------------------------------------------------------------- HSTS and proxies


def test_hsts_only_over_tls(make_app):
    client = make_app().test_client()
    secure = client.get("/2031/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/2031/").headers


def test_forwarded_proto_counts_only_behind_a_configured_proxy(make_app):
    https = {"X-Forwarded-Proto": "https"}
    direct = make_app().test_client()
    assert "Strict-Transport-Security" not in direct.get("/2031/", headers=https).headers
    proxied = make_app(TRUSTED_PROXIES=1).test_client()
    assert "Strict-Transport-Security" in proxied.get("/2031/", headers=https).headers
    assert "Strict-Transport-Security" not in proxied.get("/2031/").headers


def test_hsts_can_be_configured_or_switched_off(make_app):
    client = make_app(STRICT_TRANSPORT_SECURITY="max-age=63072000; includeSubDomains")\
        .test_client()
    response = client.get("/2031/", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000; includeSubDomains"
    off = make_app(STRICT_TRANSPORT_SECURITY="").test_client()
    assert "Strict-Transport-Security" not in off.get("/", base_url="https://localhost").headers


def test_behind_a_proxy_clients_are_told_apart_by_their_forwarded_address(make_app):
    """Without ProxyFix every client behind the proxy shares the proxy's address, so one
    guesser would lock everyone out of the resume form."""
    app = make_app(TRUSTED_PROXIES=1, RESUME_RATE_LIMIT="2 per minute")
    guesser, other = app.test_client(), app.test_client()
    for client, address in ((guesser, "198.51.100.7"), (other, "203.0.113.9")):
        client.environ_base.update(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=address)
    codes = [guesser.post("/2031/resume", data={"code": "AAAA-AAAA"}).status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]
    assert other.post("/2031/resume", data={"code": "AAAA-AAAA"}).status_code == 200


# --------------------------------------------------------------------------- hosts


REDIRECTS = [("GET", "/"), ("POST", "/2031/consent"), ("GET", "/2031"),
             ("GET", "/language/en?next=/2031/"), ("GET", "/2031/page/last")]


def test_redirects_never_echo_a_forged_host(make_app):
    client = make_app(TRUSTED_PROXIES=1).test_client()
    forged = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    for method, url in REDIRECTS:
        response = client.open(url, method=method, headers=forged)
        assert 300 <= response.status_code < 400, (url, response.status_code)
        assert "evil" not in response.headers["Location"], (url, response.headers["Location"])
        assert response.headers["Location"].startswith("/"), url


def test_trusted_hosts_refuse_any_other_host(make_app):
    client = make_app(TRUSTED_HOSTS=["survey.example.cn"]).test_client()
    ok = client.get("/", base_url="https://survey.example.cn")
    assert ok.status_code == 303 and ok.headers["Location"] == "/2031/"
    for method, url in REDIRECTS:
        response = client.open(url, method=method, headers={"Host": "evil.example"})
        assert response.status_code == 400, url
        assert "Location" not in response.headers
        body = response.get_data(as_text=True)
        assert "evil" not in body and "请求有误" in body and "Traceback" not in body


def test_trusted_hosts_may_be_one_string_in_the_instance_config(make_app):
    client = make_app(TRUSTED_HOSTS="survey.example.cn, www.survey.example.cn").test_client()
    assert client.get("/", base_url="http://www.survey.example.cn").status_code == 303
    assert client.get("/", base_url="http://evil.example").status_code == 400


def test_hosts_and_proxies_come_from_the_environment(monkeypatch, tmp_path):
    from survey import create_app

    monkeypatch.setenv("TRUSTED_HOSTS", "survey.example.cn, .survey.example.org")
    monkeypatch.setenv("TRUSTED_PROXIES", "2")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}",
                      "SECRET_KEY": "x"})
    assert app.config["TRUSTED_HOSTS"] == ["survey.example.cn", ".survey.example.org"]
    assert app.config["TRUSTED_PROXIES"] == 2
    monkeypatch.setenv("TRUSTED_PROXIES", "two")
    with pytest.raises(RuntimeError, match="TRUSTED_PROXIES: expected a whole number, got 'two'"):
        create_app({"SECRET_KEY": "x"})


# --------------------------------------------------------------------------- cookies


def set_cookies(response) -> dict[str, str]:
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


@pytest.mark.parametrize("secure", [True, False])
def test_language_cookie_is_secure_when_the_session_cookie_is(make_app, secure):
    client = make_app(SESSION_COOKIE_SECURE=secure).test_client()
    for response in (client.get("/language/en?next=/2031/"), client.get("/2031/?lang=zh")):
        cookie = set_cookies(response)["lang"]
        assert ("; Secure" in cookie) is secure, cookie
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    started = client.post("/2031/consent")
    assert ("; Secure" in set_cookies(started)["survey_response"]) is secure


def test_a_view_with_its_own_policy_keeps_it(make_app):
    app = make_app()

    def embeddable():
        return "ok", 200, {"Content-Security-Policy": "frame-ancestors 'self'",
                           "X-Frame-Options": "SAMEORIGIN"}

    app.add_url_rule("/embeddable", "embeddable", embeddable)
    response = app.test_client().get("/embeddable")
    assert response.headers.getlist("Content-Security-Policy") == ["frame-ancestors 'self'"]
    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
