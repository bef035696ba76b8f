"""An XLSForm workbook as a wave definition (the data of a wave file), validated.

The workbook is read into the same data a wave YAML file holds (``pages``, ``local_items``, the
consent text, the study details, dates), which the wave loader then validates, so a form and a
wave file obey exactly the same rules. Problems the sheets show directly are reported at their
cell; anything the wave loader finds afterwards is traced back to the row it came from.

Items of the national bank are recognised by their name (``N04_P3``) and keep their code and
wording version: the labels must be one of the bank's wordings (``wording_version`` says which;
without it the labels pick it) and the choice list must be the bank's answers. Any other name is
a local item, coded ``ORG_name`` with the organisation code given on import.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import QuestionnaireError
from ..loader import _NORM_ITEM_CODE, _WaveParser, load_item_bank, org_code_problem
from ..model import LANGUAGES, ItemBank, NormCatalogue, Option, Wave
from ..reference import load_norms
from .conditions import (
    ConditionSyntaxError,
    grammar_text,
    parse_relevant,
    referenced_fields,
)
from .constraints import SUPPORTED as CONSTRAINT_FORMS
from .constraints import ConstraintSyntaxError, parse_constraint
from .workbook import LANGUAGE_NAMES, Sheet, XLSFormError, echo, open_workbook, read_sheet
from .writer import CONSENT_GROUP, CONSENT_NOTE, STUDY_NOTES, WIDGET_APPEARANCE

# -------------------------------------------------------------------------- what is supported
# type -> the columns a row of that type may fill (besides type and name); the docs' table
SUPPORTED_TYPES = {
    "select_one": ("label", "required", "relevant", "appearance", "wording_version",
                   "parameters"),
    "select_multiple": ("label", "required", "relevant", "wording_version", "constraint",
                        "parameters"),
    "integer": ("label", "required", "relevant", "wording_version", "constraint", "unit"),
    "decimal": ("label", "required", "relevant", "wording_version", "constraint", "unit",
                "decimals"),
    "text": ("label", "required", "relevant", "wording_version", "constraint"),
    "begin_group": ("label", "appearance", "grid", "randomise"),
    "end_group": (),
    "note": ("label",),
}
# the rows that are questions; all but select_one are local items of a typed question type
QUESTION_TYPES = ("select_one", "select_multiple", "integer", "decimal", "text")
LIST_TYPES = ("select_one", "select_multiple")
TYPE_ALIASES = {"begin group": "begin_group", "end group": "end_group",
                "select one": "select_one", "select multiple": "select_multiple"}
# XLSForm types this platform does not ask (refused as unsupported rather than unknown)
UNSUPPORTED_TYPES = frozenset("""
    rank range date time datetime dateTime geopoint
    geotrace geoshape image audio video file barcode calculate acknowledge trigger hidden
    begin_repeat end_repeat begin_loop end_loop start end today deviceid subscriberid simserial
    phonenumber username email audit background-audio start-geopoint xml-external csv-external
    select_one_from_file select_multiple_from_file select_one_external
""".split())
_UNSUPPORTED_LOWER = frozenset(t.lower() for t in UNSUPPORTED_TYPES)
SURVEY_COLUMNS = ("type", "name", "label", "hint", "required", "relevant", "constraint",
                  "constraint_message", "appearance", "wording_version", "grid", "decimals",
                  "unit", "parameters", "randomise")
# the one ``parameters`` setting read: ODK's shuffled choices (randomise_options: true)
RANDOMIZE_PARAMETER = "randomize=true"
CHOICE_COLUMNS = ("list_name", "name", "label", "export_value")
SETTINGS_COLUMNS = ("form_id", "form_title", "version", "default_language", "norms_version",
                    "opens", "closes", "min_seconds_per_item")
# columns XLSForm knows whose feature the model cannot express: column -> why
UNSUPPORTED_COLUMNS = {
    "hint": "hints are not supported (the survey shows no hints); put the text in the label",
    "constraint": ("constraints are supported only on integer, decimal, text and "
                   "select_multiple questions (a select_one answer is a code from its list)"),
    "constraint_message": ("constraint messages are not supported (the survey gives its own "
                           "messages in zh and en)"),
}
REFUSED_SHEETS = ("external_choices", "entities", "osm")
GROUP_APPEARANCE = "field-list"
TRUE_WORDS, FALSE_WORDS = {"yes", "true", "true()", "1"}, {"", "no", "false", "false()", "0"}


@dataclass
class ImportedWave:
    """The validated wave and the wave-file data it was built from (``wave_yaml(data)``)."""

    wave: Wave
    data: dict


def import_xlsform(path: str | Path, year: int, org: str | None = None, *,
                   bank: ItemBank | None = None, norms: NormCatalogue | None = None
                   ) -> ImportedWave:
    """Read the XLSForm at ``path`` as wave ``year``; local items get the prefix ``org``_."""
    path = Path(path)
    if org is not None and (problem := org_code_problem(org)):
        raise XLSFormError(path, f"--org {echo(org)}: {problem}")
    bank = bank if bank is not None else load_item_bank()
    norms = norms or load_norms()
    workbook = open_workbook(path)
    try:
        sheets = {}
        for name in ("survey", "choices", "settings"):
            sheets[name] = read_sheet(workbook, path, name)
            if sheets[name] is None:
                raise XLSFormError(path, f"no sheet named {name!r} (an XLSForm has the sheets "
                                         "survey, choices and settings)", sheet=name)
        for name in REFUSED_SHEETS:
            if read_sheet(workbook, path, name) is not None:
                raise XLSFormError(path, f"the {name} sheet is not supported", sheet=name)
    finally:
        workbook.close()
    return _FormReader(path, year, org, bank, norms, sheets).read()


# -------------------------------------------------------------------------- the reader


@dataclass
class _Question:
    row: int
    name: str  # as the sheet writes it
    code: str  # the item code
    page: str


@dataclass
class _Page:
    row: int
    key: str
    data: dict
    questions: list[_Question] = field(default_factory=list)


class _FormReader:
    def __init__(self, path: Path, year: int, org: str | None, bank: ItemBank,
                 norms: NormCatalogue, sheets: dict[str, Sheet]) -> None:
        self.path, self.year, self.org = path, year, org
        self.bank, self.norms = bank, norms
        self.survey, self.choices, self.settings = (sheets["survey"], sheets["choices"],
                                                    sheets["settings"])
        self.names: dict[str, tuple[int, str]] = {}  # sheet name -> (row, type)
        self.questions: dict[str, _Question] = {}  # by sheet name
        self.pages: list[_Page] = []
        self.local_items: list[dict] = []
        self.consent_row: int | None = None
        self.consent_notes: dict[str, tuple[int, dict]] = {}
        self.title: dict | None = None

    # ------------------------------------------------------------------ top level
    def read(self) -> ImportedWave:
        self.lists = self._choice_lists()
        self._check_headings(self.survey, SURVEY_COLUMNS, need=("type", "name", "label"))
        self._survey_rows()
        data = self._wave_data()
        try:
            wave = _WaveParser(self.path, self.bank, self.norms,
                               year_in_name=False).parse_data(data)
        except XLSFormError:
            raise
        except QuestionnaireError as error:
            raise self._traced(error) from None
        return ImportedWave(wave=wave, data=data)

    def _check_headings(self, sheet: Sheet, known: tuple[str, ...], need: tuple[str, ...]):
        seen = set()
        for index, header in enumerate(sheet.headers):
            if header.base.startswith("$"):  # KoboToolbox's own bookkeeping columns
                continue
            if "::" in header.written and header.language is None:
                raise sheet.error("unsupported language (only 中文 (zh) and English (en))",
                                  1, index)
            key = (header.base, header.language)
            if header.base and key in seen:
                raise sheet.error("duplicate column", 1, index)
            seen.add(key)
            if header.base == "label" and header.language is None:
                raise sheet.error("give the language: label::中文 (zh) and "
                                  "label::English (en)", 1, index)
            if header.base not in known:
                for number, cells in sheet.rows:
                    if cells[index]:
                        raise sheet.error(f"unsupported column {echo(header.written)}",
                                          number, index)
        for base in need:
            languages = LANGUAGES if base == "label" else (None,)
            for lang in languages:
                if (base, lang) not in seen:
                    written = f"{base}::{LANGUAGE_NAMES[lang]}" if lang else base
                    raise sheet.error(f"missing column {written}", 1, written)

    def _cell(self, sheet: Sheet, cells: list[str], base: str, lang: str | None = None) -> str:
        for index, header in enumerate(sheet.headers):
            if header.base == base and header.language == lang:
                return cells[index]
        return ""

    def _labels(self, sheet: Sheet, number: int, cells: list[str], what: str,
                base: str = "label") -> dict[str, str]:
        text = {}
        for lang in LANGUAGES:
            value = self._cell(sheet, cells, base, lang)
            if not value:
                raise sheet.error(f"missing translation: {what} has no {LANGUAGE_NAMES[lang]} "
                                  "text", number, f"{base}::{LANGUAGE_NAMES[lang]}")
            text[lang] = value
        return text

    # ------------------------------------------------------------------ choices
    def _choice_lists(self) -> dict[str, list[tuple[int, Option]]]:
        sheet = self.choices
        self._check_headings(sheet, CHOICE_COLUMNS, need=("name", "label"))
        if not sheet.columns("list_name"):
            raise sheet.error("missing column list_name", 1, "list_name")
        lists: dict[str, list[tuple[int, Option]]] = {}
        for number, cells in sheet.rows:
            list_name = self._cell(sheet, cells, "list_name")
            if not list_name:
                raise sheet.error("missing list name", number, "list_name")
            name = self._cell(sheet, cells, "name")
            if not re.fullmatch(r"-?\d{1,9}", name):
                raise sheet.error(f"choice names are the integer answer codes the survey stores "
                                  f"(1, 2, ... 9), got {echo(name)}", number, "name")
            code = int(name)
            if any(o.code == code for _, o in lists.get(list_name, ())):
                raise sheet.error(f"duplicate name {code} in list {echo(list_name)}", number,
                                  "name")
            label = self._labels(sheet, number, cells, f"choice {code} of {echo(list_name)}")
            value = self._cell(sheet, cells, "export_value") or None
            lists.setdefault(list_name, []).append(
                (number, Option(code=code, label=label, value=value)))
        return lists

    # ------------------------------------------------------------------ survey
    def _survey_rows(self) -> None:
        sheet = self.survey
        self.later_names = {self._cell(sheet, cells, "name"): number
                            for number, cells in reversed(sheet.rows)}
        current: _Page | None = None
        in_consent = False
        for number, cells in sheet.rows:
            kind, argument = self._type(number, cells)
            self._check_placement(kind, number, current is not None, in_consent)
            self._check_row_columns(kind, number, cells)
            if kind == "end_group":
                current, in_consent = None, False
                continue
            name = self._name(number, cells, kind)
            if kind == "begin_group":
                if name == CONSENT_GROUP:
                    in_consent = True
                    self._consent_group(number, cells)
                else:
                    current = self._page(number, cells, name)
            elif kind == "note":
                self._consent_note(number, cells, name)
            elif kind == "select_one":
                self._question(number, cells, name, argument, current)
            else:
                self._typed_question(number, cells, name, kind, argument, current)
        if current is not None or in_consent:
            row = current.row if current is not None else self.consent_row
            raise sheet.error("this group has no end_group", row, "type")

    def _check_placement(self, kind: str, number: int, in_page: bool, in_consent: bool) -> None:
        """Pages are groups side by side; notes only in the consent group; questions only on
        pages."""
        problem = None
        if kind == "end_group" and not (in_page or in_consent):
            problem = "end_group without a begin_group"
        elif kind == "begin_group" and (in_page or in_consent):
            problem = "groups inside groups are not supported (each page is one group)"
        elif kind == "note" and not in_consent:
            problem = (f"notes are supported only in the {CONSENT_GROUP!r} group (the consent "
                       "text and the study details)")
        elif kind in QUESTION_TYPES and in_consent:
            problem = f"questions belong on pages, not in the {CONSENT_GROUP!r} group"
        elif kind in QUESTION_TYPES and not in_page:
            problem = ("a question outside any page; put it in a begin_group with appearance "
                       "field-list")
        if problem:
            raise self.survey.error(problem, number, "type")

    def _type(self, number: int, cells: list[str]) -> tuple[str, str]:
        sheet = self.survey
        written = " ".join(self._cell(sheet, cells, "type").split())
        if not written:
            raise sheet.error("missing type", number, "type")
        lowered = written.lower()
        for alias, kind in TYPE_ALIASES.items():
            if lowered.startswith(alias):
                written = kind + written[len(alias):]
        kind, _, argument = written.partition(" ")
        kind = kind.lower()
        if kind in LIST_TYPES and " or_other" in f" {argument}":
            raise sheet.error("or_other is not supported (answers are codes from the list)",
                              number, "type")
        if kind in SUPPORTED_TYPES:
            if kind in LIST_TYPES and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", argument):
                raise sheet.error(f"{kind} needs one choice list name "
                                  f"({kind} frequency), got {echo(written)}", number, "type")
            if kind not in LIST_TYPES and argument:
                raise sheet.error(f"unknown type {echo(written)}", number, "type")
            return kind, argument
        if kind in _UNSUPPORTED_LOWER:
            raise sheet.error(f"unsupported type {echo(kind)}: this platform asks select_one, "
                              "select_multiple, integer, decimal and text questions in "
                              "begin_group pages (see docs/questionnaires.md)",
                              number, "type")
        raise sheet.error(f"unknown type {echo(written)}", number, "type")

    def _check_row_columns(self, kind: str, number: int, cells: list[str]) -> None:
        sheet = self.survey
        allowed = {"type", "name", *SUPPORTED_TYPES[kind]}
        for index, header in enumerate(sheet.headers):
            if not cells[index] or header.base.startswith("$"):
                continue
            if header.base in UNSUPPORTED_COLUMNS and header.base not in allowed:
                raise sheet.error(UNSUPPORTED_COLUMNS[header.base], number, index)
            if header.base not in allowed:
                raise sheet.error(f"column {echo(header.written)} is not supported on a "
                                  f"{kind} row", number, index)

    def _name(self, number: int, cells: list[str], kind: str) -> str:
        sheet = self.survey
        name = self._cell(sheet, cells, "name")
        if not name:
            raise sheet.error(f"missing name (every {kind} row needs one)", number, "name")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", name) or len(name) > 100:
            raise sheet.error(f"bad name {echo(name)}: letters, digits, _ and -, starting with "
                              "a letter, at most 100 characters", number, "name")
        if name in self.names:
            raise sheet.error(f"duplicate name {echo(name)} (first on row "
                              f"{self.names[name][0]})", number, "name")
        self.names[name] = (number, kind)
        return name

    def _flag(self, sheet: Sheet, number: int, cells: list[str], base: str) -> bool:
        text = self._cell(sheet, cells, base).strip().lower()
        if text in TRUE_WORDS:
            return True
        if text in FALSE_WORDS:
            return False
        raise sheet.error(f"write yes or leave it empty, got {echo(text)}", number, base)

    # ------------------------------------------------------------------ groups
    def _consent_group(self, number: int, cells: list[str]) -> None:
        appearance = self._cell(self.survey, cells, "appearance")
        if appearance not in ("", GROUP_APPEARANCE):
            raise self.survey.error(f"the {CONSENT_GROUP!r} group's appearance is field-list",
                                    number, "appearance")
        if self._cell(self.survey, cells, "grid"):
            raise self.survey.error("the consent page is not a grid", number, "grid")
        self.consent_row = number
        self.title = self._labels(self.survey, number, cells, "the survey's title (the label "
                                  f"of group {CONSENT_GROUP!r})")

    def _consent_note(self, number: int, cells: list[str], name: str) -> None:
        known = (CONSENT_NOTE, *STUDY_NOTES)
        if name not in known:
            raise self.survey.error(f"unknown note {echo(name)} in group {CONSENT_GROUP!r} "
                                    f"(expected {', '.join(known)})", number, "name")
        self.consent_notes[name] = (number, self._labels(self.survey, number, cells,
                                                         f"note {name!r}"))

    def _page(self, number: int, cells: list[str], key: str) -> _Page:
        sheet = self.survey
        appearance = self._cell(sheet, cells, "appearance")
        if appearance != GROUP_APPEARANCE:
            raise sheet.error(f"a page is a group with appearance field-list, got "
                              f"{echo(appearance) if appearance else 'none'}", number,
                              "appearance")
        title = self._labels(sheet, number, cells, f"page {key!r}")
        data: dict[str, Any] = {"key": key}
        norm, version = self.norms.norms.get(key), self._norms_version()
        if norm is not None and version in norm.texts and norm.title(version) == title:
            data["norm"] = key  # the wave file says norm: N01 for the norm's own title
        else:
            data["title"] = title
        if self._flag(sheet, number, cells, "grid"):
            data["grid"] = True
        randomise = self._cell(sheet, cells, "randomise")
        if randomise:  # the wave loader checks the value
            data["randomise"] = randomise
        data["items"] = []
        page = _Page(row=number, key=key, data=data)
        self.pages.append(page)
        return page

    # ------------------------------------------------------------------ questions
    def _question(self, number: int, cells: list[str], name: str, list_name: str,
                  page: _Page) -> None:
        sheet = self.survey
        if list_name not in self.lists:
            raise sheet.error(f"missing choice list {echo(list_name)} (no rows with that "
                              "list_name on the choices sheet)", number, "type")
        labels = self._labels(sheet, number, cells, f"question {name!r}")
        widget = self._widget(number, cells)
        required = self._flag(sheet, number, cells, "required")
        if name in self.bank:
            code, entry_code, default_required = self._national(number, cells, name, labels,
                                                                list_name, widget)
        else:
            code = self._local(number, cells, name, labels, list_name, widget)
            entry_code, default_required = code, True
        question = _Question(row=number, name=name, code=code, page=page.key)
        entry: dict[str, Any] = {"item": entry_code}
        if required != default_required:
            entry["required"] = required
        self._parameters(number, cells, entry)
        relevant = self._cell(sheet, cells, "relevant")
        if relevant:
            entry["show_if"] = self._condition(number, relevant, question)
        page.data["items"].append(entry if len(entry) > 1 else entry_code)
        page.questions.append(question)
        self.questions[name] = question

    def _typed_question(self, number: int, cells: list[str], name: str, kind: str,
                        list_name: str, page: _Page) -> None:
        """A select_multiple, integer, decimal or text row: always a local item (the national
        bank asks select_one questions only)."""
        sheet = self.survey
        if name in self.bank:
            raise sheet.error(f"{name} is a select_one question in the national item bank",
                              number, "type")
        if kind == "select_multiple" and list_name not in self.lists:
            raise sheet.error(f"missing choice list {echo(list_name)} (no rows with that "
                              "list_name on the choices sheet)", number, "type")
        labels = self._labels(sheet, number, cells, f"question {name!r}")
        required = self._flag(sheet, number, cells, "required")
        code = self._local_code(number, cells, name)
        item: dict[str, Any] = {"code": code, "type": kind}
        try:
            item.update(parse_constraint(kind, self._cell(sheet, cells, "constraint")))
        except ConstraintSyntaxError as error:
            raise sheet.error(f"{echo(self._cell(sheet, cells, 'constraint'))} {error}", number,
                              "constraint") from None
        if kind == "select_multiple":
            item["options"] = self._local_options(list_name)
        if kind in ("integer", "decimal"):
            self._typed_number(number, cells, kind, item)
        item["text"] = labels
        self.local_items.append(item)
        question = _Question(row=number, name=name, code=code, page=page.key)
        entry: dict[str, Any] = {"item": code}
        if not required:
            entry["required"] = False
        self._parameters(number, cells, entry)
        relevant = self._cell(sheet, cells, "relevant")
        if relevant:
            entry["show_if"] = self._condition(number, relevant, question)
        page.data["items"].append(entry if len(entry) > 1 else code)
        page.questions.append(question)
        self.questions[name] = question

    def _parameters(self, number: int, cells: list[str], entry: dict) -> None:
        """``randomize=true``: the options in an order of each response's own."""
        text = self._cell(self.survey, cells, "parameters")
        if not text:
            return
        if re.sub(r"\s+", "", text).lower() != RANDOMIZE_PARAMETER:
            raise self.survey.error(f"unsupported parameters {echo(text)}: only "
                                    f"{RANDOMIZE_PARAMETER} (shuffled options) is supported",
                                    number, "parameters")
        entry["randomise_options"] = True

    def _typed_number(self, number: int, cells: list[str], kind: str, item: dict) -> None:
        sheet = self.survey
        if "min" not in item or "max" not in item:
            raise sheet.error(f"an {kind} question needs its range as a constraint: "
                              f"{CONSTRAINT_FORMS[kind]}", number, "constraint")
        units = {lang: self._cell(sheet, cells, "unit", lang) for lang in LANGUAGES}
        if any(units.values()):
            for lang in LANGUAGES:
                if not units[lang]:
                    raise sheet.error(f"missing translation: the unit has no "
                                      f"{LANGUAGE_NAMES[lang]} text", number,
                                      f"unit::{LANGUAGE_NAMES[lang]}")
                item[f"unit_{lang}"] = units[lang]
        decimals = self._cell(sheet, cells, "decimals")
        if decimals:
            if not decimals.isdigit():
                raise sheet.error(f"decimals is a number of digits, got {echo(decimals)}",
                                  number, "decimals")
            item["decimals"] = int(decimals)

    def _widget(self, number: int, cells: list[str]) -> str:
        appearance = self._cell(self.survey, cells, "appearance")
        for widget, written in WIDGET_APPEARANCE.items():
            if appearance == written:
                return widget
        raise self.survey.error(f"unsupported appearance {echo(appearance)} (a question is a "
                                "list of buttons, or minimal for a drop-down list)", number,
                                "appearance")

    def _national(self, number: int, cells: list[str], name: str, labels: dict,
                  list_name: str, widget: str) -> tuple[str, str, bool]:
        """A national item: its wording version (given or found by its labels), checked."""
        sheet = self.survey
        definition = self.bank[name]
        written = self._cell(sheet, cells, "wording_version")
        known = [v.version for v in definition.versions]
        if written:
            if not written.isdigit() or int(written) not in known:
                raise sheet.error(f"{name} has no wording version {echo(written)} in the item "
                                  f"bank (it has {', '.join(map(str, known))})", number,
                                  "wording_version")
            version = definition.version(int(written))
            for lang in LANGUAGES:
                if labels[lang] != version.text[lang]:
                    raise sheet.error(
                        f"the label differs from wording version {version.version} of {name} in "
                        "the national item bank; national items keep the bank's wording (give "
                        "the question another name to ask it as a local item)", number,
                        f"label::{LANGUAGE_NAMES[lang]}")
        else:
            matches = [v for v in definition.versions if v.text == labels]
            if not matches:
                raise sheet.error(
                    f"the labels match none of the wordings of {name} in the national item bank "
                    f"(versions {', '.join(map(str, known))}); national items keep the bank's "
                    "wording (or give the question another name to ask it as a local item)",
                    number, f"label::{LANGUAGE_NAMES['zh']}")
            version = matches[-1]
        self._same_answers(number, list_name, definition.options, definition.not_applicable,
                           name, with_values=definition.kind == "demographic")
        if widget != definition.widget:
            raise sheet.error(f"{name} is shown as {definition.widget} in the item bank; write "
                              f"appearance {WIDGET_APPEARANCE[definition.widget] or '(empty)'}",
                              number, "appearance")
        latest = definition.latest_version
        entry = name if version.version == latest else f"{name}@{version.version}"
        return name, entry, definition.required

    def _same_answers(self, number: int, list_name: str, options: tuple[Option, ...],
                      na: Option | None, name: str, with_values: bool) -> None:
        """The choice list must be the bank's answers: same codes, labels and export values."""
        expected = (*options, na) if na else options
        rows = self.lists[list_name]
        codes = [o.code for _, o in rows]
        if codes != [o.code for o in expected]:
            raise self.survey.error(
                f"list {echo(list_name)} has the codes {', '.join(map(str, codes))}; {name} "
                f"answers {', '.join(str(o.code) for o in expected)} in the national item bank",
                number, "type")
        for (row, got), want in zip(rows, expected, strict=True):
            for lang in LANGUAGES:
                if got.label[lang] != want.label[lang]:
                    raise self.choices.error(
                        f"the label of {got.code} in list {echo(list_name)} differs from the "
                        f"national item bank's {echo(want.label[lang])} (used by {name})", row,
                        f"label::{LANGUAGE_NAMES[lang]}")
            if with_values and got.value != want.value:
                raise self.choices.error(
                    f"{name} exports {got.code} as {echo(want.value)}, got "
                    f"{echo(got.value or '')}", row, "export_value")

    def _local(self, number: int, cells: list[str], name: str, labels: dict,
               list_name: str, widget: str) -> str:
        code = self._local_code(number, cells, name)
        item: dict[str, Any] = {"code": code}
        item.update(self._local_answers(number, list_name))
        if widget != "radio":
            item["widget"] = widget
        item["text"] = labels
        self.local_items.append(item)
        return code

    def _local_code(self, number: int, cells: list[str], name: str) -> str:
        """A local item's code, ``ORG_name``, from the row's name."""
        sheet = self.survey
        if _NORM_ITEM_CODE.match(name):
            raise sheet.error(f"{name} looks like a national item code, but the item bank has "
                              "no such item", number, "name")
        if self.org is None:
            raise sheet.error(f"{echo(name)} is not an item of the national bank; import it as "
                              "a local item with --org CODE (its code becomes CODE_name)",
                              number, "name")
        if not re.fullmatch(r"[A-Za-z0-9_]+", name):
            raise sheet.error(f"a local item's name has letters, digits and _ only, got "
                              f"{echo(name)}", number, "name")
        code = name if name.startswith(f"{self.org}_") else f"{self.org}_{name}"
        if code in self.bank:
            raise sheet.error(f"{code} is an item of the national bank; name it {code}",
                              number, "name")
        if self._cell(sheet, cells, "wording_version") not in ("", "1"):
            raise sheet.error("a local item has one wording (version 1)", number,
                              "wording_version")
        return code

    def _local_options(self, list_name: str) -> list[dict]:
        rows = self.lists[list_name]
        for row, option in rows:
            if option.value is not None:
                raise self.choices.error("export values are for the national demographics "
                                         "only; leave it empty", row, "export_value")
        return [{"code": o.code, "label": dict(o.label)} for _, o in rows]

    def _local_answers(self, number: int, list_name: str) -> dict[str, Any]:
        """``scale: NAME`` (with ``not_applicable``) when the list is a bank scale's answers,
        else the options themselves."""
        listed = self._local_options(list_name)
        options = tuple(o for _, o in self.lists[list_name])
        for scale, (scale_options, na) in self.bank.scales.items():
            if options == scale_options:
                return {"scale": scale}
            if na is not None and options == (*scale_options, na):
                return {"scale": scale, "not_applicable": True}
        return {"options": listed}

    def _condition(self, number: int, expression: str, question: _Question) -> dict:
        sheet = self.survey
        for reference in referenced_fields(expression):
            if reference == question.name:
                raise sheet.error("an item cannot depend on its own answer", number, "relevant")
            if reference not in self.names and reference in self.later_names:
                raise sheet.error(f"${{{shown_name(reference)}}} comes later in the form (row "
                                  f"{self.later_names[reference]}); a condition can only use "
                                  "earlier answers", number, "relevant")
            if reference not in self.names:
                raise sheet.error(f"reference to unknown field ${{{shown_name(reference)}}}",
                                  number, "relevant")
        for reference in referenced_fields(expression):
            if reference not in self.questions:
                row, kind = self.names[reference]
                raise sheet.error(f"${{{shown_name(reference)}}} is a {kind} (row {row}); a "
                                  "condition can only use an earlier question's answer",
                                  number, "relevant")
        try:
            parsed = parse_relevant(expression)
        except ConditionSyntaxError:
            parsed = None
        if parsed is not None and self._question_type(parsed.field) in (None, "scale",
                                                                        "single_choice"):
            # the one-question form: a select_one answer among some codes
            answers = self._answer_codes(self.questions[parsed.field])
            return {"item": self.questions[parsed.field].code,
                    "values": sorted(parsed.values(answers))}
        code_of = {name: question.code for name, question in self.questions.items()}
        try:
            return grammar_text(expression, code_of, self._question_type)
        except ConditionSyntaxError as error:
            raise sheet.error(f"{echo(expression)} {error}", number, "relevant") from None

    def _question_type(self, name: str) -> str | None:
        """A question's type name (None: a select_one of the national bank or a local one)."""
        code = self.questions[name].code
        local = next((i for i in self.local_items if i["code"] == code), {})
        return local.get("type")

    def _answer_codes(self, question: _Question) -> frozenset[int]:
        if question.code in self.bank:
            return self.bank[question.code].to_item().answer_codes
        local = next(i for i in self.local_items if i["code"] == question.code)
        if "options" in local:
            return frozenset(o["code"] for o in local["options"])
        options, na = self.bank.scales[local["scale"]]
        extra = {na.code} if local.get("not_applicable") else set()
        return frozenset({o.code for o in options} | extra)

    # ------------------------------------------------------------------ settings
    def _settings_row(self) -> tuple[int, list[str]]:
        sheet = self.settings
        self._check_headings(sheet, SETTINGS_COLUMNS, need=())
        if len(sheet.rows) != 1:
            raise sheet.error("the settings sheet has one row of values under its headings",
                              sheet.rows[1][0] if sheet.rows else 2, None)
        return sheet.rows[0]

    def _norms_version(self) -> str:
        number, cells = self._settings_row()
        value = self._cell(self.settings, cells, "norms_version")
        if not value:
            raise self.settings.error("missing: the Ten Norms version the page titles follow "
                                      f"({', '.join(self.norms.versions)})", number,
                                      "norms_version")
        return value

    def _date(self, base: str) -> str:
        number, cells = self._settings_row()
        value = self._cell(self.settings, cells, base)
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise self.settings.error(f"{'missing' if not value else 'bad date ' + echo(value)}"
                                      " (write YYYY-MM-DD)", number, base) from None

    def _wave_data(self) -> dict:
        number, cells = self._settings_row()
        settings = self.settings
        language = self._cell(settings, cells, "default_language")
        default = "zh"
        if language:
            default = _language(language)
            if default is None:
                raise settings.error(f"unsupported default language {echo(language)} (中文 (zh) "
                                     "or English (en))", number, "default_language")
        if self.consent_row is None:
            raise self.survey.error(f"no group {CONSENT_GROUP!r}: the first group holds the "
                                    "survey's title as its label and the consent text as note "
                                    f"{CONSENT_NOTE!r}", None, "name")
        form_title = self._cell(settings, cells, "form_title")
        if form_title and form_title != self.title[default]:
            raise settings.error(f"form_title differs from the label of group {CONSENT_GROUP!r} "
                                 f"(row {self.consent_row}), which is the survey's title",
                                 number, "form_title")
        for note in (CONSENT_NOTE, *STUDY_NOTES):
            if note not in self.consent_notes:
                raise self.survey.error(f"missing note {note!r} in group {CONSENT_GROUP!r}",
                                        self.consent_row, "name")
        data: dict[str, Any] = {
            "year": self.year, "title": self.title, "norms_version": self._norms_version(),
            "opens": dt.date.fromisoformat(self._date("opens")),
            "closes": dt.date.fromisoformat(self._date("closes")),
            "consent": self.consent_notes[CONSENT_NOTE][1],
            "study": {field: self.consent_notes[note][1] for note, field in STUDY_NOTES.items()},
        }
        seconds = self._cell(settings, cells, "min_seconds_per_item")
        if seconds:
            try:
                data["quality"] = {"min_seconds_per_item": _number(seconds)}
            except ValueError:
                raise settings.error(f"must be a number of seconds, got {echo(seconds)}",
                                     number, "min_seconds_per_item") from None
        if self.local_items:
            data["local_items"] = self.local_items
        if not self.pages:
            raise self.survey.error("no pages: add a begin_group with appearance field-list "
                                    "holding select_one questions", None, "type")
        for page in self.pages:
            if not page.questions:
                raise self.survey.error(f"page {page.key!r} has no questions", page.row, "name")
        data["pages"] = [page.data for page in self.pages]
        return data

    # ------------------------------------------------------------------ loader errors
    def _traced(self, error: QuestionnaireError) -> XLSFormError:
        """The wave loader's error at the row and column it came from."""
        field_ = error.field or ""
        problem = error.problem
        by_code = {q.code: q for q in self.questions.values()}
        language = "en" if re.search(r"\ben\b", problem) else "zh"
        label = f"label::{LANGUAGE_NAMES[language]}"
        if error.item in by_code:
            question = by_code[error.item]
            column = ("relevant" if field_.startswith("show_if") else
                      "required" if field_ == "required" else
                      "parameters" if field_ == "randomise_options" else
                      label if "text" in field_ else
                      "type" if field_.startswith(("local_items.options", "local_items.scale",
                                                   "local_items.type"))
                      else "constraint" if field_.removeprefix("local_items.") in
                      ("min", "max", "min_choices", "max_choices", "max_length")
                      else "decimals" if field_ == "local_items.decimals"
                      else f"unit::{LANGUAGE_NAMES[field_[-2:]]}"
                      if field_.startswith("local_items.unit_")
                      else "name")
            if column == "relevant":  # a position in the grammar's text, not in the cell
                problem = re.sub(r"^position \d+: ", "", problem)
            return self.survey.error(problem, question.row, column)
        if field_.startswith("pages."):
            key = field_.split(".")[1]
            row = next((p.row for p in self.pages if p.key == key), None)
            column = (label if ".title" in field_ else
                      "randomise" if field_.endswith(".randomise") else "name")
            return self.survey.error(problem, row, column)
        if field_ == "title":
            return self.survey.error(problem, self.consent_row, label)
        if field_ == "consent" or field_.startswith("study."):
            note = CONSENT_NOTE if field_ == "consent" else f"study_{field_.split('.')[1]}"
            return self.survey.error(problem, self.consent_notes[note][0], label)
        settings_column = field_.removeprefix("quality.")
        if settings_column in SETTINGS_COLUMNS:
            return self.settings.error(problem, self.settings.rows[0][0], settings_column)
        if field_ == "year":
            return XLSFormError(self.path, f"--year {self.year}: {problem}")
        return XLSFormError(self.path, problem, sheet=self.survey.name)


def shown_name(name: str) -> str:
    return echo(name)[1:-1]


def _language(text: str) -> str | None:
    from .workbook import language_of

    return language_of(text)


def _number(text: str) -> int | float:
    value = float(text)
    if value != value:
        raise ValueError(text)
    return int(value) if value.is_integer() else value
