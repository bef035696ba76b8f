"""The console's accounts pages: members and roles (admins; listing reaches the descendants,
changes stay in the admin's own organisation), deactivation ending sessions and tokens, the
root's last admin, CSRF on every form, errors next to their field; and "my API tokens"."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from survey.db import db
from survey.models import ApiToken, AuditEvent, Membership, User

from .conftest import PASSWORD, add_user, csrf_from, sign_in
from .staff_tree import ROLES, build_tree, staff, token_for

TARGETS = ("SC", "CD", "HB")


@pytest.fixture
def tree(app):
    build_tree(app)
    return app


def signed_in(app, email: str):
    client = app.test_client()
    assert sign_in(client, email).status_code == 303
    return client


def role_of(app, email: str, org_code: str) -> str | None:
    from survey.models import Organisation

    with app.app_context():
        return db.session.execute(
            select(Membership.role).join(User).join(Organisation)
            .where(User.email == email, Organisation.code == org_code)).scalar_one_or_none()


def user_id(app, email: str) -> int:
    with app.app_context():
        return db.session.execute(select(User.id).where(User.email == email)).scalar_one()


def account_actions(app) -> list[tuple[str, str]]:
    with app.app_context():
        return [(e.action, e.detail) for e in db.session.execute(
            select(AuditEvent).order_by(AuditEvent.id)).scalars()
            if e.action not in ("login", "logout")]


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_see_members_of_their_organisation_and_below(tree, role):
    client = signed_in(tree, staff(tree, role))
    staff(tree, "viewer", "CD")
    for target in TARGETS:
        allowed = role == "admin" and target in ("SC", "CD")
        page = client.get(f"/console/{target}/members?lang=en")
        assert page.status_code == (200 if allowed else 403), (role, target)
    assert client.get("/console/nowhere/members").status_code == 404
    if role == "admin":
        page = client.get("/console/SC/members?lang=en").text
        assert "viewer.cd@example.org" in page and "admin.sc@example.org" in page
        # the child's roles are listed, not changeable by the parent's admin
        assert "/console/CD/members/" not in page and "/console/SC/members/" in page


@pytest.mark.parametrize("role", ROLES)
def test_only_admins_of_the_organisation_itself_change_anything(tree, role):
    client = signed_in(tree, staff(tree, role))
    victim_sc, victim_cd = "victim.sc@example.org", "victim.cd@example.org"
    add_user(tree, victim_sc, ("SC", "viewer"))
    add_user(tree, victim_cd, ("CD", "viewer"))
    for code, victim in (("SC", victim_sc), ("CD", victim_cd), ("HB", victim_sc)):
        allowed = role == "admin" and code == "SC"
        uid = user_id(tree, victim)
        answers = [
            client.post(f"/console/{code}/members", data={
                "email": f"new.{role}.{code}@example.org".lower(), "role": "viewer"}),
            client.post(f"/console/{code}/members/{uid}/role", data={"role": "analyst"}),
            client.post(f"/console/{code}/members/{uid}/active", data={"active": "0"}),
            client.post(f"/console/{code}/members/{uid}/remove"),
        ]
        assert [a.status_code for a in answers] == ([200, 303, 303, 303] if allowed
                                                    else [403] * 4), (role, code)
    assert role_of(tree, victim_cd, "CD") == "viewer"
    assert role_of(tree, victim_sc, "SC") == (None if role == "admin" else "viewer")


def test_adding_an_account_shows_its_password_once_and_it_signs_in(tree):
    client = signed_in(tree, staff(tree, "admin"))
    page = client.post("/console/SC/members?lang=en",
                       data={"email": " New.Person@Example.org ", "role": "analyst"})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    password = re.search(r'<code class="secret">([^<]+)</code>', page.text).group(1)
    assert role_of(tree, "new.person@example.org", "SC") == "analyst"
    with tree.app_context():
        stored = db.session.execute(select(User.password_hash).where(
            User.email == "new.person@example.org")).scalar_one()
    assert stored.startswith("$argon2id$") and password not in stored
    assert password not in client.get("/console/SC/members").text
    assert sign_in(tree.test_client(), "new.person@example.org", password).status_code == 303
    # with a password of the admin's choosing: no page with a secret, a redirect
    chosen = client.post("/console/SC/members", data={
        "email": "second@example.org", "role": "viewer", "password": "a long password 1"})
    assert chosen.status_code == 303
    assert sign_in(tree.test_client(), "second@example.org", "a long password 1"
                   ).status_code == 303
    # an existing account gets the role and keeps its password
    assert client.post("/console/SC/members", data={
        "email": staff(tree, "viewer", "HB"), "role": "organiser"}).status_code == 303
    assert role_of(tree, "viewer.hb@example.org", "SC") == "organiser"
    assert sign_in(tree.test_client(), "viewer.hb@example.org", PASSWORD).status_code == 303
    assert [a for a, _d in account_actions(tree)] == ["create_user", "create_user",
                                                       "grant_role"]


@pytest.mark.parametrize("data, field, message", [
    ({"email": "", "role": "viewer"}, "email", "Please enter the e-mail address."),
    ({"email": "not an address", "role": "viewer"}, "email", "This is not an e-mail address."),
    ({"email": "a@example.org", "role": "owner"}, "role", "Please choose one of the roles."),
    ({"email": "a@example.org", "role": "viewer", "password": "short"}, "password",
     "at least 12 characters"),
    ({"email": "a@example.org", "role": "viewer", "password": "p" * 1050}, "password",
     "at most 1024 characters"),
    ({"email": "admin.sc@example.org", "role": "viewer"}, "email", "has a role here already"),
])
def test_form_errors_stand_next_to_their_field(tree, data, field, message):
    client = signed_in(tree, staff(tree, "admin"))
    page = client.post("/console/SC/members?lang=en", data=data)
    assert page.status_code == 400
    error = re.search(rf'<p class="field-error" id="{field}-error">([^<]+)</p>', page.text)
    assert error and message in error.group(1)
    assert 'aria-describedby="' in page.text and 'aria-invalid="true"' in page.text
    if data["email"] and "@" in data["email"] and field != "email":
        assert f'value="{data["email"]}"' in page.text  # what was typed stays


def test_role_changes_and_removals_are_audited_and_checked(tree):
    client = signed_in(tree, staff(tree, "admin"))
    victim = staff(tree, "viewer", "SC")
    uid = user_id(tree, victim)
    assert client.post(f"/console/SC/members/{uid}/role",
                       data={"role": "organiser"}).status_code == 303
    assert role_of(tree, victim, "SC") == "organiser"
    bad = client.post(f"/console/SC/members/{uid}/role?lang=en", data={"role": "god"})
    assert bad.status_code == 400 and "Please choose one of the roles." in bad.text
    assert client.post(f"/console/SC/members/{uid}/remove").status_code == 303
    assert role_of(tree, victim, "SC") is None
    # no role here (any more): nothing to change
    assert client.post(f"/console/SC/members/{uid}/role",
                       data={"role": "viewer"}).status_code == 404
    assert client.post("/console/SC/members/999999/remove").status_code == 404
    assert account_actions(tree) == [("change_role", f"{victim}: viewer → organiser"),
                                     ("remove_role", f"{victim}: organiser")]


def test_deactivation_ends_sessions_and_tokens_and_reactivation_restores_the_account(tree):
    admin = signed_in(tree, staff(tree, "admin"))
    victim = staff(tree, "organiser", "SC")
    victim_client = signed_in(tree, victim)
    token = token_for(tree, victim)
    headers = {"Authorization": f"Bearer {token}"}
    assert victim_client.get("/console/").status_code == 200
    assert tree.test_client().get("/api/v1/orgs", headers=headers).status_code == 200
    uid = user_id(tree, victim)
    assert admin.post(f"/console/SC/members/{uid}/active", data={"active": "0"}
                      ).status_code == 303
    assert victim_client.get("/console/").status_code == 303  # to the sign-in page
    assert tree.test_client().get("/api/v1/orgs", headers=headers).status_code == 401
    assert sign_in(tree.test_client(), victim).status_code == 200  # refused
    assert "deactivated" in admin.get("/console/SC/members?lang=en").text
    assert admin.post(f"/console/SC/members/{uid}/active", data={"active": "1"}
                      ).status_code == 303
    assert sign_in(tree.test_client(), victim).status_code == 303
    assert [a for a, _d in account_actions(tree)] == ["create_token", "deactivate_user",
                                                      "login_failed", "reactivate_user"]


def test_deactivation_needs_an_admin_of_every_organisation_of_the_account(tree):
    admin = staff(tree, "admin")
    client = signed_in(tree, admin)
    add_user(tree, "both@example.org", ("SC", "viewer"), ("HB", "viewer"))
    page = client.post(f"/console/SC/members/{user_id(tree, 'both@example.org')}/active?lang=en",
                       data={"active": "0"})
    assert page.status_code == 400 and "only an admin of each of them" in page.text
    own = client.post(f"/console/SC/members/{user_id(tree, admin)}/active?lang=en",
                      data={"active": "0"})
    assert own.status_code == 400 and "your own account" in own.text
    with tree.app_context():
        assert all(db.session.execute(select(User.active)).scalars())


def test_the_last_admin_of_the_root_cannot_lock_everybody_out(tree):
    root = staff(tree, "admin", "national")
    client = signed_in(tree, root)
    uid = user_id(tree, root)
    for path, data in ((f"/console/national/members/{uid}/role", {"role": "viewer"}),
                       (f"/console/national/members/{uid}/remove", {})):
        page = client.post(path + "?lang=en", data=data)
        assert page.status_code == 400 and "would have no active admin left" in page.text
    assert role_of(tree, root, "national") == "admin"
    # with a second admin the first may step down
    add_user(tree, "second.admin@example.org", ("national", "admin"))
    assert client.post(f"/console/national/members/{uid}/role",
                       data={"role": "viewer"}).status_code == 303
    assert role_of(tree, root, "national") == "viewer"
    # and the second, now the last, cannot be deactivated by anybody
    other = signed_in(tree, "second.admin@example.org")
    page = other.post(f"/console/national/members/{uid}/active", data={"active": "0"})
    assert page.status_code == 303  # a viewer may be deactivated


def test_every_accounts_form_needs_the_csrf_token(make_app):
    app = make_app(install=False, WTF_CSRF_ENABLED=True)
    with app.app_context():
        db.create_all()
    build_tree(app)
    admin, victim = staff(app, "admin"), staff(app, "viewer")
    client = app.test_client()
    token = csrf_from(client.get("/login").text)
    client.post("/login", data={"email": admin, "password": PASSWORD, "csrf_token": token})
    page = client.get("/console/SC/members")
    assert page.status_code == 200
    good = csrf_from(page.text)
    uid = user_id(app, victim)
    for path, data in (("/console/SC/members", {"email": "x@example.org", "role": "viewer"}),
                       (f"/console/SC/members/{uid}/role", {"role": "admin"}),
                       (f"/console/SC/members/{uid}/active", {"active": "0"}),
                       (f"/console/SC/members/{uid}/remove", {}),
                       ("/console/tokens", {})):
        assert client.post(path, data=data).status_code == 400, path
        assert client.post(path, data={**data, "csrf_token": "forged"}).status_code == 400
    assert role_of(app, victim, "SC") == "viewer"
    with app.app_context():
        assert db.session.execute(select(ApiToken)).first() is None
        assert db.session.execute(select(User.active).where(User.email == victim)).scalar()
    assert client.post(f"/console/SC/members/{uid}/role",
                       data={"role": "analyst", "csrf_token": good}).status_code == 303


def test_the_pages_speak_both_languages(tree):
    client = signed_in(tree, staff(tree, "admin"))
    assert "成员与角色" in client.get("/console/SC/members?lang=zh").text
    assert "Members and roles" in client.get("/console/SC/members?lang=en").text
    assert "我的 API 令牌" in client.get("/console/tokens?lang=zh").text
    assert "My API tokens" in client.get("/console/tokens?lang=en").text


# --------------------------------------------------------------------------- my API tokens


@pytest.mark.parametrize("role", ROLES)
def test_my_tokens_are_shown_once_listed_without_the_secret_and_revoked_at_once(tree, role):
    email = staff(tree, role)
    client = signed_in(tree, email)
    assert "/console/tokens" in client.get("/console/").text
    created = client.post("/console/tokens?lang=en")
    assert created.status_code == 200 and created.headers["Cache-Control"] == "no-store"
    token = re.search(r'<code class="secret">(tn_[^<]+)</code>', created.text).group(1)
    headers = {"Authorization": f"Bearer {token}"}
    assert tree.test_client().get("/api/v1/orgs", headers=headers).status_code == 200
    listing = client.get("/console/tokens?lang=en").text
    assert token not in listing and f"{token[:11]}…" in listing
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d</td>\s*<td>\d{4}-", listing)  # last used
    with tree.app_context():
        token_id = db.session.execute(select(ApiToken.id)).scalar_one()
    assert client.post(f"/console/tokens/{token_id}/revoke").status_code == 303
    assert tree.test_client().get("/api/v1/orgs", headers=headers).status_code == 401
    assert "revoked" in client.get("/console/tokens?lang=en").text


def test_nobody_revokes_another_persons_token(tree):
    owner = staff(tree, "viewer")
    token = token_for(tree, owner)
    client = signed_in(tree, staff(tree, "admin"))
    with tree.app_context():
        token_id = db.session.execute(select(ApiToken.id)).scalar_one()
    assert client.post(f"/console/tokens/{token_id}/revoke").status_code == 404
    assert client.post("/console/tokens/12345/revoke").status_code == 404
    assert token[:11] not in client.get("/console/tokens").text
    assert tree.test_client().get(
        "/api/v1/orgs", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert tree.test_client().get("/console/tokens").status_code == 303  # signed out


def test_numbers_beyond_the_database_integers_are_404_not_500(tree):
    client = signed_in(tree, staff(tree, "admin"))
    for path in ("/console/SC/members/99999999999999999999/remove",
                 "/console/SC/members/2147483648/role",
                 "/console/tokens/9223372036854775808/revoke"):
        assert client.post(path, data={"role": "viewer"}).status_code == 404, path
