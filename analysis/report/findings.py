"""Fill the findings model from DATA and a plan: the only module of the report that computes.

Every number comes from the analysis package, called the way its command line calls it:

* waves, quality exclusions: :func:`analysis.compare.prepare_waves` (:mod:`analysis.quality`);
* each wave's design and raking: :class:`analysis.compare.DesignSpec` (as ``estimate``/``compare``);
* norm scores, gaps, overall index with SEs/CIs, subgroup domain means:
  :func:`analysis.indicators.norm_scores`; Cronbach's alpha:
  :func:`analysis.indicators.scale_alphas`;
* design effects of the item means: :meth:`analysis.SurveyDesign.mean`;
* changes since the base wave with Holm/BH-adjusted p-values: :func:`analysis.compare.compare_waves`
  (one call, one family: all norm scores, gaps and the index, as ``survey-analysis compare``);
* linear trends and per-wave series: :func:`analysis.trend.linear_trend`;
* subgroup differences in the practice score the charts show: the Wald test of equal domain
  means and Holm-adjusted pairwise differences, :mod:`analysis.domain_tests`;
* norm titles (zh/en), wave dates and norms versions: :mod:`questionnaires`.

The only arithmetic here is bookkeeping on those results: margin targets as shares of their
variable's total, the largest/smallest weight ratio, and the margin-of-error table scaled from the
practice scores' standard errors (``z * median(se * sqrt(n)) / sqrt(n_group)``).

Where those numbers are computed is the engine's business: :class:`MemoryEngine` (the calls
above, in this process) or :class:`analysis.report.partitioned.DaskEngine` (the same numbers from
the Dask engine's partition sums, for a folder of Parquet files). Both give a
:class:`WaveNumbers` per wave and the same comparison, trend and subgroup-test results; this
module turns them into the findings once.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from importlib import metadata

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import AnalysisInputError
from analysis.report.current_wave import distributions_by_norm, subgroup_tests
from analysis.report.fieldwork import fieldwork_table, summaries_from_table
from analysis.report.i18n import STRINGS
from analysis.report.methods import questionnaire_items, targets_with_sources
from analysis.report.model import (
    INDICATOR_KINDS,
    ComparabilityNote,
    Comparison,
    Estimate,
    Findings,
    ItemChange,
    ItemDistribution,
    MoeRow,
    NormFindings,
    SubgroupEstimate,
    Trend,
    TrendPoint,
    WaveInfo,
    WeightingInfo,
    WeightTarget,
)
from analysis.report.plan import ReportPlan

Progress = Callable[[str], None]


def indicator_names(norm_codes) -> list[str]:
    """The compare/trend targets of the report, in report order: every norm's awareness,
    practice and gap, then the overall index."""
    names = [f"{code}.{kind}" for code in norm_codes for kind in INDICATOR_KINDS]
    return names + [f"index.{kind}" for kind in INDICATOR_KINDS]


@dataclass
class WaveNumbers:
    """What the report takes from one wave's design (in memory or on the Dask engine)."""

    scores: object
    """:func:`analysis.indicators.norm_scores`' result (``table``, ``scales``, ``dropped``)."""
    deff: np.ndarray
    """Design effects (with replacement) of the means of the scored items."""
    weighting: object | None
    """The raking report (:class:`analysis.weighting.WeightingReport`), None without margins."""
    weights: object
    """:class:`analysis.diagnostics.WeightDiagnostics` of the final weights."""
    n_responses: int
    n_analysed: int
    exclusions: dict
    started: date | None
    ended: date | None


class MemoryEngine:
    """The report's numbers in this process (pandas/NumPy): DATA is read once
    (:func:`analysis.pipeline.load_survey`) and each wave is a :class:`analysis.SurveyDesign`.
    :class:`analysis.report.partitioned.DaskEngine` has the same methods."""

    def __init__(self, data, plan: ReportPlan, fieldwork: dict | None = None):
        from analysis.pipeline import load_survey

        self.keep_flagged = not plan.exclude_flagged
        # one pipeline for every number (as the commands): read, metadata that travels with the
        # data (codebook, Parquet metadata, fieldwork summary), validation, "not applicable" out
        # of the domains, quality exclusions
        self.survey = load_survey(data, keep_flagged=self.keep_flagged,
                                  fieldwork=fieldwork_table(fieldwork) if fieldwork else None)
        self.fieldwork = summaries_from_table(self.survey.fieldwork, self.survey.source)
        self.columns = set().union(*(f.columns for f in self.survey.frames.values()))
        self.waves = sorted(int(w) for w in self.survey.waves)
        self.definitions = self.survey.definitions
        self._designs: dict = {}
        # the linear trends and the subgroup tests run in worker threads while this thread
        # builds each wave's design and the comparison: the work is numpy-heavy and releases
        # the GIL most of the time, so two cores overlap it. Each worker reads shared data
        # frames and builds its own designs.
        self._pool = ThreadPoolExecutor(max_workers=2)

    def refuse_free_text(self, columns) -> None:
        self.survey.refuse_free_text(columns)

    def check_design(self, spec) -> None:
        """Every design the plan can give is estimated in memory."""

    def submit(self, fn, *args) -> Future:
        return self._pool.submit(fn, *args)

    def close(self) -> None:
        # on an error, do not leave the workers running for nothing
        self._pool.shutdown(wait=False, cancel_futures=True)

    def wave(self, y: int, spec, by, current: bool) -> WaveNumbers:
        """Wave ``y``'s numbers (domain rows by ``by``); the ``current`` wave's design is kept
        for :meth:`current` and :meth:`subgroup_tests`."""
        frame, definition = self.survey.frames[y], self.definitions[y]
        design = spec.build(frame, y)
        if current:
            self._designs = {y: design}
        scores = _norm_scores(design, definition, by)
        items = [c for s in scores.scales for c in s.items]
        # with replacement: share targets make the weights sum to n, where the R default
        # (without replacement from a population of sum(weights)) is undefined
        deff = design.mean(items, deff="replace").table["deff"].to_numpy(float)
        excl = self.survey.exclusions.get(y)
        return WaveNumbers(
            scores=scores, deff=deff, weighting=getattr(design, "weighting", None),
            weights=design.weight_diagnostics,
            n_responses=len(frame) + (excl.total if excl is not None else 0),
            n_analysed=len(frame), exclusions=dict(excl.by_reason) if excl is not None else {},
            started=fieldwork_date(frame, "started_at", min),
            ended=fieldwork_date(frame, "submitted_at", max))

    def current(self, y: int, scales) -> tuple[pd.DataFrame, dict, bool]:
        """Cronbach's alphas, the answer distributions and whether "not applicable" is
        recorded, on the current wave ``y``."""
        alphas = _alphas(self.survey.frames[y], scales)
        distributions, recorded = distributions_by_norm(
            self._designs[y], self.definitions[y], scales, self.survey.not_applicable.get(y))
        return alphas, distributions, recorded

    def subgroup_tests(self, y: int, scales, subgroups, which, min_n, orders, method):
        # the current design's calibration is already built (the norm scores used it), so
        # the tests only read it
        return subgroup_tests(self._designs.get(y), scales, subgroups, which, min_n, orders,
                              method)

    def compare(self, names, base, current, spec, plan):
        from analysis.compare import compare_waves

        return compare_waves(self.survey, names, base, current, design=spec,
                             method=plan.adjustment, alpha=plan.alpha,
                             keep_flagged=self.keep_flagged, common_items=plan.common_items)

    def trend(self, names, years, spec, plan):
        from analysis.trend import linear_trend

        return linear_trend(self.survey, names, years, design=spec,
                            keep_flagged=self.keep_flagged, common_items=plan.common_items)


def build_findings(data, plan: ReportPlan, *, data_source: str | None = None,
                   progress: Progress | None = None, today: date | None = None,
                   fieldwork: dict | None = None, engine=None) -> Findings:
    """Run the analysis ``plan`` asks for on ``data`` (a path to CSV/Parquet or a DataFrame).

    With a single wave (or no wave before the current one) the findings hold levels only:
    ``base_wave`` is None and no norm has comparisons or trends.

    ``engine`` computes the numbers: by default :class:`MemoryEngine` on ``data``;
    :class:`analysis.report.partitioned.DaskEngine` for a folder or glob of Parquet files.

    Raises :class:`AnalysisInputError` for a wave missing from DATA, a base wave not before the
    current wave, an unknown design or subgroup column.
    """
    tick = progress or (lambda _step: None)
    source = engine or MemoryEngine(data, plan, fieldwork)
    try:
        return _findings(source, plan, tick, data_source, today)
    finally:
        source.close()


def _findings(source, plan: ReportPlan, tick: Progress, data_source, today) -> Findings:
    from analysis.compare import DesignSpec, margins_for_wave
    from analysis.io import read_margins
    from questionnaires import load_norms

    fieldwork = source.fieldwork
    tick("read")
    data_source = data_source or ""  # never the file name: the report is published
    columns = source.columns

    present = source.waves
    years = list(plan.waves) if plan.waves else present
    missing = [y for y in years if y not in present]
    if missing:
        raise AnalysisInputError(f"wave {missing[0]} (plan {plan.source}) is not in the data "
                                 f"(column 'wave' has {', '.join(map(str, present))})")
    current = plan.current_wave or years[-1]
    if current not in years:
        raise AnalysisInputError(f"current_wave {current} is not one of the waves "
                                 f"{', '.join(map(str, years))}")
    earlier = [y for y in years if y < current]
    # no earlier wave (the survey's first year): a report of levels, without changes or trends
    base = plan.base_wave or (earlier[-1] if earlier else None)
    if plan.base_wave is not None and (base not in years or base >= current):
        raise AnalysisInputError(f"base_wave {base} must be one of the waves before current_wave "
                                 f"{current} ({', '.join(map(str, years))})")
    for role, column in plan.design.items():
        if column and column not in columns:
            raise AnalysisInputError(f"design.{role} (plan {plan.source}): unknown column "
                                     f"'{column}'")
    if plan.subgroups is None:
        from analysis.report.plan import DEFAULT_SUBGROUPS

        subgroups = [v for v in DEFAULT_SUBGROUPS if v in columns]
        unknown = []
    else:
        subgroups = list(plan.subgroups)
        unknown = [v for v in plan.subgroups if v not in columns]
    if unknown:
        raise AnalysisInputError(f"subgroups (plan {plan.source}): unknown column '{unknown[0]}'")
    # a free text is never a subgroup nor a design column: its words would be printed
    source.refuse_free_text([*subgroups, *(c for c in plan.design.values() if c)])

    margins = None
    weighting_targets: tuple[WeightTarget, ...] = ()
    if plan.margins is not None:
        margins = read_margins(plan.margins)
        weighting_targets = targets_with_sources(
            plan.margins, margins_for_wave(margins, current), plan.margin_sources)
    spec = DesignSpec(
        weight=plan.design.get("weight") if margins is None else None,
        base_weight=plan.design.get("weight") if margins is not None else None,
        strata=plan.design.get("strata"), psu=plan.design.get("psu"),
        fpc=plan.design.get("fpc"), margins=margins, rescale=plan.rescale_margins)
    source.check_design(spec)
    definitions = source.definitions
    tick("quality")
    names = indicator_names(load_norms().codes)

    # the linear trends (pooled design over all waves) start first: the in-memory engine runs
    # them in a worker thread while this thread builds each wave's design
    trend_future = None
    if len(years) >= 3:
        trend_future = source.submit(source.trend, [n for n in names if not n.endswith(".gap")],
                                     years, spec, plan)
    catalogue = load_norms()
    norm_codes = list(catalogue.codes)
    orders = _category_orders(definitions[current], subgroups)

    # --- per wave: design, indicators, design effects, weighting report ------------------------
    estimates: dict[str, dict[str, dict[int, Estimate]]] = {}
    waves: list[WaveInfo] = []
    iterations, max_error, weight_ratio = {}, {}, {}
    subgroup_rows = None
    alphas = pd.DataFrame()
    scale_sizes: dict[tuple[str, str], int] = {}
    moe_scale = None
    current_scales: tuple = ()
    distributions: dict[str, tuple[ItemDistribution, ...]] = {}
    na_recorded = False
    dropped: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    # each wave's scales as scored ({scale: {item: wording version}}): which waves are
    # comparable, and why not, in terms the report can word in both languages
    signatures: dict[int, dict[str, dict[str, int | None]]] = {}
    for y in years:
        definition = definitions[y]
        by = subgroups if (y == current and subgroups) else None
        numbers = source.wave(y, spec, by, y == current)
        scores = numbers.scores
        table = scores.table
        whole = table[table["by"] == ""]
        for row in whole.itertuples(index=False):
            estimates.setdefault(row.norm, {k: {} for k in INDICATOR_KINDS})[row.kind][y] = \
                Estimate(float(row.estimate), float(row.se), float(row.ci_low),
                         float(row.ci_high), int(row.n))
        signatures[y] = {sc.name: dict(zip(sc.items, sc.versions or (None,) * len(sc.items),
                                           strict=True)) for sc in scores.scales}
        for scale_name, codes in scores.dropped.items():
            dropped.setdefault((scale_name, tuple(codes)), []).append(y)
        deff = numbers.deff
        report = numbers.weighting
        if report is not None:
            iterations[y] = int(report.iterations)
            max_error[y] = float(report.max_relative_error)
            weight_ratio[y] = float(report.weight_max / report.weight_min)
        index_practice = whole[whole["indicator"] == "index.practice"]
        waves.append(WaveInfo(
            wave=y, n_responses=numbers.n_responses, n_analysed=numbers.n_analysed,
            fieldwork_start=numbers.started or definition.opens,
            fieldwork_end=numbers.ended or definition.closes,
            norm_version=definition.norms_version,
            exclusions=numbers.exclusions,
            design_effect=float(np.nanmean(deff)) if len(deff) else None,
            moe_overall=(float(index_practice["ci_high"].iloc[0] - index_practice["estimate"]
                               .iloc[0]) if len(index_practice) else None),
            fieldwork=(fieldwork or {}).get(y), weights=numbers.weights))
        if y == current:
            subgroup_rows = table[table["by"] != ""]
            scale_sizes = {(sc.norm, sc.kind): len(sc.items) for sc in scores.scales}
            current_scales = scores.scales
            alphas, distributions, na_recorded = source.current(y, scores.scales)
            practice = whole[(whole["kind"] == "practice") & (whole["norm"] != "index")]
            moe_scale = float(np.median(practice["se"] * np.sqrt(practice["n"])))
        tick(f"wave {y}")

    # --- subgroup tests (current wave), beside the comparison -----------------------------------
    tests_future = source.submit(source.subgroup_tests, current, current_scales, subgroups,
                                 plan.subgroup_tests, plan.min_n, orders, plan.adjustment)

    # --- changes since the base wave: one compare call, one multiple-testing family ------------
    comparison, changes = None, {}
    if base is not None:
        comparison = source.compare(names, base, current, spec, plan)
        changes = _changes_by_family(comparison.table, base, current, plan.adjustment,
                                     plan.alpha)
    tick("compare")

    # --- linear trends over all waves (three or more) -----------------------------------------
    trends: dict[str, Trend] = {}
    trend_notes = pd.DataFrame(columns=["kind", "item", "message"])
    trend_failure = None
    if trend_future is not None:
        from analysis.compare import adjust_p_values

        try:
            result = trend_future.result()
        except AnalysisInputError as exc:
            # no indicator is comparable across all the waves: report without trends
            result = None
            trend_failure = str(exc)
    if trend_future is not None and result is not None:
        series = {item: rows for item, rows in result.series.groupby("item", sort=False)}
        # the overall indices' trends and the norms' trends are two families, corrected
        # separately, as the changes are
        table = result.table.reset_index(drop=True)
        family = np.where(table["item"].str.startswith("index."), "headline_trend",
                          "norm_trend")
        for name in ("headline_trend", "norm_trend"):
            rows = table[family == name]
            p_adjusted = adjust_p_values(rows["p_value"].to_numpy(float), plan.adjustment)
            size = int(np.isfinite(rows["p_value"].to_numpy(float)).sum())
            for r, p_adj in zip(rows.itertuples(index=False), p_adjusted, strict=True):
                points = tuple(TrendPoint(int(s.wave), Estimate(
                    float(s.estimate), float(s.se), float(s.ci_low), float(s.ci_high),
                    int(s.n))) for s in series[r.item].itertuples(index=False))
                trends[r.item] = Trend(float(r.slope), float(r.se), float(r.p_value),
                                       points, float(p_adj), family=name, family_size=size)
        trend_notes = result.notes
    tick("trend")

    tests = tests_future.result()
    tick("subgroups")

    # --- assemble ----------------------------------------------------------------------------
    versions = {y: definitions[y].norms_version for y in years}
    changed = _changed_norms(catalogue, versions)
    title_version = versions[current]
    norms = []
    for code in norm_codes:
        if code not in estimates:
            continue
        norms.append(_with_breaks(_norm_findings(
            code, catalogue.norm(code).title(title_version), estimates[code], changes, trends,
            subgroup_rows, tests, alphas, plan.min_n, changed, scale_sizes, orders),
            signatures, years, base, current, plan.common_items,
            distributions.get(code, ())))
    index_title = {lang: STRINGS["kind_index"][lang] for lang in ("zh", "en")}
    overall = _with_breaks(_norm_findings(
        "index", index_title, estimates["index"], changes, trends, subgroup_rows, tests,
        pd.DataFrame(), plan.min_n, set(), {}, orders),
        signatures, years, base, current, plan.common_items)

    z = float(stats.norm.ppf(0.975))
    moe_table = [MoeRow(n, z * moe_scale / np.sqrt(n), n < plan.min_n) for n in plan.moe_sizes]
    notes = _comparability_notes(comparison, trend_notes, versions, changed, years, dropped,
                                 [*norms, overall], base, current)
    if trend_failure:
        notes.append(ComparabilityNote("no_trends", detail=trend_failure))
    weighting = None
    if plan.margins is not None:
        weighting = WeightingInfo(margins_file=plan.margins.name, targets=weighting_targets,
                                  iterations=iterations, max_error=max_error,
                                  weight_ratio=weight_ratio)
    title = plan.title or {lang: STRINGS["survey_title"][lang] for lang in ("zh", "en")}
    return Findings(
        survey_title=title, waves=waves, current_wave=current, base_wave=base, norms=norms,
        overall=overall, weighting=weighting, comparability=notes, moe_table=moe_table,
        min_n=plan.min_n, alpha=plan.alpha, adjustment=plan.adjustment,
        publisher=plan.publisher, contact=plan.contact, citation=plan.citation,
        mode=plan.mode, sample_source=plan.sample_source,
        design=dict(plan.design), subgroup_variables=subgroups, generated=today or date.today(),
        data_source=data_source, software=_versions(),
        not_applicable_recorded=na_recorded,
        questionnaire=questionnaire_items(definitions, years))


# --- helpers -----------------------------------------------------------------------------------

def change_family(item: str) -> str:
    """The multiple-testing family of a change: ``headline`` for the overall indices
    (``index.awareness``, ``index.practice``, ``index.gap``), ``norms`` for every norm score."""
    return "headline" if item.startswith("index.") else "norms"


def _changes_by_family(table: pd.DataFrame, base: int, current: int, method: str,
                       alpha: float) -> dict[str, Comparison]:
    """Whole-sample changes from ``compare_waves``' table, with the raw p-values corrected
    within each family (:func:`change_family`) rather than over the whole call: the headline
    indices are the report's few primary questions and must not pay for the 30 norm scores."""
    from analysis.compare import adjust_p_values

    whole = table[table["by"] == ""].reset_index(drop=True)
    families = whole["item"].map(change_family)
    out: dict[str, Comparison] = {}
    for name in ("headline", "norms"):
        rows = whole[families == name]
        raw = rows["p_value"].to_numpy(float)
        adjusted = adjust_p_values(raw, method)
        size = int(np.isfinite(raw).sum())
        for r, p_adj in zip(rows.itertuples(index=False), adjusted, strict=True):
            out[r.item] = Comparison(
                base, current, float(r.base), float(r.current), float(r.diff), float(r.se),
                float(r.ci_low), float(r.ci_high), float(r.p_value), float(p_adj),
                bool(np.isfinite(p_adj) and p_adj < alpha), family=name, family_size=size)
    return out


def _norm_scores(design, definition, by):
    from analysis.indicators import norm_scores

    return norm_scores(design, wave=definition, by=by)


def _alphas(frame, scales) -> pd.DataFrame:
    from analysis.indicators import scale_alphas

    return scale_alphas(frame, scales)


def fieldwork_date(frame: pd.DataFrame, column: str, pick) -> date | None:
    """First/last date of a timestamp column. The export writes ISO 8601 UTC strings, which sort
    as text, so only the extreme value is parsed (parsing every row costs seconds at 200,000)."""
    if column not in frame.columns:
        return None
    values = frame[column].dropna()
    if values.empty:
        return None
    try:
        extreme = pick(values.astype(str)) if values.dtype == object else pick(values)
        stamp = pd.to_datetime(extreme, utc=True)
    except (ValueError, TypeError):
        stamps = pd.to_datetime(values, errors="coerce", utc=True).dropna()
        if stamps.empty:
            return None
        stamp = pick(stamps)
    return None if pd.isna(stamp) else stamp.date()


def _category_orders(definition, subgroups) -> dict[str, list[str]]:
    """Reading order of each subgroup variable's categories: the questionnaire's option order
    (``region`` is derived, not asked: the order of the report's own labels)."""
    orders = {}
    for variable in subgroups:
        item = definition.items.get(variable)
        if item is not None:
            orders[variable] = [str(o.value) for o in item.options if o.value is not None]
        else:
            prefix = f"cat_{variable}_"
            orders[variable] = [k[len(prefix):] for k in STRINGS if k.startswith(prefix)]
    return orders


def _norm_findings(code, title, est, changes, trends, subgroup_rows, tests, alphas, min_n,
                   changed, scale_sizes, orders) -> NormFindings:
    subgroups: dict[str, list[SubgroupEstimate]] = {}
    if subgroup_rows is not None:
        rows = subgroup_rows[subgroup_rows["indicator"] == f"{code}.practice"]
        for r in rows.itertuples(index=False):
            e = Estimate(float(r.estimate), float(r.se), float(r.ci_low), float(r.ci_high),
                         int(r.n))
            subgroups.setdefault(r.by, []).append(
                SubgroupEstimate(r.by, str(r.group), e, small=int(r.n) < min_n))
    for variable, groups in subgroups.items():
        order = orders.get(variable, [])
        groups.sort(key=lambda g: (order.index(g.group) if g.group in order else len(order),
                                   g.group))
    n_items = {kind: n for (norm, kind), n in scale_sizes.items() if norm == code}
    alpha = {}
    if len(alphas):
        for r in alphas[alphas["norm"] == code].itertuples(index=False):
            if np.isfinite(r.alpha):
                alpha[r.kind] = float(r.alpha)
    comparisons = {k: changes[f"{code}.{k}"] for k in INDICATOR_KINDS if f"{code}.{k}" in changes}
    return NormFindings(
        code=code, title=dict(title), estimates=est, comparisons=comparisons,
        trends={k: trends[f"{code}.{k}"] for k in ("awareness", "practice")
                if f"{code}.{k}" in trends},
        subgroups=subgroups,
        subgroup_tests=[t for t in tests if t.target == f"{code}.practice"],
        alpha=alpha, n_items=n_items, comparable=len(comparisons) == len(INDICATOR_KINDS),
        wording_changed=code in changed)


def _scale_names(code: str, kind: str, names) -> list[str]:
    """The scales an indicator is built from (as ``analysis.compare`` combines them)."""
    kinds = ("awareness", "practice") if kind == "gap" else (kind,)
    if code == "index":
        return sorted(n for n in names if n.split(".")[1] in kinds)
    return [f"{code}.{k}" for k in kinds]


def item_changes(code: str, kind: str, signatures: dict[int, dict[str, dict[str, int | None]]],
                 waves) -> tuple[ItemChange, ...]:
    """Items of indicator ``code.kind`` that differ across ``waves``: asked with different
    wording versions, or missing from some waves' scores. Empty: the waves are comparable.

    ``signatures[wave][scale] = {item: wording version}`` as each wave scored it (after dropping
    items the data lack), so this is the comparability rule of ``analysis.compare`` and
    ``analysis.trend`` (same items, same wording versions), kept item by item for the wording.
    """
    waves = sorted(waves)
    names = sorted({n for y in waves for n in _scale_names(code, kind, signatures[y])})
    out: list[ItemChange] = []
    for name in names:
        items = sorted({i for y in waves for i in signatures[y].get(name, {})})
        for item in items:
            asked = [(y, signatures[y][name][item]) for y in waves
                     if item in signatures[y].get(name, {})]
            missing = tuple(y for y in waves if item not in signatures[y].get(name, {}))
            change = ItemChange(item, tuple(asked), missing)
            if missing or change.wording_changed:
                out.append(change)
    # the index: one item can sit in one scale only, but keep each item once in any case
    seen, unique = set(), []
    for c in out:
        if c.item not in seen:
            seen.add(c.item)
            unique.append(c)
    return tuple(unique)


def _segments(code, kind, signatures, years) -> tuple[tuple[int, ...], ...]:
    runs: list[list[int]] = []
    for y in sorted(years):
        if runs and not item_changes(code, kind, signatures, (runs[-1][-1], y)):
            runs[-1].append(y)
        else:
            runs.append([y])
    return tuple(tuple(r) for r in runs)


def _with_breaks(norm: NormFindings, signatures, years, base, current,
                 common_items: bool, distributions=()) -> NormFindings:
    """``norm`` with what differs between its waves: per kind the items that break the change
    (base vs current) and the trend (all waves), and the runs of comparable waves."""
    from dataclasses import replace

    change_breaks, trend_breaks, segments = {}, {}, {}
    for kind in INDICATOR_KINDS:
        pair = () if base is None else item_changes(norm.code, kind, signatures, (base, current))
        if pair:
            change_breaks[kind] = pair
        every = item_changes(norm.code, kind, signatures, years)
        if every:
            trend_breaks[kind] = every
            segments[kind] = _segments(norm.code, kind, signatures, years)
    return replace(norm, change_breaks=change_breaks, trend_breaks=trend_breaks,
                   segments=segments, common_items=common_items,
                   distributions=tuple(distributions))


def _changed_norms(catalogue, versions: dict[int, str]) -> set[str]:
    used = sorted(set(versions.values()))
    out = set()
    for i, a in enumerate(used):
        for b in used[i + 1:]:
            out |= {c.code for c in catalogue.changed_between(a, b)}
    return out


def _comparability_notes(comparison, trend_notes, versions, changed, years, dropped,
                         norms=(), base=None, current=None):
    notes = [ComparabilityNote("norm_version", detail="; ".join(
        f"{y}: {versions[y]}" for y in years))]
    for code in sorted(changed):
        notes.append(ComparabilityNote("wording_changed", norm=code))
    for (scale_name, codes), in_waves in dropped.items():
        notes.append(ComparabilityNote("items_dropped", norm=scale_name.split(".")[0],
                                       item=", ".join(codes),
                                       detail=", ".join(map(str, in_waves))))
    by_name = {n.code: n for n in norms}

    def breaks(item: str, which: str):
        code, _dot, kind = item.partition(".")
        norm = by_name.get(code)
        if norm is None:
            return ()
        return (norm.change_breaks if which == "change" else norm.trend_breaks).get(kind, ())

    # a target not compared between the base and the current wave, then a target without a
    # trend over all waves (each note names its waves, so one target may have both)
    not_compared = comparison.not_comparable if comparison is not None else pd.DataFrame(
        columns=["item", "by", "group", "reason"])
    for r in not_compared.itertuples(index=False):
        if r.by == "":
            notes.append(ComparabilityNote("not_comparable", item=r.item, detail=r.reason,
                                           changes=breaks(r.item, "change"),
                                           waves=(base, current)))
    for r in trend_notes.itertuples(index=False):
        if r.kind == "not_comparable":
            notes.append(ComparabilityNote("not_comparable", item=r.item,
                                           detail=r.message.split("not comparable, ", 1)[-1],
                                           changes=breaks(r.item, "trend"),
                                           waves=tuple(years)))
    return notes


def _versions() -> dict[str, str]:
    out = {}
    for dist in ("ten-norms-survey", "numpy", "pandas", "scipy", "statsmodels", "matplotlib",
                 "weasyprint"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return out
