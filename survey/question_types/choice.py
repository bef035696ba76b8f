"""Scale and single-choice questions: radio buttons or a drop-down list, one option code."""

from __future__ import annotations

from .base import WebType, code_of


class ChoiceWeb(WebType):
    TEMPLATE = "survey/_question.html"

    def read(self, item, values):
        return code_of(values[0] if values else None)
