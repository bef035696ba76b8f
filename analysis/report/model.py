"""The findings model: everything a trend report shows, as plain data.

The renderer (:mod:`analysis.report.render`) turns a :class:`Findings` into HTML and PDF and never
computes a statistic; :mod:`analysis.report.findings` is the only module that fills a ``Findings``
from the analysis package. Keeping the two apart means every number in a report has one origin, and
the templates can be tested with a small hand-built model.

Units: scores are on 0-100; ``se``, ``ci_low``/``ci_high`` and differences are in score points;
slopes are score points per year; shares are fractions of 1; ``p_value``/``p_adjusted`` are
probabilities.
Waves are survey years (``int``). Texts a reader sees that come from data (norm titles, weighting
sources) are carried in both languages as ``{"zh": ..., "en": ...}``; everything else is a code that
:mod:`analysis.report.i18n` translates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

INDICATOR_KINDS = ("awareness", "practice", "gap")
"""Per-norm indicators, in the order the report shows them."""

P_FAMILIES = ("headline", "norms", "headline_trend", "norm_trend")
"""Multiple-testing families of a report, each corrected on its own: the changes of the three
overall indices; the changes of the norms' awareness, practice and gap scores; the linear trends
of the overall indices; the linear trends of the norms' scores. Every adjusted p-value the report
prints names its family (:mod:`analysis.report.i18n` ``family_*``)."""


@dataclass(frozen=True)
class Estimate:
    """A design-based estimate: value, standard error, 95% CI, unweighted n, design effect."""

    value: float
    se: float
    ci_low: float
    ci_high: float
    n: int | None = None
    deff: float | None = None

    @property
    def moe(self) -> float:
        """Half-width of the confidence interval (the margin of error), in the estimate's units."""
        return (self.ci_high - self.ci_low) / 2


@dataclass(frozen=True)
class WaveInfo:
    """One survey wave: who answered, when, and who the analysis left out."""

    wave: int
    n_responses: int
    """Completed responses in DATA for this wave."""
    n_analysed: int
    """Responses left after quality exclusions."""
    fieldwork_start: date | None = None
    fieldwork_end: date | None = None
    norm_version: str | None = None
    """Ten Norms version the wave's questionnaire used (e.g. ``"2023"``), when known."""
    exclusions: dict[str, int] = field(default_factory=dict)
    """Responses flagged per quality rule (``speeder``, ``straightliner``, ``attention``); a
    response may carry several flags, so these need not add up to ``n_responses - n_analysed``."""
    design_effect: float | None = None
    """Mean design effect over the wave's norm scores."""
    moe_overall: float | None = None
    """Margin of error (95%) of the overall index in this wave, in score points."""
    fieldwork: object | None = None
    """The export's fieldwork summary for the wave
    (:class:`analysis.report.fieldwork.FieldworkSummary`): started, completed, broken off,
    completion rate; None when the data came without one."""
    weights: object | None = None
    """Diagnostics of the wave's final weights (:class:`analysis.diagnostics.WeightDiagnostics`):
    Kish's design effect of weighting, effective sample size, range, ratio, trimming."""

    @property
    def n_excluded(self) -> int:
        return self.n_responses - self.n_analysed


@dataclass(frozen=True)
class Comparison:
    """Change of one indicator between the base wave and the current wave (independent samples)."""

    base_wave: int
    current_wave: int
    base: float
    current: float
    diff: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float
    significant: bool
    """Decided on ``p_adjusted`` at the plan's alpha."""
    family: str = ""
    """The multiple-testing family ``p_adjusted`` was corrected over: ``headline`` (the overall
    indices) or ``norms`` (every norm's awareness, practice and gap); see :data:`P_FAMILIES`."""
    family_size: int = 0
    """Number of tests in that family (the comparable ones)."""

    @property
    def direction(self) -> str:
        """``"up"``, ``"down"`` or ``"stable"`` (not significant)."""
        if not self.significant:
            return "stable"
        return "up" if self.diff > 0 else "down"


@dataclass(frozen=True)
class TrendPoint:
    wave: int
    estimate: Estimate


@dataclass(frozen=True)
class Trend:
    """A linear trend over three or more waves plus the per-wave series it was fitted to."""

    slope: float
    """Score points per year."""
    slope_se: float
    p_value: float
    series: tuple[TrendPoint, ...]
    p_adjusted: float | None = None
    """``p_value`` corrected for multiple testing over the trends of its family (the plan's
    correction); the summary calls a trend significant on this."""
    family: str = ""
    """``headline_trend`` (the overall indices) or ``norm_trend`` (the norms' scores)."""
    family_size: int = 0

    @property
    def p_decision(self) -> float:
        return self.p_value if self.p_adjusted is None else self.p_adjusted


@dataclass(frozen=True)
class SubgroupEstimate:
    """A domain estimate for one group of one subgroup variable (current wave)."""

    variable: str
    """Subgroup variable, e.g. ``"age_group"``."""
    group: str
    """Category value as exported, e.g. ``"25-34"``."""
    estimate: Estimate
    small: bool = False
    """Resting on fewer than the plan's ``min_n`` responses: the renderer suppresses the value."""


@dataclass(frozen=True)
class PairwiseDifference:
    """Difference in points between two groups' scores (``group_a`` minus ``group_b``)."""

    group_a: str
    group_b: str
    diff: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    p_adjusted: float
    """Adjusted over the pairs of one norm and subgroup variable (the plan's correction)."""


@dataclass(frozen=True)
class SubgroupTest:
    """Do the groups of one subgroup variable differ on the score the chart shows? Design-based
    Wald test of equal domain means of ``target`` (e.g. ``N04.practice``) across the groups
    (:mod:`analysis.domain_tests`), current wave: ``F = W / ndf`` on ``(ndf, ddf)``."""

    variable: str
    target: str
    statistic: float
    ndf: float
    ddf: float | None
    p_value: float
    """Unadjusted."""
    method: str = "wald"
    groups: tuple[str, ...] = ()
    """Groups tested (those with at least ``min_n`` responses)."""
    left_out: tuple[str, ...] = ()
    """Groups with fewer than ``min_n`` responses, left out of the test and the pairs."""
    pairs: tuple[PairwiseDifference, ...] = ()


@dataclass(frozen=True)
class AnswerShare:
    """Weighted share of one answer to one item (current wave), with its SE and 95% CI."""

    code: int
    label: dict[str, str]
    """Answer label per language, from the questionnaire."""
    share: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    """Unweighted size of the share's domain (answered 1-5; for "not applicable": shown and
    answered, 1-5 or 9)."""


@dataclass(frozen=True)
class ItemDistribution:
    """The answers to one awareness or practice item (current wave): shares of 1-5 among those
    who answered 1-5; "not applicable" separately, among those shown the item who answered."""

    item: str
    kind: str
    text: dict[str, str]
    """Question wording per language."""
    answers: tuple[AnswerShare, ...]
    not_applicable: AnswerShare | None = None


@dataclass(frozen=True)
class QuestionnaireItem:
    """One item of the questionnaire annex in one wording version: what was asked, on which
    answer scale, in which waves (from the wave definitions)."""

    code: str
    kind: str
    """``awareness``, ``practice``, ``attention`` or ``demographic``."""
    norm: str | None
    wording_version: int | None
    waves: tuple[int, ...]
    text: dict[str, str]
    answers: tuple[tuple[int, dict[str, str]], ...]
    """``(code, label per language)`` for each answer, in questionnaire order."""
    not_applicable: dict[str, str] | None = None
    """The "not applicable" label (code 9) when the item offers it."""


@dataclass(frozen=True)
class ItemChange:
    """Why an indicator's waves are not comparable: one of its items is asked with different
    wording versions, or is missing (not asked, or no answers in the data) in some waves.

    The report words these itself (:mod:`analysis.report.i18n` has zh/en templates), so no
    English reason from the analysis package reaches a Chinese report.
    """

    item: str
    """Item code, e.g. ``"N02_P3"``."""
    versions: tuple[tuple[int, int | None], ...]
    """``(wave, wording version)`` for each wave (of those considered) that asks the item."""
    missing: tuple[int, ...] = ()
    """Waves (of those considered) whose score lacks the item."""

    @property
    def wording_changed(self) -> bool:
        return len({v for _w, v in self.versions}) > 1

    def version_groups(self) -> list[tuple[int | None, tuple[int, ...]]]:
        """``[(version, waves asking that version), ...]`` in wave order."""
        groups: dict[int | None, list[int]] = {}
        for wave, version in sorted(self.versions):
            groups.setdefault(version, []).append(wave)
        return [(v, tuple(ws)) for v, ws in groups.items()]


@dataclass(frozen=True)
class NormFindings:
    """Everything the report says about one of the Ten Norms."""

    code: str
    """``N01`` .. ``N10``."""
    title: dict[str, str]
    """Norm title per language, from :mod:`questionnaires`."""
    estimates: dict[str, dict[int, Estimate]]
    """``estimates[kind][wave]`` for kind in :data:`INDICATOR_KINDS`."""
    comparisons: dict[str, Comparison] = field(default_factory=dict)
    """Current vs base wave, per kind; a kind is absent when not comparable."""
    trends: dict[str, Trend] = field(default_factory=dict)
    """Per kind, when three or more comparable waves exist."""
    subgroups: dict[str, list[SubgroupEstimate]] = field(default_factory=dict)
    """Practice score by subgroup variable (current wave), in the variable's category order."""
    subgroup_tests: list[SubgroupTest] = field(default_factory=list)
    """Practice score × subgroup variables (current wave), one test per variable."""
    alpha: dict[str, float] = field(default_factory=dict)
    """Cronbach's alpha per multi-item scale (``awareness``/``practice``), current wave."""
    n_items: dict[str, int] = field(default_factory=dict)
    """Number of items per scale."""
    comparable: bool = True
    """False when the base and current waves' items differ (wording version or presence)."""
    wording_changed: bool = False
    """The norm's official wording differs between the Ten Norms versions the waves used."""
    change_breaks: dict[str, tuple[ItemChange, ...]] = field(default_factory=dict)
    """Per kind: the items that differ between the base and the current wave (empty or absent:
    the two waves score the kind on the same items and wording versions)."""
    trend_breaks: dict[str, tuple[ItemChange, ...]] = field(default_factory=dict)
    """Per kind: the items that differ across the report's waves (no linear trend then)."""
    segments: dict[str, tuple[tuple[int, ...], ...]] = field(default_factory=dict)
    """Per kind: runs of consecutive waves scored on the same items and wording versions. A
    chart joins points only within a run; a kind absent here is one run over all waves."""
    common_items: bool = False
    """Changes and trends were computed on the items the waves share (plan ``common_items``)."""
    distributions: tuple[ItemDistribution, ...] = ()
    """Answer distributions of the norm's awareness and practice items (current wave)."""

    def name(self, lang: str) -> str:
        return self.title.get(lang) or self.title.get("en") or self.code

    def segment_of(self, kind: str, wave: int) -> tuple[int, ...] | None:
        """The run of comparable waves that holds ``wave`` (None: one run over all waves)."""
        for run in self.segments.get(kind, ()):
            if wave in run:
                return run
        return None

    def comparable_with_current(self, kind: str, wave: int, current: int) -> bool:
        """Whether ``wave``'s score of ``kind`` uses the current wave's items and wording."""
        run = self.segment_of(kind, current)
        return run is None or wave in run


@dataclass(frozen=True)
class WeightTarget:
    variable: str
    category: str
    share: float
    """Target as a share of the variable's total (0..1)."""
    source: str = ""
    """Source note from the margins file's old ``source_note`` column or the plan's
    ``margin_sources`` (as written there), when the file has no per-language sources."""
    source_text: dict[str, str] = field(default_factory=dict)
    """Source per language (``source_zh``, ``source_en`` columns of the margins file)."""
    caveat: dict[str, str] = field(default_factory=dict)
    """Caveat per language (``caveat_zh``, ``caveat_en``), e.g. how a band was estimated."""

    def source_in(self, lang: str) -> str:
        return self.source_text.get(lang) or self.source


@dataclass(frozen=True)
class WeightingInfo:
    margins_file: str
    targets: tuple[WeightTarget, ...]
    method: str = "raking"
    iterations: dict[int, int] = field(default_factory=dict)
    """Raking iterations per wave."""
    max_error: dict[int, float] = field(default_factory=dict)
    """Largest remaining margin error per wave (share points)."""
    weight_ratio: dict[int, float] = field(default_factory=dict)
    """Largest / smallest weight per wave."""


@dataclass(frozen=True)
class ComparabilityNote:
    """Something a reader must know before comparing waves. ``kind`` selects the i18n sentence:

    ``norm_version`` (``detail`` lists the Ten Norms version each wave followed),
    ``wording_changed`` (the official text of ``norm`` differs between those versions),
    ``items_dropped`` (the questionnaire defines ``item`` codes for ``norm`` that the data lack, in
    the waves ``detail`` lists; the score uses the other items),
    ``not_comparable`` (target ``item`` is not compared; ``changes`` say why in words the report
    translates, ``waves`` which waves (the base and current wave for a change, all waves for a
    trend); ``detail`` is the analysis package's reason, in English, shown only in an English
    report and only when ``changes`` is empty),
    ``no_trends`` (``detail``: the analysis package's message, English).
    """

    kind: str
    norm: str | None = None
    item: str | None = None
    detail: str = ""
    changes: tuple[ItemChange, ...] = ()
    waves: tuple[int, ...] = ()


@dataclass(frozen=True)
class MoeRow:
    """Margin of error (95%, score points) for a subgroup of ``n`` responses in the current wave."""

    n: int
    moe: float
    below_min_n: bool


@dataclass
class Findings:
    """A whole report's content. Build it with :func:`analysis.report.findings.build_findings`."""

    survey_title: dict[str, str]
    waves: list[WaveInfo]
    current_wave: int
    base_wave: int | None
    """The comparison wave; None in a one-wave (first-year) report: levels only, no changes."""
    norms: list[NormFindings]
    overall: NormFindings
    """The overall index across the ten norms (``code == "index"``): mean of the norm scores per
    kind, with its own comparisons and trends; ``subgroups`` are usually empty."""
    weighting: WeightingInfo | None = None
    comparability: list[ComparabilityNote] = field(default_factory=list)
    moe_table: list[MoeRow] = field(default_factory=list)
    min_n: int = 30
    alpha: float = 0.05
    """Significance level for changes."""
    adjustment: str = "holm"
    """Multiple-testing correction of the change p-values (``holm`` or ``bh``)."""
    confidence: float = 0.95
    design: dict[str, str | None] = field(default_factory=dict)
    """Design columns used: ``weight``, ``strata``, ``psu``, ``fpc``."""
    subgroup_variables: list[str] = field(default_factory=list)
    generated: date | None = None
    data_source: str = ""
    """A reader's name for the data, quoted in the charts' source lines (empty: the survey's
    title); never a file name or path, the report is published."""
    software: dict[str, str] = field(default_factory=dict)
    """Versions of the packages that computed the report (for the annex)."""
    publisher: dict[str, str] | None = None
    contact: str | None = None
    citation: dict[str, str] | None = None
    mode: str = "online_self_completion"
    """Survey mode (plan ``mode``; i18n ``mode_*``)."""
    sample_source: str = "opt_in"
    """Where respondents come from (plan ``sample_source``; i18n ``source_*``)."""
    questionnaire: tuple[QuestionnaireItem, ...] = ()
    """Every item of the report's waves, once per wording version (the questionnaire annex)."""
    not_applicable_recorded: bool = True
    """The data record "not applicable" as code 9 (an old export writes it as an empty cell:
    its share is then unknown and the answer distributions say so)."""

    @property
    def wave_years(self) -> list[int]:
        return [w.wave for w in self.waves]

    def wave(self, year: int) -> WaveInfo:
        for w in self.waves:
            if w.wave == year:
                return w
        raise KeyError(year)


def is_finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)
