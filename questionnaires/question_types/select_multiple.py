"""``select_multiple``: any number of the item's options (between ``min_choices`` and
``max_choices``).

Stored as one integer, a bitmask with bit ``code`` set for each chosen option, in the one
answer row every question has: option codes are therefore 1..30 (a bitmask fits a 32-bit
integer column), and saving, reading and the conditions' cache keys stay one value per item.
Exported as one 0/1 column per option, ``CODE__OPTION`` (``GZ_bins__2``), empty when the
question was not answered or not shown; the codebook describes each as its own column.
"""

from __future__ import annotations

from .base import Problem, QuestionType

MAX_OPTION_CODE = 30  # bits 1..30 of a signed 32-bit integer
COLUMN_SEPARATOR = "__"
CHOSEN_LABELS = {"zh": "0=未选; 1=已选", "en": "0=not chosen; 1=chosen"}


def mask_of(codes) -> int:
    mask = 0
    for code in codes:
        mask |= 1 << code
    return mask


def chosen(mask: int) -> list[int]:
    """The option codes set in ``mask``, ascending."""
    return [code for code in range(1, MAX_OPTION_CODE + 1) if mask >> code & 1]


def option_column(item_code: str, option_code: int) -> str:
    return f"{item_code}{COLUMN_SEPARATOR}{option_code}"


class SelectMultiple(QuestionType):
    name = "select_multiple"
    definition_fields = ("options", "min_choices", "max_choices")

    def parse_definition(self, check, code, d, bank_parser):
        if d.get("options") is None:
            check.fail(code, "local_items.options", "missing (list the options to choose from)")
        options = check.options(d["options"], code, "local_items.options", need_value=False)
        for option in options:
            if not 1 <= option.code <= MAX_OPTION_CODE:
                check.fail(code, "local_items.options",
                           f"option code {option.code}: the options of a select_multiple item "
                           f"are coded 1..{MAX_OPTION_CODE}")
        n = len(options)
        low = self._count(check, code, d, "min_choices", 1, n)
        high = self._count(check, code, d, "max_choices", n, n)
        if low > high:
            check.fail(code, "local_items.min_choices",
                       f"min_choices {low} is more than max_choices {high}")
        return options, None, {"min_choices": low, "max_choices": high}, "checkbox"

    @staticmethod
    def _count(check, code, d, name, default, n) -> int:
        if d.get(name) is None:
            return default
        value = check.integer(d[name], code, f"local_items.{name}")
        if not 1 <= value <= n:
            check.fail(code, f"local_items.{name}",
                       f"must be 1..{n} (the number of options), got {value}")
        return value

    def check(self, item, value):
        if not isinstance(value, int) or value <= 0 or value & ~mask_of(
                o.code for o in item.options):
            return Problem("not_an_option")
        count = len(chosen(value))
        settings = item.settings
        if count < settings["min_choices"]:
            return Problem("too_few_choices", {"min": settings["min_choices"]})
        if count > settings["max_choices"]:
            return Problem("too_many_choices", {"max": settings["max_choices"]})
        return None

    def export_columns(self, item):
        return [option_column(item.code, o.code) for o in item.options]

    def export_cells(self, item, value):
        return {option_column(item.code, o.code):
                None if value is None else (value >> o.code) & 1 for o in item.options}

    def codebook_rows(self, item, row):
        rows = []
        for option in item.options:
            rows.append({
                **row, "item": option_column(item.code, option.code), "type": "integer",
                "text_zh": f"{row['text_zh']}：{option.label['zh']}",
                "text_en": f"{row['text_en']}: {option.label['en']}",
                "answer_labels_zh": CHOSEN_LABELS["zh"], "answer_labels_en": CHOSEN_LABELS["en"],
                "not_applicable_code": ""})
        return rows


TYPE = SelectMultiple()
