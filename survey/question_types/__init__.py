"""The web's part of each question type (``questionnaires.question_types`` has the rest): one
module per type, one line per type in :data:`WEB_TYPES`."""

from __future__ import annotations

from . import decimal, integer, scale, select_multiple, single_choice, text
from .base import NOT_A_CODE, Invalid, MalformedAnswer, WebType

WEB_TYPES: dict[str, WebType] = {
    "scale": scale.WEB,
    "single_choice": single_choice.WEB,
    "select_multiple": select_multiple.WEB,
    "integer": integer.WEB,
    "decimal": decimal.WEB,
    "text": text.WEB,
}


def web_type(item) -> WebType:
    return WEB_TYPES[item.type]


__all__ = ["NOT_A_CODE", "WEB_TYPES", "Invalid", "MalformedAnswer", "WebType", "web_type"]
