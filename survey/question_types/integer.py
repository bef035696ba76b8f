"""``integer``: a text field with the numeric keyboard (``inputmode="numeric"``) and the unit."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext

from .numbers import NumberWeb


class IntegerWeb(NumberWeb):
    TEMPLATE = "survey/question_types/number.html"
    PATTERN = re.compile(r"[+-]?[0-9]+")
    NOT_A_NUMBER = "not_an_integer"
    MESSAGES = {
        "ascii_digits": lazy_gettext("Please type the number with the digits 0 to 9."),
        "not_an_integer": lazy_gettext("Please enter a whole number, without a decimal point "
                                       "or other characters."),
        "out_of_range": lazy_gettext("Please enter a number from %(min)s to %(max)s."),
    }

    def convert(self, text):
        return int(text)


WEB = IntegerWeb()
