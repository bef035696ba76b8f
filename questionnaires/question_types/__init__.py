"""The question types: one module per type, one line per type in :data:`QUESTION_TYPES`.

A type owns its definition fields and their checks, the settings it keeps on an item, the
rules an answer must meet, how it is stored (an ``int`` or a ``str``, see :mod:`.base`), the
export's columns and cells and their codebook rows.  The web app's part of each type (reading
the form, the page markup) is ``survey/question_types/``; the analysis reads the codebook.
Adding a type: a module here (and its web module), one line in each registry
(docs/questionnaires.md, "Question types").
"""

from __future__ import annotations

from ..model import Item
from . import decimal, integer, scale, select_multiple, single_choice, text
from .base import Answer, Problem, QuestionType
from .choice import ChoiceType

QUESTION_TYPES: dict[str, QuestionType] = {
    "scale": scale.TYPE,
    "single_choice": single_choice.TYPE,
    "select_multiple": select_multiple.TYPE,
    "integer": integer.TYPE,
    "decimal": decimal.TYPE,
    "text": text.TYPE,
}

# a local item without ``type:`` is a choice item: a scale or its own options
UNTYPED_CHOICE = ChoiceType()


def question_type(item: Item) -> QuestionType:
    """The type of ``item``."""
    return QUESTION_TYPES[item.type]


__all__ = ["QUESTION_TYPES", "Answer", "Problem", "QuestionType", "question_type"]
