"""``decimal``: a text field with the decimal keyboard (``inputmode="decimal"``) and the unit;
the typed number is stored as written, without trailing zeros (``12.50`` → ``'12.5'``)."""

from __future__ import annotations

import re
from decimal import Decimal

from flask_babel import lazy_gettext

from questionnaires.question_types.numbers import written

from .numbers import NumberWeb


class DecimalWeb(NumberWeb):
    TEMPLATE = "survey/question_types/number.html"
    PATTERN = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)")
    NOT_A_NUMBER = "not_a_number"
    MESSAGES = {
        "ascii_digits": lazy_gettext("Please type the number with the digits 0 to 9."),
        "not_a_number": lazy_gettext("Please enter a number, such as 12.5."),
        "out_of_range": lazy_gettext("Please enter a number from %(min)s to %(max)s."),
        "too_many_decimals": lazy_gettext(
            "Please enter a number with at most %(decimals)s digits after the decimal point."),
    }

    def convert(self, text):
        return written(Decimal(text))


WEB = DecimalWeb()
