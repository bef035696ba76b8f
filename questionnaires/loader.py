"""Loading and validating the item bank and the wave definitions.

Every problem raises :class:`~questionnaires.errors.QuestionnaireError` naming the file, the item
and the field, e.g. ``questionnaires/waves/2025.yaml: item 'N05_P9', field 'items': unknown item
code``.  See docs/questionnaires.md for the file formats and the full list of messages.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from ._checks import Checker
from .conditions import (
    Answered,
    Chosen,
    Comparison,
    ConditionSyntaxError,
    Expression,
    Not,
    parse_condition,
    written,
)
from .errors import QuestionnaireError, display_path, read_yaml
from .model import (
    BANK_KINDS,
    NOT_APPLICABLE_CODE,
    STUDY_FIELDS,
    WIDGETS,
    Condition,
    Item,
    ItemBank,
    ItemDefinition,
    ItemVersion,
    NormCatalogue,
    Option,
    Page,
    QualityRules,
    StudyInformation,
    Wave,
)
from .question_types import QUESTION_TYPES, UNTYPED_CHOICE
from .reference import CATALOGUE_DIR, _mtime, load_norms, load_provinces
from .safe_yaml import shown

ITEMS_FILE = CATALOGUE_DIR / "items.yaml"
WAVES_DIR = Path(__file__).resolve().parent / "waves"

_NORM_ITEM_CODE = re.compile(r"^(N\d\d)_([AP])(\d+)$")
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_KIND_LETTER = {"awareness": "A", "practice": "P"}
_PAGE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
# a local item's code: the organisation's code (a capital letter, then 1-9 capitals or digits),
# an underscore, a name; e.g. GZ_recycling_station
ORG_CODE = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")
_LOCAL_CODE = re.compile(r"^([A-Z][A-Z0-9]{1,9})_[A-Za-z0-9_]+$")
MAX_CODE_LENGTH = 32  # survey.models.Answer.item
_RESERVED_ORG = re.compile(r"^N\d\d$")  # would make local codes look like national ones


def org_code_problem(org: str) -> str | None:
    """Why ``org`` cannot prefix local item codes, or None when it can."""
    if not ORG_CODE.match(org):
        return ("an organisation code is 2-10 capital letters and digits starting with a "
                "letter (e.g. GZ, SZEEB)")
    if _RESERVED_ORG.match(org):
        return f"{org} looks like a norm code (N01..N10); choose another organisation code"
    return None


# =========================================================================== item bank


def load_item_bank(path: str | Path | None = None) -> ItemBank:
    """The item bank (default: the shipped ``catalogue/items.yaml``), validated.

    Returns an :class:`ItemBank`: a mapping item code -> :class:`ItemDefinition` in file order.
    """
    p = Path(path) if path is not None else ITEMS_FILE
    return _load_item_bank_cached(str(p.resolve()), _mtime(p), str(p))


@lru_cache(maxsize=8)
def _load_item_bank_cached(path: str, _mtime_ns: int, shown: str) -> ItemBank:
    return _BankParser(Path(shown), load_norms()).parse()


class _BankParser:
    def __init__(self, path: Path, norms: NormCatalogue) -> None:
        self.path = path
        self.norms = norms
        self.check = Checker(path)
        self.scales: dict[str, tuple[tuple[Option, ...], Option | None]] = {}

    def parse(self) -> ItemBank:
        return self.parse_data(read_yaml(self.path))

    def parse_data(self, data: Any) -> ItemBank:
        check = self.check
        if not isinstance(data, dict):
            check.fail(None, None, "the item bank must be a mapping with 'scales' and 'items'")
        check.fields(data, None, required=("scales", "items"), optional=("schema",))
        for name, scale in check.mapping(data["scales"], None, "scales").items():
            self.scales[str(name)] = self._scale(str(name), scale)
        definitions: dict[str, ItemDefinition] = {}
        first_seen: dict[str, int] = {}
        entries = check.list_(data["items"], None, "items")
        if not entries:
            check.fail(None, "items", "the item bank has no items")
        for n, raw in enumerate(entries, start=1):
            definition = self._item(raw, n)
            if definition.code in definitions:
                check.fail(
                    definition.code,
                    "code",
                    f"duplicate item code (first defined as entry #{first_seen[definition.code]})",
                )
            definitions[definition.code] = definition
            first_seen[definition.code] = n
        return ItemBank(definitions=definitions, scales=dict(self.scales), source=str(self.path))

    def _scale(self, name: str, raw: Any) -> tuple[tuple[Option, ...], Option | None]:
        check = self.check
        label = f"scale {name}"
        d = check.mapping(raw, label, None)
        check.fields(d, label, required=("options",), optional=("not_applicable",))
        options = check.options(d["options"], label, "options", need_value=False)
        na = None
        if d.get("not_applicable") is not None:
            na = check.option(
                d["not_applicable"], label, "not_applicable", need_value=False, position=1
            )
            if na.code != NOT_APPLICABLE_CODE:
                check.fail(
                    label,
                    "not_applicable",
                    f"the not-applicable code must be {NOT_APPLICABLE_CODE}",
                )
            if any(o.code == na.code for o in options):
                check.fail(
                    label, "options", f"option code {na.code} is reserved for not applicable"
                )
        return options, na

    def _item(self, raw: Any, position: int) -> ItemDefinition:
        check = self.check
        d = check.mapping(raw, f"#{position}", None)
        if "code" not in d:
            check.fail(f"#{position}", "code", "missing")
        code = check.string(d["code"], f"#{position}", "code")
        if not _CODE.match(code):
            check.fail(code, "code", "item codes are letters, digits and _ (e.g. N05_P1, sex)")
        check.fields(
            d,
            code,
            required=("code", "kind", "versions"),
            optional=(
                "norm",
                "scale",
                "options",
                "options_from",
                "not_applicable",
                "widget",
                "expected",
                "required",
                "note",
            ),
        )
        kind = d["kind"]
        if kind not in BANK_KINDS:
            check.fail(code, "kind", f"unknown kind {kind!r} (expected {', '.join(BANK_KINDS)})")
        norm = self._norm(code, kind, d.get("norm"))
        options, na = self._answers(code, kind, d)
        widget = d.get("widget", "radio")
        if widget not in WIDGETS:
            check.fail(code, "widget", f"unknown widget {widget!r} (expected radio or select)")
        expected = self._expected(code, kind, d.get("expected"), options, na)
        required = check.boolean(d.get("required", True), code, "required")
        note = d.get("note")
        if note is not None:
            note = check.string(note, code, "note", limit="note")
        return ItemDefinition(
            code=code,
            norm=norm,
            kind=kind,
            scale=d.get("scale"),
            options=options,
            not_applicable=na,
            versions=self._versions(code, d["versions"]),
            widget=widget,
            expected=expected,
            required=required,
            note=note,
        )

    def _norm(self, code: str, kind: str, norm: Any) -> str | None:
        check = self.check
        if kind in _KIND_LETTER:
            if norm is None:
                check.fail(code, "norm", f"missing (every {kind} item belongs to a norm N01..N10)")
            if not isinstance(norm, str) or norm not in self.norms.norms:
                check.fail(code, "norm", f"unknown norm {norm!r} (expected N01..N10)")
            m = _NORM_ITEM_CODE.match(code)
            if not m or m.group(1) != norm or m.group(2) != _KIND_LETTER[kind]:
                check.fail(
                    code,
                    "code",
                    f"{kind} items of {norm} must be coded {norm}_{_KIND_LETTER[kind]}<number>",
                )
            return norm
        if norm is not None:
            check.fail(code, "norm", f"{kind} items belong to no norm; remove the field")
        if _NORM_ITEM_CODE.match(code):
            check.fail(code, "code", f"codes like {code} are reserved for awareness/practice items")
        return None

    def _answers(self, code: str, kind: str, d: dict) -> tuple[tuple[Option, ...], Option | None]:
        check = self.check
        given = [k for k in ("scale", "options", "options_from") if d.get(k) is not None]
        if len(given) != 1:
            check.fail(
                code,
                "scale",
                "give exactly one of scale, options or options_from"
                + (f" (found {', '.join(given)})" if given else ""),
            )
        want_na = check.boolean(d.get("not_applicable", False), code, "not_applicable")
        na = None
        if "scale" in given:
            name = d["scale"]
            if not isinstance(name, str) or name not in self.scales:
                known = ", ".join(self.scales)
                check.fail(code, "scale", f"unknown scale {name!r} (known: {known})")
            options, scale_na = self.scales[name]
            if want_na:
                if scale_na is None:
                    check.fail(
                        code, "not_applicable", f"scale {name!r} has no not-applicable option"
                    )
                na = scale_na
        elif want_na:
            check.fail(code, "not_applicable", "only scale items can have a not-applicable option")
        if "options" in given:
            options = check.options(
                d["options"], code, "options", need_value=(kind == "demographic")
            )
        if "options_from" in given:
            if d["options_from"] != "provinces":
                check.fail(
                    code,
                    "options_from",
                    f"unknown option source {d['options_from']!r} (only 'provinces')",
                )
            options = tuple(
                Option(code=int(p.code), value=p.code, label={"zh": p.zh, "en": p.en})
                for p in load_provinces()
            )
        if kind == "demographic" and any(o.value is None for o in options):
            check.fail(code, "scale", "demographic items need options with exported values")
        return options, na

    def _expected(
        self, code: str, kind: str, expected: Any, options: tuple[Option, ...], na: Option | None
    ) -> int | None:
        check = self.check
        if kind != "attention":
            if expected is not None:
                check.fail(code, "expected", "only attention items have an expected answer")
            return None
        if expected is None:
            check.fail(code, "expected", "missing (the answer code an attentive person gives)")
        expected = check.integer(expected, code, "expected")
        codes = {o.code for o in options} | ({na.code} if na else set())
        if expected not in codes:
            check.fail(code, "expected", f"{expected} is not an answer code of this item")
        return expected

    def _versions(self, code: str, raw: Any) -> tuple[ItemVersion, ...]:
        check = self.check
        entries = check.list_(raw, code, "versions")
        if not entries:
            check.fail(code, "versions", "empty version list (give at least version 1)")
        out: list[ItemVersion] = []
        for entry in entries:
            v = check.mapping(entry, code, "versions")
            check.fields(
                v, code, required=("version", "text"), optional=("note",), prefix="versions."
            )
            number = check.integer(v["version"], code, "versions.version")
            if number < 1:
                check.fail(code, "versions.version", f"version numbers start at 1, got {number}")
            if out and number <= out[-1].version:
                if any(o.version == number for o in out):
                    check.fail(code, "versions.version", f"duplicate version {number}")
                check.fail(code, "versions.version", "list versions oldest first (1, 2, ...)")
            text = check.text(v["text"], code, "versions.text", what=f"version {number}",
                              limit="item")
            note = v.get("note")
            if note is not None:
                note = check.string(note, code, "versions.note", limit="note")
            out.append(ItemVersion(version=number, text=text, note=note))
        return tuple(out)


# =========================================================================== waves


def available_waves(directory: str | Path | None = None) -> list[int]:
    """The years that have a wave file ``questionnaires/waves/YEAR.yaml``, ascending."""
    d = Path(directory) if directory is not None else WAVES_DIR
    return sorted(int(p.stem) for p in d.glob("*.yaml") if re.fullmatch(r"\d{4}", p.stem))


def wave_path(year: int) -> Path:
    return WAVES_DIR / f"{year}.yaml"


def load_wave(
    path_or_year: int | str | Path,
    *,
    bank: ItemBank | None = None,
    norms: NormCatalogue | None = None,
) -> Wave:
    """Load and validate a wave definition.

    ``path_or_year``: a year (int) means ``questionnaires/waves/{year}.yaml``; otherwise a path.
    The item bank and norms catalogue default to the shipped ones.
    """
    if isinstance(path_or_year, bool):
        raise TypeError("load_wave() takes a year or a path")
    if isinstance(path_or_year, int):
        path = wave_path(path_or_year)
        if not path.exists():
            years = ", ".join(map(str, available_waves())) or "none"
            raise QuestionnaireError(
                path, None, None, f"no wave file for {path_or_year} (available: {years})"
            )
    else:
        path = Path(path_or_year)
    return _WaveParser(
        path, bank if bank is not None else load_item_bank(), norms or load_norms()
    ).parse()


def load_wave_data(data: Any, source: str | Path, *, bank: ItemBank | None = None,
                   norms: NormCatalogue | None = None) -> Wave:
    """Validate wave-file data built elsewhere (the console's new-wave form) with every rule a
    wave file meets; errors name ``source`` as their file."""
    return _WaveParser(Path(source), bank if bank is not None else load_item_bank(),
                       norms or load_norms(), year_in_name=False).parse_data(data)


_WAVE_FIELDS = ("year", "title", "norms_version", "opens", "closes", "consent", "study", "pages")


def _referenced_codes(raw_pages: list) -> set[str]:
    """Every item code a wave file mentions (best effort; malformed entries are reported later)."""
    codes = set()
    for page in raw_pages:
        entries = page.get("items") if isinstance(page, dict) else None
        for entry in entries if isinstance(entries, list) else ():
            ref = entry.get("item") if isinstance(entry, dict) else entry
            if isinstance(ref, str):
                codes.add(ref.strip().partition("@")[0])
    return codes


class _WaveParser:
    def __init__(self, path: Path, bank: ItemBank, norms: NormCatalogue, *,
                 year_in_name: bool = True) -> None:
        # year_in_name: a file named YEAR.yaml must define that year (not so a form's .xlsx)
        self.year_in_name = year_in_name
        self.path = path
        self.bank = bank
        self.norms = norms
        self.check = Checker(path)
        self.seen: dict[str, tuple[int, str]] = {}  # code -> (position in wave, page key)
        self.wave_codes: set[str] = set()

    def parse(self) -> Wave:
        return self.parse_data(read_yaml(self.path))

    def parse_data(self, data: Any) -> Wave:
        check = self.check
        if not isinstance(data, dict):
            check.fail(None, None, f"a wave file must be a mapping with {', '.join(_WAVE_FIELDS)}")
        check.fields(data, None, required=_WAVE_FIELDS,
                     optional=("schema", "quality", "local_items"))
        year = check.integer(data["year"], None, "year")
        if (self.year_in_name and re.fullmatch(r"\d{4}", self.path.stem)
                and int(self.path.stem) != year):
            check.fail(None, "year", f"year {year} does not match the file name {self.path.name}")
        norms_version = str(data["norms_version"])
        if norms_version not in self.norms.versions:
            known = ", ".join(self.norms.versions)
            check.fail(None, "norms_version", f"unknown norms version {norms_version!r} ({known})")
        opens = check.date(data["opens"], None, "opens")
        closes = check.date(data["closes"], None, "closes")
        if opens > closes:
            check.fail(None, "opens", f"opens {opens} is after closes {closes}")
        title = check.text(data["title"], None, "title", limit="title")
        consent = check.text(data["consent"], None, "consent", what="the consent text",
                             limit="consent")
        if data.get("local_items") is not None:
            self.bank = self._with_local_items(data["local_items"])
        raw_pages = check.list_(data["pages"], None, "pages")
        self.wave_codes = _referenced_codes(raw_pages)
        if not raw_pages:
            check.fail(None, "pages", "a wave needs at least one page")
        pages: list[Page] = []
        keys: set[str] = set()
        for n, raw in enumerate(raw_pages, start=1):
            page = self._page(raw, n, norms_version)
            if page.key in keys:
                check.fail(None, f"pages.{page.key}.key", "duplicate page key")
            keys.add(page.key)
            pages.append(page)
        return Wave(
            year=year,
            title=title,
            norms_version=norms_version,
            opens=opens,
            closes=closes,
            consent=consent,
            pages=tuple(pages),
            source=display_path(self.path),
            quality=self._quality(data.get("quality")),
            study=self._study(data["study"]),
        )

    def _with_local_items(self, raw: Any) -> ItemBank:
        """The national bank plus this wave's own questions (``local_items``)."""
        check = self.check
        parser = _BankParser(self.path, self.norms)
        parser.check, parser.scales = check, dict(self.bank.scales)
        local: dict[str, ItemDefinition] = {}
        for n, entry in enumerate(check.list_(raw, None, "local_items"), start=1):
            d = check.mapping(entry, f"#{n}", "local_items")
            if "code" not in d:
                check.fail(f"#{n}", "local_items.code", "missing")
            code = check.string(d["code"], f"#{n}", "local_items.code")
            kind = self._local_type(code, d.get("type"))
            check.fields(d, code, required=("code", "text"),
                         optional=("type", "note", *kind.definition_fields),
                         prefix="local_items.")
            self._check_local_code(code, local)
            options, na, settings, widget = kind.parse_definition(check, code, d, parser)
            text = check.text(d["text"], code, "local_items.text", limit="item")
            note = d.get("note")
            if note is not None:
                note = check.string(note, code, "local_items.note", limit="note")
            local[code] = ItemDefinition(
                code=code, norm=None, kind="local", scale=d.get("scale"), options=options,
                not_applicable=na, versions=(ItemVersion(version=1, text=text),),
                widget=widget, note=note,
                # a choice item's type follows from its answers (model.choice_type)
                type="" if kind.choice else kind.name, settings=settings)
        return ItemBank(definitions={**self.bank.definitions, **local},
                        scales=dict(self.bank.scales), source=self.bank.source)

    def _local_type(self, code: str, name: Any):
        """The question type a local item's ``type:`` names (none: a choice item)."""
        if name is None:
            return UNTYPED_CHOICE
        if not isinstance(name, str) or name not in QUESTION_TYPES:
            self.check.fail(code, "local_items.type",
                            f"unknown type {shown(repr(name))} (expected "
                            f"{', '.join(QUESTION_TYPES)})")
        return QUESTION_TYPES[name]

    def _check_local_code(self, code: str, local: dict) -> None:
        check = self.check
        if code in self.bank:
            check.fail(code, "local_items.code",
                       "an item of the national bank; list it under pages, not local_items")
        if code in local:
            check.fail(code, "local_items.code", "duplicate local item code")
        if len(code) > MAX_CODE_LENGTH:
            check.fail(code, "local_items.code",
                       f"is {len(code)} characters long; an item code may have at most "
                       f"{MAX_CODE_LENGTH} (the database's answers keep codes of that length)")
        m = _LOCAL_CODE.match(code)
        if not m:
            check.fail(code, "local_items.code",
                       "local item codes are the organisation's code, _ and a name of letters, "
                       "digits and _ (e.g. GZ_recycling_station)")
        problem = org_code_problem(m.group(1))
        if problem:
            check.fail(code, "local_items.code", problem)

    def _study(self, raw: Any) -> StudyInformation:
        check = self.check
        d = check.mapping(raw, None, "study")
        check.fields(d, None, required=STUDY_FIELDS, prefix="study.")
        return StudyInformation(**{
            name: check.text(d[name], None, f"study.{name}", limit="study")
            for name in STUDY_FIELDS})

    def _quality(self, raw: Any) -> QualityRules:
        if raw is None:
            return QualityRules()
        check = self.check
        d = check.mapping(raw, None, "quality")
        check.fields(d, None, required=("min_seconds_per_item",), prefix="quality.")
        seconds = check.number(d["min_seconds_per_item"], None, "quality.min_seconds_per_item",
                               above=0, at_most=60, unit="seconds")
        return QualityRules(min_seconds_per_item=seconds)

    def _page(self, raw: Any, position: int, norms_version: str) -> Page:
        check = self.check
        where = f"pages #{position}"
        d = check.mapping(raw, None, where)
        if "key" not in d:
            check.fail(None, f"{where}.key", "missing")
        key = check.string(d["key"], None, f"{where}.key")
        if not _PAGE_KEY.match(key):
            check.fail(
                None, f"{where}.key", "page keys are letters, digits, _ and - (they go in URLs)"
            )
        where = f"pages.{key}"
        check.fields(
            d,
            None,
            required=("key", "items"),
            optional=("title", "norm", "grid", "randomise"),
            prefix=f"{where}.",
        )
        if d.get("norm") is not None:
            norm = d["norm"]
            if not isinstance(norm, str) or norm not in self.norms.norms:
                check.fail(None, f"{where}.norm", f"unknown norm {norm!r}")
            if d.get("title") is not None:
                check.fail(None, f"{where}.title", "give either title or norm, not both")
            title = dict(self.norms.norm(norm).title(norms_version))
        elif d.get("title") is not None:
            title = check.text(d["title"], None, f"{where}.title", limit="title")
        else:
            check.fail(None, f"{where}.title", "missing (give a title or a norm code)")
        grid = check.boolean(d.get("grid", False), None, f"{where}.grid")
        entries = check.list_(d["items"], None, f"{where}.items")
        if not entries:
            check.fail(None, f"{where}.items", "empty page (list at least one item)")
        items = tuple(self._item(entry, key) for entry in entries)
        randomise = d.get("randomise")
        if randomise is not None and randomise != "items":
            check.fail(None, f"{where}.randomise",
                       f"must be 'items' (show the page's items in an order of their own per "
                       f"response), got {shown(repr(randomise))}")
        if randomise and len(items) < 2:
            check.fail(None, f"{where}.randomise", "a page with one item has no order to "
                       "randomise")
        return Page(key=key, title=title, items=items, grid=grid, randomise=bool(randomise))

    def _item(self, entry: Any, page_key: str) -> Item:
        check = self.check
        if isinstance(entry, dict):
            ref = entry.get("item")
            if not isinstance(ref, str):
                check.fail(None, "items", f"an item entry needs 'item: CODE' (page {page_key})")
            code, version = self._reference(ref)
            check.fields(entry, code, required=("item",),
                         optional=("show_if", "required", "randomise_options"))
            required = entry.get("required")
            if required is not None:
                required = check.boolean(required, code, "required")
            show_if = entry.get("show_if")
            shuffle = check.boolean(entry.get("randomise_options", False), code,
                                    "randomise_options")
        elif isinstance(entry, str):
            code, version = self._reference(entry)
            required = show_if = None
            shuffle = False
        else:
            check.fail(None, "items", f"an item entry must be a code or a mapping, got {entry!r}")
        definition = self.bank[code]
        if code in self.seen:
            check.fail(
                code, "items", f"duplicate item code (already on page {self.seen[code][1]!r})"
            )
        condition = self._condition(code, show_if, page_key) if show_if is not None else None
        self.seen[code] = (len(self.seen), page_key)
        item = definition.to_item(version, condition=condition, required=required,
                                  randomise_options=shuffle)
        if shuffle:
            self._check_shuffle(item, definition)
        return item

    def _check_shuffle(self, item: Item, definition: ItemDefinition) -> None:
        """Only a list of unordered options may be shown in a shuffled order."""
        check = self.check
        if not item.options:
            check.fail(item.code, "randomise_options",
                       f"a question of type {item.type} has no options to shuffle")
        if item.type == "scale" or definition.scale is not None:
            check.fail(item.code, "randomise_options",
                       "the answers of a scale are ordered and keep their order (shuffling "
                       "them changes what the scale measures); only a list of unordered "
                       "options can be shuffled")
        if item.kind == "demographic":
            check.fail(item.code, "randomise_options",
                       "the demographics keep the order of their categories (the weighting "
                       "and the national questionnaire compare them); only a wave's own "
                       "lists of unordered options can be shuffled")

    def _reference(self, ref: str) -> tuple[str, int | None]:
        """'N02_P3@1' -> ('N02_P3', 1); a bare code means the newest version (None)."""
        check = self.check
        code, at, suffix = ref.strip().partition("@")
        if code not in self.bank:
            check.fail(code, "items", "unknown item code")
        if not at:
            return code, None
        if not suffix.isdigit():
            check.fail(code, "items", f"bad version {suffix!r} (write {code}@<number>)")
        version = int(suffix)
        known = [v.version for v in self.bank[code].versions]
        if version not in known:
            listed = ", ".join(map(str, known))
            check.fail(
                code, "items", f"unknown wording version {version} (the item bank has {listed})"
            )
        return code, version

    def _condition(self, code: str, raw: Any, page_key: str) -> Expression:
        """``show_if``: a condition in the grammar (text, questionnaires/conditions.py) or the
        one-question form ``{item: A, values: [...]}``."""
        if isinstance(raw, str):
            return self._expression(code, raw, page_key)
        check = self.check
        d = check.mapping(raw, code, "show_if")
        check.fields(d, code, required=("item", "values"), prefix="show_if.")
        target = d["item"]
        if not isinstance(target, str):
            check.fail(code, "show_if.item", f"must be an item code, got {target!r}")
        self._condition_target(code, target, page_key, "show_if.item")
        target_type = self.bank[target].type
        if target_type and not QUESTION_TYPES[target_type].choice:
            check.fail(code, "show_if.item",
                       f"condition refers to {target!r}, a question of type {target_type}; a "
                       "condition can test only answers chosen from a list (scale, "
                       "single_choice)")
        values = check.list_(d["values"], code, "show_if.values")
        if not values:
            check.fail(code, "show_if.values", "list at least one answer code")
        codes = self.bank[target].to_item().answer_codes
        for v in values:
            v = check.integer(v, code, "show_if.values")
            if v not in codes:
                check.fail(code, "show_if.values", _no_such_code(target, v, codes))
        return Condition(item=target, values=frozenset(values))

    def _condition_target(self, code: str, target: str, page_key: str, field: str,
                          where: str = "") -> None:
        """``target`` is an item asked on an earlier page than ``code``'s."""
        check = self.check
        if target == code:
            check.fail(code, field, f"{where}an item cannot depend on its own answer")
        if target not in self.seen:
            if target in self.wave_codes:
                check.fail(code, field,
                           f"{where}condition refers to {target!r}, which comes later in the "
                           "wave (a condition can only use earlier answers)")
            if target in self.bank:
                check.fail(code, field,
                           f"{where}condition refers to {target!r}, which this wave does not ask")
            check.fail(code, field, f"{where}condition refers to unknown item {shown(target)!r}")
        if self.seen[target][1] == page_key:
            # pages are rendered before they are answered, so a condition can only use the
            # answers of earlier pages
            check.fail(code, field,
                       f"{where}condition refers to {target!r} on the same page {page_key!r}; "
                       "move one of them to another page")

    def _expression(self, code: str, text: str, page_key: str) -> Expression:
        check = self.check
        if len(text) > MAX_CONDITION_LENGTH:
            check.fail(code, "show_if", f"is {len(text)} characters long; a condition may have "
                       f"at most {MAX_CONDITION_LENGTH}")
        try:
            expression = parse_condition(text)
        except ConditionSyntaxError as error:
            check.fail(code, "show_if", str(error))
        for leaf in expression.leaves():
            where = f"position {leaf.position}: "
            self._condition_target(code, leaf.item, page_key, "show_if", where)
            problem = _leaf_problem(leaf, self.bank[leaf.item].to_item())
            if problem:
                check.fail(code, "show_if", where + problem)
        return self._normal_form(code, expression)

    def _normal_form(self, code: str, expression: Expression) -> Expression:
        """A condition on one choice question's answer alone (tests of its code joined by
        ``and``/``or``, no ``not`` or ``answered``) is stored as the codes that meet it: the
        one-question form, whatever way it was written (so ``A != 9`` and ``{item: A, values:
        [1, 2, 3, 4, 5]}`` are the same condition, with the same content hash)."""
        leaves = list(expression.leaves())
        items = expression.items
        if len(items) != 1 or _has_not(expression) or not all(
                isinstance(leaf, Condition | Comparison) for leaf in leaves):
            return expression
        target = self.bank[items[0]].to_item()
        if not QUESTION_TYPES[target.type].choice:
            return expression
        values = frozenset(c for c in target.answer_codes if expression.is_met({target.code: c}))
        if not values:
            self.check.fail(code, "show_if", f"no answer to {target.code!r} meets this condition "
                            "(the item would never be shown)")
        return Condition(item=target.code, values=values)


def _has_not(expression: Expression) -> bool:
    if isinstance(expression, Not):
        return True
    return any(_has_not(o) for o in getattr(expression, "operands", ()))


def _no_such_code(target: str, value, codes) -> str:
    listed = ", ".join(map(str, sorted(codes)))
    return f"{target!r} has no answer code {value} (its codes: {listed})"


def _leaf_problem(leaf, target: Item) -> str | None:
    """Why a test cannot apply to the answers of ``target``, or None."""
    kind = QUESTION_TYPES[target.type]
    name, codes = target.code, target.answer_codes
    if isinstance(leaf, Answered):
        return None
    if isinstance(leaf, Chosen):
        if target.type != "select_multiple":
            return (f"{leaf.function} tests a select_multiple question; {name!r} is of type "
                    f"{target.type} (write {name} in (…) or {name} = …)")
        missing = sorted(leaf.values - codes)
        return _no_such_code(name, missing[0], codes) if missing else None
    if target.type == "select_multiple":
        return (f"{name!r} is a select_multiple question: test it with any_of({name}, …) or "
                f"all_of({name}, …)")
    if target.type == "text":
        return f"{name!r} is a text question: a condition can only test answered({name})"
    if isinstance(leaf, Condition):
        if not kind.choice:
            return (f"'in' tests the answer codes of a choice question; {name!r} is of type "
                    f"{target.type} (compare it with =, <, >, …)")
        missing = sorted(leaf.values - codes)
        return _no_such_code(name, missing[0], codes) if missing else None
    # a comparison
    whole = leaf.value == leaf.value.to_integral_value()
    if kind.choice or target.type == "integer":
        if not whole:
            return f"{name!r} has whole-number answers; got {written(leaf.value)}"
        if kind.choice and leaf.op in ("=", "!=") and int(leaf.value) not in codes:
            return _no_such_code(name, written(leaf.value), codes)
    return None


MAX_CONDITION_LENGTH = 1_000


__all__ = [
    "ITEMS_FILE",
    "WAVES_DIR",
    "QuestionnaireError",
    "available_waves",
    "load_item_bank",
    "load_wave",
    "load_wave_data",
    "wave_path",
]
