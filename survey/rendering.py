"""Question HTML, rendered once and reused.

A question's markup depends only on the wave, the language, the item and the chosen answer, so
it is rendered by the ``question`` macro (``templates/survey/_question.html``) once per such
combination and kept per process; only a question showing an error is rendered every time.
This keeps page views cheap: a page is mostly its questions.
"""

from __future__ import annotations

from flask import current_app
from markupsafe import Markup

from .i18n import current_language

_CACHE: dict[tuple, Markup] = {}
_CACHE_LIMIT = 50_000


def _macro():
    return current_app.jinja_env.get_template("survey/_question.html").module.question


def question_html(wave, item, value, error=None) -> Markup:
    """The fieldset for ``item`` with ``value`` chosen and ``error`` (a message) shown."""
    if error:
        return Markup(_macro()(item, value, error))
    key = (wave.content_hash, current_language(), item.code, value)
    html = _CACHE.get(key)
    if html is None:
        html = Markup(_macro()(item, value, None))
        if len(_CACHE) >= _CACHE_LIMIT:
            _CACHE.clear()
        _CACHE[key] = html
    return html
