"""What the two single-choice types share: one option code per answer, chosen from a list."""

from __future__ import annotations

from ..model import WIDGETS, Item
from .base import Answer, Problem, QuestionType


class ChoiceType(QuestionType):
    choice = True
    codebook_type = "integer"
    definition_fields = ("scale", "options", "not_applicable", "widget")

    def parse_definition(self, check, code, d, bank_parser):
        options, na = bank_parser._answers(code, "local", d)
        widget = d.get("widget", "radio")
        if widget not in WIDGETS:
            check.fail(code, "local_items.widget",
                       f"unknown widget {widget!r} (expected radio or select)")
        return options, na, {}, widget

    def check(self, item: Item, value: Answer) -> Problem | None:
        if value not in item.answer_codes:
            return Problem("not_an_option")
        return None
