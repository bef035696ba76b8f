"""``single_choice``: one answer from the item's own options (the demographics, a local item's
list).  Stored as the option code; a demographic exports its option's category value."""

from __future__ import annotations

from .choice import ChoiceType


class SingleChoice(ChoiceType):
    name = "single_choice"

    def parse_definition(self, check, code, d, bank_parser):
        if d.get("options") is None:
            check.fail(code, "local_items.options", "missing (a single_choice item lists its "
                       "options; a bank scale is type scale)")
        return super().parse_definition(check, code, d, bank_parser)

    def export_cells(self, item, value):
        if item.kind == "demographic":  # the category value, as the margins files spell it
            if value is None:
                return {item.code: None}
            return {item.code: next((o.value for o in item.all_options if o.code == value), None)}
        return {item.code: value}

    def codebook_rows(self, item, row):
        return [{**row, "type": "category" if item.kind == "demographic" else "integer"}]


TYPE = SingleChoice()
