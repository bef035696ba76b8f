"""``select_multiple``: check boxes; the posted option codes become the stored bitmask."""

from __future__ import annotations

from flask_babel import lazy_gettext

from questionnaires.question_types.select_multiple import MAX_OPTION_CODE, mask_of

from .base import NOT_A_CODE, WebType, code_of


class SelectMultipleWeb(WebType):
    TEMPLATE = "survey/question_types/select_multiple.html"
    MESSAGES = {
        "too_few_choices": lazy_gettext("Please choose at least %(min)s answers."),
        "too_many_choices": lazy_gettext("Please choose at most %(max)s answers."),
    }

    def read(self, item, values):
        codes = set()
        for raw in values:
            code = code_of(raw)
            if code is NOT_A_CODE or (code is not None and not 1 <= code <= MAX_OPTION_CODE):
                return NOT_A_CODE
            if code is not None:
                codes.add(code)
        return mask_of(codes) if codes else None


WEB = SelectMultipleWeb()
