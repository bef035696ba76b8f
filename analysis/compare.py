"""Year-over-year comparisons of items and Ten Norms indicators, with comparability rules.

Two waves are independent samples, each its own design (its own weights, strata, PSUs and, with
margins, its own raking). For every target (a raw item such as ``N04_P1`` or an indicator such
as ``N04.practice`` / ``index.gap``, see :mod:`analysis.indicators`) and every domain:

* ``diff = current - base``; ``se = sqrt(se_base^2 + se_current^2)``; normal CI and two-sided
  normal p-value.
* Multiple testing: the rows of one call are one family. ``p_adjusted`` is Holm's step-down
  adjustment (family-wise error, the default) or Benjamini-Hochberg (false discovery rate,
  ``method="bh"``); ``significant`` is ``p_adjusted < alpha``. :attr:`Comparison.method_note`
  says which, and the command line prints it and writes it to the notes sidecar.

Comparability (from the wave definitions of the two years, never from the data alone):

* A raw item is compared only when both waves ask it with the same code *and* wording version
  (:func:`questionnaires.comparable`). An item only one wave asks, or whose wording version
  differs, is listed as not comparable (reason given) and gets no row in the table.
* A norm score is compared only when both waves score it from the same items with the same
  wording versions; a gap needs both its scales comparable, the overall index every norm's scale.
  With ``common_items=True`` both waves are instead re-scored on the items they share with the
  same wording (the items left out are listed).
* The 2018 trial and 2023 versions of the Ten Norms use the same codes N01..N10 for the same
  topics. When the two waves follow different norms versions and a norm's official title or text
  changed between them, every target of that norm gets a note saying so (the comparison is still
  made when the items themselves are comparable).
* A domain group that one wave lacks is listed as not comparable.

Bad input raises :class:`AnalysisInputError`: a wave missing from the data, the same wave twice,
an item no wave defines and the data lack, an item a wave defines but the data have no answers
for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from analysis.errors import AnalysisInputError
from analysis.indicators import (
    SCALE_KINDS,
    Scale,
    Target,
    estimate_targets,
    parse_target,
    scales_in_data,
    wave_scales,
)
from analysis.quality import ExclusionReport, add_quality_flags, exclude_flagged

COMPARE_COLUMNS = ("item", "by", "group", "base", "current", "diff", "se", "ci_low", "ci_high",
                   "p_value", "p_adjusted", "significant")
NOT_COMPARABLE_COLUMNS = ("item", "by", "group", "reason")
NOTES_COLUMNS = ("kind", "item", "message")
METHODS = {"holm": ("holm", "Holm step-down (family-wise error rate)"),
           "bh": ("fdr_bh", "Benjamini-Hochberg (false discovery rate)")}

__all__ = [
    "COMPARE_COLUMNS",
    "Comparison",
    "DesignSpec",
    "adjust_p_values",
    "compare_waves",
    "prepare_waves",
]


# --------------------------------------------------------------------------- designs per wave
@dataclass(frozen=True)
class DesignSpec:
    """How to build each wave's design from the responses table (column names).

    ``weight`` is the final weight column; with ``margins`` (a :class:`analysis.Margins` or a path)
    each wave is raked to the margins (rows for that wave when the margins have a ``wave`` column),
    starting from ``base_weight`` (or ``weight``, or 1), and SEs account for the raking;
    ``rescale`` turns count targets on different bases into shares of one total (as ``estimate
    --rescale``).
    """

    weight: str | None = None
    strata: str | None = None
    psu: str | None = None
    fpc: str | None = None
    margins: object | None = None
    base_weight: str | None = None
    lonely_psu: str = "fail"
    rescale: bool = False

    def build(self, df: pd.DataFrame, year: int | None = None):
        from analysis.design import SurveyDesign

        start = (self.base_weight or self.weight) if self.margins is not None else self.weight
        design = SurveyDesign(df, weights=start, strata=self.strata, psu=self.psu, fpc=self.fpc,
                              lonely_psu=self.lonely_psu)
        if self.margins is not None:
            design = design.rake(margins_for_wave(self.margins, year), rescale=self.rescale)
        return design


def margins_for_wave(margins, year: int | None):
    """The margins for one wave: a path is read with :func:`analysis.read_margins`; margins with
    a ``wave`` column are restricted to ``year``'s rows."""
    if isinstance(margins, str):
        try:
            from analysis import read_margins
        except ImportError:  # pragma: no cover - the core provides it
            raise AnalysisInputError("raking needs analysis.read_margins (analysis core)") from None
        margins = read_margins(margins)
    selector = getattr(margins, "for_wave", None)
    if callable(selector) and year is not None:
        return selector(year)
    table = getattr(margins, "table", margins)
    if isinstance(table, pd.DataFrame) and "wave" in table.columns and year is not None:
        rows = table[pd.to_numeric(table["wave"], errors="coerce") == year]
        if rows.empty:
            raise AnalysisInputError(f"margins: no rows for wave {year} in column 'wave'")
        return rows.drop(columns="wave").reset_index(drop=True)
    return margins


@dataclass
class PreparedWaves:
    """The rows of the requested waves after quality exclusion, and their definitions."""

    frames: dict[int, pd.DataFrame]
    definitions: dict[int, object]
    exclusions: dict[int, ExclusionReport]
    notes: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, item, message)


def prepare_waves(data: pd.DataFrame, years: Sequence[int], *, keep_flagged: bool = False,
                  load_wave: Callable[[int], object] | None = None) -> PreparedWaves:
    """Split ``data`` by ``wave``, check every year is there, drop quality-flagged responses
    (unless ``keep_flagged``; flags the data lack are computed from the wave definitions)."""
    if "wave" not in data.columns:
        raise AnalysisInputError("column 'wave' is missing from the data")
    if load_wave is None:
        from questionnaires import load_wave
    wave_col = pd.to_numeric(data["wave"], errors="coerce")
    if wave_col.isna().any():
        bad = data["wave"][wave_col.isna()].iloc[0]
        raise AnalysisInputError(f"column 'wave': value '{bad}' is not a year")
    present = sorted(int(v) for v in wave_col.unique())
    years = [int(y) for y in years]
    if len(set(years)) != len(years):
        raise AnalysisInputError(f"waves repeat: {', '.join(map(str, years))}")
    for y in years:
        if y not in present:
            raise AnalysisInputError(
                f"wave {y} is not in the data (column 'wave' has {', '.join(map(str, present))})")
    out = PreparedWaves({}, {}, {})
    for y in years:
        df = data[wave_col == y].reset_index(drop=True)
        try:
            out.definitions[y] = load_wave(y)
        except Exception as exc:  # noqa: BLE001 - any loader failure is one clear line
            raise AnalysisInputError(f"wave {y}: no usable questionnaire definition ({exc})"
                                     ) from None
        if not keep_flagged:
            df = add_quality_flags(df, lambda _y, w=out.definitions[y]: w)
            df, report = exclude_flagged(df)
            df = df.reset_index(drop=True)
            out.exclusions[y] = report
            out.notes.append(("quality", "", f"wave {y}: {report.message()}"))
            if df.empty:
                raise AnalysisInputError(f"wave {y}: every response is flagged by the quality "
                                         "checks (use --keep-flagged to keep them)")
        out.frames[y] = df
    return out


# --------------------------------------------------------------------------- comparability
def _norms_of(target: Target, definitions: Sequence) -> set[str]:
    if target.item is not None:
        norms = {d.items[target.item].norm for d in definitions if target.item in d.items}
        return {n for n in norms if n}
    if target.norm == "index":
        return {i.norm for d in definitions for i in d.items.values()
                if i.kind in SCALE_KINDS and i.norm}
    return {target.norm}


def _component_scales(target: Target, scales: dict[str, Scale]) -> list[str]:
    kinds = SCALE_KINDS if target.kind == "gap" else (target.kind,)
    if target.norm == "index":
        return sorted(n for n in scales if n.split(".")[1] in kinds)
    return [f"{target.norm}.{k}" for k in kinds]


def _describe(sig) -> str:
    return ", ".join(f"{c}@{v}" if v is not None else c for c, v in sig) or "no items"


def norm_wording_notes(definitions: dict[int, object], targets: Sequence[Target],
                       load_norms: Callable[[], object] | None = None
                       ) -> list[tuple[str, str, str]]:
    """Notes for targets of norms whose official wording changed between the norms versions
    the waves follow (same code N01..N10 = same topic in both versions)."""
    versions = {y: d.norms_version for y, d in definitions.items()}
    if len(set(versions.values())) < 2:
        return []
    if load_norms is None:
        from questionnaires import load_norms
    catalogue = load_norms()
    years = sorted(versions)
    changed = {}
    for i, a in enumerate(years):
        for b in years[i + 1:]:
            for ch in catalogue.changed_between(versions[a], versions[b]):
                changed.setdefault(ch.code, ch)
    notes = []
    used = ", ".join(f"{y} follows the {v} version" for y, v in sorted(versions.items()))
    for t in targets:
        for norm in sorted(_norms_of(t, list(definitions.values())) & set(changed)):
            ch = changed[norm]
            what = []
            if ch.title_changed:
                what.append(f"title {ch.title_from} -> {ch.title_to}")
            if ch.text_changed:
                what.append("explanatory text")
            if ch.note:
                what.append(ch.note)
            detail = "; ".join(what) or "wording"
            notes.append(("norm_wording", t.name,
                          f"{t.name}: the official wording of norm {norm} changed between the "
                          f"{ch.from_version} and {ch.to_version} versions ({detail}; {used}); "
                          f"{norm} is the same topic in both, so comparability is judged on the "
                          "items' own wording"))
    return notes


def wave_scales_in_data(defs: dict[int, object], frames: dict[int, pd.DataFrame],
                        targets: Sequence[Target]):
    """Each wave's scales restricted to the items its data have, and one note per scale whose
    items some wave defines but the data lack (only for scales the targets use)."""
    scales: dict[int, dict[str, Scale]] = {}
    lacking: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    for y in sorted(defs):
        full = {s.name: s for s in wave_scales(defs[y])}
        relevant = {n for t in targets if t.is_indicator for n in _component_scales(t, full)}
        kept, dropped = scales_in_data(full.values(), frames[y])
        scales[y] = {s.name: s for s in kept}
        for name, codes in dropped.items():
            if name in relevant:
                lacking.setdefault((name, codes), []).append(y)
    notes = [("items_dropped", name,
              f"{name}: the data have no answers to {', '.join(codes)} (asked in wave "
              f"{', '.join(map(str, ys))}); the score uses the wave's other items")
             for (name, codes), ys in lacking.items()]
    return scales, notes


# --------------------------------------------------------------------------- the comparison
@dataclass
class Comparison:
    """Result of :func:`compare_waves`.

    ``table``: columns :data:`COMPARE_COLUMNS` (``item`` is the target name; ``by``/``group``
    empty for the whole sample; ``base``/``current`` the two waves' estimates; ``significant``
    bool). ``not_comparable``: ``item, by, group, reason``. ``notes``: ``kind, item, message``
    rows (kind ``method``, ``not_comparable``, ``norm_wording``, ``items_dropped``, ``quality``).
    """

    base: int
    current: int
    table: pd.DataFrame
    not_comparable: pd.DataFrame
    notes: pd.DataFrame
    method: str
    alpha: float
    level: float

    @property
    def method_note(self) -> str:
        return self.notes.loc[self.notes["kind"] == "method", "message"].iloc[0]

    def __repr__(self) -> str:
        lines = [f"Comparison {self.base} -> {self.current}: {len(self.table)} rows; "
                 f"{self.method_note}"]
        t = self.table.head(20)
        for _, r in t.iterrows():
            where = f" [{r['by']}={r['group']}]" if r["by"] else ""
            star = " *" if r["significant"] else ""
            lines.append(f"  {r['item']}{where}: {r['base']:.4g} -> {r['current']:.4g} "
                         f"(diff {r['diff']:+.4g}, se {r['se']:.3g}, p_adj {r['p_adjusted']:.3g})"
                         f"{star}")
        for _, r in self.not_comparable.iterrows():
            lines.append(f"  not comparable: {r['item']}: {r['reason']}")
        return "\n".join(lines)


def adjust_p_values(p: np.ndarray, method: str = "holm") -> np.ndarray:
    """Holm or Benjamini-Hochberg adjusted p-values; NaN entries stay NaN and are not in the
    family."""
    if method not in METHODS:
        raise AnalysisInputError(f"multiple-testing method '{method}' is not one of "
                                 f"{', '.join(METHODS)}")
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], method=METHODS[method][0])[1]
    return out


def _check_items(targets, definitions, frames, years):
    """Raise for an item that no wave defines and the data lack (a typo)."""
    for t in targets:
        if t.item is None:
            continue
        defined = [y for y in years if t.item in definitions[y].items]
        in_data = [y for y in years if t.item in frames[y].columns]
        if not defined and not in_data:
            raise AnalysisInputError(
                f"item '{t.item}' is not in wave {' or '.join(map(str, years))} (neither in the "
                "wave definitions nor a column of the data)")


def _require_answers(t: Target, frames, years):
    """A comparable item must have answers in every wave's data."""
    for y in years:
        if t.item not in frames[y].columns or frames[y][t.item].notna().sum() == 0:
            raise AnalysisInputError(
                f"item '{t.item}': wave {y} asks it but the data have no answers to it in "
                f"wave {y}")


def _raw_comparability(t: Target, da, db, ya, yb) -> str | None:
    from questionnaires import comparable

    ia, ib = da.items.get(t.item), db.items.get(t.item)
    if ia is None and ib is None:
        return f"not in the wave definitions of {ya} or {yb}"
    if ia is None or ib is None:
        lacking = ya if ia is None else yb
        return f"not asked in wave {lacking}"
    if not comparable(ia, ib):
        return (f"wording changed: version {ia.wording_version} in {ya}, "
                f"version {ib.wording_version} in {yb}")
    return None


def compare_waves(
    data: pd.DataFrame,
    items: Sequence[str],
    base: int,
    current: int,
    *,
    design: DesignSpec | None = None,
    by: str | Sequence[str] | None = None,
    proportion: Sequence[float] | None = None,
    method: str = "holm",
    alpha: float = 0.05,
    level: float = 0.95,
    keep_flagged: bool = False,
    common_items: bool = False,
    load_wave: Callable[[int], object] | None = None,
    load_norms: Callable[[], object] | None = None,
) -> Comparison:
    """Compare ``items`` (raw items and/or indicators) between waves ``base`` and ``current``.

    Parameters
    ----------
    data:
        The responses table with a ``wave`` column holding both years.
    items:
        Target names: item codes (``N04_P1``) and indicators (``N04.practice``, ``index.gap``).
    design:
        Column names of weights, strata, PSUs, fpc and optional margins (:class:`DesignSpec`);
        the same specification is applied to each wave separately.
    by:
        Domain column(s): rows per group after the whole-sample rows.
    proportion:
        Answer codes (e.g. ``[4, 5]``): compare shares of raw items instead of means.
    method:
        ``"holm"`` (default) or ``"bh"``: multiple-testing correction over the rows of the call.
    keep_flagged:
        Keep responses flagged by the quality checks (default: exclude them).
    common_items:
        Score indicators on the items both waves share with the same wording (instead of
        declaring an indicator with differing items not comparable).

    Returns
    -------
    Comparison
    """
    if method not in METHODS:
        raise AnalysisInputError(f"--method '{method}' is not one of {', '.join(METHODS)}")
    base, current = int(base), int(current)
    if base == current:
        raise AnalysisInputError(f"--base and --current are the same wave ({base})")
    if not items:
        raise AnalysisInputError("no items to compare")
    design = design or DesignSpec()
    targets = []
    for name in items:
        t = parse_target(name)
        if t.name not in {x.name for x in targets}:
            targets.append(t)
    prepared = prepare_waves(data, [base, current], keep_flagged=keep_flagged,
                             load_wave=load_wave)
    years = [base, current]
    defs, frames = prepared.definitions, prepared.frames
    _check_items(targets, defs, frames, years)
    notes: list[tuple[str, str, str]] = list(prepared.notes)
    not_comparable: list[tuple[str, str, str, str]] = []

    # scales of each wave, restricted to the items the data have
    scales, dropped_notes = wave_scales_in_data(defs, frames, targets)
    notes += dropped_notes
    if common_items:
        scales = _common_scales(scales, years, notes, targets)

    comparable_targets: list[Target] = []
    for t in targets:
        if t.item is not None:
            reason = _raw_comparability(t, defs[base], defs[current], base, current)
        else:
            reason = _indicator_comparability(t, scales, base, current)
        if reason is None:
            if t.item is not None:
                _require_answers(t, frames, years)
            comparable_targets.append(t)
        else:
            not_comparable.append((t.name, "", "", reason))
    notes += norm_wording_notes(defs, targets, load_norms)

    estimates = {}
    for y in years:
        if not comparable_targets:
            break
        d = design.build(frames[y], y)
        used = {n for t in comparable_targets if t.is_indicator
                for n in _component_scales(t, scales[y])}
        sc = [s for name, s in scales[y].items() if name in used]
        estimates[y] = estimate_targets(d, comparable_targets, sc, by=by, level=level,
                                        proportion=proportion)
    if comparable_targets:
        merged = estimates[base].merge(estimates[current], on=["item", "by", "group"],
                                       how="outer", suffixes=("_b", "_c"), sort=False)
    else:
        merged = pd.DataFrame(columns=["item", "by", "group", "estimate_b", "estimate_c",
                                       "se_b", "se_c"])
    missing = merged["estimate_b"].isna() | merged["estimate_c"].isna()
    for _, r in merged[missing].iterrows():
        lacking = [str(y) for y, col in ((base, "estimate_b"), (current, "estimate_c"))
                   if pd.isna(r[col])]
        where = f"group '{r['group']}' of '{r['by']}'" if r["by"] else "the whole sample"
        not_comparable.append((r["item"], r["by"], r["group"],
                               f"no estimate for {where} in wave {' and '.join(lacking)}"))
    merged = merged[~missing]
    # rows in the order asked: targets as given, whole sample first, then domains
    order = {t.name: i for i, t in enumerate(targets)}
    merged = merged.assign(_t=merged["item"].map(order), _d=merged["by"] != "")
    merged = merged.sort_values(["_t", "_d"], kind="stable").reset_index(drop=True)

    q = stats.norm.ppf(0.5 + level / 2)
    diff = merged["estimate_c"].to_numpy(float) - merged["estimate_b"].to_numpy(float)
    se = np.hypot(merged["se_b"].to_numpy(float), merged["se_c"].to_numpy(float))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, 2 * stats.norm.sf(np.abs(diff / se)), np.nan)
    p_adj = adjust_p_values(p, method)
    table = pd.DataFrame({
        "item": merged["item"], "by": merged["by"], "group": merged["group"],
        "base": merged["estimate_b"], "current": merged["estimate_c"], "diff": diff, "se": se,
        "ci_low": diff - q * se, "ci_high": diff + q * se, "p_value": p, "p_adjusted": p_adj,
        "significant": np.nan_to_num(p_adj, nan=1.0) < alpha,
    }, columns=list(COMPARE_COLUMNS))
    family = int(np.isfinite(p).sum())
    method_note = (f"p_adjusted: {METHODS[method][1]} over the {family} comparisons of this "
                   f"call; significant = p_adjusted < {alpha:g}; se = sqrt(se_{base}^2 + "
                   f"se_{current}^2) (independent samples), normal p-values, "
                   f"{level:.0%} normal CIs")
    notes.insert(0, ("method", "", method_note))
    for item, b, g, reason in not_comparable:
        where = f" [{b}={g}]" if b else ""
        notes.append(("not_comparable", item, f"{item}{where}: not comparable, {reason}"))
    return Comparison(
        base=base, current=current, table=table,
        not_comparable=pd.DataFrame(not_comparable, columns=list(NOT_COMPARABLE_COLUMNS)),
        notes=pd.DataFrame(notes, columns=list(NOTES_COLUMNS)), method=method, alpha=alpha,
        level=level)


def _indicator_comparability(t: Target, scales: dict[int, dict[str, Scale]], ya: int, yb: int
                             ) -> str | None:
    names = sorted(set(_component_scales(t, scales[ya])) | set(_component_scales(t, scales[yb])))
    if not names:
        return f"neither wave has {t.kind} items"
    problems = []
    for name in names:
        sa, sb = scales[ya].get(name), scales[yb].get(name)
        if sa is None or sb is None:
            problems.append(f"{name} has no items in wave {ya if sa is None else yb}")
        elif sa.signature != sb.signature:
            problems.append(f"{name} uses {_describe(sa.signature)} in {ya} but "
                            f"{_describe(sb.signature)} in {yb}")
    if problems:
        return "different items or wording: " + "; ".join(problems)
    return None


def _common_scales(scales, years, notes, targets):
    """Both waves' scales restricted to the (code, wording version) pairs they share."""
    ya, yb = years
    out = {ya: {}, yb: {}}
    for name in sorted(set(scales[ya]) & set(scales[yb])):
        sa, sb = scales[ya][name], scales[yb][name]
        shared = set(sa.signature) & set(sb.signature)
        if not shared:
            continue
        left_out = sorted((set(sa.signature) | set(sb.signature)) - shared,
                          key=lambda x: (x[0], x[1] or 0))
        for y, s in ((ya, sa), (yb, sb)):
            keep = [(c, v) for c, v in zip(s.items, s.versions or (None,) * len(s.items),
                                           strict=True) if (c, v) in shared]
            out[y][name] = Scale(s.norm, s.kind, tuple(c for c, _ in keep),
                                 tuple(v for _, v in keep) if s.versions else ())
        if left_out and any(t.is_indicator for t in targets):
            notes.append(("items_dropped", name,
                          f"{name}: scored in both waves without {_describe(left_out)} "
                          "(not comparable: wording or availability differs)"))
    return out
