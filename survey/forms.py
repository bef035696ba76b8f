"""Reading a posted respondent form: the CSRF check and the one answer validator.

Every respondent form (consent, questionnaire page, resume) carries Flask-WTF's CSRF token in
its hidden ``csrf_token`` field and is checked by ``csrf_ok``; a questionnaire page's answers
are read by ``AnswerValidator`` (one per wave, kept in its ``survey.wave_cache.WaveEntry``),
which asks each question's type: its web part reads the form (``survey/question_types/``), its
rules check the answer (``questionnaires.question_types``).  Templates render the inputs
themselves (one macro per type); no form objects.
"""

from __future__ import annotations

from flask import current_app, request
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

from questionnaires.question_types import question_type

from .question_types import NOT_A_CODE, Invalid, MalformedAnswer, web_type
from .question_types.base import ANSWER_MAX_LENGTH, code_of

NOT_APPLICABLE = 9

__all__ = ["ANSWER_MAX_LENGTH", "NOT_A_CODE", "AnswerValidator", "Invalid", "MalformedAnswer",
           "csrf_ok", "item_codes", "parse_answer"]


def parse_answer(raw: str | None):
    """One posted option code → ``None`` (nothing chosen), an ``int`` (plain ASCII digits
    only) or ``NOT_A_CODE`` (something else, reported as an invalid answer).

    Raises ``MalformedAnswer`` for values that no form of ours can produce."""
    return code_of(raw)


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
    """A questionnaire page's posted answers → answers and per-question messages.

    ``read`` parses what was posted for each of the page's items, each by its type (refusing
    what no form of ours sends); ``check`` then applies the rules to the items shown: a
    required item needs an answer, and an answer must meet its type's rules (one of the item's
    codes, a number in range, a text short enough, ...)."""

    def __init__(self, wave) -> None:
        self.types = {code: (web_type(item), question_type(item))
                      for code, item in wave.items.items()}

    @staticmethod
    def read(items, formdata) -> dict:
        """``{code: None | answer | Invalid}`` for ``items``.

        Raises ``MalformedAnswer`` (400) for a value no form of ours sends."""
        return {item.code: web_type(item).read(item, formdata.getlist(item.code))
                for item in items}

    def check(self, items, posted: dict) -> tuple[dict, dict]:
        """``(values, errors)`` for the shown ``items``: ``values[code]`` is the answer
        (``None`` when nothing or an unusable choice was sent; what was typed when a typed
        answer is refused, to show it again), ``errors[code]`` the message shown next to a
        question that fails, in the request's language."""
        values: dict = {}
        errors: dict[str, str] = {}
        for item in items:
            code = item.code
            web, kind = self.types[code]
            parsed = posted.get(code)
            if isinstance(parsed, Invalid):
                values[code] = parsed.raw
                errors[code] = web.message(parsed.problem)
                continue
            values[code] = parsed
            if parsed is None:
                if item.required:
                    errors[code] = str(web.REQUIRED)
                continue
            problem = kind.check(item, parsed)
            if problem is not None:
                errors[code] = web.message(problem)
        return values, errors
