"""The session interface that remembers verified cookies accepts exactly what Flask's does."""

from __future__ import annotations

import time

import pytest
from flask import Flask, session
from flask.sessions import SecureCookieSessionInterface

from survey.sessions import VerifiedCookieSessionInterface


@pytest.fixture
def session_app():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="one secret")
    app.session_interface = VerifiedCookieSessionInterface()

    @app.get("/set")
    def set_value():
        session["csrf_token"] = "abc"
        return "ok"

    @app.get("/get")
    def get_value():
        value = session.get("csrf_token", "-")
        session["scratch"] = "changed"  # must not leak into the cached copy
        return value

    return app


def _cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_verified_cookie_is_read_again_and_contents_stay_as_signed(session_app):
    client = session_app.test_client()
    client.get("/set")
    value = _cookie(client)
    for _ in range(3):
        client.set_cookie("session", value)  # the same signed value every time
        assert client.get("/get").text == "abc"
    data = next(iter(session_app.session_interface._verified.values()))[1]
    assert data == {"csrf_token": "abc"}


def test_tampered_or_foreign_cookies_are_refused(session_app):
    client = session_app.test_client()
    client.get("/set")
    value = _cookie(client)
    client.get("/get")  # verified and remembered
    tampered = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    client.set_cookie("session", tampered)
    assert client.get("/get").text == "-"
    other = Flask(__name__)
    other.config.update(SECRET_KEY="another secret")
    with other.test_request_context():
        foreign = SecureCookieSessionInterface().get_signing_serializer(other).dumps(
            {"csrf_token": "abc"})
    client.set_cookie("session", foreign)
    assert client.get("/get").text == "-"


def test_a_new_secret_key_invalidates_remembered_cookies(session_app):
    client = session_app.test_client()
    client.get("/set")
    value = _cookie(client)
    assert client.get("/get").text == "abc"
    session_app.config["SECRET_KEY"] = session_app.secret_key = "rotated"
    client.set_cookie("session", value)
    assert client.get("/get").text == "-"


def test_expired_cookies_are_refused_even_when_remembered(session_app, monkeypatch):
    session_app.config["PERMANENT_SESSION_LIFETIME"] = 60
    client = session_app.test_client()
    client.get("/set")
    value = _cookie(client)
    assert client.get("/get").text == "abc"
    later = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: later)
    client.set_cookie("session", value)
    assert client.get("/get").text == "-"
