"""A wave as an XLSForm workbook (sheets ``survey``, ``choices``, ``settings``).

Layout (docs/questionnaires.md, "XLSForm"): a first group ``consent`` whose label is the wave's
title and whose notes are the consent text and the five study details; then one ``field-list``
group per page (``grid`` = yes on grid pages) holding a row per item: ``select_one LIST`` for
the choice types, ``select_multiple LIST``, ``integer``, ``decimal`` or ``text`` for the others,
whose settings become a ``constraint`` (and ``decimals``, ``unit::…``). National items carry
their ``wording_version``; conditions become ``relevant`` expressions.
"""

from __future__ import annotations

from pathlib import Path

from ..model import CHOICE_TYPES, LANGUAGES, STUDY_FIELDS, Item, ItemBank, Option, Wave
from .conditions import odk_expression
from .constraints import constraint_expression
from .workbook import LANGUAGE_NAMES, XLSFormError

CONSENT_GROUP = "consent"
CONSENT_NOTE = "consent_text"
STUDY_NOTES = {f"study_{name}": name for name in STUDY_FIELDS}
DEFAULT_LANGUAGE = "zh"

SURVEY_HEADINGS = ("type", "name", *(f"label::{LANGUAGE_NAMES[lang]}" for lang in LANGUAGES),
                   "required", "relevant", "appearance", "wording_version", "grid")
CHOICE_HEADINGS = ("list_name", "name", *(f"label::{LANGUAGE_NAMES[lang]}" for lang in LANGUAGES),
                   "export_value")
# written only for a wave with typed questions (integer, decimal, text, select_multiple), so
# the workbook of a wave of choices stays as it was
TYPED_HEADINGS = ("constraint", "decimals",
                  *(f"unit::{LANGUAGE_NAMES[lang]}" for lang in LANGUAGES))
# written only for a wave with randomised order: ``randomise`` (ours) = items on a page's
# group, ODK's ``parameters`` = randomize=true on a question whose options are shuffled
RANDOMISED_HEADINGS = ("randomise", "parameters")
SETTINGS_HEADINGS = ("form_id", "form_title", "version", "default_language", "norms_version",
                     "opens", "closes", "min_seconds_per_item")
WIDGET_APPEARANCE = {"radio": "", "select": "minimal"}


def export_xlsform(wave: Wave, out: str | Path, bank: ItemBank | None = None) -> Path:
    """Write ``wave`` as an XLSForm workbook to ``out``; returns the path."""
    out = Path(out)
    build_workbook(wave, bank).save(out)
    return out


def build_workbook(wave: Wave, bank: ItemBank | None = None):
    """The openpyxl workbook of ``wave`` (the bank's scales name the shared choice lists)."""
    import openpyxl

    from ..loader import load_item_bank

    bank = bank if bank is not None else load_item_bank()
    _check_unique_names(wave)
    lists = ChoiceLists(bank)
    typed = any(item.type not in CHOICE_TYPES for item in wave.items.values())
    randomised = any(page.randomise for page in wave.pages) or any(
        item.randomise_options for item in wave.items.values())
    headings = (SURVEY_HEADINGS + (TYPED_HEADINGS if typed else ())
                + (RANDOMISED_HEADINGS if randomised else ()))
    book = openpyxl.Workbook()
    survey = book.active
    survey.title = "survey"
    _append(survey, headings)
    for row in _survey_rows(wave, lists):
        _append(survey, [row.get(h, "") for h in headings])
    choices = book.create_sheet("choices")
    _append(choices, CHOICE_HEADINGS)
    for name, options in lists.lists.items():
        for option in options:
            _append(choices, [name, option.code, *(option.label[lang] for lang in LANGUAGES),
                              option.value or ""])
    settings = book.create_sheet("settings")
    _append(settings, SETTINGS_HEADINGS)
    seconds = wave.quality.min_seconds_per_item
    _append(settings, [f"ten_norms_{wave.year}", wave.title[DEFAULT_LANGUAGE],
                       f"{wave.year}-{wave.content_hash[:8]}", LANGUAGE_NAMES[DEFAULT_LANGUAGE],
                       wave.norms_version, wave.opens.isoformat(), wave.closes.isoformat(),
                       int(seconds) if float(seconds).is_integer() else seconds])
    for sheet, widths in ((survey, (22, 26, 60, 60, 10, 28, 12, 16, 6, 34, 9, 10, 10)),
                          (choices, (16, 10, 30, 30, 18)), (settings, (18,) * 8)):
        _layout(sheet, widths)
    return book


def _check_unique_names(wave: Wave) -> None:
    """XLSForm names are unique in the sheet; a wave's page keys and item codes need only be
    unique among themselves."""
    names = {CONSENT_GROUP: "the consent group", CONSENT_NOTE: "the consent note",
             **{note: "a study note" for note in STUDY_NOTES}}
    for page in wave.pages:
        for kind, name in (("page key", page.key),
                           *(("item code", item.code) for item in page.items)):
            if name in names:
                raise XLSFormError(wave.source or f"wave {wave.year}",
                                   f"cannot be written as XLSForm: the {kind} {name!r} is also "
                                   f"the name of {names[name]}")
            names[name] = f"the {kind.split()[0]} {name!r}"


def _survey_rows(wave: Wave, lists: ChoiceLists) -> list[dict[str, str]]:
    rows = [_group(CONSENT_GROUP, wave.title)]
    rows.append({"type": "note", "name": CONSENT_NOTE, **_labels(wave.consent)})
    if wave.study is not None:
        for name, field in STUDY_NOTES.items():
            rows.append({"type": "note", "name": name, **_labels(getattr(wave.study, field))})
    rows.append({"type": "end_group"})
    for page in wave.pages:
        rows.append({**_group(page.key, page.title), "grid": "yes" if page.grid else "",
                     "randomise": "items" if page.randomise else ""})
        rows += [_question(item, wave, lists) for item in page.items]
        rows.append({"type": "end_group"})
    return rows


def _group(name: str, title: dict) -> dict[str, str]:
    return {"type": "begin_group", "name": name, **_labels(title), "appearance": "field-list"}


def _question(item: Item, wave: Wave, lists: ChoiceLists) -> dict[str, str]:
    row = {"type": _question_type(item, lists), "name": item.code, **_labels(item.text),
           "required": "yes" if item.required else "",
           "appearance": WIDGET_APPEARANCE.get(item.widget, ""),
           "wording_version": "" if item.kind == "local" else str(item.wording_version)}
    if item.type not in CHOICE_TYPES:
        row["constraint"] = constraint_expression(item.type, item.settings)
        if item.type == "decimal":
            row["decimals"] = str(item.settings["decimals"])
        if item.settings.get("unit"):
            row.update({f"unit::{LANGUAGE_NAMES[lang]}": item.settings["unit"][lang]
                        for lang in LANGUAGES})
    if item.randomise_options:
        row["parameters"] = "randomize=true"
    if item.condition is not None:
        row["relevant"] = odk_expression(item.condition,
                                         lambda code: wave.items[code].answer_codes)
    return row


def _question_type(item: Item, lists: ChoiceLists) -> str:
    if item.type in CHOICE_TYPES:
        return f"select_one {lists.name_for(item)}"
    if item.type == "select_multiple":
        return f"select_multiple {lists.name_for(item)}"
    return item.type  # integer, decimal, text: XLSForm's own names


def _labels(text: dict) -> dict[str, str]:
    return {f"label::{LANGUAGE_NAMES[lang]}": text[lang] for lang in LANGUAGES}


class ChoiceLists:
    """Choice list names: a bank scale's name (``frequency``; ``frequency_na`` with "not
    applicable") when an item's options are that scale's, else the item's code."""

    def __init__(self, bank: ItemBank) -> None:
        self.scales = bank.scales
        self.lists: dict[str, tuple[Option, ...]] = {}

    def name_for(self, item: Item) -> str:
        name = item.code
        for scale, (options, na) in self.scales.items():
            if (item.type in CHOICE_TYPES and item.options == options
                    and item.not_applicable in (None, na)):
                name = f"{scale}_na" if item.not_applicable else scale
        base, n = name, 1
        while self.lists.get(name, item.all_options) != item.all_options:
            n += 1
            name = f"{base}_{n}"
        self.lists[name] = item.all_options
        return name


def _append(sheet, values) -> None:
    sheet.append(list(values))
    for cell in sheet[sheet.max_row]:
        # a text starting with '=' is text, never a formula (CSV/formula injection)
        if isinstance(cell.value, str) and cell.value.startswith("="):
            cell.data_type = "s"


def _layout(sheet, widths) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = "A2"
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and "\n" in cell.value:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
