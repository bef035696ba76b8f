"""Friendly error pages in both languages: never a traceback to a respondent."""

from __future__ import annotations

import sqlite3

from flask import Flask, current_app, jsonify, render_template, request
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from .db import db


def _page(code: int, reason: str | None = None, error=None):
    if request.path.startswith("/api/"):
        return json_error(code, error)
    if request_ctx.url_adapter is None:
        # the request could not even be routed (Werkzeug refused its Host header), so no URL
        # can be built: a self-contained page in both languages
        return render_template("errors/bare.html", code=code), code
    return render_template("errors/error.html", code=code, reason=reason), code


def json_error(code: int, error=None):
    """The API's errors: ``{"code", "status", "message"}`` (and ``errors`` for a request
    that did not validate, field by field), never a page."""
    body = {"code": code, "status": HTTP_STATUS_CODES.get(code, "Error"),
            "message": getattr(error, "description", None) or HTTP_STATUS_CODES.get(code, "")}
    messages = (getattr(error, "data", None) or {}).get("messages")
    if messages:
        body["errors"] = messages
    response = jsonify(body)
    response.status_code = code
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _database_unavailable_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean "the database cannot be reached or is busy right now", not "this
    request is wrong": SQLAlchemy's wrappers, and the drivers' own classes, which the hot
    path's SQL (survey/store.py, run on the DB-API connection) raises unwrapped."""
    errors: list[type[BaseException]] = [
        sa_exc.OperationalError,    # connection refused or lost, server shutting down, locked
        sa_exc.InterfaceError,      # the driver's connection is unusable
        sa_exc.TimeoutError,        # no pooled connection became free in time
        sa_exc.DisconnectionError,
        sqlite3.OperationalError,   # "database is locked" after the busy timeout, I/O errors
    ]
    try:
        import psycopg
    except ImportError:  # pragma: no cover - psycopg is a dependency; SQLite-only installs work
        pass
    else:
        errors += [psycopg.OperationalError, psycopg.InterfaceError]
    return tuple(errors)


def _database_unavailable(error):
    """A 503 with ``Retry-After`` (``DATABASE_RETRY_AFTER`` seconds) while the database is
    out: a browser, a proxy or a load balancer may try again, and the person reads that their
    saved answers are safe.  Logged with the traceback for the operator."""
    current_app.logger.error("database unavailable (%s) for %s %s", type(error).__name__,
                             request.method, request.path, exc_info=error)
    try:
        db.session.rollback()
    except Exception:  # the session's connection may be the broken one
        pass
    response = current_app.make_response(_page(503))
    response.headers["Retry-After"] = str(current_app.config["DATABASE_RETRY_AFTER"])
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("DATABASE_RETRY_AFTER", 30)
    for error_class in _database_unavailable_errors():
        app.register_error_handler(error_class, _database_unavailable)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        if request.path.startswith("/api/"):
            return json_error(400, error)
        return render_template("errors/error.html", code=400, csrf=True), 400

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.response is not None:  # views may abort with a finished page
            return error.response
        if error.code is not None and 400 <= error.code < 500:
            response = current_app.make_response(
                _page(error.code, getattr(error, "reason", None), error))
            retry_after = getattr(error, "retry_after", None)  # 429 and 503 may say when
            if retry_after is not None:
                response.headers["Retry-After"] = str(retry_after)
            return response
        return error

    @app.errorhandler(500)
    def server_error(error):
        try:
            db.session.rollback()
        except Exception:  # the database may be what failed; the page must still render
            pass
        try:
            return _page(500)
        except Exception:  # a page that cannot render must not hide the first error
            current_app.logger.exception("the error page failed for %s", request.path)
            return render_template("errors/bare.html", code=500), 500
