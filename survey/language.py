"""The language switch: ``/language/en?next=/2025/page/p1`` sets the cookie and goes back."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, request, url_for

from .i18n import set_language_cookie

bp = Blueprint("language", __name__)


# characters that have no place in a path of ours: control characters (CR/LF would split the
# Location header; browsers drop TAB and newlines, so "/\t/evil.example" becomes
# "//evil.example") and the backslash (browsers read "/\\evil.example" as "//evil.example")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\\]")


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a respondent to another host."""
    if not target or _UNSAFE.search(target):
        return url_for("respondent.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("respondent.index")
    return target


@bp.get("/language/<code>")
def switch(code: str):
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    return set_language_cookie(redirect(_safe_next(request.args.get("next")), code=303), code)
