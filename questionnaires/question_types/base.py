"""What every question type provides (one subclass per module of this package).

A question type owns everything about its answers that does not depend on the web or on the
analysis: which fields its definition takes in a wave file and how they are checked, the
``settings`` it keeps on the :class:`~questionnaires.model.Item`, the rules an answer must
meet, the export's columns and cells for it and their codebook rows.  The web app adds the form
parsing and the page markup (``survey/question_types/``); the analysis reads the codebook rows.

An answer travels in one of two stored forms, the same in memory, in the database and in the
answers a condition reads: an ``int`` (a choice's option code, a whole number, a set of choices
as a bitmask) or a ``str`` (a decimal number written out, a text).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..model import Item, Option, Text

Answer = int | str


@dataclass(frozen=True)
class Problem:
    """Why an answer is refused: ``key`` names the message (the web translates it), ``params``
    fill it in (``{"min": 0, "max": 20}``)."""

    key: str
    params: dict = field(default_factory=dict)


class QuestionType:
    """Base of the question types; see the module docstring."""

    name: ClassVar[str]
    # a condition (show_if) may test this type's answers for option codes
    choice: ClassVar[bool] = False
    # fields a local item of this type may have besides code, text, type, note
    definition_fields: ClassVar[tuple[str, ...]] = ()
    # the codebook's ``type`` of its export columns
    codebook_type: ClassVar[str] = "integer"

    # ------------------------------------------------------------ definition
    def parse_definition(self, check, code: str, d: dict, bank_parser
                         ) -> tuple[tuple[Option, ...], Option | None, dict, str]:
        """``(options, not_applicable, settings, widget)`` of a local item's entry ``d``;
        ``check`` (a ``Checker``) reports a problem naming the item and the field."""
        raise NotImplementedError

    # ------------------------------------------------------------ answers
    def check(self, item: Item, value: Answer) -> Problem | None:
        """A given answer (in its stored form) against the item's rules."""
        return None

    # ------------------------------------------------------------ export and codebook
    def export_columns(self, item: Item) -> list[str]:
        return [item.code]

    def export_cells(self, item: Item, value: Answer | None) -> dict[str, Any]:
        """The export's cells for an answer (``None``: not answered or not shown)."""
        return {item.code: value}

    def codebook_rows(self, item: Item, row: dict[str, str]) -> list[dict[str, str]]:
        """The codebook rows of the item's columns; ``row`` is the row every item gets (item,
        kind, texts, wording version, condition, page) with the answer labels of its options."""
        return [{**row, "type": self.codebook_type}]

    def answered(self, value: Answer | None) -> bool:
        return value is not None


def unit_suffix(unit: Text | None, lang: str) -> str:
    return f" {unit[lang]}" if unit else ""


def local_unit(check, code: str, d: dict) -> Text | None:
    """``unit_zh``/``unit_en`` of a number item: both or neither."""
    given = [k for k in ("unit_zh", "unit_en") if d.get(k) is not None]
    if not given:
        return None
    if len(given) == 1:
        other = "unit_en" if given[0] == "unit_zh" else "unit_zh"
        check.fail(code, f"local_items.{other}", "missing (give the unit in zh and en)")
    return {lang: check.string(d[f"unit_{lang}"], code, f"local_items.unit_{lang}",
                               limit="label").strip() for lang in ("zh", "en")}
