"""Reading a posted respondent form: the CSRF check and the one answer validator.

Every respondent form (consent, questionnaire page, resume) carries Flask-WTF's CSRF token in
its hidden ``csrf_token`` field and is checked by ``csrf_ok``; a questionnaire page's answers
are read by ``AnswerValidator`` (one per wave, kept in its ``survey.wave_cache.WaveEntry``).
Templates render the inputs themselves (``templates/survey/_question.html``); no form objects.
"""

from __future__ import annotations

from flask import current_app, request
from flask_babel import gettext
from flask_wtf.csrf import validate_csrf
from werkzeug.exceptions import BadRequest
from wtforms.validators import ValidationError

NOT_APPLICABLE = 9

# an answer code has one or two digits; anything much longer is not a person choosing an answer
ANSWER_MAX_LENGTH = 20
NOT_A_CODE = "?"


class MalformedAnswer(BadRequest):
    """An answer value no browser sends from our forms: characters outside ASCII (``²``,
    ``①``, Arabic-Indic digits, which Python's ``int()`` partly accepts) or a very long
    value (``int()`` refuses more than 4,300 digits with a ValueError).  The request is
    refused with the friendly 400 page instead of guessing what was meant."""

    reason = "answer"  # the error page explains this one (templates/errors/error.html)


def parse_answer(raw: str | None):
    """What the browser sent for one question → ``None`` (nothing chosen), an ``int`` (plain
    ASCII digits only) or ``NOT_A_CODE`` (something else, reported as an invalid answer).

    Raises ``MalformedAnswer`` for values that no form of ours can produce."""
    if raw is None or raw == "":
        return None
    if len(raw) > ANSWER_MAX_LENGTH or not raw.isascii():
        raise MalformedAnswer()
    if raw.isdigit():  # ASCII only (checked above): no signs, spaces, underscores or ² here
        return int(raw)
    return NOT_A_CODE


def csrf_ok() -> bool:
    """Whether the posted form carries this session's CSRF token (Flask-WTF's check; always
    true when ``WTF_CSRF_ENABLED`` is off, as in most tests).  The token is read from the
    form body only, urlencoded or multipart, as our forms send it."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


def item_codes(item) -> tuple[int, ...]:
    """All answer codes an item accepts, including 9 when it offers "not applicable"."""
    codes = tuple(option.code for option in item.options)
    if item.not_applicable is not None:
        codes += (item.not_applicable.code,)
    return codes


class AnswerValidator:
    """A questionnaire page's posted answers → parsed values and per-question messages.

    ``read`` parses what was posted for each of the page's items (refusing what no form of
    ours sends); ``check`` then applies the rules to the items shown: a required item needs an
    answer, and any answer must be one of the item's codes."""

    def __init__(self, wave) -> None:
        self.codes = {code: frozenset(item_codes(item)) for code, item in wave.items.items()}

    @staticmethod
    def read(items, formdata) -> dict:
        """``{code: None | int | NOT_A_CODE}`` for ``items``: the first value posted for each.

        Raises ``MalformedAnswer`` (400) for a value no form of ours sends."""
        posted = {}
        for item in items:
            values = formdata.getlist(item.code)
            posted[item.code] = parse_answer(values[0] if values else None)
        return posted

    def check(self, items, posted: dict) -> tuple[dict, dict]:
        """``(values, errors)`` for the shown ``items``: ``values[code]`` is the answer (``None``
        when nothing or something unusable was sent), ``errors[code]`` the message shown next
        to a question that fails, in the request's language."""
        values: dict[str, int | None] = {}
        errors: dict[str, str] = {}
        for item in items:
            code = item.code
            parsed = posted.get(code)
            data = None if parsed is NOT_A_CODE else parsed
            values[code] = data
            if parsed is None:
                if item.required:
                    errors[code] = gettext("Please choose an answer.")
            elif data not in self.codes[code]:
                errors[code] = gettext("Please choose one of the answers shown.")
        return values, errors
