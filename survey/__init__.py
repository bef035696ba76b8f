"""The Ten Norms citizen survey web app (Flask application factory).

Production: ``gunicorn -w 2 'survey:create_app()'`` with ``SECRET_KEY`` and ``DATABASE_URL`` in the
environment.  Development: ``flask --app survey run`` (SQLite in ``instance/``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask


def _persistent_secret_key(instance_path: str) -> str:
    """A random key kept in ``instance/secret_key`` so sessions survive a dev-server restart.
    Production sets ``SECRET_KEY`` in the environment instead."""
    path = Path(instance_path) / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_hex(32)
    # write a private temporary file, then link it into place: a worker starting at the same
    # moment either wins or reads the complete key of the one that did
    tmp = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    try:
        os.link(tmp, path)
    except FileExistsError:
        key = path.read_text().strip()
    finally:
        tmp.unlink()
    return key


def _flag(text: str) -> bool:
    return text.lower() in ("1", "true", "yes")


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _hours(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number of hours, got {text!r}") from None
    if not value > 0:
        raise ValueError(f"expected a positive number of hours, got {text!r}")
    return value


def _count(text: str) -> int:
    if not text.strip().isdigit():
        raise ValueError(f"expected a whole number, got {text!r}")
    return int(text)


# environment variable -> (config key, how to read it); the environment wins over
# instance/config.py, an empty variable counts as unset
ENVIRONMENT = {
    "SECRET_KEY": ("SECRET_KEY", str),
    "DATABASE_URL": ("SQLALCHEMY_DATABASE_URI", str),
    "RATELIMIT_STORAGE_URI": ("RATELIMIT_STORAGE_URI", str),
    "SESSION_COOKIE_SECURE": ("SESSION_COOKIE_SECURE", _flag),
    "TRUSTED_HOSTS": ("TRUSTED_HOSTS", _names),
    "TRUSTED_PROXIES": ("TRUSTED_PROXIES", _count),
    "RESUME_RATE_LIMIT": ("RESUME_RATE_LIMIT", str),
    "RESUME_ADDRESS_RATE_LIMIT": ("RESUME_ADDRESS_RATE_LIMIT", str),
    "RESUME_CODE_RATE_LIMIT": ("RESUME_CODE_RATE_LIMIT", str),
    "NEW_RESPONSE_RATE_LIMIT": ("NEW_RESPONSE_RATE_LIMIT", str),
    "LOGIN_RATE_LIMIT": ("LOGIN_RATE_LIMIT", str),
    "LOGIN_ADDRESS_RATE_LIMIT": ("LOGIN_ADDRESS_RATE_LIMIT", str),
    # export jobs (survey/export_jobs.py): where files go, how long they stay, and whether the
    # web process runs jobs itself (default: yes on SQLite, no on PostgreSQL)
    "EXPORT_DIR": ("EXPORT_DIR", str),
    "EXPORT_KEEP_HOURS": ("EXPORT_KEEP_HOURS", _hours),
    "EXPORT_JOBS_INLINE": ("EXPORT_JOBS_INLINE", _flag),
    "API_RATE_LIMIT": ("API_RATE_LIMIT", str),
}


def _read_environment(config) -> None:
    for variable, (key, read) in ENVIRONMENT.items():
        text = os.environ.get(variable)
        if not text:
            continue
        try:
            config[key] = read(text)
        except ValueError as exc:
            raise RuntimeError(f"environment variable {variable}: {exc}") from None


def create_app(test_config: dict | None = None) -> Flask:
    # templates/ and static/ are package data beside this file (the flaskr layout), so an
    # installed wheel finds them through Flask's defaults
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI="sqlite:///" + os.path.join(app.instance_path, "survey.sqlite"),
        SQLALCHEMY_TRACK_MODIFICATIONS=False,
        LANGUAGES=("zh", "en"),
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).with_name("translations")),
        # the CSRF token lives as long as the browser session; an expired one re-renders the
        # page with what the person entered (see respondent.py), so no time limit is needed
        WTF_CSRF_TIME_LIMIT=None,
        # a questionnaire page is a few hundred bytes of form data
        MAX_CONTENT_LENGTH=64 * 1024,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        # respondent cookie: random token of an in-progress response; it lives until the wave's
        # last day ends, at most this long (survey/respondent.py, cookie_max_age)
        RESPONSE_COOKIE="survey_response",
        RESPONSE_COOKIE_MAX_AGE=60 * 60 * 24 * 30,
        LANGUAGE_COOKIE="lang",
        # waves open and close by dates in this time zone
        SURVEY_TIMEZONE="Asia/Shanghai",
        # how long a worker trusts its cached copy of a wave's status (seconds)
        WAVE_CACHE_SECONDS=2.0,
    )
    app.config.from_pyfile("config.py", silent=True)
    _read_environment(app.config)
    if test_config is not None:
        app.config.from_mapping(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _persistent_secret_key(app.instance_path)

    from .db import init_app as init_db
    from .sessions import VerifiedCookieSessionInterface

    app.session_interface = VerifiedCookieSessionInterface()
    from .db import normalise_database_url

    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        str(app.config["SQLALCHEMY_DATABASE_URI"])
    )
    init_db(app)

    from . import (
        api,
        auth,
        commands,
        console,
        errors,
        export_jobs,
        i18n,
        language,
        limits,
        org_commands,
        research,
        respondent,
        security,
    )

    security.init_app(app)
    i18n.init_app(app)
    limits.init_app(app)
    errors.init_app(app)
    commands.init_app(app)
    export_jobs.init_app(app)
    org_commands.init_app(app)
    auth.init_app(app)
    research.init_app(app)
    # first: its URL converters (year, org) serve the console's and the API's routes too
    app.register_blueprint(respondent.bp)
    app.register_blueprint(console.bp)
    app.register_blueprint(language.bp)
    api.init_app(app)
    return app
