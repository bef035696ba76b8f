"""Staff sign-in: the pages, session rotation and sign-out, throttling that cannot lock the
owner out, unknown addresses, the TOTP step, API tokens and CSRF."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from survey import accounts
from survey.db import db
from survey.models import ApiToken, User

from .conftest import PASSWORD, add_user, csrf_from, sign_in

A, B = {"REMOTE_ADDR": "198.51.100.7"}, {"REMOTE_ADDR": "203.0.113.9"}


def signed_in(client) -> bool:
    return client.get("/console/").status_code == 200


def session_of(client) -> dict:
    with client.session_transaction() as session:
        return dict(session)


# --------------------------------------------------------------------------- the pages


def test_the_sign_in_page_in_both_languages(client):
    zh = client.get("/login")
    assert zh.status_code == 200 and "登录" in zh.text
    en = client.get("/login?lang=en").text
    for field, autocomplete in (("email", "username"), ("password", "current-password")):
        assert f'<label for="{field}">' in en
        assert re.search(f'<input type="{field}" name="{field}" id="{field}"[^>]*'
                         f'autocomplete="{autocomplete}"', en)
    assert 'name="csrf_token"' in en and "Sign in" in en


def test_a_wrong_password_is_reported_next_to_the_field(app, client):
    add_user(app)
    page = client.post("/login?lang=en", data={"email": "staff@example.org",
                                               "password": "wrong password"})
    assert page.status_code == 200
    assert 'role="alert"' in page.text and 'href="#password"' in page.text
    assert 'id="password-error"' in page.text and 'aria-describedby="password-error"' in page.text
    assert "The e-mail address or the password is not right." in page.text
    assert 'value="staff@example.org"' in page.text  # kept; the password never is
    assert not signed_in(client)


def test_empty_fields_each_get_their_message(client):
    page = client.post("/login?lang=en", data={"email": " ", "password": ""})
    assert "Please enter your e-mail address." in page.text
    assert "Please enter your password." in page.text
    assert 'aria-describedby="email-error"' in page.text


def test_signing_in_leads_to_the_console_or_a_safe_next_page(app, client):
    add_user(app)
    assert client.get("/console/").headers["Location"] == "/login?next=/console/"
    response = sign_in(client, email="  Staff@Example.org ")  # case and spaces do not matter
    assert response.status_code == 303 and response.headers["Location"] == "/console/"
    assert signed_in(client)
    assert client.get("/login").headers["Location"] == "/console/"
    for target, lands in (("/research/status", "/research/status"),
                          ("//evil.example/x", "/console/"), ("https://evil.example/", "/console/"),
                          ("/console/../2031/", "/console/"), ("/2031/", "/console/")):
        other = app.test_client()
        response = other.post(f"/login?next={target}",
                              data={"email": "staff@example.org", "password": PASSWORD})
        assert response.headers["Location"] == lands, target


def test_unknown_and_inactive_accounts_cost_one_password_check_and_look_alike(app, client,
                                                                              monkeypatch):
    add_user(app, "gone@example.org", active=False)
    add_user(app)
    checked = []
    real = accounts._verify
    monkeypatch.setattr(accounts, "_verify",
                        lambda stored, password: checked.append(stored) or real(stored, password))
    pages, hashes = [], {}
    for email in ("nobody@example.org", "gone@example.org", "staff@example.org", "not-an-email"):
        checked.clear()
        pages.append(client.post("/login?lang=en",
                                 data={"email": email, "password": "wrong password"}))
        assert len(checked) == 1, email  # one argon2 verification, whoever asks
        hashes[email] = checked[0]
    assert hashes["staff@example.org"] == db_hash(app, "staff@example.org")
    assert {hashes[e] for e in ("nobody@example.org", "gone@example.org", "not-an-email")} == \
        {accounts.DUMMY_HASH}
    messages = {re.search(r'id="password-error">([^<]*)<', p.text).group(1) for p in pages}
    assert messages == {"The e-mail address or the password is not right."}
    assert sign_in(client, "gone@example.org").status_code == 200  # inactive: never signed in


def db_hash(app, email):
    with app.app_context():
        return db.session.execute(select(User.password_hash).where(User.email == email)).scalar()


def test_the_stored_dummy_hash_has_todays_parameters():
    assert not accounts._hasher.check_needs_rehash(accounts.DUMMY_HASH)


def test_passwords_are_argon2id(app):
    add_user(app)
    assert db_hash(app, "staff@example.org").startswith("$argon2id$")


# --------------------------------------------------------------------------- the session


def test_signing_in_replaces_the_whole_session(app, client):
    add_user(app)
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
        session["csrf_token"] = "a secret the attacker knows"
    before = client.get_cookie("session").value
    sign_in(client)
    after = session_of(client)
    assert "planted" not in after and after.get("csrf_token") != "a secret the attacker knows"
    with app.app_context():
        user = db.session.execute(select(User)).scalar_one()
        assert after["_user_id"] == user.session_key
    assert client.get_cookie("session").value != before


def test_the_session_cookie_is_httponly_lax_and_secure_when_configured(make_app):
    app = make_app(SESSION_COOKIE_SECURE=True)
    add_user(app)
    response = sign_in(app.test_client())
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    assert "Expires" not in cookie  # ends with the browser session


def test_signing_out_ends_every_session_of_the_account(app, client):
    add_user(app)
    sign_in(client)
    laptop = app.test_client()
    sign_in(laptop)
    copied = client.get_cookie("session").value
    response = client.post("/logout")
    assert response.status_code == 303 and response.headers["Location"] == "/login?signed_out=1"
    assert not signed_in(client) and not signed_in(laptop)
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert not signed_in(thief)
    assert sign_in(client).status_code == 303 and signed_in(client)  # the password still works


def test_a_sign_in_lasts_login_session_seconds(app, client, monkeypatch):
    from survey import auth

    add_user(app)
    clock = [1_000_000.0]
    monkeypatch.setattr(auth.time, "time", lambda: clock[0])
    sign_in(client)
    clock[0] += app.config["LOGIN_SESSION_SECONDS"] - 1
    assert signed_in(client)
    clock[0] += 2
    assert not signed_in(client)


def test_a_deactivated_account_is_signed_out_at_once(app, client):
    add_user(app)
    sign_in(client)
    with app.app_context():
        db.session.execute(select(User)).scalar_one().active = False
        db.session.commit()
    assert not signed_in(client)


# --------------------------------------------------------------------------- CSRF


def test_the_forms_check_their_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    add_user(app)
    client = app.test_client()
    bare = client.post("/login", data={"email": "staff@example.org", "password": PASSWORD})
    assert bare.status_code == 400 and not signed_in(client)
    token = csrf_from(client.get("/login").text)
    response = client.post("/login", data={"email": "staff@example.org", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 303 and signed_in(client)
    assert client.post("/logout").status_code == 400 and signed_in(client)
    token = csrf_from(client.get("/console/").text)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert not signed_in(client)


# --------------------------------------------------------------------------- throttling


def test_wrong_passwords_at_one_address_do_not_lock_the_owner_out_elsewhere(make_app):
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    add_user(app)
    attacker, owner = app.test_client(), app.test_client()
    for _ in range(3):
        assert sign_in(attacker, password="guess guess guess", environ_base=A).status_code == 200
    refused = sign_in(attacker, environ_base=A)  # even the right password, now
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert not signed_in(attacker)
    assert sign_in(owner, environ_base=B).status_code == 303 and signed_in(owner)


def test_one_address_cannot_try_many_accounts(make_app):
    app = make_app(LOGIN_ADDRESS_RATE_LIMIT="4 per hour")
    add_user(app)
    client = app.test_client()
    for n in range(4):
        sign_in(client, f"user{n}@example.org", environ_base=A)
    assert sign_in(client, environ_base=A).status_code == 429
    assert sign_in(app.test_client(), environ_base=B).status_code == 303


def test_right_passwords_and_forms_without_csrf_cost_nothing(make_app):
    app = make_app(LOGIN_RATE_LIMIT="2 per minute", WTF_CSRF_ENABLED=True)
    add_user(app)
    client = app.test_client()
    for _ in range(5):  # bare POSTs (another site's form) count for nobody
        client.post("/login", data={"email": "staff@example.org", "password": "x" * 12},
                    environ_base=A)
    for _ in range(3):
        other = app.test_client()
        token = csrf_from(other.get("/login").text)
        response = other.post("/login", data={"email": "staff@example.org", "password": PASSWORD,
                                              "csrf_token": token}, environ_base=A)
        assert response.status_code == 303


# --------------------------------------------------------------------------- TOTP


def test_an_account_with_totp_needs_the_code_after_the_password(app, client):
    secret = pyotp.random_base32()
    add_user(app, totp_secret=secret)
    response = sign_in(client)
    assert response.headers["Location"] == "/login/code"
    assert not signed_in(client)
    page = client.get("/login/code?lang=en").text
    assert '<label for="code">' in page and 'autocomplete="one-time-code"' in page
    wrong = client.post("/login/code?lang=en", data={"code": "000000"})
    assert 'aria-describedby="code-error"' in wrong.text and not signed_in(client)
    code = pyotp.TOTP(secret).now()
    assert client.post("/login/code", data={"code": code}).status_code == 303
    assert signed_in(client)
    again = app.test_client()  # the same code cannot be used a second time
    sign_in(again)
    assert again.post("/login/code", data={"code": code}).status_code == 200
    assert not signed_in(again)


def test_the_code_step_needs_a_recent_password_step(app, client, monkeypatch):
    from survey import auth

    secret = pyotp.random_base32()
    add_user(app, totp_secret=secret)
    assert client.get("/login/code").headers["Location"] == "/login"
    clock = [1_000_000.0]
    monkeypatch.setattr(auth.time, "time", lambda: clock[0])
    sign_in(client)
    clock[0] += auth.PENDING_SECONDS + 1
    response = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
    assert response.headers["Location"] == "/login" and not signed_in(client)


def test_wrong_codes_are_throttled_like_passwords(make_app):
    app = make_app(LOGIN_RATE_LIMIT="2 per minute")
    secret = pyotp.random_base32()
    add_user(app, totp_secret=secret)
    client = app.test_client()
    sign_in(client, environ_base=A)
    for _ in range(2):
        client.post("/login/code", data={"code": "000000"}, environ_base=A)
    refused = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()},
                          environ_base=A)
    assert refused.status_code == 429 and not signed_in(client)


# --------------------------------------------------------------------------- API tokens


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_an_api_token_authenticates_without_a_cookie(app):
    add_user(app)
    with app.app_context():
        token = accounts.create_api_token(db.session.execute(select(User)).scalar_one())
    client = app.test_client()
    assert client.get("/research/status", headers=bearer(token)).status_code == 200
    assert client.get_cookie("session") is None or "_user_id" not in session_of(client)
    with app.app_context():
        row = db.session.execute(select(ApiToken)).scalar_one()
        assert row.token_hash == accounts.api_token_hash(token) and row.last_used_at is not None
        assert row.last_used_at.second == 0
        row.revoked_at = row.last_used_at
        db.session.commit()
    assert client.get("/research/status", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize("header", ["Bearer tn_" + "A" * 43, "Bearer nonsense", "Basic abc",
                                    "Bearer " + "x" * 5000, "Bearer"])
def test_a_wrong_token_gets_401(app, header):
    add_user(app)
    response = app.test_client().get("/research/status", headers={"Authorization": header})
    assert response.status_code == 401


def test_api_views_need_the_csrf_header_only_with_the_cookie(make_app):
    from flask import jsonify
    from flask_login import login_required

    from survey.auth import api_csrf_ok

    app = make_app(WTF_CSRF_ENABLED=True)

    @login_required
    def echo():
        return jsonify(ok=api_csrf_ok())

    app.add_url_rule("/api/echo", "echo", echo, methods=["GET", "POST"])
    add_user(app)
    with app.app_context():
        token = accounts.create_api_token(db.session.execute(select(User)).scalar_one())
    assert app.test_client().post("/api/echo", headers=bearer(token)).json == {"ok": True}
    browser = app.test_client()
    csrf = csrf_from(browser.get("/login").text)
    browser.post("/login", data={"email": "staff@example.org", "password": PASSWORD,
                                 "csrf_token": csrf})
    assert browser.get("/api/echo").json == {"ok": True}
    assert browser.post("/api/echo").json == {"ok": False}
    csrf = csrf_from(browser.get("/console/").text)
    assert browser.post("/api/echo", headers={"X-CSRFToken": csrf}).json == {"ok": True}
