"""deploy/nginx/survey.conf in a running nginx: static files, headers, limits, TLS, errors."""

from __future__ import annotations

import re
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest

from deploy.nginx_conf import ConfigError, Site, main, render_site
from tests.conftest import REQUIRED_IN_CI

from .conftest import NGINX_MISSING, PROJECT, Nginx, free_port, request

CSS = PROJECT / "survey" / "static" / "survey.css"


def test_a_missing_nginx_fails_under_ci():
    assert REQUIRED_IN_CI.search(NGINX_MISSING)


def test_static_files_come_from_nginx_not_the_app(sqlite_site):
    proxy, app = sqlite_site["proxy"], sqlite_site["app"]
    before = app.requests_served()
    status, headers, body = request(proxy.port, "GET", "/static/survey.css")
    assert status == 200
    assert body == CSS.read_text(encoding="utf-8")
    assert headers["Content-Type"].startswith("text/css")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert "Cache-Control" in headers  # expires 1h
    assert app.requests_served() == before


def test_no_nginx_version_anywhere(sqlite_site):
    year, port = sqlite_site["year"], sqlite_site["proxy"].port
    for method, path, body in (("GET", f"/{year}/", None), ("GET", "/static/none.css", None),
                               ("POST", f"/{year}/consent", b"x" * 70_000)):
        status, headers, text = request(port, method, path, body=body)
        assert headers["Server"] == "nginx", (path, headers["Server"])
        assert not re.search(r"nginx/\d", text), path


def test_a_body_over_64_kib_is_refused_by_nginx_in_both_languages(sqlite_site):
    year, proxy, app = sqlite_site["year"], sqlite_site["proxy"], sqlite_site["app"]
    before = app.requests_served()
    status, headers, text = request(proxy.port, "POST", f"/{year}/consent", body=b"x" * 70_000,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413
    assert "发送的内容过大" in text and "What was sent is too large" in text
    assert app.requests_served() == before


def test_the_app_sees_the_client_through_the_proxy(sqlite_site):
    """X-Forwarded-Proto is http here: no HSTS over plain HTTP, and pages come from the app."""
    year, port = sqlite_site["year"], sqlite_site["proxy"].port
    status, headers, _ = request(port, "GET", f"/{year}/")
    assert status == 200
    assert "Strict-Transport-Security" not in headers
    assert headers["Content-Security-Policy"]  # the app's own headers pass through


def test_app_servers_down_give_a_bilingual_502(tmp_path):
    proxy = Nginx([f"127.0.0.1:{free_port()}"], tmp_path)  # nothing listens there
    try:
        status, headers, text = request(proxy.port, "GET", "/")
    finally:
        proxy.stop()
    assert status == 502
    assert "调查暂时无法访问" in text and "The survey is unavailable for a moment" in text
    assert headers["Cache-Control"] == "no-store"


@pytest.fixture
def certificate(tmp_path):
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed (needed to make a test certificate)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def test_tls_ends_at_nginx_and_the_app_then_sends_hsts(sqlite_site, certificate, tmp_path):
    import http.client

    cert, key = certificate
    http_port = free_port()
    proxy = Nginx([sqlite_site["app"].address], tmp_path, tls_certificate=str(cert),
                  tls_certificate_key=str(key), http_listen=f"127.0.0.1:{http_port}",
                  server_name="survey.example.cn")
    try:
        context = ssl.create_default_context(cafile=str(cert))
        context.check_hostname = False
        conn = http.client.HTTPSConnection("127.0.0.1", proxy.port, timeout=10, context=context)
        conn.request("GET", f"/{sqlite_site['year']}/")
        resp = conn.getresponse()
        resp.read()
        conn.close()
        status, headers, _ = request(http_port, "GET", "/2031/?a=1")
    finally:
        proxy.stop()
    assert resp.status == 200
    assert resp.getheader("Strict-Transport-Security") == "max-age=31536000"
    assert status == 301
    assert headers["Location"] == "https://survey.example.cn/2031/?a=1"


@pytest.mark.parametrize("field, value", [
    ("upstreams", ["127.0.0.1:8000; return 200"]),
    ("server_name", "a.example }"),
    ("server_name", "a.example;b"),
    ("listen", "80 # x"),
])
def test_values_that_would_change_the_configuration_are_refused(field, value):
    site = Site(upstreams=["127.0.0.1:8000"])
    setattr(site, field, value)
    with pytest.raises(ConfigError):
        render_site(site)


def test_the_command_says_what_is_missing_in_one_line(capsys):
    assert main([]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: at least one --upstream (host:port of a gunicorn instance) is needed"]


def test_several_server_names():
    text = render_site(Site(upstreams=["127.0.0.1:8000"], server_name="a.example  b.example"))
    assert "server_name a.example b.example;" in text


def test_the_template_leaves_no_field_unfilled():
    text = render_site(Site(upstreams=["127.0.0.1:8000", "127.0.0.1:8001"]))
    assert "{{" not in re.sub(r"#.*", "", text)
    assert text.count("server 127.0.0.1:800") == 2
    assert "proxy_request_buffering on;" in text and "server_tokens off;" in text
    assert Path(re.search(r"alias (\S+)/;\n\s+expires", text).group(1)) == CSS.parent
