"""The settings of the typed question types as XLSForm ``constraint`` expressions, and back.

ODK checks a ``constraint`` on the phone; this platform keeps the same rule as a setting of the
item. Accepted, and written by the export (bounds are numbers, ``'quoted'`` or not):

* ``integer``, ``decimal``: ``. >= MIN and . <= MAX`` (both bounds are required: the survey
  states the range next to the field);
* ``select_multiple``: ``count-selected(.) >= MIN and count-selected(.) <= MAX`` (either or
  both; the defaults are 1 and the number of options);
* ``text``: ``string-length(.) <= MAX`` (default 200 characters).

Anything else (``<``, ``or``, other functions, other types' subjects) is refused with what is
supported.
"""

from __future__ import annotations

import re

_SUBJECTS = {"integer": ".", "decimal": ".", "select_multiple": "count-selected(.)",
             "text": "string-length(.)"}
_PART = re.compile(r"^(?P<subject>\.|count-selected\(\s*\.\s*\)|string-length\(\s*\.\s*\))\s*"
                   r"(?P<op><=|>=|<|>|=|!=)\s*(?P<quote>'|\"|)(?P<bound>-?\d+(\.\d+)?)"
                   r"(?P=quote)$")
_AND = re.compile(r"\s+and\s+", re.IGNORECASE)
# setting names: (lower bound, upper bound)
_SETTINGS = {"integer": ("min", "max"), "decimal": ("min", "max"),
             "select_multiple": ("min_choices", "max_choices"), "text": (None, "max_length")}
SUPPORTED = {
    "integer": ". >= 0 and . <= 60",
    "decimal": ". >= 0 and . <= 99.5",
    "select_multiple": "count-selected(.) >= 1 and count-selected(.) <= 3",
    "text": "string-length(.) <= 200",
}


class ConstraintSyntaxError(ValueError):
    """A constraint outside the supported subset; the text says why."""


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def parse_constraint(kind: str, expression: str) -> dict:
    """The settings a ``constraint`` of a question of type ``kind`` gives (``{"min": 0,
    "max": 60}``); an empty expression gives none."""
    subject = _SUBJECTS[kind]
    low_name, high_name = _SETTINGS[kind]
    settings: dict = {}
    text = " ".join(expression.split())
    if not text:
        return settings
    for part in _AND.split(text):
        match = _PART.match(part.strip())
        if not match or match["subject"].replace(" ", "") != subject:
            raise ConstraintSyntaxError(f"is not a supported constraint for a {kind} question "
                                        f"(write it as {SUPPORTED[kind]})")
        op = match["op"]
        name = high_name if op == "<=" else low_name if op == ">=" else None
        if name is None:
            raise ConstraintSyntaxError(f"uses {op!r}; write the bounds with <= and >= "
                                        f"({SUPPORTED[kind]})")
        if name in settings:
            raise ConstraintSyntaxError(f"gives the {'upper' if op == '<=' else 'lower'} bound "
                                        "twice")
        settings[name] = _number(match["bound"])
    return settings


def constraint_expression(kind: str, settings: dict) -> str:
    """The ``constraint`` of an item's settings (the export's form)."""
    subject = _SUBJECTS[kind]
    low_name, high_name = _SETTINGS[kind]
    parts = []
    if low_name is not None:
        parts.append(f"{subject} >= {settings[low_name]}")
    parts.append(f"{subject} <= {settings[high_name]}")
    return " and ".join(parts)
