"""Account events in the audit trail (sign-ins, failed sign-ins, sign-outs, second factor,
roles, API tokens; one row per organisation of the account), who sees them in the console,
the trail's append-only guard, ``revoke-token``, and the per-token API rate limit."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from survey.db import db
from survey.models import ApiToken, AuditEvent, AuditTrailIsAppendOnly, Organisation

from .conftest import PASSWORD, add_user, reachable_redis, sign_in
from .staff_tree import build_tree, staff, token_for
from .test_org_commands import invoke, one_line_error


@pytest.fixture
def tree(app):
    build_tree(app)
    return app


def events(app, action: str | None = None) -> list[tuple]:
    """(action, actor e-mail, organisation code or None, detail), oldest first."""
    with app.app_context():
        query = (select(AuditEvent.action, AuditEvent.user_email, Organisation.code,
                        AuditEvent.detail)
                 .outerjoin(Organisation, Organisation.id == AuditEvent.organisation_id)
                 .order_by(AuditEvent.id))
        if action:
            query = query.where(AuditEvent.action == action)
        return [tuple(row) for row in db.session.execute(query)]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_sign_in_and_out_are_recorded_once_per_organisation(tree):
    add_user(tree, "two@example.org", ("SC", "viewer"), ("HB", "analyst"))
    client = tree.test_client()
    assert sign_in(client, "two@example.org").status_code == 303
    client.post("/logout")
    assert events(tree) == [
        ("login", "two@example.org", "SC", "password"),
        ("login", "two@example.org", "HB", "password"),
        ("logout", "two@example.org", "SC", ""),
        ("logout", "two@example.org", "HB", ""),
    ]


def test_a_failed_sign_in_keeps_the_address_as_typed_never_the_password(tree):
    add_user(tree, "staff@example.org", ("SC", "viewer"))
    client = tree.test_client()
    wrong = "not the password at all"
    assert sign_in(client, "Staff@Example.org", wrong).status_code == 200  # refused
    long_address = "x" * 150 + "@example.org"
    sign_in(client, long_address, wrong)
    recorded = events(tree, "login_failed")
    assert recorded[0] == ("login_failed", "staff@example.org", "SC", "password")
    # an address without an account belongs to no organisation; it is cut to 100 characters
    assert recorded[1] == ("login_failed", long_address[:100], None, "password")
    with tree.app_context():
        every_text = " ".join(str(v) for row in db.session.execute(select(AuditEvent))
                              for v in row[0].__dict__.values())
    assert wrong not in every_text and PASSWORD not in every_text


def test_second_factor_changes_are_recorded(tree, runner):
    add_user(tree, "staff@example.org", ("SC", "viewer"))
    assert invoke(runner, "set-totp", "staff@example.org").exit_code == 0
    assert invoke(runner, "set-totp", "staff@example.org", "--off").exit_code == 0
    assert [(a, who, org) for a, who, org, _d in events(tree)] == [
        ("totp_on", "(command line)", "SC"), ("totp_off", "(command line)", "SC")]


def test_the_trail_cannot_be_changed_or_deleted(tree):
    add_user(tree, "staff@example.org", ("SC", "viewer"))
    sign_in(tree.test_client())
    with tree.app_context():
        event = db.session.execute(select(AuditEvent)).scalars().first()
        event.detail = "nothing happened"
        with pytest.raises(AuditTrailIsAppendOnly):
            db.session.commit()
        db.session.rollback()
        db.session.delete(db.session.execute(select(AuditEvent)).scalars().first())
        with pytest.raises(AuditTrailIsAppendOnly):
            db.session.commit()
        db.session.rollback()
    assert events(tree)[0][3] == "password"


def audit_table(page: str) -> str:
    return page.split('id="audit"', 1)[1]


@pytest.mark.parametrize("role, member_of, target, sees", [
    ("admin", "SC", "SC", {"viewer.sc@", "viewer.cd@"}),   # own and child's accounts
    ("admin", "SC", "CD", {"viewer.cd@"}),
    ("admin", "national", "national", {"viewer.sc@", "viewer.cd@", "viewer.hb@", "nobody@"}),
    ("organiser", "SC", "SC", set()),                     # not an admin: wave events only
    ("analyst", "SC", "SC", set()),
    ("viewer", "national", "national", set()),
])
def test_admins_see_the_account_events_of_their_organisations(tree, role, member_of, target,
                                                                 sees):
    for code in ("SC", "CD", "HB"):
        email = staff(tree, "viewer", code)
        sign_in(tree.test_client(), email)
    sign_in(tree.test_client(), "nobody@example.org", "wrong password here")
    reader = f"reader@{member_of}.org".lower()
    add_user(tree, reader, (member_of, role))
    client = tree.test_client()
    sign_in(client, reader)
    page = client.get(f"/console/{target}/?lang=en")
    assert page.status_code == 200
    shown = {who for who in ("viewer.sc@", "viewer.cd@", "viewer.hb@", "nobody@")
             if who in audit_table(page.text)}
    assert shown == sees
    assert ("Members and roles" in page.text) is (role == "admin")


# --------------------------------------------------------------------------- tokens


def test_revoke_token_by_number_prefix_or_token_and_the_next_request_is_401(tree, runner):
    email = staff(tree, "viewer")
    tokens = [token_for(tree, email) for _ in range(4)]
    client = tree.test_client()
    for token in tokens:
        assert client.get("/api/v1/orgs", headers=bearer(token)).status_code == 200
    with tree.app_context():
        ids = [row.id for row in db.session.execute(select(ApiToken).order_by(ApiToken.id))
               .scalars()]
    result = invoke(runner, "revoke-token", str(ids[0]))
    assert result.exit_code == 0 and f"API token {ids[0]} ({tokens[0][:11]})" in result.output
    assert invoke(runner, "revoke-token", tokens[1][:11]).exit_code == 0
    assert invoke(runner, "revoke-token", tokens[2]).exit_code == 0
    for token in tokens[:3]:
        assert client.get("/api/v1/orgs", headers=bearer(token)).status_code == 401
    assert client.get("/api/v1/orgs", headers=bearer(tokens[3])).status_code == 200
    again = invoke(runner, "revoke-token", str(ids[0]))
    assert again.exit_code == 0 and "revoked already" in again.output
    result = invoke(runner, "revoke-token", "--email", email, "--all")
    assert result.exit_code == 0 and "1 API token(s) revoked" in result.output
    assert client.get("/api/v1/orgs", headers=bearer(tokens[3])).status_code == 401
    assert [(a, who, org) for a, who, org, _d in events(tree) if "token" in a] == \
        [("create_token", "(command line)", "SC")] * 4 + [("revoke_token", "(command line)",
                                                           "SC")] * 4


def test_revoke_token_mistakes_are_one_line(tree, runner):
    one_line_error(invoke(runner, "revoke-token"), "give a token")
    one_line_error(invoke(runner, "revoke-token", "999"), "there is no API token '999'")
    one_line_error(invoke(runner, "revoke-token", "9" * 30), "there is no API token")
    one_line_error(invoke(runner, "revoke-token", "tn_abcdefgh"), "there is no API token")
    one_line_error(invoke(runner, "revoke-token", "hello"), "give a token's number")
    one_line_error(invoke(runner, "revoke-token", "--email", "x@example.org"), "--all")
    one_line_error(invoke(runner, "revoke-token", "--email", "x@example.org", "--all"),
                   "there is no account")


def test_each_token_has_its_own_rate_limit_with_a_json_429(make_app):
    app = make_app(install=False, API_RATE_LIMIT="3 per minute")
    with app.app_context():
        db.create_all()
    build_tree(app)
    email = staff(app, "viewer")
    first, second = token_for(app, email), token_for(app, email)
    client = app.test_client()
    for _ in range(3):
        assert client.get("/api/v1/orgs", headers=bearer(first)).status_code == 200
    over = client.get("/api/v1/orgs", headers=bearer(first))
    assert over.status_code == 429 and over.is_json and over.json["code"] == 429
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    # the same client address with another token: its own budget
    assert client.get("/api/v1/orgs", headers=bearer(second)).status_code == 200
    # and the counts live in the shared limiter storage, keyed by the token's hash
    from survey.accounts import api_token_hash
    from survey.limits import blocked_for

    with app.test_request_context():
        assert blocked_for("api_token", api_token_hash(first)) > 0
        assert blocked_for("api_token", api_token_hash(second)) == 0


REDIS_URL = "redis://127.0.0.1:6379/5"  # a database number of these tests' own


@pytest.fixture
def redis_url():
    return reachable_redis(REDIS_URL)


def test_workers_share_a_tokens_count_through_redis(make_app, redis_url, tmp_path):
    """Two workers (two apps) on one Redis and one database: a token's requests count once
    across them, under the token's hash, never the token."""
    import redis

    from survey.accounts import api_token_hash

    database = f"sqlite:///{tmp_path / 'shared.sqlite'}"
    one = make_app(database=database, install=False, RATELIMIT_STORAGE_URI=redis_url,
                   API_RATE_LIMIT="3 per minute")
    two = make_app(database=database, install=False, RATELIMIT_STORAGE_URI=redis_url,
                   API_RATE_LIMIT="3 per minute")
    with one.app_context():
        db.create_all()
    build_tree(one)
    token = token_for(one, staff(one, "viewer"))
    answers = [worker.test_client().get("/api/v1/orgs", headers=bearer(token)).status_code
               for worker in (one, two, one, two)]
    assert answers == [200, 200, 200, 429]
    keys = [key.decode() for key in redis.Redis.from_url(redis_url).keys("*api_token*")]
    assert any(api_token_hash(token) in key for key in keys), keys
    assert not any(token in key for key in keys)


def test_migration_0007_keeps_the_trail_and_its_downgrade_drops_only_unattached_events(
        make_app):
    from sqlalchemy import text

    from survey.db import alembic_config, migration_connection, upgrade_database

    app = make_app(install=False)
    with app.app_context():
        upgrade_database("0006")
        now = {"n": "2026-01-01 00:00:00"}
        db.session.execute(text(
            "INSERT INTO audit_events (created_at, user_email, organisation_id, action, detail) "
            "VALUES (:n, 'a@example.org', 1, 'export', 'csv')"), now)
        db.session.commit()
        upgrade_database()
        assert db.session.execute(text("SELECT action, organisation_id FROM audit_events")
                                  ).all() == [("export", 1)]
        db.session.execute(text(
            "INSERT INTO audit_events (created_at, user_email, organisation_id, action, detail) "
            "VALUES (:n, 'x@example.org', NULL, 'login_failed', 'password'), "
            "(:n, 'b@example.org', 1, 'login', 'password')"), now)
        db.session.commit()
        from alembic import command

        with migration_connection() as connection:
            command.downgrade(alembic_config(connection), "0006")
        assert db.session.execute(text("SELECT action FROM audit_events ORDER BY id")
                                  ).scalars().all() == ["export", "login"]
        columns = {c["name"] for c in db.inspect(db.engine).get_columns("api_tokens")}
        assert "prefix" not in columns
