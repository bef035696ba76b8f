"""``show_if`` conditions as XLSForm ``relevant`` expressions, and back.

The model's condition is "the earlier question Q was answered with one of the codes V". The
expressions that say exactly that, and nothing else, are accepted:

* ``${Q} = 4``, or several joined by ``or``: ``${Q} = 1 or ${Q} = 2`` (codes V);
* ``selected(${Q}, '4')``, or several joined by ``or`` (the same, ODK's idiom for select_one);
* ``${Q} != 9``, or several joined by ``and``: Q's answer codes except those.

Codes may be written ``4`` or ``'4'``. Anything else (another operator, two questions, a
function, a mix of ``and`` and ``or``, brackets) is refused with what is supported.
The export writes the shorter of the two forms: ``${N04_P3} != 9`` rather than five ``=``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_REFERENCE = r"\$\{\s*(?P<field>[A-Za-z_][A-Za-z0-9_.-]*)\s*\}"
_CODE = r"(?P<quote>'|\"|)(?P<code>-?\d+)(?P=quote)"
_COMPARISON = re.compile(rf"^{_REFERENCE}\s*(?P<op>!=|=)\s*{_CODE}$")
_SELECTED = re.compile(rf"^selected\(\s*{_REFERENCE}\s*,\s*{_CODE}\s*\)$")
_JOINER = re.compile(r"\s+(and|or)\s+")
_ANY_REFERENCE = re.compile(r"\$\{\s*([^}]*)\}")

SUPPORTED = ("${Q} = 4, ${Q} = 1 or ${Q} = 2, selected(${Q}, '4'), ${Q} != 9, "
             "${Q} != 8 and ${Q} != 9")


class ConditionSyntaxError(ValueError):
    """An expression outside the supported subset; the text says why."""


@dataclass(frozen=True)
class ParsedCondition:
    """``field`` (the name as the sheet writes it) and either the codes that show the item
    (``equal``) or the codes that hide it (``not_equal``)."""

    field: str
    codes: frozenset[int]
    equal: bool

    def values(self, answer_codes: frozenset[int]) -> frozenset[int]:
        """The answer codes that show the item, given the field's answer codes."""
        return self.codes if self.equal else answer_codes - self.codes


def referenced_fields(expression: str) -> list[str]:
    """Every ``${name}`` an expression mentions (for 'unknown field' messages)."""
    return [m.strip() for m in _ANY_REFERENCE.findall(expression)]


def parse_relevant(expression: str) -> ParsedCondition:
    parts = _JOINER.split(expression.strip())
    clauses, joiners = parts[0::2], set(parts[1::2])
    if len(joiners) > 1:
        raise ConditionSyntaxError("mixes 'and' and 'or'; supported: " + SUPPORTED)
    parsed = [_clause(c.strip()) for c in clauses]
    fields = {f for f, _, _ in parsed}
    if len(fields) > 1:
        raise ConditionSyntaxError(
            "refers to more than one question; an item can depend on one earlier answer")
    ops = {op for _, op, _ in parsed}
    if len(ops) > 1:
        raise ConditionSyntaxError("mixes = and !=; supported: " + SUPPORTED)
    op = ops.pop()
    joiner = joiners.pop() if joiners else None
    if joiner is not None and joiner != ("or" if op == "=" else "and"):
        raise ConditionSyntaxError(
            f"joins {op} with '{joiner}', which no answer can meet or every answer meets; "
            "supported: " + SUPPORTED)
    return ParsedCondition(field=fields.pop(), codes=frozenset(c for _, _, c in parsed),
                           equal=(op == "="))


def _clause(text: str) -> tuple[str, str, int]:
    m = _COMPARISON.match(text) or _SELECTED.match(text)
    if not m:
        raise ConditionSyntaxError("is not a supported condition; supported: " + SUPPORTED)
    op = m.groupdict().get("op") or "="
    return m.group("field"), op, int(m.group("code"))


def relevant_expression(field: str, values: frozenset[int], answer_codes: frozenset[int]) -> str:
    """The expression for "``field`` was answered with one of ``values``": the codes that hide
    the item with ``!=`` when they are fewer, else the codes that show it with ``=``."""
    hidden = sorted(answer_codes - values)
    if hidden and len(hidden) < len(values):
        return " and ".join(f"${{{field}}} != {code}" for code in hidden)
    return " or ".join(f"${{{field}}} = {code}" for code in sorted(values))
