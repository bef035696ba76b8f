"""``integer``: a whole number in ``[min, max]`` (at most ±1,000,000,000), with an optional
unit.  Stored as the number in the answer's integer column; exported as a number column."""

from __future__ import annotations

from .base import Problem
from .numbers import UNIT_FIELDS, NumberType


class Integer(NumberType):
    name = "integer"
    definition_fields = ("min", "max", *UNIT_FIELDS)

    def parse_definition(self, check, code, d, bank_parser):
        low, high = self._range(check, code, d, integral=True)
        settings = {"min": int(low), "max": int(high), "unit": self._unit(check, code, d)}
        return (), None, settings, "number"

    def check(self, item, value):
        if not isinstance(value, int) or isinstance(value, bool):
            return Problem("not_an_integer")
        low, high = item.settings["min"], item.settings["max"]
        if not low <= value <= high:
            return Problem("out_of_range", {"min": low, "max": high})
        return None


TYPE = Integer()
