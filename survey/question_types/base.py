"""The web's part of a question type: reading what the form posted, the messages shown next to
a question, the Jinja macro that renders it.  The rules themselves (ranges, lengths, numbers of
choices) are the type's in ``questionnaires.question_types``; this side only turns form
strings into an answer's stored form and a refused answer into a message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from flask_babel import gettext, lazy_gettext
from werkzeug.exceptions import BadRequest

from questionnaires.question_types import Problem

# an answer code has one or two digits; anything much longer is not a person choosing an answer
ANSWER_MAX_LENGTH = 20


class MalformedAnswer(BadRequest):
    """An answer value no browser sends from our forms: characters outside ASCII (``²``,
    ``①``, Arabic-Indic digits, which Python's ``int()`` partly accepts) or a very long
    value (``int()`` refuses more than 4,300 digits with a ValueError).  The request is
    refused with the friendly 400 page instead of guessing what was meant.  (Typed answers,
    numbers and texts, are never malformed: what a person types gets a message instead.)"""

    reason = "answer"  # the error page explains this one (templates/errors/error.html)


@dataclass(frozen=True)
class Invalid:
    """A posted answer that cannot be read: why, and what was typed (shown again, so that the
    person can correct it; None for choices)."""

    problem: Problem
    raw: str | None = None


NOT_A_CODE = Invalid(Problem("not_an_option"))

# messages every type may give; a type adds its own in MESSAGES
COMMON_MESSAGES = {
    "not_an_option": lazy_gettext("Please choose one of the answers shown."),
}


class WebType:
    """Base of the web types; ``TEMPLATE`` holds a macro ``question(item, value, error)``."""

    TEMPLATE: ClassVar[str]
    REQUIRED: ClassVar = lazy_gettext("Please choose an answer.")
    MESSAGES: ClassVar[dict] = {}
    # render an answered question once and keep it (choices: few combinations); typed answers
    # are rendered every time (each person types something else)
    CACHE_ANSWERED: ClassVar[bool] = True

    def read(self, item, values: list[str]):
        """What the browser posted for ``item`` (every value of its field) → ``None``
        (nothing), the answer in its stored form, or :class:`Invalid`."""
        raise NotImplementedError

    def message(self, problem: Problem) -> str:
        message = self.MESSAGES.get(problem.key) or COMMON_MESSAGES[problem.key]
        return str(message) % problem.params if problem.params else str(message)


def code_of(raw: str | None):
    """One posted option code → ``None``, an ``int`` (ASCII digits only) or ``NOT_A_CODE``.

    Raises ``MalformedAnswer`` for values that no form of ours can produce."""
    if raw is None or raw == "":
        return None
    if len(raw) > ANSWER_MAX_LENGTH or not raw.isascii():
        raise MalformedAnswer()
    if raw.isdigit():  # ASCII only (checked above): no signs, spaces, underscores or ² here
        return int(raw)
    return NOT_A_CODE


def typed(values: list[str]) -> str | None:
    """The first value of a typed field, ``None`` when blank."""
    raw = values[0] if values else ""
    return raw if raw.strip() else None


__all__ = ["COMMON_MESSAGES", "Invalid", "MalformedAnswer", "NOT_A_CODE", "WebType", "code_of",
           "gettext", "typed"]
