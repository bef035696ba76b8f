"""Organisation and account commands: ``flask --app survey create-org|create-user|create-token|
revoke-token|set-totp|create-demo-account``.

As with the wave commands, every mistake a person can make (an unknown organisation or role, a
duplicate code, a short password) is one ``Error: …`` line and exit status 1.  Secrets
(generated passwords, API tokens, TOTP keys) are printed once and never stored in the clear.
What they do to accounts is in the audit trail, by ``(command line)`` (survey/audit.py).
"""

from __future__ import annotations

import re
import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from . import accounts, audit
from .commands import _database_errors_are_messages
from .db import db
from .models import DEFAULT_ORGANISATION, ROLES, ApiToken, Membership, Organisation, User

ORG_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}")
DEMO_ORGANISATION = {"code": "demo", "name_zh": "演示机构", "name_en": "Demo organisation"}
DEMO_EMAIL = "demo@example.org"


def _organisation(code: str) -> Organisation:
    org = db.session.execute(
        select(Organisation).where(Organisation.code == code)).scalar_one_or_none()
    if org is None:
        raise click.ClickException(f"there is no organisation {code!r} "
                                   f"(create it with: flask --app survey create-org {code} …)")
    return org


def _user(email: str) -> User:
    user = db.session.execute(
        select(User).where(User.email == accounts.normalise_email(email))).scalar_one_or_none()
    if user is None:
        raise click.ClickException(f"there is no account {email!r}")
    return user


def _checked_role(role: str) -> str:
    if role not in ROLES:
        raise click.ClickException(f"unknown role {role!r}: one of {', '.join(ROLES)}")
    return role


def _password_from_stdin() -> str:
    """The first line of standard input, without its line end."""
    line = sys.stdin.readline()
    password = line[:-1] if line.endswith("\n") else line
    password = password[:-1] if password.endswith("\r") else password
    problem = accounts.password_problem(password)
    if problem:
        raise click.ClickException(f"--password-stdin: {problem}")
    return password


@click.command("create-org")
@click.argument("code")
@click.option("--name-zh", required=True, help="Chinese name.")
@click.option("--name-en", required=True, help="English name.")
@click.option("--parent", "parent_code", help="Code of the parent organisation.")
@with_appcontext
@_database_errors_are_messages
def create_org_command(code: str, name_zh: str, name_en: str, parent_code: str | None):
    """Create organisation CODE (letters, digits, - and _; at most 32), under --parent."""
    if not ORG_CODE.fullmatch(code):
        raise click.ClickException(f"organisation code {code!r}: use 1 to 32 letters, digits, "
                                   f"'-' or '_', starting with a letter or digit")
    for option, value in (("--name-zh", name_zh), ("--name-en", name_en)):
        if not value.strip() or len(value) > 200:
            raise click.ClickException(f"{option}: give a name of 1 to 200 characters")
    parent = _organisation(parent_code) if parent_code else None
    if db.session.execute(select(Organisation.id).where(Organisation.code == code)).first():
        raise click.ClickException(f"organisation {code!r} exists already")
    db.session.add(Organisation(code=code, name_zh=name_zh.strip(), name_en=name_en.strip(),
                                parent=parent))
    db.session.commit()
    where = f" under {parent.code}" if parent else ""
    click.echo(f"Organisation {code} ({name_zh.strip()} / {name_en.strip()}) created{where}.")


@click.command("create-user")
@click.argument("email")
@click.option("--org", "org_code", required=True, help="Organisation code.")
@click.option("--role", required=True, help=f"One of {', '.join(ROLES)}.")
@click.option("--password-stdin", is_flag=True,
              help="Read the new account's password from the first line of standard input "
                   "(otherwise a random one is printed once).")
@with_appcontext
@_database_errors_are_messages
def create_user_command(email: str, org_code: str, role: str, password_stdin: bool):
    """Create the account EMAIL with ROLE in organisation --org; for an existing account, give
    it that role there (its password stays)."""
    email = accounts.normalise_email(email)
    if not accounts.valid_email(email):
        raise click.ClickException(f"{email!r} is not an e-mail address")
    role = _checked_role(role)
    org = _organisation(org_code)
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if user is not None:
        if password_stdin:
            raise click.ClickException(f"account {email} exists already; --password-stdin "
                                       f"is for new accounts")
        _grant(user, org, role)
        db.session.commit()
        click.echo(f"Account {email}: role {role} in {org.code}.")
        return
    password = _password_from_stdin() if password_stdin else accounts.new_password()
    user = User(email=email, password_hash=accounts.hash_password(password))
    db.session.add(user)
    _grant(user, org, role)
    db.session.flush()
    audit.record_account("create_user", user, by_email=audit.COMMAND_LINE,
                         organisation_ids=[org.id], detail=f"{email}: {role}")
    db.session.commit()
    click.echo(f"Account {email} created: role {role} in {org.code}.")
    if not password_stdin:
        click.echo(f"Password (shown once): {password}")


def _grant(user: User, org: Organisation, role: str) -> None:
    """Give ``user`` ``role`` in ``org`` (audited when it changes anything)."""
    for membership in user.memberships:
        if membership.organisation is org:
            if membership.role != role:
                audit.record_account("change_role", user, by_email=audit.COMMAND_LINE,
                                     organisation_ids=[org.id],
                                     detail=f"{user.email}: {membership.role} → {role}")
            membership.role = role
            return
    user.memberships.append(Membership(organisation=org, role=role))
    if user.id is not None:  # a new account's creation is its own event
        db.session.flush()
        audit.record_account("grant_role", user, by_email=audit.COMMAND_LINE,
                             organisation_ids=[org.id], detail=f"{user.email}: {role}")


@click.command("create-token")
@click.argument("email")
@with_appcontext
@_database_errors_are_messages
def create_token_command(email: str):
    """Create an API token for account EMAIL and print it once (only its hash is kept)."""
    user = _user(email)
    token = accounts.create_api_token(user)
    click.echo(f"API token for {user.email} (shown once; send it as "
               f"'Authorization: Bearer TOKEN'):")
    click.echo(token)


@click.command("revoke-token")
@click.argument("token", required=False)
@click.option("--email", help="Revoke every token of this account (with --all).")
@click.option("--all", "every", is_flag=True, help="With --email: all of its tokens.")
@with_appcontext
@_database_errors_are_messages
def revoke_token_command(token: str | None, email: str | None, every: bool):
    """Revoke API token TOKEN (its number, as the console lists it, or its first characters
    tn_XXXXXXXX, or the whole token), or with --email EMAIL --all every token of an account.
    A revoked token is refused (401) from the next request on."""
    if (token is None) == (email is None):
        raise click.ClickException("give a token (number or tn_… prefix) or --email EMAIL --all")
    if email is not None:
        if not every:
            raise click.ClickException("--email revokes every token of the account: add --all")
        user = _user(email)
        rows = db.session.execute(select(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).scalars().all()
        for row in rows:
            accounts.revoke_api_token(row)
        click.echo(f"Account {user.email}: {len(rows)} API token(s) revoked.")
        return
    row = _token(token)
    if not accounts.revoke_api_token(row):
        click.echo(f"API token {row.id} of {row.user.email} was revoked already "
                   f"({row.revoked_at:%Y-%m-%d %H:%M} UTC).")
        return
    click.echo(f"API token {row.id} ({row.prefix or 'no prefix'}) of {row.user.email} revoked.")


def _token(text: str) -> ApiToken:
    """The token with this number, first characters or full text."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        row = db.session.get(ApiToken, int(text)) if int(text) < 2**31 else None
    elif text.startswith(accounts.API_TOKEN_PREFIX) and len(text) > accounts.TOKEN_PREFIX_LENGTH:
        row = db.session.execute(select(ApiToken).where(
            ApiToken.token_hash == accounts.api_token_hash(text))).scalar_one_or_none()
    elif text.startswith(accounts.API_TOKEN_PREFIX) and len(text) == accounts.TOKEN_PREFIX_LENGTH:
        rows = db.session.execute(select(ApiToken).where(ApiToken.prefix == text)
                                  ).scalars().all()
        if len(rows) > 1:
            raise click.ClickException(f"{len(rows)} tokens start with {text}: give the number "
                                       f"({', '.join(str(r.id) for r in rows)})")
        row = rows[0] if rows else None
    else:
        raise click.ClickException(f"{text[:20]!r}: give a token's number, its first "
                                   f"{accounts.TOKEN_PREFIX_LENGTH} characters (tn_…) or the "
                                   f"token")
    if row is None:
        raise click.ClickException(f"there is no API token {text[:20]!r}")
    return row


@click.command("set-totp")
@click.argument("email")
@click.option("--off", is_flag=True, help="Switch the second factor off.")
@with_appcontext
@_database_errors_are_messages
def set_totp_command(email: str, off: bool):
    """Switch on (or --off) the sign-in code from an authenticator app for account EMAIL; a
    new key is printed once, as an otpauth:// address for the app."""
    user = _user(email)
    if off:
        user.totp_secret, user.totp_last_step = None, None
        audit.record_account("totp_off", user, by_email=audit.COMMAND_LINE, detail=user.email)
        db.session.commit()
        click.echo(f"Account {user.email}: sign-in code switched off.")
        return
    user.totp_secret, user.totp_last_step = accounts.new_totp_secret(), None
    audit.record_account("totp_on", user, by_email=audit.COMMAND_LINE, detail=user.email)
    db.session.commit()
    click.echo(f"Account {user.email}: sign-in code switched on. Add this key to the "
               f"authenticator app (shown once):")
    click.echo(accounts.totp_uri(user))


@click.command("create-demo-account")
@with_appcontext
@_database_errors_are_messages
def create_demo_account_command():
    """For a developer's machine (make run): the demo organisation and an organiser account
    with a new random password, printed once.  Refused in a production configuration."""
    marker = accounts.production_marker(current_app.config)
    if marker:
        raise click.ClickException(f"refusing to create a demo account: {marker} is set as in "
                                   f"production (docs/deploy.md)")
    default = _organisation(DEFAULT_ORGANISATION["code"])
    demo = db.session.execute(select(Organisation).where(
        Organisation.code == DEMO_ORGANISATION["code"])).scalar_one_or_none()
    if demo is None:
        demo = Organisation(**DEMO_ORGANISATION, parent=default)
        db.session.add(demo)
    user = db.session.execute(select(User).where(User.email == DEMO_EMAIL)).scalar_one_or_none()
    password = accounts.new_password()
    if user is None:
        user = User(email=DEMO_EMAIL, password_hash="")
        db.session.add(user)
    user.password_hash, user.active = accounts.hash_password(password), True
    _grant(user, demo, "organiser")
    # the waves `make run` opens belong to the default organisation: let the demo account
    # watch their counts
    _grant(user, default, "viewer")
    db.session.commit()
    click.echo(f"Demo account: {DEMO_EMAIL}, password {password} (new at every make run); "
               f"organiser of {demo.code}, viewer of {default.code}.")
    click.echo("Sign in at /login on the running app; the console is /console/.")


def init_app(app: Flask) -> None:
    for command in (create_org_command, create_user_command, create_token_command,
                    revoke_token_command, set_totp_command, create_demo_account_command):
        app.cli.add_command(command)
