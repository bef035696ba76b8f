"""Friendly error pages in both languages: never a traceback to a respondent."""

from __future__ import annotations

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .db import db


def _page(code: int):
    return render_template("errors/error.html", code=code), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template("errors/error.html", code=400, csrf=True), 400

    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.response is not None:  # views may abort with a finished page
            return error.response
        if error.code is not None and 400 <= error.code < 500:
            return _page(error.code)
        return error

    @app.errorhandler(500)
    def server_error(error):
        try:
            db.session.rollback()
        except Exception:  # the database may be what failed; the page must still render
            pass
        return _page(500)
