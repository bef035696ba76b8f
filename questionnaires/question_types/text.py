"""``text``: a short free text of at most ``max_length`` characters (default 200, at most
500).

Stored as given (bounded) in the answer's text column, rendered only escaped; exported as a
text column, where the export's neutraliser puts a ``'`` before anything a spreadsheet would
run as a formula.  It is read in the research console, never estimated or printed in a report:
the codebook marks it ``type`` ``text``, which the analysis refuses to estimate.
"""

from __future__ import annotations

import unicodedata

from .base import Problem, QuestionType

MAX_LENGTH = 500
DEFAULT_LENGTH = 200


def has_control_characters(text: str) -> bool:
    """Control characters other than tab and line breaks (``\\x00`` cannot even be stored in
    PostgreSQL), and unpaired surrogates."""
    return any((unicodedata.category(ch) == "Cc" and ch not in "\t\n\r")
               or unicodedata.category(ch) == "Cs" for ch in text)


class Text(QuestionType):
    name = "text"
    definition_fields = ("max_length",)
    codebook_type = "text"

    def parse_definition(self, check, code, d, bank_parser):
        length = DEFAULT_LENGTH
        if d.get("max_length") is not None:
            length = check.integer(d["max_length"], code, "local_items.max_length")
            if not 1 <= length <= MAX_LENGTH:
                check.fail(code, "local_items.max_length",
                           f"must be 1..{MAX_LENGTH} characters, got {length}")
        return (), None, {"max_length": length}, "text"

    def check(self, item, value):
        if not isinstance(value, str):
            return Problem("not_text")
        limit = item.settings["max_length"]
        if len(value) > limit:
            return Problem("too_long", {"max": limit, "length": len(value)})
        if has_control_characters(value):
            return Problem("control_characters")
        return None

    def codebook_rows(self, item, row):
        return [{**row, "type": "text", "answer_labels_zh": "", "answer_labels_en": "",
                 "not_applicable_code": ""}]


TYPE = Text()
