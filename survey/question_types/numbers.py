"""Typed numbers: what the integer and decimal fields share."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext

from questionnaires.question_types import Problem

from .base import Invalid, WebType, typed

# a typed number longer than this is no answer to a survey question (ranges are at most
# ±1,000,000,000 with 6 decimals); it is out of range, whatever its digits
LONGEST = 24
SHOWN_BACK = 100  # characters of a refused entry shown again in the field


class NumberWeb(WebType):
    REQUIRED = lazy_gettext("Please enter an answer.")
    CACHE_ANSWERED = False
    PATTERN: re.Pattern
    NOT_A_NUMBER: str

    def read(self, item, values):
        raw = typed(values)
        if raw is None:
            return None
        text = raw.strip()
        shown = raw[:SHOWN_BACK]
        if not text.isascii():
            return Invalid(Problem("ascii_digits"), shown)
        if not self.PATTERN.fullmatch(text):
            return Invalid(Problem(self.NOT_A_NUMBER), shown)
        if len(text) > LONGEST:
            settings = item.settings
            return Invalid(Problem("out_of_range", {"min": settings["min"],
                                                    "max": settings["max"]}), shown)
        return self.convert(text)

    def convert(self, text: str):
        raise NotImplementedError
