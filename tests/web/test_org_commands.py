"""create-org, create-user, create-token, set-totp, create-demo-account, and migration 0004."""

from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select, text

from survey.accounts import api_token_hash
from survey.db import db
from survey.models import ApiToken, Membership, Organisation, User, Wave

from .conftest import PASSWORD, install_wave, make_wave, sign_in


def invoke(runner, *args, input=None):
    result = runner.invoke(args=[str(a) for a in args], input=input)
    assert "Traceback" not in result.output
    return result


def one_line_error(result, *fragments):
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def org_tree(runner):
    for args in (["SC", "--name-zh", "四川省", "--name-en", "Sichuan", "--parent", "national"],
                 ["CD", "--name-zh", "成都市", "--name-en", "Chengdu", "--parent", "SC"]):
        result = invoke(runner, "create-org", *args)
        assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------- create-org


def test_create_org_builds_the_tree(app, runner):
    org_tree(runner)
    with app.app_context():
        chengdu = db.session.execute(
            select(Organisation).where(Organisation.code == "CD")).scalar_one()
        assert (chengdu.name_zh, chengdu.name_en) == ("成都市", "Chengdu")
        assert [o.code for o in chengdu.ancestors()] == ["SC", "national"]


def test_create_org_mistakes_are_one_line(runner):
    org_tree(runner)
    one_line_error(invoke(runner, "create-org", "SC", "--name-zh", "x", "--name-en", "x"),
                   "organisation 'SC' exists already")
    one_line_error(invoke(runner, "create-org", "GZ", "--name-zh", "x", "--name-en", "x",
                          "--parent", "nowhere"), "there is no organisation 'nowhere'")
    one_line_error(invoke(runner, "create-org", "bad code", "--name-zh", "x", "--name-en", "x"),
                   "organisation code 'bad code'")
    one_line_error(invoke(runner, "create-org", "GZ", "--name-zh", " ", "--name-en", "x"),
                   "--name-zh")


# --------------------------------------------------------------------------- create-user


def test_create_user_reads_the_password_from_stdin(app, runner):
    result = invoke(runner, "create-user", "Analyst@Example.org", "--org", "national", "--role",
                    "analyst", "--password-stdin", input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output and "analyst@example.org" in result.output
    assert sign_in(app.test_client(), "analyst@example.org").status_code == 303
    with app.app_context():
        user = db.session.execute(select(User)).scalar_one()
        assert [(m.organisation.code, m.role) for m in user.memberships] == \
            [("national", "analyst")]


def test_create_user_without_a_password_prints_a_random_one_once(app, runner):
    result = invoke(runner, "create-user", "viewer@example.org", "--org", "national",
                    "--role", "viewer")
    assert result.exit_code == 0, result.output
    password = re.search(r"Password \(shown once\): (\S+)", result.output).group(1)
    assert len(password) >= 16
    assert sign_in(app.test_client(), "viewer@example.org", password).status_code == 303
    with app.app_context():
        stored = db.session.execute(select(User.password_hash)).scalar_one()
        assert password not in stored and stored.startswith("$argon2id$")


def test_create_user_mistakes_are_one_line(runner):
    one_line_error(invoke(runner, "create-user", "a@example.org", "--org", "national",
                          "--role", "boss"),
                   "unknown role 'boss'", "admin, organiser, analyst, viewer")
    one_line_error(invoke(runner, "create-user", "a@example.org", "--org", "nowhere",
                          "--role", "viewer"), "there is no organisation 'nowhere'")
    one_line_error(invoke(runner, "create-user", "not-an-address", "--org", "national",
                          "--role", "viewer"), "'not-an-address' is not an e-mail address")
    one_line_error(invoke(runner, "create-user", "a@example.org", "--org", "national",
                          "--role", "viewer", "--password-stdin", input="short\n"),
                   "--password-stdin: the password must have at least 12 characters")
    one_line_error(invoke(runner, "create-user", "a@example.org", "--org", "national",
                          "--role", "viewer", "--password-stdin", input=""),
                   "--password-stdin")


def test_create_user_for_an_existing_account_adds_or_changes_a_role(app, runner):
    org_tree(runner)
    invoke(runner, "create-user", "a@example.org", "--org", "SC", "--role", "viewer",
           "--password-stdin", input=PASSWORD)
    assert invoke(runner, "create-user", "a@example.org", "--org", "CD", "--role",
                  "organiser").exit_code == 0
    assert invoke(runner, "create-user", "a@example.org", "--org", "SC", "--role",
                  "analyst").exit_code == 0
    one_line_error(invoke(runner, "create-user", "a@example.org", "--org", "SC", "--role",
                          "admin", "--password-stdin", input=PASSWORD + "x\n"),
                   "exists already")
    with app.app_context():
        roles = db.session.execute(
            select(Organisation.code, Membership.role).join(Membership.organisation)
            .order_by(Organisation.code)).all()
        assert [tuple(r) for r in roles] == [("CD", "organiser"), ("SC", "analyst")]
    assert sign_in(app.test_client(), "a@example.org").status_code == 303  # password kept


# --------------------------------------------------------------------------- create-token


def test_create_token_prints_a_token_once_and_keeps_only_its_hash(app, runner):
    invoke(runner, "create-user", "api@example.org", "--org", "national", "--role", "analyst",
           "--password-stdin", input=PASSWORD)
    first = invoke(runner, "create-token", "API@example.org")
    assert first.exit_code == 0, first.output
    token = first.output.strip().splitlines()[-1]
    assert token.startswith("tn_") and len(token) >= 43
    second = invoke(runner, "create-token", "api@example.org").output.strip().splitlines()[-1]
    assert second != token
    with app.app_context():
        hashes = set(db.session.execute(select(ApiToken.token_hash)).scalars())
        assert hashes == {api_token_hash(token), api_token_hash(second)}
        dump = " ".join(str(v) for table in db.metadata.sorted_tables
                        for row in db.session.execute(select(table)) for v in row)
        assert token not in dump and second not in dump
    response = app.test_client().get("/research/status",
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    one_line_error(invoke(runner, "create-token", "nobody@example.org"),
                   "there is no account 'nobody@example.org'")


# --------------------------------------------------------------------------- set-totp


def test_set_totp_prints_the_key_once_and_sign_in_then_needs_a_code(app, runner):
    invoke(runner, "create-user", "two@example.org", "--org", "national", "--role", "viewer",
           "--password-stdin", input=PASSWORD)
    result = invoke(runner, "set-totp", "two@example.org")
    assert result.exit_code == 0, result.output
    uri = result.output.strip().splitlines()[-1]
    assert uri.startswith("otpauth://totp/") and "two%40example.org" in uri
    client = app.test_client()
    assert sign_in(client, "two@example.org").headers["Location"] == "/login/code"
    code = pyotp.parse_uri(uri).now()
    assert client.post("/login/code", data={"code": code}).status_code == 303
    assert invoke(runner, "set-totp", "two@example.org", "--off").exit_code == 0
    assert sign_in(app.test_client(), "two@example.org").headers["Location"] == "/console/"


# --------------------------------------------------------------------------- make run's demo


def test_the_demo_account_on_a_developers_machine_and_never_on_a_server_database(app, runner):
    """A developer's machine runs SQLite and gets the demo account; on PostgreSQL (a server
    database, so not a developer's `make run`) it is refused in one line."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        one_line_error(invoke(runner, "create-demo-account"), "SQLALCHEMY_DATABASE_URI")
        return
    install_wave(app, make_wave())
    result = invoke(runner, "create-demo-account")
    assert result.exit_code == 0, result.output
    password = re.search(r"password (\S+) ", result.output).group(1)
    client = app.test_client()
    assert sign_in(client, "demo@example.org", password).status_code == 303
    console = client.get("/console/?lang=en").text
    assert "Demo organisation" in console and "2031" in console
    again = invoke(runner, "create-demo-account")  # the next make run: a new password
    assert again.exit_code == 0
    assert re.search(r"password (\S+) ", again.output).group(1) != password
    with app.app_context():
        assert db.session.execute(select(User)).scalars().all()[0].email == "demo@example.org"
        assert len(db.session.execute(select(User)).all()) == 1


@pytest.mark.parametrize("setting, value", [
    ("SESSION_COOKIE_SECURE", True), ("TRUSTED_HOSTS", ["survey.example.cn"]),
    ("TRUSTED_PROXIES", 1), ("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379"),
])
def test_the_demo_account_is_refused_in_a_production_configuration(make_app, setting, value):
    if setting == "RATELIMIT_STORAGE_URI":
        pytest.importorskip("redis")
    app = make_app(**{setting: value})
    result = invoke(app.test_cli_runner(), "create-demo-account")
    one_line_error(result, "refusing to create a demo account", setting)
    with app.app_context():
        assert db.session.execute(select(User)).first() is None


def test_make_run_creates_the_demo_account_after_opening_the_wave():
    from pathlib import Path

    makefile = (Path(__file__).resolve().parents[2] / "Makefile").read_text()
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert run.index("open-wave") < run.index("create-demo-account") < run.index(" run ")


# --------------------------------------------------------------------------- migration 0004


def test_the_migration_gives_existing_waves_to_the_default_organisation(make_app):
    from survey.db import upgrade_database

    app = make_app(install=False)
    with app.app_context():
        upgrade_database("0002")
        now = {"n": "2025-01-01 00:00:00"}
        db.session.execute(text("INSERT INTO waves (id, year, status, created_at) "
                                "VALUES (7, 2025, 'closed', :n)"), now)
        db.session.execute(text(
            "INSERT INTO responses (id, public_id, wave_id, status, language, page_index, "
            "started_at, updated_at) VALUES (3, 'p', 7, 'complete', 'zh', 2, :n, :n)"), now)
        db.session.execute(text("INSERT INTO answers VALUES (3, 'sex', 1), (3, 'N01_A1', 5)"))
        db.session.execute(text("INSERT INTO page_saves VALUES (3, 'about', :n, :n)"), now)
        db.session.commit()
        upgrade_database()
        wave = db.session.execute(select(Wave)).scalar_one()
        assert wave.organisation.code == "national" and wave.organisation.name_zh == "全国"
        # SQLite copies the waves table: the rows that reference it are all still there
        assert db.session.execute(text("SELECT count(*) FROM answers")).scalar() == 2
        assert db.session.execute(text("SELECT count(*) FROM page_saves")).scalar() == 1
        assert db.session.execute(text("SELECT wave_id FROM responses")).scalar() == 7
        # a year is unique per organisation now, not across the database
        db.session.add(Organisation(code="SC", name_zh="四川", name_en="Sichuan",
                                    parent=wave.organisation))
        db.session.flush()
        sichuan = db.session.execute(
            select(Organisation).where(Organisation.code == "SC")).scalar_one()
        db.session.add(Wave(year=2025, status="draft", organisation=sichuan))
        db.session.commit()
        db.session.execute(text("DELETE FROM waves WHERE organisation_id = :id"),
                           {"id": sichuan.id})
        db.session.commit()
        from alembic import command

        from survey.db import alembic_config, migration_connection
        with migration_connection() as connection:
            command.downgrade(alembic_config(connection), "0002")
        assert "organisations" not in set(db.inspect(db.engine).get_table_names())
        assert db.session.execute(text("SELECT count(*) FROM answers")).scalar() == 2
