"""Show-if conditions: a small grammar over earlier answers, parsed once when a wave is loaded.

Grammar (keywords in lower case; whitespace is free)::

    expr    := or
    or      := and ('or' and)*
    and     := not ('and' not)*
    not     := 'not' not | atom
    atom    := '(' expr ')'
             | CODE op VALUE                       op: = != < <= > >=
             | CODE 'in' '(' VALUE (',' VALUE)* ')'
             | 'any_of' '(' CODE (',' VALUE)+ ')'
             | 'all_of' '(' CODE (',' VALUE)+ ')'
             | 'answered' '(' CODE ')'
    CODE    := a letter, then letters, digits and _      (an earlier item's code)
    VALUE   := -?digits('.'digits)?                      (an answer code; a number)

``not`` binds tighter than ``and``, which binds tighter than ``or``:
``not A = 1 and B = 2 or C = 3`` is ``((not A = 1) and B = 2) or C = 3``.

Unanswered questions.  A question that was not answered (or not shown) meets no test on its
answer: every comparison, ``in``, ``any_of`` and ``all_of`` is false for it, and so is
``answered``.  ``not`` is plain negation, so ``not A = 1`` is true when A was not answered,
while ``A != 1`` is false then (it says "A was answered, with something other than 1").  The
one-question form of the wave files (``show_if: {item: A, values: [...]}``) is the node
:class:`Condition`, true when A was answered with one of the codes, as it always was.

The parser builds frozen dataclasses; :func:`parse_condition` never runs Python's ``eval``.
A syntax error is a :class:`ConditionSyntaxError` with the 1-based character ``position``.
What the names refer to (earlier items, their types and codes) is checked by the loader.

Normal forms, so that writing a condition out (``text()``, XLSForm) and reading it back gives
an equal node: nested ``and``/``or`` of the same kind are flattened; inside an ``or``, adjacent
``in`` tests of one item merge, as do adjacent ``any_of`` tests of one item; inside an
``and``, adjacent ``all_of`` tests of one item merge; ``all_of`` with one code is ``any_of``
(and merges as either).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Union

COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
FUNCTIONS = ("any_of", "all_of", "answered")
KEYWORDS = ("and", "or", "not", "in")
# brackets and ``not`` nest at most this deep (a runaway condition cannot exhaust the stack)
MAX_DEPTH = 20


class ConditionSyntaxError(ValueError):
    """A condition that does not follow the grammar; ``position`` is 1-based."""

    def __init__(self, position: int, problem: str) -> None:
        self.position = position
        self.problem = problem
        super().__init__(f"position {position}: {problem}")


def _number(answer) -> Decimal | None:
    """A stored answer (an int, or a decimal written as text) as a number; None otherwise."""
    if isinstance(answer, bool) or answer is None:
        return None
    try:
        number = Decimal(answer) if isinstance(answer, int | str) else None
    except InvalidOperation:
        return None
    return number if number is not None and number.is_finite() else None


def written(number: Decimal) -> str:
    """``Decimal('2.50')`` → ``'2.5'``; ``Decimal('3')`` → ``'3'``."""
    text = format(number.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _codes(values) -> str:
    return ", ".join(str(v) for v in sorted(values))


# --------------------------------------------------------------------------- the nodes
# ``position`` (where a test starts in the text it was read from, for the loader's messages)
# takes no part in equality: a condition read back from its own text is equal to it.


class _Leaf:
    """A test of one item's answer: the leaves of a condition's tree (``item`` is its code)."""

    item: str

    @property
    def items(self) -> tuple[str, ...]:
        return (self.item,)

    def leaves(self):
        yield self


@dataclass(frozen=True)
class Condition(_Leaf):
    """``item in (values…)``: the earlier item was answered with one of the codes (the
    one-question form of the wave files, ``{item: A, values: [...]}``)."""

    item: str
    values: frozenset[int]
    position: int = field(default=1, compare=False, repr=False)

    def is_met(self, answers: Mapping) -> bool:
        """True when ``answers[item]`` is one of ``values``; an unanswered item never meets it."""
        return answers.get(self.item) in self.values

    def text(self) -> str:
        return f"{self.item} in ({_codes(self.values)})"

    def to_dict(self) -> dict:
        return {"item": self.item, "values": sorted(self.values)}

    @classmethod
    def from_dict(cls, d: Mapping) -> Condition:
        return cls(item=d["item"], values=frozenset(int(v) for v in d["values"]))


_COMPARE = {
    "=": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class Comparison(_Leaf):
    """``item op value``: the item was answered, and its answer (a code or a number) compares
    so with ``value``."""

    item: str
    op: str
    value: Decimal
    position: int = field(default=1, compare=False, repr=False)

    def is_met(self, answers: Mapping) -> bool:
        answer = _number(answers.get(self.item))
        return answer is not None and _COMPARE[self.op](answer, self.value)

    def text(self) -> str:
        return f"{self.item} {self.op} {written(self.value)}"


@dataclass(frozen=True)
class Chosen(_Leaf):
    """``any_of(item, …)`` / ``all_of(item, …)``: a multiple-choice item (its answer is a
    bitmask of option codes) was answered with any / all of the codes chosen."""

    function: str  # "any_of" | "all_of"
    item: str
    values: frozenset[int]
    position: int = field(default=1, compare=False, repr=False)

    def is_met(self, answers: Mapping) -> bool:
        answer = answers.get(self.item)
        if not isinstance(answer, int) or isinstance(answer, bool):
            return False
        mask = 0
        for code in self.values:
            mask |= 1 << code
        return bool(answer & mask) if self.function == "any_of" else answer & mask == mask

    def text(self) -> str:
        return f"{self.function}({self.item}, {_codes(self.values)})"


@dataclass(frozen=True)
class Answered(_Leaf):
    """``answered(item)``: the item has an answer (any answer, "not applicable" included)."""

    item: str
    position: int = field(default=1, compare=False, repr=False)

    def is_met(self, answers: Mapping) -> bool:
        return answers.get(self.item) is not None

    def text(self) -> str:
        return f"answered({self.item})"


@dataclass(frozen=True)
class Not:
    operand: Expression

    def is_met(self, answers: Mapping) -> bool:
        return not self.operand.is_met(answers)

    @property
    def items(self) -> tuple[str, ...]:
        return self.operand.items

    def leaves(self):
        yield from self.operand.leaves()

    def text(self) -> str:
        inner = self.operand.text()
        return f"not ({inner})" if isinstance(self.operand, And | Or) else f"not {inner}"


class _Junction:
    """``and``/``or`` of several operands: the items and leaves of all of them."""

    operands: tuple[Expression, ...]

    @property
    def items(self) -> tuple[str, ...]:
        return _unique(code for o in self.operands for code in o.items)

    def leaves(self):
        for o in self.operands:
            yield from o.leaves()


@dataclass(frozen=True)
class And(_Junction):
    operands: tuple[Expression, ...]

    def is_met(self, answers: Mapping) -> bool:
        return all(o.is_met(answers) for o in self.operands)

    def text(self) -> str:
        return " and ".join(f"({o.text()})" if isinstance(o, Or) else o.text()
                            for o in self.operands)


@dataclass(frozen=True)
class Or(_Junction):
    operands: tuple[Expression, ...]

    def is_met(self, answers: Mapping) -> bool:
        return any(o.is_met(answers) for o in self.operands)

    def text(self) -> str:
        return " or ".join(o.text() for o in self.operands)


Expression = Union[Condition, Comparison, Chosen, Answered, Not, And, Or]  # noqa: UP007
LEAVES = (Condition, Comparison, Chosen, Answered)


def _unique(codes) -> tuple[str, ...]:
    return tuple(dict.fromkeys(codes))


def condition_to_dict(condition: Expression) -> dict:
    """How a wave definition stores a condition: the one-question form as ``{item, values}``
    (as every definition frozen before the grammar), anything else as its text."""
    if isinstance(condition, Condition):
        return condition.to_dict()
    return {"expression": condition.text()}


def condition_from_dict(d: Mapping) -> Expression:
    if "expression" in d:
        return parse_condition(d["expression"])
    return Condition.from_dict(d)


# --------------------------------------------------------------------------- tokens

_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<name>[A-Za-z][A-Za-z0-9_]*)
  | (?P<op><=|>=|!=|=|<|>)
  | (?P<punct>[(),])
""", re.VERBOSE)


@dataclass(frozen=True)
class Token:
    kind: str  # number | name | keyword | function | op | ( | ) | , | end
    text: str
    position: int  # 1-based


def tokens(text: str) -> list[Token]:
    out: list[Token] = []
    at = 0
    while at < len(text):
        m = _TOKEN.match(text, at)
        if m is None:
            raise ConditionSyntaxError(at + 1, f"unexpected character {text[at]!r}")
        kind = m.lastgroup
        word = m.group()
        if kind == "name":
            if word in KEYWORDS:
                kind = "keyword"
            elif word in FUNCTIONS and text[m.end():].lstrip().startswith("("):
                kind = "function"
        elif kind == "punct":
            kind = word
        if kind != "space":
            out.append(Token(kind, word, at + 1))
        at = m.end()
    out.append(Token("end", "", len(text) + 1))
    return out


def _describe(token: Token) -> str:
    return "the end of the condition" if token.kind == "end" else repr(token.text)


# --------------------------------------------------------------------------- the parser


class _Parser:
    """Recursive descent over :func:`tokens`, one method per rule of the grammar."""

    def __init__(self, text: str) -> None:
        self.tokens = tokens(text)
        self.at = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def expect(self, kind: str, what: str, after: Token | None = None) -> Token:
        token = self.token
        if token.kind != kind:
            where = f" after {after.text!r}" if after is not None else ""
            raise ConditionSyntaxError(token.position,
                                       f"expected {what}{where}, got {_describe(token)}")
        return self.take()

    def parse(self) -> Expression:
        if self.token.kind == "end":
            raise ConditionSyntaxError(1, "empty condition")
        expression = self.expr()
        if self.token.kind != "end":
            raise ConditionSyntaxError(self.token.position,
                                       f"expected 'and', 'or' or the end of the condition, "
                                       f"got {_describe(self.token)}")
        return expression

    def expr(self) -> Expression:
        operands = [self.conjunction()]
        while self.token.kind == "keyword" and self.token.text == "or":
            self.take()
            operands.append(self.conjunction())
        return _joined(Or, operands)

    def conjunction(self) -> Expression:
        operands = [self.negation()]
        while self.token.kind == "keyword" and self.token.text == "and":
            self.take()
            operands.append(self.negation())
        return _joined(And, operands)

    def deeper(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ConditionSyntaxError(token.position, f"brackets and 'not' nest more than "
                                       f"{MAX_DEPTH} deep")

    def negation(self) -> Expression:
        if self.token.kind == "keyword" and self.token.text == "not":
            self.deeper(self.take())
            operand = self.negation()
            self.depth -= 1
            return Not(operand)
        return self.atom()

    def atom(self) -> Expression:
        token = self.token
        if token.kind == "(":
            self.deeper(self.take())
            inner = self.expr()
            self.expect(")", "')'")
            self.depth -= 1
            return inner
        if token.kind == "function":
            return self.function()
        if token.kind == "name":
            return self.test()
        raise ConditionSyntaxError(token.position,
                                   f"expected an item code, 'not', 'any_of', 'all_of', "
                                   f"'answered' or '(', got {_describe(token)}")

    def test(self) -> Expression:
        code = self.take()
        token = self.token
        if token.kind == "op":
            op = self.take()
            value = self.expect("number", "a value", after=op)
            return Comparison(code.text, op.text, Decimal(value.text), position=code.position)
        if token.kind == "keyword" and token.text == "in":
            keyword = self.take()
            self.expect("(", "'('", after=keyword)
            values = self.codes()
            self.expect(")", "',' or ')'")
            return Condition(code.text, frozenset(values), position=code.position)
        raise ConditionSyntaxError(token.position,
                                   f"expected =, !=, <, <=, >, >= or 'in' after "
                                   f"{code.text!r}, got {_describe(token)}")

    def function(self) -> Expression:
        name = self.take()
        self.expect("(", "'('", after=name)
        code = self.expect("name", "an item code", after=name)
        if name.text == "answered":
            self.expect(")", "')'", after=code)
            return Answered(code.text, position=name.position)
        self.expect(",", "',' and at least one answer code", after=code)
        values = self.codes()
        self.expect(")", "',' or ')'")
        function = "any_of" if name.text == "all_of" and len(values) == 1 else name.text
        return Chosen(function, code.text, frozenset(values), position=name.position)

    def codes(self) -> list[int]:
        values = [self.code()]
        while self.token.kind == ",":
            self.take()
            values.append(self.code())
        return values

    def code(self) -> int:
        token = self.expect("number", "an answer code")
        if not re.fullmatch(r"-?\d+", token.text):
            raise ConditionSyntaxError(token.position,
                                       f"an answer code is a whole number, got {token.text}")
        return int(token.text)


def _joined(kind, operands: list[Expression]) -> Expression:
    """``kind`` (And/Or) of ``operands``, flattened and merged into the normal form."""
    if len(operands) == 1:
        return operands[0]
    flat: list[Expression] = []
    for operand in operands:
        flat.extend(operand.operands if isinstance(operand, kind) else (operand,))
    merged: list[Expression] = []
    for operand in flat:
        previous = merged[-1] if merged else None
        combined = _merge(kind, previous, operand) if previous is not None else None
        if combined is not None:
            merged[-1] = combined
        else:
            merged.append(operand)
    return merged[0] if len(merged) == 1 else kind(tuple(merged))


def _merge(kind, a: Expression, b: Expression) -> Expression | None:
    """``a`` and ``b`` as one test when they are one in the normal form, else None."""
    if kind is Or and isinstance(a, Condition) and isinstance(b, Condition) \
            and a.item == b.item:
        return Condition(a.item, a.values | b.values, position=a.position)
    if isinstance(a, Chosen) and isinstance(b, Chosen) and a.item == b.item:
        # one code chosen is both any_of and all_of of it
        function = "any_of" if kind is Or else "all_of"
        if all(c.function == function or len(c.values) == 1 for c in (a, b)):
            return Chosen(function, a.item, a.values | b.values, position=a.position)
    return None


def parse_condition(text: str) -> Expression:
    """The condition ``text`` as its node; raises :class:`ConditionSyntaxError`."""
    if not isinstance(text, str):
        raise ConditionSyntaxError(1, f"a condition is text, got {type(text).__name__}")
    return _Parser(text).parse()


__all__ = [
    "COMPARISONS",
    "And",
    "Answered",
    "Chosen",
    "Comparison",
    "Condition",
    "ConditionSyntaxError",
    "Expression",
    "Not",
    "Or",
    "condition_from_dict",
    "condition_to_dict",
    "parse_condition",
]
