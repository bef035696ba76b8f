"""``decimal``: a number in ``[min, max]`` with at most ``decimals`` digits after the point
(default 2, at most 6), with an optional unit.  Stored exactly, as its written form (``'12.5'``)
in the answer's text column; exported as a number column."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .base import Problem
from .numbers import UNIT_FIELDS, NumberType, written

MAX_DECIMALS = 6


class DecimalNumber(NumberType):
    name = "decimal"
    definition_fields = ("min", "max", "decimals", *UNIT_FIELDS)

    def parse_definition(self, check, code, d, bank_parser):
        low, high = self._range(check, code, d, integral=False)
        decimals = 2
        if d.get("decimals") is not None:
            decimals = check.integer(d["decimals"], code, "local_items.decimals")
            if not 1 <= decimals <= MAX_DECIMALS:
                check.fail(code, "local_items.decimals",
                           f"must be 1..{MAX_DECIMALS}, got {decimals}")
        for name, bound in (("min", low), ("max", high)):
            if -bound.as_tuple().exponent > decimals:
                check.fail(code, f"local_items.{name}",
                           f"{written(bound)} has more than {decimals} decimals")
        settings = {"min": written(low), "max": written(high), "decimals": decimals,
                    "unit": self._unit(check, code, d)}
        return (), None, settings, "number"

    def check(self, item, value):
        try:
            number = Decimal(value) if isinstance(value, str) else None
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            return Problem("not_a_number")
        settings = item.settings
        if -number.as_tuple().exponent > settings["decimals"]:
            return Problem("too_many_decimals", {"decimals": settings["decimals"]})
        if not Decimal(settings["min"]) <= number <= Decimal(settings["max"]):
            return Problem("out_of_range", {"min": settings["min"], "max": settings["max"]})
        return None

    def export_cells(self, item, value):
        return {item.code: None if value is None else float(value)}


TYPE = DecimalNumber()
