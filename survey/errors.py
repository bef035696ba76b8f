"""Friendly error pages in both languages: never a traceback to a respondent."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .db import db


def _page(code: int, reason: str | None = None):
    if request_ctx.url_adapter is None:
        # the request could not even be routed (Werkzeug refused its Host header), so no URL
        # can be built: a self-contained page in both languages
        return render_template("errors/bare.html", code=code), code
    return render_template("errors/error.html", code=code, reason=reason), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("errors/error.html", code=400, csrf=True), 400

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.response is not None:  # views may abort with a finished page
            return error.response
        if error.code is not None and 400 <= error.code < 500:
            return _page(error.code, getattr(error, "reason", None))
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
