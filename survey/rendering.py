"""Question HTML and page frames, rendered once and reused.

A question's markup depends only on the wave, the language, the item and the chosen answer, so
it is rendered by the ``question`` macro (``templates/survey/_question.html``) once per such
combination and kept in the wave's cache entry (survey/wave_cache.py); only a question showing
an error is rendered every time.

A questionnaire page without errors is ``survey/page.html`` around three things that change per
request: the CSRF token, the questions and the resume code.  The template is rendered once per
wave, language, page, URL and button set with placeholders in those three places and split
there (a *frame*, kept in the wave's cache entry); a page view then joins the frame's pieces
with the escaped values.  Pages with errors or notices are rendered by Jinja each time.  A test
compares both ways byte by byte.
"""

from __future__ import annotations

from flask import current_app, render_template
from markupsafe import Markup, escape

from .question_types import web_type

# placeholders: characters a template never writes itself; the resume code one has a resume
# code's length so the ``resume_code`` filter formats it like a real one
_CSRF_SLOT = "\x00csrf\x00"
_QUESTIONS_SLOT = "\x00questions\x00"
_CODE_SLOT = "\x00\x00\x00\x00\x01\x01\x01\x01"


def _macro(item):
    """The ``question`` macro of the item's type (survey/question_types/)."""
    template = web_type(item).TEMPLATE
    return current_app.jinja_env.get_template(template).module.question


def question_html(entry, item, value, error=None, lang: str | None = None) -> Markup:
    """The question ``item`` of the wave of ``entry`` (a ``WaveEntry``) with ``value``
    chosen or typed and ``error`` (a message) shown.  A typed answer (a number, a text) is
    rendered each time, never kept: each person types something else."""
    if error or (value is not None and not web_type(item).CACHE_ANSWERED):
        return Markup(_macro(item)(item, value, error))
    if lang is None:
        from .i18n import current_language

        lang = current_language()
    key = (lang, item.code, value)
    if item.randomise_options:  # this response's order of the options
        key += (tuple(option.code for option in item.options),)
    html = entry.questions.get(key)
    if html is None:
        html = entry.questions.get_or_make(key, lambda: Markup(_macro(item)(item, value, None)))
    return html


class _CodeSlot:
    resume_code = _CODE_SLOT
    status = "in_progress"


def _build_frame(context: dict) -> tuple | None:
    """The page rendered with placeholders, split into (text, slot, text, slot, …), or None
    when the placeholders do not each appear exactly once (then the page is rendered normally)."""
    html = render_template("survey/page.html", **context, response=_CodeSlot,
                           csrf_token=_CSRF_SLOT, questions=[Markup(_QUESTIONS_SLOT)])
    code_text = str(escape(current_app.jinja_env.filters["resume_code"](_CODE_SLOT)))
    slots = {str(escape(_CSRF_SLOT)): "csrf", _QUESTIONS_SLOT: "questions", code_text: "code"}
    if any(html.count(text) != 1 for text in slots):
        return None
    positions = sorted((html.index(text), text) for text in slots)
    parts: list = []
    start = 0
    for position, text in positions:
        parts.append(html[start:position])
        parts.append(slots[text])
        start = position + len(text)
    parts.append(html[start:])
    return tuple(parts)


def page_html(entry, key: tuple, context: dict, *, csrf_token: str, questions,
              resume_code: str, render_code) -> str | None:
    """``survey/page.html`` for ``context`` (no errors, no notice) from the frame kept under
    ``key`` in ``entry.frames``; None when the page cannot be framed (render it with Jinja
    then)."""
    frame = entry.frames.get(key, False)
    if frame is False:
        frame = entry.frames.get_or_make(key, lambda: _build_frame(context))
    if frame is None:
        return None
    values = {
        "csrf": str(escape(csrf_token)),
        "questions": "".join(questions),
        "code": str(escape(render_code(resume_code))),
    }
    return "".join(values[part] if i % 2 else part for i, part in enumerate(frame))
