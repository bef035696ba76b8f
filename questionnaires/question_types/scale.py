"""``scale``: the 5-point answer scales of the item bank (importance, frequency), with the
optional "not applicable" code 9.  Stored and exported as the answer code."""

from __future__ import annotations

from .choice import ChoiceType


class Scale(ChoiceType):
    name = "scale"

    def parse_definition(self, check, code, d, bank_parser):
        if d.get("scale") is None:
            check.fail(code, "local_items.scale", "missing (a scale item names the bank's "
                       "scale: importance or frequency)")
        return super().parse_definition(check, code, d, bank_parser)


TYPE = Scale()
