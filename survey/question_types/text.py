"""``text``: a one-line text field (``maxlength``); the text is kept as typed and only ever
rendered escaped (Jinja's autoescape)."""

from __future__ import annotations

from flask_babel import lazy_gettext

from questionnaires.question_types import Problem

from .base import Invalid, WebType, typed

SHOWN_BACK = 2_000  # characters of a refused, over-long text shown again for editing


class TextWeb(WebType):
    TEMPLATE = "survey/question_types/text.html"
    REQUIRED = lazy_gettext("Please enter an answer.")
    CACHE_ANSWERED = False
    MESSAGES = {
        "too_long": lazy_gettext("Please shorten your answer to at most %(max)s characters "
                                 "(it has %(length)s)."),
        "control_characters": lazy_gettext("Your answer contains invisible control characters "
                                           "that cannot be saved; please type it again."),
        "not_text": lazy_gettext("Please enter an answer."),
    }

    def read(self, item, values):
        raw = typed(values)
        if raw is not None and len(raw) > SHOWN_BACK:  # shown back cut; shorter: the check
            return Invalid(Problem("too_long", {"max": item.settings["max_length"],
                                                "length": len(raw)}), raw[:SHOWN_BACK])
        return raw


WEB = TextWeb()
