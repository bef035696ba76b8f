"""Interface language: Chinese by default, English one tap away.

The language comes from ``?lang=`` (which also sets the cookie), else the ``lang`` cookie, else
Chinese.  Interface strings go through Flask-Babel (``survey/translations``); questionnaire texts
come from the wave definition as ``{"zh": …, "en": …}`` mappings and are picked with ``tr``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, current_app, g, request, url_for
from flask_babel import Babel, get_translations


def current_language() -> str:
    # every use of request, g or current_app is a context-variable look-up (~0.7 µs): each is
    # used once, and g.get does not raise and catch AttributeError as getattr(g, …, None) does
    lang = g.get("_survey_lang")
    if lang is None:
        config = current_app.config
        languages = config["LANGUAGES"]
        this_request = request._get_current_object()
        lang = this_request.args.get("lang")
        if lang not in languages:
            lang = this_request.cookies.get(config["LANGUAGE_COOKIE"])
        if lang not in languages:
            lang = languages[0]
        g._survey_lang = lang
    return lang


def tr(texts, lang: str | None = None) -> str:
    """Pick the current language's text from a ``{"zh": …, "en": …}`` mapping."""
    if texts is None:
        return ""
    if isinstance(texts, str):
        return texts
    lang = lang or current_language()
    return texts.get(lang) or texts.get("zh") or next(iter(texts.values()), "")


def other_language() -> str:
    return "en" if current_language() == "zh" else "zh"


def language_switch_url(code: str) -> str:
    """The language switch link for this page: back here afterwards, without ``lang=``."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    target = request.path
    if args and request.method == "GET":
        target += "?" + urlencode(args)
    return url_for("language.switch", code=code, next=target)


def set_language_cookie(response, lang: str):
    """Remember the interface language for a year; sent over HTTPS only when the session
    cookie is (``SESSION_COOKIE_SECURE``)."""
    response.set_cookie(current_app.config["LANGUAGE_COOKIE"], lang, max_age=60 * 60 * 24 * 365,
                        samesite="Lax", httponly=True,
                        secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    return response


def _remember_query_language(response):
    this_request = request._get_current_object()
    lang = this_request.args.get("lang")
    if lang is None:  # nearly every request
        return response
    config = current_app.config
    if lang in config["LANGUAGES"] and this_request.cookies.get(config["LANGUAGE_COOKIE"]) != lang:
        set_language_cookie(response, lang)
    return response


def _translations():
    """This request's catalogue, looked up once (Flask-Babel resolves it for every string)."""
    translations = g.get("_survey_translations")
    if translations is None:
        translations = g._survey_translations = get_translations()
    return translations


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=current_language)
    app.jinja_env.install_gettext_callables(
        lambda message: _translations().ugettext(message),
        lambda singular, plural, n: _translations().ungettext(singular, plural, n),
        newstyle=True,
    )
    app.after_request(_remember_query_language)
    app.jinja_env.filters["tr"] = tr
    app.jinja_env.globals.update(current_language=current_language,
                                 other_language=other_language,
                                 language_switch_url=language_switch_url)
    app.jinja_env.filters["resume_code"] = lambda code: f"{code[:4]}-{code[4:]}"
