"""``show_if`` conditions as XLSForm ``relevant`` expressions, and back.

The one-question condition "the earlier question Q was answered with one of the codes V" has
its own short forms, read by :func:`parse_relevant` and written by :func:`relevant_expression`:

* ``${Q} = 4``, or several joined by ``or``: ``${Q} = 1 or ${Q} = 2`` (codes V);
* ``selected(${Q}, '4')``, or several joined by ``or`` (the same, ODK's idiom for select_one);
* ``${Q} != 9``, or several joined by ``and``: Q's answer codes except those.

Codes may be written ``4`` or ``'4'``. The export writes the shorter of the two forms:
``${N04_P3} != 9`` rather than five ``=``.

Every other condition of the grammar (questionnaires/conditions.py) maps one to one onto the
ODK expressions below (:func:`odk_expression`, :func:`grammar_text`), so export and import give
the same condition back:

==============================  ============================================================
grammar                         XLSForm ``relevant``
==============================  ============================================================
``A = 1`` (``!=  < <= > >=``)   ``${A} = 1``
``A in (1, 2)``                 ``selected(${A}, '1') or selected(${A}, '2')`` (select_one)
``any_of(C, 3, 4)``             ``selected(${C}, '3') or selected(${C}, '4')`` (select_multiple)
``all_of(C, 3, 4)``             ``selected(${C}, '3') and selected(${C}, '4')``
``answered(A)``                 ``${A} != ''``
``not X``                       ``not(X)``
``X and Y``, ``X or Y``, ( )    the same
==============================  ============================================================
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..conditions import (
    And,
    Answered,
    Chosen,
    Comparison,
    Condition,
    Expression,
    Not,
    parse_condition,
    written,
)
from ..conditions import ConditionSyntaxError as GrammarError

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


# --------------------------------------------------------------------------- the grammar


def odk_expression(condition: Expression, answer_codes: Callable[[str], frozenset[int]]) -> str:
    """The ``relevant`` expression of a condition; ``answer_codes(code)`` gives an item's
    codes (for the one-question form's shorter way round)."""
    if isinstance(condition, Condition):
        return relevant_expression(condition.item, condition.values,
                                   answer_codes(condition.item))
    return _odk(condition)


def _selected(item: str, values, joiner: str) -> str:
    return f" {joiner} ".join(f"selected(${{{item}}}, '{v}')" for v in sorted(values))


def _odk(node: Expression, inside_and: bool = False) -> str:
    """``node`` in ODK's syntax; an ``or`` chain is bracketed inside an ``and``."""
    if isinstance(node, Comparison):
        return f"${{{node.item}}} {node.op} {written(node.value)}"
    if isinstance(node, Answered):
        return f"${{{node.item}}} != ''"
    if isinstance(node, Not):
        return f"not({_odk(node.operand)})"
    if isinstance(node, And):
        return " and ".join(_odk(o, inside_and=True) for o in node.operands)
    if isinstance(node, Condition | Chosen):
        joiner = "and" if isinstance(node, Chosen) and node.function == "all_of" else "or"
        text = _selected(node.item, node.values, joiner)
        chained = joiner == "or" and len(node.values) > 1
    else:  # Or
        text = " or ".join(_odk(o) for o in node.operands)
        chained = True
    return f"({text})" if inside_and and chained else text


_ODK_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<selected>selected\(\s*\$\{\s*(?P<sfield>[^}]*?)\s*\}\s*,\s*
        (?P<squote>'|")(?P<scode>-?\d+)(?P=squote)\s*\))
  | (?P<answered>\$\{\s*(?P<afield>[^}]*?)\s*\}\s*!=\s*(?:''|""))
  | (?P<field>\$\{\s*(?P<ffield>[^}]*?)\s*\})
  | (?P<not>not\s*\()
  | (?P<quoted>(?P<quote>'|")(?P<qnumber>-?\d+(?:\.\d+)?)(?P=quote))
  | (?P<plain>-?\d+(?:\.\d+)?|and\b|or\b|<=|>=|!=|=|<|>|[(),])
""", re.VERBOSE)


def grammar_text(expression: str, code_of: Mapping[str, str],
                 type_of: Callable[[str], str]) -> str:
    """A ``relevant`` expression in the condition grammar (questionnaires/conditions.py);
    ``code_of`` maps the sheet's names to item codes, ``type_of(name)`` gives a question's
    type (``select_multiple`` makes ``selected()`` an ``any_of``).  Raises
    :class:`ConditionSyntaxError` for anything outside the table in the module's docstring."""
    out: list[str] = []
    at = 0
    while at < len(expression):
        m = _ODK_TOKEN.match(expression, at)
        if m is None:
            raise ConditionSyntaxError(
                f"is not a supported condition at character {at + 1} "
                f"({expression[at:at + 20]!r}); supported: comparisons of ${{Q}} with "
                "= != < <= > >=, selected(${Q}, 'code'), ${Q} != '', not(…), and, or, "
                "brackets")
        kind = m.lastgroup
        if kind == "selected":
            name = m.group("sfield")
            code = code_of[name]
            out.append(f"any_of({code}, {m.group('scode')})" if type_of(name) ==
                       "select_multiple" else f"{code} in ({m.group('scode')})")
        elif kind == "answered":
            out.append(f"answered({code_of[m.group('afield')]})")
        elif kind == "field":
            out.append(code_of[m.group("ffield")])
        elif kind == "not":
            out.append("not (")
        elif kind == "quoted":
            out.append(m.group("qnumber"))
        elif kind == "plain":
            out.append(m.group())
        else:
            out.append(" ")
        at = m.end()
    text = " ".join(part for part in out if part != " ")
    try:
        parse_condition(text)
    except GrammarError as error:
        raise ConditionSyntaxError(f"is not a supported condition ({error.problem})") from None
    return text
