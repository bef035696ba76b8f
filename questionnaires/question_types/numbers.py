"""What ``integer`` and ``decimal`` share: a range, an optional unit, one number column."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from .base import QuestionType, local_unit

# the largest magnitude of a range: an integer answer is stored in a 32-bit integer column,
# and no survey question needs more (a decimal is kept exactly as text, under the same bound)
LIMIT = 1_000_000_000
UNIT_FIELDS = ("unit_zh", "unit_en")


def decimal_of(value) -> Decimal | None:
    """A YAML number (int or float) as the Decimal it was written as; None if not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def written(number: Decimal) -> str:
    """``Decimal('12.50')`` → ``'12.5'``; no exponent, no ``-0``."""
    text = format(number.normalize(), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


class NumberType(QuestionType):
    codebook_type = "number"

    def _range(self, check, code, d, integral: bool) -> tuple[Decimal, Decimal]:
        bounds = []
        for name in ("min", "max"):
            if d.get(name) is None:
                check.fail(code, f"local_items.{name}", "missing (give the smallest and the "
                           "largest answer a person can give)")
            number = decimal_of(d[name])
            if number is None or (integral and number != number.to_integral_value()):
                what = "a whole number" if integral else "a number"
                check.fail(code, f"local_items.{name}", f"must be {what}, got {d[name]!r}")
            if abs(number) > LIMIT:
                check.fail(code, f"local_items.{name}",
                           f"must be between -{LIMIT:,} and {LIMIT:,}, got {d[name]!r}")
            bounds.append(number)
        if bounds[0] >= bounds[1]:
            check.fail(code, "local_items.min",
                       f"min {d['min']} must be less than max {d['max']}")
        return bounds[0], bounds[1]

    def _unit(self, check, code, d):
        return local_unit(check, code, d)

    def codebook_rows(self, item, row):
        settings = item.settings
        unit = settings.get("unit")
        low, high = settings["min"], settings["max"]
        texts = {lang: f"{row[f'text_{lang}']} [{low}–{high}"
                       f"{' ' + unit[lang] if unit else ''}]" for lang in ("zh", "en")}
        return [{**row, "type": self.codebook_type, "text_zh": texts["zh"],
                 "text_en": texts["en"], "answer_labels_zh": "", "answer_labels_en": "",
                 "not_applicable_code": ""}]
