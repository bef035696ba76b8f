"""Year-over-year comparisons of items and Ten Norms indicators, with comparability rules.

Two waves are independent samples, each its own design (its own weights, strata, PSUs and, with
margins, its own raking). For every target (a raw item such as ``N04_P1`` or an indicator such
as ``N04.practice`` / ``index.gap``, see :mod:`analysis.indicators`) and every domain:

* ``diff = current - base``, a contrast of the two waves' estimates (:class:`Estimate`) whose
  covariance is block-diagonal (independent samples): ``se = sqrt(se_base^2 + se_current^2)``;
  normal CI and two-sided normal p-value.
* Multiple testing: the rows of one call are one family. ``p_adjusted`` is Holm's step-down
  adjustment (family-wise error, the default) or Benjamini-Hochberg (false discovery rate,
  ``method="bh"``); ``significant`` is ``p_adjusted < alpha``. :attr:`Comparison.method_note`
  says which, and the command line prints it and writes it to the notes sidecar.

The waves are loaded, validated and cleaned by :func:`analysis.pipeline.load_survey`, and the
comparability rules are those of :mod:`analysis.comparability` (shared with `trend` and the
report), from the wave definitions of the two years (codebook, wave file or column names):

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
* A domain group that one wave lacks is listed as not comparable (here).

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

from analysis.comparability import (  # noqa: F401 - the names compare always exported
    component_scales,
    describe,
    norm_wording_notes,
    wave_scales_in_data,
)
from analysis.errors import AnalysisInputError
from analysis.indicators import parse_targets, target_estimate
from analysis.pipeline import (  # noqa: F401 - the names compare always exported
    DesignSpec,
    Survey,
    load_survey,
    margins_for_wave,
    weighting_table,
)
from analysis.quality import ExclusionReport
from analysis.results import Estimate, combine_independent

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


# --------------------------------------------------------------------------- waves
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
    (unless ``keep_flagged``): :func:`analysis.pipeline.load_survey` in the older shape (frames
    with a fresh index)."""
    survey = load_survey(data, waves=years, keep_flagged=keep_flagged, load_wave=load_wave)
    return PreparedWaves({y: f.reset_index(drop=True) for y, f in survey.frames.items()},
                         dict(survey.definitions), dict(survey.exclusions), list(survey.notes))


def as_survey(data, years: Sequence[int], *, keep_flagged: bool = False,
              load_wave: Callable[[int], object] | None = None) -> Survey:
    """``data`` as a :class:`Survey` of ``years``: a Survey already loaded is checked to hold
    them; a DataFrame or path is loaded."""
    if isinstance(data, Survey):
        if len(set(years)) != len(list(years)):
            raise AnalysisInputError(f"waves repeat: {', '.join(map(str, years))}")
        for y in years:
            if y not in data.frames:
                raise AnalysisInputError(f"wave {y} is not in the data (waves loaded: "
                                         f"{', '.join(map(str, data.waves))})")
        return data
    return load_survey(data, waves=years, keep_flagged=keep_flagged, load_wave=load_wave)


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
    weighting: pd.DataFrame | None = None  # per wave: weighting diagnostics of its design

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


def compare_waves(
    data,
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
        The responses table with a ``wave`` column holding both years (a DataFrame, a path, or
        a :class:`analysis.pipeline.Survey` already loaded, whose exclusions then apply).
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
    targets = parse_targets(items)
    survey = as_survey(data, [base, current], keep_flagged=keep_flagged, load_wave=load_wave)
    years = [base, current]
    check = survey.comparability(targets, years, common_items=common_items,
                                 load_norms=load_norms)
    notes: list[tuple[str, str, str]] = [n for n in survey.notes] + check.notes
    not_comparable = [(name, "", "", reason) for name, reason in check.not_comparable]
    estimates, designs = {}, {}
    for y in years:
        if not check.comparable:
            break
        designs[y] = survey.design(y, design)
        estimates[y] = target_estimate(designs[y], check.comparable, check.scales_for(y),
                                       by=by, proportion=proportion)
    return comparison_from_estimates(estimates, base, current, targets, not_comparable, notes,
                                     method=method, alpha=alpha, level=level,
                                     weighting=weighting_table(designs) if designs else None)


def comparison_from_estimates(estimates: dict[int, Estimate], base: int, current: int,
                              targets, not_comparable: list, notes: list, *, method: str,
                              alpha: float, level: float, weighting=None) -> Comparison:
    """The :class:`Comparison` of the two waves' target estimates (whatever engine made
    them): ``not_comparable`` ``(item, by, group, reason)`` and ``notes`` so far."""
    merged = _merge_waves(estimates, base, current, targets, not_comparable)
    table = _differences(estimates, base, current, merged, level, alpha, method)
    family = int(np.isfinite(table["p_value"]).sum())
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
        level=level, weighting=weighting)


def _merge_waves(estimates: dict[int, Estimate], base, current, targets,
                 not_comparable) -> pd.DataFrame:
    """Which estimate of each wave goes with which: ``item, by, group`` and the positions
    ``at_b``/``at_c`` in the base and current wave's estimates, in the order of the rows; a
    domain one wave lacks (or has no estimate for) goes to ``not_comparable``."""
    labels = ["item", "by", "group"]
    if estimates:
        merged = _positions(estimates[base]).merge(
            _positions(estimates[current]), on=labels, how="outer", suffixes=("_b", "_c"),
            sort=False)
    else:
        merged = pd.DataFrame(columns=[*labels, "at_b", "at_c", "estimate_b", "estimate_c"])
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
    return merged.astype({"at_b": np.int64, "at_c": np.int64})


def _positions(estimate: Estimate) -> pd.DataFrame:
    return pd.DataFrame({"item": estimate.item, "by": estimate.by, "group": estimate.group,
                         "at": np.arange(len(estimate)), "estimate": estimate.coef})


def _differences(estimates: dict[int, Estimate], base: int, current: int,
                 merged: pd.DataFrame, level: float, alpha: float, method: str) -> pd.DataFrame:
    """Current minus base wave for every merged row: the contrast of the two waves' estimates,
    independent samples (:func:`analysis.results.combine_independent`)."""
    rows = np.arange(len(merged))

    def picks(positions, size, sign):
        L = np.zeros((len(merged), size))
        L[rows, positions] = sign
        return L

    if len(merged):
        diffs = combine_independent(
            [(estimates[base], picks(merged["at_b"].to_numpy(), len(estimates[base]), -1.0)),
             (estimates[current],
              picks(merged["at_c"].to_numpy(), len(estimates[current]), 1.0))])
        diff, se = diffs.coef, diffs.se
        ci = diffs.confint(level, df=np.inf)
    else:
        diff = se = np.zeros(0)
        ci = np.zeros((0, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, 2 * stats.norm.sf(np.abs(diff / se)), np.nan)
    p_adj = adjust_p_values(p, method)
    return pd.DataFrame({
        "item": merged["item"], "by": merged["by"], "group": merged["group"],
        "base": merged["estimate_b"], "current": merged["estimate_c"], "diff": diff, "se": se,
        "ci_low": ci[:, 0], "ci_high": ci[:, 1], "p_value": p, "p_adjusted": p_adj,
        "significant": np.nan_to_num(p_adj, nan=1.0) < alpha,
    }, columns=list(COMPARE_COLUMNS))
