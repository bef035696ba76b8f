"""The report plan: which waves, which comparison, which margins and design, which language.

A plan is a small YAML file (see ``analysis/report/example_plan.yaml`` for every key, commented).
:func:`load_plan` reads and validates it; every mistake is an
:class:`~analysis.errors.AnalysisInputError` naming the file, the key and the value.
Paths in the plan (``margins``) are relative to the plan file's folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from analysis.errors import AnalysisInputError
from analysis.report.i18n import LANGUAGES
from analysis.report.render import SECTIONS
from questionnaires.safe_yaml import MIB, YamlFileError, load_yaml_file

DEFAULT_SUBGROUPS = ("sex", "age_group", "region", "urban_rural", "education")
DEFAULT_MOE_SIZES = (10, 20, 30, 50, 100, 200, 500, 1000, 2000, 5000)
ADJUSTMENTS = ("holm", "bh")
_KNOWN_KEYS = {"title", "waves", "current_wave", "base_wave", "margins", "rescale_margins",
               "design", "language", "min_n", "subgroups", "sections", "exclude_flagged", "alpha",
               "adjustment", "moe_sizes", "common_items", "subgroup_tests", "margin_sources",
               "publisher", "contact", "citation", "mode", "sample_source"}
SUBGROUP_TESTS = ("score", "none")
MODES = ("online_self_completion", "face_to_face", "telephone", "mixed")
"""Survey modes the methods section can describe (``i18n`` ``mode_*``)."""
SAMPLE_SOURCES = ("opt_in", "online_panel", "probability")
"""Where respondents come from (``i18n`` ``source_*``); anything but ``probability`` gets the
statement that the sample is not a probability sample."""
_DESIGN_KEYS = ("weight", "strata", "psu", "fpc")


@dataclass(frozen=True)
class ReportPlan:
    """A validated plan. ``waves`` is sorted; ``None`` fields are filled from the data."""

    source: str
    waves: tuple[int, ...] | None = None
    """Waves to report (one: levels only; two: changes; three or more: also trends). ``None``:
    every wave in DATA."""
    current_wave: int | None = None
    """The wave the report is about; default the latest."""
    base_wave: int | None = None
    """The comparison wave for changes; default the wave before ``current_wave``."""
    margins: Path | None = None
    """Margins file (``variable,category,target[,source_note][,wave]``) to rake each wave to."""
    rescale_margins: bool = True
    """Turn each variable's targets into shares (census variables come on different bases)."""
    design: dict[str, str | None] = field(default_factory=dict)
    """Design columns: ``weight`` (base weight), ``strata``, ``psu``, ``fpc``."""
    language: str = "zh"
    min_n: int = 30
    subgroups: tuple[str, ...] | None = None
    """Subgroup variables; ``None``: those of :data:`DEFAULT_SUBGROUPS` that DATA has (a variable
    the plan names explicitly must be in DATA)."""
    sections: tuple[str, ...] = SECTIONS
    exclude_flagged: bool = True
    alpha: float = 0.05
    adjustment: str = "holm"
    moe_sizes: tuple[int, ...] = DEFAULT_MOE_SIZES
    title: dict[str, str] | None = None
    subgroup_tests: str = "score"
    """``score``: on each norm's page, a Wald test of equal practice scores across each subgroup
    variable's groups and the pairwise differences (Holm within norm and variable); ``none``."""
    margin_sources: dict[str, str] = field(default_factory=dict)
    """Source of each weighting variable's targets, for the annex, when the margins file has no
    ``source_note`` column (``{sex: "Census 2020 yearbook table 1-5", ...}``)."""
    common_items: bool = False
    """Score a norm on the items both compared waves share (instead of calling it not
    comparable when a wave added or reworded an item)."""
    publisher: dict[str, str] | None = None
    """Publishing organisation per language, for the methods section and the citation."""
    contact: str | None = None
    """Where readers send questions (an address, e-mail or telephone line), as written."""
    citation: dict[str, str] | None = None
    """How to cite the report, per language."""
    mode: str = "online_self_completion"
    sample_source: str = "opt_in"

    def with_language(self, language: str | None) -> ReportPlan:
        if language is None:
            return self
        return _replace(self, language=_check_language(language, "--language"))


def _replace(plan: ReportPlan, **changes) -> ReportPlan:
    from dataclasses import replace

    return replace(plan, **changes)


def _check_language(value, where: str) -> str:
    if value not in LANGUAGES:
        raise AnalysisInputError(f"{where}: language {value!r} is not supported; use "
                                 + " or ".join(LANGUAGES))
    return value


def load_plan(path: str | Path) -> ReportPlan:
    """Read and validate a plan file."""
    path = Path(path)
    try:
        raw = load_yaml_file(path, max_bytes=MIB)  # a plan is a few hundred bytes
    except YamlFileError as exc:
        problem = f"not valid YAML ({exc.problem})" if exc.syntax else exc.problem
        raise AnalysisInputError(f"plan {path}: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise AnalysisInputError(f"plan {path}: expected a mapping of keys, "
                                 f"got {type(raw).__name__}")
    return plan_from_dict(raw, source=str(path), base_dir=path.parent)


def plan_from_dict(raw: dict, source: str = "<plan>", base_dir: Path | None = None) -> ReportPlan:
    where = f"plan {source}"
    unknown = sorted(set(raw) - _KNOWN_KEYS)
    if unknown:
        raise AnalysisInputError(f"{where}: unknown key {unknown[0]!r}; known keys: "
                                 + ", ".join(sorted(_KNOWN_KEYS)))

    def year(key):
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise AnalysisInputError(f"{where}: {key}: expected a survey year, got {value!r}")
        return value

    waves = raw.get("waves")
    if waves is not None:
        if (not isinstance(waves, list) or not waves
                or not all(isinstance(w, int) and not isinstance(w, bool) for w in waves)):
            raise AnalysisInputError(f"{where}: waves: expected a list of survey years, "
                                     f"got {waves!r}")
        if len(set(waves)) != len(waves):
            raise AnalysisInputError(f"{where}: waves: a year is listed twice in {waves!r}")
        waves = tuple(sorted(waves))
    current, base = year("current_wave"), year("base_wave")
    for key, value in (("current_wave", current), ("base_wave", base)):
        if value is not None and waves is not None and value not in waves:
            raise AnalysisInputError(f"{where}: {key}: {value} is not one of waves {list(waves)}")
    if current is not None and base is not None and base >= current:
        raise AnalysisInputError(f"{where}: base_wave {base} must be earlier than current_wave "
                                 f"{current}")

    margins = raw.get("margins")
    if margins is not None:
        if not isinstance(margins, str):
            raise AnalysisInputError(f"{where}: margins: expected a file name, got {margins!r}")
        margins = Path(margins)
        if not margins.is_absolute() and base_dir is not None:
            margins = base_dir / margins
        if not margins.is_file():
            raise AnalysisInputError(f"{where}: margins: file not found: {margins}")

    design = raw.get("design") or {}
    if not isinstance(design, dict):
        raise AnalysisInputError(f"{where}: design: expected a mapping, got {design!r}")
    bad = sorted(set(design) - set(_DESIGN_KEYS))
    if bad:
        raise AnalysisInputError(f"{where}: design: unknown key {bad[0]!r}; known: "
                                 + ", ".join(_DESIGN_KEYS))
    for key, value in design.items():
        if value is not None and not isinstance(value, str):
            raise AnalysisInputError(f"{where}: design.{key}: expected a column name, "
                                     f"got {value!r}")

    language = _check_language(raw.get("language", "zh"), f"{where}: language")

    min_n = raw.get("min_n", 30)
    if isinstance(min_n, bool) or not isinstance(min_n, int) or min_n < 2:
        raise AnalysisInputError(f"{where}: min_n: expected a whole number of at least 2, "
                                 f"got {min_n!r}")

    subgroups = raw.get("subgroups")
    if subgroups is not None and (not isinstance(subgroups, list)
                                  or not all(isinstance(s, str) for s in subgroups)):
        raise AnalysisInputError(f"{where}: subgroups: expected a list of column names, "
                                 f"got {subgroups!r}")

    sections_raw = raw.get("sections", {})
    if not isinstance(sections_raw, dict):
        raise AnalysisInputError(f"{where}: sections: expected a mapping like "
                                 f"{{summary: true, norms: false}}, got {sections_raw!r}")
    for key, value in sections_raw.items():
        if key not in SECTIONS:
            raise AnalysisInputError(f"{where}: sections: unknown section {key!r}; known: "
                                     + ", ".join(SECTIONS))
        if not isinstance(value, bool):
            raise AnalysisInputError(f"{where}: sections.{key}: expected true or false, "
                                     f"got {value!r}")
    sections = tuple(s for s in SECTIONS if sections_raw.get(s, True))

    exclude = raw.get("exclude_flagged", True)
    if not isinstance(exclude, bool):
        raise AnalysisInputError(f"{where}: exclude_flagged: expected true or false, "
                                 f"got {exclude!r}")
    common = raw.get("common_items", False)
    if not isinstance(common, bool):
        raise AnalysisInputError(f"{where}: common_items: expected true or false, got {common!r}")
    tests = raw.get("subgroup_tests", "score")
    if tests not in SUBGROUP_TESTS:
        raise AnalysisInputError(f"{where}: subgroup_tests: {tests!r} is not one of "
                                 + ", ".join(SUBGROUP_TESTS))
    sources = raw.get("margin_sources") or {}
    if not isinstance(sources, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in sources.items()):
        raise AnalysisInputError(f"{where}: margin_sources: expected variable: source text pairs, "
                                 f"got {sources!r}")
    rescale = raw.get("rescale_margins", True)
    if not isinstance(rescale, bool):
        raise AnalysisInputError(f"{where}: rescale_margins: expected true or false, "
                                 f"got {rescale!r}")

    alpha = raw.get("alpha", 0.05)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 < alpha < 0.5:
        raise AnalysisInputError(f"{where}: alpha: expected a significance level such as 0.05, "
                                 f"got {alpha!r}")
    adjustment = raw.get("adjustment", "holm")
    if adjustment not in ADJUSTMENTS:
        raise AnalysisInputError(f"{where}: adjustment: {adjustment!r} is not one of "
                                 + ", ".join(ADJUSTMENTS))

    moe_sizes = raw.get("moe_sizes", list(DEFAULT_MOE_SIZES))
    if (not isinstance(moe_sizes, list) or not moe_sizes
            or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0
                       for n in moe_sizes)):
        raise AnalysisInputError(f"{where}: moe_sizes: expected a list of positive whole numbers, "
                                 f"got {moe_sizes!r}")

    title = _bilingual(raw, "title", where)
    publisher = _bilingual(raw, "publisher", where)
    citation = _bilingual(raw, "citation", where)
    contact = raw.get("contact")
    if contact is not None and (not isinstance(contact, str) or not contact.strip()):
        raise AnalysisInputError(f"{where}: contact: expected a line of text (an address, "
                                 f"e-mail or telephone), got {contact!r}")
    mode = raw.get("mode", "online_self_completion")
    if mode not in MODES:
        raise AnalysisInputError(f"{where}: mode: {mode!r} is not one of " + ", ".join(MODES))
    sample_source = raw.get("sample_source", "opt_in")
    if sample_source not in SAMPLE_SOURCES:
        raise AnalysisInputError(f"{where}: sample_source: {sample_source!r} is not one of "
                                 + ", ".join(SAMPLE_SOURCES))

    return ReportPlan(
        source=source, waves=waves, current_wave=current, base_wave=base, margins=margins,
        rescale_margins=rescale, design={k: design.get(k) for k in _DESIGN_KEYS},
        language=language, min_n=min_n,
        subgroups=None if subgroups is None else tuple(subgroups), sections=sections,
        exclude_flagged=exclude, alpha=float(alpha), adjustment=adjustment,
        moe_sizes=tuple(sorted(set(moe_sizes) | {min_n})), title=title, common_items=common,
        subgroup_tests=tests, margin_sources=dict(sources), publisher=publisher,
        contact=contact.strip() if contact else None, citation=citation, mode=mode,
        sample_source=sample_source,
    )


def _bilingual(raw: dict, key: str, where: str) -> dict[str, str] | None:
    """A text the plan gives in both languages (``{zh: ..., en: ...}``), or None."""
    value = raw.get(key)
    if value is None:
        return None
    if (not isinstance(value, dict) or set(value) != set(LANGUAGES)
            or not all(isinstance(v, str) and v.strip() for v in value.values())):
        raise AnalysisInputError(f"{where}: {key}: expected both languages, e.g. "
                                 f"{{zh: ..., en: ...}}, got {value!r}")
    return {k: v.strip() for k, v in value.items()}
