"""Frozen data model of the Ten Norms catalogue, the item bank and the wave definitions.

Everything here is plain data: the loader (``questionnaires.loader``) builds these objects from
the YAML files and validates them; the web tier renders a :class:`Wave`; the analysis reads the
item -> norm -> kind mapping.  Texts are ``{"zh": ..., "en": ...}`` dicts.

Answer codes: scale answers are integers 1..5, "not applicable" is :data:`NOT_APPLICABLE_CODE` (9);
demographic answers are option codes whose ``value`` is the category string the export writes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property

from .conditions import Condition as Condition  # re-exported: the one-question condition
from .conditions import Expression, condition_from_dict, condition_to_dict

NOT_APPLICABLE_CODE = 9
LANGUAGES = ("zh", "en")
# kinds of the national item bank
BANK_KINDS = ("awareness", "practice", "demographic", "attention")
# a wave may add its own organisation's questions (``local_items``, code ``ORG_name``): they
# belong to no norm, so no norm score, index or national comparison ever includes them
KINDS = (*BANK_KINDS, "local")
WIDGETS = ("radio", "select")
# the two question types every item had before types were named: an item of a norm, the
# attention check or any item with "not applicable" is a ``scale``; other option lists (the
# demographics, a local item's own options) are ``single_choice``.  Both store one option code.
CHOICE_TYPES = ("scale", "single_choice")
SCALE_KINDS = ("awareness", "practice", "attention")


def choice_type(kind: str, not_applicable) -> str:
    """The type of a choice item, from what it is (items frozen before types had names carry
    no type, so the rule must give the same answer for them forever)."""
    return "scale" if kind in SCALE_KINDS or not_applicable is not None else "single_choice"


Text = dict[str, str]  # {"zh": ..., "en": ...}

# --------------------------------------------------------------------------- norms catalogue


@dataclass(frozen=True)
class NormsVersion:
    """One official version of the Ten Norms (``key`` '2018' = 2018 trial, '2023' = revision)."""

    key: str
    id: str
    title: Text
    trial: bool
    public_release: dt.date | None
    announcement: str


@dataclass(frozen=True)
class NormText:
    """A norm's article in one version.

    ``missing`` is true when the official sentence was not found; ``text`` is then empty and
    ``text_as_found`` may hold a defective or partial copy (reference only, never show it as
    official).
    """

    code: str
    version: str
    number: int
    title: Text
    text: Text
    missing: bool
    text_as_found: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class NormChange:
    """What changed in one norm between two versions (``text_changed`` None = unknown)."""

    code: str
    from_version: str
    to_version: str
    title_from: str
    title_to: str
    title_changed: bool
    text_changed: bool | None
    note: str


@dataclass(frozen=True)
class Norm:
    """One of the ten norms, with its article per version (``texts['2023'].title['zh']``)."""

    code: str
    number: int
    texts: dict[str, NormText]

    def title(self, version: str) -> Text:
        return self.texts[version].title

    def text(self, version: str) -> Text:
        return self.texts[version].text


@dataclass(frozen=True)
class NormCatalogue:
    """The Ten Norms in every version, plus the recorded 2018 -> 2023 changes."""

    versions: dict[str, NormsVersion]
    norms: dict[str, Norm]
    changes: tuple[NormChange, ...]
    source: str

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self.norms)

    def norm(self, code: str) -> Norm:
        try:
            return self.norms[code]
        except KeyError:
            raise KeyError(f"unknown norm code {code!r}; known: {', '.join(self.norms)}") from None

    def changed_between(
        self, a: str, b: str, *, include_unknown: bool = False
    ) -> tuple[NormChange, ...]:
        """Norms whose title or text changed between versions ``a`` and ``b`` (either order).

        A change whose text comparison is unknown (sentence not found) and whose title did not
        change is left out unless ``include_unknown`` is true.
        """
        for v in (a, b):
            if v not in self.versions:
                raise KeyError(f"unknown norms version {v!r}; known: {', '.join(self.versions)}")
        if a == b:
            return ()
        pair = {a, b}
        out = []
        for change in self.changes:
            if {change.from_version, change.to_version} != pair:
                continue
            if change.title_changed or change.text_changed:
                out.append(change)
            elif include_unknown and change.text_changed is None:
                out.append(change)
        return tuple(out)


# --------------------------------------------------------------------------- provinces


@dataclass(frozen=True)
class Province:
    """A province-level division: GB/T 2260 ``code`` (text, e.g. '110000'), NBS ``region``."""

    code: str
    zh: str
    en: str
    region: str
    population_2020: int


# --------------------------------------------------------------------------- questionnaire items


@dataclass(frozen=True)
class Option:
    """One answer option: stored ``code``; ``value`` is the exported category (demographics)."""

    code: int
    label: Text
    value: str | None = None

    # texts are dicts, so spell out a hash consistent with ==
    def __hash__(self) -> int:
        return hash((self.code, self.value, tuple(sorted(self.label.items()))))

    def to_dict(self) -> dict:
        return {"code": self.code, "label": dict(self.label), "value": self.value}

    @classmethod
    def from_dict(cls, d: Mapping) -> Option:
        return cls(code=int(d["code"]), label=dict(d["label"]), value=d.get("value"))


@dataclass(frozen=True)
class Item:
    """A question as one wave asks it (one wording version, its options, its condition).

    ``options`` excludes "not applicable", which is ``not_applicable`` (code 9) when allowed.
    ``norm`` is None for demographics and the attention check; ``expected`` is the answer code an
    attentive respondent gives (attention checks only).  ``type`` names its question type
    (``questionnaires.question_types``; a choice item's type follows from its kind and options,
    see :func:`choice_type`) and ``settings`` holds what that type needs besides the options
    (ranges, units, lengths, numbers of choices).
    """

    code: str
    norm: str | None
    kind: str
    wording_version: int
    text: Text
    options: tuple[Option, ...]
    not_applicable: Option | None = None
    required: bool = True
    condition: Expression | None = None
    expected: int | None = None
    widget: str = "radio"
    type: str = ""
    settings: dict = field(default_factory=dict)
    # shown in an order of its own per response (docs/questionnaires.md, "Randomised order")
    randomise_options: bool = False

    def __post_init__(self) -> None:
        if not self.type:
            object.__setattr__(self, "type", choice_type(self.kind, self.not_applicable))

    def __hash__(self) -> int:
        return hash(
            (
                self.code,
                self.type,
                self.wording_version,
                tuple(sorted(self.text.items())),
                self.options,
                self.condition,
                self.required,
                self.randomise_options,
            )
        )

    @property
    def all_options(self) -> tuple[Option, ...]:
        """The options a respondent can pick, "not applicable" last."""
        if self.not_applicable is None:
            return self.options
        return (*self.options, self.not_applicable)

    @property
    def answer_codes(self) -> frozenset[int]:
        return frozenset(o.code for o in self.all_options)

    def option(self, code: int) -> Option:
        for o in self.all_options:
            if o.code == code:
                return o
        raise KeyError(f"item {self.code!r} has no answer code {code!r}")

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "norm": self.norm,
            "kind": self.kind,
            "wording_version": self.wording_version,
            "text": dict(self.text),
            "options": [o.to_dict() for o in self.options],
            "not_applicable": self.not_applicable.to_dict() if self.not_applicable else None,
            "required": self.required,
            "condition": condition_to_dict(self.condition) if self.condition else None,
            "expected": self.expected,
            "widget": self.widget,
            # choice items write no type: their definitions (and content hashes) stay as they
            # were before types had names
            **({} if self.type in CHOICE_TYPES else
               {"type": self.type, "settings": json.loads(json.dumps(self.settings))}),
            # written only when set: definitions without it keep their content hashes
            **({"randomise_options": True} if self.randomise_options else {}),
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> Item:
        return cls(
            code=d["code"],
            norm=d["norm"],
            kind=d["kind"],
            wording_version=int(d["wording_version"]),
            text=dict(d["text"]),
            options=tuple(Option.from_dict(o) for o in d["options"]),
            not_applicable=Option.from_dict(d["not_applicable"]) if d["not_applicable"] else None,
            required=bool(d["required"]),
            condition=condition_from_dict(d["condition"]) if d["condition"] else None,
            expected=d["expected"],
            widget=d["widget"],
            type=d.get("type", ""),
            settings=dict(d.get("settings") or {}),
            randomise_options=bool(d.get("randomise_options", False)),
        )


def comparable(item_a: Item, item_b: Item) -> bool:
    """Answers to two items (e.g. from two waves) are comparable: same code, same wording."""
    return item_a.code == item_b.code and item_a.wording_version == item_b.wording_version


# --------------------------------------------------------------------------- item bank


@dataclass(frozen=True)
class ItemVersion:
    version: int
    text: Text
    note: str | None = None


@dataclass(frozen=True)
class ItemDefinition:
    """An item-bank entry: every wording version an item code has had (oldest first)."""

    code: str
    norm: str | None
    kind: str
    scale: str | None
    options: tuple[Option, ...]
    not_applicable: Option | None
    versions: tuple[ItemVersion, ...]
    widget: str = "radio"
    expected: int | None = None
    required: bool = True
    note: str | None = None
    type: str = ""
    settings: dict = field(default_factory=dict)

    @property
    def latest_version(self) -> int:
        return self.versions[-1].version

    def version(self, number: int) -> ItemVersion:
        for v in self.versions:
            if v.version == number:
                return v
        raise KeyError(f"item {self.code!r} has no wording version {number!r}")

    def to_item(
        self,
        version: int | None = None,
        *,
        condition: Expression | None = None,
        required: bool | None = None,
        randomise_options: bool = False,
    ) -> Item:
        """The item as a wave asks it; ``version`` None means the newest wording."""
        v = self.versions[-1] if version is None else self.version(version)
        return Item(
            code=self.code,
            norm=self.norm,
            kind=self.kind,
            wording_version=v.version,
            text=dict(v.text),
            options=self.options,
            not_applicable=self.not_applicable,
            required=self.required if required is None else required,
            condition=condition,
            expected=self.expected,
            widget=self.widget,
            type=self.type,
            settings=dict(self.settings),
            randomise_options=randomise_options,
        )


@dataclass(frozen=True)
class ItemBank(Mapping[str, ItemDefinition]):
    """Mapping item code -> :class:`ItemDefinition`, in file order, plus the answer scales."""

    definitions: dict[str, ItemDefinition]
    scales: dict[str, tuple[tuple[Option, ...], Option | None]]
    source: str

    def __getitem__(self, code: str) -> ItemDefinition:
        return self.definitions[code]

    def __iter__(self) -> Iterator[str]:
        return iter(self.definitions)

    def __len__(self) -> int:
        return len(self.definitions)

    def for_norm(self, norm: str, kind: str | None = None) -> tuple[ItemDefinition, ...]:
        return tuple(
            d
            for d in self.definitions.values()
            if d.norm == norm and (kind is None or d.kind == kind)
        )


# --------------------------------------------------------------------------- waves


@dataclass(frozen=True)
class Page:
    """One questionnaire page; ``grid`` pages share one scale layout (straight-lining checks);
    ``randomise`` pages show their items in an order of their own per response."""

    key: str
    title: Text
    items: tuple[Item, ...]
    grid: bool = False
    randomise: bool = False

    def __hash__(self) -> int:
        return hash((self.key, self.items, self.grid, self.randomise))

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "title": dict(self.title),
            "grid": self.grid,
            "items": [i.to_dict() for i in self.items],
            # written only when set: definitions without it keep their content hashes
            **({"randomise": "items"} if self.randomise else {}),
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> Page:
        return cls(
            key=d["key"],
            title=dict(d["title"]),
            grid=bool(d["grid"]),
            items=tuple(Item.from_dict(i) for i in d["items"]),
            randomise=d.get("randomise") == "items",
        )


WAVE_SCHEMA = "ten-norms-wave/v1"

# A conservative floor for the speeder rule: nobody reads a question and taps an answer in under
# a second (the Ten Norms questions are 20-60 Chinese characters), so a faster response cannot
# have been read, whatever the wave's median; the relative rule catches the merely hurried.
DEFAULT_MIN_SECONDS_PER_ITEM = 1.0


@dataclass(frozen=True)
class QualityRules:
    """A wave's response-quality settings (``quality:`` in the wave file).

    ``min_seconds_per_item``: a response is a speeder when its duration is under this many
    seconds times the number of questions it answered (besides the median-relative rule).
    """

    min_seconds_per_item: float = DEFAULT_MIN_SECONDS_PER_ITEM

    def to_dict(self) -> dict:
        return {"min_seconds_per_item": self.min_seconds_per_item}

    @classmethod
    def from_dict(cls, d: Mapping | None) -> QualityRules:
        if not d:  # definitions frozen before waves had quality settings
            return cls()
        return cls(min_seconds_per_item=float(d["min_seconds_per_item"]))


STUDY_FIELDS = ("organiser", "contact", "purpose", "retention", "eligibility")


@dataclass(frozen=True)
class StudyInformation:
    """What the consent page tells a person about the study (``study:`` in the wave file):
    who runs it, whom to contact, what it is for, how long the data are kept and who may take
    part.  Every field is a {zh, en} text."""

    organiser: Text
    contact: Text
    purpose: Text
    retention: Text
    eligibility: Text

    def __hash__(self) -> int:
        return hash(tuple(tuple(sorted(getattr(self, f).items())) for f in STUDY_FIELDS))

    def to_dict(self) -> dict:
        return {f: dict(getattr(self, f)) for f in STUDY_FIELDS}

    @classmethod
    def from_dict(cls, d: Mapping | None) -> StudyInformation | None:
        if not d:  # definitions frozen before waves named these
            return None
        return cls(**{f: dict(d[f]) for f in STUDY_FIELDS})


@dataclass(frozen=True)
class Wave:
    """One survey wave (one year): its pages, items in order, dates, consent text, the study
    information the consent page lists (``study``; required in wave files, None only for
    definitions made in code or frozen before it existed) and quality settings.

    ``to_dict()`` is self-contained (all texts and options) and JSON-serialisable, so the web tier
    can freeze it into the database; ``Wave.from_dict(w.to_dict()) == w``.
    """

    year: int
    title: Text
    norms_version: str
    opens: dt.date
    closes: dt.date
    consent: Text
    pages: tuple[Page, ...]
    source: str = ""
    quality: QualityRules = QualityRules()
    study: StudyInformation | None = None
    items: dict[str, Item] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        items = {item.code: item for page in self.pages for item in page.items}
        object.__setattr__(self, "items", items)

    def __hash__(self) -> int:
        # equal waves have equal content; usable as a cache key
        return hash(self.content_hash)

    def page(self, key: str) -> Page:
        for p in self.pages:
            if p.key == key:
                return p
        raise KeyError(f"wave {self.year} has no page {key!r}")

    def visible_items(
        self, page: Page | str, answers: Mapping[str, int | None]
    ) -> tuple[Item, ...]:
        """The page's items to show, given the answers so far (items whose condition is met)."""
        if isinstance(page, str):
            page = self.page(page)
        return tuple(i for i in page.items if i.condition is None or i.condition.is_met(answers))

    def is_open(self, on: dt.date) -> bool:
        return self.opens <= on <= self.closes

    def to_dict(self) -> dict:
        return {
            "schema": WAVE_SCHEMA,
            "year": self.year,
            "title": dict(self.title),
            "norms_version": self.norms_version,
            "opens": self.opens.isoformat(),
            "closes": self.closes.isoformat(),
            "consent": dict(self.consent),
            "source": self.source,
            "pages": [p.to_dict() for p in self.pages],
            "quality": self.quality.to_dict(),
            "study": self.study.to_dict() if self.study else None,
        }

    @classmethod
    def from_dict(cls, d: Mapping) -> Wave:
        if d.get("schema") != WAVE_SCHEMA:
            raise ValueError(f"not a frozen wave definition (schema {d.get('schema')!r})")
        return cls(
            year=int(d["year"]),
            title=dict(d["title"]),
            norms_version=d["norms_version"],
            opens=dt.date.fromisoformat(d["opens"]),
            closes=dt.date.fromisoformat(d["closes"]),
            consent=dict(d["consent"]),
            source=d.get("source", ""),
            pages=tuple(Page.from_dict(p) for p in d["pages"]),
            quality=QualityRules.from_dict(d.get("quality")),
            study=StudyInformation.from_dict(d.get("study")),
        )

    @cached_property
    def content_hash(self) -> str:
        """sha256 (hex) of the canonical JSON of ``to_dict()`` without ``source``.

        Equal for the same questionnaire wherever the file was loaded from; changes with any
        text, option, order, condition or date.
        """
        d = self.to_dict()
        del d["source"]
        canonical = json.dumps(d, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
